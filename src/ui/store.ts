// The workbook's state and everything a key can do, without React: the TUI renders a
// snapshot of this store and sends it actions. Lesson work goes through the runner (a
// LessonSession per started lesson, judge for the checks); the store adds no syscalls.
import { WarmContainers, rootfsProblem } from '../core/index.js';
import type { Lab } from '../lab.js';
import { readProgress, markPassed, ensureLabRoot } from '../lab.js';
import type { Lesson } from '../lessons/index.js';
import type { ShellSpec } from '../lessons/types.js';
import { stepShapes } from '../lessons/container-common.js';
import type { CheckResult } from '../checks/result.js';
import { errorInfo, judge, LessonSession, resetLesson } from '../runner.js';
import { clipboardText, osc52 } from './clipboard.js';
import { currentStep } from './shell-history.js';
import { t, titled, tr } from '../i18n/messages.js';
import type { WorkSink } from '../progress.js';
import { bar, plainLine, progressFraction, progressText } from '../progress-view.js';

/** How often a running step's output is redrawn, and how many of its last lines are kept
 * while it runs (its whole output comes with its report). */
const LIVE_MS = 100;
const LIVE_LINES = 400;

export type StepStatus = 'pending' | 'running' | 'done' | 'error';

export interface StepState {
  status: StepStatus;
  output?: string;
  error?: { message: string; hint?: string };
}

export interface LessonRun {
  steps: StepState[];
  checks: CheckResult[] | null;
  /** When the checks were last run and passed. */
  passedNow: boolean;
}

export type Overlay =
  | { kind: 'help' }
  /** A hint: a failing check's own (first, after checks), then the lesson's tiers. `next` says
   * what h gives next (null: this is the last), `more` shows it. */
  | { kind: 'hint'; title: string; text: string; next: string | null; more: () => void }
  | { kind: 'confirm-reset' };

export type ExitRequest = { type: 'quit' } | { type: 'shell'; spec: ShellSpec; lesson: Lesson };

export interface UiState {
  index: number;
  pane: 'text' | 'work';
  scroll: { text: number; work: number };
  runs: Record<string, LessonRun>;
  passed: Record<string, string>;
  overlay: Overlay | null;
  /** A line for the learner: what just happened, what to do next. */
  message: { text: string; tone: 'info' | 'good' | 'bad' } | null;
  /** What is running now (a spinner shows it); keys that start work wait. */
  busy: string | null;
  /** While a step runs: the last line its commands printed, or how far its long work is. */
  live: string | null;
  /** A check is reading the kernel now (a live picture marks its window). */
  checking: boolean;
  exit: ExitRequest | null;
}

export interface StoreOptions {
  lessons: Lesson[];
  lab: Lab;
  unlockAll?: boolean;
  /** Where the copy key's escape sequence goes: the terminal (tests catch it here). */
  writeTerminal?: (seq: string) => void;
}

const emptyRun = (lesson: Lesson): LessonRun => ({ steps: lesson.steps.map(() => ({ status: 'pending' })), checks: null, passedNow: false });

/** A lesson's run in a snapshot; a lesson without one has run nothing yet. */
export const runOf = (state: UiState, lesson: Lesson): LessonRun => state.runs[lesson.id] ?? emptyRun(lesson);

export class WorkbookStore {
  readonly lessons: Lesson[];
  readonly lab: Lab;
  readonly unlockAll: boolean;
  private readonly writeTerminal: (seq: string) => void;
  private state: UiState;
  private listeners = new Set<() => void>();
  /** The started lessons: what their steps made, until they are left, reset or quit. */
  private sessions = new Map<string, LessonSession>();
  private exitWaiters: Array<(r: ExitRequest) => void> = [];

