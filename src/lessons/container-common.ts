// What lessons 3-6 share: the root filesystem, a long-lived lesson container, finding the
// learner's container from the host, and tearing containers down.
import { collect, ensureRootfsAsync, netOps, prepareContainer, readMarker, rootfsProblem, runContainer, startContainer, type Running, type RunResult, type ContainerShape, type NetOp, procfs } from '../core/index.js';
import { pass, fail, type CheckResult } from '../checks/result.js';
import { findLabProcesses, containerLeaders, hostNamespaces, describe, type LabProcess } from '../checks/containers.js';
import type { Lab } from '../lab.js';
import type { LessonContext, LessonContainer, Step, ShellSpec } from './types.js';
import { hostShell, lines } from './show.js';
import { t } from '../i18n/messages.js';

/** The state of a lesson that runs a container: its first process, once a step started it. */
export interface ContainerState {
  container?: Running;
}

/** PID 1 of a lesson container: a shell that waits. It stays until the lesson ends. */
export const IDLE_SHELL = ['/bin/sh', '-c', 'while : ; do sleep 3600; done'];

export const rootfsStep: Step = {
  title: 'Prepare the root filesystem the container will see as /',
  commands: (lab) => [`ls ${lab.rootfs}`],
  async run(ctx) {
    // Built without blocking: the TUI keeps drawing, and shows the copy's progress.
    const { marker, built, added } = await ensureRootfsAsync(ctx.lab.rootfs, ctx.ledger, { build: !ctx.lab.customRootfs });
    return lines(
      built ? t`built ${ctx.lab.rootfs} from this machine's own tools (${marker.tools?.length ?? 0} programs and their libraries)` : t`using ${ctx.lab.rootfs} (${marker.kind}, made ${marker.created})`,
      added ? t`added what this version of the workbook copies in and it lacked: ${added.join(' ')}` : '',
      await hostShell(`ls ${ctx.lab.rootfs}`),
    );
  },
};

/** The shape of a lesson container, as prepareContainer and startContainer take it. */
export function lessonContainerShape(lab: Lab, spec: LessonContainer): ContainerShape {
  return { rootfs: lab.rootfs, namespaces: spec.namespaces, hostname: spec.hostname, mountProc: spec.mountProc };
}

/** The containers a step declares it starts (its lesson container and alsoStarts): what a
 * running workbook, or solve, prepares while the step before it runs or is read. */
export function stepShapes(lab: Lab, step: Step | undefined): ContainerShape[] {
  if (!step) return [];
  return [...(step.container ? [lessonContainerShape(lab, step.container)] : []), ...(step.alsoStarts?.(lab) ?? [])];
}

/** Start a container a step declared (its lesson container, or one of alsoStarts): the one
 * the TUI prepared for this shape if there is one (warm: only the execve is left), or from
 * scratch. */
export async function startStepContainer(ctx: LessonContext, shape: ContainerShape, argv: string[]): Promise<Running> {
  const prepared = ctx.warm && !ctx.keep ? await ctx.warm.take(shape, ctx.ledger) : null;
  const c = prepared ? await prepared.run(argv).catch(() => null) : null;
  return c ?? startContainer({ ...shape, argv, detach: ctx.keep }, ctx.ledger);
}

/** A container a step declared, made up to its command (prepareStepContainer). */
export interface StepContainer {
  /** PID 1's host pid: a veth can be put into its network namespace before start(). */
  readonly pid: number;
  /** Run its command; `net`: what PID 1 does in its network namespace first (WarmCommand.net),
   * so that no helper is started for it. */
  start(net?: NetOp[]): Promise<Running>;
}

/** startStepContainer in two halves, for a step that wires a container before its command
 * runs: PID 1 made (the TUI's prepared one, or a new one), then its command. With solve
 * --keep the container is detached, which a prepared one cannot be: it is started at once,
 * and the network operations are a helper's. */
export async function prepareStepContainer(ctx: LessonContext, shape: ContainerShape, argv: string[]): Promise<StepContainer> {
  if (ctx.keep) {
    const c = await startContainer({ ...shape, argv, detach: true }, ctx.ledger);
    const start = async (net: NetOp[] = []) => {
      if (net.length) await netOps(c.pid, net);
      return c;
    };
    return { pid: c.pid, start };
  }
  const prepared = (ctx.warm ? await ctx.warm.take(shape, ctx.ledger) : null) ?? (await prepareContainer({ ...shape, stdio: 'pipe' }, ctx.ledger));
  return { pid: prepared.pid, start: (net = []) => prepared.run(argv, { net }) };
}

