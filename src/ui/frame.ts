// The workbook's frame as plain text: where its parts go for a terminal size, and what the
// header and the footer say, as styled pieces. The first frame (firstFrameText) is drawn
// from these and written straight to the terminal while ink, React and yoga are still
// loading, so that the lesson's text is on screen without waiting for them; ink's screens
// draw the same (Header.tsx from these pieces), and ink's own first frame replaces this one
// in place (takeOverFirstFrame).
import chalk from 'chalk';
import type { Lesson } from '../lessons/index.js';
import { runOf, type UiState, type WorkbookStore } from './store.js';
import { cutToColumns, visible } from '../columns.js';
import { t, tr } from '../i18n/messages.js';
import { fitColumns } from './reflow.js';

export const MIN_COLUMNS = 60;
export const MIN_ROWS = 16;
const HEADER_ROWS = 3;
const FOOTER_ROWS = 2;

/** The terminal's size (80x24 when it does not say). */
export const terminalSize = (stdout: NodeJS.WriteStream) => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });

/** The screen's parts for a terminal of columns x rows: the whole frame's height (one row
 * short: ink redraws in place only while its frame is shorter than the terminal), the
 * lesson body's height, and the width text is laid out to (one column short of the edge). */
export function screenLayout(columns: number, rows: number): { height: number; bodyHeight: number; width: number } {
  const height = Math.max(1, rows - 1);
  return { height, bodyHeight: Math.max(1, height - HEADER_ROWS - FOOTER_ROWS), width: Math.max(20, columns - 1) };
}

/** A run of text with one style, as ink's <Text> props name them. */
export interface Piece {
  text: string;
  inverse?: boolean;
  bold?: boolean;
  dim?: boolean;
  color?: 'green' | 'red' | 'yellow';
}

const MARK = { passed: '✔', open: '○', locked: '🔒' } as const;

/** The header's three rows: the title bar, the lessons with their state, the panes and the
 * lesson's progress. */
export function headerRows(store: WorkbookStore, state: UiState, width: number, color: boolean): Piece[][] {
  const lesson: Lesson = store.lesson;
  const run = runOf(state, lesson);
  const done = run.steps.filter((s) => s.status === 'done').length;
  const title = ` container-lessons · ${lesson.number}/${store.lessons.length} ${tr(lesson.title)} `;
  const checks = run.checks ? (run.passedNow ? t`passed` : t`failed`) : t`not run`;
  const tabs = store.lessons.map((l, i): Piece => {
    const st = store.lessonState(i);
    const current = i === state.index;
    return {
      text: current ? ` ${MARK[st]} ${l.number} ${l.id} ` : ` ${MARK[st]} ${l.number} `,
      inverse: current,
      bold: current,
      dim: st === 'locked' && !current,
      color: color && st === 'passed' ? 'green' : undefined,
    };
  });
  const text = state.pane === 'text';
  return [
    [{ text: fitColumns(title, width), inverse: true, bold: true }],
    tabs,
    [
      { text: ` ${t`Text`} `, inverse: text, bold: text },
      { text: ' ' },
      { text: ` ${t`Work`} `, inverse: !text, bold: !text },
      { text: `  ${t`steps ${done}/${run.steps.length} · checks: ${checks}`}${state.passed[lesson.id] ? ` · ${t`lesson passed`}` : ''}`, dim: true },
    ],
  ];
}

/** The first line shown when a window of `height` lines over `total` starts at `offset`. */
export function clampOffset(total: number, offset: number, height: number): number {
  return Math.min(Math.max(0, offset), Math.max(0, total - height));
}

/** Where the window is in the text ("1-18/213"), or nothing when all of it is shown. */
export function scrollInfo(total: number, offset: number, height: number): string {
  if (total <= height) return '';
  const start = clampOffset(total, offset, height);
  return `${start + 1}-${Math.min(total, start + height)}/${total}`;
}

/** The keys line: all of them when they fit, the essential ones when not. */
export function keysLine(width: number): string {
  const all = t`Enter next · c check · s shell · h hint · ←→ lesson · Tab text/work · ? help · q quit`;
  return width >= visible(all) ? all : t`Enter next · c check · s shell · ? help · q quit`;
}

