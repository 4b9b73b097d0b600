// Reading an image's JSON, in the two forms images travel in:
//
//   docker save     manifest.json -> <config>.json + <id>/layer.tar per layer (Docker 25+ points
//                   the same manifest.json into blobs/sha256/ instead)
//   OCI layout      oci-layout, index.json -> (index ->) manifest -> config + layer blobs, all
//                   under blobs/sha256/<hex>, named by their sha256
//
// The result is a Plan: the layers to unpack, with the digests and diff ids to check them
// against, found and checked before any layer is made.
import fs from 'node:fs';
import path from 'node:path';
import { ImageError, HINT_RESAVE, digestMismatch } from './image-error.js';
import { sha256, SHA256_RE, short, hexOf } from './image-digest.js';
import { t, tr } from '../i18n/messages.js';

export type ImageFormat = 'oci' | 'docker-save';

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** The architecture as image platforms name it (Go's GOARCH). */
const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
export const goArch = () => GO_ARCH[process.arch] ?? process.arch;

/** What to unpack: found and checked from the manifests before any layer is made. */
export interface Plan {
  format: ImageFormat;
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
  if (p !== root && !p.startsWith(root + path.sep)) throw new ImageError(t`${what} points outside the image: ${rel}`, tr(HINT_RESAVE));
  return p;
}

/** A content-addressed blob: blobs/<algorithm>/<hex>. */
function blobFile(root: string, digest: unknown, what: string): string {
  if (typeof digest !== 'string' || !/^[a-z0-9]+:[0-9a-f]+$/.test(digest)) throw new ImageError(t`${what}: not a digest: ${JSON.stringify(digest)}`, tr(HINT_RESAVE));
  if (!SHA256_RE.test(digest)) throw new ImageError(t`${what}: digest ${digest} uses an algorithm this importer does not check (only sha256)`, tr(HINT_RESAVE));
  return path.join(root, 'blobs', 'sha256', digest.slice(7));
}

function readFile(file: string, root: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const rel = path.relative(root, file);
    if (code === 'ENOENT') throw new ImageError(t`${what} is missing from the image: ${rel}`, tr(HINT_RESAVE));
    throw new ImageError(t`cannot read ${rel}: ${(err as Error).message}`, tr(HINT_RESAVE));
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
    throw new ImageError(t`${path.relative(root, file)} (${what}) is not valid JSON: ${(err as Error).message}`, tr(HINT_RESAVE));
  }
}

/** The config's diff ids: the sha256 of each layer's uncompressed tar, base first. */
function diffIdsOf(config: unknown, file: string): string[] {
  const ids = isObject(config) && isObject(config.rootfs) ? config.rootfs.diff_ids : undefined;
  if (!Array.isArray(ids) || !ids.length || !ids.every((d) => typeof d === 'string' && SHA256_RE.test(d))) {
    throw new ImageError(t`${file} is not an image config: it lists no rootfs.diff_ids (sha256:<hex> each)`, tr(HINT_RESAVE));
  }
  return ids as string[];
}

/** `docker save`: manifest.json, with layers as <id>/layer.tar (legacy) or blobs/sha256/<hex>. */
function planDockerSave(root: string, wanted?: string): Plan {
  const manifest = readJson(path.join(root, 'manifest.json'), root, t`the docker save manifest`);
  const entries = Array.isArray(manifest) ? manifest.filter(isObject) : [];
  const tags = (e: Record<string, unknown>) => (Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : []);
  const entry = entries.find((e) => wanted !== undefined && tags(e).includes(wanted)) ?? entries[0];
  if (!entry) throw new ImageError(t`manifest.json lists no image`, tr(HINT_RESAVE));
  if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
    throw new ImageError(t`manifest.json: the image has no Config file or no Layers list`, tr(HINT_RESAVE));
  }
  // Both forms name the config by its sha256: <hex>.json, or blobs/sha256/<hex>.
  const configHex = hexOf(entry.Config);
  const config = readJson(inside(root, entry.Config, 'manifest.json Config'), root, t`the image config`, configHex && `sha256:${configHex}`);
  const diffIds = diffIdsOf(config, entry.Config);
  const layers = (entry.Layers as string[]).map((l) => {
    // Only a blobs/sha256/<hex> layer has a digest of its stored bytes; a legacy
    // <id>/layer.tar is checked by its diff id alone.
    const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(path.posix.normalize(l));
    return { file: inside(root, l, 'manifest.json Layers'), digest: m ? `sha256:${m[1]}` : undefined };
  });
  if (layers.length !== diffIds.length) throw new ImageError(t`manifest.json lists ${layers.length} layers, its config ${diffIds.length} diff ids`, tr(HINT_RESAVE));
  return { format: 'docker-save', name: tags(entry)[0], config: config as Record<string, unknown>, diffIds, layers };
}

