// Loaded into the TUI by the bench (NODE_OPTIONS=--import this file): every helper (nsinit)
// the workbook's process starts, and every job it hands to a helper started ahead (an idle
// helper: core/helper-pool.ts), is written as one JSON line to $CL_BENCH_SPAWN_LOG, with the
// time. bench/keypresses.mjs matches these against its keypresses.
//
// Only the workbook's own processes log (the helpers get NODE_OPTIONS too, and skip), and
// only what goes through node:child_process on their main thread: a helper started from a
// worker thread would not be seen here. A container-lessons command a step runs as a program
// of its own (lesson 11 runs `container-lessons run` as a learner types it) logs too, with
// its command as `program`: its starts are that program's, not the workbook's.
import cp from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { performance } from 'node:perf_hooks';

const file = process.env.CL_BENCH_SPAWN_LOG;
const now = () => performance.timeOrigin + performance.now();
/** A helper started: its mode (`idle`: started ahead, to be given a job later), and whether
 * it prepares a container ahead (a warm one, whose command comes later). */
/** A helper started for work no keypress waits for (a picture's redraw) carries
 * CONTAINER_LESSONS_BACKGROUND in its environment (core/helper-pool.ts background). */
/** @typedef {{ t: number, mode: string, prepared: boolean, background?: boolean, program?: string }} Start */
/** A job given to an idle helper, and when that helper was started. */
/** @typedef {{ t: number, job: string, prepared: boolean, helperStarted: number, program?: string }} Job */

if (file && /container-lessons(\.js)?$/.test(process.argv[1] ?? '')) {
  // The TUI is the command line without a command (options only).
  const program = process.argv.slice(2).find((a) => !a.startsWith('-'));
  const write = (/** @type {Start | Job} */ entry) => fs.appendFileSync(file, JSON.stringify(program ? { ...entry, program } : entry) + '\n');
  /** @param {unknown} args @param {unknown} options @returns {Start | null} */
  const helperStart = (args, options) => {
    if (!Array.isArray(args)) return null;
    const at = args.findIndex((a) => typeof a === 'string' && (a.endsWith('nsinit.js') || a === '__nsinit'));
    if (at < 0) return null;
    const mode = String(args[at + 1] ?? '');
    const env = /** @type {{ env?: Record<string, string | undefined> } | undefined} */ (options)?.env;
    return { t: now(), mode, prepared: mode === 'idle' || String(args[at + 2] ?? '').includes('"warm":true'), background: !!env?.CONTAINER_LESSONS_BACKGROUND };
  };
  /** An idle helper reads its job on fd 4: log the job when it is written there.
   * @param {unknown} child @param {Start} start */
  const watchJobs = (child, start) => {
    const pipe = /** @type {{ stdio?: Array<{ write?: Function, end?: Function } | null> }} */ (child).stdio?.[4];
    if (!pipe) return;
    for (const m of /** @type {const} */ (['write', 'end'])) {
      const orig = pipe[m];
      if (typeof orig !== 'function') continue;
      pipe[m] = function (/** @type {unknown[]} */ ...a) {
        const text = typeof a[0] === 'string' || Buffer.isBuffer(a[0]) ? String(a[0]) : '';
        if (text) write({ t: now(), job: /"mode":"([^"]*)"/.exec(text)?.[1] ?? '?', prepared: text.includes('"warm":true'), helperStarted: start.t });
        return orig.apply(this, a);
      };
    }
  };
  for (const name of /** @type {const} */ (['spawn', 'spawnSync', 'execFile', 'execFileSync'])) {
    const orig = /** @type {(...a: unknown[]) => unknown} */ (cp[name]);
    // @ts-expect-error: the same function, wrapped
    cp[name] = function (/** @type {unknown[]} */ ...a) {
      const start = helperStart(a[1], a[2]);
      if (start) write(start);
      const child = orig.apply(this, a);
      if (start?.mode === 'idle') watchJobs(child, start);
      return child;
    };
  }
  // The workbook imports these by name (ESM): update those bindings too.
  syncBuiltinESMExports();
}
