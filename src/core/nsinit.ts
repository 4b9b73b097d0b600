// The init stage: a short-lived helper process that does the namespace work, so that the
// long-lived process driving the lessons never changes its own namespaces.
//
// Why a separate process, and why two stages:
// - Node is multithreaded. unshare()/setns() move only the calling thread; fs.promises and
//   child_process would then run on threads in different namespaces. So the driver never
//   calls them. It spawns this file with `node nsinit.js <mode> <json>` and waits.
// - Here, the main thread calls unshare(). A child spawned from the main thread is forked
//   from it and lands in *all* of the new namespaces, with every one of its own threads.
// - CLONE_NEWPID does not move the caller: its *next child* becomes PID 1. proc must be
//   mounted by a process inside the new PID namespace, and pivot_root/exec must happen in
//   it too. So with a PID namespace there are two stages:
//     stage A ("run"):  join the cgroup, unshare(flags), spawn stage B, wait, relay the exit
//     stage B ("init"): PID 1: private mounts, bind the rootfs, mount proc and /dev,
//                       pivot_root, detach the old root, sethostname, execve the command
//   Without a PID namespace stage A does stage B's work itself and execs.
// - execve() replaces the whole (multithreaded) Node process with the learner's command,
//   which keeps the PID: the shell really is PID 1.
// - Each stage asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG), so a
//   killed driver never leaves a container behind (except on purpose: detach).
// - What it costs: each stage is a Node start that also loads koffi, so a cold start pays
//   two of them. A warm start (spec.warm) does all of the above ahead and waits on fd 4
//   for the command, so that what is left is a pipe write and an execve; the TUI prepares
//   the next step's container while the learner reads (WarmContainers in container.ts).
//   A fresh `container-lessons run` pays two Node starts, the CLI's and PID 1's, and the
//   second overlaps the first: its stage A is util-linux unshare, started before the CLI
//   has loaded (run-early.ts; PID 1 waits for its spec on fd 4, `init -`), and PID 1 brings
//   up lo, and eth0 with --ip, itself before the execve (WarmCommand.net), where a net
//   helper used to cost a third. `npm run bench` measures each of these beside runc.
// Progress and errors go to the driver as JSON lines on fd 3, which is closed on exec.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as libc from './libc.js';
import { ROOTFS_MARKER } from './rootfs-marker.js';
import type { NatRules } from './nftables.js';
import type { InitMessage, WarmCommand, NetState, ProbeResult, NsView } from './init-protocol.js';
import { POOL_PARENT_VAR, type HelperJob } from './helper-pool-protocol.js';
import { TAG_VAR } from './journal.js';
import type { Rootless } from './rootless.js';
import { HELPER_ARG, IN_SEA, SELF_EXE } from '../sea.js';
import { applyConfinement, readConfinement, readFilters, type Confinement } from './confine.js';
import { escapeChroot } from './escape.js';

export interface RunSpec {
  rootfs: string;
  namespaces: libc.Namespace[];
  hostname?: string;
  mountProc?: boolean;
  mountDev?: boolean;
  cgroupProcs?: string[];
  argv: string[];
  env?: string[];
  cwd?: string;
  detach?: boolean;
  /** Prepare everything, then wait: PID 1 sets up the root, reports "ready" and reads the
   * command (a WarmCommand, init-protocol.ts) as one JSON line on fd 4 before execve. */
  warm?: boolean;
  /** Marks this container's helper processes (see journal.ts). */
  tag?: string;
  /** This helper was started inside a new user namespace by a single-threaded first stage
   * (setpriv + util-linux unshare, see container.ts), as an unprivileged uid: root here
   * only. Device nodes cannot be made (mknod needs the host's CAP_MKNOD), so /dev gets the
   * host's own, bind-mounted; no cgroup can be joined. */
  rootless?: Rootless;
  /** A time namespace with these clock offsets, in seconds (Linux 5.6+). */
  timeOffsets?: TimeOffsets;
  /** Capabilities, no_new_privs and seccomp filters for the command: applied by PID 1 on
   * its main thread right before the execve (confine.ts), after a warm start's wait. */
  confine?: Confinement;
  /** The command alone goes into the cgroup: PID 1 joins it (cgroupProcs, opened before
   * pivot_root hides them) right before the execve, and makes the cgroup namespace there,
   * instead of stage A joining before its unshare. The Node helpers never count against the
   * group's limits: a memory limit below a Node start (~40 MB) or a pids limit below its
   * threads would otherwise kill or stall them. Charges made before the join stay where they
   * were made (v1 without move_charge_at_immigrate, and v2), and the execve frees PID 1's. */
  cgroupAtExec?: boolean;
}

export interface TimeOffsets {
  boottime?: number;
  monotonic?: number;
}

/** What a process's cgroup and IPC namespaces show from inside them (nsview mode). */
export interface NsViewSpec {
  pid: number;
}

/** Make a System V message queue inside a process's IPC namespace (ipcmk mode). */
export interface IpcMakeSpec {
  pid: number;
  key: number;
}

