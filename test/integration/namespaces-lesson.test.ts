// The other namespaces lesson on the real kernel: the fact it is built around (Node cannot
// make a user namespace), the rootless container by hand with util-linux as the text shows
// it, each wrong state failing with its hint, the workbook's own solve, and a rootfs the
// unprivileged uid cannot reach refused with a message. Nothing may be left behind.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { rootlessUser, byHand, BOOTTIME_OFFSET, parseIdMap, parseTimeOffsets } from '../../src/lessons/09-namespaces.js';
import { solveLesson } from '../../src/runner.js';
import { ensureRootfs, startContainer, tryUserNamespaceFromNode, Ledger, HintedError } from '../../src/core/index.js';
import type { CheckResult } from '../../src/checks/result.js';
import { tempLab } from '../support/lab.js';
import { ByHand, rootfsShells } from '../support/by-hand.js';
import { doctor, machine } from '../../src/doctor.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

// The rootless container runs as an unprivileged uid: it must be able to reach the rootfs,
// as it can in a temporary lab (0755) and in a learner's home; one test closes one (0700).
const lab = tempLab('cl-ns-lesson-');
const lesson = findLesson('other-namespaces') as Lesson;
const user = rootlessUser(lab);
const R = lab.rootfs;
const sh = (script: string) => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
const byTitle = (checks: CheckResult[], title: string) => {
  const c = checks.find((x) => x.title === title);
  if (!c) throw new Error(`no check "${title}" in: ${checks.map((x) => `${x.status} ${x.title}`).join(' | ')}`);
  return c;
};
const failedTitles = (checks: CheckResult[]) => checks.filter((c) => c.status === 'fail').map((c) => c.title);

const FIRST_STAGE = `setpriv --reuid ${user.uid} --regid ${user.gid} --clear-groups unshare --user --map-root-user`;
const NAMESPACES = '--mount --uts --ipc --pid --net --cgroup';

/** Containers started by hand, as a learner's second terminal would. */
const learners = new ByHand();
const byHandContainer = (command: string, ready?: (pid: number) => boolean) => learners.start(command, ready);
const queueInside = (pid: number) => sh(`nsenter --target ${pid} --ipc ipcmk -Q`);

