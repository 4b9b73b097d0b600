// Lesson 11's picture on the real kernel: a container the reference runtime runs on the
// capstone's image, found by its root (an overlay on the store) whatever made it, drawn with
// its namespaces, its cgroup's limits and its links; a limit changed by hand shows; once the
// runtime has ended, the picture says nothing runs. Nothing is left.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import stringWidth from 'string-width';
import { spawn, type ChildProcess } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { ensureCapstoneImage, capstoneHome } from '../../src/capstone/suite.js';
import { resetLesson } from '../../src/runner.js';
import { ensureRootfs, Ledger, cgroupLayout, procfs } from '../../src/core/index.js';
import { labJournal } from '../../src/lab.js';
import { ASCII_GLYPHS, UNICODE_GLYPHS } from '../../src/pictures/glyphs.js';
import { pictureLines } from '../../src/pictures/picture.js';
import { tempLab } from '../support/lab.js';
import { shownInChinese } from '../support/picture.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-pic-cap-');
const lesson = findLesson('capstone') as Lesson;
const BIN = path.resolve('bin/container-lessons.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let before: ReturnType<typeof snapshot>;
let runtime: ChildProcess | undefined;

beforeAll(async () => {
  before = snapshot();
  ensureRootfs(lab.rootfs, new Ledger(labJournal(lab)));
  await ensureCapstoneImage(lab);
});

afterAll(async () => {
  if (runtime && runtime.exitCode === null) {
    runtime.kill('SIGTERM');
    await new Promise((r) => runtime!.once('exit', r));
  }
  await resetLesson(lesson, lab);
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

const draw = async (width: number, glyphs = UNICODE_GLYPHS) => {
  const source = lesson.picture!(lab);
  const lines = pictureLines(await source.draw({ width, glyphs }), width, glyphs).map((l) => l.text);
  for (const l of lines) expect(l.length).toBeLessThanOrEqual(width);
  return lines.join('\n');
};

describe("lesson 11's picture", () => {
  it("draws a running container of the capstone's image: namespaces, limits, links; follows a limit changed by hand and the container's end", async () => {
    expect(await draw(80)).toMatch(/no container of the capstone's image runs now/);
    runtime = spawn(process.execPath, [BIN, 'run', '--name', 'picdemo', '--cpus', '0.5', '--pids', '64', '--memory', '64m', 'capstone', 'sleep', '60'], {
      env: { ...process.env, CONTAINER_LESSONS_HOME: capstoneHome(lab) },
      stdio: 'ignore',
    });
    let shown = '';
    for (let i = 0; i < 100 && !/PID 1 +host pid \d+: sleep 60/.test(shown); i++) {
      await sleep(100);
      shown = await draw(80);
    }
    expect(shown).toMatch(/─ picdemo ─/);
    expect(shown).toMatch(/own ns +mnt ● +uts ● +ipc ● +pid ● +net ● +cgroup ●/);
    expect(shown).toMatch(/limits +cpu 50 % of a CPU │ memory 64 MiB │ pids 64/);
    expect(shown).toMatch(/links +lo /);
    expect(shown).toMatch(/overlay: 1 lower layer \+ upper picdemo\//);
    const ascii = await draw(120, ASCII_GLYPHS);
    expect(ascii).toMatch(/^[\x20-\x7e\n]*$/);
    expect(ascii).toMatch(/own ns +mnt \* +uts \* +ipc \* +pid \* +net \* +cgroup \*/);

    // In Chinese: the labels translated, the kernel's names and values as they are, the
    // labels' column as wide as the widest (in columns), no line wider than drawn for.
    for (const width of [80, 60]) {
      const zh = await shownInChinese((opts) => lesson.picture!(lab).draw(opts), width);
      expect(zh.text).toMatch(/─ picdemo ─/);
      expect(zh.text).toMatch(/PID 1 +宿主机 pid \d+：sleep 60/);
      expect(zh.text).toMatch(/根目录 +overlay：1 个下层 \+ 上层 picdemo\//);
      expect(zh.text).toMatch(/命名空间 +mnt ● +uts ● +ipc ● +pid ● +net ● +cgroup ●/);
      expect(zh.text).toMatch(/限制 +cpu 一个 CPU 的 50 % │ memory 64 MiB │ pids 64/);
      expect(zh.text).toMatch(/网络接口 +lo /);
      // Each label's text starts in the same column.
      const starts = zh.lines.filter((l) => /│ (PID 1|根目录|命名空间|cgroup|限制|网络接口|进程数) /.test(l)).map((l) => stringWidth(/^.*?│ \S+( \d)? +/.exec(l)![0]));
      expect(starts).toHaveLength(7);
      expect(new Set(starts).size, zh.text).toBe(1);
    }

    // By hand: fewer pids in its group.
    const pid = Number(/host pid (\d+)/.exec(shown)![1]);
    const line = procfs.parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    const home = cgroupLayout().controllers.pids!;
    const group = home.version === 2 ? line.find((l) => l.hierarchy === 0)! : line.find((l) => l.controllers.includes('pids'))!;
    fs.writeFileSync(path.join(home.mountPoint, group.path, 'pids.max'), '32');
    expect(await draw(80)).toMatch(/pids 32/);

    runtime.kill('SIGTERM');
    await new Promise((r) => runtime!.once('exit', r));
    expect(await draw(80)).toMatch(/no container of the capstone's image runs now/);
  });
});
