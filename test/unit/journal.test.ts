import { describe, it, expect } from 'vitest';
import { pendingUndos } from '../../src/core/journal.js';

describe('pendingUndos', () => {
  it('keeps what was recorded and not done, with later facts, in order; skips a torn last line', () => {
    const text = [
      '{"id":1,"undo":{"kind":"file","path":"/lab/ufs"}}',
      '{"id":2,"undo":{"kind":"mount","target":"/lab/ufs/merged"}}',
      '{"id":3,"undo":{"kind":"procs","tag":"t"}}',
      '{"id":3,"update":{"mntns":"mnt:[1]"}}',
      '{"done":2}',
      '{"id":4,"undo":{"kind":"cgr', // cut short by the crash
    ].join('\n');
    expect(pendingUndos(text)).toEqual([
      { kind: 'file', path: '/lab/ufs' },
      { kind: 'procs', tag: 't', mntns: 'mnt:[1]' },
    ]);
    expect(pendingUndos('')).toEqual([]);
  });
});
