// A record of everything the core creates, undone in reverse order. Code registers what
// it is about to create *before* creating it (and drops the entry if creation turned out
// to touch something that was not ours, e.g. EEXIST). With a Journal the record is also
// on disk, so that a later process can undo it if this one is killed (journal.ts); undo.ts
// carries out each kind of undo.
import { describeUndo, type Undo, type Journal } from './journal.js';
import { undo } from './undo.js';
import { t } from '../i18n/messages.js';

export interface Entry {
  readonly undo: Undo;
  /** A faster undo while this process still holds the live objects (a Running's kill). */
  live?: () => void | Promise<void>;
  /** Creation failed before anything existed, or what exists is not ours: forget it. */
  drop(): void;
}

/** Run an in-process undo and forget how it went (a lock's release cannot fail in a way
 * anyone could act on). */
function letGo(e: Entry): void {
  try {
    void Promise.resolve(e.live?.()).catch(() => {});
  } catch {
    /* nothing to do */
  }
}

/** Set when the process is stopping (a signal): nothing new may be created after that. */
let stopping: string | null = null;

export class Ledger {
  private entries: Array<Entry & { id?: number }> = [];

  constructor(readonly journal?: Journal) {}

  /** Refuse every later add(), in every ledger: work still in flight fails before it creates. */
  static stopAll(reason: string | null): void {
    stopping = reason;
  }

  add(u: Undo, live?: Entry['live']): Entry {
    if (stopping && u.kind !== 'none') throw new Error(`not started: ${stopping}`);
    const entry: Entry & { id?: number } = {
      undo: u,
      live,
      id: u.kind === 'none' ? undefined : this.journal?.record(u),
      drop: () => {
        this.entries = this.entries.filter((e) => e !== entry);
        if (entry.id !== undefined) this.journal?.done(entry.id);
      },
    };
    this.entries.push(entry);
    return entry;
  }

  /** Make an entry the newest, as if what it undoes were made now (a prepared container
   * taken by a step): what was made since it was recorded (the group that container joins)
   * is then undone before it, here and in the journal. */
  renew(entry: Entry): void {
    const e = this.entries.find((x) => x === entry);
    if (!e) return;
    this.entries = this.entries.filter((x) => x !== e);
    if (e.id !== undefined) {
      const old = e.id;
      e.id = this.journal?.record(e.undo);
      this.journal?.done(old);
    }
    this.entries.push(e);
  }

  /** Something to do at cleanup that leaves nothing in the kernel if skipped (a lock). */
  defer(name: string, fn: () => void | Promise<void>): void {
    this.add({ kind: 'none', name }, fn);
  }

  list(): Array<{ kind: string; name: string }> {
    return this.entries.filter((e) => e.undo.kind !== 'none').map((e) => describeUndo(e.undo));
  }

  get size(): number {
    return this.entries.length;
  }

  /** Forget the entries without undoing them (solve --keep): the process no longer owns
   * them. Returns what they would undo, oldest first, for whoever takes them over. What is
   * only this process's (a lock, deferred) is let go now, as the process's exit would: a
   * reset in this same process must be able to take the lock again. */
  release(): Undo[] {
    const kept = this.entries.filter((e) => e.undo.kind !== 'none').map((e) => e.undo);
    for (const e of this.entries) if (e.undo.kind === 'none') letGo(e);
    for (const e of this.entries) if (e.id !== undefined) this.journal?.done(e.id);
    this.entries = [];
    return kept;
  }

  private cleaning: Promise<Error[]> | null = null;

  /** Undo everything, newest first. Keeps going past failures and reports them all.
   * One cleanup at a time: a second caller (a signal handler while the lesson's own
   * cleanup runs) waits for the first, so it never returns while an undo is half done. */
  async cleanup(): Promise<Error[]> {
    while (this.cleaning) await this.cleaning.catch(() => []);
    this.cleaning = this.undoAll();
    try {
      return await this.cleaning;
    } finally {
      this.cleaning = null;
    }
  }

  private async undoAll(): Promise<Error[]> {
    const errors: Error[] = [];
    while (this.entries.length) {
      const e = this.entries.pop()!;
      try {
        if (e.live) await e.live();
        await undo(e.undo); // also after a live undo: idempotent, and it checks the kernel
        if (e.id !== undefined) this.journal?.done(e.id);
      } catch (err) {
        const d = describeUndo(e.undo);
        errors.push(new Error(t`could not remove ${d.kind} ${d.name}: ${(err as Error).message}`));
      }
    }
    return errors;
  }
}
