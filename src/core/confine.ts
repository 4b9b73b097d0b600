// Confinement: what a container's root may still do once it runs. Three locks, as Docker
// (runc) sets them on every container process:
// - capabilities: the bounding set shrinks to the kept ones (no execve can bring the
//   others back), permitted = effective = kept, inheritable and ambient empty;
// - no_new_privs: no execve gains privileges (setuid bits, file capabilities);
// - seccomp filters: classic BPF programs (seccomp.ts builds the lesson's) that every
//   syscall runs through.
// All three belong to the calling THREAD, and are inherited over fork and execve. So they
// are applied on the main thread of a helper (nsinit.ts) that then execve()s the command
// or spawns it from that thread: never in the driver, whose other threads would not get
// them anyway.
//
// runc does the same work (libcontainer/standard_init_linux.go): no_new_privs first; the
// filter before finalizeNamespace lowers the capabilities when there is no no_new_privs
// (installing one then needs CAP_SYS_ADMIN), else after it, as close to the execve as it
// can. applyConfinement keeps one order that works in both cases (see its comment).
import fs from 'node:fs';
import * as libc from './libc.js';
import { HintedError } from './errors.js';
import { t } from '../i18n/messages.js';
import { capNumber, decodeCaps, encodeCaps, parseProcSecurity } from './capabilities.js';
import { checkFilter, decodeFilter, encodeFilter, type Insn } from './seccomp.js';

/** How a container's processes are confined (JSON: it crosses to nsinit). */
export interface Confinement {
  /** Kept capabilities: bounding = permitted = effective = these; inheritable and ambient emptied. */
  capabilities?: string[];
  noNewPrivs?: boolean;
  /** Filters to install, in order (the lesson's: [lessonFilter()]). */
  seccomp?: Insn[][];
}

/** Refuse a confinement that could not be applied, before any helper starts: an unknown
 * capability name, a filter the kernel would refuse (seccomp.ts: checkFilter). */
export function checkConfinement(c: Confinement): void {
  if (typeof c !== 'object' || c === null) throw new HintedError(t`confine: not a confinement`, t`give { capabilities?, noNewPrivs?, seccomp? }`);
  for (const name of c.capabilities ?? []) capNumber(name);
  const filters = c.seccomp ?? [];
  filters.forEach((filter, i) => {
    try {
      checkFilter(filter);
    } catch (err) {
      const e = err as HintedError;
      throw new HintedError(t`confine: filter ${i + 1} of ${filters.length}: ${e.message}`, e.hint);
    }
  });
}

/**
 * Confine the calling thread, in this order:
 * 1. drop every capability not kept from the bounding set (PR_CAPBSET_DROP needs
 *    CAP_SETPCAP, so while this thread still has it), for every capability the running
 *    kernel has (it answers EINVAL past its last, as /proc/sys/kernel/cap_last_cap says);
 * 2. clear the ambient set;
 * 3. no_new_privs;
 * 4. install each filter (without no_new_privs that needs CAP_SYS_ADMIN: hence still before
 *    the capabilities are lowered);
 * 5. capset: effective = permitted = kept, inheritable empty. Last: lowering needs nothing.
 *    A command execve()d as uid 0 would get permitted = effective = the bounding set from
 *    the kernel anyway (security/commoncap.c, handle_privileged_root; measured); this is
 *    for what runs without an execve (the escape helper) and for a non-root command.
 * Kept capabilities this thread does not have itself are not given (they cannot be).
 */
export function applyConfinement(c: Confinement): void {
  const keep = c.capabilities ? encodeCaps(c.capabilities) : null;
  if (keep !== null) {
    for (let cap = 0; cap < 64; cap++) {
      const present = libc.readBoundingCap(cap);
      if (present === null) break; // past the kernel's last capability
      if (present && !((keep >> BigInt(cap)) & 1n)) libc.dropBoundingCap(cap);
    }
    libc.clearAmbientCaps();
  }
  if (c.noNewPrivs) libc.setNoNewPrivs();
  for (const filter of c.seccomp ?? []) libc.installSeccompFilter(encodeFilter(filter));
  if (keep !== null) {
    const kept = keep & libc.capget().permitted;
    libc.capset({ effective: kept, permitted: kept, inheritable: 0n });
  }
}

