// Container images, in the two forms they travel in, unpacked into the layer store:
//
//   docker save     manifest.json -> <config>.json + <id>/layer.tar per layer (Docker 25+ points
//                   the same manifest.json into blobs/sha256/ instead)
//   OCI layout      oci-layout, index.json -> (index ->) manifest -> config + layer blobs, all
//                   under blobs/sha256/<hex>, named by their sha256
//
// Nothing is trusted before it is checked: every blob against its digest, every layer's
// uncompressed tar against the diff id the config lists for it. A layer is keyed by its chain
// id, so an image that shares base layers with one imported before reuses them as they are.
// Tar reading and writing is node-tar's; what overlayfs needs beyond a plain extraction
// (whiteouts, opaque directories, device nodes, symlinks kept verbatim) is done here.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create as tarCreate, Header, UnpackSync, type ReadEntry, type WriteEntry } from 'tar';
import { chainIds, layerDirName, OPAQUE_XATTR, type LayerStore } from './layers.js';
import { lsetxattr, makedev, mknod, S_IFCHR } from './libc.js';
import type { Ledger } from './ledger.js';
import { HintedError } from './errors.js';

export class ImageError extends HintedError {
  /** Always given: the constructor requires it (a type-only narrowing of HintedError's). */
  declare readonly hint: string;
  constructor(message: string, hint: string) {
    super(message, hint);
  }
}

export interface ImportedLayer {
  chainId: string;
  diffId: string;
  /** The layer's directory name in the store: layerDirName(chainId). */
  id: string;
  /** It was in the store already (shared with an image imported before): not unpacked again. */
  reused: boolean;
}

export interface ImportedImage {
  name: string;
  format: 'oci' | 'docker-save';
  /** Base first. */
  layers: ImportedLayer[];
  /** The id of the top layer. */
  top: string;
  config: Record<string, unknown>;
}

const HINT_RESAVE = 're-export the image and import the new file: docker save NAME -o NAME.tar (or skopeo copy docker://NAME oci-archive:NAME.tar)';
const HINT_ZSTD = 'zstd layers are not supported here: re-save the image with gzip or plain layers, e.g. docker save NAME -o NAME.tar, or skopeo copy --dest-compress-format gzip ... oci:DIR';

const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;
const REF_NAME = 'org.opencontainers.image.ref.name';

/** The architecture as image platforms name it (Go's GOARCH). */
const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
const goArch = () => GO_ARCH[process.arch] ?? process.arch;

const sha256 = () => crypto.createHash('sha256');
const SHA256_RE = /^sha256:[0-9a-f]{64}$/;
const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

// ---------------------------------------------------------------- reading the image's JSON

/** What to unpack: found and checked from the manifests before any layer is made. */
interface Plan {
  format: ImportedImage['format'];
  name?: string;
  config: Record<string, unknown>;
  diffIds: string[];
  layers: Array<{ file: string; digest?: string; mediaType?: string }>;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A path the manifest names, which must stay inside the image. */
function inside(root: string, rel: string, what: string): string {
  const p = path.resolve(root, rel);
  if (p !== root && !p.startsWith(root + path.sep)) throw new ImageError(`${what} points outside the image: ${rel}`, HINT_RESAVE);
  return p;
}

/** A content-addressed blob: blobs/<algorithm>/<hex>. */
function blobFile(root: string, digest: unknown, what: string): string {
  if (typeof digest !== 'string' || !/^[a-z0-9]+:[0-9a-f]+$/.test(digest)) throw new ImageError(`${what}: not a digest: ${JSON.stringify(digest)}`, HINT_RESAVE);
  if (!SHA256_RE.test(digest)) throw new ImageError(`${what}: digest ${digest} uses an algorithm this importer does not check (only sha256)`, HINT_RESAVE);
  return path.join(root, 'blobs', 'sha256', digest.slice(7));
}

function readFile(file: string, root: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const rel = path.relative(root, file);
    if (code === 'ENOENT') throw new ImageError(`${what} is missing from the image: ${rel}`, HINT_RESAVE);
    throw new ImageError(`cannot read ${rel}: ${(err as Error).message}`, HINT_RESAVE);
  }
}

