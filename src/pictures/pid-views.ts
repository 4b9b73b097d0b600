// Lesson 4's picture: one process tree, two numbers for each process. The container's
// processes are found from the host as the lesson's check finds them (a root holding the
// lab rootfs's marker, src/checks/containers.ts); every process in the same PID namespace
// is then drawn as a tree (parent and child from /proc/<pid>/stat), with the pid the host
// sees beside the pid inside (the NSpid line of /proc/<pid>/status: outermost first). The
// tree crosses the namespace's edge on purpose: PID 1's parent, and the parent of anything
// entered with nsenter, are host processes the container cannot see.
import { procfs, readMarker } from '../core/index.js';
import { containerLeaders, findLabProcesses, innerPid, type LabProcess } from '../checks/containers.js';
import { headColumns, visible } from '../columns.js';
import { t } from '../i18n/messages.js';
import type { Glyphs } from './glyphs.js';
import { cell, clip, line, type DrawOptions, type Picture, type PictureLine } from './picture.js';

export interface PidViewsSpec {
  /** The lab's root filesystem: a container is a process whose root holds its marker. */
  rootfs: string;
  /** How to start a container by hand, for the line shown when none runs. */
  howto: string;
  /** The number of the lesson's step that starts one. */
  startStep: number;
}

/** One process as /proc shows it at draw time. */
interface Proc {
  pid: number;
  ppid: number;
  /** pid in each PID namespace, the host's first */
  nspid: number[];
  pidNs: string | null;
  /** the command line, or [comm] for a process without one */
  label: string;
}

/** The first container is drawn whole up to this many processes; the Work pane is short. */
const MAX_ROWS = 12;
/** Further containers get one line each, up to this many, then a count. */
const MAX_OTHERS = 3;

/** Spaces before a string up to `cols` columns (a Chinese head takes two a character). */
const padStartColumns = (s: string, cols: number) => ' '.repeat(Math.max(0, cols - visible(s))) + s;

function readProc(pid: number): Proc | null {
  const ppid = procfs.ppid(pid);
  if (ppid === null) return null;
  let nspid: number[];
  try {
    nspid = procfs.parseNSpid(procfs.readStatus(pid)) ?? [pid];
  } catch {
    return null; // exited meanwhile
  }
  const cmd = procfs.cmdline(pid);
  return { pid, ppid, nspid, pidNs: procfs.nsId(pid, 'pid'), label: cmd || `[${procfs.comm(pid) ?? '?'}]` };
}

/** Every process on the machine, read once per draw so the tree is of one moment. */
function readAll(): Map<number, Proc> {
  const all = new Map<number, Proc>();
  for (const pid of procfs.listPids()) {
    const p = readProc(pid);
    if (p) all.set(pid, p);
  }
  return all;
}

/** The processes a container's PID namespace can see: those in it, and those in PID
 * namespaces nested in it (found as their descendants: a nested namespace's processes
 * descend from one made inside it). */
function membersOf(pidNs: string, all: Map<number, Proc>): Set<number> {
  const members = new Set([...all.values()].filter((p) => p.pidNs === pidNs).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all.values())
      if (!members.has(p.pid) && members.has(p.ppid)) {
        members.add(p.pid);
        grew = true;
      }
  }
  return members;
}

interface Row {
  host: number;
  /** the pid inside, or null for a host process the container cannot see */
  inside: number | null;
  text: string;
  style?: Omit<PictureLine, 'text'>;
}

/** The rows of one container's tree. `level` is how deep its namespace is (the length of
 * its processes' NSpid): a process's pid there is NSpid's entry at that depth. Roots are
 * members whose parent is not one (PID 1, and whatever was entered from outside); with
 * `outside` their host parents are drawn above them, the namespace's edge. */
function treeRows(members: Set<number>, all: Map<number, Proc>, level: number, outside: boolean, g: Glyphs): Row[] {
  const insidePid = (p: Proc) => p.nspid[level - 1] ?? p.pid;
  const children = new Map<number, Proc[]>();
  const roots: Proc[] = [];
  for (const pid of members) {
    const p = all.get(pid)!;
    if (members.has(p.ppid)) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
    else roots.push(p);
  }
  const byInside = (a: Proc, b: Proc) => insidePid(a) - insidePid(b);
  const rows: Row[] = [];
  const walk = (p: Proc, prefix: string, lead: string) => {
    const inside = insidePid(p);
    rows.push({ host: p.pid, inside, text: prefix + lead + p.label, style: inside === 1 ? { bold: true } : undefined });
    const kids = (children.get(p.pid) ?? []).sort(byInside);
    const next = prefix + (lead === '' ? '' : lead === g.lastBranch ? ' '.repeat(visible(g.lastBranch)) : g.stem);
    for (const [i, k] of kids.entries()) walk(k, next, i === kids.length - 1 ? g.lastBranch : g.branch);
  };
  roots.sort(byInside);
  if (!outside) {
    for (const r of roots) walk(r, '', '');
    return rows;
  }
  // Roots under their host parents, in the order of their first root (PID 1's parent first).
  const parents = [...new Set(roots.map((r) => r.ppid))];
  for (const pp of parents) {
    const parent = all.get(pp);
    rows.push({ host: pp, inside: null, text: parent?.label ?? t`(gone)`, style: { dim: true } });
    const kids = roots.filter((r) => r.ppid === pp);
    for (const [i, k] of kids.entries()) walk(k, '', i === kids.length - 1 ? g.lastBranch : g.branch);
  }
  return rows;
}

