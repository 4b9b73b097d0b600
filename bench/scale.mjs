// npm run bench --only scale: what the workbook's costs do as the work grows.
// - import time against layer size: single-layer OCI images of 10 MB, 100 MB and 1 GB,
//   imported by `container-lessons import` (a fresh CLI, a fresh lab each), beside
//   `umoci unpack` of the same image when umoci is installed;
// - solve time against the number of lessons: one `solve all`, lesson by lesson, summed;
// - the TUI's memory after walking every lesson twice (no growth is the target).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { TmuxSession, hasTmux } from './tmux.mjs';

const MiB = 1024 * 1024;
/** A layer's files: 32 KiB each, about the mean file of real images (the 4.5 GB,
 * 126,000-file image of issue 23: 36 KiB), 256 to a directory. */
const FILE_BYTES = 32 * 1024;
/** The 1 GB case needs its image, the import and umoci's bundle at once, with room to spare. */
const BIG_NEEDS = 4 * 1024 * MiB;
/** Walks of the TUI's memory test: the first fills what is made once, the others must not grow. */
const WALKS = 3;

const round = (/** @type {number} */ x, d = 0) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const has = (/** @type {string} */ cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Run a command, and say its peak resident memory (MiB, GNU time's %M: the largest of the
 * process and the children it waited for), or null without /usr/bin/time.
 * @param {string} cmd @param {string[]} args @param {import('node:child_process').SpawnSyncOptions} opts */
function runMeasured(cmd, args, opts) {
  if (!fs.existsSync('/usr/bin/time')) return { result: spawnSync(cmd, args, { ...opts, encoding: 'utf8' }), peakMiB: null };
  const out = path.join(os.tmpdir(), `cl-bench-time-${process.pid}`);
  try {
    const result = spawnSync('/usr/bin/time', ['-f', '%M', '-o', out, cmd, ...args], { ...opts, encoding: 'utf8' });
    const kb = Number(fs.readFileSync(out, 'utf8').trim().split('\n').at(-1));
    return { result, peakMiB: Number.isFinite(kb) ? round(kb / 1024, 1) : null };
  } finally {
    fs.rmSync(out, { force: true });
  }
}

/** Bytes free on the filesystem of `dir` (what non-root may use: root's reserve kept). */
const freeBytes = (/** @type {string} */ dir) => {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
};

/** A directory of `bytes` of 32 KiB files whose contents differ (slices of a random pool). */
function makeTree(/** @type {string} */ dir, /** @type {number} */ bytes) {
  const pool = crypto.randomBytes(8 * MiB);
  let files = 0;
  for (let off = 0; off < bytes; off += FILE_BYTES, files++) {
    const sub = path.join(dir, `d${files >> 8}`);
    if ((files & 255) === 0) fs.mkdirSync(sub, { recursive: true });
    const at = (files * 40_961) % (pool.length - FILE_BYTES);
    fs.writeFileSync(path.join(sub, `f${files}`), pool.subarray(at, at + Math.min(FILE_BYTES, bytes - off)));
  }
  return files;
}

/**
 * @param {{ tmp: string, bin: string, core: typeof import('../src/core/index.js'), sizesMiB: number[], log: (s: string) => void }} o
 */
export async function importScale({ tmp, bin, core, sizesMiB, log }) {
  const umoci = has('umoci');
  const rows = [];
  /** @type {string[]} */
  const skipped = [];
  if (!umoci) skipped.push('umoci unpack: umoci is not installed (apt-get install umoci)');
  for (const mib of sizesMiB) {
    const free = freeBytes(tmp);
    if (mib >= 1024 && free < BIG_NEEDS) {
      skipped.push(`${mib} MiB: ${round(free / 1024 / MiB, 1)} GiB free in ${tmp}, the case needs 4 GiB`);
      continue;
    }
    const dir = path.join(tmp, `import-${mib}`);
    const tree = path.join(dir, 'tree');
    const layout = path.join(dir, 'oci');
    const lab = path.join(dir, 'lab');
    const env = { ...process.env, CONTAINER_LESSONS_HOME: lab };
    try {
      let t = performance.now();
      const files = makeTree(tree, mib * MiB);
      // Uncompressed, as `docker save` writes layers: what is timed is the unpacking.
      await core.writeImage(layout, [tree], { format: 'oci', name: `bench-${mib}m`, gzip: false });
      fs.rmSync(tree, { recursive: true, force: true });
      const makeMs = performance.now() - t;
      t = performance.now();
      const { result: imp, peakMiB: importPeakMiB } = runMeasured(process.execPath, [bin, 'import', layout], { env });
      const importMs = performance.now() - t;
      if (imp.status !== 0) throw new Error(`import: exit ${imp.status}: ${(imp.stderr || imp.stdout).trim().split('\n').slice(-2).join(' / ')}`);
      // Its store out of the way before umoci writes its own copy: one copy at a time on disk.
      spawnSync(process.execPath, [bin, 'reset', '--all'], { env, stdio: 'ignore' });
      /** @type {number | null} */
      let umociMs = null;
      /** @type {number | null} */
      let umociPeakMiB = null;
      if (umoci) {
        t = performance.now();
        const { result: u, peakMiB } = runMeasured('umoci', ['unpack', '--image', `${layout}:bench-${mib}m`, path.join(dir, 'bundle')], {});
        umociMs = performance.now() - t;
        umociPeakMiB = peakMiB;
        if (u.status !== 0) throw new Error(`umoci unpack: exit ${u.status}: ${u.stderr.trim().split('\n').slice(-2).join(' / ')}`);
      }
      const row = {
        MiB: mib,
        files,
        importMs: round(importMs),
        'import MB/s': round((mib * MiB) / 1e6 / (importMs / 1000), 1),
        umociMs: round(umociMs ?? NaN),
        'import / umoci': umociMs ? round(importMs / umociMs, 2) : null,
        'import peak MiB': importPeakMiB,
        'umoci peak MiB': umociPeakMiB,
        imageMadeMs: round(makeMs),
      };
      log(`import ${mib} MiB (${files} files): ${row.importMs} ms; umoci unpack: ${row.umociMs ?? '-'} ms`);
      rows.push(row);
    } catch (err) {
      rows.push({ MiB: mib, error: err instanceof Error ? err.message : String(err) });
    } finally {
      spawnSync(process.execPath, [bin, 'reset', '--all'], { env, stdio: 'ignore' });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return { fileBytes: FILE_BYTES, rows, skipped };
}

/** @typedef {{ lesson: number, ms: number, passed: boolean }} LessonMs */

/**
 * Solve time against the number of lessons: one `solve all --json` gives each lesson's
 * time in one process and one lab; the first k of them summed is what k lessons cost.
 * Beside each, that lesson solved alone (`solve k`, a fresh CLI, the same lab): if running
 * after the others made a lesson slower (state left behind, memory), the two differ.
 * @param {{ all: { ms: number | null, byLesson: LessonMs[] }, alone: LessonMs[] }} solve
 */
export function solveScale(solve) {
  let sum = 0;
  const rows = solve.all.byLesson.map((l, i) => {
    sum += l.ms;
    const alone = solve.alone.find((a) => a.lesson === l.lesson);
    return { k: i + 1, lesson: l.lesson, 'in solve all ms': l.ms, 'first k ms': round(sum), 'ms per lesson': round(sum / (i + 1)), 'alone ms (fresh CLI)': alone ? alone.ms : null, passed: l.passed && (alone?.passed ?? true) };
  });
  return { solveAllMs: solve.all.ms, lessonsMs: round(sum), outsideLessonsMs: solve.all.ms === null ? null : round(solve.all.ms - sum), rows };
}

/** Run `solve all --json` and `solve k` for every lesson, in one lab.
 * @param {{ tmp: string, bin: string, lessons: number, name?: string }} o */
export function runSolves({ tmp, bin, lessons, name = 'solve-lab' }) {
  const env = { ...process.env, CONTAINER_LESSONS_HOME: path.join(tmp, name) };
  /** @type {LessonMs[]} */
  const alone = [];
  const t0 = performance.now();
  for (let n = 1; n <= lessons; n++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, [bin, 'solve', String(n)], { env, stdio: 'ignore' });
    alone.push({ lesson: n, ms: round(performance.now() - t) ?? NaN, passed: r.status === 0 });
  }
  const aloneMs = performance.now() - t0;
  const t1 = performance.now();
  const all = spawnSync(process.execPath, [bin, 'solve', 'all', '--json'], { env, encoding: 'utf8' });
  const allMs = performance.now() - t1;
  /** @type {Array<LessonMs & { checkMs: number }>} */
  let byLesson = [];
  try {
    /** @type {{ lessons: Array<{ number: number, ms: number, checkMs: number, passed: boolean }> }} */
    const solved = JSON.parse(all.stdout);
    byLesson = solved.lessons.map((l) => ({ lesson: l.number, ms: l.ms, checkMs: l.checkMs, passed: l.passed }));
  } catch {
    /* no JSON: the run failed; passed says so */
  }
  spawnSync(process.execPath, [bin, 'reset', '--all'], { env, stdio: 'ignore' });
  return { all: { ms: round(allMs), passed: all.status === 0, byLesson }, alone, aloneMs: round(aloneMs) };
}

/** VmRSS and VmHWM of a process, in MiB. */
function memory(/** @type {number} */ pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (/** @type {string} */ key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1]);
    return { rssMiB: round(kb('VmRSS') / 1024, 1) };
  } catch {
    return { rssMiB: null };
  }
}

