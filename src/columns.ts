// Text measured in terminal columns, not characters: a colour code takes none, a Chinese
// character (or an emoji) two, box drawing one. Everything that lines text up on a terminal
// measures it here.
//
// By East Asian Width (get-east-asian-width, the table string-width uses), one code point at
// a time, marks and format characters taking none. string-width itself also segments
// grapheme clusters (emoji sequences), but it builds an Intl.Segmenter and its emoji
// expressions when it is loaded, which every command would pay at its start; the workbook
// writes no emoji sequences. The tests hold this against string-width (test/unit/i18n.test.ts).
import { stripVTControlCharacters } from 'node:util';
import { eastAsianWidth } from 'get-east-asian-width';

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** Combining marks, format characters (zero-width joiner, variation selectors are marks) and controls. */
const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cf}\p{Cc}]/u;

function stringWidth(s: string): number {
  const plain = s.includes('\x1b') ? stripVTControlCharacters(s) : s;
  if (PRINTABLE_ASCII.test(plain)) return plain.length;
  let n = 0;
  for (const ch of plain) if (!ZERO_WIDTH.test(ch)) n += eastAsianWidth(ch.codePointAt(0)!);
  return n;
}

/** The columns a string that may hold colour codes takes on a terminal. */
export const visible = (s: string) => stringWidth(s);

/** A string (no colour codes) cut after at most `cols` columns: [what fits, the rest]. A
 * wide character that would straddle the edge goes to the rest, except a first one, which
 * is always taken (so that a wrap always makes progress). */
export function cutToColumns(plain: string, cols: number): [string, string] {
  let n = 0;
  let i = 0;
  for (const ch of plain) {
    const w = stringWidth(ch);
    if (n + w > cols && i > 0) break;
    n += w;
    i += ch.length;
  }
  return [plain.slice(0, i), plain.slice(i)];
}

/** At most `cols` columns of a string (no colour codes), never more. */
export function headColumns(plain: string, cols: number): string {
  const [head] = cutToColumns(plain, cols);
  return stringWidth(head) <= cols ? head : '';
}

/** Spaces after a string (no colour codes) up to `cols` columns. */
export function padColumns(plain: string, cols: number): string {
  return plain + ' '.repeat(Math.max(0, cols - stringWidth(plain)));
}

/** Plain text fitted to exactly `cols` columns: cut with … when longer, padded when shorter. */
export function fitColumns(plain: string, cols: number): string {
  if (stringWidth(plain) <= cols) return padColumns(plain, cols);
  return padColumns(cols > 0 ? `${headColumns(plain, cols - 1)}…` : '', cols);
}