/** The rows as a table: host pid, pid inside (PID 1 marked), the process in its tree. */
function tableLines(rows: Row[], width: number, g: Glyphs): PictureLine[] {
  // The heads in the language in use, the columns as wide as they or their numbers are.
  const [hostHead, insideHead, processHead] = [t`host`, t`inside`, t`process`];
  const hostW = Math.max(visible(hostHead), ...rows.map((r) => String(r.host).length));
  const insideW = Math.max(visible(insideHead), ...rows.map((r) => String(r.inside ?? '').length + 2));
  const sep = ` ${g.v} `;
  const insideCell = (r: Row) => padStartColumns(r.inside === null ? g.none : `${r.inside === 1 ? g.on : ' '} ${r.inside}`, insideW);
  const out: PictureLine[] = [line(clip(`${padStartColumns(hostHead, hostW)}${sep}${padStartColumns(insideHead, insideW)}${sep}${processHead}`, width, g), { bold: true })];
  // The rule under the heads, crossing the column lines; as long as the heads and 40 more.
  const ruleTail = Math.max(0, Math.min(width, hostW + insideW + 45) - (hostW + insideW + 5));
  out.push(line(headColumns(`${g.h.repeat(hostW + 1)}${g.cross}${g.h.repeat(insideW + 2)}${g.cross}${g.h.repeat(ruleTail)}`, width), { dim: true }));
  const shown = rows.length > MAX_ROWS ? rows.slice(0, MAX_ROWS - 1) : rows;
  for (const r of shown) out.push(line(clip(`${padStartColumns(String(r.host), hostW)}${sep}${insideCell(r)}${sep}${r.text}`, width, g), r.style ?? {}));
  if (shown.length < rows.length) out.push(line(clip(`${cell('', hostW, g)}${sep}${cell('', insideW, g)}${sep}${t`+${rows.length - shown.length} more processes`}`, width, g), { dim: true }));
  return out;
}

/** A command over as many lines as it needs, broken between words, so that a learner can
 * copy all of it at 80 columns (a cut command would be worse than none). */
function wrapWords(text: string, width: number, indent: string, g: Glyphs): string[] {
  const out: string[] = [];
  let cur = '';
  for (const word of text.split(' ')) {
    if (cur && visible(indent) + visible(cur) + 1 + visible(word) > width) {
      out.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) out.push(cur);
  return out.map((l) => clip(indent + l, width, g));
}

export function drawPidViews(spec: PidViewsSpec, { width, glyphs: g }: DrawOptions): Picture {
  const title = t`the container's processes: the pid the host sees, the pid inside`;
  const legend = [
    t`${g.on} 1  PID 1, the namespace's init: when it exits, the kernel kills the rest`,
    t`${g.none}  a host process the container cannot see (inside, its child's parent pid is 0)`,
    t`host: first number of NSpid in /proc/<pid>/status; inside: the last`,
  ];
  const marker = readMarker(spec.rootfs);
  if (!marker) {
    return { title, lines: [line(clip(t`(no root filesystem at ${spec.rootfs} yet: the first step builds it)`, width, g), { dim: true })], legend };
  }
  const labProcs = findLabProcesses(marker.id);
  const leaders = containerLeaders(labProcs);
  if (!leaders.length) {
    return {
      title,
      lines: [line(clip(t`(no container is running in the rootfs: run step ${spec.startStep}, or in a second terminal:)`, width, g), { dim: true }), ...wrapWords(spec.howto, width, '  ', g).map((l) => line(l, { dim: true }))],
      legend,
    };
  }

  const all = readAll();
  const hostNs = procfs.nsId('self', 'pid');
  // One container per PID namespace, in the check's order: a PID 1 of its own first.
  const byNs = new Map<string | null, LabProcess>();
  for (const p of leaders) if (!byNs.has(p.ns.pid ?? null)) byNs.set(p.ns.pid ?? null, p);
  const containers = [...byNs.entries()].filter(([ns]) => ns !== hostNs);

  const lines: PictureLine[] = [];
  const drawn = new Set<number>();
  const [first, ...others] = containers;
  if (first) {
    const [ns, leader] = first;
    const members = membersOf(ns!, all);
    const rows = treeRows(members, all, leader.nspid.length, true, g);
    for (const r of rows) drawn.add(r.host);
    lines.push(line(clip(t`PID namespaces: the host's ${hostNs ?? '?'}, the container's ${ns}`, width, g)));
    lines.push(...tableLines(rows, width, g));
  }
  for (const [i, [ns, leader]] of others.slice(0, MAX_OTHERS).entries()) {
    const count = membersOf(ns!, all).size;
    const n = i + 2;
    const inner = innerPid(leader);
    const text = count === 1 ? t`+ container ${n}: ${ns}, host pid ${leader.pid} is its pid ${inner} ${leader.comm}, 1 process` : t`+ container ${n}: ${ns}, host pid ${leader.pid} is its pid ${inner} ${leader.comm}, ${count} processes`;
    lines.push(line(clip(text, width, g)));
  }
  if (others.length > MAX_OTHERS) lines.push(line(clip(t`+${others.length - MAX_OTHERS} more containers`, width, g)));

  // Processes in the rootfs but in the host's PID namespace (a chroot, nsenter --mount
  // without --pid): no second number, their pid inside is the host's. nsenter itself is
  // one, already drawn above as the parent of what it started.
  const shared = labProcs.filter((p) => p.ns.pid === hostNs && !drawn.has(p.pid));
  if (shared.length) {
    const names = shared.map((p) => `${p.pid} ${p.comm}`).join(', ');
    lines.push(line(clip(`${first ? '+ ' : ''}${t`in the rootfs without a PID namespace of its own (same pid inside): ${names}`}`, width, g), { dim: !!first }));
  }
  return { title, lines, legend };
}
