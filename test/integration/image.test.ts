// Images for real: written with writeImage from small trees made here, imported into a layer
// store, checked on disk (links, lowers, whiteouts, opaque dirs, owners, modes), and mounted
// with overlayfs to see that the layers add up. Then damaged images: each fails with an
// ImageError and leaves no half-made layer and no temporary directory.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { create as tarCreate, Header } from 'tar';
import { ImageError, importImage, writeImage, listImages, LayerStore, Ledger, mountOverlay, listWhiteouts, isWhiteout, chainIds, layerDirName, OPAQUE_XATTR, libc, type ImportedImage } from '../../src/core/index.js';
import { metaHeader } from '../support/meta-header.js';
import { ociOf } from '../support/oci.js';

let tmp: string;
const layers = { base: '', top: '', other: '' };

/** The i-th item of a list the test made, which it knows is there. */
function nth<T>(list: readonly T[], i: number): T {
  const item = list[i];
  if (item === undefined) throw new Error(`no item ${i} in a list of ${list.length}`);
  return item;
}

const put = (root: string, rel: string, body = '') => {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), body);
};

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-image-'));
  for (const k of Object.keys(layers) as Array<keyof typeof layers>) {
    layers[k] = path.join(tmp, 'layers', k);
    fs.mkdirSync(layers[k], { recursive: true });
  }

  const b = layers.base;
  put(b, 'etc/os-release', 'NAME=lesson\n');
  put(b, 'srv/www/old.html', 'old\n');
  put(b, 'srv/www/index.html', 'index\n');
  put(b, 'srv/data/a.txt', 'a\n');
  fs.symlinkSync('/usr/share/zoneinfo/UTC', path.join(b, 'etc/localtime')); // absolute: kept as it is
  fs.symlinkSync('index.html', path.join(b, 'srv/www/home.html'));
  put(b, 'usr/bin/tool', '#!/bin/sh\necho tool\n');
  fs.chmodSync(path.join(b, 'usr/bin/tool'), 0o755);
  fs.chownSync(path.join(b, 'usr/bin/tool'), 1000, 1000);
  fs.linkSync(path.join(b, 'usr/bin/tool'), path.join(b, 'usr/bin/tool-again'));
  put(b, 'usr/bin/suid', 'x');
  fs.chownSync(path.join(b, 'usr/bin/suid'), 1000, 1000);
  fs.chmodSync(path.join(b, 'usr/bin/suid'), 0o4755); // after chown, which would clear it
  fs.mkdirSync(path.join(b, 'tmp'));
  fs.chmodSync(path.join(b, 'tmp'), 0o1777);

  const t = layers.top;
  put(t, 'srv/www/.wh.old.html');
  put(t, 'srv/data/.wh..wh..opq');
  put(t, 'srv/data/b.txt', 'b\n');
  put(t, 'etc/motd', 'welcome\n');

  put(layers.other, 'etc/hostname', 'other\n');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Every path under dir, relative. */
function walk(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel)).flatMap((n) => {
    const r = path.join(rel, n);
    return fs.lstatSync(path.join(dir, r)).isDirectory() ? [r, ...walk(dir, r)] : [r];
  });
}

/** What an import must never leave in the store: staging and temporary directories. */
const leftovers = (store: LayerStore) => fs.readdirSync(store.root).filter((n) => n.startsWith('.import-') || n.startsWith('.tmp-'));

/** An image in the form a case asks for; returns what to import. */
async function makeImage(dir: string, c: Case, layerDirs: string[], name: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  if (c.format === 'docker-save') {
    const file = path.join(dir, `${name.replace(/\W/g, '_')}.tar`);
    await writeImage(file, layerDirs, { format: 'docker-save', name, gzip: c.gzip });
    return file;
  }
  const layout = path.join(dir, `${name.replace(/\W/g, '_')}-oci`);
  await writeImage(layout, layerDirs, { format: 'oci', name, gzip: c.gzip });
  if (!c.asTar) return layout;
  const file = `${layout}.tar`;
  await tarCreate({ file, cwd: layout, portable: true }, fs.readdirSync(layout));
  return file;
}

interface Case {
  label: string;
  format: 'oci' | 'docker-save';
  asTar?: boolean;
  gzip?: boolean;
}

