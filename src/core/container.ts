// Starting containers, from the driver's side. The namespace work happens in nsinit.ts,
// in a helper process; this file spawns it, reads its progress on fd 3, and hands back
// the container's host PID, its output and its exit status. See nsinit.ts for the design.
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Namespace } from './libc.js';
import type { RunSpec, EnterSpec, ProbeSpec, NetSpec, NetOp, TcpSpec, TcpResult, NsViewSpec, IpcMakeSpec, TimeOffsets, FiltersSpec, EscapeSpec } from './nsinit.js';
import type { PingResult } from './icmp.js';
import type { InitMessage, WarmCommand, NetState, ProbeResult, NsView } from './init-protocol.js';
import type { Ledger } from './ledger.js';
import type { Cgroup } from './cgroup.js';
import { descendants, waitReaped, waitExited, pidAlive } from './procfs.js';
import { TAG_VAR } from './journal.js';
import { randomUUID } from 'node:crypto';
import { HintedError } from './errors.js';
import { t } from '../i18n/messages.js';
import { checkRootlessReach, rootlessCommand, type Rootless } from './rootless.js';
import { IN_SEA } from '../sea.js';
import { helperEnv, helperProgram, nsinitArgs, nsinitPath } from './helper-command.js';
import { HELPERS_AHEAD, idleHelpers } from './helper-pool.js';
import { checkConfinement, type Confinement } from './confine.js';
import type { Insn } from './seccomp.js';
import type { EscapeResult } from './escape.js';

export type { NetState, ProbeResult, NsView } from './init-protocol.js';
export type { TimeOffsets } from './nsinit.js';
export type { Confinement } from './confine.js';
export type { EscapeResult, EscapeStep } from './escape.js';

export class ContainerError extends HintedError {
  constructor(
    message: string,
    readonly step: string,
    readonly syscall?: { call: string; code: string; message: string },
    hint?: string,
  ) {
    super(message, hint);
  }
}

export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

export type StdioMode = 'pipe' | 'inherit' | 'ignore';
/** How a helper's command gets its stdin/out/err: a mode, or { terminal: fd }, the slave of a
 * pty on all three (it becomes the command's controlling terminal: see nsinit.ts). */
export type Stdio = StdioMode | { terminal: number };

export interface ContainerOptions {
  rootfs: string;
  namespaces: Namespace[];
  argv: string[];
  hostname?: string;
  mountProc?: boolean;
  mountDev?: boolean;
  cgroup?: Cgroup;
  env?: string[];
  cwd?: string;
  stdio?: StdioMode;
  /** Keep running after this process exits (solve --keep); no pipes. */
  detach?: boolean;
  /** A rootless container: a new user namespace made by a single-threaded first stage as
   * this unprivileged uid and gid, which root inside maps to (rootless.ts). */
  rootless?: Rootless;
  /** A time namespace with these clock offsets (seconds). */
  timeOffsets?: TimeOffsets;
  /** Capabilities kept, no_new_privs, seccomp filters: applied by PID 1 right before it
   * execs the command (confine.ts), as runc does. */
  confine?: Confinement;
  /** Only the command joins the cgroup, right before its execve (see RunSpec.cgroupAtExec):
   * for limits a Node helper would not fit in. */
  cgroupAtExec?: boolean;
  /** Use this PID 1 started ahead (a warm start only: prepareContainer). */
  preStarted?: PreStarted;
}

/** A PID 1 started before its spec was known, waiting for it on fd 4 (nsinit's `init -`):
 * `container-lessons run`'s early start (run-early.ts). `helper` is its stage A. */
export interface PreStarted {
  helper: ChildProcess;
  /** In PID 1's environment since its start: the ledger records it. */
  tag: string;
}

/** A process tree the helper started; `pid` is its first process, as the host sees it. */
export class Running {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly exited: Promise<ExitStatus>;
  private out: string[] = [];
  private err: string[] = [];
  private status: ExitStatus | null = null;

