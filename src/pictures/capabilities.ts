// Lesson 10's picture: root's locks before and after. A table puts the host's root (this
// workbook's own process) beside the container's first process, each row read from
// /proc/<pid>/status: the five capability sets counted, NoNewPrivs and Seccomp. Under it a
// grid of every capability this kernel has, marked for the container's first process: held,
// left in the bounding set, dropped, or one the host's root lacks as well. The grid is cut
// in two, Docker's 14 first: a container locked as Docker locks one fills the first part
// and crosses out the second. Other processes of the lab rootfs whose locks differ from the
// first one's (a process a learner's nsenter started, a second container) get a row of the
// table each.
import fs from 'node:fs';
import { CAP_NAMES, DOCKER_DEFAULT_CAPS, parseProcSecurity, procfs, readMarker, type ProcSecurity } from '../core/index.js';
import { containerLeaders, findLabProcesses, hostNamespaces, innerPid, type LabProcess } from '../checks/containers.js';
import type { Glyphs } from './glyphs.js';
import { cell, clip, line, type DrawOptions, type Picture, type PictureLine } from './picture.js';
import { visible } from '../columns.js';
import { t } from '../i18n/messages.js';

export interface CapabilityPlaces {
  /** The lab's root filesystem: a process whose root holds its marker is the container's. */
  rootfs: string;
  /** The host's root to compare with: this process unless told (then pid 1 if this one is
   * not root: a picture drawn by an unprivileged process would show no capabilities). */
  hostPid?: number;
}

/** What one capability is to the container's first process, drawn as one mark. */
export type CapMark = 'held' | 'bounding' | 'dropped' | 'absent';

/** A process's security as the picture shows it. */
interface Row {
  who: string;
  pid: number;
  sec: ProcSecurity;
}

/** How many capabilities this kernel has: cap_last_cap is the highest number (40 on 5.9+). */
function kernelCapCount(): number {
  try {
    const last = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    if (Number.isInteger(last) && last >= 0 && last < 64) return last + 1;
  } catch {
    /* no procfs sysctl: fall back to the names this workbook knows */
  }
  return CAP_NAMES.length;
}

/** A process's security fields, or null when it has exited (or is not readable). */
function security(pid: number): ProcSecurity | null {
  try {
    return parseProcSecurity(procfs.readStatus(pid));
  } catch {
    return null;
  }
}

const bit = (mask: bigint, n: number) => ((mask >> BigInt(n)) & 1n) === 1n;
const count = (mask: bigint) => {
  let c = 0;
  for (let m = mask; m; m >>= 1n) if (m & 1n) c++;
  return c;
};

/** The mark of capability `n`: what the container holds, against what the host's root has. */
export function capMark(n: number, container: ProcSecurity, host: ProcSecurity): CapMark {
  if (bit(container.effective, n)) return 'held';
  if (bit(container.bounding, n)) return 'bounding';
  return bit(host.bounding, n) || bit(host.effective, n) ? 'dropped' : 'absent';
}

/** A capability's short name, as capsh and setpriv spell it ('sys_admin', or 'cap_41'). */
export function shortCapName(n: number): string {
  const name = CAP_NAMES[n];
  return name ? name.slice(4).toLowerCase() : `cap_${n}`;
}

/** Seccomp's mode as the table shows it: its number and its name. */
function seccompMode(mode: number): string {
  if (mode === 0) return t`0 off`;
  if (mode === 1) return t`1 strict`;
  if (mode === 2) return t`2 filter`;
  return String(mode);
}

/** Two locks and their comparison: everything the table shows of a process. */
function sameLocks(a: ProcSecurity, b: ProcSecurity): boolean {
  return (
    a.bounding === b.bounding &&
    a.permitted === b.permitted &&
    a.effective === b.effective &&
    a.inheritable === b.inheritable &&
    a.ambient === b.ambient &&
    a.noNewPrivs === b.noNewPrivs &&
    a.seccomp === b.seccomp &&
    a.seccompFilters === b.seccompFilters
  );
}

// The table's columns: who (10), pid (7), five sets (7 each), NoNewPrivs (11), Seccomp (9),
// filters (8): 80 columns in all, each cell measured in columns (cell()): a Chinese
// character takes two.
function tableHead(): string {
  return `${' '.repeat(10)}${'pid'.padStart(7)} CapBnd CapPrm CapEff CapInh CapAmb NoNewPrivs Seccomp  filters`;
}

