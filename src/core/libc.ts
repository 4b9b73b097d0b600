// The only door to libc. Every other module calls these typed wrappers; nothing else
// imports koffi. Each wrapper throws a SyscallError naming the call, its arguments and
// the errno name, e.g. `mount("overlay", "/lab/ufs/merged", "overlay", 0, "lowerdir=..."): EINVAL`.
//
// All calls are synchronous and run on the calling thread. Namespace calls (unshare,
// setns) change only the calling thread, which is why the long-lived process never makes
// them: see container.ts and nsinit.ts.
import koffi from 'koffi';
import os from 'node:os';
import { HintedError } from './errors.js';
import { msg, t, tr } from '../i18n/messages.js';

/** The one handle on libc. */
export const lib = koffi.load('libc.so.6');

const c = {
  unshare: lib.func('int unshare(int flags)'),
  setns: lib.func('int setns(int fd, int nstype)'),
  mount: lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
  umount2: lib.func('int umount2(const char *target, int flags)'),
  syscall: lib.func('long syscall(long nr, ...)'),
  chroot: lib.func('int chroot(const char *path)'),
  chdir: lib.func('int chdir(const char *path)'),
  fchdir: lib.func('int fchdir(int fd)'),
  sethostname: lib.func('int sethostname(const char *name, size_t len)'),
  gethostname: lib.func('int gethostname(_Out_ uint8_t *name, size_t len)'),
  execve: lib.func('int execve(const char *path, const char **argv, const char **envp)'),
  kill: lib.func('int kill(int pid, int sig)'),
  waitpid: lib.func('int waitpid(int pid, _Out_ int *status, int options)'),
  prctl: lib.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)'),
  fcntl: lib.func('int fcntl(int fd, int cmd, ...)'),
  getpid: lib.func('int getpid(void)'),
  dup2: lib.func('int dup2(int oldfd, int newfd)'),
  getpgrp: lib.func('int getpgrp(void)'),
  flock: lib.func('int flock(int fd, int operation)'),
  tcgetpgrp: lib.func('int tcgetpgrp(int fd)'),
  tcsetpgrp: lib.func('int tcsetpgrp(int fd, int pgrp)'),
  setsid: lib.func('int setsid(void)'),
  ioctl: lib.func('int ioctl(int fd, unsigned long request, ...)'),
  lsetxattr: lib.func('int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)'),
  lgetxattr: lib.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)'),
  llistxattr: lib.func('long llistxattr(const char *path, _Out_ uint8_t *list, size_t size)'),
  utimensat: lib.func('int utimensat(int dirfd, const char *path, const uint8_t *times, int flags)'),
  // sighandler_t is a pointer; SIG_DFL and SIG_IGN are the integers 0 and 1.
  signal: lib.func('intptr_t signal(int sig, intptr_t handler)'),
  msgget: lib.func('int msgget(int key, int msgflg)'),
  capset: lib.func('int capset(const uint8_t *header, const uint8_t *data)'),
  capget: lib.func('int capget(const uint8_t *header, _Out_ uint8_t *data)'),
  // glibc's ptrace is variadic (pid, addr, data); on the 64-bit ABIs here they pass as these.
  ptrace: lib.func('long ptrace(int request, int pid, unsigned long addr, uint8_t *data)'),
};

/** struct sock_fprog (<linux/filter.h>): the length of a classic BPF program, in
 * instructions, and a pointer to them (8 bytes each). On a 64-bit ABI the pointer sits at
 * offset 8, after the u16 and its padding: koffi lays it out as the C compiler does.
 * Anonymous: koffi's type names are process-wide, and a second copy of this module (a
 * test that loads the project twice) would clash with a named one. */
const SockFprog = koffi.struct({ len: 'uint16_t', filter: 'uint8_t *' });
const prctlFprog = lib.func('prctl', 'int', ['int', 'unsigned long', koffi.pointer(SockFprog), 'unsigned long', 'unsigned long']);

