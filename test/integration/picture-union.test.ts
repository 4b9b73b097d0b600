// Lesson 1's picture on the real kernel: the rows are the layers in the order the mount
// got them (mountinfo), so a mount by hand with the lowers swapped draws them swapped and
// merged's n.txt then comes from lower1; a whiteout is marked; a file put in a layer by hand
// shows. Nothing is left mounted.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { resetLesson, solveLesson } from '../../src/runner.js';
import { ASCII_GLYPHS, UNICODE_GLYPHS } from '../../src/pictures/glyphs.js';
import { drawOnce, pictureLines } from '../../src/pictures/picture.js';
import { tempLab } from '../support/lab.js';
import { shownInChinese } from '../support/picture.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-pic-union-');
const lesson = findLesson('overlay') as Lesson;
const ufs = path.join(lab.root, 'ufs');
let before: ReturnType<typeof snapshot>;

beforeAll(() => {
  before = snapshot();
});
afterAll(async () => {
  await resetLesson(lesson, lab);
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

const draw = async (width = 80, glyphs = UNICODE_GLYPHS) => {
  const lines = pictureLines(await drawOnce(lesson.picture!.bind(lesson), lab, { width, glyphs }), width, glyphs).map((l) => l.text);
  for (const l of lines) expect(l.length).toBeLessThanOrEqual(width);
  return lines;
};
const row = (lines: string[], label: string) => lines.find((l) => l.startsWith(label)) ?? `(no row ${label} in:\n${lines.join('\n')})`;

describe("lesson 1's picture", () => {
  it('draws the union the workbook made: the layers top first, the whiteout, where merged gets each file', async () => {
    const report = await solveLesson(lesson, lab, { keep: true });
    expect(report.passed).toBe(true);
    const lines = await draw();
    expect(lines[0]).toMatch(/the union at merged/);
    expect(lines[1]).toMatch(/^ +a\.txt +b\.txt +c\.txt +n\.txt +x\.txt/);
    // a.txt was deleted through merged: a whiteout in upper, the copy in lower1 hidden.
    expect(row(lines, '1 upper')).toMatch(/^1 upper +✕ +· +● +· +●$/);
    expect(row(lines, '2 lower2')).toMatch(/^2 lower2 +· +● +· +● +○$/);
    expect(row(lines, '3 lower1')).toMatch(/^3 lower1 +○ +· +· +○ +·$/);
    expect(row(lines, 'merged')).toMatch(/^merged +· +2 +1 +2 +1$/);
    const ascii = await draw(120, ASCII_GLYPHS);
    for (const l of ascii) expect(l).toMatch(/^[\x20-\x7e]*$/);
    expect(row(ascii, '1 upper')).toMatch(/^1 upper +x +\. +\* +\. +\*$/);
    // In Chinese: the same grid (layer and file names are not translated), the words around it
    // translated and still within 80 columns.
    const zh = await shownInChinese((opts) => drawOnce(lesson.picture!.bind(lesson), lab, opts), 80);
    expect(zh.lines[0]).toMatch(/merged 处的联合挂载：各层自上而下/);
    expect(row(zh.lines, '1 upper')).toMatch(/^1 upper +✕ +· +● +· +●$/);
    expect(row(zh.lines, 'merged')).toMatch(/^merged +· +2 +1 +2 +1$/);
    expect(zh.text).toMatch(/● merged 显示的是这一份 +○ 被上面的层遮住/);
    expect(zh.text).toMatch(/merged 行：每一项来自哪一层（行号）/);
  });

  it('follows the mount as the kernel got it: the lowers swapped by hand, and a file added by hand', async () => {
    execFileSync('umount', [path.join(ufs, 'merged')]);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', 'lowerdir=./lower1:./lower2,upperdir=./upper,workdir=./work', './merged'], { cwd: ufs });
    fs.writeFileSync(path.join(ufs, 'lower2', 'new.txt'), 'by hand\n');
    const lines = await draw();
    expect(row(lines, '2 lower1')).toMatch(/^2 lower1 +○ +· +· +● +· +·$/);
    expect(row(lines, '3 lower2')).toMatch(/^3 lower2 +· +● +· +○ +● +○$/);
    // n.txt now comes from lower1 (row 2); new.txt from lower2 (row 3).
    expect(row(lines, 'merged')).toMatch(/^merged +· +3 +1 +2 +3 +1$/);
  });
});
