// `container-lessons run`: the workbook's own `docker run`, and the capstone's reference
// runtime (issue 19). Every piece is one a lesson built, through the same core:
//   root       the image's layers from the lab's store (lesson 7's overlay2 layout) as the
//              lowerdirs of an overlay, upper/work/merged under <lab>/containers/<name>/;
//              nsinit binds it, pivot_roots into it, detaches the old root, mounts /proc and /dev
//   namespaces mnt, uts, ipc, pid, net, cgroup (lessons 3-5, 9); the command is PID 1
//   cgroup     one group of its own on cpu, memory and pids (lessons 2 and 8); the command
//              alone joins it, right before its execve (RunSpec.cgroupAtExec)
//   network    lo up; with --ip a veth from MYDOCKER_BRIDGE, eth0 inside with the address,
//              a default route via MYDOCKER_GATEWAY (lesson 6)
// Everything is registered in a Ledger with the lab's journal before it is made: the
// command's exit, SIGINT/SIGTERM (the CLI's handler runs the cleanup registered here) and a
// failure undo it all; after SIGKILL the next command that opens the lab replays the journal.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cgroup, cgroupLayout, ContainerError, HintedError, LayerStore, Ledger, mountOverlay, Netlink, type NetOp, prepareContainer, rootfsProblem, ensureRootfs, CONTROLLERS, type Controller, type Running } from './core/index.js';
import { labJournal, type Lab } from './lab.js';
import { onCleanup } from './runner.js';
import { CPU_PERIOD_US, RunInputError, type RunArgs } from './runtime-args.js';
import { t } from './i18n/messages.js';
import { RUNTIME_NAMESPACES, takeEarly } from './run-early.js';

export { RunInputError, parseRunArgs, type RunArgs } from './runtime-args.js';

export const BRIDGE_VAR = 'MYDOCKER_BRIDGE';
export const GATEWAY_VAR = 'MYDOCKER_GATEWAY';
/** Host links this runtime makes carry this alias and the run's name (lesson 6's rule: a
 * recovery removes a link only while it still carries the alias it was given). */
const LINK_ALIAS = 'container-lessons run';

/** Where the runtime keeps each container's own directories. */
export const containersDir = (lab: Lab) => path.join(lab.root, 'containers');
export const layersDir = (lab: Lab) => path.join(lab.root, 'layers');
export const imagesDir = (lab: Lab) => path.join(lab.root, 'images');

/** An image as the runtime mounts it: its top layer and the lowerdirs, top first. */
export interface ResolvedImage {
  name: string;
  top: string;
  lowers: string[];
}

/** The image record <lab>/images/<name>.json (what `import` writes; the interface names this
 * file), its top layer and every layer below it in the store. Reads only. */
export function resolveImage(lab: Lab, name: string): ResolvedImage {
  const known = () => {
    try {
      const names = fs
        .readdirSync(imagesDir(lab))
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5));
      return names.length ? t`the lab has: ${names.sort().join(', ')}` : t`the lab has no image: import one with container-lessons import`;
    } catch {
      return t`the lab has no image: import one with container-lessons import`;
    }
  };
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/.test(name)) throw new RunInputError(t`no image "${name}" (${known()})`);
  let record: { top?: unknown };
  try {
    record = JSON.parse(fs.readFileSync(path.join(imagesDir(lab), `${name}.json`), 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new RunInputError(t`no image "${name}" in ${imagesDir(lab)} (${known()})`);
    throw new RunInputError(t`the image record ${name}.json cannot be read: ${(err as Error).message}`);
  }
  const store = new LayerStore(layersDir(lab));
  const top = typeof record.top === 'string' ? record.top : '';
  if (!top || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(top) || !store.has(top)) throw new RunInputError(t`the image "${name}" names a top layer "${top}" that is not in ${store.root}`);
  const lowers = store.lowerdirs(top);
  const missing = lowers.find((l) => !fs.existsSync(l));
  if (missing) throw new RunInputError(t`a layer of the image "${name}" is missing: ${missing} leads nowhere`);
  return { name, top, lowers };
}

/** The bridge and gateway --ip needs, from the caller's environment. Reads only. */
export function networkTarget(env: NodeJS.ProcessEnv = process.env): { bridge: string; gateway: string } {
  const bridge = env[BRIDGE_VAR];
  const gateway = env[GATEWAY_VAR];
  if (!bridge || !gateway) throw new RunInputError(t`--ip needs ${BRIDGE_VAR} (an existing bridge) and ${GATEWAY_VAR} (its address) in the environment`);
  if (!/^[^/\s]{1,15}$/.test(bridge) || !fs.existsSync(`/sys/class/net/${bridge}/bridge`)) throw new RunInputError(t`${BRIDGE_VAR}=${bridge}: there is no bridge of that name on this host`);
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(gateway) || gateway.split('.').some((o) => Number(o) > 255)) throw new RunInputError(t`${GATEWAY_VAR} is an IPv4 address such as 10.88.0.1, not "${gateway}"`);
  return { bridge, gateway };
}

