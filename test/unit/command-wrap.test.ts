// Commands stay whole in both panes: every step command of every lesson, drawn by the
// panes' own functions at 60, 80 and 120 columns, joined back from what is shown, is the
// exact command. The joining here is written from the marks a reader sees (` \`, `\`,
// `# `), not from the wrapping code.
import { describe, it, expect } from 'vitest';
import { stripVTControlCharacters } from 'node:util';
import { LESSONS } from '../../src/lessons/index.js';
import { labFor } from '../../src/lab.js';
import { lessonMarkdown } from '../../src/render.js';
import { Marked } from 'marked';
import { lessonLines, workLines, commandLines } from '../../src/ui/text.js';
import { wrapCommand } from '../../src/ui/command-wrap.js';
import type { LessonRun } from '../../src/ui/store.js';
import { commandsAsTyped, joinShown } from '../support/shown-command.js';

const lab = labFor({ CONTAINER_LESSONS_HOME: '/tmp/some-long-lab-path/container-lessons' });
const COLUMNS = [60, 80, 120];
/** The panes' width at a terminal width (App: columns - 1). */
const paneWidth = (columns: number) => columns - 1;

/** A run halfway: every other step done, with its output under its commands. */
const halfway = (n: number): LessonRun => ({
  steps: Array.from({ length: n }, (_, i) => (i % 2 ? { status: 'pending' as const } : { status: 'done' as const, output: 'what the step printed' })),
  checks: null,
  passedNow: false,
});

describe('every step command of every lesson, joined back from the screen', () => {
  for (const columns of COLUMNS) {
    const width = paneWidth(columns);

    it(`the Work pane at ${columns} columns: one $ per command, no line cut, the exact command`, () => {
      for (const lesson of LESSONS) {
        const shown = workLines(lesson, halfway(lesson.steps.length), lab, width).map((l) => l.text);
        for (const l of shown) expect(l.length, `${lesson.id}: ${l}`).toBeLessThanOrEqual(width);
        expect(shown.join('\n')).not.toContain('…');
        // Each step: its title, its commands, what it printed if it ran, a blank line.
        let at = 0;
        for (const step of lesson.steps) {
          const start = shown.findIndex((l, i) => i >= at && l.startsWith('     $ '));
          let end = start + 1;
          while (/^     [$ ] /.test(shown[end] ?? '')) end++;
          if (shown[end] === '   what the step printed') end++;
          expect(shown[end], `${lesson.id}: ${step.title}: a blank line after the step`).toBe('');
          const block = shown.slice(start, end).filter((l) => l !== '   what the step printed');
          at = end;
          const groups: string[][] = [];
          for (const l of block) {
            if (l.startsWith('     $ ')) groups.push([l.slice(7)]);
            else {
              expect(l.startsWith('       '), `${lesson.id}: ${l}`).toBe(true);
              groups[groups.length - 1]!.push(l.slice(7));
            }
          }
          expect(groups.map(joinShown), `${lesson.id}: ${step.title}`).toEqual(commandsAsTyped(step.commands(lab)));
        }
      }
    });

    for (const color of [false, true]) {
      it(`the Text pane at ${columns} columns${color ? ' (colour, codes removed)' : ''}: every step's block, no line cut, the exact commands`, async () => {
        for (const lesson of LESSONS) {
          const shown = (await lessonLines(lesson, lab, width, color)).map((l) => stripVTControlCharacters(l));
          for (const l of shown) expect(l.length, `${lesson.id}: ${l}`).toBeLessThanOrEqual(width);
          expect(shown.join('\n')).not.toContain('…');
          let at = shown.findIndex((l) => l.startsWith('The steps, as commands you could type'));
          expect(at).toBeGreaterThan(0);
          for (const [i, step] of lesson.steps.entries()) {
            const heading = shown.findIndex((l, j) => j > at && l.startsWith(`Step ${i + 1}: `));
            const start = shown.findIndex((l, j) => j > heading && l.startsWith('  │ '));
            let end = start;
            while (shown[end]?.startsWith('  │ ')) end++;
            at = end;
            const block = shown.slice(start, end).map((l) => l.slice(4));
            expect(joinShown(block), `${lesson.id}: ${step.title}`).toBe(step.commands(lab).join('\n'));
          }
        }
      });
    }
  }
});

