// Lesson 7's picture: each container's root filesystem as the chain of layers the kernel
// stacked, top first: its upper (read-write), its init layer, then the image's layers from
// the top down, in the order lowerdir lists them in /proc/self/mountinfo (never the order
// the workbook meant to mount). Each layer shows its id, its short link and what its diff
// holds now; a layer that more than one image, container or commit stands on is marked
// shared, with how many. Containers are boxes side by side, so the shared part lines up.
// With nothing mounted, the store's images are drawn as chains instead.
import fs from 'node:fs';
import path from 'node:path';
import { LayerStore, chainIdOfDir, isWhiteout, listImages, procfs } from '../core/index.js';
import { padColumns, visible } from '../columns.js';
import { t } from '../i18n/messages.js';
import type { Glyphs } from './glyphs.js';
import { besides, box, clip, line, type DrawOptions, type Picture, type PictureLine } from './picture.js';

/** What a layer's diff holds, walked at draw time. */
interface DiffCount {
  files: number;
  whiteouts: number;
  bytes: number;
  /** The walk stopped at MAX_WALK entries: the counts are a floor. */
  capped: boolean;
}

/** A walk of a learner's own root filesystem (lab.customRootfs) may meet a distribution's
 * hundred thousand files: a picture redrawn after every step stops counting here. */
const MAX_WALK = 50_000;

function countDiff(dir: string): DiffCount | null {
  const c: DiffCount = { files: 0, whiteouts: 0, bytes: 0, capped: false };
  let seen = 0;
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++seen > MAX_WALK) {
        c.capped = true;
        return;
      }
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isCharacterDevice() && isWhiteoutAt(full)) c.whiteouts++;
      else {
        c.files++;
        if (e.isFile()) c.bytes += sizeOf(full);
      }
      if (c.capped) return;
    }
  };
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return null;
  walk(dir);
  return c;
}

function isWhiteoutAt(p: string): boolean {
  try {
    return isWhiteout(fs.lstatSync(p));
  } catch {
    return false;
  }
}

function sizeOf(p: string): number {
  try {
    return fs.lstatSync(p).size;
  } catch {
    return 0;
  }
}

