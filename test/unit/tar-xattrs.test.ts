import { describe, it, expect } from 'vitest';
import { Header } from 'tar';
import { TarXattrScanner, parsePaxRecords, parsePaxTime } from '../../src/core/tar-xattrs.js';

/** "<len> <key>=<value>\n", where len counts the whole record, its own digits too. */
function record(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function block(h: ConstructorParameters<typeof Header>[0], data: Buffer = Buffer.alloc(0)): Buffer {
  const header = new Header({ mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: data.length, ...h });
  header.encode();
  return Buffer.concat([header.block!, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_raw=ep: NULs inside

/** A tar: a directory, a file with a PAX header (a binary xattr, a user xattr, an exact mtime),
 * a GNU long name, a plain file. */
function sample(extra: Buffer[] = []): Buffer {
  const pax = Buffer.concat([record('SCHILY.xattr.security.capability', CAP), record('SCHILY.xattr.user.note', Buffer.from('a=b')), record('mtime', Buffer.from('1577934245.678901234')), record('path', Buffer.from('bin/ping'))]);
  const longName = Buffer.from(`${'n'.repeat(150)}\0`);
  return Buffer.concat([
    block({ path: 'bin/', type: 'Directory' }),
    block({ path: 'PaxHeaders/ping', type: 'ExtendedHeader' }, pax),
    block({ path: 'bin/ping', type: 'File' }, Buffer.from('elf')),
    block({ path: '././@LongLink', type: 'NextFileHasLongPath' }, longName),
    block({ path: 'n'.repeat(99), type: 'File' }, Buffer.from('long')),
    ...extra,
    Buffer.alloc(1024),
  ]);
}

describe('PAX records', () => {
  it('reads binary values whole, and times to the nanosecond', () => {
    const r = parsePaxRecords(Buffer.concat([record('SCHILY.xattr.security.capability', CAP), record('mtime', Buffer.from('12.5'))]));
    expect(r.get('SCHILY.xattr.security.capability')).toEqual(CAP);
    expect(parsePaxTime(r.get('mtime')!.toString())).toEqual({ sec: 12n, nsec: 500_000_000 });
    expect(parsePaxTime('1577934245.678901234')).toEqual({ sec: 1577934245n, nsec: 678_901_234 });
    expect(parsePaxTime('1577934245')).toEqual({ sec: 1577934245n, nsec: 0 });
    expect(parsePaxTime('-1.5')).toBeNull();
  });
});

describe('TarXattrScanner', () => {
  const expected = new Map([
    [
      1,
      {
        xattrs: new Map([
          ['security.capability', CAP],
          ['user.note', Buffer.from('a=b')],
        ]),
        mtime: { sec: 1577934245n, nsec: 678_901_234 },
      },
    ],
  ]);

  it('gives each entry its xattrs and mtime by position, meta headers not counted; once', () => {
    const s = new TarXattrScanner();
    s.scan(sample());
    expect(s.take(0)).toBeUndefined();
    expect(s.take(1)).toEqual(expected.get(1));
    expect(s.take(1)).toBeUndefined(); // handed on: not kept
  });

  it('reads the same whatever the chunks (a byte at a time, odd sizes)', () => {
    const tar = sample();
    for (const size of [1, 7, 511, 513, 4096]) {
      const s = new TarXattrScanner();
      for (let at = 0; at < tar.length; at += size) s.scan(tar.subarray(at, at + size));
      expect(s.take(1), `chunks of ${size}`).toEqual(expected.get(1));
      expect(
        [0, 2, 3].map((i) => s.take(i)),
        `chunks of ${size}`,
      ).toEqual([undefined, undefined, undefined]);
    }
  });

  it('skips a file by the size its PAX record gives (8 GiB and more), not its header', () => {
    // The header says 0 (as it may for a size it cannot hold); the record says 600.
    const data = Buffer.alloc(600, 0x41);
    const big = Buffer.concat([block({ path: 'PaxHeaders/big', type: 'ExtendedHeader' }, record('size', Buffer.from('600'))), block({ path: 'big', type: 'File', size: 0 }), data, Buffer.alloc(1024 - 600)]);
    const after = block({ path: 'PaxHeaders/after', type: 'ExtendedHeader' }, record('SCHILY.xattr.user.after', Buffer.from('yes')));
    const s = new TarXattrScanner();
    s.scan(Buffer.concat([big, after, block({ path: 'after', type: 'File' }, Buffer.from('x')), Buffer.alloc(1024)]));
    expect(s.take(1)?.xattrs).toEqual(new Map([['user.after', Buffer.from('yes')]]));
  });
});