  constructor(opts: StoreOptions) {
    this.lessons = opts.lessons;
    this.lab = opts.lab;
    this.unlockAll = !!opts.unlockAll;
    this.writeTerminal = opts.writeTerminal ?? ((seq) => process.stdout.write(seq));
    let passed: Record<string, string> = {};
    let message: UiState['message'] = null;
    try {
      passed = readProgress(this.lab).passed;
    } catch (err) {
      message = { text: `${(err as Error).message}`, tone: 'bad' };
    }
    const runs: Record<string, LessonRun> = {};
    for (const l of this.lessons) runs[l.id] = emptyRun(l);
    const first = this.lessons.findIndex((l) => !passed[l.id]);
    this.state = {
      index: first < 0 ? this.lessons.length - 1 : first,
      pane: 'text',
      scroll: { text: 0, work: 0 },
      runs,
      passed,
      overlay: null,
      message: message ?? { text: t`Read the lesson (↑↓ scroll), then press Enter to run its first step.`, tone: 'info' },
      busy: null,
      live: null,
      checking: false,
      exit: null,
    };
  }

  // ---- subscription (useSyncExternalStore) ----
  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): UiState => this.state;

  private set(patch: Partial<UiState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn();
  }

  private setRun(lesson: Lesson, patch: Partial<LessonRun>): void {
    this.set({ runs: { ...this.state.runs, [lesson.id]: { ...runOf(this.state, lesson), ...patch } } });
  }

  private setStep(lesson: Lesson, i: number, step: StepState): void {
    const steps = runOf(this.state, lesson).steps.slice();
    steps[i] = step;
    this.setRun(lesson, { steps });
  }

  // ---- derived ----
  /** The i-th lesson; callers keep i inside the curriculum (select checks it). */
  private lessonAt(i: number): Lesson {
    const lesson = this.lessons[i];
    if (!lesson) throw new RangeError(`no lesson at index ${i} (the workbook has ${this.lessons.length})`);
    return lesson;
  }

  get lesson(): Lesson {
    return this.lessonAt(this.state.index);
  }

  isUnlocked(i: number): boolean {
    if (this.unlockAll || i === 0) return true;
    const prev = this.lessonAt(i - 1);
    return !!this.state.passed[prev.id] || !!this.state.passed[this.lessonAt(i).id];
  }

  lessonState(i: number): 'passed' | 'open' | 'locked' {
    if (this.state.passed[this.lessonAt(i).id]) return 'passed';
    return this.isUnlocked(i) ? 'open' : 'locked';
  }

  /** The containers the next step starts, prepared while the learner reads: a keypress
   * then costs an execve, not two Node starts (WarmContainers in core/container.ts). */
  private readonly warm = new WarmContainers();

  private prepareNext(): void {
    const lesson = this.lesson;
    const next = runOf(this.state, lesson).steps.findIndex((s) => s.status !== 'done');
    // Step 1 starts by resetting the lesson, which would end a prepared container.
    const step = next > 0 ? lesson.steps[next] : undefined;
    const shapes = stepShapes(this.lab, step);
    // All steps done: the checks are next.
    const helpers = next < 0 ? lesson.checkHelpers : step?.helpers;
    if (!shapes.length || rootfsProblem(this.lab.rootfs)) {
      this.warm.want(null, undefined, helpers);
      return;
    }
    this.warm.want(shapes, this.session(lesson).ctx.ledger, helpers);
  }

  private session(lesson: Lesson): LessonSession {
    let s = this.sessions.get(lesson.id);
    if (!s) {
      s = new LessonSession(lesson, this.lab, { lockWaitMs: 0, warm: this.warm });
      this.sessions.set(lesson.id, s);
    }
    return s;
  }

  // ---- navigation ----
  select(i: number): void {
    if (i < 0 || i >= this.lessons.length || i === this.state.index || this.state.busy) return;
    if (!this.isUnlocked(i)) {
      this.set({ message: { text: t`Lesson ${i + 1} is locked: pass lesson ${i} first (or start with --unlock-all).`, tone: 'bad' } });
      return;
    }
    const leaving = this.lesson;
    this.hintsSeen = null;
    this.set({ index: i, scroll: { text: 0, work: 0 }, pane: 'text', overlay: null, message: { text: t`Lesson ${i + 1}: read, then Enter runs the first step.`, tone: 'info' } });
    // What the lesson we left made is removed: lessons never share kernel state.
    void this.cleanupLesson(leaving);
    this.prepareNext();
  }

  note(text: string, tone: 'info' | 'good' | 'bad' = 'info'): void {
    this.set({ message: { text, tone } });
  }

  togglePane(): void {
    this.set({ pane: this.state.pane === 'text' ? 'work' : 'text' });
  }

  /** p: the work pane, scrolled to line `at` (where the picture starts). */
  showWorkAt(at: number): void {
    this.set({ pane: 'work', scroll: { ...this.state.scroll, work: Math.max(0, at) } });
  }

  scroll(by: number | 'top' | 'bottom'): void {
    const pane = this.state.pane;
    const cur = this.state.scroll[pane];
    const next = by === 'top' ? 0 : by === 'bottom' ? Number.MAX_SAFE_INTEGER : Math.max(0, cur + by);
    this.set({ scroll: { ...this.state.scroll, [pane]: next } });
  }

  showOverlay(o: Overlay | null): void {
    this.set({ overlay: o });
  }

  /** Where the learner is in a lesson's hints: the last tier shown (0: none yet), and the
   * checks (a run's list: each run makes a new one) whose failing check's hint was shown.
   * Another lesson or a reset starts over. */
  private hintsSeen: { lesson: string; tier: number; checks: CheckResult[] | null } | null = null;

  /** h: the next hint. After checks that failed, the failing check's own hint first; then
   * the lesson's tiers, from the idea to the exact commands, staying on the last. */
  showHint(): void {
    const lesson = this.lesson;
    const seen = this.hintsSeen?.lesson === lesson.id ? this.hintsSeen : { lesson: lesson.id, tier: 0, checks: null };
    const tiers = lesson.hints(this.lab).filter((h) => h.trim());
    const label = (n: number) => (tiers.length > 1 ? t`hint ${n} of ${tiers.length}` : t`the hint`);
    const show = (title: string, text: string, next: number | null) => this.set({ overlay: { kind: 'hint', title, text, next: next === null ? null : label(next), more: () => this.showHint() } });
    const checks = runOf(this.state, lesson).checks;
    const failing = checks?.find((c) => c.status === 'fail' && c.hint);
    if (failing?.hint && seen.checks !== checks) {
      this.hintsSeen = { ...seen, checks };
      show(t`What the check says`, `${titled(tr(failing.title), failing.reason)}\n\n${failing.hint}`, tiers.length ? Math.min(seen.tier + 1, tiers.length) : null);
      return;
    }
    const tier = Math.min(seen.tier + 1, tiers.length);
    this.hintsSeen = { ...seen, tier };
    show(tiers.length > 1 ? t`Hint ${tier} of ${tiers.length}` : t`Hint`, tiers[tier - 1] ?? t`This lesson has no hint.`, tier < tiers.length ? tier + 1 : null);
  }

  /** y: the commands of the step the learner is at (the next to run; after the last, the
   * last one) onto the clipboard, to paste in a shell of their own. */
  copyCommands(): void {
    const lesson = this.lesson;
    const i = currentStep(runOf(this.state, lesson).steps);
    const step = lesson.steps[i];
    if (!step) {
      this.set({ message: { text: t`This lesson has no steps to copy.`, tone: 'bad' } });
      return;
    }
    const commands = step.commands(this.lab);
    this.writeTerminal(osc52(clipboardText(commands)));
    const what = commands.length === 1 ? t`step ${i + 1}'s command` : t`step ${i + 1}'s ${commands.length} commands`;
    this.set({ message: { text: t`Copied ${what} (OSC 52; in tmux: set -g set-clipboard on).`, tone: 'info' } });
  }

  // ---- lesson work ----
  /** Enter: the next step, or the checks once every step ran. */
  async advance(): Promise<void> {
    const next = runOf(this.state, this.lesson).steps.findIndex((s) => s.status !== 'done');
    return next >= 0 ? this.runStep(next) : this.runChecks();
  }

  async runNextStep(): Promise<void> {
    const next = runOf(this.state, this.lesson).steps.findIndex((s) => s.status !== 'done');
    if (next < 0) {
      this.set({ message: { text: t`Every step has run. Press c to check.`, tone: 'info' } });
      return;
    }
    return this.runStep(next);
  }

  private async runStep(i: number): Promise<void> {
    if (this.state.busy) return;
    const lesson = this.lesson;
    const step = lesson.steps[i];
    if (!step) throw new RangeError(`lesson ${lesson.id} has no step ${i + 1}`);
    if (i === 0) {
      // A fresh start: clear what an earlier attempt (or the learner) left.
      await this.cleanupLesson(lesson);
      await resetLesson(lesson, this.lab).catch(() => []);
      this.setRun(lesson, emptyRun(lesson));
      ensureLabRoot(this.lab);
    }
    // After the cleanup above, which ends the lesson's session: this step's work must be in
    // the session whose end undoes it.
    const session = this.session(lesson);
    this.set({ pane: 'work', busy: t`step ${i + 1}: ${tr(step.title)}`, live: null, message: null });
    this.setStep(lesson, i, { status: 'running' });
    const feed = this.liveFeed(lesson, i);
    const report = await session.runStep(i, feed.sink).finally(feed.stop);
    if (report.error) {
      this.setStep(lesson, i, { status: 'error', error: report.error });
      this.set({ message: { text: t`Step ${i + 1} failed: ${report.error.message}`, tone: 'bad' } });
    } else {
      this.setStep(lesson, i, { status: 'done', output: report.output });
      this.prepareNext();
      const left = lesson.steps.length - i - 1;
      this.set({ message: { text: left ? t`Step ${i + 1} done. Enter runs step ${i + 2}.` : t`All steps done. Enter (or c) runs the checks.`, tone: 'good' } });
    }
    this.set({ busy: null, live: null, scroll: { ...this.state.scroll, work: Number.MAX_SAFE_INTEGER } });
  }

  /** What a running step prints, into its output a few times a second (a command printing
   * thousands of lines costs a redraw per tick, not per line), and the last of it, or its
   * progress, for the status line. The step's report replaces it all when it ends. */
  private liveFeed(lesson: Lesson, i: number): { sink: WorkSink; stop: () => void } {
    const lines: string[] = [];
    let dropped = 0;
    let live: string | null = null;
    let timer: NodeJS.Timeout | null = null;
    // Work the step left running (a command of a Promise.all that lost the race) may still
    // print after the step ended: its report is the output now, and its status stays.
    let stopped = false;
    const flush = () => {
      timer = null;
      const output = lines.length ? (dropped ? [t`(${dropped} lines before these)`, ...lines] : lines).join('\n') : undefined;
      this.setStep(lesson, i, { status: 'running', output });
      this.set({ live, scroll: { ...this.state.scroll, work: Number.MAX_SAFE_INTEGER } });
    };
    const soon = () => {
      if (!stopped) timer ??= setTimeout(flush, LIVE_MS);
    };
    return {
      sink: {
        line: (text) => {
          lines.push(text);
          if (lines.length > LIVE_LINES) dropped += lines.splice(0, lines.length - LIVE_LINES).length;
          if (text.trim()) live = plainLine(text);
          soon();
        },
        progress: (p) => {
          const fraction = progressFraction(p);
          live = fraction === undefined ? progressText(p) : `${bar(fraction, 12)} ${progressText(p)}`;
          soon();
        },
      },
      stop: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        timer = null;
      },
    };
  }

  async runChecks(): Promise<void> {
    if (this.state.busy) return;
    const lesson = this.lesson;
    this.set({ pane: 'work', busy: t`checking lesson ${lesson.number}: reading the kernel`, checking: true, message: null });
    const { checks, passed } = await judge(lesson, this.lab, { note: (note) => this.set({ busy: t`checking lesson ${lesson.number}: ${note}` }) });
    this.setRun(lesson, { checks, passedNow: passed });
    this.set({ checking: false });
    let message: UiState['message'];
    if (passed) {
      let saved = true;
      try {
        markPassed(this.lab, lesson.id);
      } catch (err) {
        saved = false;
        message = { text: t`Passed, but progress could not be saved: ${(err as Error).message}`, tone: 'bad' };
      }
      const newPassed = { ...this.state.passed, [lesson.id]: this.state.passed[lesson.id] ?? new Date().toISOString() };
      this.set({ passed: newPassed });
      const next = this.lessons[this.state.index + 1];
      if (saved) {
        message = next
          ? { text: t`Lesson ${lesson.number} passed! Lesson ${next.number} is unlocked: press → to go on.`, tone: 'good' }
          : { text: t`Lesson ${lesson.number} passed: that was the last one. You built a container by hand!`, tone: 'good' };
      }
    } else {
      const failedCount = checks.filter((c) => c.status === 'fail').length;
      message = { text: failedCount === 1 ? t`1 check failed: read the hints, fix it (s opens a shell), then c again.` : t`${failedCount} checks failed: read the hints, fix it (s opens a shell), then c again.`, tone: 'bad' };
    }
    this.set({ busy: null, message: message!, scroll: { ...this.state.scroll, work: Number.MAX_SAFE_INTEGER } });
  }

  /** x, then y: remove what this lesson made (by the steps or by hand) and start it over. */
  async resetLesson(): Promise<void> {
    if (this.state.busy) return;
    const lesson = this.lesson;
    this.hintsSeen = null;
    this.set({ overlay: null, busy: t`resetting lesson ${lesson.number}` });
    let removed: string[] = [];
    try {
      await this.warm.close();
      await this.cleanupLesson(lesson);
      removed = await resetLesson(lesson, this.lab);
      this.setRun(lesson, emptyRun(lesson));
      this.set({
        message: {
          text: removed.length
            ? removed.length === 1
              ? t`Reset: removed 1 thing (${removed[0]}).`
              : t`Reset: removed ${removed.length} things (${removed.slice(0, 2).join('; ')}${removed.length > 2 ? '; ...' : ''}).`
            : t`Reset: nothing was left to remove.`,
          tone: 'info',
        },
      });
    } catch (err) {
      this.set({ message: { text: t`Reset failed: ${errorInfo(err).message}`, tone: 'bad' } });
    } finally {
      this.set({ busy: null, scroll: { text: 0, work: 0 } });
    }
  }

  /** s: ask the runner to hand the terminal to a shell for this lesson. */
  async openShell(): Promise<void> {
    if (this.state.busy) return;
    const lesson = this.lesson;
    if (!lesson.shell) {
      this.set({ message: { text: t`This lesson has no shell.`, tone: 'bad' } });
      return;
    }
    this.set({ busy: t`preparing a shell` });
    try {
      ensureLabRoot(this.lab);
      const spec = await lesson.shell(this.session(lesson).ctx);
      this.set({ busy: null });
      this.requestExit({ type: 'shell', spec, lesson });
    } catch (err) {
      this.set({ busy: null, message: { text: t`No shell: ${errorInfo(err).message}`, tone: 'bad' } });
    }
  }

  /** Back from the s shell: what the learner did there is checked at once (as c does), and
   * the message still says how the shell ended when it was not a plain exit. */
  async afterShell(code: number | null): Promise<void> {
    const back = code ? t`Back from the shell (exit ${code})` : t`Back from the shell`;
    if (this.state.busy) {
      this.set({ exit: null, message: { text: t`${back}. Press c to check what you did.`, tone: 'info' } });
      return;
    }
    this.set({ exit: null });
    await this.runChecks();
    const m = this.state.message;
    if (m) this.set({ message: { ...m, text: t`${back}. ${m.text}` } });
  }

  quit(): void {
    this.requestExit({ type: 'quit' });
  }

  private requestExit(r: ExitRequest): void {
    this.set({ exit: r, overlay: null });
    for (const w of this.exitWaiters.splice(0)) w(r);
  }

  /** Resolves when the UI must give up the terminal (quit or a shell). */
  waitForExit(): Promise<ExitRequest> {
    if (this.state.exit) return Promise.resolve(this.state.exit);
    return new Promise((r) => this.exitWaiters.push(r));
  }

  private async cleanupLesson(lesson: Lesson): Promise<string[]> {
    const session = this.sessions.get(lesson.id);
    if (!session) return [];
    this.sessions.delete(lesson.id);
    return (await session.end()).errors;
  }

  /** Undo everything every lesson made (quit, a signal). */
  async cleanupAll(): Promise<string[]> {
    await this.warm.close();
    const errors: string[] = [];
    for (const l of this.lessons) errors.push(...(await this.cleanupLesson(l)));
    return errors;
  }
}