/** Read a JSON file, checking its digest first when it has one. */
function readJson(file: string, root: string, what: string, digest?: string): unknown {
  const bytes = readFile(file, root, what);
  if (digest) {
    const got = `sha256:${sha256().update(bytes).digest('hex')}`;
    if (got !== digest) throw digestMismatch(path.relative(root, file), digest, got);
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ImageError(`${path.relative(root, file)} (${what}) is not valid JSON: ${(err as Error).message}`, HINT_RESAVE);
  }
}

function digestMismatch(file: string, expected: string, got: string): ImageError {
  return new ImageError(`${file}: digest mismatch: expected ${expected}, got ${got} (the file is damaged or was changed)`, HINT_RESAVE);
}

/** The config's diff ids: the sha256 of each layer's uncompressed tar, base first. */
function diffIdsOf(config: unknown, file: string): string[] {
  const ids = isObject(config) && isObject(config.rootfs) ? config.rootfs.diff_ids : undefined;
  if (!Array.isArray(ids) || !ids.length || !ids.every((d) => typeof d === 'string' && SHA256_RE.test(d))) {
    throw new ImageError(`${file} is not an image config: it lists no rootfs.diff_ids (sha256:<hex> each)`, HINT_RESAVE);
  }
  return ids as string[];
}

/** `docker save`: manifest.json, with layers as <id>/layer.tar (legacy) or blobs/sha256/<hex>. */
function planDockerSave(root: string, wanted?: string): Plan {
  const manifest = readJson(path.join(root, 'manifest.json'), root, 'the docker save manifest');
  const entries = Array.isArray(manifest) ? manifest.filter(isObject) : [];
  if (!entries.length) throw new ImageError('manifest.json lists no image', HINT_RESAVE);
  const tags = (e: Record<string, unknown>) => (Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : []);
  const entry = entries.find((e) => wanted !== undefined && tags(e).includes(wanted)) ?? entries[0];
  if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
    throw new ImageError('manifest.json: the image has no Config file or no Layers list', HINT_RESAVE);
  }
  // Both forms name the config by its sha256: <hex>.json, or blobs/sha256/<hex>.
  const hexOf = (p: string) => /(?:^|\/)(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json)?$/.exec(p)?.[1];
  const configHex = hexOf(entry.Config);
  const config = readJson(inside(root, entry.Config, 'manifest.json Config'), root, 'the image config', configHex && `sha256:${configHex}`);
  const diffIds = diffIdsOf(config, entry.Config);
  const layers = (entry.Layers as string[]).map((l) => {
    // Only a blobs/sha256/<hex> layer has a digest of its stored bytes; a legacy
    // <id>/layer.tar is checked by its diff id alone.
    const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(path.posix.normalize(l));
    return { file: inside(root, l, 'manifest.json Layers'), digest: m ? `sha256:${m[1]}` : undefined };
  });
  if (layers.length !== diffIds.length) throw new ImageError(`manifest.json lists ${layers.length} layers, its config ${diffIds.length} diff ids`, HINT_RESAVE);
  return { format: 'docker-save', name: tags(entry)[0], config: config as Record<string, unknown>, diffIds, layers };
}

/** Pick one manifest of an index: this machine's linux platform, else one without a platform. */
function choose(descs: Descriptor[], where: string): Descriptor {
  // buildx adds attestation manifests (platform unknown/unknown): never an image to run.
  const images = descs.filter((d) => d.platform?.os !== 'unknown' && !d.annotations?.['vnd.docker.reference.type']);
  const arch = goArch();
  const match = images.find((d) => d.platform?.os === 'linux' && d.platform.architecture === arch) ?? images.find((d) => !d.platform);
  if (match) return match;
  const have = images.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).join(', ') || 'none';
  throw new ImageError(`${where} has no image for linux/${arch} (it has: ${have})`, `get the image for this machine, e.g. docker pull --platform linux/${arch} NAME, then docker save it`);
}