export interface EnterSpec {
  pid: number;
  namespaces: libc.Namespace[];
  argv: string[];
  env?: string[];
  cwd?: string;
  tag?: string;
  /** stdin is the slave of a pty made for this command (core/pty.ts): it becomes the
   * controlling terminal of a session of the command's own. */
  terminal?: boolean;
  /** 'copy': the command gets the target's confinement (capabilities, no_new_privs,
   * seccomp filters), as `docker exec` gives a new process the container's. */
  confine?: 'copy';
}

/** Read a process's seccomp filters (filters mode). */
export interface FiltersSpec {
  pid: number;
}

/** The chroot escape (escape.ts) from a process's root (escape mode). */
export interface EscapeSpec {
  pid: number;
  /** A host path to read after the escape. */
  marker: string;
  /** Keep this helper's own privileges instead of copying the target's confinement. */
  asHostRoot?: boolean;
}

/** Network operations to run inside the network namespace of `pid` (0: this one). */
export interface NetSpec {
  pid: number;
  ops: NetOp[];
}
export type NetOp =
  | { op: 'up' | 'down' | 'delete'; name: string }
  | { op: 'bridge'; name: string }
  | { op: 'veth'; name: string; peer: string; peerNetnsPid?: number }
  | { op: 'master'; name: string; bridge: string }
  | { op: 'netns'; name: string; pid: number }
  | { op: 'address'; name: string; cidr: string }
  | { op: 'defaultRoute'; gateway: string }
  | { op: 'alias'; name: string; alias: string }
  /** An ICMP echo from this namespace; its result goes into `results`. */
  | { op: 'ping'; to: string; count?: number; waitMs?: number }
  /** Write a sysctl of this namespace (net.* are per namespace), e.g. net/ipv4/ip_forward. */
  | { op: 'sysctl'; key: string; value: string }
  /** nf_tables NAT rules in this namespace (a table of its own, in one transaction). */
  | { op: 'nat'; rules: NatRules }
  /** Read this namespace's nf_tables tables of family ip and their rules into `tables`
   * (read only; a failure to read goes into `tablesError`, the other ops still answer). */
  | { op: 'readTables' };

/** A TCP connection from one network namespace to another, answered by a listener this
 * helper opens: what each end saw, so that NAT (a rewritten address) can be observed. */
export interface TcpSpec {
  server: { pid: number; port: number };
  client: { pid: number; to: string; port: number };
  timeoutMs?: number;
}
export interface TcpResult {
  ok: boolean;
  /** The client's address and port as the server saw them (after any NAT). */
  serverSaw?: string;
  /** The server's address and port as the client dialled them. */
  clientDialled: string;
  /** The client's own address and port, as it saw them (before NAT). */
  clientLocal?: string;
  /** The address and port the connection arrived at, on the server's side. */
  serverLocal?: string;
  error?: string;
}

export interface ProbeSpec {
  pid: number;
  hostPaths: string[];
}

const { SIGKILL } = os.constants.signals;

const DEFAULT_ENV = () => ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'TERM=' + (process.env.TERM ?? 'xterm')];

/** The container's tag goes into its environment, which every process in it inherits:
 * that is how the project's cleanup finds them all (undo.ts). */
const tagEnv = (tag?: string) => (tag ? [`${TAG_VAR}=${tag}`] : []);

/** Tell the driver (container.ts) how far this helper got: one line on fd 3. */
function report(msg: InitMessage): void {
  try {
    fs.writeSync(3, JSON.stringify(msg) + '\n');
  } catch {
    /* no control pipe: run by hand */
  }
}

function fail(step: string, err: unknown): never {
  const e = err as Error & { hint?: string };
  // The line first, the report after: the driver, once it has the report, may end this
  // process's namespace (PID 1 with it) before a later write would have happened.
  process.stderr.write(`container-lessons: ${step}: ${e.message}\n`);
  report({ event: 'error', step, error: e instanceof libc.SyscallError ? e.toJSON() : { message: e.message }, hint: e.hint });
  process.exit(126);
}

function step<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    fail(name, err);
  }
}

/** PATH lookup inside the new root, as execvp would do it. */
function resolveCommand(cmd: string, env: string[]): string {
  if (cmd.includes('/')) return cmd;
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  for (const dir of pathVar.split(':')) {
    const full = path.join(dir || '.', cmd);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      if (fs.statSync(full).isFile()) return full;
    } catch {
      /* next */
    }
  }
  const err = new Error(`${cmd}: command not found in the container's PATH (${pathVar})`);
  throw err;
}

const DEVICES: Array<[string, number, number]> = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
];

/** devpts options as runc mounts /dev/pts by default (libcontainer/specconv/example.go, the
 * same in Docker): an instance of the container's own (newinstance), whose ptmx anyone may
 * open (ptmxmode=0666), whose new slaves are rw for their owner and writable for the group
 * (mode=0620) tty, gid 5 in Debian, Alpine and busybox images (what `write` and `mesg`
 * use; without a user namespace a gid is just a number, so this never fails). */
const DEVPTS_OPTIONS = 'newinstance,ptmxmode=0666,mode=0620,gid=5';

