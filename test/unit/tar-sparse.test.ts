// The sparse splitter on GNU tar's four sparse forms, fed in chunks of every awkward size:
// each sparse file comes out whole beside the stream, and node-tar reads what is left as an
// ordinary tar with an empty file in each sparse one's place.
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { MetaTooLong, SparseSplitter } from '../../src/core/tar-sparse.js';
import { GNU_SPARSE_FORMATS } from '../support/sparse-formats.js';
import { metaHeader } from '../support/meta-header.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-sparse-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tree = path.join(tmp, 'tree');
const files: Record<string, Buffer> = {};
{
  fs.mkdirSync(path.join(tree, 'var'), { recursive: true });
  const write = (rel: string, parts: Array<[number, Buffer]>, size: number) => {
    const fd = fs.openSync(path.join(tree, rel), 'w');
    for (const [at, data] of parts) fs.writeSync(fd, data, 0, data.length, at);
    fs.ftruncateSync(fd, size);
    fs.closeSync(fd);
    files[rel] = fs.readFileSync(path.join(tree, rel));
  };
  write('var/a', [[70_000, crypto.randomBytes(3000)]], 200_000);
  write(
    'var/b',
    [...Array(9).keys()].map((i): [number, Buffer] => [i * 20_000 + 7, crypto.randomBytes(1500)]),
    190_000,
  );
  fs.writeFileSync(path.join(tree, 'plain.txt'), 'not sparse\n');
}

/** What node-tar reads of `tar`: each entry's path, type and size. */
function entries(tar: Buffer): string[] {
  const out: string[] = [];
  const p = new Parser({ onReadEntry: (e: ReadEntry) => (out.push(`${e.path} ${e.type} ${e.size}`), e.resume()) });
  p.end(tar);
  return out;
}

describe('SparseSplitter', () => {
  for (const [format, extra] of GNU_SPARSE_FORMATS) {
    it(`--format=${format} ${extra.join(' ')}: the same whatever the chunks`, () => {
      const tar = execFileSync('tar', ['-C', tree, '-cf', '-', `--format=${format}`, ...extra, '--sparse', '--sort=name', 'plain.txt', 'var']);
      for (const size of [1, 7, 511, 512, 513, 4096, 65536]) {
        const dir = fs.mkdtempSync(path.join(tmp, 'out-'));
        const s = new SparseSplitter(dir);
        const out: Buffer[] = [];
        for (let at = 0; at < tar.length; at += size) out.push(...s.split(tar.subarray(at, at + size)));
        s.end();
        const shown = entries(Buffer.concat(out));
        expect(shown, `chunks of ${size}`).toEqual(['plain.txt File 11', 'var/ Directory 0', 'var/a File 0', 'var/b File 0']);
        // Entries 2 and 3 (as node-tar's filter counts them) are the sparse ones.
        const a = s.fileOf(2);
        const b = s.fileOf(3);
        expect([s.fileOf(0), s.fileOf(1), s.fileOf(2)]).toEqual([undefined, undefined, undefined]);
        expect(fs.readFileSync(a!.temp).equals(files['var/a']!), `var/a, chunks of ${size}`).toBe(true);
        expect(fs.readFileSync(b!.temp).equals(files['var/b']!), `var/b, chunks of ${size}`).toBe(true);
        expect(fs.statSync(a!.temp).blocks * 512).toBeLessThan(64 * 1024);
        fs.rmSync(dir, { recursive: true });
      }
    });
  }

  it("a 1.0 map that is not numbers is refused by the file's name", () => {
    const tar = execFileSync('tar', ['-C', tree, '-cf', '-', '--format=posix', '--sparse', 'var/a']);
    // A PAX header and its records, the entry's header, then the map: "2\n70000\n...".
    const at = 3 * 512;
    expect(tar.toString('latin1', at, at + 2)).toBe('2\n');
    tar.write('x', at, 'latin1');
    const s = new SparseSplitter(fs.mkdtempSync(path.join(tmp, 'map-')));
    expect(() => s.split(tar)).toThrow(/^sparse file "var\/a": its map is damaged$/);
  });

  it('a tar that ends inside a sparse file is refused by its name', () => {
    const tar = execFileSync('tar', ['-C', tree, '-cf', '-', '--format=posix', '--sparse', 'var/a']);
    const s = new SparseSplitter(fs.mkdtempSync(path.join(tmp, 'cut-')));
    s.split(tar.subarray(0, 2048));
    expect(() => s.end()).toThrow(/^sparse file "var\/a": the archive ends inside it$/);
  });

  it('a meta header over 1 MiB is refused from its header block, before its data is gathered; 1 MiB is read', () => {
    for (const [type, name] of [
      ['x', 'PaxHeaders.0/big'],
      ['g', 'GlobalHead.0.0'],
      ['L', '././@LongLink'],
    ] as const) {
      const s = new SparseSplitter(fs.mkdtempSync(path.join(tmp, 'meta-')));
      // Only the header block: what it says of its size is enough.
      expect(() => s.split(metaHeader(type, 2 ** 20 + 1, name))).toThrow(MetaTooLong);
      expect(() => new SparseSplitter(tmp).split(metaHeader(type, 2 ** 20 + 1, name))).toThrow(`the meta header "${name}" (type ${type}) holds 1048577 bytes: more than the 1 MiB a tar reader takes`);
    }
    // A record of exactly 1 MiB ("1048576 comment=aaa...\n"), then a file: passed on whole.
    const record = Buffer.concat([Buffer.from('1048576 comment='), Buffer.alloc(2 ** 20 - 17, 'a'), Buffer.from('\n')]);
    expect(record.length).toBe(2 ** 20);
    const file = execFileSync('tar', ['-C', tree, '-cf', '-', '--format=ustar', 'plain.txt']);
    const tar = Buffer.concat([metaHeader('x', record.length, 'PaxHeaders.0/plain.txt'), record, file]);
    const s = new SparseSplitter(fs.mkdtempSync(path.join(tmp, 'meta-')));
    const out = s.split(tar);
    s.end();
    expect(entries(Buffer.concat(out))).toEqual(['plain.txt File 11']);
  });
});
