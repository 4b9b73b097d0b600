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

describe('a sparse file in a layer', () => {
  it('is refused by name, in the PAX form and the old GNU one, not unpacked wrong', async () => {
    const tree = path.join(tmp, 'sparse-tree');
    fs.mkdirSync(path.join(tree, 'var'), { recursive: true });
    const fd = fs.openSync(path.join(tree, 'var/holes'), 'w');
    fs.writeSync(fd, 'end', 4 << 20); // 4 MiB of hole, then three bytes
    fs.closeSync(fd);
    for (const format of ['posix', 'gnu']) {
      const layer = execFileSync('tar', ['-C', tree, '-cf', '-', `--format=${format}`, '--sparse', '.'], { maxBuffer: 64 << 20 });
      const store = new LayerStore(path.join(tmp, `sparse-${format}-store`));
      const err = await importImage(ociOf(path.join(tmp, `sparse-${format}`), [layer], 'sparse'), store).then(
        () => null,
        (e: unknown) => e as Error & { hint?: string },
      );
      expect(err?.message, format).toMatch(/entry "(\.\/)?var\/holes" is a sparse file \(GNU tar --sparse\), which this import does not read/);
      expect(err?.hint, format).toMatch(/without --sparse/);
      expect(store.ids(), format).toEqual([]);
    }
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
