// Lesson 3's picture: the container's mount tree, as the kernel lists it in
// /proc/<pid>/mountinfo (each mount names its parent's id), before and after pivot_root.
// Before pivot_root the namespace's root is still a copy of the host's, and the rootfs is one
// bind mount somewhere under it; after pivot_root the rootfs is the root and the host's whole
// tree hangs under the old root (put_old, /.old_root in the lesson) until umount -l detaches
// it. The host's mounts are many: they are folded into a few lines ("+N more"), so the
// picture fits an 80x24 terminal.
//
// The container is found from the host the way the lesson's check finds it: a process whose
// root holds the rootfs's marker (findLabProcesses), in a mount namespace of its own. Before
// pivot_root no process has the rootfs as its root yet, so a mount namespace that has the
// rootfs mounted (bound on itself, ready for pivot_root) counts as the container too.
import { findLabProcesses, containerLeaders, type LabProcess } from '../checks/containers.js';
import { procfs, probeNamespaces, readMarker, rootfsProblem } from '../core/index.js';
import type { Lab } from '../lab.js';
import { t } from '../i18n/messages.js';
import type { Glyphs } from './glyphs.js';
import { clip, line, REDRAW_MS, tree, type DrawOptions, type Picture, type PictureLine, type PictureSource, type TreeNode } from './picture.js';

type Mount = procfs.MountInfo;

/** What the picture is drawn from, all read from the kernel at draw time. */
export type MountView =
  | { kind: 'missing'; why: string }
  /** A process has the rootfs as its root by chroot alone: it shares the host's mount table. */
  | { kind: 'host-namespace'; pid: number; who: string }
  | {
      kind: 'namespace';
      /** The process named in the title: the container's first process. */
      pid: number;
      who: string;
      nsId: string;
      /** The widest mountinfo of the namespace's processes: a chrooted process sees only
       * the mounts under its root, one that is not sees the namespace's whole tree. */
      mounts: Mount[];
      /** The pid whose mountinfo that is. */
      readFrom: number;
      /** Some process of the namespace has the rootfs as its root (pivot_root or chroot). */
      rootedInRootfs: boolean;
      /** The host's root mount, to know its copies: the namespace's root before pivot_root,
       * the old root after it (same filesystem and same directory of it). */
      hostRoot: Mount | undefined;
      rootfs: string;
    };

function safely<T>(read: () => T, otherwise: T): T {
  try {
    return read();
  } catch {
    return otherwise;
  }
}

/** Find the lesson's container and read its namespace's mount table. */
export function findMountView(lab: Lab): MountView {
  const problem = rootfsProblem(lab.rootfs);
  if (problem) return { kind: 'missing', why: t`no root filesystem yet (${problem.message}): container-lessons rootfs builds it` };
  const marker = readMarker(lab.rootfs);
  if (!marker) return { kind: 'missing', why: t`${lab.rootfs} has no marker` };
  const hostNs = procfs.nsId('self', 'mnt');
  const hostRoot = safely(() => procfs.readMountinfo('self'), [] as Mount[])
    .filter((m) => m.mountPoint === '/')
    .at(-1);

  // Every process by mount namespace, once: a namespace's processes may see different parts
  // of its tree (a chroot hides what lies outside it).
  const byNs = new Map<string, number[]>();
  for (const pid of procfs.listPids()) {
    if (pid === process.pid) continue;
    const ns = procfs.nsId(pid, 'mnt');
    if (!ns || ns === hostNs) continue;
    byNs.set(ns, [...(byNs.get(ns) ?? []), pid]);
  }
  const mountsOf = (pid: number) => safely(() => procfs.readMountinfo(pid), [] as Mount[]);

  const rooted = containerLeaders(findLabProcesses(marker.id));
  const own: LabProcess | undefined = rooted.find((p) => p.ns.mnt && p.ns.mnt !== hostNs);
  let nsId = own?.ns.mnt ?? null;
  let pid = own?.pid ?? 0;
  let who = own ? `pid ${own.pid} (${own.comm})` : '';
  if (!nsId) {
    // Before pivot_root: a namespace of its own with the rootfs mounted in it.
    for (const [ns, pids] of byNs) {
      const first = pids[0]!;
      if (mountsOf(first).some((m) => m.mountPoint === lab.rootfs)) {
        nsId = ns;
        pid = first;
        who = `pid ${first} (${procfs.comm(first) ?? '?'})`;
        break;
      }
    }
  }
  if (!nsId) {
    const chrooted = rooted[0];
    if (chrooted) return { kind: 'host-namespace', pid: chrooted.pid, who: `pid ${chrooted.pid} (${chrooted.comm})` };
    return { kind: 'missing', why: t`no container runs on the rootfs yet: run the steps, or build one by hand` };
  }
  const pids = byNs.get(nsId) ?? [pid];
  let mounts: Mount[] = [];
  let readFrom = pid;
  for (const p of pids.slice(0, 16)) {
    const seen = mountsOf(p);
    if (seen.length > mounts.length) {
      mounts = seen;
      readFrom = p;
    }
  }
  // A chrooted process with nothing mounted under its root lists no mount at all.
  if (!mounts.length && !own) return { kind: 'missing', why: t`${who} ended while its mountinfo was read` };
  return { kind: 'namespace', pid, who, nsId, mounts, readFrom, rootedInRootfs: own !== undefined, hostRoot, rootfs: lab.rootfs };
}

