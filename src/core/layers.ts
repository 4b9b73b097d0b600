// A layer store laid out as Docker's overlay2 driver lays it out:
//
//   <root>/<id>/diff/     the layer's own files (whiteouts as 0/0 character devices)
//   <root>/<id>/link      its short id (26 characters)
//   <root>/<id>/lower     the layers below it, nearest first: l/<short>:l/<short>:...
//   <root>/<id>/work/     (layers with a parent) overlayfs's work directory
//   <root>/l/<short>  ->  ../<id>/diff
//
// An image's layer and a commit are named by the hex of their chain id (Docker names the
// directory by a random cache id and keeps the chain id in its layerdb); a container's own
// layers by the container (<name>, <name>-init).
//
// The short links keep mount options short: the kernel takes at most a page of them, and a
// lowerdir of five 64-character ids with /diff already fills a good part of it.
// A layer appears under its id only when it is complete: it is built in a staging
// directory and renamed into place, so a crash or a failed import never leaves half a layer.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Ledger } from './ledger.js';
import { tarLayer, untarLayer } from './layer-tar.js';

export interface LayerInfo {
  id: string;
  dir: string;
  diff: string;
  /** Its short id: <root>/l/<link> points at its diff. */
  link: string;
  /** The layers below, nearest first, as `l/<short>` entries (empty for a base layer). */
  lower: string[];
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A short id as overlay2 makes them: 26 base32 characters of random bytes. */
export function newShortId(): string {
  const bytes = crypto.randomBytes(26);
  return [...bytes].map((b) => BASE32[b & 31]).join('');
}

/** The chain id of a layer on `parent` (a chain id), whose diff id is `diffId` (OCI image
 * spec, as moby's layer store computes it): sha256 of "<parent chain id> <diff id>". */
export function chainIdOf(parent: string, diffId: string): string {
  return `sha256:${crypto.createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`;
}

/** The chain id of each layer of a stack, base first: the base's is its diff id; each next one
 * is chainIdOf(the one below, its diff id). Equal chains, equal ids: layers are shared. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length ? chainIdOf(out[out.length - 1]!, d) : d);
  return out;
}

/** The directory name of a layer: the hex of its chain id. */
export const layerDirName = (chainId: string) => chainId.replace(/^sha256:/, '');
/** The chain id a layer's directory name stands for, when it is one (image layers and
 * commits are named so; a container's own layers are not). */
export const chainIdOfDir = (id: string): string | null => (/^[0-9a-f]{64}$/.test(id) ? `sha256:${id}` : null);

export class LayerStore {
  constructor(readonly root: string) {}

  /** Make <root> and <root>/l. Returns true if the store was new. */
  ensure(): boolean {
    const made = !fs.existsSync(this.root);
    fs.mkdirSync(path.join(this.root, 'l'), { recursive: true });
    return made;
  }

  has(id: string): boolean {
    return fs.existsSync(path.join(this.root, id, 'link')) && fs.existsSync(path.join(this.root, id, 'diff'));
  }

  info(id: string): LayerInfo {
    const dir = path.join(this.root, id);
    const link = fs.readFileSync(path.join(dir, 'link'), 'utf8').trim();
    let lower: string[] = [];
    try {
      lower = fs.readFileSync(path.join(dir, 'lower'), 'utf8').trim().split(':').filter(Boolean);
    } catch {
      /* a base layer has no lower file */
    }
    return { id, dir, diff: path.join(dir, 'diff'), link, lower };
  }

  /** Every complete layer in the store. */
  ids(): string[] {
    if (!fs.existsSync(this.root)) return [];
    return fs
      .readdirSync(this.root)
      .filter((n) => n !== 'l' && !n.startsWith('.') && this.has(n))
      .sort();
  }

  /** Resolve an `l/<short>` entry to the layer id whose diff it points at. */
  resolveLink(entry: string): string | null {
    try {
      const target = fs.readlinkSync(path.join(this.root, entry));
      return path.basename(path.dirname(path.resolve(path.join(this.root, 'l'), target)));
    } catch {
      return null;
    }
  }

  /** The lowerdir list to mount `id` with its layers below it, top first, as absolute
   * paths through the short links (Docker's overlay2 does the same). */
  lowerdirs(id: string, includeSelf = true): string[] {
    const i = this.info(id);
    return [...(includeSelf ? [`l/${i.link}`] : []), ...i.lower].map((e) => path.join(this.root, e));
  }