const CASES: Case[] = [
  { label: 'OCI layout directory', format: 'oci' },
  { label: 'OCI layout as a tar, gzip layers', format: 'oci', asTar: true, gzip: true },
  { label: 'docker save tarball', format: 'docker-save' },
];

describe.each(CASES)('$label', (c) => {
  let dir: string;
  let store: LayerStore;
  let img: ImportedImage;
  beforeAll(() => {
    dir = path.join(tmp, c.label.replace(/\W+/g, '-'));
    store = new LayerStore(path.join(dir, 'var', 'overlay2'));
  });

  it('imports: layers by chain id, links and lowers, whiteouts, opaque dir, owners and modes', async () => {
    const src = await makeImage(path.join(dir, 'src'), c, [layers.base, layers.top], 'web:1');
    const ledger = new Ledger();
    img = await importImage(src, store, { ledger });
    expect(ledger.size).toBe(0); // the temporary directory was recorded, and removed

    expect(img.name).toBe('web:1');
    expect(img.format).toBe(c.format);
    const diffIds = img.layers.map((l) => l.diffId);
    expect(img.layers.map((l) => l.chainId)).toEqual(chainIds(diffIds));
    const base = nth(img.layers, 0).id;
    const top = nth(img.layers, 1).id;
    expect(img.layers.map((l) => l.id)).toEqual(chainIds(diffIds).map(layerDirName));
    expect(img.layers.map((l) => l.reused)).toEqual([false, false]);
    expect(img.top).toBe(top);
    expect(store.ids()).toEqual([base, top].sort());
    expect(leftovers(store)).toEqual([]);

    // overlay2's bookkeeping: link, lower, l/<short> -> ../<id>/diff, work/ above the base
    const bi = store.info(base);
    const ti = store.info(top);
    for (const i of [bi, ti]) {
      expect(i.link).toMatch(/^[A-Z2-7]{26}$/);
      expect(fs.readlinkSync(path.join(store.root, 'l', i.link))).toBe(`../${i.id}/diff`);
    }
    expect(bi.lower).toEqual([]);
    expect(fs.existsSync(path.join(bi.dir, 'lower'))).toBe(false);
    expect(ti.lower).toEqual([`l/${bi.link}`]);
    expect(fs.statSync(path.join(ti.dir, 'work')).isDirectory()).toBe(true);

    // the base, as it was written
    const bd = (p: string) => path.join(bi.diff, p);
    expect(fs.readFileSync(bd('etc/os-release'), 'utf8')).toBe('NAME=lesson\n');
    expect(fs.readlinkSync(bd('etc/localtime'))).toBe('/usr/share/zoneinfo/UTC');
    expect(fs.readlinkSync(bd('srv/www/home.html'))).toBe('index.html');
    const tool = fs.statSync(bd('usr/bin/tool'));
    expect([tool.mode & 0o7777, tool.uid, tool.gid]).toEqual([0o755, 1000, 1000]);
    expect(fs.statSync(bd('usr/bin/tool-again')).ino).toBe(tool.ino); // a hard link stays one
    const suid = fs.statSync(bd('usr/bin/suid'));
    expect([suid.mode & 0o7777, suid.uid]).toEqual([0o4755, 1000]);
    expect(fs.statSync(bd('tmp')).mode & 0o7777).toBe(0o1777);

    // the top: a whiteout for old.html, an opaque srv/data, and no .wh. file anywhere
    const td = (p: string) => path.join(ti.diff, p);
    const wh = fs.lstatSync(td('srv/www/old.html'));
    expect(wh.isCharacterDevice() && wh.rdev === 0 && isWhiteout(wh)).toBe(true);
    expect(listWhiteouts(ti.diff)).toEqual([{ path: 'srv/www/old.html', kind: 'whiteout' }]);
    expect(libc.lgetxattr(td('srv/data'), OPAQUE_XATTR)?.toString()).toBe('y');
    expect(libc.lgetxattr(td('srv/www'), OPAQUE_XATTR)).toBeNull();
    expect(fs.readdirSync(td('srv/data'))).toEqual(['b.txt']);
    expect(fs.readFileSync(td('etc/motd'), 'utf8')).toBe('welcome\n');
    expect(walk(store.root).filter((p) => path.basename(p).startsWith('.wh.'))).toEqual([]);

    expect(listImages(store)).toEqual([{ name: 'web:1', top, layers: img.layers.map((l) => l.chainId) }]);
    const record = JSON.parse(fs.readFileSync(path.join(store.root, '..', 'images', 'web_1.json'), 'utf8'));
    expect(record).toMatchObject({ name: 'web:1', format: c.format, top, config: { os: 'linux', config: { Cmd: ['/bin/sh'] } } });
  });

  it('shares the base layer with a second image: reused, not unpacked again', async () => {
    const base = nth(img.layers, 0).id;
    const before = fs.statSync(path.join(store.info(base).diff, 'etc/os-release')).ino;
    const src = await makeImage(path.join(dir, 'src2'), c, [layers.base, layers.other], 'other:2');
    const other = await importImage(src, store);
    expect(other.layers.map((l) => [l.id, l.reused])).toEqual([
      [base, true],
      [other.top, false],
    ]);
    expect(fs.statSync(path.join(store.info(base).diff, 'etc/os-release')).ino).toBe(before);
    expect(store.ids()).toHaveLength(3);
    expect(store.info(other.top).lower).toEqual([`l/${store.info(base).link}`]);
    expect(listImages(store).map((i) => i.name)).toEqual(['other:2', 'web:1']);

    // the same image again: nothing new
    const again = await importImage(src, store, { name: 'other:2' });
    expect(again.layers.every((l) => l.reused)).toBe(true);
    expect(store.ids()).toHaveLength(3);
    expect(leftovers(store)).toEqual([]);
  });

  it('mounts: old.html gone, srv/data only b.txt, motd there', async () => {
    const m = (n: string) => {
      const d = path.join(dir, 'mnt', n);
      fs.mkdirSync(d, { recursive: true });
      return d;
    };
    const ledger = new Ledger();
    try {
      const lowers = store.lowerdirs(img.top);
      expect(lowers).toEqual([`l/${store.info(img.top).link}`, ...store.info(img.top).lower].map((e) => path.join(store.root, e)));
      const merged = m('merged');
      mountOverlay({ lowers, upper: m('upper'), work: m('work'), merged }, ledger);
      expect(fs.existsSync(path.join(merged, 'srv/www/old.html'))).toBe(false);
      expect(fs.readdirSync(path.join(merged, 'srv/www')).sort()).toEqual(['home.html', 'index.html']);
      expect(fs.readFileSync(path.join(merged, 'srv/www/home.html'), 'utf8')).toBe('index\n');
      expect(fs.readdirSync(path.join(merged, 'srv/data'))).toEqual(['b.txt']);
      expect(fs.readFileSync(path.join(merged, 'etc/motd'), 'utf8')).toBe('welcome\n');
      expect(fs.readFileSync(path.join(merged, 'etc/os-release'), 'utf8')).toBe('NAME=lesson\n');
      expect(fs.statSync(path.join(merged, 'usr/bin/tool')).uid).toBe(1000);
    } finally {
      expect(await ledger.cleanup()).toEqual([]);
    }
  });
});