/** The live heap of a Node process, in MiB: the sum of every object's own size in a heap
 * snapshot. Node takes one on the signal `--heapsnapshot-signal` names, after a full
 * collection, so what is left is what the program still holds: unlike VmRSS, no garbage
 * waiting for the collector and no pages the heap has not given back. The snapshot is
 * written into `dir` (`--diagnostic-dir`) and removed once read.
 * @param {number} pid @param {string} dir */
async function liveHeapMiB(pid, dir) {
  const before = new Set(fs.readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    const name = fs.readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!name) continue;
    const file = path.join(dir, name);
    let snapshot;
    try {
      // Written in one go by the process's main thread: until it is whole, it does not parse.
      snapshot = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    fs.rmSync(file, { force: true });
    const fields = snapshot.snapshot.meta.node_fields;
    const width = fields.length;
    const self = fields.indexOf('self_size');
    let bytes = 0;
    for (let i = self; i < snapshot.nodes.length; i += width) bytes += snapshot.nodes[i];
    return round(bytes / MiB, 1);
  }
  throw new Error(`no heap snapshot from pid ${pid} within 60 s`);
}

/**
 * The TUI's memory as every lesson is walked, three times: the real TUI in tmux
 * (--unlock-all, a fresh lab: nothing runs, every lesson's text and picture is drawn), →
 * from the first lesson to the last and ← back is one walk. After its start and after each
 * walk (a second after it, as a learner reads): its live heap (liveHeapMiB: what a leak
 * grows), and its VmRSS at the start. The first walk fills what is made once (each
 * lesson's text and picture code); a walk after it that holds more is a leak.
 * @param {{ tmp: string, bin: string, core: typeof import('../src/core/index.js'), lessons: Array<{ number: number, title: string }>, log: (s: string) => void }} o
 */