function descriptors(list: unknown, where: string): Descriptor[] {
  const descs = Array.isArray(list) ? list.filter((d): d is Descriptor => isObject(d) && typeof d.digest === 'string') : [];
  if (!descs.length) throw new ImageError(`${where} lists no manifests`, HINT_RESAVE);
  return descs;
}

/** An OCI image layout: index.json -> (nested indexes ->) one image manifest. */
function planOci(root: string, wanted?: string): Plan {
  const index = readJson(path.join(root, 'index.json'), root, 'the OCI index');
  let descs = descriptors(isObject(index) ? index.manifests : undefined, 'index.json');
  // A layout can hold several images, told apart by their ref.name annotation.
  const named = descs.filter((d) => wanted !== undefined && d.annotations?.[REF_NAME] === wanted);
  if (named.length) descs = named;
  let desc = choose(descs, 'index.json');
  const name = desc.annotations?.[REF_NAME];
  let doc: unknown;
  for (let depth = 0; ; depth++) {
    doc = readJson(blobFile(root, desc.digest, 'index.json'), root, `manifest ${short(desc.digest)}`, desc.digest);
    const isIndex = desc.mediaType === MT.ociIndex || desc.mediaType === MT.dockerList || (isObject(doc) && Array.isArray(doc.manifests));
    if (!isIndex) break;
    if (depth >= 4) throw new ImageError('index.json: image indexes nested too deep', HINT_RESAVE);
    const where = `index ${short(desc.digest)}`;
    desc = choose(descriptors(isObject(doc) ? doc.manifests : undefined, where), where);
  }
  const where = `manifest ${short(desc.digest)}`;
  const manifest = doc;
  if (!isObject(manifest) || !isObject(manifest.config) || !Array.isArray(manifest.layers)) throw new ImageError(`${where} is not an image manifest (no config or layers)`, HINT_RESAVE);
  const configDigest = manifest.config.digest as string;
  const config = readJson(blobFile(root, configDigest, `${where} config`), root, 'the image config', configDigest);
  const diffIds = diffIdsOf(config, `config ${short(configDigest)}`);
  const layers = manifest.layers.map((l, i) => {
    if (!isObject(l)) throw new ImageError(`${where}: layer ${i + 1} is not a descriptor`, HINT_RESAVE);
    return { file: blobFile(root, l.digest, `${where} layer ${i + 1}`), digest: l.digest as string, mediaType: typeof l.mediaType === 'string' ? l.mediaType : undefined };
  });
  if (layers.length !== diffIds.length) throw new ImageError(`${where} lists ${layers.length} layers, its config ${diffIds.length} diff ids`, HINT_RESAVE);
  return { format: 'oci', name, config: config as Record<string, unknown>, diffIds, layers };
}

/** Find the image in a directory: docker save (manifest.json; Docker 25+ writes index.json
 * too, but manifest.json has the tags) or an OCI layout (index.json). A tar of a directory
 * that holds the image is looked into once. */
function planImage(root: string, source: string, wanted?: string): Plan {
  const has = (dir: string, f: string) => fs.existsSync(path.join(dir, f));
  if (!has(root, 'manifest.json') && !has(root, 'index.json')) {
    const sub = fs.readdirSync(root, { withFileTypes: true });
    if (sub.length === 1 && sub[0].isDirectory()) return planImage(path.join(root, sub[0].name), source, wanted);
    throw new ImageError(`${source} is not an image: it has neither manifest.json (docker save) nor index.json (OCI layout)`, 'give a file made by `docker save NAME -o NAME.tar`, or an OCI layout (skopeo copy docker://NAME oci:DIR)');
  }
  return has(root, 'manifest.json') ? planDockerSave(root, wanted) : planOci(root, wanted);
}

// ---------------------------------------------------------------- unpacking

