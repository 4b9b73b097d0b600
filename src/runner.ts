// Running a lesson: its steps through the core, then its checks, then cleanup. The CLI's
// solve/check and the TUI both drive lessons through here (LessonSession, judge).
import fs from 'node:fs';
import path from 'node:path';
import { Ledger, LockBusyError, WarmContainers, describeUndo, idleHelpers, rootfsProblem, undo, type Undo } from './core/index.js';
import type { Lab } from './lab.js';
import { ensureLabRoot, markPassed, labJournal, holdMachineName, chownToInvoker } from './lab.js';
import type { Lesson, LessonContext, Step } from './lessons/index.js';
import { allPassed, type CheckResult } from './checks/result.js';
import { msg, t } from './i18n/messages.js';
import { withWorkSink, type WorkProgress, type WorkSink } from './progress.js';
import { stepShapes } from './lessons/container-common.js';

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
  /** While the step runs: each line its commands print, and the progress of its long work
   * (an import, the rootfs build). Its report's output, at the end, is the whole of it. */
  onStepLine?: (lesson: Lesson, line: string, index: number) => void;
  onStepProgress?: (lesson: Lesson, progress: WorkProgress, index: number) => void;
  onStepDone?: (lesson: Lesson, report: StepReport, index: number) => void;
  onChecking?: (lesson: Lesson) => void;
  onNote?: (text: string) => void;
  /** After the checks, while what the steps made is still there (its picture is drawn then). */
  beforeEnd?: (lesson: Lesson) => Promise<void>;
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

/** A check that throws is a bug in the check: the learner sees it as a failed result. */
function checkCrashed(err: unknown): CheckResult {
  return { title: msg('the check ran'), status: 'fail', reason: errorInfo(err).message, hint: t`this is a bug in the check; \`container-lessons check --json\` shows the same`, looked: [] };
}

/** Judge the learner's current state, without recording it. */
export async function judge(lesson: Lesson, lab: Lab, opts: { note?: (text: string) => void } = {}): Promise<{ checks: CheckResult[]; passed: boolean; ms: number }> {
  const t0 = performance.now();
  let checks: CheckResult[];
  try {
    checks = await lesson.check(lab, opts);
  } catch (err) {
    checks = [checkCrashed(err)];
  }
  return { checks, passed: allPassed(checks), ms: Math.round(performance.now() - t0) };
}

/** Judge the learner's current state; a pass is recorded in their progress. */
export async function checkLesson(lesson: Lesson, lab: Lab, opts: { note?: (text: string) => void } = {}): Promise<{ checks: CheckResult[]; passed: boolean }> {
  const { checks, passed } = await judge(lesson, lab, opts);
  if (passed) markPassed(lab, lesson.id);
  return { checks, passed };
}

/** One look of a watch: every result, and what differs from the look before. */
export interface WatchLook {
  /** 1 for the first look. */
  n: number;
  checks: CheckResult[];
  passed: boolean;
  /** The results whose status or reason is not what the previous look saw (the first look: all). */
  changed: CheckResult[];
  /** Titles the previous look reported and this one does not. */
  gone: string[];
  ms: number;
}

/** Results keyed by title (a repeated title by its occurrence), for comparing two looks. */
function keyed(checks: CheckResult[]): Map<string, CheckResult> {
  const seen = new Map<string, number>();
  const out = new Map<string, CheckResult>();
  for (const c of checks) {
    const i = seen.get(c.title) ?? 0;
    seen.set(c.title, i + 1);
    out.set(i ? `${c.title}#${i}` : c.title, c);
  }
  return out;
}

/** What a look changed, compared with the previous one (none: everything is new). */
export function lookChanges(prev: CheckResult[] | null, checks: CheckResult[]): { changed: CheckResult[]; gone: string[] } {
  if (!prev) return { changed: checks, gone: [] };
  const before = keyed(prev);
  const now = keyed(checks);
  const changed = [...now].filter(([k, c]) => before.get(k)?.status !== c.status || before.get(k)?.reason !== c.reason).map(([, c]) => c);
  const gone = [...before].filter(([k]) => !now.has(k)).map(([, c]) => c.title);
  return { changed, gone };
}

