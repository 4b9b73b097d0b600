// Word-wrapping a paragraph to a width, with a hanging indent: the Work pane's titles,
// reasons and hints, and the lesson text's lists and table cells. Colour codes take no room.
import { stripVTControlCharacters } from 'node:util';

/** The visible width of a string that may hold colour codes. */
export const visible = (s: string) => stripVTControlCharacters(s).length;

/** Word-wrap text that may hold colour codes to `width` columns: the first line after
 * `first`, the others after `rest`. A word longer than a line is cut (its colour dropped). */
export function reflow(text: string, width: number, first = '', rest = ' '.repeat(visible(first))): string[] {
  const out: string[] = [];
  let prefix = first;
  let cur = '';
  let len = 0;
  const flush = () => {
    out.push(prefix + cur);
    prefix = rest;
    cur = '';
    len = 0;
  };
  for (let word of text.split(/[ \t\n]+/).filter(Boolean)) {
    for (;;) {
      const room = width - visible(prefix) - (len ? len + 1 : 0);
      const n = visible(word);
      if (n <= room) {
        cur = len ? `${cur} ${word}` : word;
        len += n + (len ? 1 : 0);
        break;
      }
      if (len) {
        flush();
        continue;
      }
      const plain = stripVTControlCharacters(word);
      const cut = Math.max(1, width - visible(prefix));
      cur = plain.slice(0, cut);
      word = plain.slice(cut);
      flush();
      if (!word) break;
    }
  }
  if (len || !out.length) flush();
  return out;
}