/** The same filesystem and directory as the host's root: a copy of it in the namespace. */
const isHostRootCopy = (m: Mount, hostRoot: Mount | undefined) => !!hostRoot && m.dev === hostRoot.dev && m.root === hostRoot.root;

/** The top of the mounts stacked at "/": the one no other "/" mount sits on. */
function rootMount(mounts: Mount[]): Mount | undefined {
  const roots = mounts.filter((m) => m.mountPoint === '/');
  return roots.find((r) => !roots.some((o) => o.parent === r.id && o !== r)) ?? roots.at(-1);
}

/** What the picture remembers between draws, per mount namespace: the old root it last saw,
 * so that once umount -l has detached it the picture can say what went. */
export interface SeenOldRoot {
  mountPoint: string;
  mounts: number;
}

export interface MountTreeState {
  /** pivot_root has been seen done: the namespace's own root is the rootfs (the probe). */
  pivoted?: boolean;
  /** The mount table (ids and parents) the probe last looked at. */
  probedTable?: string;
  oldRoot?: SeenOldRoot;
}

/** How a mount is marked: the container's own, a copy of the host's (before pivot_root),
 * or under the old root (goes at umount -l). */
type Kind = 'own' | 'host' | 'going';

interface Shape {
  children: Map<number, Mount[]>;
  /** How many mounts lie under each mount (not counting itself). */
  below: (m: Mount) => number;
}

function shape(mounts: Mount[]): Shape {
  const children = new Map<number, Mount[]>();
  for (const m of mounts) if (m.id !== m.parent) children.set(m.parent, [...(children.get(m.parent) ?? []), m]);
  const memo = new Map<number, number>();
  const below = (m: Mount): number => {
    const known = memo.get(m.id);
    if (known !== undefined) return known;
    memo.set(m.id, 0); // a cycle cannot happen in mountinfo, but never loop on one
    const n = (children.get(m.id) ?? []).reduce((sum, k) => sum + 1 + below(k), 0);
    memo.set(m.id, n);
    return n;
  };
  return { children, below };
}

/** "1 mount", "N mounts": a whole message each (Chinese has no plural). */
const mountCount = (n: number) => (n === 1 ? t`1 mount` : t`${n} mounts`);

/** What a folded list of mounts ends in: how many more, the host's or the container's own. */
function moreMounts(n: number, host: boolean): string {
  if (host) return n === 1 ? t`+1 more mount of the host` : t`+${n} more mounts of the host`;
  return n === 1 ? t`+1 more mount` : t`+${n} more mounts`;
}