/** 16M, 28K, 98B: the size as du -h would round it, near enough to compare layers. */
function human(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 && u > 0 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

/** The lowerdirs and the upperdir of an overlay mount as the kernel shows them. A mount made
 * with lowerdir=a:b shows as one lowerdir=; one made with lowerdir+=a,lowerdir+=b (the new
 * mount API, kernel 6.8 on) shows as one lowerdir+= each. Commas and spaces in a path are
 * octal escapes in mountinfo, so splitting at commas is safe. */
function overlayDirs(m: procfs.MountInfo): { lowers: string[]; upper: string | null } {
  const lowers: string[] = [];
  let upper: string | null = null;
  for (const o of m.superOptions.split(',')) {
    if (o.startsWith('lowerdir=')) lowers.push(...o.slice('lowerdir='.length).split(':').filter(Boolean).map(procfs.unescapeMountField));
    else if (o.startsWith('lowerdir+=')) lowers.push(procfs.unescapeMountField(o.slice('lowerdir+='.length)));
    else if (o.startsWith('upperdir=')) upper = procfs.unescapeMountField(o.slice('upperdir='.length));
  }
  return { lowers, upper };
}

type Role = 'upper' | 'init' | 'image' | 'commit' | 'layer' | '?';
const ROLES: readonly Role[] = ['upper', 'init', 'image', 'commit', 'layer', '?'];

/** A row's role as the learner reads it (init and ? as they are). */
const roleName = (r: Role): string => ({ upper: t`upper`, init: 'init', image: t`image`, commit: t`commit`, layer: t`layer`, '?': '?' })[r];

/** Who stands on layers, by kind: "images web, web-debug". */
function usersOfKind(kind: 'image' | 'container' | 'commit', names: string): string {
  const many = names.includes(', ');
  if (kind === 'image') return many ? t`images ${names}` : t`image ${names}`;
  if (kind === 'container') return many ? t`containers ${names}` : t`container ${names}`;
  return many ? t`commits ${names}` : t`commit ${names}`;
}

const layersCount = (n: number) => (n === 1 ? t`1 layer` : t`${n} layers`);

interface Row {
  role: Role;
  /** The store's name for the layer, or the path when it is none of the store's. */
  id: string | null;
  label: string;
  link: string | null;
  count: DiffCount | null;
}

interface Chain {
  title: string;
  rows: Row[];
}

/** What a layer's row says about its users: how many, and a mark that tells shared from not
 * without colour. */
const usersMark = (n: number, g: Glyphs) => (n > 1 ? `${g.on}${n}` : g.off);

/** The columns a box row shows: the narrow set lets two or three containers stand side by
 * side in 80 columns, the wide one adds the short link and the size. */
interface Columns {
  link: boolean;
  size: boolean;
}

export function drawLayerChain(layersDir: string, { width, glyphs: g }: DrawOptions): Picture {
  const store = new LayerStore(layersDir);
  const ids = store.ids();
  const legend = [t`${g.on}N shared by N images, containers, commits`, t`${g.off} used once`, t`${g.cut}N whiteouts`, t`upper: read-write, the rest read-only`];
  if (!ids.length) {
    return {
      title: t`layer chains: the store holds no layer yet`,
      lines: [line(clip(t`${layersDir} holds no layer yet: import an image to fill it`, width, g), { dim: true })],
      legend: [],
    };
  }
  // A path names a layer of the store when it resolves to <store>/<id>/diff: through
  // l/<short> as overlay2 mounts it, or the diff directory itself as a learner may type it.
  const storeReal = (() => {
    try {
      return fs.realpathSync(layersDir);
    } catch {
      return layersDir;
    }
  })();
  const layerOf = (p: string): string | null => {
    try {
      const real = fs.realpathSync(p);
      return path.basename(real) === 'diff' && path.dirname(path.dirname(real)) === storeReal ? path.basename(path.dirname(real)) : null;
    } catch {
      return null;
    }
  };
  const images = listImages(store).map((im) => ({ name: im.name, layers: im.layers.map((l) => l.replace(/^sha256:/, '')) }));
  const imageLayers = new Set(images.flatMap((im) => im.layers));
  // Commits are named by a chain id, as image layers are, but no image lists them.
  const commits = ids.filter((id) => chainIdOfDir(id) && !imageLayers.has(id));
  const linkOf = (id: string): string | null => {
    try {
      return store.info(id).link;
    } catch {
      return null;
    }
  };
  /** The layers below a layer (its lower file's l/ entries, resolved), nearest first; none
   * when the layer went away since the store was listed (a reset in another terminal). */
  const lowerOf = (id: string): Array<string | null> => {
    try {
      return store.info(id).lower.map((e) => store.resolveLink(e));
    } catch {
      return [];
    }
  };
  const short = (id: string) => (chainIdOfDir(id) ? id.slice(0, 12) : id);
  /** A directory that is no layer of the store, by its end (where its name is). */
  const tail = (p: string) => {
    if (visible(p) <= 12) return p;
    // Its last characters that fit in 12 columns with the ellipsis (a path may hold wide ones).
    const chars = [...p];
    let end = '';
    while (chars.length && visible(chars.at(-1)! + end) <= 12 - visible(g.ellipsis)) end = chars.pop()! + end;
    return g.ellipsis + end;
  };
  // A layer under several containers is walked once per drawing.
  const counted = new Map<string, DiffCount | null>();
  const countOnce = (dir: string) => {
    const key = (() => {
      try {
        return fs.realpathSync(dir);
      } catch {
        return dir;
      }
    })();
    if (!counted.has(key)) counted.set(key, countDiff(key));
    return counted.get(key)!;
  };

  // The containers: overlay mounts whose upper layer is in the store, as the lesson's check
  // finds them, in mountinfo's order (a mount stacked on another comes after it).
  const mounts = procfs
    .readMountinfo()
    .filter((m) => m.fstype === 'overlay')
    .map((m) => ({ m, ...overlayDirs(m) }))
    .filter((x) => x.upper && (x.upper.startsWith(`${layersDir}/`) || layerOf(x.upper)));

  // Who stands on each layer: every image that lists it, every mounted container whose
  // lowerdir has it, every commit whose lower has it (a commit is an image to be).
  const users = new Map<string, Set<string>>();
  const use = (id: string | null, who: string) => {
    if (!id) return;
    if (!users.has(id)) users.set(id, new Set());
    users.get(id)!.add(who);
  };
  for (const im of images) for (const l of im.layers) use(l, `image ${im.name}`);
  const chains: Chain[] = [];
  const mountedIds = new Set<string>();
  for (const [k, mt] of mounts.entries()) {
    const upperId = layerOf(mt.upper!);
    const name = upperId ?? path.relative(layersDir, path.dirname(mt.upper!));
    const who = `container ${name}${mounts.filter((x) => x.upper === mt.upper).length > 1 ? `#${k + 1}` : ''}`;
    use(upperId, who);
    if (upperId) mountedIds.add(upperId);
    const rows: Row[] = [{ role: 'upper', id: upperId, label: upperId ? short(upperId) : path.basename(mt.upper!), link: upperId ? linkOf(upperId) : null, count: countOnce(mt.upper!) }];
    for (const [i, dir] of mt.lowers.entries()) {
      const id = layerOf(dir);
      use(id, who);
      if (id) mountedIds.add(id);
      const role: Role = !id ? '?' : imageLayers.has(id) ? 'image' : commits.includes(id) ? 'commit' : i === 0 ? 'init' : 'layer';
      rows.push({ role, id, label: id ? short(id) : tail(dir), link: id ? linkOf(id) : null, count: countOnce(dir) });
    }
    // The image it runs: the one whose layers, top first, are its image rows.
    const under = rows.filter((r) => r.role === 'image').map((r) => r.id);
    const on = images.filter((im) => im.layers.length === under.length && [...im.layers].reverse().every((l, j) => l === under[j])).map((im) => im.name);
    // Image layers in an order no image has (a learner's lowerdir upside down) say so.
    const title = on.length ? t`${name} on ${on.join(', ')}` : under.length ? t`${name}: no image has this order` : name;
    chains.push({ title, rows });
  }
  for (const c of commits) for (const below of lowerOf(c)) use(below, `commit ${short(c)}`);

  // The images as chains: one per distinct list of layers (two images of the same layers
  // are one chain with both names), drawn as boxes only when no container is mounted.
  const imageChains: Array<{ names: string[]; layers: string[] }> = [];
  for (const im of images) {
    const same = imageChains.find((c) => c.layers.join() === im.layers.join());
    if (same) same.names.push(im.name);
    else imageChains.push({ names: [im.name], layers: im.layers });
  }
  const imageRows = (layers: string[]): Row[] => [...layers].reverse().map((id) => ({ role: 'image', id, label: short(id), link: linkOf(id), count: store.has(id) ? countOnce(path.join(layersDir, id, 'diff')) : null }));
  const boxed: Chain[] = chains.length ? chains : imageChains.map((c) => ({ title: c.names.join(', '), rows: imageRows(c.layers) }));

  const countText = (c: DiffCount | null, cols: Columns) => {
    if (!c) return t`no diff`;
    const n = `${c.files}${c.capped ? '+' : ''}`;
    return `${c.files === 1 ? t`${n} file` : t`${n} files`}${c.whiteouts ? ` ${g.cut}${c.whiteouts}` : ''}${cols.size ? ` ${human(c.bytes)}` : ''}`;
  };
  const markOf = (r: Row) => (r.role === '?' ? '?' : usersMark(users.get(r.id ?? '')?.size ?? 0, g));
  const markW = Math.max(2, ...boxed.flatMap((b) => b.rows.map((r) => visible(markOf(r)))));
  // The role column as wide as its widest word in the language in use (commit: 6 columns).
  const roleW = Math.max(...ROLES.map((r) => visible(roleName(r))));
  const rowText = (r: Row, cols: Columns) =>
    [padColumns(markOf(r), markW), padColumns(roleName(r.role), roleW), padColumns(clip(r.label, 12, g), 12), ...(cols.link ? [padColumns(r.link ? `l/${r.link.slice(0, 7)}` : '-', 9)] : []), countText(r.count, cols)].join(' ');
  // The richest columns that let as many boxes as there are (up to three) stand side by side.
  const variants: Columns[] = [
    { link: true, size: true },
    { link: true, size: false },
    { link: false, size: true },
    { link: false, size: false },
  ];
  const boxWidth = (cols: Columns) => Math.min(width, Math.max(...boxed.flatMap((b) => b.rows.map((r) => visible(rowText(r, cols)) + 2))) + 2);
  const fits = (side: number) => variants.find((v) => side * boxWidth(v) + (side - 1) <= width);
  const cols =
    [3, 2, 1]
      .filter((n) => n <= Math.max(1, boxed.length))
      .map(fits)
      .find(Boolean) ?? variants.at(-1)!;
  const w = boxWidth(cols);
  const boxes = boxed.map((b) =>
    box(
      b.title,
      b.rows.map((r) => ` ${rowText(r, cols)}`),
      g,
      w,
    ),
  );

  const lines: PictureLine[] = besides(boxes, width).map((t) => line(clip(t, width, g)));
  // Who the shared marks stand for: one line per distinct set of users.
  const groups = new Map<string, string[]>();
  const shown = new Set(boxed.flatMap((b) => b.rows.map((r) => r.id).filter((x): x is string => !!x)));
  for (const id of shown) {
    const u = users.get(id);
    if (!u || u.size < 2) continue;
    const key = [...u].sort().join('\n');
    groups.set(key, [...(groups.get(key) ?? []), id]);
  }
  for (const [key, layerIds] of groups) {
    const who = key.split('\n');
    const kind = (k: string) =>
      who
        .filter((x) => x.startsWith(`${k} `))
        .map((x) => x.slice(k.length + 1))
        .join(', ');
    const parts = (['image', 'container', 'commit'] as const)
      .map((k) => [k, kind(k)] as const)
      .filter(([, v]) => v)
      .map(([k, v]) => usersOfKind(k, v))
      .reduce((a, b) => (a ? t`${a}; ${b}` : b), '');
    // Who first: the layers are the rows with this mark; their ids only tell groups apart.
    const which = groups.size > 1 ? layerIds.map(short).join(' ') : layersCount(layerIds.length);
    lines.push(line(clip(t`${usersMark(who.length, g)}: ${parts} (${which})`, width, g)));
  }
  if (chains.length) {
    for (const c of imageChains) {
      const top = c.layers.at(-1);
      const names = c.names.join(', ');
      const which = c.names.length > 1 ? t`images ${names}` : t`image ${names}`;
      const count = layersCount(c.layers.length);
      lines.push(line(clip(top ? t`${which}: ${count}, top ${short(top)}` : t`${which}: ${count}, top none`, width, g)));
    }
  }
  for (const c of commits) {
    const parent = lowerOf(c)[0] ?? null;
    const of = parent ? images.filter((im) => im.layers.at(-1) === parent).map((im) => im.name) : [];
    const count = countText(countOnce(path.join(layersDir, c, 'diff')), { link: true, size: true });
    const id = short(c);
    const text = of.length ? t`commit ${id}: ${count}, on top of ${of.join(', ')}` : parent ? t`commit ${id}: ${count}, on ${short(parent)}` : t`commit ${id}: ${count}, on no layer`;
    lines.push(line(clip(text, width, g), { color: 'magenta' }));
  }
  // A container's layers that are in the store but not mounted now (stopped, or unmounted).
  const idle = ids.filter((id) => !imageLayers.has(id) && !commits.includes(id) && !mountedIds.has(id));
  if (idle.length) lines.push(line(clip(t`in the store, not mounted: ${idle.join(', ')}`, width, g), { dim: true }));
  if (!chains.length) lines.push(line(clip(t`no container is mounted (no overlay in mountinfo has its upper in the store)`, width, g), { dim: true }));
  if (!boxed.length) lines.push(line(clip(t`no image record names these layers`, width, g), { dim: true }));
  return {
    title: chains.length ? t`layer chains, top first, in lowerdir's order from mountinfo` : t`layer chains: the store's images, top layer first`,
    lines,
    legend: [...legend, ...(cols.link ? [t`l/<link>: its short link, first 7`] : []), ...(boxed.some((b) => b.rows.some((r) => r.role === '?')) ? [t`? not a layer of the store`] : [])],
  };
}
