// Word-wrapping a paragraph to a width, with a hanging indent: the Work pane's titles,
// reasons and hints, and the lesson text's paragraphs, lists and table cells. Widths are
// terminal columns: colour codes take none, a Chinese character takes two. Chinese is
// written without spaces, so a line may break between any two of its characters (but not
// before a closing mark such as ，。） or after an opening one such as （).
import { stripVTControlCharacters } from 'node:util';
import { cutToColumns, visible } from '../columns.js';

export { fitColumns, visible } from '../columns.js';

/** Characters of scripts written without spaces, and their full-width punctuation. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;
/** Marks that never begin a line (they close or end something). */
const CLOSING = /^[，。、：；！？）」』】》〉”’…,.:;!?)\]}]/u;
/** Marks that never end a line (they open something). */
const OPENING = /[（「『【《〈“‘]$/u;
const ESCAPE = /\x1b\[[0-9;]*m/y;

export const hasCjk = (s: string) => CJK.test(s);
const CJK_LINE_BREAK = new RegExp(`(${CJK.source})\\n(?=${CJK.source})`, 'gu');

/** A space-free word cut where a line may break inside it: between two CJK characters, and
 * between CJK and other text. Colour codes stay with the character they precede. */
export function breakable(word: string): string[] {
  if (!CJK.test(word)) return [word];
  const parts: string[] = [];
  let cur = '';
  let curPlain = '';
  let pending = ''; // colour codes not yet followed by a character
  for (let i = 0; i < word.length; ) {
    ESCAPE.lastIndex = i;
    const esc = ESCAPE.exec(word);
    if (esc) {
      pending += esc[0];
      i += esc[0].length;
      continue;
    }
    const ch = String.fromCodePoint(word.codePointAt(i)!);
    i += ch.length;
    const prev = curPlain.slice(-1);
    const cut = curPlain !== '' && (CJK.test(ch) || CJK.test(prev)) && !CLOSING.test(ch) && !OPENING.test(curPlain);
    if (cut) {
      parts.push(cur);
      cur = '';
      curPlain = '';
    }
    cur += pending + ch;
    curPlain += ch;
    pending = '';
  }
  cur += pending;
  if (cur) parts.push(cur);
  return parts;
}

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
  // A line break between two Chinese characters (a soft break in the source) is no space.
  const joined = text.replace(CJK_LINE_BREAK, '$1');
  for (const spaced of joined.split(/[ \t\n]+/).filter(Boolean)) {
    // The pieces of one space-free word join without a space.
    for (const [k, piece] of breakable(spaced).entries()) {
      const gap = k === 0 ? 1 : 0;
      let word = piece;
      for (;;) {
        const room = width - visible(prefix) - (len ? len + gap : 0);
        const n = visible(word);
        if (n <= room) {
          cur = len ? `${cur}${gap ? ' ' : ''}${word}` : word;
          len += n + (len ? gap : 0);
          break;
        }
        if (len) {
          flush();
          continue;
        }
        const [head, tail] = cutToColumns(stripVTControlCharacters(word), Math.max(1, width - visible(prefix)));
        cur = head;
        len = visible(head);
        word = tail;
        flush();
        if (!word) break;
      }
    }
  }
  if (len || !out.length) flush();
  return out;
}
