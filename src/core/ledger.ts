// A record of everything the core creates, undone in reverse order. Every create*
// function in the core takes a Ledger and registers the undo step *before* it returns,
// so an error half-way through a lesson still leaves a complete list to undo.

export interface LedgerEntry {
  kind: 'mount' | 'cgroup' | 'process' | 'file' | 'setting';
  name: string;
  undo: () => void | Promise<void>;
}

export class Ledger {
  private entries: LedgerEntry[] = [];

  add(kind: LedgerEntry['kind'], name: string, undo: LedgerEntry['undo']): void {
    this.entries.push({ kind, name, undo });
  }

  list(): ReadonlyArray<Pick<LedgerEntry, 'kind' | 'name'>> {
    return this.entries.map(({ kind, name }) => ({ kind, name }));
  }

  get size(): number {
    return this.entries.length;
  }

  /** Forget the entries without undoing them (solve --keep). */
  release(): Array<Pick<LedgerEntry, 'kind' | 'name'>> {
    const kept = this.list().slice();
    this.entries = [];
    return kept;
  }

  /** Undo everything, newest first. Keeps going past failures and reports them all. */
  async cleanup(): Promise<Error[]> {
    const errors: Error[] = [];
    while (this.entries.length) {
      const e = this.entries.pop()!;
      try {
        await e.undo();
      } catch (err) {
        errors.push(new Error(`could not remove ${e.kind} ${e.name}: ${(err as Error).message}`));
      }
    }
    return errors;
  }
}