  constructor(
    readonly pid: number,
    private helper: ChildProcess,
    exited: Promise<ExitStatus>,
  ) {
    this.stdin = helper.stdin;
    this.stdout = helper.stdout;
    this.stderr = helper.stderr;
    helper.stdout?.on('data', (d) => this.out.push(String(d)));
    helper.stderr?.on('data', (d) => this.err.push(String(d)));
    this.exited = exited.then((s) => (this.status = s));
  }

  get output(): string {
    return this.out.join('');
  }

  get errorOutput(): string {
    return this.err.join('');
  }

  get running(): boolean {
    return this.status === null;
  }

  /** SIGKILL the first process and everything it started. In a PID namespace killing its
   * PID 1 ends the rest anyway; without one, children would outlive it as orphans.
   * The helper is left to reap PID 1 and exit (fast); it is killed only if it lingers. */
  async kill(): Promise<ExitStatus> {
    const tree = descendants(this.pid);
    for (const pid of [this.pid, ...tree]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (!this.status) {
      const lingering = setTimeout(() => {
        try {
          if (this.helper.pid) process.kill(this.helper.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 1000);
      await this.exited;
      clearTimeout(lingering);
    }
    // Our child is reaped by us; the others may be orphans, which the host's init reaps.
    await waitReaped([this.pid]);
    await waitExited(tree);
    return this.status!;
  }
}

type Failure = Extract<InitMessage, { event: 'error' }>;

/** The ContainerError for a step the helper reported failed; with the syscall, if one failed. */
function stepError(what: string, ev: Failure): ContainerError {
  return new ContainerError(`${what}: ${ev.step}: ${ev.error.message}`, ev.step, 'call' in ev.error ? ev.error : undefined, ev.hint);
}

/** A container whose init stage has done everything but the exec: see prepareContainer. */
export interface Prepared {
  /** PID 1's host pid. */
  readonly pid: number;
  /** Run the command: only the execve is left (and `net`, network operations PID 1 does
   * first in the container's network namespace). Resolves once it is about to exec. */
  run(argv: string[], opts?: { env?: string[]; net?: NetOp[] }): Promise<Running>;
  /** Never used: end it. */
  close(): Promise<void>;
  /** Its ledger entry made the newest (Ledger.renew): taken by a step now, it is undone
   * before what that step made since it was prepared. */
  claim(): void;
}

/** Spawn nsinit in a mode and wait until it reports that the command runs (or failed).
 * With spec.warm, resolve at "ready" instead with a Prepared whose run() sends the command. */
function launch(mode: 'run' | 'enter', spec: RunSpec | EnterSpec, stdio: Stdio, detach?: boolean, ledger?: Ledger, what?: string): Promise<Running>;
function launch(mode: 'run', spec: RunSpec & { warm: true }, stdio: StdioMode, detach: false, ledger: Ledger | undefined, what: string, preStarted?: PreStarted): Promise<Prepared>;
function launch(mode: 'run' | 'enter', spec: RunSpec | EnterSpec, stdio: Stdio, detach = false, ledger?: Ledger, what = t`container`, preStarted?: PreStarted): Promise<Running | Prepared> {
  const warm = 'warm' in spec && !!spec.warm;
  // Every process of this container carries the tag: the helpers in their command line
  // (the JSON argument) and all of them, down to the last child of the learner's command,
  // in their environment (CONTAINER_LESSONS_TAG). So a recovery finds them even if this
  // process dies before it learns their pids. Recorded before anything is started.
  const rootless = mode === 'run' ? (spec as RunSpec).rootless : undefined;
  // A helper started ahead (helper-pool.ts) has pipes for stdio and is no session of its
  // own: it serves the common start, not a detached, rootless or terminal one; nor a warm
  // one, which is made ahead anyway and whose prepared PID 1 shows its spec in its argv.
  const idle = stdio === 'pipe' && !detach && !rootless && !warm ? idleHelpers.take() : null;
  spec.tag = preStarted?.tag ?? idle?.tag ?? `container-lessons-${randomUUID()}`;
  const entry = ledger?.add({ kind: 'procs', tag: spec.tag });
  return new Promise((resolve, reject) => {
    let helper: ChildProcess;
    if (preStarted) {
      // Its namespaces are made and PID 1 has loaded: it needs only the spec (then the command).
      helper = preStarted.helper;
      const specPipe = helper.stdio[4] as Writable;
      specPipe.on('error', () => {}); // PID 1 gone: the end of fd 3 says so
      specPipe.write(JSON.stringify(spec) + '\n');
    } else if (idle) {
      helper = idle.child;
      idle.give({ mode, spec });
    } else {
      // A rootless container's helper starts inside a new user namespace: made by util-linux
      // unshare, a single-threaded program, because Node cannot (rootless.ts).
      const [file, args] = rootless ? rootlessCommand(rootless, [process.execPath, ...nsinitArgs(), mode, JSON.stringify(spec)]) : [helperProgram(), [...nsinitArgs(), mode, JSON.stringify(spec)]];
      const std = typeof stdio === 'object' ? stdio.terminal : stdio;
      helper = spawn(file, args, {
        env: helperEnv({ [TAG_VAR]: spec.tag!, ...idleHelpers.coldEnv() }),
        stdio: detach ? ['ignore', 'ignore', 'ignore', 'pipe'] : [std, std, std, 'pipe', ...(warm ? (['pipe'] as const) : [])],
        detached: detach,
      });
    }
    const control = helper.stdio[3] as Readable;
    let buf = '';
    let pid: number | null = null;
    let settled = false;
    let lastExit: ExitStatus | null = null;
    const exited = new Promise<ExitStatus>((res) => helper.on('exit', (code, signal) => res(lastExit ?? { code, signal })));
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    // A warm start: after "ready", run() sends the command and waits for "exec".
    let execWaiter: { resolve: (r: Running) => void; reject: (e: Error) => void } | null = null;
    // The command runs (exec), or the entered command started: hand back a Running.
    const onRunning = (firstPid: number | undefined) => {
      const running = new Running(pid ?? firstPid!, helper, exited);
      if (entry) entry.live = () => running.kill().then(() => undefined);
      if (detach) {
        control.destroy();
        helper.unref();
      }
      if (execWaiter) execWaiter.resolve(running);
      else settle(() => resolve(running));
    };
    const onReady = (readyPid: number) => {
      const commandPipe = helper.stdio[4] as Writable;
      commandPipe.on('error', () => {});
      let used = false;
      let closing: Promise<void> | null = null;
      const prepared: Prepared = {
        pid: pid ?? readyPid,
        run: (argv, opts = {}) => {
          if (used) return Promise.reject(new Error('a prepared container runs one command'));
          used = true;
          return new Promise<Running>((res, rej) => {
            execWaiter = { resolve: res, reject: rej };
            const command: WarmCommand = { argv, ...opts };
            commandPipe.end(JSON.stringify(command) + '\n');
          });
        },
        claim: () => {
          if (entry) ledger?.renew(entry);
        },
        // Once only: a ledger cleanup and the warm slot may both close it, and a second
        // SIGKILL to a reaped pid could hit a process that reuses the number.
        close: () =>
          (closing ??= (async () => {
            const unused = !used;
            if (unused) commandPipe.end(); // EOF: PID 1 exits without running anything
            used = true;
            await new Running(pid ?? readyPid, helper, exited).kill();
            if (unused) entry?.drop(); // nothing of it is left to undo
          })()),
      };
      if (entry) entry.live = () => prepared.close();
      settle(() => resolve(prepared));
    };
    const onEvent = (ev: InitMessage) => {
      switch (ev.event) {
        case 'started':
          if (ev.pid) pid = ev.pid;
          if (mode === 'enter') onRunning(ev.pid);
          return;
        case 'ready':
          if (warm) onReady(ev.pid);
          return;
        case 'exec':
          onRunning(ev.pid);
          return;
        case 'error': {
          const err = stepError(what, ev);
          if (execWaiter) execWaiter.reject(err);
          else settle(() => reject(err));
          return;
        }
        case 'exit':
          lastExit = { code: ev.code ?? null, signal: ev.signal ?? null };
          return;
        default:
          // Every message is handled above (a new one fails to compile here); a line that
          // is none of them at run time is not ours and is ignored.
          ev satisfies never;
      }
    };
    let heard = false;
    control.on('data', (d) => {
      heard = true;
      buf += String(d);
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          onEvent(JSON.parse(line) as InitMessage);
        } catch {
          /* not ours */
        }
      }
    });
    control.on('error', () => {});
    helper.on('error', (err) => settle(() => reject(new ContainerError(t`${what}: could not start the helper: ${err.message}`, 'spawn'))));
    // Every writer of the control pipe has closed it (the helper exited, PID 1 exec'd or
    // died) without an exec or error event: the command never started.
    control.on('end', () => {
      // A PID 1 started ahead whose stage A ended without a word: it never ran (util-linux
      // too old for an option run-early.ts gives): the caller starts its own.
      if (preStarted && !heard) {
        entry?.drop();
        settle(() => reject(new PreStartFailed()));
        return;
      }
      // A prepared PID 1 that died while waiting (killed by a reset): its run() fails.
      if (execWaiter) execWaiter.reject(new ContainerError(t`${what}: the prepared container ended before the command started`, 'start'));
      helper.once('exit', (code, signal) => settle(() => reject(new ContainerError(t`${what}: the helper exited (${signal ?? code}) before the command started`, 'start'))));
      if (helper.exitCode !== null || helper.signalCode !== null) settle(() => reject(new ContainerError(t`${what}: the helper exited (${helper.signalCode ?? helper.exitCode}) before the command started`, 'start')));
    });
  });
}

/** The init stage's instructions for a container (argv may come later, for a warm start). */
function runSpec(opts: Omit<ContainerOptions, 'argv'>, argv: string[]): RunSpec {
  return {
    rootfs: path.resolve(opts.rootfs),
    namespaces: opts.namespaces,
    hostname: opts.hostname,
    mountProc: opts.mountProc ?? opts.namespaces.includes('pid'),
    mountDev: opts.mountDev,
    cgroupProcs: opts.cgroup?.procsFiles(),
    argv,
    env: opts.env,
    cwd: opts.cwd,
    detach: opts.detach,
    timeOffsets: opts.timeOffsets,
    rootless: opts.rootless,
    confine: opts.confine,
    cgroupAtExec: opts.cgroupAtExec,
  };
}

export async function startContainer(opts: ContainerOptions, ledger?: Ledger): Promise<Running> {
  if (!opts.argv.length) throw new Error('startContainer: argv is empty');
  if (opts.confine) checkConfinement(opts.confine);
  if (opts.rootless) {
    if (opts.cgroup) throw new HintedError(t`a rootless container cannot be put in a cgroup by the core`, t`leave out the cgroup, or run it as root`);
    // The files the unprivileged uid runs: node and nsinit.js, or the binary that is both.
    checkRootlessReach(opts.rootless, [process.execPath, ...(IN_SEA ? [] : [nsinitPath()]), path.resolve(opts.rootfs)]);
  }
  return launch('run', runSpec(opts, opts.argv), opts.stdio ?? 'pipe', opts.detach, ledger, t`container`);
}

/** Start a container up to the point where only the command's execve is left: new
 * namespaces, PID 1, /proc, /dev, pivot_root, hostname. This is the part that costs (two
 * Node starts); done ahead, while the learner reads, a keypress costs only a pipe write and
 * an execve. WarmContainers keeps the next step's one ready. */
export async function prepareContainer(opts: Omit<ContainerOptions, 'argv' | 'detach'>, ledger?: Ledger): Promise<Prepared> {
  if (opts.confine) checkConfinement(opts.confine);
  // A PID 1 started ahead makes the cgroup namespace only at its execve.
  if (opts.preStarted && opts.namespaces.includes('cgroup') && !opts.cgroupAtExec) throw new Error('prepareContainer: a PID 1 started ahead needs cgroupAtExec for its cgroup namespace');
  const spec = () => ({ ...runSpec(opts, ['(given later)']), warm: true as const });
  if (opts.preStarted) {
    try {
      return await launch('run', spec(), opts.stdio ?? 'pipe', false, ledger, t`container`, opts.preStarted);
    } catch (err) {
      if (!(err instanceof PreStartFailed)) throw err;
    }
  }
  return launch('run', spec(), opts.stdio ?? 'pipe', false, ledger, t`container`);
}

/** A PID 1 started ahead that never ran: prepareContainer starts one of its own instead. */
class PreStartFailed extends Error {}

/** Options that make two containers alike (everything but the command and stdio). */
export type ContainerShape = Omit<ContainerOptions, 'argv' | 'detach' | 'stdio'>;

/**
 * The TUI's warm start. The workbook knows which containers the next step will start, so
 * it prepares them (prepareContainer) while the learner reads, and the keypress that runs
 * the step takes them: a pipe write and an execve instead of two Node starts (`npm run
 * bench` measures both, beside `runc run`). Asking for other shapes ends the prepared ones
 * that are no longer wanted. Every other start of a running workbook (a command entered
 * into a container, the network and probe helpers, a container no step declared) takes a
 * helper started ahead (helper-pool.ts), which saves one Node start of its two.
 *
 * A prepared container is a real process with the lab rootfs as its root, so the checks
 * and a lesson's reset skip it (isPreparedContainer): it is the workbook's, and it ends
 * with the workbook's ledger, or with the workbook itself (PR_SET_PDEATHSIG). If it dies
 * otherwise (a learner's kill), take() gives null and the step starts cold.
 */
export class WarmContainers {
  private slots: Array<{ key: string; ledger?: Ledger; prepared: Promise<Prepared | null> }> = [];

  /** Prepare one container of each of these shapes (a shape twice: two), keeping those
   * already prepared; end the others. Keep `helpers` helpers started ahead meanwhile. */
  want(shapes: ContainerShape | ContainerShape[] | null, ledger?: Ledger, helpers = HELPERS_AHEAD): void {
    idleHelpers.start(Math.max(HELPERS_AHEAD, helpers));
    const keys = (Array.isArray(shapes) ? shapes : shapes ? [shapes] : []).map((shape) => ({ shape, key: JSON.stringify(shape) }));
    const kept: typeof this.slots = [];
    for (const slot of this.slots) {
      const i = keys.findIndex((k) => k.key === slot.key && slot.ledger === ledger);
      if (i >= 0) {
        keys.splice(i, 1);
        kept.push(slot);
      } else void endSlot(slot);
    }
    for (const { shape, key } of keys) kept.push({ key, ledger, prepared: prepareContainer({ ...shape, stdio: 'pipe' }, ledger).catch(() => null) });
    this.slots = kept;
  }

  /** A prepared container of this shape, alive and waiting for its command; or null. */
  async take(shape: ContainerShape, ledger?: Ledger): Promise<Prepared | null> {
    const key = JSON.stringify(shape);
    const i = this.slots.findIndex((s) => s.key === key && s.ledger === ledger);
    if (i < 0) return null;
    const [slot] = this.slots.splice(i, 1);
    const p = await slot!.prepared;
    if (p && pidAlive(p.pid)) {
      p.claim();
      return p;
    }
    await p?.close().catch(() => undefined);
    return null;
  }

  /** Resolves once every wanted container is prepared (or failed to be): for a measurement
   * that must not run beside a preparation (bench/). */
  async settled(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.prepared));
  }

