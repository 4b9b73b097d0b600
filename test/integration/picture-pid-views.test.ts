// Lesson 4's picture on the real kernel: the container's process tree with the pid the host
// sees beside the pid inside. The workbook's own container (solve --keep), then a process
// entered by hand with nsenter, a learner's second container made with util-linux unshare,
// and PID 1 killed from the host: each change shows in the next drawing. Nothing may be
// left behind.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { solveLesson, resetLesson } from '../../src/runner.js';
import { ensureRootfs, enterContainer, procfs, readMarker, type Running } from '../../src/core/index.js';
import { findLabProcesses, containerLeaders } from '../../src/checks/containers.js';
import { drawPidViews } from '../../src/pictures/pid-views.js';
import { UNICODE_GLYPHS, ASCII_GLYPHS } from '../../src/pictures/glyphs.js';
import { tempLab } from '../support/lab.js';
import stringWidth from 'string-width';
import { BOTH_GLYPHS, shown, shownInChinese } from '../support/picture.js';
import { ByHand } from '../support/by-hand.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-pic-pid-');
const lesson = findLesson('pid-namespace') as Lesson;
const R = lab.rootfs;
const HOWTO = `unshare --mount --uts --ipc --pid --fork --mount-proc=${R}/proc chroot ${R} sh`;
const learners = new ByHand();
const entered: ChildProcess[] = [];
const routed: Running[] = [];

/** The picture at 80 and 120 columns in both glyph sets, each checked for its width and
 * (ASCII) its characters; the 120-column UNICODE text is returned, title and legend too. */
function draw(): string {
  let wide = '';
  for (const glyphs of BOTH_GLYPHS)
    for (const width of [80, 120]) {
      const text = shown(drawPidViews({ rootfs: R, howto: HOWTO, startStep: 3 }, { width, glyphs }), width, glyphs).lines;
      if (glyphs.utf8 && width === 120) wide = text.join('\n');
    }
  return wide;
}

/** The 80-column UNICODE drawing alone. */
const draw80 = () =>
  drawPidViews({ rootfs: R, howto: HOWTO, startStep: 3 }, { width: 80, glyphs: UNICODE_GLYPHS })
    .lines.map((l) => l.text)
    .join('\n');

/** A table row: host pid, then the pid inside (● for PID 1, · for a host process), then the
 * process, as the 120-column UNICODE drawing writes it. */
