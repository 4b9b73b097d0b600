// Lesson 1's picture: the union as a grid. Layers are rows, top first, in the order the
// kernel got them (the overlay mount's options in mountinfo); file names are columns; each
// cell says whether the layer has the name, and which layer the name in merged comes from.
import fs from 'node:fs';
import path from 'node:path';
import { padColumns, visible } from '../columns.js';
import { isWhiteout, procfs } from '../core/index.js';
import { t } from '../i18n/messages.js';
import { cell, clip, line, type DrawOptions, type Picture, type PictureLine } from './picture.js';

export interface UnionDirs {
  /** Where relative layer paths in the mount's options start (the lesson's directory). */
  base: string;
  merged: string;
  /** The layers when nothing is mounted at merged: upper, then the lowers top first. */
  upper: string;
  lowers: string[];
}

interface Layer {
  label: string;
  dir: string;
  kind: 'upper' | 'lower';
}

type Presence = 'file' | 'whiteout' | null;

function presence(dir: string, name: string): Presence {
  try {
    const st = fs.lstatSync(path.join(dir, name));
    return isWhiteout(st) ? 'whiteout' : 'file';
  } catch {
    return null;
  }
}

function names(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The overlay mounted at merged, top of the stack (a learner may have mounted twice). */
function mountAt(merged: string): procfs.MountInfo | undefined {
  return procfs
    .readMountinfo()
    .filter((m) => m.mountPoint === merged)
    .at(-1);
}

export function drawUnion(d: UnionDirs, { width, glyphs: g }: DrawOptions): Picture {
  const m = mountAt(d.merged);
  const overlay = m?.fstype === 'overlay' ? m : undefined;
  const resolve = (p: string) => path.resolve(d.base, p);
  const rel = (p: string) => (path.isAbsolute(p) ? path.relative(d.base, p) || '.' : p.replace(/^\.\//, ''));
  let layers: Layer[];
  if (overlay) {
    const upper = procfs.mountOption(overlay, 'upperdir');
    const lowers = (procfs.mountOption(overlay, 'lowerdir') ?? '').split(':').filter(Boolean);
    layers = [...(upper ? [{ label: rel(upper), dir: resolve(upper), kind: 'upper' as const }] : []), ...lowers.map((l) => ({ label: rel(l), dir: resolve(l), kind: 'lower' as const }))];
  } else {
    layers = [{ label: rel(d.upper), dir: d.upper, kind: 'upper' }, ...d.lowers.map((l) => ({ label: rel(l), dir: l, kind: 'lower' as const }))];
  }
  const inMerged = overlay ? new Set(names(d.merged)) : new Set<string>();
  const all = [...new Set([...layers.flatMap((l) => names(l.dir)), ...inMerged])].sort();

  // Which layer each name in merged comes from: the topmost that has it, unless a whiteout
  // in a layer above hides it (then merged has no such name).
  const grid = layers.map((l) => all.map((n) => presence(l.dir, n)));
  const source = all.map((n, j) => {
    if (!inMerged.has(n)) return -1;
    const i = grid.findIndex((row) => row[j] !== null);
    return grid[i]?.[j] === 'file' ? i : -1;
  });

  // Rows are numbered: merged's row names the layer each of its files comes from by number.
  // Widths are in terminal columns (a wide character in a name takes two).
  const labelOf = (l: Layer, i: number) => `${i + 1} ${l.label}`;
  const labelW = Math.min(16, Math.max(8, ...layers.map((l, i) => visible(labelOf(l, i)))));
  const colW = Math.max(3, ...all.map((n) => Math.min(visible(n), 10))) + 1;
  const room = Math.max(1, Math.floor((width - labelW - 2) / colW));
  const shown = all.length > room ? room - 1 : all.length;
  const more = all.length - shown;
  const cols = all.slice(0, shown);
  const tail = more > 0 ? ` +${more}` : '';

  const lines: PictureLine[] = [];
  lines.push(line(clip(' '.repeat(labelW + 2) + cols.map((n) => cell(n, colW - 1, g) + ' ').join('') + tail, width, g), { bold: true }));
  layers.forEach((l, i) => {
    const marks = cols.map((_, j) => {
      const p = grid[i]![j];
      // Mounted: filled for the copy merged shows, hollow for one hidden. Not mounted, there
      // is no merged: filled for every file a layer has.
      const mark = p === 'whiteout' ? g.cut : p === 'file' ? (!overlay || source[j] === i ? g.on : g.off) : g.none;
      return padColumns(mark, colW);
    });
    lines.push(line(clip(`${cell(labelOf(l, i), labelW, g)}  ${marks.join('')}`.trimEnd(), width, g), { color: l.kind === 'upper' ? 'yellow' : undefined }));
  });
  lines.push(line(g.h.repeat(Math.min(width, labelW + 2 + cols.length * colW))));
  if (overlay) {
    const marks = cols.map((n, j) => padColumns(inMerged.has(n) ? (source[j]! >= 0 ? String(source[j]! + 1) : '?') : g.none, colW));
    lines.push(line(clip(`${cell('merged', labelW, g)}  ${marks.join('')}`.trimEnd(), width, g), { bold: true, color: 'green' }));
  } else {
    lines.push(line(clip(`${cell('merged', labelW, g)}  ${t`(nothing is mounted there yet)`}`, width, g), { dim: true }));
  }
  if (!all.length) lines.push(line(clip(t`(the layers hold no files yet)`, width, g), { dim: true }));
  return {
    title: overlay ? t`the union at ${rel(d.merged)}: layers top first, as mountinfo lists them` : t`the layers (not mounted yet)`,
    lines,
    legend: overlay
      ? [t`${g.on} merged shows this one`, t`${g.off} hidden by a layer above`, t`${g.cut} whiteout (deleted)`, t`${g.none} absent`, t`merged: the layer (row number) each name comes from`]
      : [t`${g.on} the layer has it`, t`${g.cut} whiteout`, t`${g.none} absent`],
  };
}