/** The controllers of the container's group: all this machine has, and those an option
 * needs must be there. */
function groupControllers(args: RunArgs): Controller[] {
  const layout = cgroupLayout();
  const needed: Array<[Controller, string | null]> = [
    ['cpu', args.cpus !== null ? '--cpus' : null],
    ['memory', args.memoryBytes !== null ? '--memory' : null],
    ['pids', args.pids !== null ? '--pids' : null],
  ];
  for (const [c, option] of needed) if (option && !layout.controllers[c]) throw new RunInputError(t`${option} needs the ${c} cgroup controller, which this machine does not offer (container-lessons doctor)`);
  return CONTROLLERS.filter((c) => layout.controllers[c]);
}

/** How the command ended, as a shell reports it: its code, or 128 + the signal's number. */
export function exitCodeOf(status: { code: number | null; signal: string | null }): number {
  if (status.code !== null) return status.code;
  return 128 + (status.signal ? (os.constants.signals[status.signal as NodeJS.Signals] ?? 0) : 0);
}

/** A failure before the command ran: docker run's codes (127 not found, 126 not runnable,
 * 125 anything else), with one line to say why. */
export function startFailureCode(err: unknown): number {
  if (err instanceof ContainerError && err.step === 'find the command') return 127;
  if (err instanceof ContainerError && err.step === 'execve') return 126;
  return 125;
}

/** A step the init stage reported failed: it has said so on stderr, which is the
 * command's (inherited), in one line; the runtime need not say it again. The driver's own
 * ContainerErrors (the helper did not start, or ended without a word) are not. */
export function saidByHelper(err: unknown): boolean {
  return err instanceof ContainerError && err.step !== 'spawn' && err.step !== 'start';
}

export interface RunResult {
  /** The command's exit code (128 + n for signal n). */
  code: number;
  /** What the cleanup could not remove. */
  leftovers: string[];
}

/**
 * Run a container and wait for its command. Input errors (RunInputError) come before anything
 * is made; any other failure before the command runs undoes what was made and rethrows.
 */