/** errno of the last failed call on this thread: read it right after the call. */
export const errno = (): number => koffi.errno();

/** Socket calls on raw bytes, for the protocols spoken directly: rtnetlink (netlink.ts),
 * nf_tables (nftables.ts) and ICMP (icmp.ts). They return -1 and leave errno, like libc. */
export const sock = {
  socket: lib.func('int socket(int domain, int type, int protocol)'),
  bind: lib.func('int bind(int fd, const uint8_t *addr, uint32_t len)'),
  send: lib.func('long send(int fd, const uint8_t *buf, size_t len, int flags)'),
  sendto: lib.func('long sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t alen)'),
  recv: lib.func('long recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)'),
  setsockopt: lib.func('int setsockopt(int fd, int level, int name, const uint8_t *val, uint32_t len)'),
  close: lib.func('int close(int fd)'),
};

/** SO_RCVTIMEO: a blocking recv() on fd fails with EAGAIN after ms instead of waiting forever. */
export function setReceiveTimeout(fd: number, ms: number): void {
  // Not in os.constants: <asm-generic/socket.h>.
  const SOL_SOCKET = 1;
  const SO_RCVTIMEO = 20; // SO_RCVTIMEO_OLD: struct timeval of two longs, on every 64-bit arch here
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
  tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
  if (Number(sock.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16)) < 0) throw new SyscallError('setsockopt', ['SO_RCVTIMEO', ms], errno());
}

/** Syscall numbers glibc has no wrapper for (or only an inline one on older glibc). */
const SYSCALL_NR: Record<string, { pivot_root: number; mknodat: number }> = {
  x64: { pivot_root: 155, mknodat: 259 },
  arm64: { pivot_root: 41, mknodat: 33 },
  riscv64: { pivot_root: 41, mknodat: 33 },
  loong64: { pivot_root: 41, mknodat: 33 },
  ia32: { pivot_root: 217, mknodat: 297 },
};

const AT_FDCWD = -100; // <fcntl.h>, not in os.constants

export function syscallNumbers(arch: string = os.arch()) {
  const nr = SYSCALL_NR[arch];
  if (!nr) throw new Error(t`container-lessons does not know the syscall numbers for ${arch}; supported: ${Object.keys(SYSCALL_NR).join(', ')}`);
  return nr;
}

const ERRNO_NAMES: Map<number, string> = new Map(Object.entries(os.constants.errno).map(([name, nr]) => [nr as number, name]));

export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

const ERRNO_TEXT: Record<string, string> = {
  EPERM: msg('Operation not permitted'),
  ENOENT: msg('No such file or directory'),
  ESRCH: msg('No such process'),
  EACCES: msg('Permission denied'),
  EBUSY: msg('Device or resource busy'),
  EEXIST: msg('File exists'),
  ENOTDIR: msg('Not a directory'),
  EINVAL: msg('Invalid argument'),
  ENOSPC: msg('No space left on device'),
  EROFS: msg('Read-only file system'),
  ENODEV: msg('No such device'),
  ENOMEM: msg('Cannot allocate memory'),
  ENOSYS: msg('Function not implemented'),
  ECHILD: msg('No child processes'),
};

/** An argument shown as it is (flag names), not quoted like a string. */
class Raw {
  constructor(readonly text: string) {}
  toString() {
    return this.text;
  }
}

function fmtArg(a: unknown): string {
  if (a === null || a === undefined) return 'NULL';
  if (a instanceof Raw) return a.text;
  if (typeof a === 'string') return JSON.stringify(a);
  if (Array.isArray(a)) {
    const shown = a.filter((x) => x !== null).map(fmtArg);
    return `[${shown.join(', ')}]`;
  }
  return String(a);
}

