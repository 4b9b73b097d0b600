// The characters a picture is drawn with: box-drawing and block characters where the
// terminal's locale is UTF-8, plain ASCII where it is not (a C locale, or an SSH session
// whose locale says nothing of UTF-8: there tmux and many terminals show those as "_" or
// as mojibake). Every picture draws through one of these two sets, so both always work.

import { localeIsUtf8 } from '../i18n/language.js';

export interface Glyphs {
  utf8: boolean;
  /** Box corners and lines: ┌ ┐ └ ┘ ─ │ */
  tl: string;
  tr: string;
  bl: string;
  br: string;
  h: string;
  v: string;
  /** Tees and a cross: ├ ┤ ┬ ┴ ┼ */
  teeRight: string;
  teeLeft: string;
  teeDown: string;
  teeUp: string;
  cross: string;
  /** A branch of a tree: "├─ " and its last "└─ ", and the line that goes on "│  ". */
  branch: string;
  lastBranch: string;
  stem: string;
  /** Eight heights of a bar, lowest first (a sparkline). */
  bars: readonly string[];
  /** A filled and a hollow mark, a cross-out mark, an absent mark. */
  on: string;
  off: string;
  cut: string;
  none: string;
  arrow: string;
  leftArrow: string;
  ellipsis: string;
  /** A gauge's filled and empty cells. */
  full: string;
  empty: string;
}

export const UNICODE_GLYPHS: Glyphs = {
  utf8: true,
  tl: '┌',
  tr: '┐',
  bl: '└',
  br: '┘',
  h: '─',
  v: '│',
  teeRight: '├',
  teeLeft: '┤',
  teeDown: '┬',
  teeUp: '┴',
  cross: '┼',
  branch: '├─ ',
  lastBranch: '└─ ',
  stem: '│  ',
  bars: ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'],
  on: '●',
  off: '○',
  cut: '✕',
  none: '·',
  arrow: '→',
  leftArrow: '←',
  ellipsis: '…',
  full: '█',
  empty: '░',
};

export const ASCII_GLYPHS: Glyphs = {
  utf8: false,
  tl: '+',
  tr: '+',
  bl: '+',
  br: '+',
  h: '-',
  v: '|',
  teeRight: '+',
  teeLeft: '+',
  teeDown: '+',
  teeUp: '+',
  cross: '+',
  branch: '|- ',
  lastBranch: '`- ',
  stem: '|  ',
  bars: ['_', '.', ':', '-', '=', '+', '*', '#'],
  on: '*',
  off: 'o',
  cut: 'x',
  none: '.',
  arrow: '->',
  leftArrow: '<-',
  ellipsis: '...',
  full: '#',
  empty: '.',
};

/** The glyphs for this terminal's locale. */
export function glyphsFor(env: NodeJS.ProcessEnv = process.env): Glyphs {
  return localeIsUtf8(env) ? UNICODE_GLYPHS : ASCII_GLYPHS;
}
