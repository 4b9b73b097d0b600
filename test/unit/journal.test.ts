import { describe, it, expect } from 'vitest';
import { pendingUndos } from '../../src/core/journal.js';

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
});