export class SyscallError extends HintedError {
  readonly call: string;
  readonly args: unknown[];
  readonly errno: number;
  readonly code: string;
  constructor(call: string, args: unknown[], errno: number) {
    const code = errnoName(errno);
    const text = ERRNO_TEXT[code];
    super(`${call}(${args.map(fmtArg).join(', ')}): ${code}${text ? ` (${tr(text)})` : ''}`);
    this.call = call;
    this.args = args;
    this.errno = errno;
    this.code = code;
  }
  toJSON() {
    return { call: this.call, args: this.args.map(fmtArg), errno: this.errno, code: this.code, message: this.message };
  }
}

function check(ret: number | bigint, call: string, args: unknown[]): number {
  const n = Number(ret);
  if (n === -1) throw new SyscallError(call, args, koffi.errno());
  return n;
}

// ---- constants (linux/sched.h, linux/mount.h, sys/prctl.h, fcntl.h, sys/stat.h) ----
// os.constants has errno and signal numbers (used where they are needed), not these.
export const CLONE = {
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
  /** A time namespace (Linux 5.6): only children (and execve) enter it, never the caller. */
  NEWTIME: 0x00000080,
  FS: 0x00000200,
} as const;

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  BIND: 4096,
  REC: 16384,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
} as const;

export const MNT_DETACH = 2;
export const PR_SET_PDEATHSIG = 1;
export const F_SETFD = 2;
export const FD_CLOEXEC = 1;
export const S_IFCHR = 0o020000;

export function makedev(major: number, minor: number): number {
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
}

// ---- wrappers ----
export function unshare(flags: number): void {
  check(c.unshare(flags), 'unshare', [new Raw(flagNames(flags))]);
}

export function setns(fd: number, nstype: number, label?: string): void {
  check(c.setns(fd, nstype), 'setns', [label ?? fd, new Raw(flagNames(nstype))]);
}

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  check(c.mount(source, target, fstype, flags, data), 'mount', [source, target, fstype, new Raw(mountFlagNames(flags)), data]);
}

export function umount2(target: string, flags = 0): void {
  check(c.umount2(target, flags), 'umount2', [target, new Raw(flags === MNT_DETACH ? 'MNT_DETACH' : String(flags))]);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  const nr = syscallNumbers().pivot_root;
  check(c.syscall(nr, 'const char *', newRoot, 'const char *', putOld), 'pivot_root', [newRoot, putOld]);
}

export function mknod(path: string, mode: number, dev: number): void {
  const nr = syscallNumbers().mknodat;
  check(c.syscall(nr, 'int', AT_FDCWD, 'const char *', path, 'unsigned int', mode, 'unsigned long', dev), 'mknod', [path, '0' + mode.toString(8), dev]);
}

/** Set an extended attribute on a path (not following a final symlink). */
export function lsetxattr(path: string, name: string, value: Buffer | string): void {
  const v = Buffer.from(value);
  check(c.lsetxattr(path, name, v, v.length, 0), 'lsetxattr', [path, name, v.toString()]);
}

/** Set a path's atime and mtime to the nanosecond (fs.utimes takes a double of seconds,
 * which cannot hold one), not following a final symlink. */
export function lutimens(path: string, time: { sec: bigint; nsec: number }): void {
  const AT_SYMLINK_NOFOLLOW = 0x100; // <fcntl.h>
  const times = Buffer.alloc(32); // struct timespec[2]: atime, mtime (64-bit time_t and long)
  for (const at of [0, 16]) {
    times.writeBigInt64LE(time.sec, at);
    times.writeBigInt64LE(BigInt(time.nsec), at + 8);
  }
  check(c.utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), 'utimensat', [path, `${time.sec}.${String(time.nsec).padStart(9, '0')}`]);
}

/** The names of a path's extended attributes (not following a final symlink). */
export function llistxattr(path: string): string[] {
  const buf = Buffer.alloc(65536); // XATTR_LIST_MAX
  const n = Number(c.llistxattr(path, buf, buf.length));
  if (n < 0) throw new SyscallError('llistxattr', [path], koffi.errno());
  return buf.toString('utf8', 0, n).split('\0').filter(Boolean);
}

