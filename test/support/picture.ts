// A picture as the TUI shows it, checked as every picture must be: no line wider than the
// width it was drawn for, and drawn with the ASCII glyphs nothing but printable ASCII (a
// non-UTF-8 locale). Each picture test draws in both glyph sets at several widths through it.
import { expect } from 'vitest';
import stringWidth from 'string-width';
import { ASCII_GLYPHS, UNICODE_GLYPHS, type Glyphs } from '../../src/pictures/glyphs.js';
import { pictureLines, type DrawOptions, type Picture } from '../../src/pictures/picture.js';
import { setLanguage } from '../../src/i18n/messages.js';

export const BOTH_GLYPHS: readonly Glyphs[] = [UNICODE_GLYPHS, ASCII_GLYPHS];

export interface Shown {
  picture: Picture;
  /** Title, drawing and legend, as the Work pane's end holds them. */
  lines: string[];
  text: string;
}

export function shown(picture: Picture, width: number, glyphs: Glyphs): Shown {
  const lines = pictureLines(picture, width, glyphs).map((l) => l.text);
  for (const l of [...lines, ...picture.lines.map((x) => x.text)]) expect(stringWidth(l), `wider than ${width} columns: ${l}`).toBeLessThanOrEqual(width);
  if (!glyphs.utf8) for (const l of lines) expect(l, 'not printable ASCII').toMatch(/^[\x20-\x7e]*$/);
  expect(lines.join('\n')).not.toMatch(/could not draw it/);
  return { picture, lines, text: lines.join('\n') };
}

const CHINESE = /[\u4e00-\u9fff]/;

/** The picture drawn in Chinese (src/i18n/zh/): checked as shown() checks it, in columns (a
 * Chinese character takes two), with its title and every legend entry in Chinese. */
export async function shownInChinese(draw: (opts: DrawOptions) => Promise<Picture>, width = 80): Promise<Shown> {
  await setLanguage('zh');
  try {
    const picture = await draw({ width, glyphs: UNICODE_GLYPHS });
    const s = shown(picture, width, UNICODE_GLYPHS);
    expect(picture.title, 'the title in Chinese').toMatch(CHINESE);
    for (const e of picture.legend) expect(e, 'a legend entry in Chinese').toMatch(CHINESE);
    return s;
  } finally {
    await setLanguage('en');
  }
}
