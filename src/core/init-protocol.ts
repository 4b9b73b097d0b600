// What the driver (container.ts) and its helper (nsinit.ts) say to each other, besides
// the spec the helper gets as its JSON argument. Types only: nothing here runs.
//
// - fd 3, helper -> driver: InitMessage, one JSON line each, until the command's execve
//   (the pipe is close-on-exec) or the helper's exit.
// - fd 4, driver -> helper, warm start only: one WarmCommand line once the helper said
//   "ready"; EOF instead means the prepared container is not wanted and PID 1 exits.
// - stdout, helper -> driver, in the modes that answer (net, probe, tcp): one JSON value,
//   a NetState, a ProbeResult or a TcpResult (nsinit.ts).
import type { SyscallError } from './libc.js';
import type { Link, Address } from './netlink.js';
import type { PingResult } from './icmp.js';
import type { NetOp } from './nsinit.js';

/** A SyscallError as its toJSON gives it. */
export type SyscallFailure = ReturnType<SyscallError['toJSON']>;

export type InitMessage =
  /** The container's first process exists (PID 1, or the entered command): its host pid. */
  | { event: 'started'; pid?: number }
  /** Warm start: everything but the execve is done; PID 1 now reads a WarmCommand on fd 4. */
  | { event: 'ready'; pid: number }
  /** The command is about to replace PID 1 (execve): the container runs. */
  | { event: 'exec'; pid: number; argv: string[] }
  /** A step failed; the helper exits after this. */
  | { event: 'error'; step: string; error: SyscallFailure | { message: string }; hint?: string }
  /** The container's first process ended (relayed by the stage that waited for it). */
  | { event: 'exit'; code: number | null; signal: NodeJS.Signals | null };

/** The command of a warm start, sent on fd 4. */
export interface WarmCommand {
  argv: string[];
  env?: string[];
  /** Network operations PID 1 does in the container's network namespace before the execve
   * (bring lo up, give eth0 its address): no helper of their own. */
  net?: NetOp[];
}

/** The answer of the net mode: the namespace's links and addresses after the operations. */
export interface NetState {
  links: Link[];
  addresses: Address[];
  /** One entry per `ping` op, in order. */
  results: PingResult[];
  /** After a `readTables` op: the nf_tables tables of family ip, each rule as
   * `chain: expressions` (nftables.ts describeExpressions). */
  tables?: Array<{ name: string; rules: string[] }>;
  /** Why a `readTables` op could not read them. */
  tablesError?: string;
}

/** The answer of the probe mode. */
export interface ProbeResult {
  hostname: string;
  /** The root of the process's mount namespace is a lesson root filesystem. */
  nsRootIsRootfs: boolean;
  /** Which of the given host paths exist when looked up from that namespace's root. */
  visible: Record<string, boolean>;
}

/** The answer of the nsview mode: a process's cgroup and IPC namespaces seen from inside. */
export interface NsView {
  /** /proc/<pid>/cgroup as a reader in its cgroup namespace sees it. */
  cgroup: string;
  /** The lines of /proc/sysvipc/{msg,shm,sem} in its IPC namespace (no header). */
  sysvipc: { msg: string[]; shm: string[]; sem: string[] };
}
