// What a lesson's picture is: lines drawn from the kernel's state as it is now (never from
// what the workbook believes it made), a title, and a legend for its marks. The TUI shows a
// lesson's picture at the end of its Work pane, redrawn after each step and check (and
// every `everyMs` for a live one); `container-lessons picture N` prints it.
import type { Lab } from '../lab.js';
import type { Glyphs } from './glyphs.js';
import { headColumns, padColumns, visible } from '../columns.js';
import { t } from '../i18n/messages.js';
import { idleHelpers } from '../core/helper-pool.js';

export interface PictureLine {
  text: string;
  color?: 'green' | 'red' | 'yellow' | 'cyan' | 'blue' | 'magenta';
  bold?: boolean;
  dim?: boolean;
  /** The work pane's mark on a picture's first line (p scrolls there). */
  picture?: boolean;
}

export interface Picture {
  title: string;
  /** The drawing; no line wider than the width it was drawn for. */
  lines: PictureLine[];
  /** What the marks mean, one entry each ("● the file merged shows"). */
  legend: string[];
}

export interface DrawOptions {
  width: number;
  glyphs: Glyphs;
}

/** A lesson's picture while the lesson is shown: made when the lesson is opened, drawn when
 * something may have changed, closed when the lesson is left. */
export interface PictureSource {
  /** Redraw this often while shown (REDRAW_MS; a live picture more often). */
  everyMs?: number;
  /** A live picture has something to show only after sampling this long. */
  settleMs?: number;
  draw(opts: DrawOptions): Promise<Picture>;
  /** A check is reading the kernel (true) or done (false): a live picture marks its window. */
  checking?(on: boolean): void;
  /** Stop sampling; draw is not called after. */
  close?(): void;
}

/** How often a picture is drawn again while shown: what a learner does by hand in another
 * terminal shows within a second. */
export const REDRAW_MS = 1000;

/** A picture drawn anew from the kernel at each call, with nothing kept between calls. */
export function stillPicture(draw: (lab: Lab, opts: DrawOptions) => Picture | Promise<Picture>): (lab: Lab) => PictureSource {
  return (lab) => ({ everyMs: REDRAW_MS, draw: async (opts) => draw(lab, opts) });
}

export const line = (text: string, style: Omit<PictureLine, 'text'> = {}): PictureLine => ({ text, ...style });

/** Cut a string to `width` columns, ending in the ellipsis when cut. (Not named fit:
 * biome takes a call of fit() for a focused test.) */
export function clip(text: string, width: number, g: Glyphs): string {
  if (visible(text) <= width) return text;
  if (width <= g.ellipsis.length) return headColumns(text, Math.max(0, width));
  return headColumns(text, width - g.ellipsis.length) + g.ellipsis;
}

/** Pad or cut to exactly `width` columns. */
export function cell(text: string, width: number, g: Glyphs): string {
  return padColumns(clip(text, width, g), width);
}

/** A box around lines: a title in its top edge, lines padded to the inner width. */
export function box(title: string, inner: string[], g: Glyphs, width?: number): string[] {
  const w = width ?? Math.max(visible(title) + 2, ...inner.map(visible)) + 2;
  const innerW = Math.max(1, w - 2);
  const head = title ? `${g.h}${clip(` ${title} `, innerW - 1, g)}` : '';
  return [g.tl + head + g.h.repeat(Math.max(0, innerW - visible(head))) + g.tr, ...inner.map((l) => g.v + cell(l, innerW, g) + g.v), g.bl + g.h.repeat(innerW) + g.br];
}

/** How boxes of these widths share rows when set side by side in `width` columns, one
 * space between: each row's boxes by their index, as many on a row as fit. */
function rowsOfBoxes(widths: number[], width: number): number[][] {
  const rows: number[][] = [];
  let used = 0;
  widths.forEach((w, i) => {
    const row = rows.at(-1);
    if (row && used + 1 + w <= width) {
      row.push(i);
      used += 1 + w;
    } else {
      rows.push([i]);
      used = w;
    }
  });
  return rows;
}

/** Boxes side by side (rowsOfBoxes), rows of boxes one under the other; each box is a list
 * of lines of one width. Each output line names the row of boxes and the line in it. */
export function besidesWith<B>(boxes: B[], width: number, box: { lines: (b: B) => string[]; width: (b: B) => number }): Array<{ text: string; row: B[]; line: number }> {
  const out: Array<{ text: string; row: B[]; line: number }> = [];
  for (const indexes of rowsOfBoxes(boxes.map(box.width), width)) {
    const row = indexes.map((i) => boxes[i]!);
    const h = Math.max(0, ...row.map((b) => box.lines(b).length));
    for (let i = 0; i < h; i++)
      out.push({
        text: row
          .map((b) => padColumns(box.lines(b)[i] ?? '', box.width(b)))
          .join(' ')
          .trimEnd(),
        row,
        line: i,
      });
  }
  return out;
}

