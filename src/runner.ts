// Running a lesson: its steps through the core, then its checks, then cleanup. The CLI's
// solve/check and the TUI both drive lessons through here.
import { Ledger } from './core/index.js';
import type { Lab } from './lab.js';
import { ensureLabRoot, markPassed, labJournal } from './lab.js';
import type { Lesson, LessonContext, Step } from './lessons/index.js';
import { allPassed, type CheckResult } from './checks/result.js';

export interface StepReport {
  title: string;
  commands: string[];
  output?: string;
  error?: { message: string; hint?: string };
  /** Wall time of the step. */
  ms?: number;
}

export interface LessonReport {
  id: string;
  number: number;
  title: string;
  reset: string[];
  steps: StepReport[];
  checks: CheckResult[];
  passed: boolean;
  cleanup: { removed: Array<{ kind: string; name: string }>; errors: string[]; kept: boolean };
  /** Wall times: the whole lesson (reset, steps, checks, cleanup), and the checks alone. */
  ms?: number;
  checkMs?: number;
}

export interface SolveHooks {
  onStepStart?: (lesson: Lesson, step: Step, index: number) => void;
  onStepDone?: (lesson: Lesson, report: StepReport, index: number) => void;
  onChecking?: (lesson: Lesson) => void;
  onNote?: (text: string) => void;
}

export function errorInfo(err: unknown): { message: string; hint?: string } {
  const e = err as Error & { hint?: string };
  return { message: e?.message ?? String(err), hint: e?.hint };
}

/** Ledgers of lessons under way, so a signal handler can undo them before exit. */
const active = new Set<Ledger>();

/** Other owners of lesson state (the TUI's store) register their cleanup here. */
const cleanups = new Set<() => Promise<string[]>>();

export function onCleanup(fn: () => Promise<string[]>): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** While a learner's shell owns the terminal, Ctrl-C is for the shell, not for us. */
let shellDepth = 0;
export function holdInterrupts<T>(p: Promise<T>): Promise<T> {
  shellDepth++;
  return p.finally(() => shellDepth--);
}
export const interruptsHeld = () => shellDepth > 0;

export async function cleanupActive(reason?: string): Promise<string[]> {
  if (reason) Ledger.stopAll(reason);
  const errors: string[] = [];
  for (const l of [...active]) {
    errors.push(...(await l.cleanup()).map((e) => e.message));
    active.delete(l);
  }
  for (const fn of [...cleanups]) errors.push(...(await fn()));
  return errors;
}

/** Run one lesson from a clean start to its checks. Everything made is removed unless keep. */
export async function solveLesson(lesson: Lesson, lab: Lab, opts: { keep?: boolean; hooks?: SolveHooks } = {}): Promise<LessonReport> {
  ensureLabRoot(lab);
  const t0 = performance.now();
  const report: LessonReport = {
    id: lesson.id,
    number: lesson.number,
    title: lesson.title,
    reset: await lesson.reset(lab),
    steps: [],
    checks: [],
    passed: false,
    cleanup: { removed: [], errors: [], kept: !!opts.keep },
  };
  const ctx: LessonContext = { lab, ledger: new Ledger(labJournal(lab)), state: new Map(), keep: !!opts.keep, lockWaitMs: 300_000, note: opts.hooks?.onNote };
  active.add(ctx.ledger);
  try {
    for (const [i, step] of lesson.steps.entries()) {
      opts.hooks?.onStepStart?.(lesson, step, i);
      const sr: StepReport = { title: step.title, commands: step.commands(lab) };
      const ts = performance.now();
      try {
        sr.output = await step.run(ctx);
      } catch (err) {
        sr.error = errorInfo(err);
      }
      sr.ms = Math.round(performance.now() - ts);
      report.steps.push(sr);
      opts.hooks?.onStepDone?.(lesson, sr, i);
      if (sr.error) break;
    }
    if (report.steps.every((s) => !s.error)) {
      opts.hooks?.onChecking?.(lesson);
      const tc = performance.now();
      report.checks = await lesson.check(lab);
      report.checkMs = Math.round(performance.now() - tc);
      report.passed = allPassed(report.checks);
      if (report.passed) markPassed(lab, lesson.id);
    }
  } finally {
    if (opts.keep) {
      report.cleanup.removed = ctx.ledger.release().map((e) => ({ ...e }));
    } else {
      report.cleanup.removed = ctx.ledger.list().map((e) => ({ ...e })).reverse();
      report.cleanup.errors = (await ctx.ledger.cleanup()).map((e) => e.message);
    }
    active.delete(ctx.ledger);
  }
  report.ms = Math.round(performance.now() - t0);
  return report;
}

/** Judge the learner's current state; a pass is recorded in their progress. */
export async function checkLesson(lesson: Lesson, lab: Lab): Promise<{ checks: CheckResult[]; passed: boolean }> {
  const checks = await lesson.check(lab);
  const passed = allPassed(checks);
  if (passed) markPassed(lab, lesson.id);
  return { checks, passed };
}
