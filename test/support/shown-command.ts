// Reading a command back from the screen: the lines the panes show for it (prompt and
// gutter taken off), joined by the marks a reader sees, not by the wrapping code.
import { expect } from 'vitest';

/**
 * Lines shown for one command (prompt and gutter taken off) back into the command. A line
 * ending in ` \` goes on after the indent on the next line (the first line's own indent
 * plus two), one ending in `\` goes on at once, a line of `# ` or `#` goes on a comment;
 * any other line ends a line of the command (a script inside quotes has several).
 */
export function joinShown(lines: string[]): string {
  const out: string[] = [];
  let cur: string | null = null;
  let own = '';
  let how: 'soft' | 'hard' | 'end' = 'end';
  for (const line of lines) {
    if (cur === null) {
      cur = line;
      own = /^ */.exec(line)![0];
    } else if (how === 'soft') {
      expect(line.startsWith(`${own}  `), `a continuation is indented: ${JSON.stringify(line)}`).toBe(true);
      cur += ` ${line.slice(own.length + 2)}`;
    } else if (how === 'hard') {
      cur += line;
    } else if (/^ *#/.test(line) && cur.includes('#')) {
      const rest = line.replace(/^ *#/, '');
      cur += rest.startsWith(' ') ? ` ${rest.slice(1)}` : rest;
    } else {
      out.push(cur);
      cur = line;
      own = /^ */.exec(line)![0];
    }
    how = cur.endsWith(' \\') ? 'soft' : cur.endsWith('\\') ? 'hard' : 'end';
    if (how === 'soft') cur = cur.slice(0, -2);
    if (how === 'hard') cur = cur.slice(0, -1);
  }
  if (cur !== null) out.push(cur);
  return out.join('\n');
}

/** A step's commands as one shell reads them (a line inside a quote an earlier line opened
 * belongs to that command): the same grouping as the s shell's history. */
export { stepCommands as commandsAsTyped } from '../../src/ui/shell-history.js';
