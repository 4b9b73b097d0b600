// Lesson 9's picture: the user namespace's id map, the container's ids on one side and the
// host's on the other with an arrow between (/proc/<pid>/uid_map and gid_map), for each
// container on the lab rootfs; then, for the container the check reads, which namespaces
// it does not share with the host (/proc/<pid>/ns/* against /proc/self/ns/*) and what its
// cgroup, time and IPC namespaces show: its cgroup path inside against the host's, the
// clock offsets of its time namespace, the System V objects on each side. All of it is
// read at draw time; the containers are found from the host as the check finds them.
import fs from 'node:fs';
import { procfs, viewNamespaces, type NsView, type Rootless } from '../core/index.js';
import { containerLeaders, hostNamespaces, innerPid, type LabProcess } from '../checks/containers.js';
import { locateContainer } from '../lessons/container-common.js';
import type { parseIdMap, parseTimeOffsets } from '../lessons/09-namespaces.js';
import type { Lab } from '../lab.js';
import { padColumns, visible } from '../columns.js';
import { t } from '../i18n/messages.js';
import type { Glyphs } from './glyphs.js';
// fit is imported as clip: biome's noFocusedTests takes fit("...") for a focused test.
import { cell, clip, line, type DrawOptions, type Picture, type PictureLine } from './picture.js';

export interface IdMapSubject {
  lab: Lab;
  /** The unprivileged user the lesson's own container runs as (rootlessUser). */
  lessonUser: Rootless;
  /** How to start the container, for the line shown when none runs. */
  howto: string;
  /** The lesson's readers of uid_map and timens_offsets, the ones its check uses (passed in:
   * the lesson imports this module, so this module may not import the lesson). */
  parseIdMap: typeof parseIdMap;
  parseTimeOffsets: typeof parseTimeOffsets;
  /** What a helper last saw inside a container, kept by a source that draws every second:
   * seeing inside takes a helper process, so a view is taken again after VIEW_MS only. */
  views?: Map<string, { at: number; view: NsView }>;
}

/** How long a view from inside (the cgroup path, the System V objects) is shown again. */
export const VIEW_MS = 3000;

type IdRange = ReturnType<typeof parseIdMap>[number];

/** How many containers get their map drawn; more are counted in one line. */
const MAX_MAPS = 3;
/** The namespaces of the table: this lesson's four on the left, lessons 3-5's on the right. */
const LESSON_NS = ['user', 'cgroup', 'time', 'ipc'] as const;
const EARLIER_NS = ['mnt', 'uts', 'pid', 'net'] as const;

const read = (file: string): string | null => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/** A name for an id from /etc/passwd or /etc/group, or null: a bare number has none. */
function nameOf(file: '/etc/passwd' | '/etc/group', id: number): string | null {
  for (const l of (read(file) ?? '').split('\n')) {
    const f = l.split(':');
    if (f.length >= 3 && Number(f[2]) === id && f[2] !== '') return f[0] ?? null;
  }
  return null;
}

/** Chinese (wide) characters, and the punctuation a line may not end or begin with. */
const WIDE = '\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef';
const OPENING = '（《“‘';
const CLOSING = '，。：；、！？）》”’';
/** The pieces of a word a line may break between: a word of Latin letters is one piece, a
 * Chinese one breaks between its characters (never before a closing mark, nor after an
 * opening one). */
const PIECES = new RegExp(`[${OPENING}]*[${WIDE}][${CLOSING}]*|[^${WIDE}]+`, 'gu');

/** Words wrapped into lines of `width` columns, the lines after the first indented (a word
 * longer than a line is left to be cut; Chinese breaks between characters). */