function setupDev(dev: string, rootless = false): void {
  libc.mount('tmpfs', dev, 'tmpfs', libc.MS.NOSUID | libc.MS.NOEXEC, 'mode=755,size=65536');
  for (const [name, major, minor] of DEVICES) {
    if (rootless) {
      // No mknod in a user namespace: the host's node, bind-mounted on an empty file (as
      // rootless runc and Podman do). A tmpfs made in a user namespace is nodev anyway.
      fs.writeFileSync(path.join(dev, name), '');
      libc.mount(path.join('/dev', name), path.join(dev, name), null, libc.MS.BIND, null);
    } else {
      libc.mknod(path.join(dev, name), libc.S_IFCHR | 0o666, libc.makedev(major, minor));
    }
  }
  // Terminals of the container's own: a shell entered with a pty (core/pty.ts) gets its
  // slave from this instance, so `tty` inside names /dev/pts/N. /dev/ptmx is this
  // instance's ptmx, as runc's setupPtmx links it: a program that opens /dev/ptmx for a
  // new pty (script, tmux, sshd) gets one whose slave is also in here.
  fs.mkdirSync(path.join(dev, 'pts'));
  // In a user namespace a gid= that its map leaves out is refused (EINVAL): no tty group there.
  const options = rootless ? DEVPTS_OPTIONS.replace(',gid=5', '') : DEVPTS_OPTIONS;
  libc.mount('devpts', path.join(dev, 'pts'), 'devpts', libc.MS.NOSUID | libc.MS.NOEXEC, options);
  fs.symlinkSync('pts/ptmx', path.join(dev, 'ptmx'));
  fs.symlinkSync('/proc/self/fd', path.join(dev, 'fd'));
  fs.symlinkSync('/proc/self/fd/0', path.join(dev, 'stdin'));
  fs.symlinkSync('/proc/self/fd/1', path.join(dev, 'stdout'));
  fs.symlinkSync('/proc/self/fd/2', path.join(dev, 'stderr'));
}

/** Stage B (or A without a PID namespace): set up the root filesystem and exec. */
function setupAndExec(spec: RunSpec, netLoaded?: Awaited<ReturnType<typeof netModules>>): never {
  const ns = new Set(spec.namespaces);
  const root = spec.rootfs;
  // Opened now, while the host's /sys/fs/cgroup is still in view; written right before the exec.
  const lateCgroup = spec.cgroupAtExec ? (spec.cgroupProcs ?? []).map((file) => ({ file, fd: step(`open ${file}`, () => fs.openSync(file, 'w')) })) : [];
  if (ns.has('mnt')) {
    // Nothing mounted from here on may propagate back to the host.
    step('make all mounts private', () => libc.mount(null, '/', null, libc.MS.REC | libc.MS.PRIVATE, null));
    // pivot_root needs the new root to be a mount point: bind it onto itself.
    step('bind the root filesystem', () => libc.mount(root, root, null, libc.MS.BIND | libc.MS.REC, null));
    if (spec.mountProc) {
      step('mount /proc', () => libc.mount('proc', path.join(root, 'proc'), 'proc', libc.MS.NOSUID | libc.MS.NODEV | libc.MS.NOEXEC, null));
    }
    if (spec.mountDev !== false) step('mount /dev', () => setupDev(path.join(root, 'dev'), !!spec.rootless));
    step('enter the new root', () => libc.chdir(root));
    const putOld = '.old_root';
    // Containers on one rootfs share this directory: another one's rmdir may take it away
    // between this mkdir and the pivot_root (ENOENT), so make it again and retry.
    let haveDir = true;
    for (let attempt = 1; haveDir; attempt++) {
      try {
        fs.mkdirSync(putOld);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') haveDir = false; // read-only rootfs
      }
      if (!haveDir) break;
      try {
        libc.pivotRoot('.', putOld);
        break;
      } catch (err) {
        if (!(err instanceof libc.SyscallError && err.code === 'ENOENT' && attempt < 10)) fail('pivot_root', err);
      }
    }
    if (haveDir) {
      step('chdir /', () => libc.chdir('/'));
      step('detach the old root', () => libc.umount2('/' + putOld, libc.MNT_DETACH));
      try {
        fs.rmdirSync('/' + putOld);
      } catch {
        /* another container on this rootfs removed it, or holds its old root there now */
      }
    } else {
      // Same effect without a directory: the old root is stacked under the new one at "/".
      step('pivot_root', () => libc.pivotRoot('.', '.'));
      step('detach the old root', () => libc.umount2('.', libc.MNT_DETACH));
      step('chdir /', () => libc.chdir('/'));
    }
  } else {
    if (spec.mountProc) fail('mount /proc', new Error('mounting /proc needs a mount namespace (add "mnt")'));
    step('chroot', () => libc.chroot(root));
    step('chdir /', () => libc.chdir('/'));
  }
  if (spec.hostname !== undefined) {
    if (!ns.has('uts')) fail('sethostname', new Error('setting a hostname needs a UTS namespace (add "uts"), or it would rename the host'));
    step('sethostname', () => libc.sethostname(spec.hostname!));
  }
  if (spec.cwd) step('chdir', () => libc.chdir(spec.cwd!));
  if (spec.warm) {
    // A warm start: all of the above happened while the learner read; only the exec is left.
    report({ event: 'ready', pid: process.pid });
    const cmd = step('wait for the command', () => readCommandLine(4));
    spec.argv = cmd.argv;
    if (cmd.env) spec.env = cmd.env;
    // The network the driver wired while this waited (lo up, eth0's address): done here, in
    // the container's network namespace, rather than by a helper of its own (a Node start).
    if (cmd.net?.length) {
      // Never the host's network: only a container with a namespace of its own (netLoaded).
      if (!netLoaded) fail('network operations', new Error('network operations before the command need a network namespace (add "net")'));
      // A pid here is one of this PID namespace's, not the host's the driver means.
      const byPid = cmd.net.find((o) => o.op === 'netns' || (o.op === 'veth' && o.peerNetnsPid));
      if (byPid) fail('network operations', new Error(`${byPid.op} names a process by its host pid, which PID 1 cannot: do it from the host`));
      netOpsHere(cmd.net, netLoaded, { answer: false });
    }
  }
  execCommand(spec, ns, lateCgroup);
}

