// Showing how far long work is (progress.ts): in words, and on a terminal. On a TTY a bar on
// one line redrawn in place (\r), or a few lines of a step's output redrawn in place; without
// one (a pipe, a log file) plain lines: one at the end of each phase, and one every few
// seconds of a long phase, so that a log shows a 4 GB import moving and is not flooded.
import { stripVTControlCharacters } from 'node:util';
import { t } from './i18n/messages.js';
import type { WorkProgress } from './progress.js';
import { headColumns } from './columns.js';

/** Bytes as people read them: 512 B, 12.3 kB, 340 MB, 4.5 GB (powers of 1000, as df -H). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** 126000 -> "126,000". */
const count = (n: number) => n.toLocaleString('en-US');

/** How far it is, as a fraction (0-1), when that is known. */
export function progressFraction(p: WorkProgress): number | undefined {
  if (p.kind === 'rootfs') return p.total ? p.copied / p.total : undefined;
  if (p.kind === 'layer' && p.reused) return 1;
  return p.totalBytes ? Math.min(1, p.bytes / p.totalBytes) : undefined;
}

/** One line that says how far it is. */
export function progressText(p: WorkProgress): string {
  switch (p.kind) {
    case 'archive':
      return p.done ? t`archive unpacked: ${formatBytes(p.totalBytes)}, ${count(p.files)} files` : t`unpacking the archive: ${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}, ${count(p.files)} files`;
    case 'layer':
      if (p.reused) return t`layer ${p.layer} of ${p.layers}: already in the store`;
      return p.done ? t`layer ${p.layer} of ${p.layers}: unpacked ${formatBytes(p.totalBytes)}, ${count(p.files)} files` : t`layer ${p.layer} of ${p.layers}: ${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}, ${count(p.files)} files`;
    case 'rootfs':
      return p.done ? t`root filesystem built: ${p.total} programs copied` : t`building the root filesystem: ${p.copied} of ${p.total} programs copied (${p.tool})`;
  }
}

/** A line a command printed, as one row of text: no colours, cursor moves or control
 * characters (they would break a count of rows drawn), tabs as spaces. */
export function plainLine(text: string): string {
  return stripVTControlCharacters(text)
    .replace(/\t/g, '    ')
    .replace(/[\x00-\x1f\x7f]/g, '');
}

/** [#######-------] */
export function bar(fraction: number, width: number): string {
  const inner = Math.max(1, width - 2);
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * inner);
  return `[${'#'.repeat(full)}${'-'.repeat(inner - full)}]`;
}

/** Where the view writes: a stream, and whether it is a terminal (and how wide). */
export interface Terminal {
  write(s: string): void;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/** How often a TTY redraw may happen, and a plain line be printed in a long phase. */
const REDRAW_MS = 100;
const PLAIN_EVERY_MS = 5000;

/** The progress of one piece of work on a terminal: a bar redrawn on one line on a TTY,
 * plain lines without one. end() leaves the terminal at the start of a clean line. */
export class ProgressView {
  private lastDraw = 0;
  /** When the phase under way last printed (or began), without a TTY. */
  private phaseClock: number | null = null;
  private drawn = false;

  constructor(
    private readonly term: Terminal,
    private readonly now: () => number = () => performance.now(),
  ) {}

  update(p: WorkProgress): void {
    const now = this.now();
    if (this.term.isTTY) {
      if (!p.done && now - this.lastDraw < REDRAW_MS) return;
      this.lastDraw = now;
      const width = Math.max(20, (this.term.columns || 80) - 1);
      const fraction = progressFraction(p);
      const text = progressText(p);
      const withBar = fraction === undefined ? text : `${bar(fraction, Math.min(30, Math.floor(width / 3)))} ${text}`;
      // A phase that ends keeps its line; the next one draws below it.
      this.term.write(`\r\x1b[K${headColumns(withBar, width)}${p.done ? '\n' : ''}`);
      this.drawn = !p.done;
      return;
    }
    // Plain: the end of each phase, and a line now and then during a long one (its first
    // news only starts the clock: a short phase prints its end alone).
    if (p.done) {
      this.phaseClock = null;
      this.term.write(`${progressText(p)}\n`);
    } else if (this.phaseClock === null) this.phaseClock = now;
    else if (now - this.phaseClock >= PLAIN_EVERY_MS) {
      this.phaseClock = now;
      this.term.write(`${progressText(p)}\n`);
    }
  }

  /** Clear a bar left half-drawn (the work failed, or ended without a last report). */
  end(): void {
    if (this.drawn) this.term.write('\r\x1b[K');
    this.drawn = false;
  }
}

/** The last lines a step printed, redrawn in place under what was printed before them, while
 * it runs (a TTY only); clear() removes them, for the step's whole output to take their place. */
export class LiveTail {
  private lines: string[] = [];
  private status = '';
  private shown = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly term: Terminal,
    private readonly indent = '    ',
    private readonly keep = 6,
  ) {}

  line(text: string): void {
    this.lines.push(plainLine(text));
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
    this.schedule();
  }

  progress(p: WorkProgress): void {
    const fraction = progressFraction(p);
    this.status = fraction === undefined ? progressText(p) : `${bar(fraction, 22)} ${progressText(p)}`;
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.draw();
    }, 50);
  }

  private erase(): void {
    // Up to the first line drawn, and everything below it away.
    if (this.shown) this.term.write(`\x1b[${this.shown}F\x1b[J`);
    this.shown = 0;
  }

  private draw(): void {
    this.erase();
    const width = Math.max(20, (this.term.columns || 80) - 1);
    // Never taller than the screen: a line scrolled off could not be erased.
    const room = Math.max(1, Math.min(this.keep, (this.term.rows || 24) - 3));
    const rows = [...this.lines, ...(this.status ? [this.status] : [])].slice(-room);
    // One row each (cut, never wrapped): the erase counts rows.
    this.term.write(rows.map((r) => `${headColumns(this.indent + r, width)}\n`).join(''));
    this.shown = rows.length;
  }

  /** Print `text` (whole lines) where the tail is, and the tail again below it. */
  above(text: string): void {
    const drawn = this.shown > 0;
    this.erase();
    this.term.write(text);
    if (drawn) this.draw();
  }

  /** Remove what is shown; the tail starts empty again. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.erase();
    this.lines = [];
    this.status = '';
  }
}
