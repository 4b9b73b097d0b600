// How short lesson 2's CPU check window can be: measureShare (the check's own
// measurement) on a group held to 20 % by a 20000/100000 µs quota, at several window
// lengths, alternated round after round. `solve cgroup-cpu --keep` makes the group and its busy
// loop; `reset cgroup-cpu` removes them (and what the solve enabled for them), also when this fails.
//
//   sudo node bench/window.mjs [--rounds N] [--windows 250,300,500,1000,2000] [--json]
//
// Why whole periods matter: the quota is spent at the start of each 100 ms period, so
// CPU use is a periodic function of time. A window of k whole periods holds exactly k
// quotas wherever it starts; a window of 2.5 periods holds 2 or 3 depending on where it
// starts. What remains is timer lateness and the machine's own noise.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'container-lessons.js');

export async function windowAccuracy({ rounds = 8, windows = [250, 300, 500, 1000, 2000] } = {}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-window-'));
  const env = { ...process.env, CONTAINER_LESSONS_HOME: home };
  try {
    const solved = spawnSync(process.execPath, [BIN, 'solve', 'cgroup-cpu', '--keep'], { env, encoding: 'utf8' });
    if (solved.status !== 0) throw new Error(`solve cgroup-cpu --keep failed (exit ${solved.status}): ${(solved.stderr || solved.stdout).trim().split('\n').slice(-3).join(' / ')}`);
    /** @type {typeof import('../src/lessons/02-cgroup-cpu.js')} (built: dist/) */
    const lesson = await import(pathToFileURL(path.join(ROOT, 'dist/lessons/02-cgroup-cpu.js')).href);
    /** @type {typeof import('../src/core/index.js')} */
    const { Cgroup } = await import(pathToFileURL(path.join(ROOT, 'dist/core/index.js')).href);
    const g = new Cgroup(lesson.GROUP, ['cpu']);
    const samples = windows.map((windowMs) => ({ windowMs, xs: /** @type {number[]} */ ([]) }));
    for (let i = 0; i < rounds; i++) for (const s of samples) s.xs.push((await lesson.measureShare(g, s.windowMs)).percent);
    const r1 = (/** @type {number} */ x) => Math.round(x * 10) / 10;
    return {
      target: lesson.TARGET_PERCENT,
      tolerance: lesson.TOLERANCE,
      checkWindowMs: lesson.WINDOW_MS,
      windows: samples.map(({ windowMs: w, xs }) => {
        const maxError = Math.max(...xs.map((x) => Math.abs(x - lesson.TARGET_PERCENT)));
        return { windowMs: w, min: r1(Math.min(...xs)), max: r1(Math.max(...xs)), maxError: r1(maxError), within: maxError <= lesson.TOLERANCE };
      }),
    };
  } finally {
    spawnSync(process.execPath, [BIN, 'reset', 'cgroup-cpu'], { env, stdio: 'ignore' });
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '8' }, windows: { type: 'string', default: '250,300,500,1000,2000' }, json: { type: 'boolean', default: false } } });
  if (process.getuid?.() !== 0) {
    console.error('bench/window.mjs needs root (a cgroup): sudo node bench/window.mjs');
    process.exit(3);
  }
  try {
    const r = await windowAccuracy({ rounds: Number(values.rounds), windows: values.windows.split(',').map(Number) });
    if (values.json) console.log(JSON.stringify(r));
    else {
      console.log(`measureShare on a ${r.target} % group, ${values.rounds} rounds (the check allows ±${r.tolerance} points; it uses ${r.checkWindowMs} ms):`);
      for (const w of r.windows) console.log(`  window ${String(w.windowMs).padStart(5)} ms: ${w.min}-${w.max} %, worst ${w.maxError} points off${w.within ? '' : '  (outside the tolerance)'}`);
    }
  } catch (err) {
    console.error(`bench/window.mjs: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
