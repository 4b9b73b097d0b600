// Lesson 9's picture on the real kernel: the id map of the workbook's rootless container
// (solve --keep), the namespaces it does not share with the host, its cgroup path, clock
// offsets and System V objects; then changes made by hand show in the next drawing: a
// message queue made inside with ipcmk, a second container whose map the host writes
// afterwards (a range, as newuidmap writes one from /etc/subuid), a third made by root whose
// root is the host's root. Nothing may be left behind.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { rootlessUser, byHand, BOOTTIME_OFFSET, parseIdMap, parseTimeOffsets } from '../../src/lessons/09-namespaces.js';
import { solveLesson, resetLesson } from '../../src/runner.js';
import { ensureRootfs, procfs, readMarker } from '../../src/core/index.js';
import { findLabProcesses, containerLeaders } from '../../src/checks/containers.js';
import { drawIdMap } from '../../src/pictures/id-map.js';
import { UNICODE_GLYPHS } from '../../src/pictures/glyphs.js';
import { tempLab } from '../support/lab.js';
import stringWidth from 'string-width';
import { BOTH_GLYPHS, shown, shownInChinese } from '../support/picture.js';
import { ByHand } from '../support/by-hand.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-pic-idmap-');
const lesson = findLesson('other-namespaces') as Lesson;
const R = lab.rootfs;
const user = rootlessUser(lab);
const learners = new ByHand();
/** What the lesson gives its picture (src/lessons/09-namespaces.ts). */
const subject = { lab, lessonUser: user, howto: byHand(lab), parseIdMap, parseTimeOffsets };
const sh = (script: string) => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });

/** The picture at 60 (a narrow Work pane), 80 and 120 columns in both glyph sets, each
 * checked for its width and (ASCII) its characters; the 120-column UNICODE text is
 * returned, title and legend too. */
async function draw(): Promise<string> {
  let wide = '';
  for (const glyphs of BOTH_GLYPHS)
    for (const width of [60, 80, 120]) {
      const text = shown(await drawIdMap(subject, { width, glyphs }), width, glyphs).lines;
      if (glyphs.utf8 && width === 120) wide = text.join('\n');
    }
  return wide;
}

/** The host pid of the lesson's container: PID 1 of its own namespace, in its own user namespace. */
function lessonContainer(): number {
  const host = procfs.nsId('self', 'user');
  const own = containerLeaders(findLabProcesses(readMarker(R)!.id)).find((p) => p.ns.user !== host && p.nspid.length > 1 && p.nspid.at(-1) === 1);
  if (!own) throw new Error('no rootless container on the lab rootfs');
  return own.pid;
}

/** The host's own System V message queues: /proc/sysvipc lists the reader's IPC namespace. */
const hostQueues = () =>
  fs
    .readFileSync('/proc/sysvipc/msg', 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim()).length;

let before: ReturnType<typeof snapshot>;
beforeAll(async () => {
  ensureRootfs(R);
  await resetLesson(lesson, lab);
  before = snapshot();
}, 120_000);
afterAll(async () => {
  try {
    learners.stopAll();
    await resetLesson(lesson, lab);
    expect(leaks(before, snapshot())).toEqual({});
  } finally {
    lab.dispose();
  }
});