/** Pick one manifest of an index: this machine's linux platform, else one without a platform. */
function choose(descs: Descriptor[], where: string): Descriptor {
  // buildx adds attestation manifests (platform unknown/unknown): never an image to run.
  const images = descs.filter((d) => d.platform?.os !== 'unknown' && !d.annotations?.['vnd.docker.reference.type']);
  const arch = goArch();
  const match = images.find((d) => d.platform?.os === 'linux' && d.platform.architecture === arch) ?? images.find((d) => !d.platform);
  if (match) return match;
  const have = images.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).join(', ') || t`none`;
  throw new ImageError(t`${where} has no image for linux/${arch} (it has: ${have})`, t`get the image for this machine, e.g. docker pull --platform linux/${arch} NAME, then docker save it`);
}

function descriptors(list: unknown, where: string): Descriptor[] {
  const descs = Array.isArray(list) ? list.filter((d): d is Descriptor => isObject(d) && typeof d.digest === 'string') : [];
  if (!descs.length) throw new ImageError(t`${where} lists no manifests`, tr(HINT_RESAVE));
  return descs;
}

/** An OCI image layout: index.json -> (nested indexes ->) one image manifest. */
function planOci(root: string, wanted?: string): Plan {
  const index = readJson(path.join(root, 'index.json'), root, t`the OCI index`);
  let descs = descriptors(isObject(index) ? index.manifests : undefined, 'index.json');
  // A layout can hold several images, told apart by their ref.name annotation.
  const named = descs.filter((d) => wanted !== undefined && d.annotations?.[REF_NAME] === wanted);
  if (named.length) descs = named;
  let desc = choose(descs, 'index.json');
  const name = desc.annotations?.[REF_NAME];
  let doc: unknown;
  for (let depth = 0; ; depth++) {
    doc = readJson(blobFile(root, desc.digest, 'index.json'), root, t`manifest ${short(desc.digest)}`, desc.digest);
    const isIndex = desc.mediaType === MT.ociIndex || desc.mediaType === MT.dockerList || (isObject(doc) && Array.isArray(doc.manifests));
    if (!isIndex) break;
    if (depth >= 4) throw new ImageError(t`index.json: image indexes nested too deep`, tr(HINT_RESAVE));
    const where = t`index ${short(desc.digest)}`;
    desc = choose(descriptors(isObject(doc) ? doc.manifests : undefined, where), where);
  }
  const where = t`manifest ${short(desc.digest)}`;
  const manifest = doc;
  if (!isObject(manifest) || !isObject(manifest.config) || !Array.isArray(manifest.layers)) throw new ImageError(t`${where} is not an image manifest (no config or layers)`, tr(HINT_RESAVE));
  const configDigest = manifest.config.digest as string;
  const config = readJson(blobFile(root, configDigest, t`${where} config`), root, t`the image config`, configDigest);
  const diffIds = diffIdsOf(config, t`config ${short(configDigest)}`);
  const layers = manifest.layers.map((l, i) => {
    if (!isObject(l)) throw new ImageError(t`${where}: layer ${i + 1} is not a descriptor`, tr(HINT_RESAVE));
    return { file: blobFile(root, l.digest, t`${where} layer ${i + 1}`), digest: l.digest as string, mediaType: typeof l.mediaType === 'string' ? l.mediaType : undefined };
  });
  if (layers.length !== diffIds.length) throw new ImageError(t`${where} lists ${layers.length} layers, its config ${diffIds.length} diff ids`, tr(HINT_RESAVE));
  return { format: 'oci', name, config: config as Record<string, unknown>, diffIds, layers };
}

/** Find the image in a directory: docker save (manifest.json; Docker 25+ writes index.json
 * too, but manifest.json has the tags) or an OCI layout (index.json). A tar of a directory
 * that holds the image is looked into once. */
export function planImage(root: string, source: string, wanted?: string): Plan {
  const has = (dir: string, f: string) => fs.existsSync(path.join(dir, f));
  if (!has(root, 'manifest.json') && !has(root, 'index.json')) {
    const [only, ...more] = fs.readdirSync(root, { withFileTypes: true });
    if (only?.isDirectory() && !more.length) return planImage(path.join(root, only.name), source, wanted);
    throw new ImageError(t`${source} is not an image: it has neither manifest.json (docker save) nor index.json (OCI layout)`, t`give a file made by \`docker save NAME -o NAME.tar\`, or an OCI layout (skopeo copy docker://NAME oci:DIR)`);
  }
  return has(root, 'manifest.json') ? planDockerSave(root, wanted) : planOci(root, wanted);
}
