// A picture as the TUI shows it, checked as every picture must be: no line wider than the
// width it was drawn for, and drawn with the ASCII glyphs nothing but printable ASCII (a
// non-UTF-8 locale). Each picture test draws in both glyph sets at several widths through it.
import { expect } from 'vitest';
import { ASCII_GLYPHS, UNICODE_GLYPHS, type Glyphs } from '../../src/pictures/glyphs.js';
import { pictureLines, type Picture } from '../../src/pictures/picture.js';

export const BOTH_GLYPHS: readonly Glyphs[] = [UNICODE_GLYPHS, ASCII_GLYPHS];

export interface Shown {
  picture: Picture;
  /** Title, drawing and legend, as the Work pane's end holds them. */
  lines: string[];
  text: string;
}

export function shown(picture: Picture, width: number, glyphs: Glyphs): Shown {
  const lines = pictureLines(picture, width, glyphs).map((l) => l.text);
  for (const l of [...lines, ...picture.lines.map((x) => x.text)]) expect(l.length, `wider than ${width}: ${l}`).toBeLessThanOrEqual(width);
  if (!glyphs.utf8) for (const l of lines) expect(l, 'not printable ASCII').toMatch(/^[\x20-\x7e]*$/);
  expect(lines.join('\n')).not.toMatch(/could not draw it/);
  return { picture, lines, text: lines.join('\n') };
}