export async function tuiMemory({ tmp, bin, core, lessons, log }) {
  if (!hasTmux()) return { error: 'tmux is not installed (apt-get install tmux)' };
  const home = path.join(tmp, 'memory-lab');
  const N = lessons.length;
  const tmux = new TmuxSession(`cl-bench-mem-${process.pid}`);
  const escapeRe = (/** @type {string} */ s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const header = (/** @type {number} */ i) => {
    const l = /** @type {{ number: number, title: string }} */ (lessons[i]);
    return [new RegExp(`${l.number}/${N} ${escapeRe(l.title.slice(0, 20))}`)];
  };
  const settle = (ms = 1000) => new Promise((r) => setTimeout(r, ms));
  /** @type {number | undefined} */
  let tui;
  const snapshots = fs.mkdtempSync(path.join(tmp, 'heap-'));
  tmux.start(`env CONTAINER_LESSONS_HOME=${home} TERM=xterm-256color LANG=C.UTF-8 ${process.execPath} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshots} ${bin} --unlock-all; sleep 600`, 100, 30);
  try {
    await tmux.waitFor(header(0), 20_000);
    const shell = tmux.panePid();
    tui = core.procfs.descendants(shell).find((p) => {
      const argv = core.procfs.cmdline(p) ?? '';
      return argv.startsWith(process.execPath) && argv.includes(bin) && !argv.includes('nsinit');
    });
    if (!tui) throw new Error('the TUI process was not found under tmux');
    const pid = tui;
    const sample = async (/** @type {string} */ after) => {
      await settle();
      return { after, heapMiB: await liveHeapMiB(pid, snapshots) };
    };
    await settle();
    // Before any snapshot: taking one raises VmRSS by its own work, so later readings are not the TUI's.
    const startRss = memory(pid);
    const samples = [await sample('start')];
    let walkMs = 0;
    for (let walk = 1; walk <= WALKS; walk++) {
      const t0 = performance.now();
      for (let i = 1; i < N; i++) {
        tmux.keys('Right');
        await tmux.waitFor(header(i));
      }
      for (let i = N - 2; i >= 0; i--) {
        tmux.keys('Left');
        await tmux.waitFor(header(i));
      }
      walkMs += performance.now() - t0;
      samples.push(await sample(`walk ${walk}`));
    }
    const heap = samples.map((s) => s.heapMiB);
    // After the first walk: what each later walk added to the live heap.
    const growthMiB = round(/** @type {number} */ (heap.at(-1)) - /** @type {number} */ (heap[1]), 1);
    log(`TUI memory: live heap ${samples.map((s) => `${s.after} ${s.heapMiB} MiB`).join(', ')}`);
    return { lessons: N, walks: WALKS, walkMs: round(walkMs / WALKS), startRssMiB: startRss.rssMiB, samples, growthMiB };
  } catch (err) {
    return { error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
  } finally {
    tmux.kill();
    fs.rmSync(snapshots, { recursive: true, force: true });
    // The TUI ends on the hangup and removes what it made; then the lab goes.
    for (let i = 0; tui && i < 100 && fs.existsSync(`/proc/${tui}`); i++) await settle(50);
    spawnSync(process.execPath, [bin, 'reset', '--all'], { env: { ...process.env, CONTAINER_LESSONS_HOME: home }, stdio: 'ignore' });
    fs.rmSync(home, { recursive: true, force: true });
  }
}
