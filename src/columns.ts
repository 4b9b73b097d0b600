// Text measured in terminal columns, not characters: a colour code takes none, a Chinese
// character (or an emoji) two, box drawing one. Everything that lines text up on a terminal
// measures it here.
import stringWidth from 'string-width';

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