interface Drawing {
  g: Glyphs;
  s: Shape;
  kindOf: (m: Mount) => Kind;
  /** Mounts drawn with all their children (the container's own, the path to the rootfs). */
  expanded: (m: Mount) => boolean;
  /** Notes after a mount's type, by mount id. */
  notes: Map<number, string>;
  /** How many of a folded mount's children are named before "+N more". */
  named: number;
  /** Extra nodes drawn last under a mount (the detached old root). */
  extra: Map<number, TreeNode>;
}

function mark(kind: Kind, g: Glyphs): string {
  return kind === 'own' ? g.on : kind === 'host' ? g.off : g.cut;
}

const styleOf = (kind: Kind): TreeNode['style'] => (kind === 'own' ? { color: 'green' } : kind === 'going' ? { color: 'red' } : { dim: true });

function node(m: Mount, d: Drawing): TreeNode {
  const kind = d.kindOf(m);
  const kids = d.s.children.get(m.id) ?? [];
  const note = d.notes.get(m.id);
  const label = `${mark(kind, d.g)} ${m.mountPoint}  ${m.fstype}${note ? `  ${note}` : ''}`;
  if (!d.expanded(m) && !note) {
    // A folded mount: only how much hangs under it.
    const n = d.s.below(m);
    return { label: n ? `${label}  ${t`+${n} under it`}` : label, style: styleOf(kind) };
  }
  const open = kids.filter((k) => d.expanded(k) || d.notes.has(k.id));
  const folded = kids.filter((k) => !open.includes(k));
  const shown = folded.length > d.named + 1 ? folded.slice(0, d.named) : folded;
  const rest = folded.slice(shown.length);
  const restMounts = rest.reduce((sum, k) => sum + 1 + d.s.below(k), 0);
  // The container's own first, what goes away last: the old root ends the tree.
  const order = (k: Mount) => (d.kindOf(k) === 'own' ? 0 : 1);
  const children: TreeNode[] = [...[...open, ...shown].sort((a, b) => order(a) - order(b)).map((k) => node(k, d))];
  if (rest.length) {
    const restKind = d.kindOf(rest[0]!);
    children.push({ label: `${mark(restKind, d.g)} ${moreMounts(restMounts, restKind !== 'own')}`, style: styleOf(restKind) });
  }
  const extra = d.extra.get(m.id);
  if (extra) children.push(extra);
  return { label, style: styleOf(kind), children };
}

/** The steps the lesson goes through, each marked done or not as the kernel shows it now. */
function stages(done: Array<[string, boolean]>, g: Glyphs, width: number): PictureLine {
  return line(clip(done.map(([name, ok]) => `${ok ? g.on : g.off} ${name}`).join(` ${g.arrow} `), width, g), { bold: true });
}

/** The legend, the same in every state so a reader learns it once. */
const legendOf = (g: Glyphs) => [`${g.on} ${t`the container's own`}`, `${g.off} ${t`a copy of the host's`}`, `${g.cut} ${t`under the old root: umount -l detaches it`}`, t`tree: parent ids from mountinfo`];

/** What the source learned of the namespace's own root (a helper entered it and looked). */
export interface RootFacts {
  /** pivot_root is done: the namespace's own root is the rootfs. */
  pivoted: boolean;
  /** Why that could not be told, when it could not. */
  warning?: string;
}