function tableRow(r: Row, g: Glyphs): string {
  const s = r.sec;
  const sets = [s.bounding, s.permitted, s.effective, s.inheritable, s.ambient].map((m) => String(count(m)).padStart(6)).join(' ');
  return `${cell(r.who, 9, g)} ${String(r.pid).padStart(7)} ${sets} ${cell(s.noNewPrivs ? t`1 on` : t`0 off`, 10, g)} ${cell(seccompMode(s.seccomp), 8, g)} ${String(s.seccompFilters).padStart(7)}`;
}

/** Capabilities as a grid of marked short names, numbered down each column. */
function grid(caps: number[], markOf: (n: number) => string, width: number, g: Glyphs): string[] {
  // Four columns at 80 characters, six at 120: names of up to 17 characters, longer cut.
  const columns = Math.max(1, Math.min(8, Math.floor((width + 1) / 20)));
  const cellW = Math.max(4, Math.floor((width + 1) / columns) - 1);
  const rows = Math.ceil(caps.length / columns);
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [];
    for (let c = 0; c < columns; c++) {
      const n = caps[c * rows + r];
      if (n !== undefined) cells.push(cell(`${markOf(n)} ${shortCapName(n)}`, cellW, g));
    }
    out.push(clip(cells.join(' ').trimEnd(), width, g));
  }
  return out;
}

/** "14 held, 2 bounding only, 26 dropped": the marks of a part of the grid, counted. */
export function tally(marks: CapMark[]): string {
  const n = (m: CapMark) => marks.filter((x) => x === m).length;
  const parts = [t`${n('held')} held`];
  if (n('bounding')) parts.push(t`${n('bounding')} bounding only`);
  parts.push(t`${n('dropped')} dropped`);
  if (n('absent')) parts.push(t`${n('absent')} not on the host`);
  return parts.reduce((a, b) => t`${a}, ${b}`);
}

/** The host's root: this process, or pid 1 when this one is not root. */
function hostRow(hostPid: number | undefined): Row | null {
  const pids = hostPid !== undefined ? [hostPid] : [process.pid, 1];
  for (const pid of pids) {
    const sec = security(pid);
    if (sec && (hostPid !== undefined || sec.uid[1] === 0)) return { who: t`host root`, pid, sec };
  }
  return null;
}

/** The container the lesson's check looks at: the first leader with a mount namespace of its
 * own (lessons/container-common.ts locateContainer), and every process in the lab rootfs. */
function findContainer(rootfs: string): { init: LabProcess; all: LabProcess[] } | string {
  const marker = readMarker(rootfs);
  if (!marker) return t`no root filesystem at ${rootfs} yet: no container to compare with`;
  const all = findLabProcesses(marker.id);
  const leaders = containerLeaders(all);
  const host = hostNamespaces();
  const init = leaders.find((p) => p.ns.mnt !== host.mnt) ?? leaders[0];
  if (!init) return t`no process has ${rootfs} as its root: no container to compare with yet`;
  return { init, all };
}

