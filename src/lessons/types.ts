// What a lesson is: one module that declares everything about it (its text, steps, checks,
// hints, reset, the lab paths and machine-wide names it uses, what it needs of the machine),
// and its number, which is its place in the curriculum (index.ts). Nothing outside a
// lesson's module knows it by id or number.
import path from 'node:path';
import { HintedError, type ContainerShape, type Controller, type Ledger, type Namespace, type WarmContainers } from '../core/index.js';
import type { Lab, MachineName } from '../lab.js';
import type { CheckResult } from '../checks/result.js';
import type { PictureSource } from '../pictures/picture.js';
import { t } from '../i18n/messages.js';

/** What a lesson's steps work with. `S` is the lesson's own state: what one step made and a
 * later one uses (a container, a pid), typed per lesson. */
export interface LessonContext<S = unknown> {
  lab: Lab;
  /** Everything a step creates is registered here and removed when the lesson ends. */
  ledger: Ledger;
  /** What the lesson's steps share; fresh from the lesson's newState() at each start. */
  state: S;
  /** solve --keep: what the steps start must outlive this process. */
  keep: boolean;
  /** How long to wait for a machine-wide name another workbook holds (0: fail at once). */
  lockWaitMs?: number;
  /** A line for the learner while a step runs (waiting for a lock). */
  note?: (text: string) => void;
  /** The TUI's warm start: the container a step declares, prepared while the learner read. */
  warm?: WarmContainers;
}

/** The lesson container a step starts (startLessonContainer), declared so that the TUI can
 * prepare it ahead. */
export interface LessonContainer {
  namespaces: Namespace[];
  hostname?: string;
  mountProc?: boolean;
}

// Steps and lessons use method syntax: a lesson typed with its own state is then usable
// wherever the curriculum holds lessons of any state.
export interface Step<S = unknown> {
  title: string;
  /** What a learner would type for the same effect. */
  commands(lab: Lab): string[];
  /** Do it through the core; returns the real output to show. */
  run(ctx: LessonContext<S>): Promise<string>;
  /** The lesson container this step starts, if it starts one. */
  container?: LessonContainer;
  /** The other containers this step starts (startStepContainer, runStepContainer), by shape:
   * a running workbook prepares them while the learner reads, as it does the lesson container. */
  alsoStarts?(lab: Lab): ContainerShape[];
  /** How many helpers its run takes (network, probe and entered commands: container.ts),
   * when more than the workbook keeps started ahead anyway (HELPERS_AHEAD): it then keeps
   * this many while the step is next, so that its keypress waits for none to start. */
  helpers?: number;
}

/** Where a learner's shell opens for a lesson: on the host, or inside its container. */
export type ShellSpec = { kind: 'host'; cwd: string; title: string } | { kind: 'container'; pid: number; namespaces: Namespace[]; title: string; confine?: 'copy' };

/** A kernel module a lesson needs, and a symbol that shows it built in (/proc/kallsyms). */
export interface KernelModule {
  name: string;
  symbol: string;
}

/** What a lesson needs of the machine; doctor probes each need and names the lessons. */
export interface Needs {
  filesystems?: string[];
  cgroupControllers?: Controller[];
  namespaces?: Namespace[];
  kernelModules?: KernelModule[];
  /** A rootless container: an unprivileged user must be allowed to make a user namespace. */
  rootless?: boolean;
  /** A time namespace (Linux 5.6+). */
  timeNamespace?: boolean;
  /** seccomp filters (and the capability tools of the by-hand route). */
  seccomp?: boolean;
  /** A runtime of the learner's own: the compilers of its C and Rust starting points (bash
   * needs none, so their absence is only said). */
  compilers?: boolean;
}

/** Everything about one lesson. Its number is not here: that is its place in the curriculum. */
export interface LessonModule<S = unknown> {
  /** Stable name: progress is kept by it, and it names the lesson on the command line. */
  id: string;
  title: string;
  /** lessons/<text>: what a learner reads. */
  text: string;
  /** Paths in the lab that this lesson keeps its work in: name -> path under the lab root.
   * Each is also a {{placeholder}} of its text (labPath() resolves one). */
  labPaths?: Record<string, string>;
  /** The text's other {{placeholders}} (besides lab, rootfs and labPaths). */
  placeholders?(lab: Lab): Record<string, string>;
  /** Names the whole machine shares (holdMachineName in lab.ts), held while the lesson uses them. */
  machineNames?: MachineName[];
  /** What it needs of the machine. */
  needs?: Needs;
  /** A fresh state for a start of the lesson. */
  newState(): S;
  steps: Step<S>[];
  /** The titles of its checks, as check() names its results; the text's "What the check
   * looks at" lists each. */
  checks: string[];
  /** Observe the kernel and judge the learner's current state. A check that takes long (the
   * capstone's suite) says how far it is through `note`. */
  check(lab: Lab, opts?: { note?: (text: string) => void }): Promise<CheckResult[]>;
  /** As Step.helpers, for the checks. */
  checkHelpers?: number;
  /** Hints in tiers, from a nudge to the whole answer. */
  hints(lab: Lab): string[];
  /** Remove what this lesson (done by the workbook or by hand) left: returns what was removed. */
  reset(lab: Lab): Promise<string[]>;
  /** The shell the TUI opens for this lesson (starting its container if needed). */
  shell?(ctx: LessonContext<S>): Promise<ShellSpec>;
  /** The picture that explains the lesson at a glance, drawn from the kernel's state (the
   * Work pane's end, `container-lessons picture`). */
  picture?(lab: Lab): PictureSource;
}

/** A lesson in the curriculum: its module, and its number there (1 is the first). */
export interface Lesson<S = unknown> extends LessonModule<S> {
  readonly number: number;
}

/** Declare a lesson module: its state type is checked against its steps here. */
export function defineLesson<S>(module: LessonModule<S>): LessonModule<S> {
  return module;
}

/** A lesson's lab path by its declared name. */
export function labPath(lab: Lab, module: Pick<LessonModule, 'id' | 'labPaths'>, name: string): string {
  const rel = module.labPaths?.[name];
  if (rel === undefined) throw new Error(`lesson ${module.id} declares no lab path "${name}"`);
  return path.join(lab.root, rel);
}

/** What a step needs from an earlier one: a missing one means the steps ran out of order. */
export function earlier<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) {
    throw new HintedError(t`${what} is not there: an earlier step of this lesson has not run`, t`run the lesson from its first step (Enter in the workbook, or container-lessons solve)`);
  }
  return value;
}