/** The last steps before the command replaces this process: its environment and program,
 * the cgroup joined at exec, the confinement, then execve. */
function execCommand(spec: RunSpec, ns: Set<libc.Namespace>, lateCgroup: Array<{ file: string; fd: number }>): never {
  const env = [...(spec.env ?? DEFAULT_ENV()), ...tagEnv(spec.tag)];
  const [cmd] = spec.argv;
  if (cmd === undefined) fail('find the command', new Error('no command given'));
  const file = step('find the command', () => resolveCommand(cmd, env));
  if (spec.cgroupAtExec) {
    for (const { file: procs, fd } of lateCgroup) {
      // "0": the writer itself (a pid would be read in this PID namespace, where we are 1).
      step(`join cgroup (${procs})`, () => fs.writeSync(fd, '0'));
      fs.closeSync(fd);
    }
    // Rooted at the group just joined: the command sees its own group as "/".
    if (ns.has('cgroup')) step('unshare the cgroup namespace', () => libc.unshare(libc.CLONE.NEWCGROUP));
  }
  // Last before the exec, on this (the main) thread, which is the one that execve()s: the
  // steps above needed the privileges this takes away.
  if (spec.confine) step('confine', () => applyConfinement(spec.confine!));
  report({ event: 'exec', pid: process.pid, argv: spec.argv });
  step('prepare stdio', () => {
    for (const fd of [0, 1, 2]) libc.setCloexec(fd, false);
    libc.setCloexec(3, true);
  });
  step('execve', () => libc.execve(file, spec.argv, env));
  process.exit(127); // not reached
}

/** One JSON line from fd, read blocking (this process has nothing else to do meanwhile);
 * null at EOF. The fd is left open. */
function readLine(fd: number): unknown {
  const buf = Buffer.alloc(65536);
  let text = '';
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw err;
    }
    if (n === 0) return null;
    text += buf.toString('utf8', 0, n);
    const nl = text.indexOf('\n');
    if (nl >= 0) return JSON.parse(text.slice(0, nl));
  }
}

/** A warm start's command from fd 4, which is then closed. */
function readCommandLine(fd: number): WarmCommand {
  const cmd = readLine(fd) as WarmCommand | null;
  if (!cmd) process.exit(0); // the driver closed the pipe: never used, nothing to run
  fs.closeSync(fd);
  if (!Array.isArray(cmd.argv) || !cmd.argv.length) throw new Error('no command given');
  if (cmd.net !== undefined && !Array.isArray(cmd.net)) throw new Error('net is a list of operations');
  return cmd;
}

function relayExit(child: ReturnType<typeof spawn>): void {
  child.on('exit', (code, signal) => {
    report({ event: 'exit', code, signal });
    process.exit(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
  });
}

function stageRun(spec: RunSpec): void {
  if (!spec.detach) step('prctl', () => libc.setParentDeathSignal(SIGKILL));
  if (!spec.cgroupAtExec) {
    for (const file of spec.cgroupProcs ?? []) {
      step(`join cgroup (${file})`, () => fs.writeFileSync(file, String(process.pid)));
    }
  }
  // With cgroupAtExec PID 1 makes the cgroup namespace itself, once it is in the group.
  const early = spec.cgroupAtExec ? spec.namespaces.filter((n) => n !== 'cgroup') : spec.namespaces;
  let flags = step('namespace types', () => libc.namespaceFlags(early));
  if (spec.timeOffsets) flags |= libc.CLONE.NEWTIME;
  step('unshare', () => libc.unshare(flags));
  // The offsets of a time namespace can be written only before a process is in it: this
  // stage is not (CLONE_NEWTIME moves only its children, and itself at execve).
  if (spec.timeOffsets) {
    const { boottime = 0, monotonic = 0 } = spec.timeOffsets;
    step('write /proc/self/timens_offsets', () => fs.writeFileSync('/proc/self/timens_offsets', `boottime ${boottime} 0\nmonotonic ${monotonic} 0\n`));
  }
  if (!spec.namespaces.includes('pid')) {
    report({ event: 'started', pid: process.pid });
    void startInside(spec);
    return;
  }
  // The next child of this (main) thread is PID 1 of the new namespace.
  // Started as this helper was: node and this file, or the one-file binary as its own helper
  // (by /proc/self/exe: this process's own program, also when setpriv and unshare ran it).
  // Node's own options (--enable-source-maps when debugging) carry over to PID 1's stage.
  const [program, self] = IN_SEA ? [SELF_EXE, [HELPER_ARG]] : [process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)]];
  const child = spawn(program, [...self, 'init', JSON.stringify(spec)], {
    stdio: spec.warm ? [0, 1, 2, 3, 4] : [0, 1, 2, 3],
    detached: false,
  });
  child.on('error', (err) => fail('start PID 1', err));
  report({ event: 'started', pid: child.pid });
  if (spec.detach) {
    // PID 1 has no parent-death signal in this mode: leave it to the host's init.
    child.unref();
    process.exit(0);
  }
  relayExit(child);
  // Signals meant for the container go to it; this stage ends when it does.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
}

