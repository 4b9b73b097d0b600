// A durable record of what this process creates, written *before* each thing is created,
// so that a later process can undo it after this one was killed with SIGKILL (or its
// machine's terminal went away) and never had the chance to clean up.
//
// One journal file per process, <dir>/<pid>.jsonl, held with flock(LOCK_EX) for the life
// of the process. The kernel drops the lock when the process dies, however it dies: a
// journal whose lock can be taken belongs to a dead process and is replayed (its pending
// undos run newest first), then deleted. A live process's journal can never be taken.
//
// What is undone is described as data (Undo): this file stores and replays such
// descriptions and knows nothing of the resources they name. One function carries them out,
// `undo` in undo.ts; the in-process cleanup (the Ledger) and `recover` both use it, so the
// path a recovery takes is the path every test takes.
import fs from 'node:fs';
import path from 'node:path';
import { flock, LOCK_EX, LOCK_NB, SyscallError } from './libc.js';
import { TAG_VAR } from './tag.js';
import { comm, listPids, pidAlive } from './procfs.js';
import { t } from '../i18n/messages.js';

export type Undo =
  /** Unmount (every layer stacked there). */
  | { kind: 'mount'; target: string }
  /** rmdir a cgroup; processes still in it are moved to the parent first. */
  | { kind: 'cgroup'; dir: string }
  /** Write a value to a kernel setting file (e.g. "-cpu" to cgroup.subtree_control). */
  | { kind: 'setting'; file: string; value: string }
  /** SIGKILL every process that carries `tag` (in its command line, or in its environment
   * as CONTAINER_LESSONS_TAG, which every child inherits) and their descendants. A tag is a
   * fresh UUID: unlike a pid or a namespace's inode number, it is never reused. With
   * `termMs`, the topmost of them (a program that cleans up after itself on SIGTERM, as the
   * capstone's runtimes must) get SIGTERM first and that long to end. */
  | { kind: 'procs'; tag: string; termMs?: number }
  /** rm -rf a file or directory the project made. */
  | { kind: 'file'; path: string }
  /** Delete a network link the project made in the host's namespace (a bridge, a veth).
   * Names are the machine's: with `alias`, only a link that still carries that alias (set
   * right after creation, unique per run) is ours; another run may have made one since. */
  | { kind: 'link'; name: string; alias?: string }
  /** Nothing in the kernel: an in-process step only (releasing a lock). Never journaled. */
  | { kind: 'none'; name: string };

export function describeUndo(u: Undo): { kind: string; name: string } {
  switch (u.kind) {
    case 'mount':
      return { kind: 'mount', name: u.target };
    case 'cgroup':
      return { kind: 'cgroup', name: u.dir };
    case 'setting':
      return { kind: 'setting', name: `${u.file} ${u.value}` };
    case 'procs':
      return { kind: 'processes', name: u.tag };
    case 'file':
      return { kind: 'file', name: u.path };
    case 'link':
      return { kind: 'link', name: u.name };
    case 'none':
      return { kind: 'step', name: u.name };
  }
}

export { TAG_VAR };

type Record = { id: number; undo: Undo } | { done: number };

export class Journal {
  readonly file: string;
  private fd: number;
  private next = 1;
  private pending = new Map<number, Undo>();

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    // The pid alone could repeat (a dead process's journal, pid reused); the time makes it unique.
    this.file = path.join(dir, `${process.pid}-${Date.now()}.jsonl`);
    // O_APPEND: every record goes to the end, also after the file was emptied.
    this.fd = fs.openSync(this.file, 'a');
    flock(this.fd, LOCK_EX | LOCK_NB);
    process.once('exit', () => this.close());
  }

  private write(r: Record): void {
    fs.writeSync(this.fd, JSON.stringify(r) + '\n');
    fs.fsyncSync(this.fd);
  }

  /** Record an undo before the thing exists. Returns its id. */
  record(u: Undo): number {
    const id = this.next++;
    this.write({ id, undo: u });
    this.pending.set(id, u);
    return id;
  }

  done(id: number): void {
    if (!this.pending.delete(id)) return;
    this.write({ done: id });
    this.closeIfEmpty();
  }

  /** With nothing pending the file has no use: remove it (the lock goes with the fd). */
  private closeIfEmpty(): void {
    if (this.pending.size || this.fd < 0) return;
    // Truncate rather than unlink while other code may still record into it.
    fs.ftruncateSync(this.fd, 0);
  }

  /** End of the process's work: remove the file if nothing is pending. */
  close(): void {
    if (this.fd < 0) return;
    if (!this.pending.size) fs.rmSync(this.file, { force: true });
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Pure: the undos still pending in a journal's text, in the order they were recorded. */
export function pendingUndos(text: string): Undo[] {
  const pending = new Map<number, Undo>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let r: Record;
    try {
      r = JSON.parse(line);
    } catch {
      continue; // a line cut short by the crash: it was never acted on
    }
    if ('undo' in r) pending.set(r.id, { ...r.undo });
    else if ('done' in r) pending.delete(r.done);
  }
  return [...pending.values()];
}