/**
 * `check --watch`: judge the learner's state, again and again, until it passes (recorded in
 * their progress, as `check` does) or the signal aborts. Looks never overlap: the next one
 * starts intervalMs after the previous one started, and never sooner than a short pause
 * after it ended (lesson 2's check alone measures for half a second or more). A watch reads,
 * it creates nothing.
 */
export async function watchLesson(lesson: Lesson, lab: Lab, opts: { intervalMs?: number; signal?: AbortSignal; onLook: (look: WatchLook) => void }): Promise<{ checks: CheckResult[]; passed: boolean; looks: number }> {
  const interval = opts.intervalMs ?? 2000;
  let prev: CheckResult[] | null = null;
  let n = 0;
  while (!opts.signal?.aborted) {
    const t0 = performance.now();
    const { checks, passed, ms } = await judge(lesson, lab);
    n++;
    if (passed) markPassed(lab, lesson.id);
    opts.onLook({ n, checks, passed, ms, ...lookChanges(prev, checks) });
    if (passed) return { checks, passed, looks: n };
    prev = checks;
    await pause(Math.max(Math.min(250, interval), interval - (performance.now() - t0)), opts.signal);
  }
  return { checks: prev ?? [], passed: false, looks: n };
}

/** Wait ms, or less if the signal aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface SessionOptions {
  /** solve --keep: what the steps start outlives this process. */
  keep?: boolean;
  lockWaitMs?: number;
  note?: (text: string) => void;
  warm?: WarmContainers;
}

/**
 * One start of a lesson: a fresh state and a ledger of what its steps make, steps run one at
 * a time (by `solve`'s loop, or by the TUI a key at a time), and an end that removes what
 * they made. While it is open, a signal's cleanup (cleanupActive) undoes it.
 */
export class LessonSession {
  readonly ctx: LessonContext;
  private ended = false;

  constructor(
    readonly lesson: Lesson,
    lab: Lab,
    opts: SessionOptions = {},
  ) {
    this.ctx = { lab, ledger: new Ledger(labJournal(lab)), state: lesson.newState(), keep: !!opts.keep, lockWaitMs: opts.lockWaitMs, note: opts.note, warm: opts.warm };
    active.add(this.ctx.ledger);
  }

  /** Run step i; its failure is reported, not thrown. `watch` hears, while it runs, the lines
   * its commands print and the progress of its long work (see progress.ts). */
  async runStep(i: number, watch: WorkSink = {}): Promise<StepReport> {
    const step = this.lesson.steps[i];
    if (!step) throw new Error(`lesson ${this.lesson.id} has no step ${i + 1}`);
    const report: StepReport = { title: step.title, commands: step.commands(this.ctx.lab) };
    const t0 = performance.now();
    try {
      report.output = await withWorkSink(watch, () => step.run(this.ctx));
    } catch (err) {
      report.error = errorInfo(err);
    }
    report.ms = Math.round(performance.now() - t0);
    return report;
  }

  /** Remove what the steps made (or, with keep, leave it and say what was left). */
  async end(): Promise<LessonReport['cleanup']> {
    if (this.ended) return { removed: [], errors: [], kept: this.ctx.keep };
    this.ended = true;
    const { ledger } = this.ctx;
    try {
      if (this.ctx.keep) {
        const kept = ledger.release();
        keepForReset(this.lesson, this.ctx.lab, kept);
        return { removed: kept.map(describeUndo), errors: [], kept: true };
      }
      const removed = ledger
        .list()
        .map((e) => ({ ...e }))
        .reverse();
      return { removed, errors: (await ledger.cleanup()).map((e) => e.message), kept: false };
    } finally {
      active.delete(ledger);
    }
  }
}

/** Where a `solve --keep` leaves the undos of what it kept: the lesson's reset runs them.
 * Most of it the lesson's reset finds by itself (it also removes what a learner made by
 * hand), but not a setting the workbook changed for it (v2's +cpu in subtree_control). */
const keptFile = (lab: Lab, lesson: Lesson) => path.join(lab.root, '.kept', `${lesson.id}.json`);