/**
 * What confines a running process, as a Confinement that reproduces it: its bounding set
 * as the kept capabilities (what `docker exec` gives a new process: the container's
 * configured set), its no_new_privs, its seccomp filters. For `docker exec`-like entry
 * (nsinit's enter with confine 'copy'). Run in a helper, before it joins the target's
 * PID namespace (the pid is a host pid); the filters need ptrace (readFilters).
 */
export function readConfinement(pid: number): Confinement {
  const sec = parseProcSecurity(readStatusOf(pid));
  return { capabilities: decodeCaps(sec.bounding), noNewPrivs: sec.noNewPrivs, seccomp: readFilters(pid, sec.seccomp) };
}

function readStatusOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HintedError(t`process ${pid} is gone`, t`is the container still running?`);
    throw err;
  }
}

/**
 * The seccomp filters of a process, in the order they were installed, as the kernel keeps
 * them (the programs given to it, instruction for instruction). The kernel hands them only
 * to a tracer with CAP_SYS_ADMIN that is not itself filtered, while the tracee is stopped:
 * PTRACE_SEIZE (attach without stopping it), PTRACE_INTERRUPT (stop it), waitpid with
 * __WALL (the tracee is not our child: without __WALL waitpid ignores it), then
 * PTRACE_SECCOMP_GET_FILTER for index 0, 1, ... until ENOENT, and
 * PTRACE_DETACH, which lets it run on. It stops for well under a millisecond.
 * Index 0 is the first filter installed (kernel/seccomp.c, get_nth_filter, walks back from
 * the newest count - 1 - index steps; measured: two filters read back in the order given).
 * The tracer is a thread: all of this runs on the main thread of a helper. `mode` is the
 * Seccomp: line of its status (0 none, 1 strict, 2 filters), read when not given.
 */
export function readFilters(pid: number, mode = parseProcSecurity(readStatusOf(pid)).seccomp): Insn[][] {
  if (mode === 0) return []; // the kernel would answer EINVAL: no filters to hand out
  if (mode === 1) throw new HintedError(t`process ${pid} is in seccomp strict mode, which has no filters and cannot be copied`, t`strict mode allows only read, write, _exit and sigreturn: nothing could be started under it`);
  try {
    libc.ptrace(libc.PTRACE_SEIZE, pid);
  } catch (err) {
    throw ptraceHint(err, pid);
  }
  const filters: Insn[][] = [];
  try {
    libc.ptrace(libc.PTRACE_INTERRUPT, pid);
    libc.waitpid(pid, libc.__WALL);
    for (let index = 0; ; index++) {
      let count: number;
      try {
        count = libc.ptrace(libc.PTRACE_SECCOMP_GET_FILTER, pid, index, null); // no buffer: the length
      } catch (err) {
        if (err instanceof libc.SyscallError && err.code === 'ENOENT') break; // past the newest
        throw ptraceHint(err, pid);
      }
      const program = Buffer.alloc(count * 8);
      libc.ptrace(libc.PTRACE_SECCOMP_GET_FILTER, pid, index, program);
      filters.push(decodeFilter(program));
    }
  } finally {
    try {
      libc.ptrace(libc.PTRACE_DETACH, pid);
    } catch {
      /* it died meanwhile; a tracer's exit would detach it anyway */
    }
  }
  return filters;
}

function ptraceHint(err: unknown, pid: number): Error {
  if (!(err instanceof libc.SyscallError)) return err as Error;
  switch (err.code) {
    case 'ESRCH':
      return new HintedError(t`process ${pid} is gone (${err.message})`, t`is the container still running?`);
    case 'EINVAL':
      return new HintedError(t`the kernel will not hand out process ${pid}'s seccomp filters (${err.message})`, t`PTRACE_SECCOMP_GET_FILTER needs a kernel built with CONFIG_CHECKPOINT_RESTORE (and the process must have filters)`);
    case 'EMEDIUMTYPE':
      return new HintedError(t`process ${pid}'s seccomp filter was not kept as a classic program (${err.message})`, t`only filters installed as classic BPF can be read back`);
    case 'EPERM':
    case 'EACCES':
      return new HintedError(
        t`not allowed to trace process ${pid} (${err.message})`,
        t`reading filters needs root with CAP_SYS_PTRACE and CAP_SYS_ADMIN, not itself under seccomp; is the process traced already (TracerPid in /proc/${pid}/status)? Yama's ptrace_scope 3 forbids it outright`,
      );
    default:
      return err;
  }
}