let before: ReturnType<typeof snapshot>;
beforeAll(() => {
  ensureRootfs(R);
  before = snapshot();
});
afterEach(async () => {
  learners.stopAll();
  await lesson.reset(lab);
});
afterAll(async () => {
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

describe('the fact the lesson is built on', () => {
  it('unshare(CLONE_NEWUSER) fails with EINVAL in a Node process, which has several threads', async () => {
    const t = await tryUserNamespaceFromNode();
    expect(t.threads).toBeGreaterThan(1);
    expect(t.error).toMatch(/^unshare\(CLONE_NEWUSER\): EINVAL/);
  });
});

describe('the other namespaces by hand with setpriv, unshare and nsenter', () => {
  it("the text's rootless container with a message queue inside passes; without the queue the IPC check fails with ipcmk", async () => {
    expect(byHand(lab)).toBe(`${FIRST_STAGE} ${NAMESPACES} --time --boottime ${BOOTTIME_OFFSET} --fork --mount-proc=${R}/proc chroot ${R} sh`);
    const pid = await byHandContainer(byHand(lab));
    let checks = await lesson.check(lab);
    expect(failedTitles(checks)).toEqual(['its own IPC namespace, holding an object']);
    expect(byTitle(checks, 'its own IPC namespace, holding an object').hint).toBe(`make one inside: nsenter --target ${pid} --ipc ipcmk -Q`);

    const hostQueues = sh('cat /proc/sysvipc/msg');
    queueInside(pid);
    // The queue is the container's alone: the host's IPC namespace lists what it did before.
    expect(sh('cat /proc/sysvipc/msg')).toBe(hostQueues);
    checks = await lesson.check(lab);
    expect(failedTitles(checks)).toEqual([]);
    expect(byTitle(checks, 'root inside maps to an unprivileged uid').reason).toContain(`"0 ${user.uid} 1"`);
    expect(byTitle(checks, 'its uid outside is that uid').reason).toMatch(new RegExp(`effective uid ${user.uid}$`));
    expect(byTitle(checks, 'a time namespace with a boottime offset').reason).toContain(`boottime offset ${BOOTTIME_OFFSET} s`);

    // The kernel's own view agrees with what the check read.
    expect(parseIdMap(fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8'))).toEqual([{ inside: 0, outside: user.uid, count: 1 }]);
    expect(parseTimeOffsets(fs.readFileSync(`/proc/${pid}/timens_offsets`, 'utf8')).boottime).toBe(BOOTTIME_OFFSET);

    const removed = await lesson.reset(lab);
    expect(removed.some((r) => r.startsWith(`process ${pid} `))).toBe(true);
    expect(rootfsShells()).toEqual([]);
  });

  it('a time namespace without an offset fails "a time namespace with a boottime offset"', async () => {
    const pid = await byHandContainer(`${FIRST_STAGE} ${NAMESPACES} --time --fork --mount-proc=${R}/proc chroot ${R} sh`);
    queueInside(pid);
    const checks = await lesson.check(lab);
    expect(failedTitles(checks)).toEqual(['a time namespace with a boottime offset']);
    const f = byTitle(checks, 'a time namespace with a boottime offset');
    expect(f.reason).toMatch(/boottime offset is 0/);
    expect(f.hint).toContain(`unshare --time --boottime ${BOOTTIME_OFFSET}`);
  });

  it('made by root with --map-root-user: "0 0 1" fails, with setpriv as the fix', async () => {
    const pid = await byHandContainer(`unshare --user --map-root-user ${NAMESPACES} --time --boottime ${BOOTTIME_OFFSET} --fork --mount-proc=${R}/proc chroot ${R} sh`);
    queueInside(pid);
    const checks = await lesson.check(lab);
    expect(failedTitles(checks)).toEqual(['root inside maps to an unprivileged uid']);
    const f = byTitle(checks, 'root inside maps to an unprivileged uid');
    expect(f.reason).toMatch(/maps 0 inside to 0 outside/);
    expect(f.hint).toContain(FIRST_STAGE);
  });

  it('made by root without a map: uid 65534 inside fails, with --map-root-user as the fix', async () => {
    const pid = await byHandContainer(`unshare --user ${NAMESPACES} --time --boottime ${BOOTTIME_OFFSET} --fork --root=${R} --mount-proc sh`);
    // No map: the host still sees uid 0, and inside that uid has no name but the overflow id.
    expect(fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8')).toBe('');
    expect(sh(`nsenter --target ${pid} --user --preserve-credentials id -u`).trim()).toBe('65534');
    queueInside(pid);
    const checks = await lesson.check(lab);
    expect(failedTitles(checks)).toEqual(['root inside maps to an unprivileged uid']);
    const f = byTitle(checks, 'root inside maps to an unprivileged uid');
    expect(f.reason).toMatch(/uid_map is empty.*65534/);
    expect(f.hint).toMatch(/--map-root-user/);
  });

  it("no user namespace at all (lesson 5's container), and no cgroup namespace: each fails with the flag to add", async () => {
    await byHandContainer(`unshare ${NAMESPACES} --fork --mount-proc=${R}/proc chroot ${R} sh`);
    let checks = await lesson.check(lab);
    expect(failedTitles(checks)).toEqual(['its own user namespace']);
    expect(byTitle(checks, 'its own user namespace').hint).toContain(FIRST_STAGE);
    await lesson.reset(lab);

    const pid = await byHandContainer(`${FIRST_STAGE} --mount --uts --ipc --pid --net --time --boottime ${BOOTTIME_OFFSET} --fork --mount-proc=${R}/proc chroot ${R} sh`);
    queueInside(pid);
    checks = await lesson.check(lab);
    expect(failedTitles(checks)).toEqual(['its own cgroup namespace, / inside']);
    expect(byTitle(checks, 'its own cgroup namespace, / inside').hint).toBe('add --cgroup to unshare (CLONE_NEWCGROUP)');
  });
});

describe("the workbook's own rootless container", () => {
  it('solve passes the checks and leaves nothing behind', async () => {
    const s0 = snapshot();
    const report = await solveLesson(lesson, lab);
    expect(report.steps.filter((s) => s.error)).toEqual([]);
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report.passed).toBe(true);
    const shown = report.steps.map((s) => s.output ?? '').join('\n');
    expect(shown).toMatch(/unshare\(CLONE_NEWUSER\) -> unshare\(CLONE_NEWUSER\): EINVAL/);
    expect(shown).toContain('Permission denied'); // /etc/shadow, as the ordinary user
    expect(rootfsShells()).toEqual([]);
    expect(leaks(s0, snapshot())).toEqual({});
  });

  it('a rootfs the unprivileged uid cannot reach is refused with what blocks it and what to do', async () => {
    const closed = tempLab('cl-ns-closed-');
    try {
      ensureRootfs(closed.rootfs);
      fs.chmodSync(closed.root, 0o700); // as /root is
      const ledger = new Ledger();
      const start = startContainer({ rootfs: closed.rootfs, namespaces: ['mnt', 'pid'], rootless: user, argv: ['/bin/true'] }, ledger);
      await expect(start).rejects.toBeInstanceOf(HintedError);
      await expect(start).rejects.toThrow(new RegExp(`uid ${user.uid}, which cannot reach .*: ${closed.root} is mode 700`));
      await expect(start).rejects.toMatchObject({ hint: expect.stringMatching(/CONTAINER_LESSONS_HOME/) });
      expect(await ledger.cleanup()).toEqual([]);
    } finally {
      closed.dispose();
    }
  });
});

describe('doctor', () => {
  const settings = { supported: true, unprivilegedClone: null, maxUserNamespaces: '15000', apparmorRestrict: null };
  const finding = (over: object, probes: object = {}) => doctor(lab, { ...machine, userns: () => ({ ...settings, ...over }), ...probes }).findings.find((f) => f.name === 'user namespaces');

  it('says whether an unprivileged user may make a user namespace here, naming what it read', () => {
    const f = doctor(lab).findings.find((x) => x.name === 'user namespaces');
    expect(f).toMatchObject({ level: 'ok' });
    expect(f?.detail).toMatch(/user\.max_user_namespaces = \d+/);
  });
  it('each setting that forbids it is a warning with the sysctl that allows it for the lesson', () => {
    expect(finding({ unprivilegedClone: '0' })).toMatchObject({ level: 'warn', fix: expect.stringMatching(/^sysctl -w kernel\.unprivileged_userns_clone=1/) });
    expect(finding({ maxUserNamespaces: '0' })).toMatchObject({ level: 'warn', fix: expect.stringMatching(/^sysctl -w user\.max_user_namespaces=/) });
    expect(finding({ apparmorRestrict: '1' })).toMatchObject({ level: 'warn', detail: expect.stringMatching(/Ubuntu 24\.04/), fix: expect.stringMatching(/apparmor_restrict_unprivileged_userns=0/) });
    expect(finding({ apparmorRestrict: '1' })?.detail).toMatch(new RegExp(`lesson ${lesson.number} needs it`));
  });
  it('a kernel without time namespaces is a warning, not an error: the other lessons run', () => {
    const r = doctor(lab, { ...machine, hasNamespace: (t) => t !== 'time' });
    expect(r.findings.find((f) => f.name === 'namespace time')).toMatchObject({ level: 'warn', detail: expect.stringMatching(/Linux 5\.6/) });
  });
});