function wrap(text: string, width: number, indent = ''): string[] {
  const out: string[] = [];
  let cur = '';
  for (const word of text.split(' ')) {
    for (const [i, piece] of (word.match(PIECES) ?? ['']).entries()) {
      const next = cur ? `${cur}${i === 0 ? ' ' : ''}${piece}` : out.length ? indent + piece : piece;
      if (cur && visible(next) > width) {
        out.push(cur);
        cur = indent + piece;
      } else cur = next;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** "0" or "0..65535": the ids a range of a map covers, starting at `start`. */
const span = (start: number, count: number) => (count === 1 ? String(start) : `${start}..${start + count - 1}`);

/** "4026532189" out of "user:[4026532189]". */
const inode = (ns: string | null | undefined) => ns?.match(/\[(\d+)\]/)?.[1] ?? null;

/** Two boxes side by side, the ids inside on the left and the host's on the right, with an
 * arrow between them on each row (cut to the width only when narrower than the boxes). */
function mapBoxes(rows: Array<{ inside: string; host: string; style?: Omit<PictureLine, 'text'> }>, width: number, g: Glyphs): PictureLine[] {
  const arrow = ` ${g.h.repeat(3)}${g.arrow} `;
  const gap = ' '.repeat(visible(arrow));
  const [insideTitle, hostTitle] = [t`inside`, t`the host`];
  const leftInner = Math.max(visible(insideTitle) + 5, ...rows.map((r) => visible(r.inside) + 2));
  // The host's side takes what is left of the width, no more than its rows need.
  const room = width - 1 - (leftInner + 2) - visible(arrow) - 2;
  const rightInner = Math.max(4, Math.min(room, Math.max(visible(hostTitle) + 3, ...rows.map((r) => visible(r.host) + 2))));
  const edge = (title: string, inner: number, left: string, right: string) => {
    const head = clip(`${g.h} ${title} `, inner, g);
    return left + head + g.h.repeat(Math.max(0, inner - visible(head))) + right;
  };
  const drawn = (text: string, style?: Omit<PictureLine, 'text'>) => line(clip(text, width, g), style);
  const out: PictureLine[] = [drawn(` ${edge(insideTitle, leftInner, g.tl, g.tr)}${gap}${edge(hostTitle, rightInner, g.tl, g.tr)}`)];
  for (const r of rows) out.push(drawn(` ${g.v}${cell(` ${r.inside}`, leftInner, g)}${g.v}${arrow}${g.v}${cell(` ${r.host}`, rightInner, g)}${g.v}`, r.style));
  out.push(drawn(` ${g.bl}${g.h.repeat(leftInner)}${g.br}${gap}${g.bl}${g.h.repeat(rightInner)}${g.br}`));
  return out;
}

/** The words after a host uid: whose it is, and that the host's root is no rootless one. */
function uidWords(range: IdRange, s: IdMapSubject): { words: string; root: boolean } {
  const { outside, count } = range;
  if (outside === 0) return { words: count === 1 ? t`the host's root: not rootless` : t`from the host's root up: not rootless`, root: true };
  if (count > 1) return { words: t`unprivileged ids`, root: false };
  const name = nameOf('/etc/passwd', outside);
  // The lesson's own user is the one who ran sudo, or (root without sudo) a free id.
  if (outside === s.lab.invoker.uid) return { words: t`unprivileged (${name ?? s.lab.invoker.user}, who ran sudo)`, root: false };
  if (outside === s.lessonUser.uid && !name) return { words: t`unprivileged (a free id)`, root: false };
  return { words: t`unprivileged (${name ?? t`no passwd entry`})`, root: false };
}

/** One container's maps as two boxes: its ids inside, the host's ids they are. */
function drawMaps(p: LabProcess, host: Record<string, string | null>, s: IdMapSubject, checked: boolean, width: number, g: Glyphs): PictureLine[] {
  const who = p.nspid.length > 1 ? t`pid ${p.pid} (pid ${innerPid(p)} inside)` : `pid ${p.pid}`;
  const head = `${who} ${p.comm}  ${p.ns.user ?? ''}${checked ? `  ${t`(the check reads this one)`}` : ''}`;
  const out: PictureLine[] = [line(clip(head, width, g), { bold: true })];
  if (p.ns.user === host.user) {
    out.push(line(clip(`  ${t`${g.cut} in the host's user namespace (${p.ns.user}): its uid 0 is the host's root`}`, width, g), { color: 'red' }));
    return out;
  }
  const uidText = read(`/proc/${p.pid}/uid_map`);
  const gidText = read(`/proc/${p.pid}/gid_map`);
  if (uidText === null || gidText === null) {
    out.push(line(clip(`  ${t`(it ended while it was read)`}`, width, g), { dim: true }));
    return out;
  }
  const uids = s.parseIdMap(uidText);
  const gids = s.parseIdMap(gidText);
  if (!uids.length) {
    const overflow = read('/proc/sys/kernel/overflowuid')?.trim() ?? '65534';
    out.push(line(clip(`  ${t`${g.cut} uid_map is empty: every id inside is ${overflow} (the overflow id, nobody)`}`, width, g), { color: 'red' }));
  }
  const rows = [
    ...uids.map((r) => {
      const { words, root } = uidWords(r, s);
      return { inside: `uid ${span(r.inside, r.count)}`, host: `${root ? g.cut : g.on} uid ${span(r.outside, r.count)}  ${words}`, style: root ? { color: 'red' as const } : {} };
    }),
    ...gids.map((r) => {
      const name = r.count === 1 ? nameOf('/etc/group', r.outside) : null;
      return { inside: `gid ${span(r.inside, r.count)}`, host: `${r.outside === 0 ? g.cut : g.on} gid ${span(r.outside, r.count)}${name ? `  (${name})` : ''}` };
    }),
  ];
  if (rows.length) out.push(...mapBoxes(rows, width, g));
  return out;
}

/** Which namespaces the container has of its own: its ns links against this process's. */
function namespaceTable(p: LabProcess, host: Record<string, string | null>, width: number, g: Glyphs): PictureLine[] {
  const entry = (type: string) => {
    const mine = p.ns[type];
    const theirs = host[type];
    if (!mine || !theirs) return { text: `${g.none} ${type.padEnd(6)} ${cell(t`(none)`, 10, g)}   ${cell(t`(none)`, 10, g)}`, own: false };
    const own = mine !== theirs;
    return { text: `${own ? g.on : g.off} ${type.padEnd(6)} ${cell(inode(mine) ?? mine, 10, g)} ${own ? '!=' : '= '} ${cell(inode(theirs) ?? theirs, 10, g)}`, own };
  };
  const head = `  ${'ns'.padEnd(6)} ${cell(t`container`, 10, g)}    ${cell(t`host`, 10, g)}`;
  const colW = visible(head);
  const out: PictureLine[] = [];
  const two = width >= colW * 2 + 4;
  out.push(line(clip(two ? `${head}    ${head}` : head, width, g), { dim: true }));
  const left = LESSON_NS.map(entry);
  const right = EARLIER_NS.map(entry);
  if (two) {
    for (const [i, l] of left.entries()) out.push(line(clip(`${cell(l.text, colW, g)}    ${right[i]!.text}`, width, g)));
  } else {
    for (const e of [...left, ...right]) out.push(line(clip(e.text, width, g)));
  }
  return out;
}

/** "+86400 s (1 d)": an offset with its size in days, hours or minutes. */
function offsetWords(secs: number): string {
  const sign = secs < 0 ? '-' : '+';
  const a = Math.abs(secs);
  const size = a >= 86400 ? `${+(a / 86400).toFixed(2)} d` : a >= 3600 ? `${+(a / 3600).toFixed(2)} h` : a >= 60 ? `${+(a / 60).toFixed(2)} min` : '';
  return `${sign}${a} s${size ? ` (${size})` : ''}`;
}

/** The words "inside" and "host" before the two views of the cgroup and ipc lines, padded to
 * one width (in columns) and a gap of two, so that what follows them lines up. */
function sides(): [string, string] {
  const [inside, host] = [t`inside`, t`host`];
  const w = Math.max(visible(inside), visible(host)) + 2;
  return [padColumns(inside, w), padColumns(host, w)];
}

/** The line of /proc/<pid>/cgroup to show: the first hierarchy where the host sees the
 * container below the root (as the check picks it), else the unified one. */
function cgroupLines(p: LabProcess, host: Record<string, string | null>, inside: string | null, width: number, g: Glyphs): PictureLine[] {
  const hostView = procfs.parseProcCgroup(read(`/proc/${p.pid}/cgroup`) ?? '');
  const pick = hostView.find((c) => c.path !== '/') ?? hostView.find((c) => c.hierarchy === 0) ?? hostView[0];
  if (!pick) return [line(clip(`cgroup  ${t`(it ended while it was read)`}`, width, g), { dim: true })];
  const label = `${pick.hierarchy}:${pick.controllers.join(',')}:`;
  const shared = p.ns.cgroup === host.cgroup;
  const insidePath = shared ? pick.path : inside === null ? null : procfs.parseProcCgroup(inside).find((c) => c.hierarchy === pick.hierarchy)?.path;
  const mark = shared ? g.off : g.on;
  const [inSide, hostSide] = sides();
  return [
    line(clip(`${mark} cgroup  ${inSide}${label}${insidePath ?? '?'}  ${shared ? t`(the host's namespace: the real path)` : t`(its own namespace: its cgroup is /)`}`, width, g)),
    line(clip(`          ${hostSide}${label}${pick.path}`, width, g), { dim: true }),
  ];
}

function timeLine(p: LabProcess, host: Record<string, string | null>, s: IdMapSubject, width: number, g: Glyphs): PictureLine {
  if (!host.time) return line(clip(`time    ${t`this kernel has no time namespaces (Linux 5.6 brought them)`}`, width, g), { dim: true });
  if (p.ns.time === host.time) return line(clip(`${g.off} time    ${t`the host's clocks: no offsets`}`, width, g));
  const offsets = s.parseTimeOffsets(read(`/proc/${p.pid}/timens_offsets`) ?? '');
  const shown = ['boottime', 'monotonic'].map((c) => `${c} ${offsetWords(offsets[c] ?? 0)}`).join(', ');
  return line(clip(`${g.on} time    ${shown}`, width, g), { color: offsets.boottime ? undefined : 'yellow' });
}

/** The System V objects of one IPC namespace: a count per kind, and the keys of the queues. */
function ipcSummary(sysvipc: NsView['sysvipc']): string {
  const keys = sysvipc.msg.map((l) => {
    const key = Number(l.trim().split(/\s+/)[0]);
    return `0x${(key >>> 0).toString(16).padStart(8, '0')}`;
  });
  const n = sysvipc.msg.length;
  const count = n === 1 ? t`1 msg queue` : t`${n} msg queues`;
  const queues = keys.length ? t`${count} (key ${keys.slice(0, 3).join(' ')}${keys.length > 3 ? ' ...' : ''})` : count;
  return t`${queues}, ${sysvipc.shm.length} shm, ${sysvipc.sem.length} sem`;
}

/** This process's own System V objects: /proc/sysvipc lists the reader's IPC namespace. */
function hostSysvipc(): NsView['sysvipc'] {
  const kind = (k: string) =>
    (read(`/proc/sysvipc/${k}`) ?? '')
      .split('\n')
      .slice(1)
      .filter((l) => l.trim());
  return { msg: kind('msg'), shm: kind('shm'), sem: kind('sem') };
}

function ipcLines(p: LabProcess, host: Record<string, string | null>, inside: NsView | null, width: number, g: Glyphs): PictureLine[] {
  const hostObjects = ipcSummary(hostSysvipc());
  if (p.ns.ipc === host.ipc) return [line(clip(`${g.off} ipc     ${t`the host's namespace, the same objects: ${hostObjects}`}`, width, g))];
  const [inSide, hostSide] = sides();
  return [
    line(clip(`${g.on} ipc     ${inSide}${inside ? ipcSummary(inside.sysvipc) : '?'}`, width, g), { color: inside && !inside.sysvipc.msg.length && !inside.sysvipc.shm.length && !inside.sysvipc.sem.length ? 'yellow' : undefined }),
    line(clip(`          ${hostSide}${hostObjects}`, width, g), { dim: true }),
  ];
}

export async function drawIdMap(s: IdMapSubject, { width, glyphs: g }: DrawOptions): Promise<Picture> {
  const title = t`ids inside ${g.arrow} ids on the host, and the other namespaces`;
  const overflow = read('/proc/sys/kernel/overflowuid')?.trim() ?? '65534';
  const legend = [t`${g.on} its own, or an unprivileged id`, t`${g.off} the host's (shared)`, t`${g.cut} the host's root, or nothing mapped`, t`an id not in the map reads as ${overflow} inside`];
  const located = locateContainer(s.lab, 'user', s.howto);
  if (Array.isArray(located)) {
    // The check's own reason (no rootfs, or nothing running in it) and the command to start
    // one, wrapped rather than cut: the command is the point of the line.
    const why = located[0]?.reason ?? t`no container`;
    return { title, lines: [...wrap(t`(nothing runs: ${why})`, width), ...wrap(t`start one: ${s.howto}`, width, '  ')].map((l) => line(clip(l, width, g), { dim: true })), legend };
  }
  const { own, all } = located;
  const host = hostNamespaces();
  const leaders = [own, ...containerLeaders(all).filter((p) => p.pid !== own.pid)];

  const lines: PictureLine[] = [];
  for (const p of leaders.slice(0, MAX_MAPS)) lines.push(...drawMaps(p, host, s, leaders.length > 1 && p === own, width, g));
  if (leaders.length > MAX_MAPS) lines.push(line(clip(t`(${leaders.length - MAX_MAPS} more containers on the rootfs)`, width, g), { dim: true }));

  // What the check reads inside: the cgroup path and the System V objects, through a helper
  // that joins the container's cgroup and IPC namespaces (the reader's namespaces decide
  // what both files show). A container that just ended gives no view, and says so.
  let view: NsView | null = null;
  let viewError: string | null = null;
  if (own.ns.cgroup !== host.cgroup || own.ns.ipc !== host.ipc) {
    try {
      const key = `${own.pid}|${own.ns.cgroup}|${own.ns.ipc}`;
      const kept = s.views?.get(key);
      view = kept && Date.now() - kept.at < VIEW_MS ? kept.view : await viewNamespaces(own.pid);
      if (s.views && view !== kept?.view) s.views.set(key, { at: Date.now(), view });
    } catch (err) {
      viewError = (err as Error).message;
    }
  }
  lines.push(line(clip(t`namespaces: /proc/${own.pid}/ns/* against the host's /proc/self/ns/*`, width, g), { bold: true }));
  lines.push(...namespaceTable(own, host, width, g));
  lines.push(...cgroupLines(own, host, view?.cgroup ?? null, width, g));
  lines.push(timeLine(own, host, s, width, g));
  lines.push(...ipcLines(own, host, view, width, g));
  if (viewError) for (const l of wrap(t`(could not look inside: ${viewError})`, width)) lines.push(line(clip(l, width, g), { dim: true }));
  return { title, lines, legend };
}