describe("lesson 9's picture: the id map and the other namespaces", () => {
  it('says, dim, that nothing runs and how to start a container', async () => {
    const p = await drawIdMap(subject, { width: 80, glyphs: UNICODE_GLYPHS });
    // The lines are wrapped, not cut: read as one text, they say it all.
    const text = p.lines.map((l) => l.text.trim()).join(' ');
    expect(text).toContain(`(nothing runs: no running process has ${R} as its root directory`);
    expect(text).toContain(`start one: ${byHand(lab)}`);
    expect(p.lines.every((l) => l.dim)).toBe(true);
    await draw();
  });

  it("draws the workbook's rootless container: root inside is the lesson's unprivileged uid, every namespace its own", async () => {
    const report = await solveLesson(lesson, lab, { keep: true });
    expect(report.passed).toBe(true);
    const pid = lessonContainer();
    const text = await draw();
    const ns = (t: string) => procfs.nsId(pid, t)!.match(/\d+/)![0];
    const hostNs = (t: string) => procfs.nsId('self', t)!.match(/\d+/)![0];

    expect(text).toContain(`pid ${pid} (pid 1 inside) sh  ${procfs.nsId(pid, 'user')}`);
    // The map as uid_map and gid_map say it: 0 inside, the lesson's uid and gid on the host.
    expect(text).toMatch(new RegExp(`│ uid 0 +│ ───→ │ ● uid ${user.uid}  unprivileged \\(.*\\) +│`));
    expect(text).toMatch(new RegExp(`│ gid 0 +│ ───→ │ ● gid ${user.gid}\\b.*│`));
    // The table: each namespace of the container against the host's, by inode.
    for (const t of ['user', 'cgroup', 'time', 'ipc', 'mnt', 'uts', 'pid', 'net']) expect(text).toMatch(new RegExp(`● ${t} +${ns(t)} != ${hostNs(t)}`));
    // cgroup: the root inside, the real path on the host (the check's choice of hierarchy).
    const hostPath = procfs.parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).find((c) => c.path !== '/');
    if (hostPath) {
      const label = `${hostPath.hierarchy}:${hostPath.controllers.join(',')}:`;
      expect(text).toContain(`● cgroup  inside  ${label}/  (its own namespace: its cgroup is /)`);
      expect(text).toContain(`host    ${label}${hostPath.path}`);
    } else {
      expect(text).toMatch(/● cgroup  inside  \S+:\//);
    }
    expect(text).toContain(`● time    boottime +${BOOTTIME_OFFSET} s (1 d), monotonic +0 s`);
    // The workbook's step made one queue inside; the host's list is its own.
    expect(text).toContain('● ipc     inside  1 msg queue (key 0x636c6e73), 0 shm, 0 sem');
    expect(text).toMatch(new RegExp(`host    ${hostQueues()} msg queues?, \\d+ shm, \\d+ sem`));
    expect(text).toMatch(/an id not in the map reads as 65534 inside/);

    // In Chinese, at 80 columns and at 60: the boxes, the table and the lines below in
    // Chinese words, each box's lines one width in columns (a Chinese character takes two).
    for (const width of [80, 60]) {
      const zh = await shownInChinese((opts) => drawIdMap(subject, opts), width);
      expect(zh.text).toContain(`pid ${pid}（容器内 pid 1） sh`);
      expect(zh.text).toMatch(/┌─ 容器内 ─+┐ +┌─ 宿主机 ─+┐/);
      const boxLines = zh.lines.filter((l) => /^ [┌│└]/.test(l));
      expect(boxLines.length).toBeGreaterThanOrEqual(4);
      expect(new Set(boxLines.map((l) => stringWidth(l))).size).toBe(1);
      expect(zh.text).toMatch(new RegExp(`│ uid 0 +│ ───→ │ ● uid ${user.uid}  非特权（`));
      expect(zh.text).toMatch(/^ {2}ns +容器 +宿主机/m);
      expect(zh.text).toContain(`● time    boottime +${BOOTTIME_OFFSET} s (1 d), monotonic +0 s`);
      // The two views line up under each other; at 60 columns their ends are cut.
      if (hostPath) {
        const label = `${hostPath.hierarchy}:${hostPath.controllers.join(',')}:`;
        expect(zh.text).toContain(width === 80 ? `● cgroup  容器内  ${label}/  （自己的命名空间：它的 cgroup 是 /）` : `● cgroup  容器内  ${label}/  （`);
        expect(zh.text).toContain(`          宿主机  ${label}`);
      }
      expect(zh.text).toContain(width === 80 ? '● ipc     容器内  1 个 msg 队列（键 0x636c6e73），0 个 shm，0 个 sem' : '● ipc     容器内  1 个 msg 队列（键 0x636c6e73）');
      expect(zh.text).toMatch(/^ {10}宿主机  \d+ 个 msg 队列/m);
      expect(zh.text).toContain('不在映射中的 ID 在容器内显示为 65534');
    }
  });

  it('shows a queue made inside by hand with ipcmk, and not on the host', async () => {
    const pid = lessonContainer();
    const hostBefore = hostQueues();
    const made = sh(`nsenter --target ${pid} --ipc ipcmk -Q`);
    expect(made).toMatch(/Message queue id/);
    const text = await draw();
    expect(text).toMatch(/● ipc     inside  2 msg queues \(key 0x636c6e73 0x[0-9a-f]{8}\), 0 shm, 0 sem/);
    expect(hostQueues()).toBe(hostBefore);
    expect(text).toMatch(new RegExp(`host    ${hostBefore} msg queues?`));
  });

  it("a second container whose map the host writes afterwards, and a third whose root is the host's root", async () => {
    const own = lessonContainer();
    // Made by root without a map: every id inside is the overflow id until one is written.
    const second = await learners.start(`unshare --user --mount --pid --fork --root=${R} --mount-proc sh`);
    let text = await draw();
    expect(text).toContain(`pid ${own} (pid 1 inside) sh  ${procfs.nsId(own, 'user')}  (the check reads this one)`);
    expect(text).toContain(`pid ${second} (pid 1 inside) sh  ${procfs.nsId(second, 'user')}`);
    expect(text).toContain('✕ uid_map is empty: every id inside is 65534 (the overflow id, nobody)');

    // Root on the host may write any range, once: 65536 ids from 100000, as newuidmap would.
    fs.writeFileSync(`/proc/${second}/uid_map`, '0 100000 65536\n');
    fs.writeFileSync(`/proc/${second}/gid_map`, '0 100000 65536\n');
    text = await draw();
    expect(text).not.toContain('uid_map is empty');
    expect(text).toMatch(/│ uid 0\.\.65535 +│ ───→ │ ● uid 100000\.\.165535  unprivileged ids +│/);
    expect(text).toMatch(/│ gid 0\.\.65535 +│ ───→ │ ● gid 100000\.\.165535 +│/);
    // The first container is still the one the table and the lines below are about.
    expect(text).toContain(`namespaces: /proc/${own}/ns/* against the host's /proc/self/ns/*`);

    // Made by root with --map-root-user: "0 0 1", root inside is the host's root.
    const third = await learners.start(`unshare --user --map-root-user --mount --pid --fork --mount-proc=${R}/proc chroot ${R} sh`);
    text = await draw();
    expect(fs.readFileSync(`/proc/${third}/uid_map`, 'utf8').trim().split(/\s+/)).toEqual(['0', '0', '1']);
    expect(text).toContain(`pid ${third} (pid 1 inside) sh`);
    expect(text).toMatch(/│ uid 0 +│ ───→ │ ✕ uid 0  the host's root: not rootless +│/);
  });

  it('says nothing runs once the containers are gone', async () => {
    learners.stopAll();
    await resetLesson(lesson, lab);
    expect(await draw()).toMatch(/nothing runs/);
  });
});
