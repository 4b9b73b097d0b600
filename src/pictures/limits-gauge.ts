// Lesson 8's picture: the group's memory and pids against their limits, as gauges read from
// the group's own cgroup files (through Cgroup, which names them for v1, v2 or hybrid). The
// memory gauge marks the peak the kernel recorded and counts the OOM kills; the pids gauge
// marks its peak and counts the forks the kernel refused. It is live: re-read every
// quarter second, so a learner sees the hog climb to the limit and the count go up.
import fs from 'node:fs';
import path from 'node:path';
import { Cgroup, cgroupFileName, procfs } from '../core/index.js';
import { padColumns, visible } from '../columns.js';
import { t } from '../i18n/messages.js';
import type { Glyphs } from './glyphs.js';
import { clip, gauge, line, type DrawOptions, type Picture, type PictureLine, type PictureSource } from './picture.js';

const MIB = 2 ** 20;
/** How long a count that went up is marked "just now" in a live picture. */
const FRESH_MS = 5000;

/** A controller's directory of the group is not there (yet, or any more). */
interface Missing {
  missing: string;
}

interface MemoryReading {
  dir: string;
  version: 1 | 2;
  current: number;
  /** null: no limit. */
  limit: number | null;
  /** null: the kernel keeps no peak (v2 before 5.19). */
  peak: number | null;
  oomKills: number;
}

interface PidsReading {
  dir: string;
  version: 1 | 2;
  current: number;
  limit: number | null;
  /** null: the kernel keeps no pids.peak (before 6.1). */
  peak: number | null;
  refused: number;
  /** The processes in the group's pids directory: how many, and their names. */
  procs: { count: number; names: string[] };
}

/** What the kernel says of the group now, or why it could not say it. */
export interface LimitsReading {
  group: string;
  /** The machine cannot have the group at all (no memory or pids controller). */
  problem?: string;
  memory: MemoryReading | Missing;
  pids: PidsReading | Missing;
}

const isMissing = (r: MemoryReading | PidsReading | Missing): r is Missing => 'missing' in r;

/** A group that may vanish while it is read (reset, rmdir): its files missing are an ordinary
 * state, said in words, never an error. */
function attempt<T>(dir: string, read: () => T): T | Missing {
  if (!fs.existsSync(dir)) return { missing: t`no group here yet: mkdir ${dir} makes it` };
  try {
    return read();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { missing: e.code === 'ENOENT' ? t`${dir} is not there any more (removed while it was read)` : t`could not read ${dir}: ${e.code ?? e.message}` };
  }
}

/** pids.peak is not one of the files Cgroup maps (its name is the same on v1 and v2, and
 * older kernels lack it): read here, null when absent. */
function pidsPeak(dir: string): number | null {
  try {
    return Number(fs.readFileSync(path.join(dir, 'pids.peak'), 'utf8').trim());
  } catch {
    return null;
  }
}

/** The processes in a group directory, by name in the order first seen, with how many
 * of each: "sh (3), sleep, tail" (a fork bomb's 19 shells fit on one line). */
function procsIn(dir: string): { count: number; names: string[] } {
  let pids: number[];
  try {
    pids = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return { count: 0, names: [] };
  }
  const byName = new Map<string, number>();
  for (const p of pids) {
    const name = procfs.comm(p) ?? '?';
    byName.set(name, (byName.get(name) ?? 0) + 1);
  }
  return { count: pids.length, names: [...byName].map(([name, n]) => (n > 1 ? `${name} (${n})` : name)) };
}

/** Read the group's memory and pids files as they are now. */
export function readLimits(groupName: string): LimitsReading {
  let g: Cgroup;
  try {
    g = new Cgroup(groupName, ['memory', 'pids']);
  } catch (err) {
    const problem = (err as Error).message;
    return { group: groupName, problem, memory: { missing: problem }, pids: { missing: problem } };
  }
  const memDir = g.dirOf('memory');
  const pidsDir = g.dirOf('pids');
  const memory = attempt<MemoryReading>(memDir, () => {
    const s = g.memoryStats();
    return { dir: memDir, version: g.versionOf('memory'), current: s.current, limit: g.memoryLimit(), peak: s.peak, oomKills: s.oomKills };
  });
  const pids = attempt<PidsReading>(pidsDir, () => {
    const s = g.pidsStats();
    return { dir: pidsDir, version: g.versionOf('pids'), current: s.current, limit: g.pidsLimit(), peak: pidsPeak(pidsDir), refused: s.refused, procs: procsIn(pidsDir) };
  });
  return { group: groupName, memory, pids };
}