describe('damaged images', () => {
  const fresh = (name: string) => new LayerStore(path.join(tmp, 'bad', name, 'overlay2'));
  /** What a failed import may leave: complete layers only, no temporaries, no record. */
  function expectClean(store: LayerStore, layerIds: string[]) {
    expect(store.ids()).toEqual([...layerIds].sort());
    expect(leftovers(store)).toEqual([]);
    expect(fs.readdirSync(path.join(store.root, 'l'))).toHaveLength(layerIds.length);
    expect(listImages(store)).toEqual([]);
  }
  async function rejection(p: Promise<unknown>): Promise<ImageError> {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).hint).toMatch(/\S/);
    return err as ImageError;
  }
  const oci = async (name: string, gzip = false) => {
    const layout = path.join(tmp, 'bad', `${name}-oci`);
    await writeImage(layout, [layers.base, layers.top], { format: 'oci', name, gzip });
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
    const blob = (d: string) => path.join(layout, 'blobs', 'sha256', d.slice(7));
    const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0].digest), 'utf8'));
    const config = JSON.parse(fs.readFileSync(blob(manifest.config.digest), 'utf8'));
    const ids = chainIds(config.rootfs.diff_ids).map(layerDirName);
    return { layout, blob, layerBlobs: manifest.layers.map((l: { digest: string }) => l.digest) as string[], ids };
  };

  it('a tampered layer blob: digest mismatch named, the layers below kept, the bad one not made', async () => {
    for (const gzip of [false, true]) {
      const img = await oci(`tampered-${gzip}`, gzip);
      const digest = nth(img.layerBlobs, 1);
      const file = img.blob(digest);
      const bytes = fs.readFileSync(file);
      const mid = bytes.length >> 1;
      bytes.writeUInt8(bytes.readUInt8(mid) ^ 0x20, mid);
      fs.writeFileSync(file, bytes);
      const store = fresh(`tampered-${gzip}`);
      const err = await rejection(importImage(img.layout, store));
      expect(err.message).toMatch(/digest mismatch/);
      expect(err.message).toContain(`expected ${digest}`);
      expectClean(store, [nth(img.ids, 0)]);
    }
  });

  it('a truncated docker save tarball: an ImageError, nothing half-made', async () => {
    const file = path.join(tmp, 'bad', 'whole.tar');
    await writeImage(file, [layers.base, layers.top], { format: 'docker-save', name: 'cut:1' });
    const cut = path.join(tmp, 'bad', 'cut.tar');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    const store = fresh('cut');
    const ledger = new Ledger();
    await rejection(importImage(cut, store, { ledger }));
    expect(ledger.size).toBe(0);
    expectClean(store, []);
  });

  it('a missing blob, bad JSON, a zstd layer, not an image at all', async () => {
    const img = await oci('broken');
    fs.rmSync(img.blob(nth(img.layerBlobs, 0)));
    expect((await rejection(importImage(img.layout, fresh('missing')))).message).toMatch(/missing.*sha256/);
    expectClean(fresh('missing'), []);

    const img2 = await oci('zstd');
    // zstd's magic number: refused before anything is unpacked
    fs.writeFileSync(img2.blob(nth(img2.layerBlobs, 0)), Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
    const z = await rejection(importImage(img2.layout, fresh('zstd')));
    expect(z.message).toMatch(/zstd/);
    expect(z.hint).toMatch(/gzip/);
    expectClean(fresh('zstd'), []);

    fs.writeFileSync(path.join(img2.layout, 'index.json'), '{"manifests": [');
    expect((await rejection(importImage(img2.layout, fresh('json')))).message).toMatch(/index\.json.*not valid JSON/);

    const notTar = path.join(tmp, 'bad', 'notes.txt');
    fs.writeFileSync(notTar, 'just some text, not a tar archive at all\n'.repeat(30));
    expect((await rejection(importImage(notTar, fresh('text')))).message).toMatch(/not a tar archive/);
    expect((await rejection(importImage(path.join(tmp, 'nope.tar'), fresh('text')))).message).toMatch(/no such file/);
    expectClean(fresh('text'), []);
  });
});