/** Feed a stream into a synchronous unpacker. Synchronous on purpose: when a chunk has been
 * written, everything it made is on disk, so after a failure nothing is still being written
 * into a directory that is about to be removed. */
function unpackSink(unpack: UnpackSync, state: { failure?: Error }) {
  unpack.on('error', (err: Error) => {
    state.failure ??= err;
  });
  return async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      unpack.write(chunk);
      if (state.failure) throw state.failure;
    }
    unpack.end();
    if (state.failure) throw state.failure;
  };
}

/** A pass-through that hashes what flows by. */
const tap = (hash: crypto.Hash) =>
  new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });

async function hashFile(file: string): Promise<string> {
  const h = sha256();
  await pipeline(fs.createReadStream(file), tap(h), new PassThrough().resume());
  return `sha256:${h.digest('hex')}`;
}

/** Extract a source tarball (plain or gzip) into `dir`. Only files, directories and links:
 * an image archive holds nothing else. */
async function extractArchive(file: string, dir: string, source: string): Promise<void> {
  const state: { failure?: Error } = {};
  const unpack = new UnpackSync({
    cwd: dir,
    strict: true,
    preserveOwner: false,
    filter: (_p, e) => ['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link'].includes((e as ReadEntry).type),
  });
  // Told apart first, so that a wrong file is called that and not "a damaged archive".
  const head = Buffer.alloc(512);
  let n: number;
  try {
    const fd = fs.openSync(file, 'r');
    n = fs.readSync(fd, head, 0, 512, 0);
    fs.closeSync(fd);
  } catch (err) {
    throw new ImageError(`cannot read ${source}: ${(err as Error).message}`, 'check the path and that you may read the file');
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  if (!gzip && (n < 512 || !new Header(head).cksumValid)) {
    throw new ImageError(`${source} is not a tar archive`, 'give a file made by `docker save NAME -o NAME.tar`, or an OCI layout as a directory or a tar of one');
  }
  try {
    await pipeline(fs.createReadStream(file), unpackSink(unpack, state));
  } catch (err) {
    throw new ImageError(`${source} is damaged: ${(err as Error).message}`, HINT_RESAVE);
  }
}

const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** A layer entry written after node-tar is done (see LayerUnpacker). */
type Deferred =
  | { kind: 'symlink'; target: string; uid?: number; gid?: number; mtime?: Date }
  | { kind: 'node'; type: number; mode: number; dev: number; uid?: number; gid?: number; mtime?: Date }
  | { kind: 'hardlink'; target: string };

/** The parts of a tar entry path, as node-tar places it (leading / dropped); null if it has "..". */
function entryParts(p: string): string[] | null {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  return parts.includes('..') ? null : parts;
}

const lstatOrNull = (p: string) => fs.lstatSync(p, { throwIfNoEntry: false }) ?? null;

/** Unpacks one layer tar into a diff directory, as overlayfs needs it.
 *
 * node-tar extracts files, directories and hard links. The rest it would get wrong for a
 * container root, so the filter takes it out and finish() makes it after:
 *  - `.wh.<name>` becomes a whiteout (0/0 character device), `.wh..wh..opq` the opaque xattr;
 *  - symlinks: node-tar rewrites absolute targets (/usr/lib/x -> usr/lib/x), which breaks
 *    them inside the container, so they are made verbatim. Made last, no later entry of the
 *    layer can be written through one;
 *  - device nodes and fifos, which node-tar does not make;
 *  - modes: node-tar applies the umask and forces u+rwx on directories (/tmp's 1777 would be
 *    1755), and chown clears setuid bits: the archive's modes are set again at the end. */
class LayerUnpacker {
  readonly state: { failure?: Error } = {};
  readonly unpack: UnpackSync;
  private files: Array<{ rel: string; mode: number }> = [];
  private dirs: Array<{ rel: string; mode: number; mtime?: Date }> = [];
  private deferred = new Map<string, Deferred>();
  private whiteouts: Array<{ dir: string[]; name: string }> = [];
  private opaque = new Map<string, string[]>();

  constructor(readonly diff: string, readonly what: string) {
    this.unpack = new UnpackSync({
      cwd: diff,
      filter: (_p, e) => this.filter(e as ReadEntry),
      // Leading "/" stripped from a path is harmless (TAR_ENTRY_INFO); every other warning
      // is an entry node-tar refused ("..", out of the layer, unsupported): fail the layer.
      onwarn: (code, message) => {
        if (code !== 'TAR_ENTRY_INFO') this.fail(`${code}: ${message}`);
      },
    });
  }

  private fail(message: string) {
    this.state.failure ??= new ImageError(`${this.what}: ${message}`, HINT_RESAVE);
  }

  private filter(e: ReadEntry): boolean {
    const parts = entryParts(e.path);
    if (!parts) {
      this.fail(`entry ${JSON.stringify(e.path)} leaves the layer ("..")`);
      return false;
    }
    const rel = parts.join('/');
    const base = parts[parts.length - 1] ?? '';
    if (base.startsWith('.wh.')) {
      const dir = parts.slice(0, -1);
      if (base === '.wh..wh..opq') this.opaque.set(dir.join('/'), dir);
      else if (!base.startsWith('.wh..wh.')) {
        // (other .wh..wh. names are aufs bookkeeping: nothing to make)
        const name = base.slice(4);
        if (name === '.' || name === '..') this.fail(`bad whiteout ${JSON.stringify(e.path)}`);
        else this.whiteouts.push({ dir, name });
      }
      return false;
    }
    // A later entry of the same path replaces an earlier one, as tar does.
    this.deferred.delete(rel);
    switch (e.type) {
      case 'SymbolicLink':
        this.deferred.set(rel, { kind: 'symlink', target: e.linkpath ?? '', uid: e.uid, gid: e.gid, mtime: e.mtime });
        return false;
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO': {
        const type = e.type === 'FIFO' ? S_IFIFO : e.type === 'BlockDevice' ? S_IFBLK : S_IFCHR;
        const dev = makedev(e.header.devmaj ?? 0, e.header.devmin ?? 0);
        this.deferred.set(rel, { kind: 'node', type, mode: (e.mode ?? 0o600) & 0o7777, dev, uid: e.uid, gid: e.gid, mtime: e.mtime });
        return false;
      }
      case 'Link': {
        // A hard link to something made later must be made later too.
        const target = entryParts(e.linkpath ?? '')?.join('/');
        if (target !== undefined && this.deferred.has(target)) {
          this.deferred.set(rel, { kind: 'hardlink', target });
          return false;
        }
        return true;
      }
      case 'Directory':
      case 'GNUDumpDir':
        if (e.mode !== undefined) this.dirs.push({ rel, mode: e.mode & 0o7777, mtime: e.mtime });
        return true;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        if (e.mode !== undefined) this.files.push({ rel, mode: e.mode & 0o7777 });
        return true;
      default:
        return true; // node-tar knows it, or warns: the layer fails
    }
  }

  /** The directory `parts` inside the diff, made if missing. Every step must be a real
   * directory: a symlink in the layer must not lead a whiteout or link out of it. */
  private dirOf(parts: string[], rel: string, create = true): string {
    let cur = this.diff;
    for (let i = 0; i < parts.length; i++) {
      cur = path.join(cur, parts[i]);
      const st = lstatOrNull(cur);
      if (!st && create) {
        fs.mkdirSync(cur);
        fs.chmodSync(cur, 0o755);
      } else if (!st?.isDirectory()) {
        const is = !st ? 'missing' : st.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
        throw new ImageError(`${this.what}: ${rel}: ${parts.slice(0, i + 1).join('/')} is ${is}`, HINT_RESAVE);
      }
    }
    return cur;
  }

  /** Make what the filter held back, then put the archive's modes back. */
  finish(): void {
    // Files first, before any symlink exists in the diff that a path could go through.
    for (const f of this.files) {
      const p = path.join(this.diff, f.rel);
      const st = lstatOrNull(p);
      if (st?.isFile() && (st.mode & 0o7777) !== f.mode) fs.chmodSync(p, f.mode);
    }
    for (const [rel, d] of this.deferred) {
      const parts = rel.split('/');
      const p = path.join(this.dirOf(parts.slice(0, -1), rel), parts[parts.length - 1]);
      const st = lstatOrNull(p);
      if (st?.isDirectory()) throw new ImageError(`${this.what}: ${rel} is both a directory and a ${d.kind} in this layer`, HINT_RESAVE);
      if (st) fs.unlinkSync(p);
      if (d.kind === 'hardlink') {
        const t = d.target.split('/');
        fs.linkSync(path.join(this.dirOf(t.slice(0, -1), d.target, false), t[t.length - 1]), p);
        continue;
      }
      if (d.kind === 'symlink') fs.symlinkSync(d.target, p);
      else {
        mknod(p, d.type | d.mode, d.dev);
        fs.chmodSync(p, d.mode); // mknod's mode went through the umask
      }
      fs.lchownSync(p, d.uid ?? 0, d.gid ?? 0);
      if (d.mtime) fs.lutimesSync(p, d.mtime, d.mtime);
    }
    for (const w of this.whiteouts) {
      const p = path.join(this.dirOf(w.dir, [...w.dir, `.wh.${w.name}`].join('/')), w.name);
      // A whiteout hides only what is below: a file of the same layer stays (OCI image spec).
      if (!lstatOrNull(p)) mknod(p, S_IFCHR | 0o000, 0);
    }
    for (const [rel, parts] of this.opaque) lsetxattr(this.dirOf(parts, `${rel}/.wh..wh..opq`), OPAQUE_XATTR, 'y');
    // Directories last: their mtimes changed while their contents were written.
    for (const d of this.dirs) {
      const p = path.join(this.diff, d.rel);
      if (!lstatOrNull(p)?.isDirectory()) continue;
      fs.chmodSync(p, d.mode);
      if (d.mtime) fs.utimesSync(p, d.mtime, d.mtime);
    }
  }
}