/** An extended attribute's value, or null when the path does not have it (ENODATA). */
export function lgetxattr(path: string, name: string): Buffer | null {
  // Asked with no buffer first, the call says the value's size.
  for (let size = 0; ; ) {
    const buf = Buffer.alloc(size);
    const n = Number(c.lgetxattr(path, name, size ? buf : null, size));
    if (n < 0) {
      const e = koffi.errno();
      if (e === os.constants.errno.ENODATA) return null;
      if (e === os.constants.errno.ERANGE) {
        size = 0; // it grew meanwhile: ask its size again
        continue;
      }
      throw new SyscallError('lgetxattr', [path, name], e);
    }
    if (size && n <= size) return buf.subarray(0, n);
    if (n === 0) return Buffer.alloc(0);
    size = n;
  }
}

export function chroot(path: string): void {
  check(c.chroot(path), 'chroot', [path]);
}

export function chdir(path: string): void {
  check(c.chdir(path), 'chdir', [path]);
}

export function fchdir(fd: number): void {
  check(c.fchdir(fd), 'fchdir', [fd]);
}

export function sethostname(name: string): void {
  check(c.sethostname(name, Buffer.byteLength(name)), 'sethostname', [name]);
}

export function gethostname(): string {
  const buf = new Uint8Array(256);
  check(c.gethostname(buf, buf.length), 'gethostname', []);
  const end = buf.indexOf(0);
  return Buffer.from(buf.subarray(0, end < 0 ? buf.length : end)).toString();
}

/** Replace this process. Returns only by throwing. */
export function execve(path: string, argv: string[], env: string[]): never {
  c.execve(path, [...argv, null], [...env, null]);
  throw new SyscallError('execve', [path, argv], koffi.errno());
}

export function kill(pid: number, sig: number): void {
  check(c.kill(pid, sig), 'kill', [pid, sig]);
}

export function waitpid(pid: number, options = 0): { pid: number; status: number } {
  const status = [0];
  const r = check(c.waitpid(pid, status, options), 'waitpid', [pid, options]);
  return { pid: r, status: status[0] ?? 0 }; // koffi wrote the int into status[0]
}

export function setParentDeathSignal(sig: number): void {
  check(c.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0), 'prctl', [new Raw('PR_SET_PDEATHSIG'), sig]);
}

/** Make `to` a copy of `from` (dup2), closing what `to` was. */
export function dup2(from: number, to: number): void {
  check(c.dup2(from, to), 'dup2', [from, to]);
}

export function setCloexec(fd: number, on: boolean): void {
  check(c.fcntl(fd, F_SETFD, 'int', on ? FD_CLOEXEC : 0), 'fcntl', [fd, new Raw('F_SETFD'), new Raw(on ? 'FD_CLOEXEC' : '0')]);
}

// System V IPC (<sys/ipc.h>): create flags, not in os.constants.
export const IPC_CREAT = 0o1000;

/** A System V message queue with this key in the calling thread's IPC namespace (made if
 * missing): its id. */
export function msgget(key: number, flags: number): number {
  return check(c.msgget(key, flags), 'msgget', ['0x' + key.toString(16), '0' + flags.toString(8)]);
}

// ---- privileges: capabilities, no_new_privs, seccomp (<linux/prctl.h>, <linux/capability.h>,
// <linux/seccomp.h>; not in os.constants). Each of these changes the calling THREAD only:
// call them on the main thread of a helper that then execve()s or spawns (nsinit.ts,
// confine.ts), never in the driver.
export const PR_SET_SECCOMP = 22;
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_GET_NO_NEW_PRIVS = 39;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;
export const SECCOMP_MODE_FILTER = 2;
/** capset's header version for 64 capability bits in two 32-bit words (Linux 2.6.26+). */
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/** Take a capability out of this thread's bounding set: no execve can give it back.
 * Needs CAP_SETPCAP. */