function keepForReset(lesson: Lesson, lab: Lab, undos: Undo[]): void {
  if (!undos.length) return;
  const file = keptFile(lab, lesson);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  chownToInvoker(lab, path.dirname(file));
  fs.writeFileSync(file, JSON.stringify([...readKept(file), ...undos]));
}

function readKept(file: string): Undo[] {
  try {
    const data: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return Array.isArray(data) ? (data as Undo[]) : [];
  } catch {
    return [];
  }
}

/** Remove what a lesson left (its own reset: made by the workbook or by hand), then what a
 * `solve --keep` of it recorded, newest first, while holding the lesson's machine-wide names
 * (another learner's use of them is never undone). Returns what was removed. */
export async function resetLesson(lesson: Lesson, lab: Lab): Promise<string[]> {
  const removed = await lesson.reset(lab);
  const file = keptFile(lab, lesson);
  const kept = readKept(file);
  if (!kept.length) return removed;
  const releases: Array<() => void> = [];
  try {
    for (const name of lesson.machineNames ?? []) releases.push(await holdMachineName(name));
    for (const u of [...kept].reverse()) await undo(u);
    fs.rmSync(file, { force: true });
    removed.push(t`what solve --keep recorded: ${kept.map((u) => describeUndo(u).kind).join(', ')}`);
  } catch (err) {
    if (!(err instanceof LockBusyError)) throw err;
    removed.push(t`left what solve --keep made alone: ${err.message}`);
  } finally {
    for (const r of releases) r();
  }
  return removed;
}

/** Run one lesson from a clean start to its checks. Everything made is removed unless keep. */
export async function solveLesson(lesson: Lesson, lab: Lab, opts: { keep?: boolean; hooks?: SolveHooks } = {}): Promise<LessonReport> {
  ensureLabRoot(lab);
  const t0 = performance.now();
  const report: LessonReport = {
    id: lesson.id,
    number: lesson.number,
    title: lesson.title,
    reset: await resetLesson(lesson, lab),
    steps: [],
    checks: [],
    passed: false,
    cleanup: { removed: [], errors: [], kept: !!opts.keep },
  };
  // As in the TUI, the containers a step declares are made while the step before it runs
  // (WarmContainers): a step that waits (a timeout, a measuring window) hides their Node
  // starts. Not with --keep, whose containers outlive this process (a prepared one cannot).
  const warm = opts.keep ? undefined : new WarmContainers();
  // want() starts the helpers ahead too: a caller that kept none (a test) gets none left.
  const poolWasStarted = idleHelpers.started;
  const session = new LessonSession(lesson, lab, { keep: opts.keep, lockWaitMs: 300_000, note: opts.hooks?.onNote, warm });
  const prepare = (from: number) => {
    if (!warm || rootfsProblem(lab.rootfs)) return;
    const [now, next] = [lesson.steps[from], lesson.steps[from + 1]];
    warm.want([...stepShapes(lab, now), ...stepShapes(lab, next)], session.ctx.ledger, Math.max(now?.helpers ?? 0, next?.helpers ?? 0));
  };
  try {
    for (const [i, step] of lesson.steps.entries()) {
      prepare(i);
      opts.hooks?.onStepStart?.(lesson, step, i);
      const hooks = opts.hooks;
      const sr = await session.runStep(i, {
        line: hooks?.onStepLine && ((line) => hooks.onStepLine?.(lesson, line, i)),
        progress: hooks?.onStepProgress && ((p) => hooks.onStepProgress?.(lesson, p, i)),
      });
      report.steps.push(sr);
      opts.hooks?.onStepDone?.(lesson, sr, i);
      if (sr.error) break;
    }
    // Nothing prepared is left to run beside the checks.
    await warm?.release();
    if (report.steps.every((s) => !s.error)) {
      opts.hooks?.onChecking?.(lesson);
      const judged = await judge(lesson, lab);
      report.checks = judged.checks;
      report.checkMs = judged.ms;
      report.passed = judged.passed;
      if (report.passed) markPassed(lab, lesson.id);
    }
    await opts.hooks?.beforeEnd?.(lesson);
  } finally {
    await warm?.release();
    if (!poolWasStarted) await idleHelpers.stop();
    report.cleanup = await session.end();
  }
  report.ms = Math.round(performance.now() - t0);
  return report;
}
