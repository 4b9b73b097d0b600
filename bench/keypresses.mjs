// "Every kind of start in the workbook warm", measured: the real TUI in tmux goes through
// every lesson by its keys (Enter for each step, c for the checks, → to the next), with
// spawn-log.mjs loaded into it. Between a keypress and what that key brings on screen, a
// helper (nsinit) started for the work itself (not an idle helper, not a warm container
// prepared ahead), or a job given to an idle helper that was itself started after the key,
// is a start the learner waited for: a Node start on the keypress path. Zero is the target.
// The starts of a container-lessons command a step runs as a program of its own (lesson 11's
// `container-lessons run`, as the learner types it) are that program's: counted apart, as
// the fresh CLI's start is measured in its own row.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { TmuxSession } from './tmux.mjs';

const HOOK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'spawn-log.mjs');
const now = () => performance.timeOrigin + performance.now();
const escapeRegExp = (/** @type {string} */ s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** @typedef {{ number: number, title: string, steps: unknown[] }} LessonInfo */
/** @typedef {{ key: string, t0: number, t1: number }} Press */

/**
 * @param {{ tmp: string, bin: string, lessons: LessonInfo[], log: (s: string) => void }} o
 */
export async function keypressStarts({ tmp, bin, lessons, log }) {
  const home = path.join(tmp, 'keypress-lab');
  const spawnLog = path.join(tmp, 'keypress-spawns.jsonl');
  fs.writeFileSync(spawnLog, '');
  const N = lessons.length;
  const tmux = new TmuxSession(`cl-bench-keys-${process.pid}`);
  const env = [`CONTAINER_LESSONS_HOME=${home}`, 'TERM=xterm-256color', 'LANG=C.UTF-8', `NODE_OPTIONS=--import=${HOOK}`, `CL_BENCH_SPAWN_LOG=${spawnLog}`];
  tmux.start(`env ${env.join(' ')} ${process.execPath} ${bin}; echo "TUI EXITED $?"; sleep 600`, 100, 30);
  /** @type {Array<Press & { lesson: number }>} */
  const presses = [];
  /** @type {string | null} */
  let failed = null;
  const t0 = performance.now();
  try {
    /** A key, and the time until one of `res` shows: res[0] is what should come. */
    const press = async (/** @type {number} */ lesson, /** @type {string} */ what, /** @type {string} */ key, /** @type {RegExp[]} */ res) => {
      const p = { lesson, key: what, t0: now(), t1: 0 };
      tmux.keys(key);
      const r = await tmux.waitFor(res, 90_000).catch((/** @type {Error} */ err) => {
        throw new Error(`lesson ${lesson}, ${what}: ${err.message}`);
      });
      p.t1 = now();
      presses.push(p);
      if (r.i !== 0) throw new Error(`lesson ${lesson}, ${what}: ${res[r.i]} instead of ${res[0]}`);
    };
    const header = (/** @type {LessonInfo} */ l) => new RegExp(`${l.number}/${N} ${escapeRegExp(l.title.slice(0, 20))}`);
    await tmux.waitFor([header(/** @type {LessonInfo} */ (lessons[0]))]);
    for (const l of lessons) {
      if (l.number > 1) await press(l.number, '→', 'Right', [header(l)]);
      const steps = l.steps.length;
      for (let i = 1; i <= steps; i++) await press(l.number, `step ${i}`, 'Enter', [i < steps ? new RegExp(`Step ${i} done`) : /All steps done/, new RegExp(`Step ${i} failed`)]);
      await press(l.number, 'checks', 'c', [new RegExp(`Lesson ${l.number} passed`), /checks? failed/]);
    }
    tmux.keys('q');
    await tmux.waitFor([/TUI EXITED \d+/]);
  } catch (err) {
    // The first line says what was awaited; the screen's last lines say where the TUI is.
    const lines = (err instanceof Error ? err.message : String(err)).split('\n').filter((l) => l.trim());
    failed = [lines[0], ...lines.slice(1).slice(-3)].map((l) => l?.trim()).join(' / ');
  } finally {
    tmux.kill();
    // A walk that stopped early leaves a TUI ending on the hangup: let it remove what its
    // lesson made, then remove the lab's own things.
    await new Promise((r) => setTimeout(r, 500));
    spawnSync(process.execPath, [bin, 'reset', '--all'], { env: { ...process.env, CONTAINER_LESSONS_HOME: home }, stdio: 'ignore' });
  }
  /** @type {Array<{ t: number, mode?: string, job?: string, prepared: boolean, background?: boolean, helperStarted?: number, program?: string }>} */
  const entries = fs
    .readFileSync(spawnLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  /** @type {Array<{ lesson: number, key: string, mode: string, kind: string }>} */
  const cold = [];
  // Helpers of a picture's redraw during a key's work: nothing on screen that the key
  // brings waits for them (counted apart).
  let background = 0;
  /** @type {Array<{ lesson: number, key: string, program: string, mode: string }>} */
  const programs = [];
  for (const e of entries) {
    const p = presses.find((x) => e.t >= x.t0 && e.t <= x.t1);
    if (!p || e.prepared) continue;
    if (e.program) {
      programs.push({ lesson: p.lesson, key: p.key, program: e.program, mode: e.mode ?? e.job ?? '?' });
      continue;
    }
    if (e.background) {
      background++;
      continue;
    }
    if (e.job === undefined) cold.push({ lesson: p.lesson, key: p.key, mode: e.mode ?? '?', kind: e.mode ?? '?' });
    else if ((e.helperStarted ?? 0) >= p.t0) cold.push({ lesson: p.lesson, key: p.key, mode: `${e.job} (its helper started after the key)`, kind: e.job });
  }
  // The workbook's own helpers (a program's are its own).
  const spawns = entries.filter((e) => e.job === undefined && !e.program);
  const prepared = spawns.filter((s) => s.prepared).length;
  log(`keypress walk: ${presses.length} keys, ${spawns.length} helpers started (${prepared} ahead), ${cold.length} cold on a keypress, ${background} for pictures, ${programs.length} by programs the steps run`);
  const slowest = [...presses]
    .sort((a, b) => b.t1 - b.t0 - (a.t1 - a.t0))
    .slice(0, 5)
    .map((p) => `lesson ${p.lesson} ${p.key}: ${Math.round(p.t1 - p.t0)} ms`);
  return {
    ms: Math.round(performance.now() - t0),
    keys: presses.length,
    slowest,
    helpers: spawns.length,
    preparedAhead: prepared,
    coldOnKeypress: cold.length,
    /** Helpers a picture's redraw started while a key's work ran (no keypress waits for them). */
    pictureHelpers: background,
    /** "lesson 11 step 3: container-lessons run (init)": helpers a program a step runs
     * started (that program's own starts). */
    programs: programs.map((x) => `lesson ${x.lesson} ${x.key}: container-lessons ${x.program} (${x.mode})`),
    /** "lesson 4 step 2: run x2" */
    where: summarize(cold),
    lessons: [...new Set(cold.map((c) => c.lesson))],
    /** How many of each helper mode started cold: run, enter, net, probe... */
    byKind: countBy(cold.map((c) => c.kind)),
    // Without the log there is nothing to judge by: the hook was not loaded.
    hookSeen: spawns.length > 0,
    failed,
  };
}

/** How many times each value occurs. @param {string[]} xs */
function countBy(xs) {
  /** @type {Record<string, number>} */
  const by = {};
  for (const x of xs) by[x] = (by[x] ?? 0) + 1;
  return by;
}

/** @param {Array<{ lesson: number, key: string, mode: string }>} cold */
function summarize(cold) {
  /** @type {Map<string, Map<string, number>>} */
  const by = new Map();
  for (const c of cold) {
    const k = `lesson ${c.lesson} ${c.key}`;
    const modes = by.get(k) ?? new Map();
    modes.set(c.mode, (modes.get(c.mode) ?? 0) + 1);
    by.set(k, modes);
  }
  return [...by].map(([k, modes]) => `${k}: ${[...modes].map(([m, n]) => (n > 1 ? `${m} x${n}` : m)).join(', ')}`);
}
