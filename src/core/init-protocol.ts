// What the driver (container.ts) and its helper (nsinit.ts) say to each other, besides
// the spec the helper gets as its JSON argument. Types only: nothing here runs.
//
// - fd 3, helper -> driver: InitMessage, one JSON line each, until the command's execve
//   (the pipe is close-on-exec) or the helper's exit.
// - fd 4, driver -> helper, warm start only: one WarmCommand line once the helper said
//   "ready"; EOF instead means the prepared container is not wanted and PID 1 exits.
import type { SyscallError } from './libc.js';

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
}