const row = (host: number, inside: string, process: string) => new RegExp(`^ *${host} │ +${inside} │ .*${process.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm');

/** The columns of a line's column rules (│), as a terminal shows them: a Chinese character
 * takes two. */
const ruleColumns = (l: string) => [...l.matchAll(/│/g)].map((m) => stringWidth(l.slice(0, m.index)));

/** The host pid of the PID 1 of each container in the rootfs, as the check finds them. */
const pid1s = () =>
  containerLeaders(findLabProcesses(readMarker(R)!.id))
    .filter((p) => p.nspid.at(-1) === 1 && p.nspid.length > 1)
    .map((p) => p.pid);

async function waitFor<T>(what: string, get: () => T | undefined): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let before: ReturnType<typeof snapshot>;
beforeAll(() => {
  ensureRootfs(R);
  before = snapshot();
}, 120_000);
afterAll(async () => {
  try {
    for (const c of entered) c.kill('SIGKILL');
    for (const r of routed) await r.kill();
    learners.stopAll();
    await resetLesson(lesson, lab);
    expect(leaks(before, snapshot())).toEqual({});
  } finally {
    lab.dispose();
  }
});

describe("lesson 4's picture: two views of one process tree", () => {
  it('says when there is no rootfs, or no container running in it, and how to start one', () => {
    const none = drawPidViews({ rootfs: `${lab.root}/nowhere`, howto: HOWTO, startStep: 3 }, { width: 80, glyphs: UNICODE_GLYPHS });
    expect(none.lines.map((l) => l.text).join('\n')).toMatch(/no root filesystem at .*nowhere/);
    expect(none.lines.every((l) => l.dim)).toBe(true);

    const text = draw();
    expect(text).toContain('no container is running in the rootfs: run step 3, or in a second terminal:');
    expect(lesson.steps[2]!.container).toBeDefined();
    // The command whole, broken between words where the width ends.
    expect(text).toContain('  unshare --mount --uts --ipc --pid --fork');
    const narrow = drawPidViews({ rootfs: R, howto: HOWTO, startStep: 3 }, { width: 80, glyphs: ASCII_GLYPHS }).lines.slice(1);
    expect(narrow.length).toBeGreaterThan(1);
    expect(narrow.map((l) => l.text.trim()).join(' ')).toBe(HOWTO);
  });

  it("draws the workbook's container, shows a process entered by hand with nsenter with both its pids, and a learner's second container", async () => {
    expect((await solveLesson(lesson, lab, { keep: true })).passed).toBe(true);
    const [init] = pid1s();
    expect(init).toBeDefined();
    const ns = procfs.nsId(init!, 'pid')!;
    let text = draw();
    expect(text).toContain(`PID namespaces: the host's ${procfs.nsId('self', 'pid')}, the container's ${ns}`);
    expect(text).toMatch(row(init!, '● 1', '/bin/sh -c while : ; do sleep 3600; done'));
    // PID 1's parent is a host process the container cannot see: drawn above it with ·.
    expect(text).toMatch(row(procfs.ppid(init!)!, '·', ''));
    // The idle shell's sleep, a child of PID 1, with the pid it has inside.
    const idleSleep = procfs.descendants(init!).find((p) => procfs.comm(p) === 'sleep')!;
    const idleInside = procfs.parseNSpid(procfs.readStatus(idleSleep))!;
    expect(idleInside).toHaveLength(2);
    expect(text).toMatch(row(idleSleep, String(idleInside[1]), '─ sleep 3600'));

    // In Chinese: the same tree under Chinese heads, lined up in columns, within 80 of them.
    const zh = await shownInChinese(async (opts) => drawPidViews({ rootfs: R, howto: HOWTO, startStep: 3 }, opts), 80);
    expect(zh.text).toContain(`PID 命名空间：宿主机的 ${procfs.nsId('self', 'pid')}，容器的 ${ns}`);
    const head = zh.lines.find((l) => /宿主机 │ .*容器内 │ 进程$/.test(l))!;
    expect(head).toBeDefined();
    expect(zh.text).toMatch(row(init!, '● 1', '/bin/sh -c while : ; do sleep 3600; done'));
    const initRow = zh.lines.find((l) => row(init!, '● 1', '').test(l))!;
    expect(ruleColumns(head)).toEqual(ruleColumns(initRow));
    expect(zh.text).toContain('PID 1，命名空间的 init：它一退出，内核就杀死其余的进程');

    // By hand: a process entered into the container's PID (and mount) namespace.
    const nsenter = spawn('nsenter', ['--target', String(init), '--pid', '--mount', 'sleep', '30'], { stdio: 'ignore' });
    entered.push(nsenter);
    const sleeper = await waitFor('the entered sleep', () => procfs.listPids().find((p) => procfs.ppid(p) === nsenter.pid && procfs.comm(p) === 'sleep' && procfs.nsId(p, 'pid') === ns));
    const [host, inside] = procfs.parseNSpid(procfs.readStatus(sleeper))!;
    expect(host).toBe(sleeper);
    expect(inside).toBeGreaterThan(1);
    text = draw();
    expect(text).toMatch(row(sleeper, String(inside), '└─ sleep 30'));
    // nsenter stays on the host: the edge of the namespace, drawn as its parent.
    expect(text).toMatch(row(nsenter.pid!, '·', `nsenter --target ${init} --pid --mount sleep 30`));
    expect(text).not.toContain('without a PID namespace of its own');

    // The lesson's shell route (the TUI's shell key): the workbook's helper joins the
    // container's namespaces and starts the command there, as another child of the host.
    const shellRoute = await enterContainer(init!, lesson.needs!.namespaces!, ['sleep', '31']);
    routed.push(shellRoute);
    const routedNspid = procfs.parseNSpid(procfs.readStatus(shellRoute.pid))!;
    expect(routedNspid[0]).toBe(shellRoute.pid);
    text = draw();
    expect(text).toMatch(row(shellRoute.pid, String(routedNspid[1]), '└─ sleep 31'));
    expect(text).toMatch(row(procfs.ppid(shellRoute.pid)!, '·', 'nsinit.js enter'));

    // A learner's container beside the workbook's: one more line, with its PID 1's host pid.
    const learner = await learners.start(HOWTO);
    text = draw();
    expect(text).toMatch(new RegExp(`^\\+ container 2: pid:\\[\\d+\\], host pid ${learner} is its pid 1 sh, 1 process$`, 'm'));
    expect(draw80()).toMatch(new RegExp(`^\\+ container 2: pid:\\[\\d+\\], host pid ${learner} is its pid 1 sh, 1 process$`, 'm'));
    const zh2 = await shownInChinese(async (opts) => drawPidViews({ rootfs: R, howto: HOWTO, startStep: 3 }, opts), 80);
    expect(zh2.text).toMatch(new RegExp(`^\\+ 容器 2：pid:\\[\\d+\\]，宿主机 pid ${learner} 即容器内 pid 1 sh，1 个进程$`, 'm'));

    // Kill the workbook's PID 1 from the host: the kernel ends every process in its
    // namespace, the entered sleep too, and the learner's container is drawn in full.
    process.kill(init!, 'SIGKILL');
    expect(await procfs.waitExited([init!, sleeper], 5000)).toBe(true);
    text = draw();
    expect(text).not.toMatch(row(sleeper, String(inside), 'sleep 30'));
    expect(text).not.toContain('+ container 2');
    expect(text).toMatch(row(learner, '● 1', 'sh'));
    expect(text).toContain(`PID namespaces: the host's ${procfs.nsId('self', 'pid')}, the container's ${procfs.nsId(learner, 'pid')}`);
    // util-linux unshare forked it and waits for it on the host.
    expect(text).toMatch(row(procfs.ppid(learner)!, '·', `unshare --mount --uts --ipc --pid --fork`));

    learners.stopAll();
    await resetLesson(lesson, lab);
    expect(pid1s()).toEqual([]);
    expect(draw()).toContain('no container is running in the rootfs');
    expect(fs.existsSync(R)).toBe(true);
  }, 120_000);
});
