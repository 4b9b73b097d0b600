// Lesson 2's picture on the real kernel: the busy loop's CPU share sampled live falls from
// about a whole CPU to about 20 % once the loop is in the group with the quota, the moment
// and the check's window are marked, and a quota changed by hand shows at once.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { LessonSession, judge, resetLesson } from '../../src/runner.js';
import { GROUP } from '../../src/lessons/02-cgroup-cpu.js';
import { Cgroup } from '../../src/core/index.js';
import { ASCII_GLYPHS, UNICODE_GLYPHS } from '../../src/pictures/glyphs.js';
import { pictureLines, type PictureSource } from '../../src/pictures/picture.js';
import { tempLab } from '../support/lab.js';
import { shownInChinese } from '../support/picture.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';
import { ensureBuilt, PACKAGE_ROOT } from '../support/bundle.js';

const lab = tempLab('cl-pic-cpu-');
const lesson = findLesson('cgroup-cpu') as Lesson;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let before: ReturnType<typeof snapshot>;
let source: PictureSource | undefined;
let session: LessonSession | undefined;

beforeAll(async () => {
  before = snapshot();
  await resetLesson(lesson, lab);
});

afterAll(async () => {
  source?.close?.();
  await session?.end();
  await resetLesson(lesson, lab);
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

const text = async (width: number, glyphs = UNICODE_GLYPHS) => {
  const p = await source!.draw({ width, glyphs });
  const lines = pictureLines(p, width, glyphs).map((l) => l.text);
  for (const l of lines) expect(l.length).toBeLessThanOrEqual(width);
  return lines.join('\n');
};

describe("lesson 2's picture", () => {
  it('follows the loop from a whole CPU down to the quota, marks it and the check, and follows a quota changed by hand', async () => {
    source = lesson.picture!(lab);
    expect(await text(80)).toMatch(/nothing busy to follow yet/);
    session = new LessonSession(lesson, lab, { lockWaitMs: 60_000 });
    for (const i of [0, 1, 2]) expect((await session.runStep(i)).error).toBeUndefined();
    await sleep(1000);
    expect(await text(80)).toMatch(/before the quota: (9\d|100) %/);
    for (const i of [3, 4]) expect((await session.runStep(i)).error).toBeUndefined();
    await sleep(1500);
    source.checking?.(true);
    const judged = await judge(lesson, lab);
    source.checking?.(false);
    expect(judged.passed).toBe(true);
    await sleep(300);

    const u80 = await text(80);
    expect(u80).toMatch(/under the quota: (1[5-9]|2[0-5]) %/);
    expect(u80).toMatch(/now (1[5-9]|2[0-5]) %/);
    expect(u80).toMatch(/nr_throttled [1-9]\d*/);
    // The sparkline: high bars, then low ones after the ^ mark; the check's window a rule.
    const [spark, marks] = u80.split('\n').filter((l) => l.includes('│')) as [string, string];
    const bars = spark.slice(spark.indexOf('│') + 1);
    expect(bars).toMatch(/[▇█]{5,}.*[▁▂▃]{10,}/);
    expect(marks.indexOf('^')).toBeGreaterThan(0);
    expect(marks).toMatch(/─{3,}/);
    expect(marks.indexOf('─')).toBeGreaterThan(marks.indexOf('^'));
    // In Chinese: the same line and marks, the words beside them translated, within 80 columns.
    const zh = await shownInChinese((opts) => source!.draw(opts), 80);
    expect(zh.lines[0]).toMatch(/忙循环的 CPU 占用，最近 \d+ s/);
    expect(zh.text).toMatch(/│[▇█]{5,}.*[▁▂▃]{10,}\s+当前 (1[5-9]|2[0-5]) %/);
    expect(zh.text).toMatch(/受配额限制前：(9\d|100) % +受配额限制时：(1[5-9]|2[0-5]) % +nr_throttled [1-9]\d*/);
    expect(zh.text).toMatch(/\^ 循环从此受配额限制（已在 "container" 中，配额已设）/);

    const a120 = await text(120, ASCII_GLYPHS);
    expect(a120).toMatch(/^[\x20-\x7e\n]*$/);
    expect(a120).toMatch(/[#*]{5,}.*[_.:]{10,}/);

    // By hand: half a CPU.
    const g = new Cgroup(GROUP, ['cpu']);
    if (g.version === 1) fs.writeFileSync(g.file('cpuQuota'), '50000');
    else fs.writeFileSync(g.file('cpuQuota'), '50000 100000');
    await sleep(1200);
    expect(await text(80)).toMatch(/now (4[5-9]|5[0-5]) %/);
  }, 60_000);
});

describe('solve 2, as the CLI prints it', () => {
  it("draws the picture it kept open from the lesson's start: the loop under its quota and the check's window", async () => {
    ensureBuilt();
    // The session above holds the lab and the group's name ("container") while it is open.
    source?.close?.();
    source = undefined;
    await session?.end();
    session = undefined;
    await resetLesson(lesson, lab);
    const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'bin/container-lessons.js'), 'solve', '2'], {
      env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1', LANG: 'C.UTF-8', LC_ALL: '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    // Drawn after the checks: a picture opened only then would have seen no check, nor the
    // loop under its quota for long. (Whether it saw the loop before the quota is a race with
    // step 5: the loop is outside the group for only step 3's 0.2 s.)
    const picture = r.stdout.slice(r.stdout.indexOf('CPU share of the busy loop'));
    const [spark, marks] = picture.split('\n').filter((l: string) => l.includes('│')) as [string, string];
    expect(spark.slice(spark.indexOf('│') + 1)).toMatch(/[▁▂▃]{5,}/);
    expect(marks).toMatch(/─{3,}/);
    expect(r.stdout).toMatch(/Lesson 2: passed/);
  }, 60_000);
});