/** How long a journal whose writer has ended may stay locked by another process before
 * recovery gives up on it: a child the writer was forking holds the lock (flock's lock
 * belongs to the open file, which fork shares) until its exec closes the file, and on a
 * busy machine that child may not have run yet when the writer's death is reported. */
const HELD_AFTER_DEATH_MS = 3000;

/** The process that wrote `file` (named <pid>-<ms>.jsonl) has ended: no such process, or
 * only its zombie. (A reused pid counts as alive: the journal is then left for later.) */
function writerEnded(file: string): boolean {
  const pid = Number(path.basename(file).split('-')[0]);
  return !Number.isInteger(pid) || pid <= 0 || !pidAlive(pid);
}

/** The processes other than this one that have `file` open (to name them when one holds a
 * dead process's journal). */
function holdersOf(file: string): string[] {
  const opens = (pid: number) => {
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file);
    } catch {
      return false; // gone, or one of its files closed meanwhile
    }
  };
  return listPids()
    .filter((pid) => pid !== process.pid && opens(pid))
    .map((pid) => `${pid} (${comm(pid) ?? '?'})`);
}

/** Take the lock of a journal whose process may be dead: 'locked' when taken; 'live' when its
 * writer still runs; an error message when its writer ended but another process kept the
 * lock past HELD_AFTER_DEATH_MS (a child that inherited the open file and never exec'd).
 * heldMs: how long it waited for another process to let go (0 when the lock came at once). */
async function lockDeadJournal(fd: number, file: string): Promise<{ lock: 'locked' | 'live' | string; heldMs: number }> {
  const asked = Date.now();
  const heldMs = (tries: number) => (tries ? Date.now() - asked : 0);
  for (let tries = 0; ; tries++) {
    try {
      flock(fd, LOCK_EX | LOCK_NB);
      return { lock: 'locked', heldMs: heldMs(tries) };
    } catch (err) {
      if (!(err instanceof SyscallError && (err.code === 'EWOULDBLOCK' || err.code === 'EAGAIN'))) throw err;
    }
    if (!writerEnded(file)) return { lock: 'live', heldMs: 0 };
    if (Date.now() - asked >= HELD_AFTER_DEATH_MS) {
      const held = holdersOf(file);
      const holders = held.length ? held.join(', ') : t`another process`;
      return { lock: t`journal ${file}: its process ended, but ${holders} still holds it open`, heldMs: heldMs(tries) };
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What a recovery did: what it removed, what it could not, and how long it waited for the
 * journals of ended processes that another process still held (HELD_AFTER_DEATH_MS). */
export interface Recovered {
  removed: Array<{ kind: string; name: string }>;
  errors: string[];
  heldMs: number;
}

/** Replay the journals of dead processes in `dir`: carry out what they left with `run`,
 * newest first (`recover` in undo.ts passes the executor). */
export async function replayJournals(dir: string, run: (u: Undo) => Promise<void>): Promise<Recovered> {
  const removed: Array<{ kind: string; name: string }> = [];
  const errors: string[] = [];
  let heldMs = 0;
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  } catch {
    return { removed, errors, heldMs };
  }
  for (const f of files) {
    const file = path.join(dir, f);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r+');
    } catch {
      continue;
    }
    try {
      const { lock, heldMs: held } = await lockDeadJournal(fd, file);
      heldMs += held;
      if (lock === 'live') continue; // its process lives: its work is its own
      if (lock !== 'locked') {
        errors.push(lock);
        continue;
      }
      const undos = pendingUndos(fs.readFileSync(fd, 'utf8'));
      for (const u of undos.reverse()) {
        try {
          await run(u);
          removed.push(describeUndo(u));
        } catch (err) {
          errors.push(`${describeUndo(u).kind} ${describeUndo(u).name}: ${(err as Error).message}`);
        }
      }
      if (!errors.length) fs.rmSync(file, { force: true });
    } finally {
      fs.closeSync(fd);
    }
  }
  return { removed, errors, heldMs };
}
