// Faults injected into real runs of `container-lessons solve all`:
// - SIGKILL at 30 moments spread over the run; after each, recovery (what the next start
//   does) must leave the kernel and the lab exactly as they were before the run;
// - SIGINT and SIGTERM at several moments: the process must clean up by itself;
// - two learners' `solve all` at the same time: both pass and leave nothing.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempLab } from '../support/lab.js';
import { snapshot, leaks, describeLeaks, type KernelState } from '../support/kernel-state.js';
import { ensureRootfs } from '../../src/core/index.js';
import { recoverLab, type Lab } from '../../src/lab.js';
import { LESSONS } from '../../src/lessons/index.js';

const BIN = path.resolve('bin/container-lessons.js');
const labs: Array<ReturnType<typeof tempLab>> = [];
const newLab = () => {
  const l = tempLab('cl-fault-');
  labs.push(l);
  ensureRootfs(l.rootfs);
  return l;
};
afterAll(() => {
  for (const l of labs) l.dispose();
});

function solveAll(lab: Lab) {
  const child = spawn(process.execPath, [BIN, 'solve', 'all'], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, exited, output: () => out };
}

/** Every file in the lab but the cached rootfs and the progress, which a run may change. */
function labFiles(lab: Lab): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (p === lab.rootfs || p === lab.progressFile) continue;
      out.push(path.relative(lab.root, p) + (e.isDirectory() ? '/' : ''));
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
    }
  };
  walk(lab.root);
  return out.sort();
}

async function settled(before: KernelState): Promise<ReturnType<typeof leaks>> {
  let found = leaks(before, snapshot());
  for (let i = 0; i < 50 && Object.keys(found).length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    found = leaks(before, snapshot());
  }
  return found;
}

let lab: ReturnType<typeof tempLab>;
let runMs = 0;
let kernelBefore: KernelState;
let filesBefore: string[];

beforeAll(async () => {
  lab = newLab();
  // One whole run: how long it takes, and the lab as a finished run leaves it.
  const t0 = Date.now();
  const run = solveAll(lab);
  const { code } = await run.exited;
  expect(code, run.output()).toBe(0);
  runMs = Date.now() - t0;
  kernelBefore = snapshot();
  filesBefore = labFiles(lab);
}, 120_000);

describe('faults during solve all', () => {
  it('SIGKILL at 30 moments: recovery leaves the machine and the lab exactly as before', async () => {
    const moments = Array.from({ length: 30 }, (_, i) => Math.round(100 + (i * (runMs - 100)) / 29));
    const report: string[] = [];
    let survived = 0;
    for (const ms of moments) {
      const run = solveAll(lab);
      await new Promise((r) => setTimeout(r, ms));
      run.child.kill('SIGKILL');
      await run.exited;
      const { removed, errors } = await recoverLab(lab);
      expect(errors, `at ${ms} ms`).toEqual([]);
      const left = await settled(kernelBefore);
      expect(left, `killed at ${ms} ms, after recovery:\n${describeLeaks(left)}`).toEqual({});
      expect(labFiles(lab), `lab files after a kill at ${ms} ms`).toEqual(filesBefore);
      survived++;
      report.push(`${ms} ms: recovered ${removed.length} (${[...new Set(removed.map((r) => r.kind))].join(', ') || 'nothing pending'})`);
    }
    expect(survived).toBe(30);
    console.log(`SIGKILL faults survived: ${survived} of ${moments.length} (run ${runMs} ms)\n${report.join('\n')}`);
  }, 600_000);

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s at 6 moments: the process cleans up by itself, nothing is left to recover',
    async (sig) => {
      const moments = Array.from({ length: 6 }, (_, i) => Math.round(200 + (i * (runMs - 400)) / 5));
      for (const ms of moments) {
        const run = solveAll(lab);
        await new Promise((r) => setTimeout(r, ms));
        run.child.kill(sig);
        const { code, signal } = await run.exited;
        // It finished before the signal (0), stopped for it after cleaning up (128 + n), or
        // was still loading, before it had made anything, and the signal's default ended it.
        const outcome = signal ? `killed by ${signal}` : `exit ${code}`;
        expect(['exit 0', `exit ${sig === 'SIGINT' ? 130 : 143}`, `killed by ${sig}`], `${sig} at ${ms} ms:\n${run.output().slice(-500)}`).toContain(outcome);
        const left = await settled(kernelBefore);
        expect(left, `${sig} at ${ms} ms:\n${describeLeaks(left)}`).toEqual({});
        expect(labFiles(lab)).toEqual(filesBefore);
        expect((await recoverLab(lab)).removed, `${sig} at ${ms} ms: the process should have cleaned up`).toEqual([]);
      }
    },
    300_000,
  );

  it('two learners at once: both solve all pass, nothing is left', async () => {
    const other = newLab();
    const a = solveAll(lab);
    const b = solveAll(other);
    const [ra, rb] = await Promise.all([a.exited, b.exited]);
    expect(ra.code, a.output().slice(-800)).toBe(0);
    expect(rb.code, b.output().slice(-800)).toBe(0);
    const all = `${LESSONS.length} of ${LESSONS.length} lessons: passed`;
    expect(a.output() + b.output()).toMatch(new RegExp(`${all}[\\s\\S]*${all}`));
    expect(await settled(kernelBefore)).toEqual({});
  }, 300_000);

  it('two workbooks in one lab: the second is told, and exits 3', async () => {
    const a = solveAll(lab);
    await new Promise((r) => setTimeout(r, 600));
    const b = solveAll(lab);
    const rb = await b.exited;
    expect(rb.code).toBe(3);
    expect(b.output()).toMatch(/another container-lessons is using the lab .* \(pid \d+/);
    expect((await a.exited).code).toBe(0);
  }, 120_000);
});
