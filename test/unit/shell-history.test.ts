// What the s shell's history holds and in which order (ui/shell-history.ts); pure logic.
// The real shell reading it is in test/e2e/shell.test.ts.
import { describe, it, expect } from 'vitest';
import { stepCommands, currentStep, historyEntries, historyFileText } from '../../src/ui/shell-history.js';
import { findLesson } from '../../src/lessons/index.js';
import type { Lab } from '../../src/lab.js';

const lab = { root: '/LAB', rootfs: '/LAB/rootfs' } as Lab;
const steps = (...cmds: string[][]) => cmds.map((c) => ({ commands: () => c }));

describe('the s shell history', () => {
  it('a line that leaves a quote open goes on in the next: one command', () => {
    expect(stepCommands(['a', "sh -c '", '  b', "  c'", 'd'])).toEqual(['a', "sh -c '\n  b\n  c'", 'd']);
    expect(stepCommands(['echo "it\'s"', "echo 'x'"])).toEqual(['echo "it\'s"', "echo 'x'"]);
    expect(stepCommands(["sh -c 'never closed"])).toEqual(["sh -c 'never closed"]);
    // Lesson 3's script under unshare is one entry, whole.
    const [, script] = findLesson('mount-namespace')!.steps.map((s) => stepCommands(s.commands(lab)));
    expect(script).toHaveLength(1);
    expect(script![0]).toMatch(/^unshare --mount --uts --fork sh -c '\n[\s\S]*exec sh'$/);
  });

  it('the current step: the first not done, or the last when all are', () => {
    expect(currentStep([{ status: 'pending' }, { status: 'pending' }])).toBe(0);
    expect(currentStep([{ status: 'done' }, { status: 'pending' }])).toBe(1);
    expect(currentStep([{ status: 'done' }, { status: 'error' }, { status: 'pending' }])).toBe(1);
    expect(currentStep([{ status: 'done' }, { status: 'done' }])).toBe(1);
    expect(currentStep([])).toBe(0);
  });

  it("oldest first: the steps ahead, then step 1 up to the current one, whose last command is the first up-arrow's", () => {
    const s = steps(['1a', '1b'], ['2a'], ['3a', '3b'], ['4a']);
    expect(historyEntries(s, lab, 0)).toEqual(['2a', '3a', '3b', '4a', '1a', '1b']);
    expect(historyEntries(s, lab, 2)).toEqual(['4a', '1a', '1b', '2a', '3a', '3b']);
    expect(historyEntries(s, lab, 3)).toEqual(['1a', '1b', '2a', '3a', '3b', '4a']);
    expect(historyEntries(s, lab, 9)).toEqual(['1a', '1b', '2a', '3a', '3b', '4a']);
    expect(historyEntries([], lab, 0)).toEqual([]);
  });

  it('the file: each entry after a timestamp line, so that bash reads a command of several lines as one', () => {
    expect(historyFileText(['ls', "sh -c '\n  x'"], 1700000000)).toBe("#1700000000\nls\n#1700000000\nsh -c '\n  x'\n");
  });
});
