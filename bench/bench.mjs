// npm run bench: container start side by side, and the workbook's own speed.
// Not part of the tests: absolute times on these machines drift by up to 1.5x, so every
// container-start variant runs alternated, round after round, and is reported as a median
// and as a ratio to `runc run` measured in the same rounds.
//
// It prints first the table of issue 23 (speed): this run's figures beside the targets.
//
//   node bench/bench.mjs [--rounds N] [--json] [--only start|workbook|pictures|scale] [--quick]
//
// --quick leaves out the 1 GB import (the slowest part of the scale table).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { windowAccuracy } from './window.mjs';
import { START, summaryRows, summaryTable } from './summary.mjs';
import { importScale, runSolves, solveScale, tuiMemory } from './scale.mjs';
import { keypressStarts } from './keypresses.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'container-lessons.js');
/** @type {typeof import('../src/core/index.js')} (built: dist/core) */
const core = await import(path.join(ROOT, 'dist', 'core', 'index.js'));
/** @type {typeof import('../src/lessons/index.js')} (built: dist/lessons) */
const { LESSONS } = await import(path.join(ROOT, 'dist', 'lessons', 'index.js'));
const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '25' }, json: { type: 'boolean', default: false }, only: { type: 'string' }, quick: { type: 'boolean', default: false } } });
const ONLY = ['start', 'workbook', 'pictures', 'scale'];
if (opts.only !== undefined && !ONLY.includes(opts.only)) {
  console.error(`--only is one of ${ONLY.join(', ')}, not "${opts.only}"`);
  process.exit(2);
}
const ROUNDS = Number(opts.rounds);
// Learners start the workbook with sudo, which resets the environment. A variable some
// VMs set (this development VM does) makes every Node process parse a certificate bundle
// at start, about 70 ms: measured without it, as a learner runs, and said so.
const droppedEnv = ['NODE_EXTRA_CA_CERTS'].filter((v) => v in process.env);
for (const v of droppedEnv) delete process.env[v];
const log = (/** @type {string} */ s) => !opts.json && process.stderr.write(s + '\n');