export function dropBoundingCap(cap: number): void {
  check(c.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), 'prctl', [new Raw('PR_CAPBSET_DROP'), cap]);
}

/** Whether a capability is in this thread's bounding set; null when the running kernel has
 * no capability of that number (EINVAL): how its last one is found without /proc. */
export function readBoundingCap(cap: number): boolean | null {
  const r = Number(c.prctl(PR_CAPBSET_READ, cap, 0, 0, 0));
  if (r < 0 && koffi.errno() === os.constants.errno.EINVAL) return null;
  return check(r, 'prctl', [new Raw('PR_CAPBSET_READ'), cap]) === 1;
}

/** Empty this thread's ambient set (capabilities kept across an execve as non-root). */
export function clearAmbientCaps(): void {
  check(c.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), 'prctl', [new Raw('PR_CAP_AMBIENT'), new Raw('PR_CAP_AMBIENT_CLEAR_ALL')]);
}

/** No execve of this thread (or of anything it starts) may gain privileges again: setuid
 * bits and file capabilities stop working. Cannot be undone. */
export function setNoNewPrivs(): void {
  check(c.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 'prctl', [new Raw('PR_SET_NO_NEW_PRIVS'), 1]);
}

/** Install a seccomp filter (classic BPF, 8 bytes an instruction) on this thread: from
 * now on every syscall it and its children make runs through it. Needs no_new_privs or
 * CAP_SYS_ADMIN. Filters stack; none can be removed. */
export function installSeccompFilter(program: Buffer): void {
  if (program.length === 0 || program.length % 8 !== 0) throw new Error(`a seccomp program is whole 8-byte instructions, not ${program.length} bytes`);
  const prog = { len: program.length / 8, filter: program };
  check(prctlFprog(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0), 'prctl', [new Raw('PR_SET_SECCOMP'), new Raw('SECCOMP_MODE_FILTER'), new Raw(`{len: ${prog.len}}`)]);
}

/** A thread's effective, permitted and inheritable capability sets (64-bit masks). */
export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/** capget/capset's header: version 3 (64 capability bits in two 32-bit words, Linux
 * 2.6.26+) and pid 0, this thread. Their data: two struct __user_cap_data_struct
 * {effective, permitted, inheritable} of u32, for bits 0-31 and then 32-63. */
function capHeader(): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
  header.writeInt32LE(0, 4);
  return header;
}
const hexMask = (m: bigint) => new Raw('0x' + m.toString(16));

/** This thread's capability sets. */
export function capget(): CapSets {
  const data = Buffer.alloc(24);
  check(c.capget(capHeader(), data), 'capget', []);
  const mask = (field: number) => BigInt(data.readUInt32LE(field)) | (BigInt(data.readUInt32LE(12 + field)) << 32n);
  return { effective: mask(0), permitted: mask(4), inheritable: mask(8) };
}

/** Set this thread's capability sets. Lowering needs nothing; raising beyond what is
 * permitted is refused (EPERM). */
export function capset(sets: CapSets): void {
  const data = Buffer.alloc(24);
  const low = (m: bigint) => Number(m & 0xffffffffn);
  const high = (m: bigint) => Number((m >> 32n) & 0xffffffffn);
  for (const [offset, word] of [
    [0, low],
    [12, high],
  ] as const) {
    data.writeUInt32LE(word(sets.effective), offset);
    data.writeUInt32LE(word(sets.permitted), offset + 4);
    data.writeUInt32LE(word(sets.inheritable), offset + 8);
  }
  check(c.capset(capHeader(), data), 'capset', [hexMask(sets.effective), hexMask(sets.permitted), hexMask(sets.inheritable)]);
}