describe('other forms of the same image', () => {
  const layout = async (name: string) => {
    const dir = path.join(tmp, 'forms', name);
    await writeImage(dir, [layers.base, layers.top], { format: 'oci', name: 'ignored' });
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    const desc = index.manifests[0];
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'blobs/sha256', desc.digest.slice(7)), 'utf8'));
    return { dir, desc, manifest };
  };
  const blobRef = (d: string) => `blobs/sha256/${d.slice(7)}`;

  it('Docker 25+ save: manifest.json pointing into blobs/sha256, blobs checked', async () => {
    const { dir, manifest } = await layout('docker25');
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify([{ Config: blobRef(manifest.config.digest), RepoTags: ['d25:1'], Layers: manifest.layers.map((l: { digest: string }) => blobRef(l.digest)) }]));
    const file = `${dir}.tar`;
    await tarCreate({ file, cwd: dir, portable: true }, fs.readdirSync(dir));
    const store = new LayerStore(path.join(tmp, 'forms', 'docker25-store'));
    const img = await importImage(file, store);
    expect([img.format, img.name, img.layers.length]).toEqual(['docker-save', 'd25:1', 2]);
    expect(listWhiteouts(store.info(img.top).diff)).toEqual([{ path: 'srv/www/old.html', kind: 'whiteout' }]);

    // its blobs have digests: a changed config is caught
    const cfg = path.join(dir, blobRef(manifest.config.digest));
    fs.appendFileSync(cfg, ' ');
    const err = await importImage(dir, new LayerStore(path.join(tmp, 'forms', 'docker25-bad'))).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImageError);
    expect((err as Error).message).toContain(`digest mismatch: expected ${manifest.config.digest}`);
  });

  it("a nested multi-platform index: this machine's linux image is taken, the others never read", async () => {
    const { dir, desc } = await layout('multi');
    const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
    const absent = (c: string) => `sha256:${c.repeat(64)}`; // blobs that do not exist
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: desc.mediaType, digest: absent('a'), size: 1, platform: { os: 'linux', architecture: arch === 's390x' ? 'ppc64le' : 's390x' } },
          { mediaType: desc.mediaType, digest: absent('b'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
          { ...desc, platform: { os: 'linux', architecture: arch } },
        ],
      }),
    );
    const hex = crypto.createHash('sha256').update(nested).digest('hex');
    fs.writeFileSync(path.join(dir, 'blobs/sha256', hex), nested);
    fs.writeFileSync(
      path.join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${hex}`, size: nested.length, annotations: { 'org.opencontainers.image.ref.name': 'multi:1' } }],
      }),
    );
    const img = await importImage(dir, new LayerStore(path.join(tmp, 'forms', 'multi-store')));
    expect([img.format, img.name, img.layers.length]).toEqual(['oci', 'multi:1', 2]);
  });
});

describe('layer tars as others write them', () => {
  /** A raw tar from headers, as another tool might write it (devices, absolute and ".." paths). */
  function rawTar(entries: Array<{ path: string; type: string; body?: string; linkpath?: string; devmaj?: number; devmin?: number; mode?: number }>): Buffer {
    const blocks: Buffer[] = [];
    for (const e of entries) {
      const body = Buffer.from(e.body ?? '');
      const h = new Header({ path: e.path, type: e.type as never, size: body.length, mode: e.mode ?? 0o644, uid: 0, gid: 0, mtime: new Date(0), linkpath: e.linkpath, devmaj: e.devmaj, devmin: e.devmin });
      h.encode();
      blocks.push(h.block!, body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
    return Buffer.concat([...blocks, Buffer.alloc(1024)]);
  }
  it('whiteout device nodes (0:0), fifos and absolute paths are made; names from ref.name or the file', async () => {
    const src = ociOf(path.join(tmp, 'raw', 'dev'), [
      rawTar([
        { path: '/dev/', type: 'Directory', mode: 0o755 },
        { path: '/dev/gone', type: 'CharacterDevice', devmaj: 0, devmin: 0, mode: 0o000 },
        { path: 'dev/fifo', type: 'FIFO', mode: 0o600 },
        { path: './bin/sh', type: 'File', body: 'sh', mode: 0o755 },
        { path: 'bin/link', type: 'SymbolicLink', linkpath: '/bin/sh' },
        { path: 'bin/hard', type: 'Link', linkpath: 'bin/link' }, // a hard link to a symlink
      ]),
    ]);
    const store = new LayerStore(path.join(tmp, 'raw', 'dev-store'));
    const img = await importImage(src, store);
    expect(img.name).toBe('dev');
    const diff = store.info(img.top).diff;
    const gone = fs.lstatSync(path.join(diff, 'dev/gone'));
    expect([gone.isCharacterDevice(), gone.rdev, isWhiteout(gone)]).toEqual([true, libc.makedev(0, 0), true]);
    expect(fs.lstatSync(path.join(diff, 'dev/fifo')).isFIFO()).toBe(true);
    expect(fs.readFileSync(path.join(diff, 'bin/sh'), 'utf8')).toBe('sh');
    expect(fs.readlinkSync(path.join(diff, 'bin/link'))).toBe('/bin/sh');
    expect(fs.lstatSync(path.join(diff, 'bin/hard')).ino).toBe(fs.lstatSync(path.join(diff, 'bin/link')).ino);
  });

  it('refuses each unsafe entry by name and rule, keeps nothing of the layer, and touches nothing outside', async () => {
    const outside = path.join(tmp, 'raw', 'outside');
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(outside, 'target'), 'secret');
    const before = fs.readdirSync(outside);
    const file = (p: string) => ({ path: p, type: 'File', body: 'x' });
    const evil = { path: 'evil', type: 'SymbolicLink', linkpath: outside };
    // One crafted layer per rule: [name, entries, what the message must say]. Each also has a
    // harmless file first, which must not be left in the store either.
    const cases: Array<[string, Parameters<typeof rawTar>[0], RegExp]> = [
      ['a path that climbs out', [file('../../../../tmp/x/file')], /entry "\.\.\/\.\.\/\.\.\/\.\.\/tmp\/x\/file" leaves the layer: a path may not climb out with "\.\."/],
      ['a path that climbs out midway', [file('a/../../escape')], /entry "a\/\.\.\/\.\.\/escape" leaves the layer/],
      ['a hard link out of the layer', [{ path: 'h', type: 'Link', linkpath: `../../../..${outside}/target` }], /hard link "h" -> "[./]*tmp\/.*\/outside\/target" leaves the layer: a link target may not climb out/],
      ['a hard link to an absolute path', [{ path: 'h', type: 'Link', linkpath: `${outside}/target` }], /hard link "h" -> ".*\/outside\/target": the target is not an earlier entry of this layer/],
      ['a hard link through a symlink of the layer', [evil, { path: 'h', type: 'Link', linkpath: 'evil/target' }], /hard link "h" -> "evil\/target": the target is not an earlier entry of this layer/],
      ['a file written through a symlink of the layer', [evil, file('evil/planted')], /entry "evil\/planted" goes through "evil", a symbolic link this layer makes \(to ".*outside"\): a layer may not write through its own symlinks/],
      ['a directory made through a symlink of the layer', [evil, { path: 'evil/d/', type: 'Directory' }], /entry "evil\/d\/" goes through "evil"/],
      ['a whiteout through a symlink of the layer', [evil, { path: 'evil/.wh.target', type: 'File' }], /entry "evil\/\.wh\.target" goes through "evil"/],
      ['a block device', [{ path: 'dev/sda', type: 'BlockDevice', devmaj: 8, devmin: 0, mode: 0o666 }], /entry "dev\/sda" is a block device \(8:0\): a layer here may hold no device node but overlayfs's whiteout/],
      ['a character device', [{ path: 'dev/mem', type: 'CharacterDevice', devmaj: 1, devmin: 1, mode: 0o666 }], /entry "dev\/mem" is a character device \(1:1\)/],
      ['a whiteout of ..', [{ path: 'a/.wh...', type: 'File' }], /whiteout "a\/\.wh\.\.\." hides "\.\.": a whiteout may hide only an entry of its own directory/],
      ['a whiteout of .', [{ path: 'a/.wh..', type: 'File' }], /whiteout "a\/\.wh\.\." hides "\."/],
    ];
    const { HINT_UNSAFE } = await import('../../src/core/image-error.js');
    const { tr } = await import('../../src/i18n/messages.js');
    for (const [i, [rule, entries, says]] of cases.entries()) {
      const store = new LayerStore(path.join(tmp, 'raw', `unsafe-${i}-store`));
      const layer = rawTar([file('harmless'), ...entries]);
      const err = await importImage(ociOf(path.join(tmp, 'raw', `unsafe-${i}`), [layer]), store).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, rule).toBeInstanceOf(ImageError);
      expect((err as ImageError).message, rule).toMatch(/^layer 1 of 1 \([0-9a-f]{12}\): /);
      expect((err as ImageError).message, rule).toMatch(says);
      expect((err as ImageError).hint, rule).toBe(tr(HINT_UNSAFE));
      expect(store.ids(), rule).toEqual([]);
      expect(leftovers(store), rule).toEqual([]);
    }
    expect(fs.readdirSync(outside)).toEqual(before);
    expect(fs.readFileSync(path.join(outside, 'target'), 'utf8')).toBe('secret');
    expect(fs.existsSync(path.join(tmp, 'raw', 'escape'))).toBe(false);
    expect(fs.existsSync('/tmp/x/file')).toBe(false);
  });

  it('a layer with a PAX header over 1 MiB is refused by its size before it is read, nothing left', async () => {
    const { HINT_RESAVE } = await import('../../src/core/image-error.js');
    const { tr } = await import('../../src/i18n/messages.js');
    const size = 2 ** 20 + 1;
    const records = Buffer.alloc(Math.ceil(size / 512) * 512, 'a');
    const layer = Buffer.concat([metaHeader('x', size, 'PaxHeaders.0/big'), records, Buffer.alloc(1024)]);
    const store = new LayerStore(path.join(tmp, 'raw', 'big-pax-store'));
    const err = await importImage(ociOf(path.join(tmp, 'raw', 'big-pax'), [layer]), store).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).message).toMatch(/^layer 1 of 1 \([0-9a-f]{12}\): the meta header "PaxHeaders\.0\/big" \(type x\) holds 1048577 bytes: more than the 1 MiB/);
    expect((err as ImageError).hint).toBe(tr(HINT_RESAVE));
    expect(store.ids()).toEqual([]);
    expect(leftovers(store)).toEqual([]);
  });

  it('an image archive whose entries climb out is refused by name, and nothing is written outside', async () => {
    const { HINT_UNSAFE } = await import('../../src/core/image-error.js');
    const { tr } = await import('../../src/i18n/messages.js');
    const cases: Array<[string, Parameters<typeof rawTar>[0], RegExp]> = [
      ['a path', [{ path: '../../archive-escape', type: 'File', body: 'x' }], /: entry "\.\.\/\.\.\/archive-escape" leaves the archive: a path may not climb out with "\.\."/],
      ['a hard link', [{ path: 'h', type: 'Link', linkpath: '../../etc/passwd' }], /: hard link "h" -> "\.\.\/\.\.\/etc\/passwd" leaves the archive/],
    ];
    for (const [i, [what, entries, says]] of cases.entries()) {
      const file = path.join(tmp, 'raw', `archive-${i}.tar`);
      fs.writeFileSync(file, rawTar(entries));
      const store = new LayerStore(path.join(tmp, 'raw', `archive-${i}-store`));
      const err = await importImage(file, store).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(ImageError);
      expect((err as ImageError).message, what).toMatch(says);
      expect((err as ImageError).hint, what).toBe(tr(HINT_UNSAFE));
      expect(store.ids(), what).toEqual([]);
    }
    expect(fs.existsSync(path.join(tmp, 'archive-escape'))).toBe(false);
    expect(fs.existsSync(path.join(path.dirname(tmp), 'archive-escape'))).toBe(false);
  });

  it('a layer whose hard links join its own entries, in any order of kinds, is kept', async () => {
    const src = ociOf(path.join(tmp, 'raw', 'links'), [
      rawTar([
        { path: 'bin/', type: 'Directory', mode: 0o755 },
        { path: 'bin/a', type: 'File', body: 'a', mode: 0o755 },
        { path: 'bin/b', type: 'Link', linkpath: 'bin/a' },
        { path: 'bin/c', type: 'Link', linkpath: '/bin/b' }, // absolute: the layer's own bin/b
        { path: 'bin/fifo', type: 'FIFO', mode: 0o600 },
        { path: 'bin/fifo2', type: 'Link', linkpath: 'bin/fifo' },
      ]),
    ]);
    const store = new LayerStore(path.join(tmp, 'raw', 'links-store'));
    const img = await importImage(src, store);
    const diff = store.info(img.top).diff;
    const ino = (p: string) => fs.lstatSync(path.join(diff, p)).ino;
    expect([ino('bin/b'), ino('bin/c')]).toEqual([ino('bin/a'), ino('bin/a')]);
    expect(ino('bin/fifo2')).toBe(ino('bin/fifo'));
  });
});

describe('hexOf', () => {
  it('reads the sha256 hex of a digest and of the file names both formats give blobs', async () => {
    const { hexOf } = await import('../../src/core/image-digest.js');
    const hex = 'ab'.repeat(32);
    for (const ref of [`sha256:${hex}`, hex, `${hex}.json`, `blobs/sha256/${hex}`, `x/blobs/sha256/${hex}`]) expect(hexOf(ref), ref).toBe(hex);
    for (const ref of ['sha256:abc', `sha512:${hex}`, `${hex}/layer.tar`, 'config.json']) expect(hexOf(ref), ref).toBeUndefined();
  });
});
