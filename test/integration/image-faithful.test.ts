// A layer made by GNU tar from a tree with what real images carry (a setuid file with a
// capability, user xattrs, hard links, long names, odd modes and owners, a symlink, a fifo),
// imported by the workbook and unpacked by umoci from the same OCI layout: the two trees must
// agree attribute by attribute.
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import zlib from 'node:zlib';
import path from 'node:path';
import { importImage, LayerStore, libc } from '../../src/core/index.js';
import { ociOf } from '../support/oci.js';
import { describeTree } from '../support/tree.js';
import { onPath } from '../support/on-path.js';
import { GNU_SPARSE_FORMATS } from '../support/sparse-formats.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-faithful-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const LONG = 'n'.repeat(150);

/** The tree a layer is made of. */
function makeTree(root: string): void {
  const p = (rel: string) => path.join(root, rel);
  for (const d of ['bin', 'etc', 'tmp', `deep/${'d'.repeat(90)}/${'e'.repeat(90)}`, 'data']) fs.mkdirSync(p(d), { recursive: true });
  fs.writeFileSync(p('bin/ping'), 'an ELF, honestly');
  fs.chmodSync(p('bin/ping'), 0o4755);
  execFileSync('setcap', ['cap_net_raw=ep', p('bin/ping')]);
  fs.writeFileSync(p('etc/shadow'), 'root:*:1::::::\n');
  fs.chownSync(p('etc/shadow'), 0, 42);
  fs.chmodSync(p('etc/shadow'), 0o640);
  fs.chmodSync(p('tmp'), 0o1777);
  fs.writeFileSync(p('data/a'), 'the same bytes twice');
  fs.linkSync(p('data/a'), p('data/b'));
  fs.linkSync(p('data/a'), p(`deep/${LONG}`));
  fs.chownSync(p('data/a'), 1234, 5678);
  libc.lsetxattr(p('data/a'), 'user.origin', 'made for the test');
  libc.lsetxattr(p('data'), 'user.binary', Buffer.from([0, 1, 2, 0, 255]));
  fs.writeFileSync(p(`deep/${'d'.repeat(90)}/${'e'.repeat(90)}/${LONG}`), 'a path over 255 bytes');
  fs.symlinkSync('/bin/ping', p('bin/p'));
  execFileSync('mkfifo', [p('data/fifo')]);
  execFileSync('touch', ['-h', '-d', '2020-01-02T03:04:05.678901234Z', p('data/a'), p('bin/p')]);
}