  /** End the prepared containers; the helpers started ahead stay. */
  async release(): Promise<void> {
    await Promise.all(this.slots.splice(0).map(endSlot));
  }

  /** End the prepared containers and the helpers started ahead (a reset, the exit); the
   * next want() starts them again. */
  async close(): Promise<void> {
    await Promise.all([idleHelpers.stop(), this.release()]);
  }
}

async function endSlot(slot: { prepared: Promise<Prepared | null> }): Promise<void> {
  const p = await slot.prepared;
  await p?.close().catch(() => undefined);
}

/** A prepared container still waiting for its command: not the learner's work. Its
 * process is nsinit, and its spec (in the command line) says warm. */
export function isPreparedContainer(cmdline: string): boolean {
  // nsinit.js in a package; the one-file binary's own helper argument (sea.ts) in the binary.
  return /nsinit(\.js)? (run|init) \{/.test(cmdline) && cmdline.includes('"warm":true');
}

export interface RunResult extends ExitStatus {
  stdout: string;
  stderr: string;
  pid: number;
}

/** Give a started command its stdin, wait for its end and what it printed. */
export async function collect(r: Running, input?: string): Promise<RunResult> {
  if (input !== undefined) r.stdin?.end(input);
  else r.stdin?.end();
  const status = await r.exited;
  // let the pipes drain
  await Promise.all([r.stdout, r.stderr].map((s) => (s && !s.readableEnded ? new Promise((res) => s.on('close', res)) : null)));
  return { ...status, stdout: r.output, stderr: r.errorOutput, pid: r.pid };
}

/** Run a command in a fresh container to the end and capture what it printed. */
export async function runContainer(opts: Omit<ContainerOptions, 'stdio' | 'detach'>, input?: string): Promise<RunResult> {
  return collect(await startContainer({ ...opts, stdio: 'pipe' }), input);
}

/** How a command is entered into a running container. */
export interface EnterOptions {
  env?: string[];
  cwd?: string;
  stdio?: Stdio;
  /** 'copy': the command gets the container's capabilities, no_new_privs and seccomp
   * filters, read from the target process, as `docker exec` does. Without it the command
   * has the helper's (root's) full privileges: nsenter's behaviour. */
  confine?: 'copy';
}

/** Start a command inside the namespaces (and root) of a running process, like nsenter.
 * With stdio { terminal: slave } the command runs on that pty as its controlling terminal,
 * like `docker exec -it` (core/pty.ts opens one of the container's own). */
export function enterContainer(pid: number, namespaces: Namespace[], argv: string[], opts: EnterOptions = {}): Promise<Running> {
  const stdio = opts.stdio ?? 'pipe';
  const spec: EnterSpec = { pid, namespaces, argv, env: opts.env, cwd: opts.cwd, terminal: typeof stdio === 'object' || undefined, confine: opts.confine };
  return launch('enter', spec, stdio, false, undefined, t`enter pid ${pid}`);
}

/** Run a command inside a running container to its end, with what it printed. The last
 * argument is its stdin, or options (stdin as `input`). */
export async function execInContainer(pid: number, namespaces: Namespace[], argv: string[], inputOrOpts?: string | (Omit<EnterOptions, 'stdio'> & { input?: string })): Promise<RunResult> {
  const { input, ...opts } = typeof inputOrOpts === 'object' ? inputOrOpts : { input: inputOrOpts };
  return collect(await enterContainer(pid, namespaces, argv, opts), input);
}

/** Run a helper that answers with one JSON value on stdout; a failure it reported on
 * fd 3 becomes a ContainerError naming the step and the syscall. */
type AnsweringMode = 'net' | 'probe' | 'tcp' | 'nsview' | 'ipcmk' | 'userns' | 'filters' | 'escape';
type AnsweringSpec = NetSpec | ProbeSpec | TcpSpec | NsViewSpec | IpcMakeSpec | FiltersSpec | EscapeSpec | Record<string, never>;
function askHelper<T>(mode: AnsweringMode, spec: AnsweringSpec, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const idle = idleHelpers.take();
    idle?.child.stdin?.end(); // stdin as the cold start has it: nothing to read
    idle?.give({ mode, spec });
    const helper = idle?.child ?? spawn(helperProgram(), [...nsinitArgs(), mode, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: helperEnv(idleHelpers.coldEnv()) });
    let out = '';
    let control = '';
    let err = '';
    helper.stdout!.on('data', (d) => (out += d));
    helper.stderr!.on('data', (d) => (err += d));
    (helper.stdio[3] as Readable).on('data', (d) => (control += d));
    helper.on('error', reject);
    helper.on('close', (code) => {
      if (code === 0) {
        try {
          return resolve(JSON.parse(out));
        } catch {
          /* fall through */
        }
      }
      const ev = control
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as InitMessage)
        .find((e): e is Failure => e.event === 'error');
      reject(ev ? stepError(what, ev) : new Error(t`${what} failed: ${err.trim() || `exit ${code}`}`));
    });
  });
}