export function drawCapabilities(places: CapabilityPlaces, { width, glyphs: g }: DrawOptions): Picture {
  const lines: PictureLine[] = [];
  const legend = [
    t`${g.on} held (CapEff)`,
    t`${g.off} in the bounding set, not held`,
    t`${g.cut} dropped: the host's root has it`,
    t`${g.none} the host's root lacks it too`,
    t`${g.arrow} another process there, its locks not the container's`,
    t`NoNewPrivs 1: execve grants nothing more`,
    t`Seccomp 2: a filter judges each syscall`,
    t`CapBnd..CapAmb: how many in each set`,
  ];
  const host = hostRow(places.hostPid);
  const found = findContainer(places.rootfs);
  const init = typeof found === 'string' ? null : found.init;
  const initSec = init ? security(init.pid) : null;
  const title = init ? t`root's locks: the host's root beside the container (host pid ${init.pid})` : t`root's locks: the host's root, and no container yet`;

  lines.push(line(clip(tableHead(), width, g), { bold: true }));
  if (host) lines.push(line(clip(tableRow(host, g), width, g)));
  else lines.push(line(clip(t`(the host's root cannot be read: /proc/${places.hostPid ?? process.pid}/status)`, width, g), { dim: true }));
  if (typeof found === 'string' || !init) {
    lines.push(line(clip(typeof found === 'string' ? found : t`no container`, width, g), { dim: true }));
    return { title, lines, legend };
  }
  if (!initSec) {
    lines.push(line(clip(t`the container's first process (pid ${init.pid}) has just exited`, width, g), { dim: true }));
    return { title, lines, legend };
  }
  lines.push(line(clip(tableRow({ who: t`container`, pid: init.pid, sec: initSec }, g), width, g), { bold: true, color: 'green' }));

  // The other processes of the lab rootfs, in three kinds: those in the container (its PID
  // namespace: what `docker exec` starts, or a learner's nsenter), those of another
  // container (a mount namespace of its own), and those that joined its mount namespace
  // from outside its PID namespace (nsenter's own process, which waits for its child). The
  // first two get a row each when their locks differ from the first process's; the third
  // only a count by name (they are the learner's tools, not the container).
  const kindOf = (p: LabProcess) => (p.ns.mnt !== init.ns.mnt ? 'elsewhere' : p.ns.pid === init.ns.pid ? 'inside' : 'joined');
  const others = found.all
    .filter((p) => p.pid !== init.pid)
    .map((p) => ({ p, kind: kindOf(p), sec: security(p.pid) }))
    .filter((o): o is { p: LabProcess; kind: ReturnType<typeof kindOf>; sec: ProcSecurity } => o.sec !== null);
  const differing = others.filter((o) => !sameLocks(o.sec, initSec));
  const rows = [...differing.filter((o) => o.kind === 'inside'), ...differing.filter((o) => o.kind === 'elsewhere')];
  const SHOWN = 4;
  let saidElsewhere = false;
  for (const o of rows.slice(0, SHOWN)) {
    if (o.kind === 'elsewhere' && !saidElsewhere) {
      lines.push(line(clip(t`another container on the same rootfs (a mount namespace of its own):`, width, g), { dim: true }));
      saidElsewhere = true;
    }
    lines.push(line(clip(tableRow({ who: `${g.arrow} ${o.p.comm}`, pid: o.p.pid, sec: o.sec }, g), width, g), { color: 'yellow' }));
  }
  const joined = differing.filter((o) => o.kind === 'joined');
  const sameCount = others.length - differing.length;
  const notes: string[] = [];
  if (rows.length > SHOWN) notes.push(t`(${rows.length - SHOWN} more that differ)`);
  if (sameCount === 1) notes.push(t`(1 more process with the same locks as pid ${innerPid(init)} inside)`);
  else if (sameCount) notes.push(t`(${sameCount} more processes with the same locks as pid ${innerPid(init)} inside)`);
  if (joined.length) notes.push(t`(${[...new Set(joined.map((o) => o.p.comm))].join(' ')}: in its mount namespace, outside its PID namespace)`);
  for (const note of notes) lines.push(line(clip(note, width, g), { dim: true }));
  if (init.ns.user !== hostNamespaces().user) {
    lines.push(line(clip(t`in a user namespace of its own: its capabilities count there, not on the host's objects`, width, g), { color: 'yellow' }));
  }

  // The grid: Docker's 14 first, then the rest, each in the kernel's numbering.
  const total = kernelCapCount();
  const all = Array.from({ length: total }, (_, n) => n);
  const docker = new Set(DOCKER_DEFAULT_CAPS.map((c) => CAP_NAMES.indexOf(c)));
  const hostSec = host?.sec ?? initSec;
  const marks = all.map((n) => capMark(n, initSec, hostSec));
  const glyph = (n: number) => ({ held: g.on, bounding: g.off, dropped: g.cut, absent: g.none })[marks[n]!];
  const parts = [
    { caps: all.filter((n) => docker.has(n)), head: t`Docker's ${docker.size} (it keeps them)` },
    { caps: all.filter((n) => !docker.has(n)), head: t`the other ${total - docker.size} (Docker drops them)` },
  ];
  for (const part of parts) {
    const head = `${g.h}${g.h} ${t`${part.head}: ${tally(part.caps.map((n) => marks[n]!))}`} `;
    // A rule to 60 columns (or the width), the head in it measured in columns.
    lines.push(line(clip(head + g.h.repeat(Math.max(0, Math.min(width, 60) - visible(head))), width, g), { bold: true }));
    for (const text of grid(part.caps, glyph, width, g)) lines.push(line(text));
  }
  return { title, lines, legend };
}
