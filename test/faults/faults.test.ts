// Faults injected into real runs of `container-lessons solve all`:
// - SIGKILL in every step of every lesson (when the step's header appears, plus half the
//   step's usual time); after each, recovery (what the next start does) must leave the
//   kernel and the lab exactly as they were before the run. Where each kill landed is read
//   from what the run had printed; a kill after the run ended does not count; every lesson
//   must be hit at least twice, and recovery must have had something to remove in each;
// - SIGINT and SIGTERM in the middle of lessons: the process must clean up by itself;
// - two learners' `solve all` at the same time: both pass and leave nothing.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempLab } from '../support/lab.js';
import { snapshot, leaks, describeLeaks, type KernelState } from '../support/kernel-state.mjs';
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

/** Where a run is, from what it printed: the last lesson and step headers, and whether
 * it printed its closing verdict. */
function whereIs(output: string): { lesson: number | null; step: number | null; finished: boolean } {
  let lesson: number | null = null;
  let step: number | null = null;
  for (const line of output.split('\n')) {
    const l = /^Lesson (\d+) · /.exec(line);
    if (l) {
      lesson = Number(l[1]);
      step = null;
    }
    const st = /^── step (\d+)\/\d+: /.exec(line);
    if (st) step = Number(st[1]);
  }
  return { lesson, step, finished: /\d+ of \d+ lessons: /.test(output) };
}

function solveAll(lab: Lab, args: string[] = []) {
  const child = spawn(process.execPath, [BIN, 'solve', 'all', ...args], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let ended = false;
  const watchers: Array<() => void> = [];
  child.stdout.on('data', (d) => {
    out += d;
    for (const w of watchers) w();
  });
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
    child.on('exit', (code, signal) => {
      ended = true;
      r({ code, signal });
    }),
  );
  /** Resolves when the run prints the header of `step` of `lesson` (false if it ended first). */
  const reaches = (lesson: number, step: number) =>
    new Promise<boolean>((resolve) => {
      const look = () => {
        const w = whereIs(out);
        if (w.lesson === lesson && w.step === step) resolve(true);
        else if (ended || (w.lesson ?? 0) > lesson) resolve(false);
      };
      watchers.push(look);
      void exited.then(look);
      look();
    });
  return { child, exited, output: () => out, reaches, ended: () => ended };
}