/** Draw the mount tree. `memory` is what the source saw in earlier draws (updated here). */
export function drawMountTree(view: MountView, facts: RootFacts, memory: MountTreeState, { width, glyphs: g }: DrawOptions): Picture {
  const legend = legendOf(g);
  if (view.kind === 'missing') return { title: t`the mount tree`, lines: [line(clip(view.why, width, g), { dim: true })], legend: [] };
  if (view.kind === 'host-namespace') {
    return {
      title: clip(t`the mount tree of ${view.who}`, width, g),
      lines: [stages([['unshare --mount', false]], g, width), line(clip(t`${view.who}: chroot alone, in the host's mount namespace`, width, g), { color: 'yellow' })],
      legend: [],
    };
  }

  const { mounts, hostRoot, rootfs } = view;
  const s = shape(mounts);
  const root = rootMount(mounts);
  const lines: PictureLine[] = [];
  const notes = new Map<number, string>();
  const extra = new Map<number, TreeNode>();
  const drawing = (kindOf: (m: Mount) => Kind, expanded: (m: Mount) => boolean): Drawing => ({ g, s, kindOf, expanded, notes, named: 3, extra });
  const procAt = (at: string) => mounts.some((m) => m.mountPoint === at && m.fstype === 'proc');
  /** A mount and all below it, never crossing into `stop` (a root stacked on the old one). */
  const subtree = (top: Mount | undefined, stop?: Mount): Set<number> => {
    const ids = new Set<number>();
    const walk = (m: Mount) => {
      if (m === stop || ids.has(m.id)) return;
      ids.add(m.id);
      for (const k of s.children.get(m.id) ?? []) walk(k);
    };
    if (top) walk(top);
    return ids;
  };
  // The container's own mounts are drawn whole when few hang under them (/dev and
  // /dev/pts), folded when many do (a learner's rbind of the host's /sys).
  const small = (m: Mount) => s.below(m) <= 3;
  const warn = () => {
    if (facts.warning) lines.push(line(clip(facts.warning, width, g), { color: 'yellow' }));
  };

  if (!facts.pivoted) {
    // Before pivot_root: the namespace's root is the host's (a copy); the rootfs, bound on
    // itself, is one mount under it. A chroot into it changes a process's root, not this:
    // a chrooted process's mountinfo starts at its own root and hides the rest.
    const chrootView = !!root && !isHostRootCopy(root, hostRoot);
    const bound = mounts.filter((m) => m.mountPoint === rootfs).at(-1) ?? (chrootView ? root : undefined);
    const ownIds = subtree(bound);
    const pathToRootfs = new Set<number>();
    for (let m = bound; m; m = mounts.find((p) => p.id === m!.parent)) pathToRootfs.add(m.id);
    lines.push(
      stages(
        [
          ['unshare --mount', true],
          ['bind', !!bound],
          ['pivot_root', false],
          ['proc', procAt(chrootView ? '/proc' : `${rootfs}/proc`)],
          ['umount -l', false],
        ],
        g,
        width,
      ),
    );
    warn();
    if (view.rootedInRootfs) {
      lines.push(line(clip(t`${view.who} is in a chroot; the namespace's root is still the host's`, width, g), { color: 'yellow' }));
    }
    if (root) notes.set(root.id, chrootView ? t`the chroot's root (the namespace's is out of its view)` : t`the host's root, still / here`);
    if (bound && bound !== root) notes.set(bound.id, t`bound on itself, / after pivot_root`);
    const top = root ?? mounts[0];
    if (top) {
      const kindOf = (m: Mount): Kind => (ownIds.has(m.id) ? 'own' : 'host');
      const expanded = (m: Mount) => pathToRootfs.has(m.id) || (ownIds.has(m.id) && small(m));
      lines.push(...tree([node(top, drawing(kindOf, expanded))], g, width));
    } else {
      lines.push(line(clip(t`${view.who} sees no mount at all from its root`, width, g), { dim: true }));
    }
    return { title: clip(t`the mount tree of ${view.who} before pivot_root`, width, g), lines, legend };
  }

  // After pivot_root: the rootfs is /, and the old root is the copy of the host's root
  // mounted under it, with everything the host had mounted below it.
  const oldRoot = mounts.filter((m) => m !== root && isHostRootCopy(m, hostRoot)).sort((a, b) => a.mountPoint.length - b.mountPoint.length)[0];
  const goingIds = subtree(oldRoot, root);
  if (oldRoot) {
    const count = 1 + s.below(oldRoot);
    memory.oldRoot = { mountPoint: oldRoot.mountPoint, mounts: count };
    notes.set(oldRoot.id, t`the old root, the host's /: ${mountCount(count)}`);
  }
  if (root) notes.set(root.id, root.root === '/' ? t`the new root` : t`the new root: the rootfs, bind-mounted`);
  const proc = mounts.find((m) => m.mountPoint === '/proc' && m.fstype === 'proc' && !goingIds.has(m.id));
  if (proc) notes.set(proc.id, t`the container's own proc`);
  lines.push(
    stages(
      [
        ['unshare --mount', true],
        ['bind', true],
        ['pivot_root', true],
        ['proc', !!proc],
        ['umount -l', !oldRoot],
      ],
      g,
      width,
    ),
  );
  warn();
  if (!oldRoot && root) {
    const gone = memory.oldRoot;
    extra.set(root.id, {
      label: gone ? `${g.cut} ${gone.mountPoint}  ${t`detached by umount -l: its ${mountCount(gone.mounts)} went with it`}` : `${g.cut} ${t`the old root  detached: no path inside leads to the host's files`}`,
      style: { dim: true },
    });
  }
  if (root) {
    lines.push(
      ...tree(
        [
          node(
            root,
            drawing(
              (m) => (goingIds.has(m.id) ? 'going' : 'own'),
              (m) => m === root || (!goingIds.has(m.id) && small(m)),
            ),
          ),
        ],
        g,
        width,
      ),
    );
  } else {
    lines.push(line(clip(t`${view.who}: its mountinfo shows no mount at /`, width, g), { dim: true }));
  }
  // Mounts that hang from no mount shown: the root's own parent is never listed, others are.
  const listed = new Set(mounts.map((m) => m.id));
  const orphans = mounts.filter((m) => m !== root && !listed.has(m.parent) && !goingIds.has(m.id));
  if (orphans.length) lines.push(line(clip(t`also: ${orphans.map((m) => `${m.mountPoint} (${m.fstype})`).join(', ')}`, width, g), { dim: true }));
  return { title: clip(t`the mount tree of ${view.who} after pivot_root`, width, g), lines, legend };
}

