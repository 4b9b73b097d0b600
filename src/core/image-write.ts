// Writing images: a directory per layer, tarred and written as an OCI layout or as a
// `docker save` tarball. For tests and for the lesson's demo.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
// node-tar is loaded when an image is written (image-unpack.ts says why).
import type { WriteEntry } from 'tar';
import { sha256, hashFile, hexOf, type Digest } from './image-digest.js';
import { MT, REF_NAME, goArch } from './image-manifest.js';

/** Every path under `dir`, sorted, parents before children: the same tree gives the same tar. */
function treeList(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of fs.readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    out.push(r);
    if (fs.lstatSync(path.join(dir, r)).isDirectory()) out.push(...treeList(dir, r));
  }
  return out;
}

/** Drop atime and ctime from the headers (Docker does too): reading a layer must not change
 * its tar, or the same layer written twice would get two diff ids. */
const stripTimes = (e: WriteEntry) => {
  Object.defineProperties(e.stat, { atime: { value: undefined }, ctime: { value: undefined } });
};

/** Tar `dir` into `file` (gzip if asked). Returns the diff id, the blob digest and size. */
async function writeLayer(dir: string, file: string, gzip: boolean): Promise<{ diffId: Digest; digest: Digest; size: number }> {
  const tarFile = gzip ? `${file}.tar` : file;
  // "@name" would make node-tar read the file as an archive to append: name it ./@name.
  const list = treeList(dir).map((p) => (p.startsWith('@') ? `./${p}` : p));
  // Synchronous: node-tar 7.5's async Pack mishandles hard links (a second end-of-archive
  // write after end, or a stall that leaves a cut archive: isaacs/node-tar#458, #460).
  const { create: tarCreate } = await import('tar');
  if (list.length) tarCreate({ sync: true, file: tarFile, cwd: dir, noDirRecurse: true, onWriteEntry: stripTimes }, list);
  else fs.writeFileSync(tarFile, Buffer.alloc(1024)); // an empty layer: just the end-of-archive blocks
  const diffId = await hashFile(tarFile);
  if (gzip) {
    await pipeline(fs.createReadStream(tarFile), zlib.createGzip(), fs.createWriteStream(file));
    fs.rmSync(tarFile);
  }
  return { diffId, digest: gzip ? await hashFile(file) : diffId, size: fs.statSync(file).size };
}

/** Write an image, for tests and for the lesson's demo. Each layer is a directory whose files
 * are taken as they are (a file named `.wh.x` or `.wh..wh..opq` in it IS the OCI whiteout).
 * format 'oci' writes an OCI layout directory at `target`; 'docker-save' a tarball file as
 * `docker save` wrote it before Docker 25 (<hex>/layer.tar, <hex>.json, manifest.json). */
export async function writeImage(target: string, layerDirs: string[], opts: { format: 'oci' | 'docker-save'; name: string; gzip?: boolean; config?: Record<string, unknown> }): Promise<void> {
  const gzip = !!opts.gzip;
  // The OCI layout is written in place; a docker save tarball is staged next to its file.
  const work = opts.format === 'oci' ? path.join(target, 'blobs', 'sha256') : fs.mkdtempSync(path.join(path.dirname(path.resolve(target)), '.write-image-'));
  try {
    fs.mkdirSync(work, { recursive: true });
    const layers: Array<{ diffId: Digest; digest: Digest; size: number; file: string }> = [];
    for (const dir of layerDirs) {
      const tmp = path.join(work, `.layer-${crypto.randomBytes(4).toString('hex')}`);
      const l = await writeLayer(dir, tmp, gzip);
      const file = opts.format === 'oci' ? hexOf(l.digest) : `${hexOf(l.digest)}/layer.tar`;
      fs.mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
      fs.renameSync(tmp, path.join(work, file));
      layers.push({ ...l, file });
    }
    const config = {
      architecture: goArch(),
      os: 'linux',
      config: { Cmd: ['/bin/sh'], ...opts.config },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest: Digest = `sha256:${sha256().update(configBytes).digest('hex')}`;

    if (opts.format === 'docker-save') {
      const configFile = `${hexOf(configDigest)}.json`;
      fs.writeFileSync(path.join(work, configFile), configBytes);
      fs.writeFileSync(path.join(work, 'manifest.json'), JSON.stringify([{ Config: configFile, RepoTags: [opts.name], Layers: layers.map((l) => l.file) }]));
      const entries = [...new Set(layers.map((l) => path.dirname(l.file))), configFile, 'manifest.json'];
      const { create: tarCreate } = await import('tar');
      tarCreate({ sync: true, file: target, cwd: work, portable: true }, entries);
      return;
    }
    const put = (bytes: Buffer) => {
      const digest: Digest = `sha256:${sha256().update(bytes).digest('hex')}`;
      fs.writeFileSync(path.join(work, hexOf(digest)), bytes);
      return { digest, size: bytes.length };
    };
    put(configBytes);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: MT.ociConfig, digest: configDigest, size: configBytes.length },
        layers: layers.map((l) => ({ mediaType: gzip ? MT.ociLayerGzip : MT.ociLayer, digest: l.digest, size: l.size })),
      }),
    );
    const m = put(manifest);
    fs.writeFileSync(
      path.join(target, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociIndex,
        manifests: [{ mediaType: MT.ociManifest, ...m, platform: { architecture: goArch(), os: 'linux' }, annotations: { [REF_NAME]: opts.name } }],
      }),
    );
    fs.writeFileSync(path.join(target, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  } finally {
    if (opts.format === 'docker-save') fs.rmSync(work, { recursive: true, force: true });
  }
}
