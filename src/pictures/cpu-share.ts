// Lesson 2's picture: the busy loop's CPU share as a live sparkline, a sample every 100 ms
// from the kernel's per-task CPU counters (/proc/<pid>/schedstat, what the check measures),
// with the moment the loop came under the quota and the check's measuring window marked,
// and the group's nr_throttled beside it.
import { visible } from '../columns.js';
import { procfs, type Cgroup } from '../core/index.js';
import { t } from '../i18n/messages.js';
import { cell, clip, line, sparkline, type DrawOptions, type Picture, type PictureLine, type PictureSource } from './picture.js';

export interface CpuShareSubject {
  /** The group and its name as the text calls it; null while it cannot be read (no group). */
  group(): Cgroup | null;
  name: string;
  /** Processes to follow before they are in the group (the workbook's busy loop). */
  outside(): number[];
}

export interface Sample {
  /** Percent of one CPU used by the followed processes since the sample before. */
  percent: number;
  /** Every followed process was in the group and the group had a quota. */
  limited: boolean;
  /** A check was measuring. */
  checking: boolean;
  /** How many processes were followed (none: a gap in the line). */
  followed: number;
  nrThrottled: number | null;
}

const SAMPLE_MS = 100;
/** History kept: five minutes, a learner may read that long between two steps. */
const KEEP = 3000;
/** How often to look for followed processes outside the group (a scan of /proc). */
const SCAN_EVERY = 2;

function safely<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

/** The live source: samples while open, draws the last samples that fit. */
export function cpuSharePicture(subject: CpuShareSubject, sampleMs = SAMPLE_MS): PictureSource {
  const samples: Sample[] = [];
  /** Each followed pid's CPU time at the last sample. */
  let last = new Map<number, number>();
  let lastAt = process.hrtime.bigint();
  let outside: number[] = [];
  let tick = 0;
  let checking = false;
  let wasLimited = false;
  // Averages over every sample seen, not only those kept: the share before the quota is the
  // point of the picture, and a learner may read for minutes between two steps.
  const before = { sum: 0, n: 0 };
  const after = { sum: 0, n: 0 };

  const sample = () => {
    const g = subject.group();
    const members = (g && safely(() => g.procs())) ?? [];
    if (tick++ % SCAN_EVERY === 0) outside = safely(() => subject.outside()) ?? [];
    const pids = [...new Set([...members, ...outside])];
    const now = process.hrtime.bigint();
    const cpu = new Map<number, number>();
    for (const p of pids) {
      const ns = procfs.processCpuNs(p);
      if (ns !== null) cpu.set(p, ns);
    }
    // Only processes seen at both ends count: one that just appeared has no start yet.
    let used = 0;
    let followed = 0;
    for (const [p, ns] of cpu) {
      const was = last.get(p);
      if (was === undefined) continue;
      used += ns - was;
      followed++;
    }
    const elapsed = Number(now - lastAt);
    last = cpu;
    lastAt = now;
    const quota = g ? safely(() => g.cpuLimit().quotaUs) : null;
    const limited = followed > 0 && quota !== null && [...cpu.keys()].every((p) => members.includes(p));
    // A sample whose interval began on the other side (the loop moved in, or the quota set,
    // within it) belongs to neither share: it holds some of each.
    const whole = limited === wasLimited;
    wasLimited = limited;
    const percent = elapsed > 0 ? (used / elapsed) * 100 : 0;
    samples.push({ percent, limited, checking, followed, nrThrottled: g ? (safely(() => g.cpuStat().nrThrottled) ?? null) : null });
    if (samples.length > KEEP) samples.shift();
    if (followed && whole) {
      const acc = limited ? after : before;
      acc.sum += percent;
      acc.n++;
    }
  };
  const timer = setInterval(sample, sampleMs);
  timer.unref();
  sample();

  return {
    everyMs: 250,
    settleMs: 20 * sampleMs,
    checking: (on) => {
      checking = on;
    },
    draw: async (opts) => drawCpuShare(samples, { name: subject.name, before: before.n ? before.sum / before.n : null, after: after.n ? after.sum / after.n : null, sampleMs }, opts),
    close: () => clearInterval(timer),
  };
}

const pct = (x: number) => `${Math.round(x)} %`;
/** The mark under the line where the loop came under the quota. */
const CAME_UNDER = '^';

/** A column of the sparkline: one sample, or several averaged when the history is longer
 * than the line. */
interface Column {
  percent: number;
  followed: number;
  checking: boolean;
  /** The loop came under the quota in this column. */
  cameUnder: boolean;
  samples: number;
}