/** The picture of lesson 3 while it is shown. It keeps, per mount namespace, whether
 * pivot_root was seen done (asking the kernel once: a helper enters the namespace and looks
 * at its root) and the old root it last drew, to show it going away after umount -l. */
export function mountTreePicture(lab: Lab): PictureSource {
  const states = new Map<string, MountTreeState>();
  const stateFor = (nsId: string): MountTreeState => {
    let st = states.get(nsId);
    if (!st) {
      st = {};
      states.set(nsId, st);
      // A few namespaces at most are worth remembering: the latest containers.
      for (const old of [...states.keys()].slice(0, Math.max(0, states.size - 8))) states.delete(old);
    }
    return st;
  };
  return {
    // Redrawn as every picture is, so a container built by hand in a second terminal shows
    // each step (and the old root is seen before umount -l detaches it).
    everyMs: REDRAW_MS,
    async draw(opts) {
      const view = findMountView(lab);
      if (view.kind !== 'namespace') return drawMountTree(view, { pivoted: false }, {}, opts);
      const st = stateFor(view.nsId);
      const root = rootMount(view.mounts);
      // The namespace's root is a copy of the host's: pivot_root is not done yet.
      if (!root || isHostRootCopy(root, view.hostRoot)) return drawMountTree(view, { pivoted: false }, st, opts);
      // Every process of the namespace sees the rootfs as /: after pivot_root, or a chroot
      // into a bind mount, which leaves the namespace's own root the host's. Only that root
      // tells them apart: a helper enters the namespace and looks. Once it said pivoted it
      // stays so; a chroot is asked again when the mount table changes.
      const table = view.mounts.map((m) => `${m.id}:${m.parent}`).join(' ');
      if (!st.pivoted && st.probedTable !== table) {
        try {
          st.pivoted = (await probeNamespaces(view.readFrom)).nsRootIsRootfs;
          st.probedTable = table;
        } catch (err) {
          return drawMountTree(view, { pivoted: true, warning: t`could not enter its mount namespace to look at its root: ${(err as Error).message}` }, st, opts);
        }
      }
      return drawMountTree(st.pivoted ? view : { ...view, rootedInRootfs: true }, { pivoted: !!st.pivoted }, st, opts);
    },
  };
}