function stageInit(spec: RunSpec): void {
  if (!spec.detach) step('prctl', () => libc.setParentDeathSignal(SIGKILL));
  void startInside(spec);
}

/** PID 1 started before its spec was known (`init -`: run's early start, run-early.ts):
 * Node and koffi load while the driver is still reading its command line; the spec then
 * comes as the first line on fd 4, and the command, as for any warm start, as the next.
 * Its stage A (util-linux unshare) made every namespace but the mount namespace, which is
 * made here once the spec has come: the driver mounts the container's root (an image's
 * overlay) after this process started, and a mount namespace copied before would lack it. */
function stageInitLater(): void {
  // The driver's stderr came as fd 5: stage A's own went nowhere, so that an old util-linux
  // that refuses an option says nothing (the driver then starts its container as usual).
  step('take stderr', () => {
    libc.dup2(5, 2);
    fs.closeSync(5);
  });
  step('prctl', () => libc.setParentDeathSignal(SIGKILL));
  // Stage A (util-linux unshare) does not say PID 1's host pid, which the driver needs: this
  // /proc is still the host's (its own is mounted later), so /proc/self names it.
  report({ event: 'started', pid: Number(step('read /proc/self', () => fs.readlinkSync('/proc/self'))) });
  const spec = step('wait for the spec', () => readLine(4)) as RunSpec | null;
  if (!spec) process.exit(0); // EOF: the run ended before it needed a container
  if (!spec.warm) fail('wait for the spec', new Error('a PID 1 started ahead is a warm start'));
  // Only this (the main) thread moves: it is the one that mounts, pivots and execs.
  if (spec.namespaces.includes('mnt')) step('unshare the mount namespace', () => libc.unshare(libc.CLONE.NEWNS));
  void startInside(spec);
}

/** setupAndExec, once a warm start with a network namespace has loaded rtnetlink: its
 * command may come with network operations for PID 1 (WarmCommand.net). */
async function startInside(spec: RunSpec): Promise<void> {
  setupAndExec(spec, spec.warm && spec.namespaces.includes('net') ? await netModules('links only') : undefined);
}

/** Namespaces are joined in this order; mnt last, because after it /proc/<pid> may be gone. */
const ENTER_ORDER: libc.Namespace[] = ['cgroup', 'ipc', 'uts', 'net', 'pid', 'mnt'];

function openTarget(pid: number, namespaces: libc.Namespace[]) {
  const fds = new Map<libc.Namespace, number>();
  for (const t of namespaces) {
    const file = `/proc/${pid}/ns/${libc.NAMESPACES[t].proc}`;
    fds.set(
      t,
      step(`open /proc/${pid}/ns/${t}`, () => fs.openSync(file, 'r')),
    );
  }
  const rootFd = step(`open /proc/${pid}/root`, () => fs.openSync(`/proc/${pid}/root`, 'r'));
  return { fds, rootFd };
}

/** Join a process's namespaces and, with its mount namespace (or when takeRoot says so),
 * its root too. */
function joinTarget(pid: number, namespaces: libc.Namespace[], takeRoot = namespaces.includes('mnt')) {
  const { fds, rootFd } = openTarget(pid, namespaces);
  // setns(mnt) is refused while this thread shares its root/cwd with other threads.
  step('unshare', () => libc.unshare(libc.CLONE.FS));
  for (const t of ENTER_ORDER) {
    const fd = fds.get(t);
    if (fd === undefined) continue;
    step('setns', () => libc.setns(fd, libc.NAMESPACES[t].flag, `/proc/${pid}/ns/${t}`));
  }
  if (takeRoot) {
    // Take the target's own root (after pivot_root or chroot), as nsenter --root does.
    step('fchdir', () => libc.fchdir(rootFd));
    step('chroot', () => libc.chroot('.'));
    step('chdir /', () => libc.chdir('/'));
  }
}

