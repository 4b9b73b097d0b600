import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal, pendingUndos, replayJournals, type Undo } from '../../src/core/journal.js';

describe('pendingUndos', () => {
  it('keeps what was recorded and not done, in order; skips a torn last line', () => {
    const text = [
      '{"id":1,"undo":{"kind":"file","path":"/lab/ufs"}}',
      '{"id":2,"undo":{"kind":"mount","target":"/lab/ufs/merged"}}',
      '{"id":3,"undo":{"kind":"procs","tag":"t"}}',
      '{"done":2}',
      '{"id":4,"undo":{"kind":"cgr', // cut short by the crash
    ].join('\n');
    expect(pendingUndos(text)).toEqual([
      { kind: 'file', path: '/lab/ufs' },
      { kind: 'procs', tag: 't' },
    ]);
    expect(pendingUndos('')).toEqual([]);
  });
});

describe('replayJournals', () => {
  it("hands a dead process's pending undos to the executor, newest first, and removes the journal; keeps it when one fails", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'journal-test-'));
    try {
      // Written by hand: no process holds its lock, as after a SIGKILL.
      const lines = ['{"id":1,"undo":{"kind":"file","path":"/lab/a"}}', '{"id":2,"undo":{"kind":"mount","target":"/lab/m"}}', '{"id":3,"undo":{"kind":"file","path":"/lab/b"}}', '{"done":3}'];
      fs.writeFileSync(path.join(dir, '1-1.jsonl'), lines.join('\n') + '\n');
      const ran: Undo[] = [];
      const ok = await replayJournals(dir, async (u) => {
        ran.push(u);
      });
      expect(ran).toEqual([
        { kind: 'mount', target: '/lab/m' },
        { kind: 'file', path: '/lab/a' },
      ]);
      expect(ok).toEqual({
        removed: [
          { kind: 'mount', name: '/lab/m' },
          { kind: 'file', name: '/lab/a' },
        ],
        errors: [],
        heldMs: 0,
      });
      expect(fs.readdirSync(dir)).toEqual([]);

      fs.writeFileSync(path.join(dir, '2-2.jsonl'), lines[0] + '\n');
      const failed = await replayJournals(dir, async () => {
        throw new Error('busy');
      });
      expect(failed).toEqual({ removed: [], errors: ['file /lab/a: busy'], heldMs: 0 });
      expect(fs.readdirSync(dir)).toEqual(['2-2.jsonl']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { Ledger } from '../../src/core/ledger.js';

describe('Ledger.cleanup', () => {
  it('a second cleanup waits for the first: it never returns while an undo is half done', async () => {
    const ledger = new Ledger();
    const events: string[] = [];
    ledger.defer('slow', async () => {
      await new Promise((r) => setTimeout(r, 50));
      events.push('slow undo finished');
    });
    ledger.defer('fast', () => {
      events.push('fast undo');
    });
    const first = ledger.cleanup().then(() => events.push('first returned'));
    const second = ledger.cleanup().then(() => events.push('second returned'));
    await Promise.all([first, second]);
    expect(events).toEqual(['fast undo', 'slow undo finished', 'first returned', 'second returned']);
  });

  it('after stopAll nothing new can be recorded', () => {
    const ledger = new Ledger();
    Ledger.stopAll('a test');
    try {
      expect(() => ledger.add({ kind: 'file', path: '/nowhere' })).toThrow(/not started: a test/);
    } finally {
      Ledger.stopAll(null);
    }
  });

  it('renew (a prepared container taken by a step) makes an entry the newest, in memory and in the journal: it is undone before what was made since', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-renew-'));
    try {
      const journal = new Journal(dir);
      const ledger = new Ledger(journal);
      const order: string[] = [];
      const container = ledger.add({ kind: 'procs', tag: 'prepared' }, () => {
        order.push('container');
      });
      ledger.add({ kind: 'file', path: '/nowhere/group' }, () => {
        order.push('group');
      });
      ledger.renew(container);
      // What a replay after a crash would undo, oldest first: the container now after the group.
      const file = fs.readdirSync(dir).find((f) => f.endsWith('.jsonl'))!;
      expect(pendingUndos(fs.readFileSync(path.join(dir, file), 'utf8'))).toEqual([
        { kind: 'file', path: '/nowhere/group' },
        { kind: 'procs', tag: 'prepared' },
      ]);
      container.drop();
      expect(pendingUndos(fs.readFileSync(path.join(dir, file), 'utf8'))).toEqual([{ kind: 'file', path: '/nowhere/group' }]);
      ledger.renew(container); // dropped: nothing to move
      expect(ledger.size).toBe(1);
      await ledger.cleanup();
      expect(order).toEqual(['group']);
      journal.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("release (solve --keep) hands over what is in the kernel and lets go of what is only this process's, a lock", () => {
    const ledger = new Ledger();
    const events: string[] = [];
    ledger.add({ kind: 'file', path: '/nowhere' }, () => {
      events.push('file removed');
    });
    ledger.defer('the lock on a name', () => {
      events.push('lock released');
    });
    expect(ledger.release()).toEqual([{ kind: 'file', path: '/nowhere' }]);
    expect(events).toEqual(['lock released']);
    expect(ledger.size).toBe(0);
  });
});