/** Unpack a layer blob into `diff`, checking its blob digest and its diff id in the same pass. */
async function unpackLayer(layer: Plan['layers'][number], diffId: string, diff: string, what: string): Promise<void> {
  let head: Buffer;
  try {
    const fd = fs.openSync(layer.file, 'r');
    head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError(`${what} is missing from the image: ${path.basename(path.dirname(layer.file))}/${path.basename(layer.file)}`, HINT_RESAVE);
    throw err;
  }
  const zstd = head.readUInt32LE(0) === 0xfd2fb528 || /zstd/.test(layer.mediaType ?? '');
  if (zstd) throw new ImageError(`${what} is zstd-compressed: zstd layers are not supported`, HINT_ZSTD);
  const gzip = head[0] === 0x1f && head[1] === 0x8b;

  const blobHash = sha256();
  const diffHash = sha256();
  const x = new LayerUnpacker(diff, what);
  try {
    await pipeline(fs.createReadStream(layer.file), tap(blobHash), gzip ? zlib.createGunzip() : new PassThrough(), tap(diffHash), unpackSink(x.unpack, x.state));
  } catch (err) {
    // A damaged blob explains any failure to read it: say that, when its digest shows it.
    const expected = layer.digest ?? (gzip ? undefined : diffId);
    const got = expected && (await hashFile(layer.file));
    if (expected && got !== expected) throw digestMismatch(layer.digest ? `${what}, blob` : `${what}, uncompressed`, expected, got!);
    if (err instanceof ImageError) throw err;
    throw new ImageError(`${what} is not a readable ${gzip ? 'gzip ' : ''}tar: ${(err as Error).message}`, HINT_RESAVE);
  }
  const blobDigest = `sha256:${blobHash.digest('hex')}`;
  if (layer.digest && blobDigest !== layer.digest) throw digestMismatch(`${what}, blob`, layer.digest, blobDigest);
  const gotDiffId = `sha256:${diffHash.digest('hex')}`;
  if (gotDiffId !== diffId) throw digestMismatch(`${what}, uncompressed (the config's diff id)`, diffId, gotDiffId);
  x.finish();
}