/** Boxes side by side, as many on a row as fit in `width` (one space between), rows of
 * boxes one under the other; each box is a list of lines of one width. */
export function besides(boxes: string[][], width: number): string[] {
  return besidesWith(boxes, width, { lines: (b) => b, width: (b) => visible(b[0] ?? '') }).map((l) => l.text);
}

/** A sparkline of values between 0 and max, one character each. */
export function sparkline(values: number[], max: number, g: Glyphs): string {
  const top = g.bars.length - 1;
  return values.map((v) => g.bars[Math.max(0, Math.min(top, Math.round((v / (max || 1)) * top)))]).join('');
}

/** A gauge `width` cells long, filled to value/max. */
export function gauge(value: number, max: number, width: number, g: Glyphs): string {
  const n = Math.max(0, Math.min(width, Math.round((value / (max || 1)) * width)));
  return g.full.repeat(n) + g.empty.repeat(width - n);
}

/** Lines of a tree: each node's children drawn under it with branches. */
export interface TreeNode {
  label: string;
  style?: Omit<PictureLine, 'text'>;
  children?: TreeNode[];
}

export function tree(roots: TreeNode[], g: Glyphs, width: number): PictureLine[] {
  const out: PictureLine[] = [];
  const walk = (n: TreeNode, prefix: string, lead: string) => {
    out.push({ text: clip(prefix + lead + n.label, width, g), ...n.style });
    const kids = n.children ?? [];
    const next = prefix + (lead === '' ? '' : lead === g.lastBranch ? ' '.repeat(g.lastBranch.length) : g.stem);
    for (const [i, k] of kids.entries()) walk(k, next, i === kids.length - 1 ? g.lastBranch : g.branch);
  };
  for (const r of roots) walk(r, '', '');
  return out;
}

/** The legend's entries packed into lines of `width`, three spaces between entries. */
export function legendLines(legend: string[], width: number, g: Glyphs): string[] {
  const out: string[] = [];
  let cur = '';
  for (const e of legend) {
    const next = cur ? `${cur}   ${e}` : e;
    if (cur && visible(next) > width) {
      out.push(cur);
      cur = clip(e, width, g);
    } else cur = clip(next, width, g);
  }
  if (cur) out.push(cur);
  return out;
}

/** A picture's whole lines: its title on a rule, the drawing, the legend. */
export function pictureLines(p: Picture, width: number, g: Glyphs): PictureLine[] {
  const head = clip(`${g.h}${g.h} ${p.title} `, width, g);
  return [
    line(head + g.h.repeat(Math.max(0, Math.min(width, 60) - visible(head))), { bold: true, color: 'cyan' }),
    ...p.lines.map((l) => ({ ...l, text: clip(l.text, width, g) })),
    ...legendLines(p.legend, width, g).map((t) => line(t, { dim: true })),
  ];
}

/** Draw, turning a failure into a picture that says what went wrong (a picture is never
 * worth a crash: the kernel's state may change under it at any moment). */
export async function drawSafely(source: PictureSource, opts: DrawOptions): Promise<Picture> {
  try {
    // No keypress waits for a picture: it leaves the helpers started ahead to the steps.
    return await idleHelpers.background(() => source.draw(opts));
  } catch (err) {
    return { title: t`the picture`, lines: [line(t`could not draw it: ${(err as Error).message}`, { color: 'red' })], legend: [] };
  }
}

/** A picture as plain text for a report (solve, picture). */
export function pictureText(p: Picture, width: number, g: Glyphs): string {
  return pictureLines(p, width, g)
    .map((l) => l.text)
    .join('\n');
}

/** A lesson's picture opened for one report later: it samples from the moment it is opened, as
 * the TUI's does while the lesson is shown. solve opens it when the lesson starts, so a live
 * one (the CPU share) has seen the steps and the checks by the time it is drawn. */
export interface OpenPicture {
  /** How long a live picture must sample before it has something to show (settleMs). */
  readonly settleMs: number;
  /** A check is reading the kernel (PictureSource.checking). */
  checking(on: boolean): void;
  /** Draw it now, then close it. */
  draw(opts: DrawOptions): Promise<Picture>;
  close(): void;
}

export function openPicture(open: (lab: Lab) => PictureSource, lab: Lab): OpenPicture {
  const source = open(lab);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    source.close?.();
  };
  return {
    settleMs: source.settleMs ?? 0,
    checking: (on) => source.checking?.(on),
    async draw(opts) {
      try {
        return await drawSafely(source, opts);
      } finally {
        close();
      }
    },
    close,
  };
}

/** A lesson's picture drawn once, for a report: opened, given its settling time, drawn and
 * closed. */
export async function drawOnce(open: (lab: Lab) => PictureSource, lab: Lab, opts: DrawOptions): Promise<Picture> {
  const picture = openPicture(open, lab);
  if (picture.settleMs) await new Promise((r) => setTimeout(r, picture.settleMs));
  return picture.draw(opts);
}