/** The footer's two rows: a line for the learner (cut to fit, the scroll position at the
 * right edge), and the keys. */
export function footerRows(line: { text: string; color?: Piece['color']; bold: boolean }, scroll: string, width: number, color: boolean): Piece[][] {
  const room = Math.max(0, width - (scroll ? visible(scroll) + 1 : 0));
  return [
    [
      { text: fitColumns(line.text, room), color: color ? line.color : undefined, bold: line.bold },
      { text: scroll ? ` ${scroll}` : '', dim: true },
    ],
    [{ text: keysLine(width), dim: true }],
  ];
}

/** The footer's line when no work runs: the store's message, in its tone. */
export function messageLine(state: UiState): { text: string; color?: Piece['color']; bold: boolean } {
  const tone = state.message?.tone;
  return { text: state.message?.text ?? '', color: tone === 'good' ? 'green' : tone === 'bad' ? 'red' : undefined, bold: tone !== 'info' };
}

/** A piece with its style, in the order ink's <Text> applies them (colour, dim, bold,
 * inverse) and through the same chalk, so that ink's frame matches this one. */
function styled(p: Piece): string {
  let s = p.text;
  if (p.color) s = chalk[p.color](s);
  if (p.dim) s = chalk.dim(s);
  if (p.bold) s = chalk.bold(s);
  if (p.inverse) s = chalk.inverse(s);
  return s;
}

/** A row of pieces cut to `columns` as ink's wrap="truncate" cuts it: an ellipsis last. */
export function rowText(pieces: Piece[], columns: number): string {
  const total = pieces.reduce((n, p) => n + visible(p.text), 0);
  if (total <= columns) return pieces.map(styled).join('');
  let room = columns - 1;
  let out = '';
  for (const p of pieces) {
    if (room <= 0) break;
    const [head] = cutToColumns(p.text, room);
    const fits = visible(head) <= room ? head : '';
    out += styled({ ...p, text: fits });
    room -= visible(fits);
  }
  return `${out}…`;
}

const HIDE_CURSOR = '\x1b[?25l';
const RESET = '\x1b[0m';
/** Begin and end a synchronized update: a terminal that knows it shows what lies between
 * at once (the others ignore it). */
const SYNC_ON = '\x1b[?2026h';
const SYNC_OFF = '\x1b[?2026l';

/**
 * The first frame, written to the terminal as text: the header, the first screenful of the
 * lesson's text and the footer, as ink's App draws them when no work runs and no overlay is
 * open (as at the start). Each text line ends every style it opened, as each of ink's
 * <Text> lines does. Nothing is drawn on a terminal too small for the workbook (ink shows
 * what to do there).
 */
export function firstFrameText(opts: { store: WorkbookStore; color: boolean; columns: number; rows: number; text: string[] }): string | null {
  const { store, columns, rows, text, color } = opts;
  if (columns < MIN_COLUMNS || rows < MIN_ROWS) return null;
  const state = store.getSnapshot();
  const { bodyHeight, width } = screenLayout(columns, rows);
  const header = headerRows(store, state, width, color).map((r) => rowText(r, columns));
  const shown = text.slice(0, bodyHeight).map((l) => (visible(l) <= columns ? l : rowText([{ text: l.replace(/\x1b\[[0-9;]*m/g, '') }], columns)) + RESET);
  const body = [...shown, ...Array.from({ length: bodyHeight - shown.length }, () => '')];
  const footer = footerRows(messageLine(state), scrollInfo(text.length, 0, bodyHeight), width, color).map((r) => rowText(r, columns));
  return `${HIDE_CURSOR}\x1b[H${[...header, ...body, ...footer].join('\n')}`;
}

/** Before ink's first frame over the painted one: the screen cleared and the cursor home
 * (where ink starts its frame), inside a synchronized update that ink's own frame ends, so
 * the reader never sees the screen empty. */
export function takeOverFirstFrame(write: (s: string) => void): void {
  write(`${SYNC_ON}\x1b[H\x1b[2J`);
}

/** After ink's first frame: end the synchronized update should ink not have written one. */
export function endTakeOver(write: (s: string) => void): void {
  write(SYNC_OFF);
}