// ---------------------------------------------------------------- import, list

const imagesDir = (store: LayerStore) => path.resolve(store.root, '..', 'images');
const imageFileName = (name: string) => (name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_').slice(0, 200) || 'image') + '.json';

/** Import an image from a `docker save` tarball (legacy: manifest.json + <id>/layer.tar +
 * <config>.json; and the Docker 25+ form whose manifest.json points into blobs/sha256/), or
 * from an OCI image layout given as a directory or as a tar of one. Layers already in the
 * store (same chain id) are reused. A failure leaves no half-made layer: the layers made
 * before it are complete and verified; the failing one does not exist. */
export async function importImage(source: string, store: LayerStore, opts: { name?: string; ledger?: Ledger } = {}): Promise<ImportedImage> {
  const src = path.resolve(source);
  const st = fs.statSync(src, { throwIfNoEntry: false });
  if (!st) throw new ImageError(`no such file or directory: ${source}`, 'give the path of a `docker save` tarball, or of an OCI layout (a directory or a tar of one)');
  store.ensure();
  let tmp: string | null = null;
  let tmpEntry: ReturnType<Ledger['add']> | undefined;
  try {
    let root = src;
    if (!st.isDirectory()) {
      // Inside the store: same filesystem, and the journal removes it if we are killed.
      tmp = path.join(store.root, `.import-${crypto.randomBytes(6).toString('hex')}`);
      tmpEntry = opts.ledger?.add({ kind: 'file', path: tmp });
      fs.mkdirSync(tmp);
      await extractArchive(src, tmp, source);
      root = tmp;
    }
    const plan = planImage(root, source, opts.name);

    const chains = chainIds(plan.diffIds);
    const layers: ImportedLayer[] = [];
    let parent: string | null = null;
    for (let i = 0; i < chains.length; i++) {
      const id = layerDirName(chains[i]);
      const what = `layer ${i + 1} of ${chains.length} (${short(plan.diffIds[i])})`;
      let made;
      try {
        made = await store.create(id, parent, (diff) => unpackLayer(plan.layers[i], plan.diffIds[i], diff, what), { ledger: opts.ledger });
      } catch (err) {
        if (err instanceof ImageError) throw err;
        throw new ImageError(`${what}: could not unpack: ${(err as Error).message}`, `importing needs root (whiteouts are device files, opaque directories trusted.* xattrs), and room in ${store.root}`);
      }
      layers.push({ chainId: chains[i], diffId: plan.diffIds[i], id, reused: made.reused });
      parent = id;
    }

    const name = opts.name ?? plan.name ?? path.basename(src).replace(/\.(tar|tar\.gz|tgz)$/, '');
    const image: ImportedImage = { name, format: plan.format, layers, top: layers[layers.length - 1].id, config: plan.config };
    const dir = imagesDir(store);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, imageFileName(name));
    const record = { name, format: plan.format, layers: layers.map((l) => l.chainId), top: image.top, config: plan.config };
    // Written whole or not at all: a reader never sees half a record.
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2) + '\n');
    fs.renameSync(`${file}.tmp`, file);
    return image;
  } finally {
    if (tmp) {
      fs.rmSync(tmp, { recursive: true, force: true });
      tmpEntry?.drop();
    }
  }
}

