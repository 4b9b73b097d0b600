import type { Ledger, Namespace, WarmContainers } from '../core/index.js';
import type { Lab } from '../lab.js';
import type { CheckResult } from '../checks/result.js';

export interface LessonContext {
  lab: Lab;
  /** Everything a step creates is registered here and removed when the lesson ends. */
  ledger: Ledger;
  /** Steps share what they made (a container, a pid) through this. */
  state: Map<string, unknown>;
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

export interface Step {
  title: string;
  /** What a learner would type for the same effect. */
  commands: (lab: Lab) => string[];
  /** Do it through the core; returns the real output to show. */
  run: (ctx: LessonContext) => Promise<string>;
  /** The lesson container this step starts, if it starts one. */
  container?: LessonContainer;
}

/** Where a learner's shell opens for a lesson: on the host, or inside its container. */
export type ShellSpec =
  | { kind: 'host'; cwd: string; title: string }
  | { kind: 'container'; pid: number; namespaces: Namespace[]; title: string };

export interface Lesson {
  id: string;
  number: number;
  title: string;
  /** lessons/<file>: the text a learner reads. */
  file: string;
  steps: Step[];
  /** Observe the kernel and judge the learner's current state. */
  check: (lab: Lab) => Promise<CheckResult[]>;
  hint: (lab: Lab) => string;
  /** Remove what this lesson (done by the workbook or by hand) left: returns what was removed. */
  reset: (lab: Lab) => Promise<string[]>;
  /** The shell the TUI opens for this lesson (starting its container if needed). */
  shell?: (ctx: LessonContext) => Promise<ShellSpec>;
}