if (process.getuid?.() !== 0) {
  console.error('npm run bench needs root (containers): sudo npm run bench');
  process.exit(3);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-bench-'));
// Open as a learner's home is (mkdtemp makes it 0700): lesson 9's rootless container runs as
// an unprivileged uid that must reach the lab's rootfs.
fs.chmodSync(tmp, 0o755);
const lab = path.join(tmp, 'lab');
const rootfs = path.join(lab, 'rootfs');
/** @type {Array<() => void>} */
const cleanups = [];
const cleanup = () => {
  for (const f of cleanups.splice(0).reverse()) {
    try {
      f();
    } catch {
      /* best effort */
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => (cleanup(), process.exit(130)));

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
const median = (/** @type {number[]} */ xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const lo = s[Math.floor((s.length - 1) / 2)];
  const hi = s[Math.floor(s.length / 2)];
  return lo === undefined || hi === undefined ? NaN : (lo + hi) / 2;
};
const ms = (/** @type {number} */ t0) => performance.now() - t0;

/** How long each part of the run took, in seconds, in the order they ran. @type {Record<string, number | null>} */
const partSeconds = {};
/** Run one part of the bench, and note how long it took.
 * @template T @param {string} name @param {() => Promise<T>} f @returns {Promise<T>} */
async function timed(name, f) {
  const t = performance.now();
  log(`[${name}]`);
  try {
    return await f();
  } finally {
    partSeconds[name] = round(ms(t) / 1000, 1);
    log(`[${name}: ${partSeconds[name]} s]`);
  }
}
/** @type {typeof import('../src/core/helper-pool.js')} */
const { idleHelpers } = await import(path.join(ROOT, 'dist', 'core', 'helper-pool.js'));
/** Let helpers just started finish loading (they do nothing more once they wait for a job). */
const settleHelpers = () => new Promise((r) => setTimeout(r, 400));
const has = (/** @type {string} */ cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The same container for everyone: /bin/true in new mnt, uts, ipc, net and pid
 * namespaces, pivot_root into the rootfs, a fresh /proc.
 * @type {import('../src/core/index.js').Namespace[]} */
const NS = ['mnt', 'uts', 'ipc', 'net', 'pid'];

/** @param {string} name runc or crun */
function runcBundle(name) {
  const bundle = path.join(tmp, `${name}-bundle`);
  fs.mkdirSync(bundle);
  execFileSync(name, ['spec', '--bundle', bundle]);
  const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  spec.root = { path: rootfs, readonly: false };
  spec.process.terminal = false;
  spec.process.args = ['/bin/true'];
  spec.hostname = 'container';
  // The same namespaces as ours; runc's default spec has exactly these.
  spec.linux.namespaces = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
  return bundle;
}

/** @typedef {{ ms: number, ok: boolean }} CrunRun */

/** crun refuses a hybrid cgroup layout; in a private mount namespace without the cgroup2
 * mount it sees plain v1. A shell there runs crun on request and times it itself.
 * @param {string} bundle
 * @returns {{ note: string, run: () => Promise<CrunRun> }} */
function crunRunner(bundle) {
  const layout = core.cgroupLayout();
  const hybrid = layout.mode === 'hybrid';
  const script = `${hybrid ? 'umount /sys/fs/cgroup/unified 2>/dev/null; ' : ''}i=0; while read -r _; do i=$((i+1)); t0=$EPOCHREALTIME; crun run --bundle ${bundle} clb$$-$i >/dev/null 2>&1; rc=$?; t1=$EPOCHREALTIME; echo "$t0 $t1 $rc"; done`;
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanups.push(() => child.kill('SIGKILL'));
  let buf = '';
  /** @type {Array<(r: CrunRun) => void>} */
  const waiting = [];
  child.stdout.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const [t0, t1, rc] = buf.slice(0, nl).split(' ');
      buf = buf.slice(nl + 1);
      waiting.shift()?.({ ms: (Number(t1) - Number(t0)) * 1000, ok: rc === '0' });
    }
  });
  return {
    note: hybrid ? 'in a private mount namespace without the cgroup2 mount (crun refuses a hybrid layout)' : '',
    run: () =>
      new Promise((res) => {
        waiting.push(res);
        child.stdin.write('go\n');
      }),
  };
}

async function startBench() {
  log(`rootfs: ${rootfs}`);
  core.buildHostRootfs(rootfs);
  /** @typedef {{ name: string, run: () => Promise<number>, ref?: boolean, keypress?: boolean, note?: string }} Spec */
  /** @type {Array<Spec & { times: number[], error?: string }>} */
  const variants = [];
  const add = (/** @type {Spec} */ v) => variants.push({ ...v, times: [] });
  const spawnTimed =
    (/** @type {string} */ cmd, /** @type {string[]} */ args, cwd = process.cwd(), env = process.env) =>
    async () => {
      const t0 = performance.now();
      const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd, env });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${String(r.stderr).trim().slice(0, 300)}`);
      return ms(t0);
    };
  const coreRun = async () => {
    const t0 = performance.now();
    const r = await core.runContainer({ rootfs, namespaces: NS, argv: ['/bin/true'], hostname: 'container', mountProc: true });
    if (r.code !== 0) throw new Error(`core: exit ${r.code} ${r.stderr}`);
    return ms(t0);
  };
  // A start no step declared, as a running workbook makes it: its first stage is a helper
  // started ahead (core/helper-pool.ts), so one Node start is left, PID 1's. The helper that
  // replaces it starts at once: wait for it, or it would slow the next variant.
  cleanups.push(() => idleHelpers.stop());
  add({
    name: START.cold,
    run: async () => {
      idleHelpers.start(1);
      await settleHelpers();
      const t = await coreRun();
      await settleHelpers();
      return t;
    },
  });
  add({
    name: START.coldNoPool,
    run: async () => {
      idleHelpers.stop();
      return coreRun();
    },
  });
  // What Enter in the TUI costs (container.ts, WarmContainers): the step's container is
  // prepared ahead and waits for its command. Each round takes the prepared one; the next
  // is prepared before the next variant runs (as while a learner reads): two Node starts
  // beside it would slow whatever is measured next.
  const warm = new core.WarmContainers();
  const shape = { rootfs, namespaces: NS, hostname: 'container', mountProc: true };
  cleanups.push(() => void warm.close());
  warm.want(shape);
  const takeWarm = async () => {
    const p = await warm.take(shape); // the preparation is not part of this start
    if (!p) throw new Error('warm: the container could not be prepared');
    return p;
  };
  add({
    name: START.warm,
    run: async () => {
      const p = await takeWarm();
      const t0 = performance.now();
      const r = await core.collect(await p.run(['/bin/true']));
      const t = ms(t0);
      warm.want(shape);
      await warm.settled();
      if (r.code !== 0) throw new Error(`warm: exit ${r.code}`);
      return t;
    },
  });
  /** @type {number[]} */
  const keypress = [];
  add({
    name: 'warm: keypress to the command running',
    keypress: true,
    run: async () => {
      const p = await takeWarm();
      const t0 = performance.now();
      const c = await p.run(['/bin/true']);
      const t = ms(t0);
      keypress.push(t);
      await c.exited;
      warm.want(shape);
      await warm.settled();
      return t;
    },
  });
  add({ name: START.cli, run: spawnTimed(process.execPath, [BIN, 'run', '--rootfs', rootfs, '--', '/bin/true']) });
  // The same without PID 1 started while the command loads (src/run-early.ts): a Node stage A.
  add({ name: START.cliNoEarly, run: spawnTimed(process.execPath, [BIN, 'run', '--rootfs', rootfs, '--', '/bin/true'], process.cwd(), { ...process.env, CONTAINER_LESSONS_NO_EARLY: '1' }) });
  add({ name: "node -e '' (Node's own start)", run: spawnTimed(process.execPath, ['-e', '']) });
  // The floor of a cold start: the PID-1 stage is a Node with koffi. Run from the project,
  // where koffi resolves.
  add({ name: START.koffi, run: spawnTimed(process.execPath, ['-e', "require('koffi')"], ROOT) });
  /** @type {string[]} */
  const skipped = [];
  if (has('runc')) {
    const b = runcBundle('runc');
    let n = 0;
    add({ name: 'runc run', ref: true, run: () => spawnTimed('runc', ['run', '--bundle', b, `clb${process.pid}-${n++}`])() });
  } else skipped.push('runc run: runc is not installed (apt-get install runc)');
  if (has('crun')) {
    const b = runcBundle('crun');
    const cr = crunRunner(b);
    add({
      name: 'crun run',
      note: cr.note,
      run: async () => {
        const r = await cr.run();
        if (!r.ok) throw new Error('crun run failed');
        return r.ms;
      },
    });
  } else skipped.push('crun run: crun is not installed (apt-get install crun)');
  add({ name: 'unshare(1) + chroot (the floor)', run: spawnTimed('unshare', ['--mount', '--uts', '--ipc', '--net', '--pid', '--fork', `--mount-proc=${rootfs}/proc`, 'chroot', rootfs, '/bin/true']) });

  // One warm-up each, then alternate: every round runs every variant once.
  for (const v of variants) {
    try {
      await v.run();
    } catch (err) {
      v.error = messageOf(err);
    }
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of variants) {
      if (v.error) continue;
      try {
        v.times.push(await v.run());
      } catch (err) {
        v.error = messageOf(err);
      }
    }
  }
  const ref = variants.find((v) => v.ref && !v.error);
  const refMed = ref ? median(ref.times) : NaN;
  const crun = variants.find((v) => v.name === 'crun run' && !v.error);
  const kp = variants.find((v) => v.keypress && !v.error);
  return {
    targets: {
      'running workbook (warm) / runc': ratioOf(variants, START.warm, refMed),
      'fresh CLI / runc': ratioOf(variants, START.cli, refMed),
      'keypress / crun start-to-exit': kp && crun ? round(median(kp.times) / median(crun.times), 2) : null,
    },
    rounds: ROUNDS,
    reference: ref ? ref.name : null,
    rows: variants.map((v) => ({ name: v.name, medianMs: v.error ? null : round(median(v.times)), ratio: v.error || !ref ? null : round(median(v.times) / refMed, 2), note: v.note ?? null, error: v.error ?? null })),
    skipped,
  };
}

/** @param {Array<{ name: string, times: number[], error?: string }>} variants @param {string} name @param {number} refMed */
const ratioOf = (variants, name, refMed) => {
  const v = variants.find((x) => x.name === name && !x.error);
  return v && Number.isFinite(refMed) ? round(median(v.times) / refMed, 2) : null;
};
const round = (/** @type {number} */ x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const messageOf = (/** @type {unknown} */ err) => (err instanceof Error ? err.message : String(err));

/** What the first lesson's text begins with on screen, in each language (its heading). */
const FIRST_TEXT = { en: /1\. A union mount/, zh: /1\. 用 overlayfs/ };

/** One TUI start under a pseudo-terminal (script(1)) in a language: time until its first
 * frame (the header) and until the lesson's text is on screen, and its peak memory. */
/** @param {'en' | 'zh'} lang */
async function tuiStart(lang = 'en') {
  const home = path.join(tmp, 'tui-lab');
  const t0 = performance.now();
  const child = spawn('script', ['-qfec', `${process.execPath} ${BIN}`, '/dev/null'], {
    env: { ...process.env, CONTAINER_LESSONS_HOME: home, TERM: 'xterm-256color', COLUMNS: '100', LINES: '30', LC_ALL: '', LANG: lang === 'zh' ? 'zh_CN.UTF-8' : 'C.UTF-8' },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  cleanups.push(() => child.kill('SIGKILL'));
  let out = '';
  /** @type {number | null} */
  let frameMs = null;
  /** @type {number | null} */
  const textMs = await new Promise((res) => {
    const timer = setTimeout(() => res(null), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const plain = out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      if (frameMs === null && /container-lessons · 1\//.test(plain)) frameMs = ms(t0);
      if (FIRST_TEXT[lang].test(plain)) {
        clearTimeout(timer);
        res(ms(t0));
      }
    });
  });
  // No pid: script(1) did not start, and no frame came either.
  const tui = child.pid === undefined ? undefined : core.procfs.descendants(child.pid).find((p) => (core.procfs.cmdline(p) ?? '').includes('container-lessons.js'));
  const hwm = tui ? vmHwm(tui) : null;
  child.stdin.write('q');
  await new Promise((r) => child.on('exit', r));
  return { frameMs, textMs, peakMiB: hwm };
}

/** The TUI's start, alternated with `node -e ''` (this machine's floor for any Node
 * program), medians of a few rounds: one start alone is too noisy here. */
/** @param {'en' | 'zh'} lang */
async function firstFrame(rounds = Math.min(ROUNDS, 9), lang = 'en') {
  /** @type {number[]} */
  const frames = [];
  /** @type {number[]} */
  const texts = [];
  /** @type {number[]} */
  const nodes = [];
  /** @type {number[]} */
  const peaks = [];
  for (let i = 0; i < rounds; i++) {
    const r = await tuiStart(lang);
    if (r.frameMs !== null) frames.push(r.frameMs);
    if (r.textMs !== null) texts.push(r.textMs);
    if (r.peakMiB !== null) peaks.push(r.peakMiB);
    const t = performance.now();
    spawnSync(process.execPath, ['-e', '']);
    nodes.push(ms(t));
  }
  return { rounds, firstFrameMs: round(median(frames)), textShownMs: round(median(texts)), nodeMs: round(median(nodes)), peakMiB: peaks.length ? Math.max(...peaks) : null };
}

/** @param {number} pid */
function vmHwm(pid) {
  try {
    const kb = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return round(kb / 1024);
  } catch {
    return null;
  }
}

/** Peak memory of a container start: the driver's growth, and the init stage's (stage A). */
async function containerMemory() {
  if (!fs.existsSync(rootfs)) core.buildHostRootfs(rootfs);
  const c = await core.startContainer({ rootfs, namespaces: NS, argv: ['/bin/sleep', '5'], mountProc: true });
  const stageA = core.procfs.ppid(c.pid);
  const r = { stageAPeakMiB: stageA ? vmHwm(stageA) : null, driverPeakMiB: vmHwm(process.pid) };
  await c.kill();
  return r;
}

async function workbookBench() {
  const frame = await timed('workbook: TUI start', () => firstFrame());
  // In Chinese the message table (its own chunk) is loaded before the first frame.
  const frameZh = await timed('workbook: TUI start in Chinese', () => firstFrame(undefined, 'zh'));
  const solves = await timed('workbook: solve each, solve all', async () => runSolves({ tmp, bin: BIN, lessons: LESSONS.length }));
  /** @type {Awaited<ReturnType<typeof windowAccuracy>> | { error: string }} */
  let cpuWindow;
  try {
    cpuWindow = await timed('workbook: CPU check window', () => windowAccuracy({ rounds: 5 }));
  } catch (err) {
    cpuWindow = { error: messageOf(err) };
  }
  return {
    tui: frame,
    tuiZh: frameZh,
    solveAll: { ...solves.all, oneByOneMs: solves.aloneMs, oneByOne: solves.alone },
    keypresses: await timed('workbook: keypress walk', () => keypressStarts({ tmp, bin: BIN, lessons: LESSONS, log }).catch((err) => ({ error: messageOf(err) }))),
    cpuWindow,
    container: await containerMemory(),
    pictures: await timed('workbook: pictures', () => pictureDraws()),
  };
}

/** How long each lesson's picture takes to draw on the state its solve leaves (solve
 * --keep in a process of its own, then the picture drawn here as the TUI draws it: the
 * first draw, then the median of the redraws the TUI makes every second while it is shown). */
async function pictureDraws() {
  const { findLesson, LESSONS } = await import(path.join(ROOT, 'dist', 'lessons', 'index.js'));
  const { labFor } = await import(path.join(ROOT, 'dist', 'lab.js'));
  const { UNICODE_GLYPHS } = await import(path.join(ROOT, 'dist', 'pictures', 'glyphs.js'));
  const env = { ...process.env, CONTAINER_LESSONS_HOME: path.join(tmp, 'picture-lab') };
  const lab = labFor(env);
  const rows = [];
  for (const l of LESSONS) {
    const lesson = findLesson(String(l.number));
    if (!lesson?.picture) continue;
    const solved = spawnSync(process.execPath, [BIN, 'solve', String(l.number), '--keep'], { env, stdio: 'ignore' });
    const source = lesson.picture(lab);
    try {
      if (source.settleMs) await new Promise((r) => setTimeout(r, source.settleMs));
      const times = [];
      let lines = 0;
      for (let i = 0; i < 6; i++) {
        const t = performance.now();
        const p = await source.draw({ width: 80, glyphs: UNICODE_GLYPHS });
        times.push(ms(t));
        lines = p.lines.length;
      }
      rows.push({ lesson: l.number, firstMs: round(times[0] ?? Number.NaN, 1), redrawMs: round(median(times.slice(1)), 1), lines, solved: solved.status === 0, everyMs: source.everyMs ?? null });
    } finally {
      source.close?.();
      spawnSync(process.execPath, [BIN, 'reset', String(l.number)], { env, stdio: 'ignore' });
    }
  }
  return rows;
}

/** @param {Array<Record<string, unknown>>} rows @param {string[]} cols */
function table(rows, cols) {
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  // vals has one value per column, w one width per column.
  const line = (/** @type {unknown[]} */ vals) => vals.map((v, i) => String(v ?? '').padEnd(w[i] ?? 0)).join('  ');
  return [line(cols), line(w.map((n) => '-'.repeat(n))), ...rows.map((r) => line(cols.map((c) => r[c])))].join('\n');
}

/** The scale table: cost against the size of the work. The solves are the workbook part's
 * when it ran (the same lab, the same run).
 * @param {{ all: { ms: number | null, byLesson: Array<{ lesson: number, ms: number, passed: boolean }> }, alone: Array<{ lesson: number, ms: number, passed: boolean }> } | undefined} solved */
async function scaleBench(solved) {
  const sizesMiB = opts.quick ? [10, 100] : [10, 100, 1024];
  const imports = await timed('scale: import', () => importScale({ tmp, bin: BIN, core, sizesMiB, log }));
  if (opts.quick) imports.skipped.push('1024 MiB: left out (--quick)');
  const solves = solved ?? (await timed('scale: solve each, solve all', async () => runSolves({ tmp, bin: BIN, lessons: LESSONS.length, name: 'scale-solve-lab' })));
  const memory = await timed('scale: TUI memory', () => tuiMemory({ tmp, bin: BIN, core, lessons: LESSONS, log }));
  return { imports, solve: solveScale(solves), memory };
}

/** @param {Awaited<ReturnType<typeof scaleBench>>} sc */
function printScale(sc) {
  const im = sc.imports;
  console.log(
    `Import time against layer size: a single-layer OCI image (uncompressed, ${im.fileBytes / 1024} KiB files), \`container-lessons import\` from a fresh CLI into a fresh lab, beside \`umoci unpack\` of the same image; peak memory is GNU time's maximum resident set size:\n`,
  );
  console.log(table(im.rows, ['MiB', 'files', 'importMs', 'import MB/s', 'umociMs', 'import / umoci', 'import peak MiB', 'umoci peak MiB', 'error']));
  for (const s of im.skipped) console.log(`skipped: ${s}`);
  const so = sc.solve;
  console.log(
    `\nSolve time against the number of lessons: one \`solve all --json\` (${so.solveAllMs} ms; its lessons ${so.lessonsMs} ms, the rest ${so.outsideLessonsMs} ms is the CLI's start and end), the first k lessons' times summed; beside each, that lesson alone (\`solve k\`, a fresh CLI, the same lab):\n`,
  );
  console.log(table(so.rows, ['k', 'lesson', 'in solve all ms', 'first k ms', 'ms per lesson', 'alone ms (fresh CLI)', 'passed']));
  const me = sc.memory;
  if ('error' in me) console.log(`\nTUI memory as every lesson is walked: not measured: ${me.error}`);
  else {
    console.log(
      `\nTUI memory as every lesson is walked ${me.walks} times (→ through all ${me.lessons} lessons and ← back is one walk, ${me.walkMs} ms; --unlock-all, nothing run): the live heap, from a heap snapshot (Node takes it after a full collection); VmRSS at the start ${me.startRssMiB} MiB:\n`,
    );
    console.log(table(me.samples, ['after', 'heapMiB']));
    console.log(`live heap growth from walk 1 to walk ${me.walks}: ${me.growthMiB} MiB (target: no growth; walk 1 makes each lesson's text and picture once)`);
  }
}

