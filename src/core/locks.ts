// Advisory locks between container-lessons processes (flock: the kernel drops a lock
// when its process dies, so a crash never leaves a stale lock behind).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flock, LOCK_EX, LOCK_NB, LOCK_UN, SyscallError } from './libc.js';
import { HintedError } from './errors.js';
import { t, tr } from '../i18n/messages.js';

export interface Holder {
  pid: number;
  user?: string;
  what: string;
  since: string;
}

export class LockBusyError extends HintedError {
  /** Always given: the constructor requires it (a type-only narrowing of HintedError's). */
  declare readonly hint: string;
  constructor(
    message: string,
    readonly holder: Holder | null,
    hint: string,
  ) {
    super(message, hint);
  }
}

/** Where machine-wide locks live (the lesson 2 cgroup name is one for the whole machine). */
export function machineLockDir(): string {
  for (const dir of ['/run/container-lessons', path.join(os.tmpdir(), 'container-lessons-locks')]) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      fs.accessSync(dir, fs.constants.W_OK);
      return dir;
    } catch {
      /* next */
    }
  }
  throw new Error(t`no writable place for locks (/run or the temp directory)`);
}

function readHolder(file: string): Holder | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function tryLock(fd: number): boolean {
  try {
    flock(fd, LOCK_EX | LOCK_NB);
    return true;
  } catch (err) {
    if (err instanceof SyscallError && (err.code === 'EWOULDBLOCK' || err.code === 'EAGAIN')) return false;
    throw err;
  }
}

/** Take an exclusive lock on `file`; returns its release. Busy: wait up to waitMs, then throw. */
export async function acquireLock(file: string, opts: { what: string; busy: (h: Holder | null) => { message: string; hint: string }; waitMs?: number; onWait?: (h: Holder | null) => void }): Promise<() => void> {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  let ok = tryLock(fd);
  if (!ok && opts.waitMs) {
    opts.onWait?.(readHolder(file));
    const end = Date.now() + opts.waitMs;
    while (!ok && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      ok = tryLock(fd);
    }
  }
  if (!ok) {
    fs.closeSync(fd);
    const h = readHolder(file);
    const b = opts.busy(h);
    throw new LockBusyError(b.message, h, b.hint);
  }
  const holder: Holder = { pid: process.pid, user: process.env.SUDO_USER || os.userInfo().username, what: opts.what, since: new Date().toISOString() };
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, JSON.stringify(holder) + '\n', 0);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    try {
      fs.ftruncateSync(fd, 0);
      flock(fd, LOCK_UN);
    } finally {
      fs.closeSync(fd);
    }
  };
}

export function describeHolder(h: Holder | null): string {
  if (!h) return t`another process`;
  const since = h.since.slice(11, 19);
  // `what` comes from the holder's lock file, in English: a name marked with msg() where it is
  // declared is shown in the language in use.
  const what = tr(h.what);
  return h.user ? t`pid ${h.pid}, user ${h.user}, ${what}, since ${since}` : t`pid ${h.pid}, ${what}, since ${since}`;
}