describe('a layer from the wild, as umoci unpacks it', () => {
  it.skipIf(!onPath('umoci') || !onPath('setcap'))('keeps capabilities, xattrs, hard links, long names, modes, owners and mtimes as umoci does', async () => {
    const tree = path.join(tmp, 'tree');
    makeTree(tree);
    const layer = execFileSync('tar', ['-C', tree, '-cf', '-', '--format=posix', '--numeric-owner', '--xattrs', '--xattrs-include=*', '.'], { maxBuffer: 64 << 20 });
    const oci = ociOf(path.join(tmp, 'oci'), [layer], 'wild');

    const store = new LayerStore(path.join(tmp, 'store'));
    const img = await importImage(oci, store);
    const ours = describeTree(store.info(img.top).diff);

    const bundle = path.join(tmp, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${oci}:wild`, bundle], { stdio: 'pipe' });
    const theirs = describeTree(path.join(bundle, 'rootfs'));

    // What the test is about is there at all (a tool that lost it on both sides would agree).
    expect(ours.entries['bin/ping']).toMatchObject({ mode: '4755', xattrs: { 'security.capability': expect.any(String) } });
    expect(ours.entries.data!.xattrs).toEqual({ 'user.binary': '00010200ff' });
    expect(ours.entries['data/a']).toMatchObject({ owner: '1234:5678', mtime: '1577934245678901234', xattrs: { 'user.origin': Buffer.from('made for the test').toString('hex') } });
    expect(ours.entries['bin/p']).toMatchObject({ kind: 'symlink', target: '/bin/ping', mtime: '1577934245678901234' });
    expect(ours.links).toEqual([['data/a', 'data/b', `deep/${LONG}`]]);
    expect(execFileSync('getcap', [path.join(store.info(img.top).diff, 'bin/ping')], { encoding: 'utf8' })).toMatch(/cap_net_raw=ep/);

    // The root directory is the layer store's and the bundle's own: left out.
    delete ours.entries['.'];
    delete theirs.entries['.'];
    for (const rel of Object.keys(theirs.entries)) expect(ours.entries[rel], rel).toEqual(theirs.entries[rel]);
    expect(Object.keys(ours.entries).sort()).toEqual(Object.keys(theirs.entries).sort());
    expect(ours.links).toEqual(theirs.links);
  });
});

/** A tree of sparse files: holes at the start, middle and end, more segments than an old
 * GNU header holds (extension blocks), one all hole, one setuid and owned, one hard-linked. */
function makeSparseTree(root: string): void {
  const p = (rel: string) => path.join(root, rel);
  fs.mkdirSync(p('var'), { recursive: true });
  const write = (rel: string, parts: Array<[number, string | Buffer]>, size: number) => {
    const fd = fs.openSync(p(rel), 'w');
    for (const [at, data] of parts) fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data, 0, undefined, at);
    fs.ftruncateSync(fd, size);
    fs.closeSync(fd);
  };
  write('var/holes', [[4 << 20, 'end']], (4 << 20) + 3);
  write(
    'var/mixed',
    [
      [0, 'A'.repeat(1000)],
      [100_000, crypto.randomBytes(5000)],
    ],
    300_000,
  );
  write(
    'var/many',
    [...Array(10).keys()].map((i): [number, Buffer] => [i * 65536, crypto.randomBytes(4096)]),
    10 * 65536,
  );
  write('var/nothing', [], 1 << 20);
  fs.chownSync(p('var/holes'), 1234, 5678);
  fs.chmodSync(p('var/holes'), 0o4750);
  libc.lsetxattr(p('var/mixed'), 'user.origin', 'sparse');
  fs.linkSync(p('var/mixed'), p('var/mixed-again'));
  execFileSync('touch', ['-d', '2021-02-03T04:05:06.123456789Z', p('var/many')]);
}

describe('sparse files in a layer', () => {
  for (const [format, extra] of GNU_SPARSE_FORMATS) {
    const name = `${format}${extra.length ? ` ${extra.join(' ')}` : ''}`;
    it.skipIf(!onPath('umoci'))(`GNU tar --sparse --format=${name}: unpacked as ${format === 'gnu' ? 'GNU tar' : 'umoci'} unpacks them, holes kept`, async () => {
      const dir = path.join(tmp, `sparse-${name.replace(/[^a-z0-9.]+/g, '-')}`);
      const tree = path.join(dir, 'tree');
      makeSparseTree(tree);
      const xattrs = format === 'posix' ? ['--xattrs', '--xattrs-include=*'] : [];
      const layer = execFileSync('tar', ['-C', tree, '-cf', '-', `--format=${format}`, ...extra, '--sparse', '--numeric-owner', ...xattrs, '.'], { maxBuffer: 64 << 20 });
      expect(layer.includes(Buffer.from('GNU.sparse')) || format === 'gnu', 'the tar holds sparse entries').toBe(true);
      const oci = ociOf(path.join(dir, 'oci'), [layer], 'sparse');
      const store = new LayerStore(path.join(dir, 'store'));
      const img = await importImage(oci, store);
      const diff = store.info(img.top).diff;
      const ours = describeTree(diff);
      // umoci (Go's archive/tar, as Docker) refuses an old GNU 'S' entry ("unknown typeflag"):
      // GNU tar's own unpacking is the reference for it.
      const reference = path.join(dir, 'reference');
      if (format === 'gnu') {
        fs.mkdirSync(reference);
        execFileSync('tar', ['-C', reference, '-xpf', '-', '--numeric-owner'], { input: layer });
      } else execFileSync('umoci', ['unpack', '--image', `${oci}:sparse`, reference], { stdio: 'pipe' });
      const theirs = describeTree(format === 'gnu' ? reference : path.join(reference, 'rootfs'));
      delete ours.entries['.'];
      delete theirs.entries['.'];
      expect(ours.entries['var/holes']).toMatchObject({ kind: 'file', size: (4 << 20) + 3, mode: '4750', owner: '1234:5678' });
      expect(ours.entries['var/nothing']).toMatchObject({ kind: 'file', size: 1 << 20 });
      if (format === 'posix') expect(ours.entries['var/mixed']!.xattrs).toEqual({ 'user.origin': Buffer.from('sparse').toString('hex') });
      if (format === 'posix') expect(ours.entries['var/many']!.mtime).toBe('1612325106123456789');
      for (const rel of Object.keys(theirs.entries)) expect(ours.entries[rel], rel).toEqual(theirs.entries[rel]);
      expect(Object.keys(ours.entries).sort()).toEqual(Object.keys(theirs.entries).sort());
      expect(ours.links).toEqual([['var/mixed', 'var/mixed-again']]);
      // The holes are holes: a 4 MiB file of three bytes takes a block or two, not 4 MiB.
      expect(fs.statSync(path.join(diff, 'var/holes')).blocks * 512).toBeLessThan(64 * 1024);
      expect(fs.statSync(path.join(diff, 'var/nothing')).blocks).toBe(0);
      // Nothing of the sparse files' making is left beside the diff.
      expect(fs.readdirSync(path.dirname(diff)).filter((n) => n.startsWith('.sparse'))).toEqual([]);
    });
  }

  it('a sparse entry whose map does not match its data is refused by name, nothing kept', async () => {
    const tree = path.join(tmp, 'sparse-bad-tree');
    fs.mkdirSync(path.join(tree, 'var'), { recursive: true });
    const fd = fs.openSync(path.join(tree, 'var/holes'), 'w');
    fs.writeSync(fd, 'end', 4 << 20);
    fs.closeSync(fd);
    const layer = execFileSync('tar', ['-C', tree, '-cf', '-', '--format=posix', '--sparse', '--sparse-version=0.1', '.']);
    // The map says the segment is 3 bytes long: make it 2, and the data no longer fits.
    const at = layer.indexOf('GNU.sparse.map=4194304,3');
    expect(at).toBeGreaterThan(0);
    layer.write('2', at + 'GNU.sparse.map=4194304,'.length, 'latin1');
    const store = new LayerStore(path.join(tmp, 'sparse-bad-store'));
    const err = await importImage(ociOf(path.join(tmp, 'sparse-bad'), [layer], 'bad'), store).then(
      () => null,
      (e: unknown) => e as Error & { hint?: string },
    );
    expect(err?.message).toMatch(/^layer 1 of 1 \([0-9a-f]{12}\): sparse file "(\.\/)?var\/holes": its map \(2 segments, 2 bytes\) does not match its data \(3 bytes\) and size \(4194307 bytes\)$/);
    expect(err?.hint).toMatch(/^re-export the image/);
    expect(store.ids()).toEqual([]);
  });
});

describe('a zstd layer', () => {
  it.skipIf(!onPath('zstd') || !onPath('umoci'))('is read where this Node has zstd (22.15+), and refused with the Node to use where it has not', async () => {
    const tree = path.join(tmp, 'zstd-tree');
    makeTree(tree);
    const layer = execFileSync('tar', ['-C', tree, '-cf', '-', '--format=posix', '--numeric-owner', '--xattrs', '--xattrs-include=*', '.'], { maxBuffer: 64 << 20 });
    const compressed = execFileSync('zstd', ['-q', '-c'], { input: layer, maxBuffer: 64 << 20 });
    const store = new LayerStore(path.join(tmp, 'zstd-store'));
    // The diff id is the uncompressed tar's; the blob is the zstd one.
    const oci = ociOf(path.join(tmp, 'zstd'), [compressed], 'z', [layer]);
    const got = await importImage(oci, store).then(
      (img) => img,
      (e: Error & { hint?: string }) => e,
    );
    if (typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function') {
      expect(got).not.toBeInstanceOf(Error);
      const ours = describeTree(store.info((got as { top: string }).top).diff);
      expect(ours.entries['bin/ping']!.xattrs).toHaveProperty(['security.capability']);
      expect(ours.links).toEqual([['data/a', 'data/b', `deep/${LONG}`]]);
    } else {
      expect((got as Error).message).toMatch(new RegExp(`is zstd-compressed, which this Node \\(${process.version.replace(/\./g, '\\.')}\\) cannot read: Node 22\\.15 or newer can`));
      expect((got as { hint?: string }).hint).toMatch(/Node 22\.15 or newer/);
      expect(store.ids()).toEqual([]);
    }
  });
});

describe('a layer larger than the free space', () => {
  it('fails with a message that says so, and leaves nothing in the store', async () => {
    const small = path.join(tmp, 'small');
    fs.mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'cl-test-small', small]);
    try {
      const tree = path.join(tmp, 'big-tree');
      fs.mkdirSync(tree);
      for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(tree, `part${i}`), crypto.randomBytes(1 << 20));
      const layer = execFileSync('tar', ['-C', tree, '-cf', '-', '--format=posix', '.'], { maxBuffer: 64 << 20 });
      const store = new LayerStore(path.join(small, 'store'));
      const err = await importImage(ociOf(path.join(tmp, 'big'), [layer], 'big'), store).then(
        () => null,
        (e: unknown) => e as Error & { hint?: string },
      );
      expect(err?.message).toMatch(/^layer 1 of 1 \([0-9a-f]{12}\) does not fit: no space left on the filesystem of /);
      expect(err?.hint).toMatch(/CONTAINER_LESSONS_HOME/);
      expect(store.ids()).toEqual([]);
      // What the store keeps of itself (its directories) is all that is there: no layer's files.
      expect(execFileSync('find', [small, '-type', 'f'], { encoding: 'utf8' })).toBe('');
    } finally {
      execFileSync('umount', [small]);
    }
  });
});