function stageEnter(spec: EnterSpec): void {
  step('prctl', () => libc.setParentDeathSignal(SIGKILL));
  // Read before joining: ptrace takes the host's pid, and needs this helper unconfined.
  const confinement = spec.confine === 'copy' ? step(`read the confinement of pid ${spec.pid}`, () => readConfinement(spec.pid)) : null;
  if (spec.terminal) {
    // An interactive shell needs its terminal to be its controlling terminal: job control,
    // Ctrl-C to the foreground job, /dev/tty. Only a session leader without one can take a
    // terminal (TIOCSCTTY), and the shell itself does not try. Node's spawn runs no code of
    // ours between fork and exec, and once in the container's root there is no node binary
    // to start another stage from; so this helper takes the terminal here and the command
    // it spawns inherits both the session and the controlling terminal. (Not a process
    // group leader, as a child spawned without `detached`, so setsid cannot fail EPERM.)
    step('setsid', () => libc.setsid());
    step('take the terminal', () => libc.setControllingTerminal(0));
  }
  joinTarget(spec.pid, spec.namespaces);
  if (spec.cwd) step('chdir', () => libc.chdir(spec.cwd!));
  // After joining (the lesson's filter refuses setns) and on this thread, which the
  // command is spawned (forked) from: it inherits all of it.
  if (confinement) step('confine', () => applyConfinement(confinement));
  const env: Record<string, string> = {};
  for (const kv of [...(spec.env ?? DEFAULT_ENV()), ...tagEnv(spec.tag)]) {
    const i = kv.indexOf('=');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const [cmd, ...args] = spec.argv;
  if (cmd === undefined) fail('exec', new Error('no command given'));
  const child = spawn(cmd, args, { stdio: [0, 1, 2], env });
  child.on('error', (err) => fail('exec', new Error(`${cmd}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found inside the container' : err.message}`)));
  child.on('spawn', () => report({ event: 'started', pid: child.pid }));
  relayExit(child);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
}

/** Print a process's seccomp filters (confine.ts: readFilters) as JSON. */
function stageFilters(spec: FiltersSpec): void {
  const filters = step(`read the seccomp filters of pid ${spec.pid}`, () => readFilters(spec.pid));
  process.stdout.write(JSON.stringify(filters) + '\n');
}

/** The chroot escape (escape.ts) from a process's root, with its confinement (unless
 * asHostRoot). Prints an EscapeResult. */
function stageEscape(spec: EscapeSpec): void {
  step('prctl', () => libc.setParentDeathSignal(SIGKILL));
  const hostRoot = fs.statSync('/');
  const confinement = spec.asHostRoot ? null : step(`read the confinement of pid ${spec.pid}`, () => readConfinement(spec.pid));
  // The target's mount namespace, if it has one of its own; then its root (after its
  // pivot_root or chroot), as the enter mode takes it.
  const ownMnt = fs.readlinkSync(`/proc/${spec.pid}/ns/mnt`) !== fs.readlinkSync('/proc/self/ns/mnt');
  joinTarget(spec.pid, ownMnt ? ['mnt'] : [], true);
  if (confinement) step('confine', () => applyConfinement(confinement));
  const result = step('escape', () => escapeChroot(spec.marker, hostRoot));
  process.stdout.write(JSON.stringify(result) + '\n');
}

/** Look at a process's namespaces from the inside: its hostname, what its mount namespace's root holds. */
function stageProbe(spec: ProbeSpec): void {
  const { fds } = openTarget(spec.pid, ['uts', 'mnt']);
  step('unshare', () => libc.unshare(libc.CLONE.FS));
  step('setns', () => libc.setns(fds.get('uts')!, libc.CLONE.NEWUTS, `/proc/${spec.pid}/ns/uts`));
  const hostname = libc.gethostname();
  // After setns(mnt) this thread's root is the namespace's root, not the process's chroot.
  step('setns', () => libc.setns(fds.get('mnt')!, libc.CLONE.NEWNS, `/proc/${spec.pid}/ns/mnt`));
  const visible = Object.fromEntries(spec.hostPaths.map((p) => [p, fs.existsSync(p)]));
  let rootMarker: string | null = null;
  try {
    rootMarker = fs.readFileSync('/' + ROOTFS_MARKER, 'utf8');
  } catch {
    /* the namespace's root is not a lesson root filesystem */
  }
  const answer: ProbeResult = { hostname, nsRootIsRootfs: rootMarker !== null, visible };
  process.stdout.write(JSON.stringify(answer) + '\n');
}

/** Read what a process's cgroup and IPC namespaces show from inside: /proc/<pid>/cgroup is
 * written relative to the reader's cgroup namespace, and /proc/sysvipc/* lists the objects
 * of the reader's IPC namespace (not the namespace of the /proc it is read through). */
function stageNsView(spec: NsViewSpec): void {
  const open = (t: string) => step(`open /proc/${spec.pid}/ns/${t}`, () => fs.openSync(`/proc/${spec.pid}/ns/${t}`, 'r'));
  const cgroupFd = open('cgroup');
  const ipcFd = open('ipc');
  step('setns', () => libc.setns(cgroupFd, libc.CLONE.NEWCGROUP, `/proc/${spec.pid}/ns/cgroup`));
  const cgroup = step(`read /proc/${spec.pid}/cgroup`, () => fs.readFileSync(`/proc/${spec.pid}/cgroup`, 'utf8'));
  step('setns', () => libc.setns(ipcFd, libc.CLONE.NEWIPC, `/proc/${spec.pid}/ns/ipc`));
  const sysvipc = Object.fromEntries(['msg', 'shm', 'sem'].map((k) => [k, readSysvipc(k)])) as NsView['sysvipc'];
  const answer: NsView = { cgroup, sysvipc };
  process.stdout.write(JSON.stringify(answer) + '\n');
}

/** The objects of one System V IPC kind in this thread's IPC namespace: one line each (header dropped). */
function readSysvipc(kind: string): string[] {
  return fs
    .readFileSync(`/proc/sysvipc/${kind}`, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim());
}

/** Make a message queue in a process's IPC namespace (ipcmk -Q there). Prints its id. */
function stageIpcMake(spec: IpcMakeSpec): void {
  const fd = step(`open /proc/${spec.pid}/ns/ipc`, () => fs.openSync(`/proc/${spec.pid}/ns/ipc`, 'r'));
  step('setns', () => libc.setns(fd, libc.CLONE.NEWIPC, `/proc/${spec.pid}/ns/ipc`));
  const id = step('msgget', () => libc.msgget(spec.key, libc.IPC_CREAT | 0o600));
  process.stdout.write(JSON.stringify({ id }) + '\n');
}

/** Try unshare(CLONE_NEWUSER) right here, in a Node process, and say what happened and how
 * many threads this process has: the reason the core needs a single-threaded first stage. */
function stageUserns(): void {
  const threads = fs.readdirSync('/proc/self/task').length;
  let error: string | null = null;
  try {
    libc.unshare(libc.CLONE.NEWUSER);
  } catch (err) {
    error = (err as Error).message;
  }
  process.stdout.write(JSON.stringify({ threads, error }) + '\n');
}

/** Join a process's network namespace, then talk rtnetlink there: the socket belongs to
 * the namespace of the thread that opens it. Prints the links and addresses afterwards. */
async function stageNet(spec: NetSpec): Promise<void> {
  step('prctl', () => libc.setParentDeathSignal(SIGKILL));
  if (spec.pid) {
    const fd = step(`open /proc/${spec.pid}/ns/net`, () => fs.openSync(`/proc/${spec.pid}/ns/net`, 'r'));
    step('setns', () => libc.setns(fd, libc.CLONE.NEWNET, `/proc/${spec.pid}/ns/net`));
  }
  const modules = await netModules(spec.ops);
  process.stdout.write(JSON.stringify(netOpsHere(spec.ops, modules, { answer: true })) + '\n');
}

/** The modules these network operations need. Loaded before they run: PID 1 loads them
 * before its pivot_root, after which the workbook's files are out of its sight. */
async function netModules(ops: NetOp[] | 'links only') {
  const some = (pick: (o: NetOp) => boolean) => ops !== 'links only' && ops.some(pick);
  return {
    netlink: await import('./netlink.js'),
    icmp: some((o) => o.op === 'ping') ? await import('./icmp.js') : null,
    nft: some((o) => o.op === 'nat' || o.op === 'readTables') ? await import('./nftables.js') : null,
  };
}

/** Do network operations in this thread's network namespace (a failed one is reported as
 * the step that failed, and the process exits); with `answer`, the namespace's links and
 * addresses afterwards. */
function netOpsHere(ops: NetOp[], modules: Awaited<ReturnType<typeof netModules>>, opts: { answer: boolean }): NetState {
  const { netlink, icmp, nft } = modules;
  const nl = step('open a netlink socket', () => new netlink.Netlink());
  const results: NetState['results'] = [];
  let tables: NetState['tables'];
  let tablesError: string | undefined;
  for (const o of ops) {
    const label = o.op === 'ping' ? `ping ${o.to}` : o.op === 'sysctl' ? `sysctl ${o.key}` : o.op === 'nat' ? `nat table ${o.rules.table}` : `${o.op} ${'name' in o ? o.name : ''}`.trim();
    step(label, () => {
      switch (o.op) {
        case 'ping': {
          if (!icmp) throw new Error('ping is not among the operations PID 1 does before its command');
          const { ping } = icmp;
          results.push(ping(o.to, { count: o.count, waitMs: o.waitMs }));
          return;
        }
        case 'sysctl':
          if (!/^net\/[\w./-]+$/.test(o.key) || o.key.includes('..')) throw new Error(`only net/* sysctls of this namespace: ${o.key}`);
          return fs.writeFileSync(`/proc/sys/${o.key}`, o.value);
        case 'alias':
          return nl.setAlias(o.name, o.alias);
        case 'nat': {
          if (!nft) throw new Error('nf_tables is not among the operations PID 1 does before its command');
          const t = new nft.Nftables();
          try {
            t.applyNat(o.rules);
          } finally {
            t.close();
          }
          return;
        }
        case 'readTables': {
          try {
            if (!nft) throw new Error('nf_tables is not among the operations PID 1 does before its command');
            const t = new nft.Nftables();
            try {
              tables = t.tables().map((name) => ({ name, rules: t.rules(name) }));
            } finally {
              t.close();
            }
          } catch (err) {
            tablesError = (err as Error).message;
          }
          return;
        }
        case 'up':
          return nl.setUp(o.name, true);
        case 'down':
          return nl.setUp(o.name, false);
        case 'delete':
          return nl.delete(o.name);
        case 'bridge':
          return nl.addBridge(o.name);
        case 'veth':
          return nl.addVeth(o.name, o.peer, o.peerNetnsPid);
        case 'master':
          return nl.setMaster(o.name, o.bridge);
        case 'netns':
          return nl.setNetns(o.name, o.pid);
        case 'address':
          return nl.addAddress(o.name, o.cidr);
        case 'defaultRoute':
          return nl.addDefaultRoute(o.gateway);
      }
    });
  }
  const answer: NetState = opts.answer ? { links: nl.links(), addresses: nl.addresses(), results, ...(tables ? { tables } : {}), ...(tablesError ? { tablesError } : {}) } : { links: [], addresses: [], results };
  nl.close();
  return answer;
}

/** One TCP connection between two namespaces. A socket stays in the namespace it was
 * opened in: listen in the server's, wait until it listens, then join the client's and
 * dial. Prints a TcpResult. */
async function stageTcp(spec: TcpSpec): Promise<void> {
  step('prctl', () => libc.setParentDeathSignal(SIGKILL));
  const net = await import('node:net');
  const nsFd = (pid: number) => step(`open /proc/${pid}/ns/net`, () => fs.openSync(`/proc/${pid}/ns/net`, 'r'));
  const serverNs = nsFd(spec.server.pid);
  const clientNs = nsFd(spec.client.pid);
  const dialled = `${spec.client.to}:${spec.client.port}`;
  const plain = (a?: string) => (a ?? '?').replace(/^::ffff:/, '');
  const done = (r: TcpResult) => {
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  };
  setTimeout(() => done({ ok: false, clientDialled: dialled, error: `no connection within ${spec.timeoutMs ?? 2000} ms` }), spec.timeoutMs ?? 2000).unref();
  step('setns', () => libc.setns(serverNs, libc.CLONE.NEWNET, `/proc/${spec.server.pid}/ns/net`));
  const result: TcpResult = { ok: false, clientDialled: dialled };
  let accepted = false;
  let connected = false;
  const finish = () => accepted && connected && done({ ...result, ok: true });
  const server = net.createServer((sock) => {
    result.serverSaw = `${plain(sock.remoteAddress)}:${sock.remotePort}`;
    result.serverLocal = `${plain(sock.localAddress)}:${sock.localPort}`;
    accepted = true;
    sock.end();
    finish();
  });
  server.on('error', (err) => fail('listen', err));
  server.listen(spec.server.port, '0.0.0.0', () => {
    step('setns', () => libc.setns(clientNs, libc.CLONE.NEWNET, `/proc/${spec.client.pid}/ns/net`));
    const sock = net.connect({ host: spec.client.to, port: spec.client.port }, () => {
      result.clientLocal = `${plain(sock.localAddress)}:${sock.localPort}`;
      connected = true;
      finish();
    });
    sock.on('error', (err) => done({ ...result, ok: false, error: `${(err as NodeJS.ErrnoException).code ?? err.message} from ${dialled}` }));
  });
}

/** Do what a helper started as `nsinit <mode> <json>` does. */
function dispatch(mode: string, spec: ReturnType<typeof JSON.parse>): void {
  if (mode === 'run') stageRun(spec);
  else if (mode === 'init') stageInit(spec);
  else if (mode === 'enter') stageEnter(spec);
  else if (mode === 'probe') stageProbe(spec);
  else if (mode === 'net') void stageNet(spec);
  else if (mode === 'tcp') void stageTcp(spec);
  else if (mode === 'nsview') stageNsView(spec);
  else if (mode === 'ipcmk') stageIpcMake(spec);
  else if (mode === 'userns') stageUserns();
  else if (mode === 'filters') stageFilters(spec);
  else if (mode === 'escape') stageEscape(spec);
  else {
    process.stderr.write(`nsinit: unknown mode ${mode}\n`);
    process.exit(2);
  }
}

/** A helper started ahead (helper-pool.ts): Node and koffi are loaded; wait for the job, one
 * HelperJob line on fd 4, and be that helper. EOF first: the workbook ended or no longer
 * wants it. */
function stageIdle(): void {
  step('prctl', () => libc.setParentDeathSignal(SIGKILL));
  // The workbook may have died before the prctl, which then never fires: this process has
  // another parent now. A job it had written may still wait in the pipe: not done then.
  const parent = Number(process.env[POOL_PARENT_VAR]);
  delete process.env[POOL_PARENT_VAR];
  const orphaned = () => !!parent && process.ppid !== parent;
  if (orphaned()) process.exit(0);
  const job = step('wait for a job', () => readLine(4)) as HelperJob | null;
  if (!job || orphaned()) process.exit(0);
  // Nothing else comes on fd 4 (a warm start is never made from here): not for the command.
  fs.closeSync(4);
  dispatch(job.mode, job.spec);
}

// `node nsinit.js <mode> <json>`, or in the one-file binary `<binary> __nsinit <mode> <json>`,
// whose argv repeats the binary's path where a script's would be; `idle` takes no json.
const [mode, json] = process.argv.slice(IN_SEA ? 3 : 2);
if (mode === 'idle') stageIdle();
else if (mode === 'init' && json === '-') stageInitLater();
else if (!mode || !json) {
  process.stderr.write('nsinit is started by container-lessons (modes: idle, run, init, enter, probe, net, tcp, nsview, ipcmk, userns, filters, escape)\n');
  process.exit(2);
} else dispatch(mode, JSON.parse(json));