/** Counts that went up lately (a live picture's memory of its earlier readings). */
export interface Fresh {
  oomKills?: number;
  refused?: number;
}

const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)}`;

/** A gauge with the peak marked in its cell, and the line under it that names the peak and
 * points at that cell: `████░░░│░░` over `peak 64.0 MiB ──┘` (or `└─ peak 2` when the
 * peak is too near the start for its words to fit on its left). */
function gaugeWithPeak(value: number, max: number, peak: number | null, peakLabel: string, width: number, indent: string, g: Glyphs): [string, string | null] {
  const cells = [...gauge(value, max, width, g)];
  if (peak === null) return [indent + cells.join(''), null];
  const at = Math.max(1, Math.min(width, Math.round((peak / (max || 1)) * width))) - 1;
  cells[at] = g.v;
  const left = `${peakLabel} ${g.h}`;
  const under = visible(left) <= at ? left + g.h.repeat(at - visible(left)) + g.br : `${' '.repeat(at)}${g.bl}${g.h} ${peakLabel}`;
  return [indent + cells.join(''), indent + under];
}

/** " (+2 just now)" after a count that went up lately; nothing otherwise. */
const justNow = (fresh: number) => (fresh > 0 ? t` (+${fresh} just now)` : '');

/** In place of a peak line, when the kernel keeps no peak file. */
const noPeak = (file: string) => t`(no ${file} on this kernel: no peak to mark)`;

function memoryLines(m: MemoryReading | Missing, fresh: number, gaugeW: number, g: Glyphs): PictureLine[] {
  if (isMissing(m)) return [line(`  (${m.missing})`, { dim: true })];
  const out: PictureLine[] = [];
  const limitFile = cgroupFileName('memoryMax', m.version);
  if (m.limit === null) {
    out.push(line(`  ${t`${mib(m.current)} MiB in use; no limit (${limitFile}: ${m.version === 2 ? 'max' : t`unlimited`}): nothing to fill`}`, { dim: true }));
  } else {
    const pct = Math.round((m.current / (m.limit || 1)) * 100);
    const peak = mib(m.peak ?? 0);
    const peakLabel = m.peak !== null && m.peak > m.limit ? t`peak ${peak} MiB, above the limit now` : t`peak ${peak} MiB`;
    const [bar, under] = gaugeWithPeak(m.current, m.limit, m.peak, peakLabel, gaugeW, '  ', g);
    out.push(line(`${bar} ${t`${mib(m.current)} of ${mib(m.limit)} MiB`} ${pct}%`, { color: pct >= 90 ? 'red' : pct >= 60 ? 'yellow' : 'green' }));
    if (under) out.push(line(under, { dim: true }));
    else out.push(line(`  ${noPeak(cgroupFileName('memoryPeak', m.version))}`, { dim: true }));
  }
  const kills = m.oomKills;
  out.push(kills > 0 ? line(`  ${g.cut} ${t`OOM kills: ${kills}${justNow(fresh)}: the OOM killer ended a process of the group`}`, { color: 'red', bold: fresh > 0 }) : line(`  ${g.off} ${t`OOM kills: 0: nothing killed yet`}`));
  return out;
}

function pidsLines(p: PidsReading | Missing, fresh: number, gaugeW: number, g: Glyphs): PictureLine[] {
  if (isMissing(p)) return [line(`  (${p.missing})`, { dim: true })];
  const out: PictureLine[] = [];
  if (p.limit === null) {
    out.push(line(`  ${t`${p.current} tasks; no limit (pids.max: max): nothing to fill`}`, { dim: true }));
  } else {
    const pct = Math.round((p.current / (p.limit || 1)) * 100);
    const [bar, under] = gaugeWithPeak(p.current, p.limit, p.peak, t`peak ${p.peak ?? 0}`, gaugeW, '  ', g);
    out.push(line(`${bar} ${t`${p.current} of ${p.limit} tasks`}`, { color: pct >= 90 ? 'red' : pct >= 60 ? 'yellow' : 'green' }));
    if (under) out.push(line(under, { dim: true }));
    else out.push(line(`  ${noPeak('pids.peak')}`, { dim: true }));
  }
  out.push(p.refused > 0 ? line(`  ${g.cut} ${t`forks refused: ${p.refused}${justNow(fresh)}: fork() failed at pids.max`}`, { color: 'red', bold: fresh > 0 }) : line(`  ${g.off} ${t`forks refused: 0: none yet`}`));
  const names = p.procs.names.join(', ');
  const procs = p.procs.count === 1 ? t`1 process (cgroup.procs): ${names}` : t`${p.procs.count} processes (cgroup.procs): ${names}`;
  out.push(line(`  ${p.procs.count ? procs : t`no process in it (cgroup.procs)`}`, { dim: true }));
  return out;
}

/** The picture of one reading; `fresh`: counts that went up lately, marked "just now". */
export function drawLimits(r: LimitsReading, { width, glyphs: g }: DrawOptions, fresh: Fresh = {}): Picture {
  // The gauge leaves room for its numbers ("  63.9 of 64.0 MiB 100%") within the width.
  const gaugeW = Math.max(10, Math.min(60, width - 2 - 24));
  const lines: PictureLine[] = [];
  if (r.problem) {
    lines.push(line(`(${r.problem})`, { dim: true }));
  } else {
    // memory and pids: the controllers' names, as the kernel spells them.
    const head = (what: string, x: MemoryReading | PidsReading | Missing) => line(isMissing(x) ? what : `${padColumns(what, 7)} ${x.dir} (cgroup v${x.version})`, { bold: true });
    lines.push(head('memory', r.memory), ...memoryLines(r.memory, fresh.oomKills ?? 0, gaugeW, g));
    lines.push(head('pids', r.pids), ...pidsLines(r.pids, fresh.refused ?? 0, gaugeW, g));
  }
  // The files each number comes from, named as this machine's cgroup version names them.
  const memV = isMissing(r.memory) ? null : r.memory.version;
  const files = memV ? [t`memory: ${cgroupFileName('memoryCurrent', memV)} of ${cgroupFileName('memoryMax', memV)}`, t`peak ${cgroupFileName('memoryPeak', memV)}`, t`OOM kills: oom_kill in ${cgroupFileName('memoryEvents', memV)}`] : [];
  return {
    title: t`memory and pids of the group "${r.group}", live`,
    lines: lines.map((l) => ({ ...l, text: clip(l.text, width, g) })),
    legend: [t`${g.full} in use`, t`${g.empty} room left`, t`${g.v} peak`, t`${g.cut} the kernel acted`, t`${g.off} not yet`, ...files, t`pids: pids.current of pids.max`, t`peak ${'pids.peak'}`, t`forks refused: max in pids.events`],
  };
}

/** Lesson 8's live picture: re-read every quarter second; a count that went up since an
 * earlier reading is marked "just now" for a few seconds. */
export function limitsGauge(groupName: string): PictureSource {
  // The counts of the last reading; null where the group was not there (a group made anew
  // starts from what its first reading says, nothing marked).
  const last: Record<keyof Fresh, number | null> = { oomKills: null, refused: null };
  const fresh: Record<keyof Fresh, { n: number; at: number }> = { oomKills: { n: 0, at: 0 }, refused: { n: 0, at: 0 } };
  const note = (key: keyof Fresh, now: number | null, t: number) => {
    const was = last[key];
    // A count below the last one is a group made again: nothing went up.
    if (now !== null && was !== null && now > was) fresh[key] = { n: (t - fresh[key].at < FRESH_MS ? fresh[key].n : 0) + now - was, at: t };
    last[key] = now;
  };
  const shown = (key: keyof Fresh, t: number) => (t - fresh[key].at < FRESH_MS ? fresh[key].n : 0);
  return {
    everyMs: 250,
    async draw(opts) {
      const r = readLimits(groupName);
      const t = Date.now();
      note('oomKills', isMissing(r.memory) ? null : r.memory.oomKills, t);
      note('refused', isMissing(r.pids) ? null : r.pids.refused, t);
      return drawLimits(r, opts, { oomKills: shown('oomKills', t), refused: shown('refused', t) });
    },
  };
}
