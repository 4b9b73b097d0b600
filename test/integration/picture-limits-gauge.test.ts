// Lesson 8's picture on the real kernel: nothing there yet; the state `solve --keep` leaves
// (the hog OOM-killed at 64 MiB, the bomb held at 20 tasks); then the group changed by hand,
// and the live picture following it: a lower memory limit, a process in the group holding a
// bounded 16 MiB, an OOM kill in the group, a lower pids limit and forks refused at it.
// Whatever eats memory or forks here runs only inside the limited group, with bounds of its
// own (head -c, a few sleeps, timeout). Nothing may be left behind.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { MEMORY_LIMIT, PIDS_LIMIT } from '../../src/lessons/08-memory-pids.js';
import { GROUP } from '../../src/lessons/container-group.js';
import { resetLesson, solveLesson } from '../../src/runner.js';
import { Cgroup, ensureRootfs } from '../../src/core/index.js';
import { drawLimits, limitsGauge, readLimits } from '../../src/pictures/limits-gauge.js';
import { ASCII_GLYPHS, UNICODE_GLYPHS } from '../../src/pictures/glyphs.js';
import type { Picture, PictureSource } from '../../src/pictures/picture.js';
import { tempLab } from '../support/lab.js';
import { shown, shownInChinese } from '../support/picture.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const MIB = 2 ** 20;
const lab = tempLab('cl-limits-gauge-');
const lesson = findLesson('memory-pids') as Lesson;
const g = new Cgroup(GROUP, ['memory', 'pids']);
const v2 = g.versionOf('memory') === 2;
const M = g.dirOf('memory');
const P = g.dirOf('pids');
const sh = (script: string) => {
  const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script}: ${r.stderr}`);
};
const until = async (what: string, ok: () => boolean, tries = 200) => {
  for (let i = 0; i < tries; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not happen`);
};
/** sh's arguments for a script that joins the group (both hierarchies) before it does
 * anything else, and ends within 60 s. */
const inGroup = (script: string) => ['-c', `echo $$ > ${M}/cgroup.procs && echo $$ > ${P}/cgroup.procs && exec timeout 60 sh -c "$1"`, 'sh', script];

/** Processes this test started, each the leader of its own process group. */
const started: ChildProcess[] = [];
function startInGroup(script: string): ChildProcess {
  const c = spawn('/bin/sh', inGroup(script), { detached: true, stdio: 'ignore' });
  started.push(c);
  return c;
}
function killStarted(c: ChildProcess) {
  try {
    process.kill(-c.pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
}
const exited = (c: ChildProcess) => new Promise<void>((res) => (c.exitCode !== null || c.signalCode !== null ? res() : c.once('exit', () => res())));

/** Draw with both glyph sets at 80 and 120 columns, checking widths and the ASCII set;
 * returns the 80-column UTF-8 text (the source is drawn once per combination). */
async function drawAll(draw: (opts: { width: number; glyphs: typeof UNICODE_GLYPHS }) => Promise<Picture>): Promise<string> {
  let text = '';
  for (const glyphs of [UNICODE_GLYPHS, ASCII_GLYPHS])
    for (const width of [80, 120]) {
      const t = shown(await draw({ width, glyphs }), width, glyphs).text;
      if (glyphs.utf8 && width === 80) text = t;
    }
  return text;
}
const drawSource = (s: PictureSource) => drawAll((opts) => s.draw(opts));
/** The gauge line of a section ("memory" or "pids"), its cells and its filled cells. */
function gaugeOf(text: string, section: 'memory' | 'pids'): { line: string; cells: number; full: number } {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith(section));
  const line = lines[at + 1] ?? '';
  const cells = [...(line.trim().split(' ')[0] ?? '')];
  return { line, cells: cells.length, full: cells.filter((c) => c === UNICODE_GLYPHS.full).length };
}
const num = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);

let before: ReturnType<typeof snapshot>;
beforeAll(() => {
  ensureRootfs(lab.rootfs);
  before = snapshot();
});
afterAll(async () => {
  try {
    for (const c of started) killStarted(c);
    await Promise.all(started.map(exited));
    await resetLesson(lesson, lab);
  } finally {
    expect(g.anyExists()).toBe(false);
    expect(leaks(before, snapshot())).toEqual({});
    lab.dispose();
  }
});