export async function runContainer(args: RunArgs, lab: Lab, opts: { prepareLab?: () => Promise<void>; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const env = opts.env ?? process.env;
  const name = args.name ?? `mydocker-${process.pid}`;
  const hostname = args.hostname ?? name;
  // Everything that can be wrong with the input, found before anything is made.
  const image = args.image !== null ? resolveImage(lab, args.image) : null;
  const net = args.ip ? networkTarget(env) : null;
  const controllers = groupControllers(args);
  if (args.rootfs !== null && args.rootfs !== 'lab') {
    const problem = rootfsProblem(path.resolve(args.rootfs));
    if (problem) throw new RunInputError(problem.message);
  }
  await opts.prepareLab?.();

  const ledger = new Ledger(labJournal(lab));
  // A signal's cleanup (the CLI's handler) undoes the container as the normal end does.
  const unregister = onCleanup(async () => (await ledger.cleanup()).map((e) => e.message));
  try {
    const containerDir = claimName(lab, name, ledger);
    let rootfs: string;
    if (image) {
      const upper = path.join(containerDir, 'upper');
      const work = path.join(containerDir, 'work');
      const merged = path.join(containerDir, 'merged');
      for (const d of [upper, work, merged]) fs.mkdirSync(d);
      mountOverlay({ lowers: image.lowers, upper, work, merged }, ledger);
      rootfs = merged;
    } else if (args.rootfs === 'lab') {
      rootfs = lab.rootfs;
      ensureRootfs(rootfs, ledger, { build: !lab.customRootfs });
    } else rootfs = path.resolve(args.rootfs!);

    const cgroup = new Cgroup(`container-lessons-run-${process.pid}`, controllers);
    cgroup.create(ledger);
    if (args.cpus !== null) cgroup.setCpuLimit(Math.round(args.cpus * CPU_PERIOD_US), CPU_PERIOD_US);
    if (args.memoryBytes !== null) cgroup.setMemoryLimit(args.memoryBytes, { swap: false });
    if (args.pids !== null) cgroup.setPidsLimit(args.pids);

    // PID 1 set up and waiting for the command: the network is wired before it runs.
    // PID 1 may have been started while this command loaded (run-early.ts): then only its
    // spec is left to send.
    const preStarted = takeEarly(RUNTIME_NAMESPACES) ?? undefined;
    const prepared = await prepareContainer({ rootfs, namespaces: RUNTIME_NAMESPACES, hostname, mountProc: true, cgroup, cgroupAtExec: true, stdio: 'inherit', preStarted }, ledger);
    // Done by PID 1 in the container's network namespace right before the execve.
    const netInside: NetOp[] = [{ op: 'up', name: 'lo' }];
    if (args.ip && net) {
      plugIn(prepared.pid, net.bridge, name, ledger);
      netInside.push({ op: 'address', name: 'eth0', cidr: `${args.ip.address}/${args.ip.prefix}` }, { op: 'up', name: 'eth0' }, { op: 'defaultRoute', gateway: net.gateway });
    }
    let running: Running;
    try {
      running = await prepared.run(args.argv, { net: netInside });
    } catch (err) {
      throw Object.assign(err as Error, { exitCode: startFailureCode(err) });
    }
    const code = exitCodeOf(await running.exited);
    return { code, leftovers: (await ledger.cleanup()).map((e) => e.message) };
  } catch (err) {
    const leftovers = (await ledger.cleanup()).map((e) => e.message);
    if (leftovers.length) (err as Error & { leftovers?: string[] }).leftovers = leftovers;
    throw err;
  } finally {
    unregister();
  }
}

/** <lab>/containers/<name>: made here or the name is taken (by a running container: what a
 * killed one left was removed by the journal's replay before). */
function claimName(lab: Lab, name: string, ledger: Ledger): string {
  fs.mkdirSync(containersDir(lab), { recursive: true });
  const dir = path.join(containersDir(lab), name);
  const entry = ledger.add({ kind: 'file', path: dir });
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    entry.drop();
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new RunInputError(t`the name "${name}" is in use by a running container (${dir})`);
    throw err;
  }
  return dir;
}

/** A veth pair: eth0 in the container's network namespace, the host's end (named after this
 * process) up and enslaved to the bridge. Recorded before it is made; it also dies with the
 * container's namespace. */
function plugIn(pid: number, bridge: string, name: string, ledger: Ledger): void {
  const hostEnd = `clrun${process.pid}`;
  const alias = `${LINK_ALIAS} ${name} ${process.pid}`;
  const nl = new Netlink();
  try {
    const entry = ledger.add({ kind: 'link', name: hostEnd, alias });
    try {
      nl.addVeth(hostEnd, 'eth0', pid);
    } catch (err) {
      entry.drop();
      throw new HintedError(t`veth ${hostEnd} to eth0 in the container: ${(err as Error).message}`, t`lesson 6 makes the same pair: container-lessons doctor says what this kernel offers`);
    }
    nl.setAlias(hostEnd, alias);
    nl.setMaster(hostEnd, bridge);
    nl.setUp(hostEnd);
  } finally {
    nl.close();
  }
}