/** Run a command to its end in a container a step declared (startStepContainer). */
export async function runStepContainer(ctx: LessonContext, shape: ContainerShape, argv: string[]): Promise<RunResult> {
  if (ctx.keep) return runContainer({ ...shape, argv }); // nothing of it outlives the step
  return collect(await startStepContainer(ctx, shape, argv));
}

/** Start the lesson's container (startStepContainer). */
export async function startLessonContainer(ctx: LessonContext<ContainerState>, spec: LessonContainer): Promise<Running> {
  const c = await startStepContainer(ctx, lessonContainerShape(ctx.lab, spec), IDLE_SHELL);
  ctx.state.container = c;
  return c;
}

/** The first check of every container lesson: finding the container. */
export const LOCATED = 'a process has the rootfs as /';

export interface Located {
  /** The container the checks look at: the first one with its own namespace of `type`. */
  own: LabProcess;
  all: LabProcess[];
  host: Record<string, string | null>;
  /** The first check's result: which process has the rootfs as / (already passed). */
  results: CheckResult[];
}

/** Find the learner's container on the lab rootfs, preferring one with its own `type`
 * namespace; or the failed first check that says how to start one. */
export function locateContainer(lab: Lab, type: string, howto: string): Located | CheckResult[] {
  const title = LOCATED;
  const problem = rootfsProblem(lab.rootfs);
  if (problem) return [fail(title, problem.message, problem.hint, [lab.rootfs])];
  const all = findLabProcesses(readMarker(lab.rootfs)!.id);
  const leaders = containerLeaders(all);
  const [firstLeader] = leaders;
  if (!firstLeader) {
    return [fail(title, t`no running process has ${lab.rootfs} as its root directory`, t`start a container on that root filesystem and leave it running while you check: ${howto}`, ['/proc/*/root'])];
  }
  const host = hostNamespaces();
  const own = leaders.find((p) => p.ns[type] !== host[type]) ?? firstLeader;
  const count = all.length === 1 ? t`1 process in the rootfs` : t`${all.length} processes in the rootfs`;
  return { own, all, host, results: [pass(title, t`${describe(own)} sees ${lab.rootfs} as / (${count})`, [`/proc/${own.pid}/root`])] };
}

/** Every process in a PID namespace, with its pid there. */
export function pidsInNamespace(pidNs: string): Array<{ pid: number; inner: number; comm: string }> {
  const out = [];
  for (const pid of procfs.listPids()) {
    if (procfs.nsId(pid, 'pid') !== pidNs) continue;
    try {
      const nspid = procfs.parseNSpid(procfs.readStatus(pid)) ?? [pid];
      // The last NSpid entry is the pid in the innermost namespace; without one, the host's.
      out.push({ pid, inner: nspid.at(-1) ?? pid, comm: procfs.comm(pid) ?? '?' });
    } catch {
      /* gone */
    }
  }
  return out.sort((a, b) => a.inner - b.inner);
}

/** End every process rooted in the lab rootfs: PID 1 of a namespace takes the rest with it. */
export async function killLabContainers(lab: Lab): Promise<string[]> {
  const marker = readMarker(lab.rootfs);
  const removed: string[] = [];
  if (marker) {
    for (let round = 0; round < 3; round++) {
      const procs = findLabProcesses(marker.id);
      if (!procs.length) break;
      for (const p of procs) {
        try {
          process.kill(p.pid, 'SIGKILL');
          if (round === 0) removed.push(t`process ${p.pid} (${p.comm}) in the lab rootfs`);
        } catch {
          /* gone */
        }
      }
      await procfs.waitExited(
        procs.map((p) => p.pid),
        3000,
      );
    }
  }
  return removed;
}

/** The lessons' shell: inside the running lesson container, started first if needed. */
export function containerShell(spec: LessonContainer) {
  return async (ctx: LessonContext<ContainerState>): Promise<ShellSpec> => {
    await ensureRootfsAsync(ctx.lab.rootfs, ctx.ledger, { build: !ctx.lab.customRootfs });
    let c = ctx.state.container;
    if (!c?.running) c = await startLessonContainer(ctx, spec);
    return { kind: 'container', pid: c.pid, namespaces: spec.namespaces, title: t`inside the container (host pid ${c.pid})` };
  };
}
