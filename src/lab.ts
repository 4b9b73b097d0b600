// Where a learner's lab lives and what they have passed. The lab belongs to the user who
// invoked the workbook, also under sudo (SUDO_USER), so progress follows the person.
import { isLanguage, type Language } from './i18n/language.js';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { Journal, recover, acquireLock, describeHolder, machineLockDir, HintedError, type Recovered } from './core/index.js';
import { t, tr } from './i18n/messages.js';

export interface Invoker {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

/** Pure: a passwd line for `user`, or null. */
export function passwdEntry(passwd: string, user: string): Invoker | null {
  for (const line of passwd.split('\n')) {
    // name:password:uid:gid:gecos:home:shell; a line with fewer fields is not an entry.
    const [name, , uid, gid, , home, shell] = line.split(':');
    if (name === user && home !== undefined && shell !== undefined) return { user, uid: Number(uid), gid: Number(gid), home };
  }
  return null;
}

export function invoker(env: NodeJS.ProcessEnv = process.env): Invoker {
  const sudoUser = env.SUDO_USER;
  if (sudoUser && sudoUser !== 'root') {
    try {
      const e = passwdEntry(fs.readFileSync('/etc/passwd', 'utf8'), sudoUser);
      if (e) return e;
    } catch {
      /* fall through */
    }
    return { user: sudoUser, uid: Number(env.SUDO_UID ?? 0), gid: Number(env.SUDO_GID ?? 0), home: path.join('/home', sudoUser) };
  }
  const info = os.userInfo();
  return { user: info.username, uid: info.uid, gid: info.gid, home: env.HOME || info.homedir };
}

export interface Lab {
  root: string;
  invoker: Invoker;
  progressFile: string;
  rootfs: string;
  /** The rootfs was named by CONTAINER_LESSONS_ROOTFS: the learner's own, never built or removed here. */
  customRootfs: boolean;
}

export function labFor(env: NodeJS.ProcessEnv = process.env): Lab {
  const who = invoker(env);
  const root = path.resolve(env.CONTAINER_LESSONS_HOME || path.join(who.home, 'container-lessons'));
  return {
    root,
    invoker: who,
    progressFile: path.join(root, 'progress.json'),
    rootfs: path.resolve(env.CONTAINER_LESSONS_ROOTFS || path.join(root, 'rootfs')),
    customRootfs: !!env.CONTAINER_LESSONS_ROOTFS,
  };
}

/** Create the lab directory, owned by the invoking user so they can look and clean up. */
export class LabError extends HintedError {
  readonly exitCode = 3;
}

/** A file-system error in the lab, as a message that says what to do. */
export function labError(lab: Lab, err: unknown, doing: string): Error {
  const e = err as NodeJS.ErrnoException;
  const where = lab.root;
  if (e.code === 'EROFS') return new LabError(t`${doing}: the lab ${where} is on a read-only filesystem`, t`set CONTAINER_LESSONS_HOME to a writable directory`);
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return new LabError(t`${doing}: no space left for the lab ${where}`, t`free some space there, or set CONTAINER_LESSONS_HOME to a roomier place`);
  if (e.code === 'EACCES' || e.code === 'EPERM') return new LabError(t`${doing}: the lab ${where} cannot be written (${e.code})`, t`run as root (sudo), or set CONTAINER_LESSONS_HOME to a directory root can write`);
  if (e.code === 'ENOTDIR' || e.code === 'EEXIST') return new LabError(t`${doing}: the lab ${where} is not a directory`, t`move that file away, or set CONTAINER_LESSONS_HOME elsewhere`);
  return err as Error;
}

export function ensureLabRoot(lab: Lab): void {
  try {
    if (!fs.existsSync(lab.root)) {
      fs.mkdirSync(lab.root, { recursive: true });
      chownToInvoker(lab, lab.root);
    } else if (!fs.statSync(lab.root).isDirectory()) {
      throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    }
    fs.accessSync(lab.root, fs.constants.W_OK);
  } catch (err) {
    // mkdir -p on a read-only filesystem can report ENOENT: ask the nearest existing parent.
    let cause = err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      let p = lab.root;
      while (!fs.existsSync(p)) p = path.dirname(p);
      try {
        fs.accessSync(p, fs.constants.W_OK);
      } catch (e) {
        cause = e;
      }
    }
    throw labError(lab, cause, t`cannot use the lab`);
  }
}

export function chownToInvoker(lab: Lab, p: string): void {
  if (process.getuid?.() === 0 && lab.invoker.uid !== 0) {
    try {
      fs.chownSync(p, lab.invoker.uid, lab.invoker.gid);
    } catch {
      /* not fatal */
    }
  }
}

export interface Progress {
  version: 1;
  /** lesson id -> when it was first passed */
  passed: Record<string, string>;
  /** The language the learner chose with --lang (the locale decides when there is none). */
  language?: Language;
}

export function emptyProgress(): Progress {
  return { version: 1, passed: {} };
}

