// Shell commands cut to a screen width without losing a character: the one wrapping that
// both panes use (the lesson text's code blocks and the work pane's `$ ` lines).
//
// A line that goes on ends in ` \` (broken at a space: the next line is indented by two
// more than the command's own indent)
// or in `\` (a word longer than a line, broken inside: the next line is not indented, so
// the word stays whole in a shell). A comment goes on as a comment: its next line starts
// with `# ` (broken at a space) or `#` (broken inside a word). Pasted into a shell, every
// form reads as the command it came from; joined back (see the unit test), it is exactly
// that command.

/** The quote a command leaves open: '' none, or the quote character. */
export type Quote = '' | "'" | '"';

/** The indent of a line that goes on after a break at a space. */
export const CONTINUATION_INDENT = '  ';

/** Below this, a line cannot hold the marks and some text. */
const MIN_WIDTH = 12;

interface Scan {
  /** quoted[i]: the character at i is inside quotes (or escaped). */
  quoted: boolean[];
  /** Where a comment starts (`#` at a word start, outside quotes), or the command's length. */
  comment: number;
  /** The quote still open at the end. */
  quote: Quote;
}

function scan(command: string, quote: Quote = ''): Scan {
  const quoted: boolean[] = [];
  let comment = command.length;
  let q: Quote = quote;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (q === "'") {
      quoted.push(true);
      if (c === "'") q = '';
      continue;
    }
    if (c === '\\') {
      // An escaped character (also inside double quotes) is never a break or a comment.
      quoted.push(true, true);
      i++;
      continue;
    }
    if (q === '"') {
      quoted.push(true);
      if (c === '"') q = '';
      continue;
    }
    if (c === "'" || c === '"') {
      quoted.push(true);
      q = c;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(command[i - 1]!))) {
      comment = i;
      break;
    }
    quoted.push(false);
  }
  return { quoted, comment, quote: q };
}

/** The quote a command leaves open, given the one open before it (a multi-line `sh -c '...'`). */
export function quoteAfter(command: string, quote: Quote = ''): Quote {
  return scan(command, quote).quote;
}

/**
 * A shell command as lines of at most `width` characters (a command that fits stays one
 * line). `quote` is the quote an earlier line of the same command left open.
 */
export function wrapCommand(command: string, width: number, quote: Quote = ''): string[] {
  const w = Math.max(MIN_WIDTH, width);
  if (command.length <= w) return [command];
  const { quoted, comment } = scan(command, quote);
  // A line's own indent (a line of a script inside quotes) is kept on its continuations.
  const own = /^ */.exec(command)![0].slice(0, Math.floor(w / 3));
  const indent = own + CONTINUATION_INDENT;
  const commentPrefix = `${comment === own.length ? own : indent}# `;
  const lines: string[] = [];
  let pos = 0;
  let prefix = '';
  for (;;) {
    const room = w - prefix.length;
    if (command.length - pos <= room) {
      lines.push(prefix + command.slice(pos));
      return lines;
    }
    // The last space that can end this line: in code, ` \` must fit after it; in a comment,
    // nothing is added. A space outside quotes first: inside them, ` \` would be kept.
    let best = -1;
    let bestQuoted = -1;
    for (let p = Math.max(pos, own.length) + 1; p <= pos + room && p < command.length; p++) {
      if (command[p] !== ' ') continue;
      if (p < comment) {
        if (p > pos + room - 2) continue;
        if (quoted[p]) bestQuoted = p;
        else best = p;
      } else if (p > comment + 1) best = p; // not right after the `#`: a comment starts with a word
    }
    let p = best >= 0 ? best : bestQuoted;
    // A break before a word that no line could hold either only moves that word down: fill
    // this line and cut the word instead.
    if (p >= 0 && p < comment && !quoted[p]) {
      let end = command.indexOf(' ', p + 1);
      if (end < 0 || end > comment) end = comment;
      if (end - (p + 1) > w - indent.length - 2 && pos + room - 1 - (p + 1) >= 8) p = -1;
    }
    if (p >= 0) {
      if (p < comment) {
        lines.push(`${prefix}${command.slice(pos, p)} \\`);
        prefix = indent;
      } else {
        lines.push(prefix + command.slice(pos, p));
        prefix = commentPrefix;
      }
      pos = p + 1;
      continue;
    }
    // No space to break at: cut the word.
    if (pos + room - 1 < comment) {
      const q = cutAt(command, pos, pos + room - 1);
      lines.push(`${prefix}${command.slice(pos, q)}\\`);
      prefix = '';
      pos = q;
    } else {
      const q = pos + room;
      lines.push(prefix + command.slice(pos, q));
      prefix = commentPrefix.trimEnd();
      pos = q;
    }
  }
}

/** Where to cut a word that ends a line at `last` at the latest: after a `,` `:` `=` `/`
 * close before it, if there is one, else at `last`. */
function cutAt(command: string, pos: number, last: number): number {
  for (const marks of [',:=;|&', '/']) for (let j = last; j > Math.max(pos + 1, last - 24); j--) if (marks.includes(command[j - 1]!) && command[j] !== ' ') return j;
  return last;
}

/**
 * Several command lines, as a step or a code block gives them: each one wrapped, with the
 * quote one leaves open carried into the next. `continues` is true for a line inside a
 * quote an earlier line opened (the body of a multi-line `sh -c '...'`): it is part of
 * that command, not a command of its own.
 */
export function wrapCommands(commands: string[], width: number): Array<{ lines: string[]; continues: boolean }> {
  let quote: Quote = '';
  return commands.map((c) => {
    const continues = quote !== '';
    const lines = wrapCommand(c, width, quote);
    quote = quoteAfter(c, quote);
    return { lines, continues };
  });
}