describe('every code block of every lesson text, nothing of it lost in the Text pane', () => {
  for (const columns of COLUMNS) {
    it(`at ${columns} columns`, async () => {
      for (const lesson of LESSONS) {
        const blocks = new Marked()
          .lexer(lessonMarkdown(lesson, lab))
          .filter((t) => t.type === 'code')
          .map((t) => (t as { text: string }).text);
        const shown = await lessonLines(lesson, lab, paneWidth(columns), false);
        const runs: string[][] = [];
        shown.forEach((l, i) => {
          if (!l.startsWith('  │ ')) return;
          if (!shown[i - 1]?.startsWith('  │ ')) runs.push([]);
          runs[runs.length - 1]!.push(l.slice(4));
        });
        // The blocks hold their own ` \` lines and comment lines: compare every character
        // but the spaces and the marks a wrap adds (the steps above are compared exactly).
        const squeeze = (t: string) => t.replace(/[\s\\#]/g, '');
        expect(
          runs.map((r) => squeeze(r.join('\n'))),
          lesson.id,
        ).toEqual(blocks.map(squeeze));
      }
    });
  }
});

describe('wrapCommand', () => {
  const mount = 'mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged';

  it('leaves a command that fits as it is', () => {
    expect(wrapCommand('ls -l upper lower1', 80)).toEqual(['ls -l upper lower1']);
  });

  it('breaks at a space with ` \\` and an indented next line', () => {
    expect(commandLines([mount], 79, '     $ ')).toEqual(['     $ mount -t overlay overlay -o \\', '         lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged']);
  });

  it('cuts a word no line can hold after a `,` `:` or `=`, with `\\` and no indent (a shell joins it whole)', () => {
    const lines = wrapCommand(mount, 48);
    expect(lines).toEqual(['mount -t overlay overlay -o lowerdir=./lower2:\\', './lower1,upperdir=./upper,workdir=./work \\', '  ./merged']);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(48);
    expect(joinShown(lines)).toBe(mount);
  });

  it('wraps a trailing comment as a comment', () => {
    const cmd = 'echo <pid> > /sys/fs/cgroup/cpu/container/cgroup.procs   # v1 also: tasks';
    expect(commandLines([cmd], 79, '     $ ')).toEqual(['     $ echo <pid> > /sys/fs/cgroup/cpu/container/cgroup.procs   # v1 also:', '         # tasks']);
    expect(joinShown(wrapCommand(cmd, 60))).toBe(cmd);
    // An aligned comment that cannot start on the line goes down whole, never a lone `#`.
    const aligned = `cat $G/cpu.stat${' '.repeat(32)}# nr_throttled grows`;
    expect(wrapCommand(aligned, 55)).toEqual([`cat $G/cpu.stat${' '.repeat(31)} \\`, '  # nr_throttled grows']);
    expect(joinShown(wrapCommand(aligned, 55))).toBe(aligned);
    const long = '# the mount and its options, as the kernel keeps them, with every layer named';
    expect(wrapCommand(long, 40)).toEqual(['# the mount and its options, as the', '# kernel keeps them, with every layer', '# named']);
  });

  it('never breaks inside quotes while a space outside them will do', () => {
    const cmd = "ip netns exec router nft add chain ip nat postrouting '{ type nat hook postrouting priority 100; }'";
    const lines = wrapCommand(cmd, 60);
    expect(lines).toEqual(['ip netns exec router nft add chain ip nat postrouting \\', "  '{ type nat hook postrouting priority 100; }'"]);
  });

  it('keeps a script line inside quotes indented as it was, without a prompt of its own', () => {
    const lines = commandLines(["unshare --mount --uts --fork sh -c '", '  mount --bind /tmp/some-long-lab-path/rootfs /tmp/some-long-lab-path/rootfs', "  cd /; exec sh'"], 59, '$ ');
    expect(lines).toEqual(["$ unshare --mount --uts --fork sh -c '", '    mount --bind /tmp/some-long-lab-path/rootfs \\', '      /tmp/some-long-lab-path/rootfs', "    cd /; exec sh'"]);
  });
});