/** Pure: parse a progress file; anything unexpected gives an error that says so. */
export function parseProgress(text: string): Progress {
  const data = JSON.parse(text);
  if (!data || typeof data !== 'object' || data.version !== 1 || typeof data.passed !== 'object' || data.passed === null) {
    throw new Error(t`not a container-lessons progress file (version 1)`);
  }
  const passed: Record<string, string> = {};
  for (const [k, v] of Object.entries(data.passed)) if (typeof v === 'string') passed[k] = v;
  return isLanguage(data.language) ? { version: 1, passed, language: data.language } : { version: 1, passed };
}

export function readProgress(lab: Lab): Progress {
  let text: string;
  try {
    text = fs.readFileSync(lab.progressFile, 'utf8');
  } catch {
    return emptyProgress();
  }
  try {
    return parseProgress(text);
  } catch (err) {
    throw new LabError(t`${lab.progressFile} is unreadable (${(err as Error).message}); it was left as it is`, t`move it away (mv ${lab.progressFile} ${lab.progressFile}.old) to start your progress over; nothing else is lost`);
  }
}

/** Write atomically: a crash leaves the old file or the new one, never half of one. */
export function writeProgress(lab: Lab, p: Progress): void {
  ensureLabRoot(lab);
  const tmp = `${lab.progressFile}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(p, null, 2) + '\n');
    chownToInvoker(lab, tmp);
    fs.renameSync(tmp, lab.progressFile);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw labError(lab, err, t`cannot save your progress`);
  }
}

/** Keep the language the learner chose with the progress (no write when it is already kept). */
export function saveLanguage(lab: Lab, language: Language): void {
  const p = readProgress(lab);
  if (p.language !== language) writeProgress(lab, { ...p, language });
}

export function markPassed(lab: Lab, lessonId: string): void {
  const p = readProgress(lab);
  if (!p.passed[lessonId]) {
    p.passed[lessonId] = new Date().toISOString();
    writeProgress(lab, p);
  }
}

// ---- one workbook per lab at a time, and recovery after a crash ----

const journals = new Map<string, Journal>();

/** This process's journal in the lab (journal.ts): what it creates, recorded first. */
export function labJournal(lab: Lab): Journal {
  let j = journals.get(lab.root);
  if (!j) {
    ensureLabRoot(lab);
    try {
      j = new Journal(path.join(lab.root, '.journal'));
    } catch (err) {
      throw labError(lab, err, t`cannot record what the lessons make`);
    }
    journals.set(lab.root, j);
  }
  return j;
}

/** Labs inside a lab, each with a journal of its own: the capstone's, which the runtime under
 * test (the workbook's own `run` among them) is given as its CONTAINER_LESSONS_HOME. */
const INNER_LABS = ['capstone'];

/** Undo what killed container-lessons processes left in this lab: its own journals first (they
 * stop the processes a lesson started, a `run` among them), then those of its inner labs (what
 * such a `run` had made). */
export async function recoverLab(lab: Lab): Promise<Recovered> {
  const found = await recover(path.join(lab.root, '.journal'));
  for (const inner of INNER_LABS) {
    const dir = path.join(lab.root, inner, '.journal');
    if (!fs.existsSync(dir)) continue;
    const more = await recover(dir);
    found.removed.push(...more.removed);
    found.errors.push(...more.errors);
    found.heldMs += more.heldMs;
  }
  return found;
}

/** The lab is used by one workbook (TUI, solve, reset) at a time. */
export async function lockLab(lab: Lab, what: string): Promise<() => void> {
  ensureLabRoot(lab);
  return acquireLock(path.join(lab.root, '.lock'), {
    what,
    busy: (h) => ({
      message: t`another container-lessons is using the lab ${lab.root} (${describeHolder(h)})`,
      hint: t`finish or quit it first; two people on one machine each get their own lab (run as your own user, or set CONTAINER_LESSONS_HOME)`,
    }),
  });
}

/** A name the whole machine shares (a cgroup, a bridge), declared by the lesson that uses it. */
export interface MachineName {
  /** The lock's file name: unique on the machine, e.g. "cgroup-container". */
  key: string;
  /** What it is, for messages: msg('the cgroup "container"'), translated where it is shown (tr). */
  what: string;
}

/** Take a machine-wide name: one workbook uses it at a time; others wait `waitMs` (told
 * through onWait) or are told who holds it. */
export async function holdMachineName(name: MachineName, opts: { waitMs?: number; onWait?: (who: string) => void } = {}): Promise<() => void> {
  return acquireLock(path.join(machineLockDir(), `${name.key}.lock`), {
    what: name.what,
    waitMs: opts.waitMs,
    onWait: (h) => opts.onWait?.(describeHolder(h)),
    busy: (h) => ({
      message: t`${tr(name.what)} is in use by another workbook (${describeHolder(h)})`,
      hint: t`${tr(name.what)} is one name for the whole machine; wait until the other learner is done with it, then try again`,
    }),
  });
}