  /** Create layer `id` on top of `parent` (null: a base layer). `fill` writes its files into
   * the staging diff directory. If the layer exists already it is reused, not rebuilt. */
  async create(id: string, parent: string | null, fill: (diff: string) => void | Promise<void>, opts: { ledger?: Ledger; work?: boolean } = {}): Promise<LayerInfo & { reused: boolean }> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) throw new Error(`not a layer id: ${id}`);
    this.ensure();
    if (this.has(id)) return { ...this.info(id), reused: true };
    const lower = parent
      ? (() => {
          const p = this.info(parent);
          return [`l/${p.link}`, ...p.lower];
        })()
      : [];
    const staging = path.join(this.root, `.tmp-${id}-${crypto.randomBytes(4).toString('hex')}`);
    // Recorded before it exists: a crash mid-fill leaves nothing the next start keeps.
    const entry = opts.ledger?.add({ kind: 'file', path: staging });
    const link = newShortId();
    const linkPath = path.join(this.root, 'l', link);
    try {
      fs.mkdirSync(path.join(staging, 'diff'), { recursive: true });
      await fill(path.join(staging, 'diff'));
      fs.writeFileSync(path.join(staging, 'link'), link);
      if (lower.length) fs.writeFileSync(path.join(staging, 'lower'), lower.join(':'));
      if (parent || opts.work) fs.mkdirSync(path.join(staging, 'work'));
      fs.symlinkSync(`../${id}/diff`, linkPath);
      try {
        fs.renameSync(staging, path.join(this.root, id));
      } catch (err) {
        fs.rmSync(linkPath, { force: true });
        throw err;
      }
    } catch (err) {
      fs.rmSync(staging, { recursive: true, force: true });
      entry?.drop();
      throw err;
    }
    entry?.drop();
    return { ...this.info(id), reused: false };
  }

  /** Remove a layer and its short link. */
  remove(id: string): void {
    if (!this.has(id)) return;
    const { link, dir } = this.info(id);
    fs.rmSync(path.join(this.root, 'l', link), { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What a container's root filesystem is made of: the image's layers, an init layer with
 * this container's own /etc/hosts, /etc/resolv.conf and /etc/hostname, and a writable
 * upper layer; merged is where they are mounted as one. */
export interface ContainerFs {
  id: string;
  /** The image's top layer. */
  image: string;
  init: LayerInfo;
  layer: LayerInfo;
  upper: string;
  work: string;
  merged: string;
  /** lowerdir=, top first: the init layer, then the image's layers. */
  lowers: string[];
}

/** The resolv.conf a container gets: the host's nameservers, except loopback ones that
 * mean nothing inside another network namespace (Docker filters them the same way). */
function containerResolvConf(): string {
  let host = '';
  try {
    host = fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    /* none */
  }
  const kept = host.split('\n').filter((l) => /^(nameserver|search|options)\s/.test(l) && !/^nameserver\s+(127\.|::1)/.test(l));
  return `# made for this container by container-lessons (the init layer)\n${kept.join('\n')}${kept.length ? '\n' : ''}`;
}

/** Make the init and container layers of a container on top of image layer `image`. */
export async function createContainerLayers(store: LayerStore, image: string, id: string, opts: { hostname: string; marker?: string; ledger?: Ledger }): Promise<ContainerFs> {
  const init = await store.create(
    `${id}-init`,
    image,
    (diff) => {
      fs.mkdirSync(path.join(diff, 'etc'), { recursive: true });
      fs.writeFileSync(path.join(diff, 'etc', 'hostname'), `${opts.hostname}\n`);
      fs.writeFileSync(path.join(diff, 'etc', 'hosts'), `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${opts.hostname}\n`);
      fs.writeFileSync(path.join(diff, 'etc', 'resolv.conf'), containerResolvConf());
      // The marker that lets a check find processes whose root is this container's.
      if (opts.marker) fs.writeFileSync(path.join(diff, '.container-lessons-rootfs'), opts.marker);
    },
    { ledger: opts.ledger },
  );
  const layer = await store.create(id, init.id, (diff) => void diff, { ledger: opts.ledger });
  const merged = path.join(layer.dir, 'merged');
  fs.mkdirSync(merged, { recursive: true });
  return { id, image, init, layer, upper: layer.diff, work: path.join(layer.dir, 'work'), merged, lowers: store.lowerdirs(id, false) };
}

export interface CommittedLayer extends LayerInfo {
  /** sha256 of the layer's tar (layer-tar.ts): the tar of the container's upper layer. */
  diffId: string;
  /** chainIdOf(the image's top layer, diffId): the layer's directory is named by its hex. */
  chainId: string;
  /** The very same change was committed before: the store had this layer already. */
  reused: boolean;
}

/** docker commit: the container's upper layer alone becomes a new layer on the image's top
 * layer (the init layer is not in it: its files belong to this one container). As moby does
 * it (Diff, then the layer store's Register): the upper layer is written as a tar, whose
 * sha256 is the new layer's diff id; its chain id on the image's names it; the tar is
 * unpacked into the new layer's diff. Exactly the commands lesson 7 shows a learner. */
export async function commitContainer(store: LayerStore, c: { upper: string; image: string }, ledger?: Ledger): Promise<CommittedLayer> {
  const parent = chainIdOfDir(c.image);
  if (!parent) throw new Error(`${c.image} is not named by a chain id: a commit goes on an image's layer`);
  store.ensure();
  // In the store (the same filesystem, and the journal removes it if we are killed).
  const tar = path.join(store.root, `.commit-${crypto.randomBytes(6).toString('hex')}.tar`);
  const entry = ledger?.add({ kind: 'file', path: tar });
  try {
    const diffId = await tarLayer(c.upper, tar);
    const chainId = chainIdOf(parent, diffId);
    const layer = await store.create(layerDirName(chainId), c.image, (diff) => untarLayer(tar, diff), { ledger });
    return { ...layer, diffId, chainId };
  } finally {
    fs.rmSync(tar, { force: true });
    entry?.drop();
  }
}
