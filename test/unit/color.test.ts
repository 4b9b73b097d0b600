// One rule decides colour for the CLI, the lesson text and the TUI (src/color.ts): NO_COLOR
// counts only when it is not empty, FORCE_COLOR colours also into a pipe (or turns it off),
// and TERM=dumb is plain unless colour is forced.
import { describe, expect, it } from 'vitest';
import { colorWanted, forcedColor } from '../../src/color.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('colour', () => {
  it.each([
    // stream, environment, colour?
    [tty, {}, true],
    [pipe, {}, false],
    [tty, { NO_COLOR: '1' }, false],
    [tty, { NO_COLOR: '' }, true],
    [tty, { TERM: 'dumb' }, false],
    [tty, { TERM: 'dumb', FORCE_COLOR: '1' }, true],
    [pipe, { FORCE_COLOR: '1' }, true],
    [pipe, { FORCE_COLOR: '' }, true],
    [pipe, { FORCE_COLOR: 'true' }, true],
    [pipe, { FORCE_COLOR: '3' }, true],
    [tty, { FORCE_COLOR: '0' }, false],
    [tty, { FORCE_COLOR: 'false' }, false],
    [pipe, { FORCE_COLOR: 'sometimes' }, false],
    [tty, { FORCE_COLOR: 'sometimes' }, true],
    [pipe, { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
    [pipe, { NO_COLOR: '', FORCE_COLOR: '1' }, true],
  ] as const)('%o with %o: %s', (stream, env, want) => {
    expect(colorWanted(stream, env)).toBe(want);
  });

  it('reads FORCE_COLOR as chalk does for the values both know', () => {
    expect(['', 'true', '1', '2', '3'].map((v) => forcedColor({ FORCE_COLOR: v }))).toEqual([true, true, true, true, true]);
    expect(['0', 'false'].map((v) => forcedColor({ FORCE_COLOR: v }))).toEqual([false, false]);
    expect(forcedColor({})).toBeUndefined();
  });
});