/** Run rtnetlink operations inside the network namespace of a process (0: the host's),
 * from a helper: the driver's own threads never change namespace. */
export function netOps(pid: number, ops: NetOp[]): Promise<NetState> {
  return askHelper('net', { pid, ops }, pid ? t`network of pid ${pid}` : t`host network`);
}

/** ICMP echo from the network namespace of `pid` (0: the host's) to `to`. */
export async function pingFrom(pid: number, to: string, opts: { count?: number; waitMs?: number } = {}): Promise<PingResult> {
  const [result] = (await netOps(pid, [{ op: 'ping', to, ...opts }])).results;
  if (!result) throw new Error(`ping from ${pid ? `pid ${pid}` : 'the host'} to ${to}: the helper gave no result`);
  return result;
}

/** A TCP connection from the client's namespace to a listener opened in the server's. */
export function tcpBetween(spec: TcpSpec): Promise<TcpResult> {
  return askHelper('tcp', spec, 'tcp');
}

/** Look inside a process's UTS and mount namespaces from a helper (the driver stays put). */
export function probeNamespaces(pid: number, hostPaths: string[] = []): Promise<ProbeResult> {
  return askHelper('probe', { pid, hostPaths }, t`probe of pid ${pid}`);
}

/** What a process's cgroup and IPC namespaces show from inside them, read by a helper that
 * joins them: /proc/<pid>/cgroup relative to its cgroup namespace, its System V objects. */