describe("lesson 8's picture: gauges of the group's memory and pids", () => {
  it('nothing there yet: a dim line says the group is missing', async () => {
    expect(g.anyExists()).toBe(false);
    const text = await drawAll(async (opts) => drawLimits(readLimits(GROUP), opts));
    expect(text).toContain(`no group here yet: mkdir ${M} makes it`);
    expect(text).toContain(`no group here yet: mkdir ${P} makes it`);
    const p = drawLimits(readLimits(GROUP), { width: 80, glyphs: UNICODE_GLYPHS });
    expect(p.lines.map((l) => l.text).join('\n')).not.toContain(UNICODE_GLYPHS.full);
    expect(p.lines.every((l) => l.dim || l.bold)).toBe(true);
  });

  it('after solve --keep: the 64 MiB limit, its peak, the OOM kill, the 20 tasks and the refused forks', async () => {
    const report = await solveLesson(lesson, lab, { keep: true });
    expect(report.passed).toBe(true);
    const source = lesson.picture!(lab);
    expect(source.everyMs).toBe(250);
    const text = await drawSource(source);
    const mem = g.memoryStats();
    const pids = g.pidsStats();
    expect(mem.oomKills).toBeGreaterThan(0);
    expect(pids.refused).toBeGreaterThan(0);
    expect(text).toContain(`memory  ${M} (cgroup v${v2 ? 2 : 1})`);
    expect(text).toMatch(new RegExp(`│ \\d+\\.\\d of ${(MEMORY_LIMIT / MIB).toFixed(1)} MiB \\d+%`));
    // The hog reached the limit: the peak is at the gauge's end.
    if (mem.peak !== null) {
      expect(gaugeOf(text, 'memory').line.trimEnd()).toMatch(/│ \d/);
      expect(text).toMatch(/peak 6[34]\.\d MiB ─+┘/);
    }
    expect(text).toContain(`✕ OOM kills: ${mem.oomKills}: the OOM killer ended a process of the group`);
    expect(text).toMatch(new RegExp(` \\d+ of ${PIDS_LIMIT} tasks`));
    expect(text).toContain(`✕ forks refused: ${pids.refused}: fork() failed at pids.max`);
    // The container's shell is in the group.
    expect(text).toMatch(/\d+ process(es)? \(cgroup\.procs\): .*\bsh\b/);
    // No count went up between the source's readings: nothing is marked "just now".
    expect(text).not.toContain('just now');

    // In Chinese: the same gauges, the words translated where the English ones were.
    const zh = await shownInChinese((opts) => source.draw(opts), 80);
    expect(zh.picture.title).toBe(`控制组“${GROUP}”的内存和进程数（实时）`);
    expect(zh.text).toContain(`memory  ${M} (cgroup v${v2 ? 2 : 1})`);
    expect(zh.text).toMatch(new RegExp(`│ \\d+\\.\\d / ${(MEMORY_LIMIT / MIB).toFixed(1)} MiB \\d+%`));
    if (mem.peak !== null) expect(zh.text).toMatch(/峰值 6[34]\.\d MiB ─+┘/);
    expect(zh.text).toContain(`✕ OOM 杀死次数：${mem.oomKills}：OOM killer 结束了控制组里的一个进程`);
    expect(zh.text).toMatch(new RegExp(` \\d+ / ${PIDS_LIMIT} 个任务`));
    expect(zh.text).toContain(`✕ 被拒绝的 fork：${pids.refused}：fork() 在 pids.max 处失败`);
    expect(zh.text).toMatch(/\d+ 个进程（cgroup\.procs）：.*\bsh\b/);
    expect(zh.text).not.toContain('刚刚');
  });

  it('changed by hand: a lower limit, 16 MiB held in the group, an OOM kill, forks refused: the gauges follow', async () => {
    const source = limitsGauge(GROUP);
    await drawSource(source); // the source's first reading: what the counts were

    // A lower memory limit (v1: memory + swap held to it too, after the limit).
    if (v2) sh(`echo 32M > ${M}/memory.max`);
    else sh(`echo 32M > ${M}/memory.limit_in_bytes && echo 32M > ${M}/memory.memsw.limit_in_bytes`);
    let text = await drawSource(source);
    expect(text).toMatch(/ \d+\.\d of 32\.0 MiB/);
    const empty = gaugeOf(text, 'memory').full;

    // A process in the group holds 16 MiB (tail keeps its one long line until its input
    // ends, 30 s later); the gauge fills to about half of 32 MiB.
    const tasksBefore = g.pidsStats().current; // the container's shell and its sleep
    const holder = startInGroup('{ head -c 16M /dev/zero; sleep 30; } | tail | wc -c');
    await until('16 MiB in the group', () => g.memoryStats().current >= 16 * MIB);
    text = await drawSource(source);
    const used = num(text, / (\d+\.\d) of 32\.0 MiB/);
    expect(used).toBeGreaterThanOrEqual(16);
    expect(used).toBeLessThan(32);
    const half = gaugeOf(text, 'memory').full;
    expect(half).toBeGreaterThan(empty);
    expect(half / gaugeOf(text, 'memory').cells).toBeGreaterThan(0.4);
    expect(text).toMatch(/processes \(cgroup\.procs\): .*\btail\b/);
    expect(num(text, / (\d+) of 20 tasks/)).toBeGreaterThanOrEqual(5);
    killStarted(holder);
    await exited(holder);
    await until('the holder gone from the group', () => g.memoryStats().current < 8 * MIB);

    // 64 MiB (bounded by head) into a group of 32 MiB: the kernel OOM-kills tail.
    const kills = g.memoryStats().oomKills;
    const r = spawnSync('/bin/sh', inGroup("yes | tr -d '\\n' | head -c 64M | tail | wc -c"), { encoding: 'utf8', timeout: 90_000 });
    expect(r.stdout.trim()).toBe('0'); // tail was killed before it wrote
    // Mostly one kill; the killer may pick a second process while tail's pages are still
    // being freed (seen here: a shell of the group): the picture counts what the kernel says.
    const killsNow = g.memoryStats().oomKills;
    expect(killsNow).toBeGreaterThan(kills);
    text = await drawSource(source);
    expect(text).toContain(`✕ OOM kills: ${killsNow} (+${killsNow - kills} just now): the OOM killer ended a process of the group`);

    // The group filled to a pids limit by hand: two sleeps held in it (with their shell and
    // timeout), pids.max set to what it then holds; one more process moved in (a move is not
    // a fork: the limit lets it in) tries to fork, and the kernel refuses (EAGAIN).
    // The hog's processes gone first (a task leaves pids.current when it is reaped).
    await until("the hog's processes gone from the group", () => g.pidsStats().current <= tasksBefore);
    // Counted before the start: the filler's shell may join the group before spawn returns.
    const full = g.pidsStats().current + 4;
    const filler = startInGroup('sleep 10 & sleep 10 & wait');
    await until('the two sleeps in the group', () => g.pidsStats().current === full);
    sh(`echo ${full} > ${P}/pids.max`);
    const refused = g.pidsStats().refused;
    const fork = spawnSync('/bin/sh', inGroup('true'), { encoding: 'utf8', timeout: 30_000 });
    expect(fork.stderr).toMatch(/Resource temporarily unavailable/);
    expect(g.pidsStats().refused).toBe(refused + 1);
    await until('the refused process gone from the group', () => g.pidsStats().current === full);
    text = await drawSource(source);
    expect(text).toContain(` ${full} of ${full} tasks`);
    expect(gaugeOf(text, 'pids').full + 1).toBe(gaugeOf(text, 'pids').cells); // full, the last cell the peak mark
    expect(text).toContain(`${UNICODE_GLYPHS.cut} forks refused: ${refused + 1} (+1 just now): fork() failed at pids.max`);
    killStarted(filler);
    await exited(filler);
  });
});