try {
  const machine = { kernel: os.release(), cpus: os.cpus().length, node: process.version, cgroups: core.cgroupLayout().mode, droppedEnv };
  if (opts.only === 'pictures') {
    const pictures = await pictureDraws();
    console.log(opts.json ? JSON.stringify({ machine, pictures }, null, 2) : table(pictures, ['lesson', 'firstMs', 'redrawMs', 'everyMs', 'lines', 'solved']));
  } else {
    const all = opts.only === undefined;
    const start = all || opts.only === 'start' ? await timed('start', () => startBench()) : undefined;
    const workbook = all || opts.only === 'workbook' ? await workbookBench() : undefined;
    const scale = all || opts.only === 'scale' ? await scaleBench(workbook && { all: workbook.solveAll, alone: workbook.solveAll.oneByOne }) : undefined;
    const summary = start || workbook ? summaryRows({ start, workbook }) : undefined;
    const result = { machine, summary, start, workbook, scale, partSeconds }; // JSON leaves out what was not measured
    if (opts.json) {
      console.log(JSON.stringify(result, null, 2));
    } else {
      const m = result.machine;
      console.log(`container-lessons bench · kernel ${m.kernel} · ${m.cpus} CPUs · Node ${m.node} · cgroups ${m.cgroups}`);
      console.log(m.droppedEnv.length ? `(run without ${m.droppedEnv.join(', ')}, as sudo would: it slows every Node start)\n` : '');
      if (summary) {
        console.log(`Issue 23 (speed): this run beside the targets (medians; ratios to ${start?.reference ?? 'runc run'} in the same rounds):\n`);
        console.log(summaryTable(summary));
        console.log('');
      }
      if (result.start) {
        console.log(`Container start to exit of /bin/true (mnt, uts, ipc, net, pid; pivot_root; /proc), median of ${result.start.rounds} alternated rounds, ratio to ${result.start.reference ?? '(no reference)'}:\n`);
        console.log(
          table(
            result.start.rows.map((r) => ({ variant: r.name, 'median ms': r.medianMs ?? 'failed', ratio: r.ratio ?? '', note: r.error ?? r.note ?? '' })),
            ['variant', 'median ms', 'ratio', 'note'],
          ),
        );
        for (const s of result.start.skipped) console.log(`skipped: ${s}`);
        console.log(
          `\ntargets: ${Object.entries(result.start.targets)
            .map(([k, v]) => `${k} = ${v ?? 'n/a'}`)
            .join('; ')}`,
        );
        console.log('  (running workbook <= 1.0, fresh CLI <= 1.5, keypress <= 0.5)');
        console.log('');
      }
      if (result.workbook) {
        const w = result.workbook;
        console.log(`TUI first frame: ${w.tui.firstFrameMs} ms, lesson text shown: ${w.tui.textShownMs} ms (medians of ${w.tui.rounds}; node -e '' ${w.tui.nodeMs} ms; peak memory ${w.tui.peakMiB} MiB)`);
        console.log(`TUI in Chinese (LANG=zh_CN.UTF-8): first frame: ${w.tuiZh.firstFrameMs} ms, lesson text shown: ${w.tuiZh.textShownMs} ms (peak memory ${w.tuiZh.peakMiB} MiB)`);
        const l15 = w.solveAll.byLesson.filter((l) => l.lesson <= 5).reduce((a, l) => a + l.ms, 0);
        console.log(`solve all: ${w.solveAll.ms} ms (${w.solveAll.passed ? 'passed' : 'FAILED'}), lessons 1-5: ${l15} ms; by lesson (of which checks): ${w.solveAll.byLesson.map((l) => `${l.lesson}: ${l.ms} (${l.checkMs})`).join(', ')} ms`);
        console.log(`solve N one at a time, each a fresh process: ${w.solveAll.oneByOne.map((l) => `${l.lesson}: ${l.ms}`).join(', ')} ms (total ${w.solveAll.oneByOneMs})`);
        const cw = w.cpuWindow;
        if ('error' in cw) console.log(`CPU check window (lesson 2): not measured: ${cw.error}`);
        else console.log(`CPU check window (lesson 2): ${cw.checkWindowMs} ms; measureShare on a ${cw.target} % group, worst of 5: ${cw.windows.map((x) => `${x.windowMs} ms ±${x.maxError}`).join(', ')} (the check allows ±${cw.tolerance})`);
        console.log(`container start peak memory: init stage ${w.container.stageAPeakMiB} MiB; driver ${w.container.driverPeakMiB} MiB`);
        console.log(
          `pictures at 80 columns on a solved lesson, first draw / redraw (median of 5) in ms, redrawn every: ${w.pictures.map((p) => `${p.lesson}: ${p.firstMs} / ${p.redrawMs} (${p.everyMs ?? '-'} ms)${p.solved ? '' : ' [solve failed]'}`).join(', ')}`,
        );
        console.log('  (target: a redraw well under its interval; the TUI skips a redraw while one is drawing)');
        const kp = w.keypresses;
        if ('error' in kp) console.log(`keypress walk: not measured: ${kp.error}`);
        else
          console.log(
            `keypress walk (the TUI through every lesson by its keys, ${kp.ms} ms): ${kp.keys} keys, ${kp.helpers} helpers started, ${kp.preparedAhead} of them ahead; ${kp.coldOnKeypress} started cold on a keypress${kp.where.length ? `: ${kp.where.join('; ')}` : ''}; ${kp.pictureHelpers} started for pictures meanwhile (no key waits for them); ${kp.programs.length ? `${kp.programs.length} by programs a step runs as the learner types them (${kp.programs.join('; ')}: that program's starts, the fresh CLI row)` : 'none by programs a step runs'}${kp.failed ? `; stopped early: ${kp.failed}` : ''}; slowest keys: ${kp.slowest.join(', ')}`,
          );
        console.log('');
      }
      if (result.scale) {
        printScale(result.scale);
        console.log('');
      }
      console.log(
        `time taken: ${Object.entries(partSeconds)
          .map(([k, v]) => `${k} ${v} s`)
          .join(', ')}`,
      );
    }
  }
} finally {
  cleanup();
}