// ptrace requests (<linux/ptrace.h>) and waitpid's __WALL (<linux/wait.h>).
export const PTRACE_DETACH = 17;
export const PTRACE_SEIZE = 0x4206;
export const PTRACE_INTERRUPT = 0x4207;
export const PTRACE_SECCOMP_GET_FILTER = 0x420c;
export const __WALL = 0x40000000;
const PTRACE_NAMES: Record<number, string> = { [PTRACE_DETACH]: 'PTRACE_DETACH', [PTRACE_SEIZE]: 'PTRACE_SEIZE', [PTRACE_INTERRUPT]: 'PTRACE_INTERRUPT', [PTRACE_SECCOMP_GET_FILTER]: 'PTRACE_SECCOMP_GET_FILTER' };

/** One ptrace request. The tracer is the calling thread: every request on a tracee, and
 * the waitpid for its stops, must come from the thread that seized it (the main thread). */
export function ptrace(request: number, pid: number, addr = 0, data: Buffer | null = null): number {
  return check(c.ptrace(request, pid, addr, data), 'ptrace', [new Raw(PTRACE_NAMES[request] ?? String(request)), pid, addr]);
}

export function getpid(): number {
  return c.getpid();
}

// flock() operations (<sys/file.h>), not in os.constants.
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** An advisory lock on an open file; the kernel drops it when the process dies. */
export function flock(fd: number, operation: number): void {
  const names = [operation & LOCK_EX ? 'LOCK_EX' : operation & LOCK_SH ? 'LOCK_SH' : 'LOCK_UN', operation & LOCK_NB ? 'LOCK_NB' : ''].filter(Boolean).join('|');
  check(c.flock(fd, operation), 'flock', [fd, new Raw(names)]);
}

const { SIGTTOU } = os.constants.signals;
// signal()'s handler argument: SIG_DFL and SIG_IGN are the integers 0 and 1 (<signal.h>).
const SIG_DFL = 0;
const SIG_IGN = 1;

/** Make this process's group the terminal's foreground group again. An interactive shell
 * in another PID namespace takes the terminal for its own job control and cannot hand it
 * back when it exits (it cannot see our process group from there). */
export function reclaimTerminal(fd = 0): boolean {
  const mine = c.getpgrp();
  if (c.tcgetpgrp(fd) === mine) return false;
  // A background process that sets the foreground group gets SIGTTOU unless it ignores it.
  c.signal(SIGTTOU, SIG_IGN);
  try {
    check(c.tcsetpgrp(fd, mine), 'tcsetpgrp', [fd, mine]);
  } finally {
    c.signal(SIGTTOU, SIG_DFL);
  }
  return true;
}

// ---- terminals: sessions and pseudo-terminals ----
// ioctl request numbers (<asm-generic/ioctls.h>, the same on every architecture listed in
// SYSCALL_NR above); not in os.constants.
const TIOCSCTTY = 0x540e;
const TIOCSWINSZ = 0x5414;
const TIOCGWINSZ = 0x5413;
const TIOCGPTN = 0x80045430; // _IOR('T', 0x30, unsigned int)
const TIOCSPTLCK = 0x40045431; // _IOW('T', 0x31, int)
const TIOCGPTPEER = 0x5441; // _IO('T', 0x41), Linux 4.13+

/** Start a new session with this process as its leader (and a new process group); it has
 * no controlling terminal until it takes one (setControllingTerminal). */
export function setsid(): number {
  return check(c.setsid(), 'setsid', []);
}

/** Make the terminal on fd the controlling terminal of this session. The caller must be a
 * session leader without one (just after setsid); the terminal must not be another
 * session's (arg 0: never steal it). */
export function setControllingTerminal(fd: number): void {
  check(c.ioctl(fd, TIOCSCTTY, 'int', 0), 'ioctl', [fd, new Raw('TIOCSCTTY'), 0]);
}

/** A new pty master is locked: its slave cannot be opened until it is unlocked (what
 * unlockpt(3) does). */
export function unlockPty(master: number): void {
  check(c.ioctl(master, TIOCSPTLCK, 'int *', [0]), 'ioctl', [master, new Raw('TIOCSPTLCK'), 0]);
}