/** The lab's journals as recovery found them (for a failure's message). */
function journalsOf(lab: Lab): string {
  const dir = path.join(lab.root, '.journal');
  return fs
    .readdirSync(dir)
    .map((f) => `${f}: ${fs.readFileSync(path.join(dir, f), 'utf8').trim().replace(/\n/g, ' | ') || '(empty)'}`)
    .join('\n');
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
/** How long each step of each lesson took in a whole run (stepMs[lesson - 1][step - 1]). */
let stepMs: number[][] = [];
let kernelBefore: KernelState;
let filesBefore: string[];

beforeAll(async () => {
  lab = newLab();
  // One whole run: how long it takes, and the lab as a finished run leaves it.
  const t0 = Date.now();
  const run = solveAll(lab, ['--json']);
  const { code } = await run.exited;
  expect(code, run.output()).toBe(0);
  runMs = Date.now() - t0;
  const report = JSON.parse(run.output()) as { lessons: Array<{ number: number; steps: Array<{ ms: number }> }> };
  stepMs = report.lessons.map((l) => l.steps.map((s) => s.ms));
  kernelBefore = snapshot();
  filesBefore = labFiles(lab);
}, 120_000);

describe('faults during solve all', () => {
  it('SIGKILL in every step of every lesson: recovery leaves the machine and the lab exactly as before', async () => {
    type Kill = { target: string; lesson: number; step: number | null; removed: number; kinds: string; heldMs: number };
    const kills: Kill[] = [];
    for (const lesson of LESSONS) {
      for (const [i] of lesson.steps.entries()) {
        const target = `${lesson.number}.${i + 1}`;
        const run = solveAll(lab);
        const reached = await run.reaches(lesson.number, i + 1);
        expect(reached, `the run never reached step ${target}:\n${run.output().slice(-500)}`).toBe(true);
        await new Promise((r) => setTimeout(r, Math.floor((stepMs[lesson.number - 1]?.[i] ?? 0) / 2)));
        run.child.kill('SIGKILL');
        const { signal } = await run.exited;
        const at = whereIs(run.output());
        const journals = journalsOf(lab);
        const { removed, errors, heldMs } = await recoverLab(lab);
        expect(errors, `killed in ${target}`).toEqual([]);
        const left = await settled(kernelBefore);
        expect(left, `killed in ${target}, after recovery:\n${describeLeaks(left)}\nthe journals it recovered from:\n${journals}`).toEqual({});
        expect(labFiles(lab), `lab files after a kill in ${target}; the journals it recovered from:\n${journals}`).toEqual(filesBefore);
        // A kill that came after the run had ended proves nothing.
        if (signal !== 'SIGKILL' || at.finished || at.lesson === null) continue;
        kills.push({ target, lesson: at.lesson, step: at.step, removed: removed.length, kinds: [...new Set(removed.map((r) => r.kind))].join(', '), heldMs });
      }
    }
    const table = LESSONS.map((l) => {
      const mine = kills.filter((k) => k.lesson === l.number);
      return { lesson: `${l.number} ${l.id}`, kills: mine.length, recoveredSomething: mine.filter((k) => k.removed > 0).length, left: 0 };
    });
    console.log(
      `SIGKILL faults (a whole run: ${runMs} ms)\n${table.map((r) => `${r.lesson.padEnd(22)} kills ${r.kills}, recoveries that removed something ${r.recoveredSomething}, left 0`).join('\n')}\n${kills.map((k) => `  aimed at ${k.target}, landed in ${k.lesson}.${k.step ?? '(reset)'}: recovered ${k.removed} (${k.kinds || 'nothing pending'})${k.heldMs ? `, after waiting ${k.heldMs} ms for its journal, held by another process` : ''}`).join('\n')}\nrecoveries that waited for a held journal: ${kills.filter((k) => k.heldMs).length}`,
    );
    for (const r of table) {
      expect(r.kills, `lesson ${r.lesson}: kills that landed in it`).toBeGreaterThanOrEqual(2);
      expect(r.recoveredSomething, `lesson ${r.lesson}: recoveries that had something to remove`).toBeGreaterThanOrEqual(1);
    }
  }, 900_000);

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s in the middle of lessons: the process cleans up by itself, nothing is left to recover',
    async (sig) => {
      // The middle step of every other lesson, and the first step of the last.
      const targets = LESSONS.filter((_, i) => i % 2 === 1).map((l) => ({ lesson: l.number, step: Math.ceil(l.steps.length / 2) }));
      let interrupted = 0;
      for (const t of targets) {
        const run = solveAll(lab);
        expect(await run.reaches(t.lesson, t.step)).toBe(true);
        run.child.kill(sig);
        const { code, signal } = await run.exited;
        // Stopped for it after cleaning up (128 + n); a run that had ended would not count.
        const outcome = signal ? `killed by ${signal}` : `exit ${code}`;
        expect(outcome, `${sig} in ${t.lesson}.${t.step}:\n${run.output().slice(-500)}`).toBe(`exit ${sig === 'SIGINT' ? 130 : 143}`);
        expect(run.output()).toMatch(new RegExp(`${sig}: cleaning up before exit`));
        interrupted++;
        const left = await settled(kernelBefore);
        expect(left, `${sig} in ${t.lesson}.${t.step}:\n${describeLeaks(left)}`).toEqual({});
        expect(labFiles(lab)).toEqual(filesBefore);
        expect((await recoverLab(lab)).removed, `${sig} in ${t.lesson}.${t.step}: the process should have cleaned up`).toEqual([]);
      }
      expect(interrupted).toBe(targets.length);
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