/** The history from the first sample that followed anything, in at most `cols` columns:
 * the newest at the right, each column as many samples as it takes for all to fit (so the
 * share before the quota stays in sight however long the learner read). */
export function columns(samples: Sample[], cols: number): Column[] {
  const start = samples.findIndex((s) => s.followed);
  const history = start < 0 ? samples.slice(-cols) : samples.slice(start);
  const per = Math.max(1, Math.ceil(history.length / cols));
  const cameUnder = history.map((s, i) => i > 0 && s.limited && !history[i - 1]!.limited);
  const out: Column[] = [];
  for (let end = history.length; end > 0; end -= per) {
    const from = Math.max(0, end - per);
    const group = history.slice(from, end);
    const followed = group.filter((s) => s.followed);
    out.unshift({
      percent: followed.length ? followed.reduce((n, s) => n + s.percent, 0) / followed.length : 0,
      followed: Math.max(0, ...group.map((s) => s.followed)),
      checking: group.some((s) => s.checking),
      cameUnder: cameUnder.slice(from, end).some(Boolean),
      samples: group.length,
    });
  }
  return out;
}

export function drawCpuShare(samples: Sample[], info: { name: string; before: number | null; after: number | null; sampleMs: number }, { width, glyphs: g }: DrawOptions): Picture {
  const axis = 6;
  const latest = samples.slice(-5);
  const latestFollowed = latest.filter((x) => x.followed);
  const now = latestFollowed.length ? latestFollowed.reduce((s, x) => s + x.percent, 0) / latestFollowed.length : 0;
  const tail = `  ${t`now ${pct(now)}`}`;
  // In terminal columns: the words after the line may be Chinese (two columns a character).
  const cols = Math.max(10, width - axis - 1 - visible(tail));
  const shown = columns(samples, cols);
  // One CPU is the top unless the group clearly uses more (a sample runs a few % over from
  // timer jitter; several loops can use several CPUs).
  const most = Math.max(0, ...shown.map((s) => s.percent));
  const top = most > 110 ? Math.ceil(most / 100) * 100 : 100;
  const lines: PictureLine[] = [];
  if (shown.every((s) => !s.followed)) {
    lines.push(line(clip(t`(nothing busy to follow yet: the loop of step 3, or what is in "${info.name}")`, width, g), { dim: true }));
  }
  const spark = shown.map((s) => (s.followed ? sparkline([s.percent], top, g) : ' ')).join('');
  // Under the line: where the loop came under the quota (^), the check's window (the rule).
  const marks = shown.map((s) => (s.cameUnder ? CAME_UNDER : s.checking ? g.h : ' '));
  lines.push(line(clip(`${cell(pct(top), axis - 1, g).padStart(axis - 1)} ${g.v}${spark}${tail}`, width, g), { bold: true }));
  lines.push(line(clip(`${'0 %'.padStart(axis - 1)} ${g.v}${marks.join('').trimEnd()}`, width, g), { color: 'yellow' }));
  const throttled = samples.at(-1)?.nrThrottled;
  const earlier = samples.at(-Math.min(samples.length, Math.round(1000 / info.sampleMs)))?.nrThrottled;
  const parts = [
    info.before !== null ? t`before the quota: ${pct(info.before)}` : null,
    info.after !== null ? t`under the quota: ${pct(info.after)}` : null,
    throttled !== null && throttled !== undefined ? `nr_throttled ${throttled}${earlier !== null && earlier !== undefined && throttled > earlier ? ` ${t`(+${throttled - earlier} in 1 s)`}` : ''}` : null,
  ].filter((x): x is string => !!x);
  if (parts.length) lines.push(line(clip(parts.join('   '), width, g)));
  const seconds = Math.max(1, Math.round((shown.reduce((n, c) => n + c.samples, 0) * info.sampleMs) / 1000));
  return {
    title: t`CPU share of the busy loop, the last ${seconds} s, newest right`,
    lines,
    // A mark's key only when the line shows it (solve's picture often begins with the loop
    // already in the group, and a picture drawn before any check has no window).
    legend: [
      ...(shown.some((c) => c.cameUnder) ? [t`${CAME_UNDER} the loop came under the quota (in "${info.name}", quota set)`] : []),
      ...(shown.some((c) => c.checking) ? [t`${g.h} the check was measuring`] : []),
      t`${g.bars[g.bars.length - 1]} = ${pct(top)} of one CPU`,
    ],
  };
}