/** The number N of the slave /dev/pts/N that belongs to a pty master. */
export function ptyNumber(master: number): number {
  const n = Buffer.alloc(4);
  check(c.ioctl(master, TIOCGPTN, 'void *', n), 'ioctl', [master, new Raw('TIOCGPTN')]);
  return n.readUInt32LE(0);
}

/** Open the slave of a pty master by the master itself, with no path lookup: the slave of
 * the master's own devpts instance, wherever that is mounted. `flags` are open(2) flags. */
export function openPtyPeer(master: number, flags: number): number {
  return check(c.ioctl(master, TIOCGPTPEER, 'int', flags), 'ioctl', [master, new Raw('TIOCGPTPEER'), flags]);
}

/** Set a terminal's window size (struct winsize: rows, columns, then two unused pixel
 * sizes); on a pty master the slave's foreground process group gets SIGWINCH. */
export function setWindowSize(fd: number, rows: number, columns: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(columns, 2);
  check(c.ioctl(fd, TIOCSWINSZ, 'void *', ws), 'ioctl', [fd, new Raw('TIOCSWINSZ'), rows, columns]);
}

export function getWindowSize(fd: number): { rows: number; columns: number } {
  const ws = Buffer.alloc(8);
  check(c.ioctl(fd, TIOCGWINSZ, 'void *', ws), 'ioctl', [fd, new Raw('TIOCGWINSZ')]);
  return { rows: ws.readUInt16LE(0), columns: ws.readUInt16LE(2) };
}

// ---- flag names, for messages and the lesson texts ----
export const NAMESPACES = {
  mnt: { flag: CLONE.NEWNS, clone: 'CLONE_NEWNS', proc: 'mnt', title: msg('mount') },
  uts: { flag: CLONE.NEWUTS, clone: 'CLONE_NEWUTS', proc: 'uts', title: msg('UTS (hostname)') },
  ipc: { flag: CLONE.NEWIPC, clone: 'CLONE_NEWIPC', proc: 'ipc', title: 'IPC' },
  net: { flag: CLONE.NEWNET, clone: 'CLONE_NEWNET', proc: 'net', title: msg('network') },
  pid: { flag: CLONE.NEWPID, clone: 'CLONE_NEWPID', proc: 'pid', title: 'PID' },
  cgroup: { flag: CLONE.NEWCGROUP, clone: 'CLONE_NEWCGROUP', proc: 'cgroup', title: 'cgroup' },
} as const;
export type Namespace = keyof typeof NAMESPACES;
export const NAMESPACE_TYPES = Object.keys(NAMESPACES) as Namespace[];

export function namespaceFlags(list: readonly Namespace[]): number {
  let flags = 0;
  for (const ns of list) {
    const def = NAMESPACES[ns];
    if (!def) throw new Error(`unknown namespace type "${ns}" (known: ${NAMESPACE_TYPES.join(', ')})`);
    flags |= def.flag;
  }
  return flags;
}

export function flagNames(flags: number): string {
  const names: string[] = [];
  let rest = flags;
  for (const def of Object.values(NAMESPACES)) {
    if (rest & def.flag) {
      names.push(def.clone);
      rest &= ~def.flag;
    }
  }
  if (rest & CLONE.FS) {
    names.push('CLONE_FS');
    rest &= ~CLONE.FS;
  }
  if (rest & CLONE.NEWUSER) {
    names.push('CLONE_NEWUSER');
    rest &= ~CLONE.NEWUSER;
  }
  if (rest & CLONE.NEWTIME) {
    names.push('CLONE_NEWTIME');
    rest &= ~CLONE.NEWTIME;
  }
  if (rest) names.push('0x' + rest.toString(16));
  return names.join('|') || '0';
}

export function mountFlagNames(flags: number): string {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(MS)) if (flags & bit) names.push('MS_' + name);
  return names.join('|') || '0';
}