export function viewNamespaces(pid: number): Promise<NsView> {
  return askHelper('nsview', { pid }, t`namespaces of pid ${pid}`);
}

/** Make a System V message queue with `key` in the IPC namespace of `pid` (ipcmk -Q
 * there): it lives as long as that namespace. Returns its id. */
export async function makeMessageQueue(pid: number, key: number): Promise<number> {
  return (await askHelper<{ id: number }>('ipcmk', { pid, key }, t`message queue in pid ${pid}`)).id;
}

/** unshare(CLONE_NEWUSER) tried in a fresh Node helper: its thread count and the error. */
export function tryUserNamespaceFromNode(): Promise<{ threads: number; error: string | null }> {
  return askHelper('userns', {}, t`unshare(CLONE_NEWUSER) from Node`);
}

/** A process's seccomp filters, in the order they were installed, instruction for
 * instruction as the kernel keeps them; [] when it has none. Read by a helper through
 * ptrace (confine.ts: readFilters); a HintedError when the kernel cannot hand them out
 * (EINVAL: built without CONFIG_CHECKPOINT_RESTORE) or the process is gone. */
export function readSeccompFilters(pid: number): Promise<Insn[][]> {
  return askHelper('filters', { pid }, t`seccomp filters of pid ${pid}`);
}

/** The chroot escape (escape.ts) from a process's root: a helper takes that root (joining
 * its mount namespace when it has one of its own), takes its confinement too (unless
 * asHostRoot: then it keeps root's full privileges), and tries to climb out; then reads
 * `marker`, a host path, from wherever it ended. */
export function runEscape(pid: number, marker: string, opts: { asHostRoot?: boolean } = {}): Promise<EscapeResult> {
  return askHelper('escape', { pid, marker: path.resolve(marker), asHostRoot: opts.asHostRoot }, t`escape from pid ${pid}`);
}