/** The images imported into this store: <store.root>/../images/<name>.json. */
export function listImages(store: LayerStore): Array<{ name: string; top: string; layers: string[] }> {
  const dir = imagesDir(store);
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: Array<{ name: string; top: string; layers: string[] }> = [];
  for (const f of files) {
    try {
      const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      if (typeof r.name === 'string' && typeof r.top === 'string' && Array.isArray(r.layers)) out.push({ name: r.name, top: r.top, layers: r.layers.map(String) });
    } catch {
      /* not a record (or being written): not an image */
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

// ---------------------------------------------------------------- writing

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
async function writeLayer(dir: string, file: string, gzip: boolean): Promise<{ diffId: string; digest: string; size: number }> {
  const tarFile = gzip ? `${file}.tar` : file;
  // "@name" would make node-tar read the file as an archive to append: name it ./@name.
  const list = treeList(dir).map((p) => (p.startsWith('@') ? `./${p}` : p));
  // Synchronous: node-tar 7.5's async Pack mishandles hard links (a second end-of-archive
  // write after end, or a stall that leaves a cut archive: isaacs/node-tar#458, #460).
  if (list.length) tarCreate({ sync: true, file: tarFile, cwd: dir, noDirRecurse: true, onWriteEntry: stripTimes }, list);
  else fs.writeFileSync(tarFile, Buffer.alloc(1024)); // an empty layer: just the end-of-archive blocks
  const diffId = await hashFile(tarFile);
  if (gzip) {
    await pipeline(fs.createReadStream(tarFile), zlib.createGzip(), fs.createWriteStream(file));
    fs.rmSync(tarFile);
  }
  return { diffId, digest: gzip ? await hashFile(file) : diffId, size: fs.statSync(file).size };
}

const hexOf = (digest: string) => digest.slice('sha256:'.length);

/** Write an image, for tests and for the lesson's demo. Each layer is a directory whose files
 * are taken as they are (a file named `.wh.x` or `.wh..wh..opq` in it IS the OCI whiteout).
 * format 'oci' writes an OCI layout directory at `target`; 'docker-save' a tarball file as
 * `docker save` wrote it before Docker 25 (<hex>/layer.tar, <hex>.json, manifest.json). */
export async function writeImage(
  target: string,
  layerDirs: string[],
  opts: { format: 'oci' | 'docker-save'; name: string; gzip?: boolean; config?: Record<string, unknown> },
): Promise<void> {
  const gzip = !!opts.gzip;
  // The OCI layout is written in place; a docker save tarball is staged next to its file.
  const work = opts.format === 'oci' ? path.join(target, 'blobs', 'sha256') : fs.mkdtempSync(path.join(path.dirname(path.resolve(target)), '.write-image-'));
  try {
    fs.mkdirSync(work, { recursive: true });
    const layers: Array<{ diffId: string; digest: string; size: number; file: string }> = [];
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
    const configDigest = `sha256:${sha256().update(configBytes).digest('hex')}`;

    if (opts.format === 'docker-save') {
      const configFile = `${hexOf(configDigest)}.json`;
      fs.writeFileSync(path.join(work, configFile), configBytes);
      fs.writeFileSync(path.join(work, 'manifest.json'), JSON.stringify([{ Config: configFile, RepoTags: [opts.name], Layers: layers.map((l) => l.file) }]));
      const entries = [...new Set(layers.map((l) => path.dirname(l.file))), configFile, 'manifest.json'];
      tarCreate({ sync: true, file: target, cwd: work, portable: true }, entries);
      return;
    }
    const put = (bytes: Buffer) => {
      const digest = `sha256:${sha256().update(bytes).digest('hex')}`;
      fs.writeFileSync(path.join(work, hexOf(digest)), bytes);
      return { digest, size: bytes.length };
    };
    put(configBytes);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: configDigest, size: configBytes.length },
      layers: layers.map((l) => ({ mediaType: gzip ? MT.ociLayerGzip : MT.ociLayer, digest: l.digest, size: l.size })),
    }));
    const m = put(manifest);
    fs.writeFileSync(path.join(target, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: [{ mediaType: MT.ociManifest, ...m, platform: { architecture: goArch(), os: 'linux' }, annotations: { [REF_NAME]: opts.name } }],
    }));
    fs.writeFileSync(path.join(target, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  } finally {
    if (opts.format === 'docker-save') fs.rmSync(work, { recursive: true, force: true });
  }
}
