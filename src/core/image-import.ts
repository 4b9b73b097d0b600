// The store side: an image imported into the layer store (each layer by its chain id, so an
// image that shares base layers with one imported before reuses them as they are), and the
// record of the images imported.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { chainIds, layerDirName, type LayerStore } from './layers.js';
import type { Ledger } from './ledger.js';
import { ImageError, HINT_RESAVE } from './image-error.js';
import { short } from './image-digest.js';
import { t, tr } from '../i18n/messages.js';
import { planImage, type ImageFormat } from './image-manifest.js';
import { extractArchive, unpackLayer } from './image-unpack.js';
import { workProgress, type WorkProgress } from '../progress.js';

/** How far an import is: the archive (when a tarball is given), then each layer. */
export type ImportProgress = Extract<WorkProgress, { kind: 'archive' | 'layer' }>;

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
  format: ImageFormat;
  /** Base first. */
  layers: ImportedLayer[];
  /** The id of the top layer. */
  top: string;
  config: Record<string, unknown>;
}

const imagesDir = (store: LayerStore) => path.resolve(store.root, '..', 'images');
const imageFileName = (name: string) => {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
  return `${safe.slice(0, 200) || 'image'}.json`;
};

/** Import an image from a `docker save` tarball (legacy: manifest.json + <id>/layer.tar +
 * <config>.json; and the Docker 25+ form whose manifest.json points into blobs/sha256/), or
 * from an OCI image layout given as a directory or as a tar of one. Layers already in the
 * store (same chain id) are reused. A failure leaves no half-made layer: the layers made
 * before it are complete and verified; the failing one does not exist. How far it is goes to
 * `onProgress` (at each chunk read: a renderer throttles), else to the open work sink. */
export async function importImage(source: string, store: LayerStore, opts: { name?: string; ledger?: Ledger; onProgress?: (p: ImportProgress) => void } = {}): Promise<ImportedImage> {
  const report = opts.onProgress ?? workProgress;
  const src = path.resolve(source);
  const st = fs.statSync(src, { throwIfNoEntry: false });
  if (!st) throw new ImageError(t`no such file or directory: ${source}`, t`give the path of a \`docker save\` tarball, or of an OCI layout (a directory or a tar of one)`);
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
      const totalBytes = st.size;
      let files = 0;
      await extractArchive(src, tmp, source, (c) => {
        files = c.files;
        report({ kind: 'archive', bytes: c.bytes, totalBytes, files, done: false });
      });
      report({ kind: 'archive', bytes: totalBytes, totalBytes, files, done: true });
      root = tmp;
    }
    const plan = planImage(root, source, opts.name);

    const chains = chainIds(plan.diffIds);
    const layers: ImportedLayer[] = [];
    let parent: string | null = null;
    for (const [i, layer] of plan.layers.entries()) {
      const chainId = chains[i];
      const diffId = plan.diffIds[i];
      // planImage checked that the config has a diff id for every layer of the manifest.
      if (chainId === undefined || diffId === undefined) throw new ImageError(t`layer ${i + 1} has no diff id in the image config`, tr(HINT_RESAVE));
      const id = layerDirName(chainId);
      const what = t`layer ${i + 1} of ${chains.length} (${short(diffId)})`;
      const totalBytes = fs.statSync(layer.file, { throwIfNoEntry: false })?.size ?? 0;
      const at = { kind: 'layer', layer: i + 1, layers: chains.length, diffId, totalBytes, reused: false } as const;
      let files = 0;
      let made: { reused: boolean };
      try {
        made = await store.create(
          id,
          parent,
          (diff) =>
            unpackLayer(layer, diffId, diff, what, (c) => {
              files = c.files;
              report({ ...at, bytes: c.bytes, files, done: false });
            }),
          { ledger: opts.ledger },
        );
      } catch (err) {
        if (err instanceof ImageError) throw err;
        throw new ImageError(t`${what}: could not unpack: ${(err as Error).message}`, t`importing needs root (whiteouts are device files, opaque directories trusted.* xattrs), and room in ${store.root}`);
      }
      report({ ...at, bytes: totalBytes, files, done: true, reused: made.reused });
      layers.push({ chainId, diffId, id, reused: made.reused });
      parent = id;
    }
    const top = layers.at(-1);
    if (!top) throw new ImageError(t`the image has no layers`, tr(HINT_RESAVE)); // diffIdsOf refuses that already

    const name = opts.name ?? plan.name ?? path.basename(src).replace(/\.(tar|tar\.gz|tgz)$/, '');
    const image: ImportedImage = { name, format: plan.format, layers, top: top.id, config: plan.config };
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
