// The locking-root-in lesson on the real kernel: the workbook's own solve, the by-hand
// route as the text gives it (setpriv; runc from the config.json the lesson writes, when
// runc is installed), and each wrong state failing with its own check: a plain chroot (the
// escape reads the host's file), full capabilities, no filter, a filter that lets unshare
// through. Nothing may be left behind.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync, execFileSync } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { byHand, runcConfig, setprivLoadsFilters, RUNC_ID, SETPRIV_CAPS } from '../../src/lessons/10-locking-root-in.js';
import { solveLesson } from '../../src/runner.js';
import { ensureRootfs, procfs, startContainer, Ledger, seccomp, DOCKER_DEFAULT_CAPS, parseProcSecurity, decodeCaps } from '../../src/core/index.js';
import type { CheckResult } from '../../src/checks/result.js';
import { tempLab } from '../support/lab.js';
import { ByHand, rootfsShells } from '../support/by-hand.js';
import { doctor, machine } from '../../src/doctor.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-lock-lesson-');
const lesson = findLesson('locking-root-in') as Lesson;
const R = lab.rootfs;
const TITLES = {
  pivoted: 'its own mount namespace, the old root gone',
  escape: 'the chroot escape finds no host file',
  caps: "capabilities no wider than Docker's 14",
  nnp: 'no_new_privs is set',
  seccomp: "a seccomp filter refuses unshare and Docker's other refusals",
};
const byTitle = (checks: CheckResult[], title: string) => {
  const c = checks.find((x) => x.title === title);
  if (!c) throw new Error(`no check "${title}" in: ${checks.map((x) => `${x.status} ${x.title}`).join(' | ')}`);
  return c;
};
const failedTitles = (checks: CheckResult[]) => checks.filter((c) => c.status === 'fail').map((c) => c.title);
const marker = path.join(lab.root, 'host-secret.txt');
const hasRunc = spawnSync('runc', ['--version']).status === 0;
/** What root holds here: every capability the kernel has, less what this machine's own
 * bounding set lacks (a VM's may lack some). */
const hostCaps = decodeCaps(parseProcSecurity(fs.readFileSync('/proc/self/status', 'utf8')).bounding).length;

/** Containers started by hand, as a learner's second terminal would. */
const learners = new ByHand();
const byHandContainer = (command: string, ready?: (pid: number) => boolean) => learners.start(command, ready);
const status = (pid: number) => parseProcSecurity(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
/** The setpriv at the end of the by-hand route has run: its shell carries the locks. */
const locked = (pid: number) => {
  try {
    return status(pid).noNewPrivs;
  } catch {
    return false;
  }
};
/** The by-hand route's setup shell has gone through pivot_root and exec'd the last sh. */
const pivotedDone = (pid: number) => {
  try {
    return !fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').includes('old_root') && procfs.cmdline(pid) === 'sh';
  } catch {
    return false;
  }
};

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

describe("the workbook's own solve", () => {
  it('passes every check, shows each door closing, and leaves nothing behind', async () => {
    const s0 = snapshot();
    const report = await solveLesson(lesson, lab);
    expect(report.steps.filter((s) => s.error)).toEqual([]);
    expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    const out = report.steps.map((s) => s.output ?? '');
    // The escape reads the host's file from a plain chroot, and not from the pivoted container.
    expect(out[1]).toContain(`${marker}: "only the host can read this"`);
    expect(out[2]).toContain(`${marker}: not found from there`);
    // Full capabilities: mount and a link work; with Docker's 14 they are refused, a user
    // namespace is still open, and a setuid copy of id still makes an ordinary user root.
    expect(out[3]).toContain(`CapBnd ${hostCaps}: `);
    expect(out[3]).toContain('mounted a tmpfs');
    expect(out[4]).toMatch(/CapBnd 14: chown dac_override/);
    expect(out[4]).toMatch(/mount: .*(permission denied|Operation not permitted)/i);
    expect(out[4]).toMatch(/RTNETLINK answers: Operation not permitted/);
    expect(out[4]).toContain('mounted a tmpfs in a user namespace of its own');
    expect(out[4]).toMatch(/uid=1000 gid=1000 euid=0/);
    // no_new_privs: the same setuid copy gains nothing.
    expect(out[5]).toContain('NoNewPrivs: 1');
    expect(out[5]).toMatch(/uid=1000 gid=1000 groups=1000/);
    expect(out[5]).not.toMatch(/euid=0/);
    // The filter, listed, then in force: unshare refused even for a user namespace.
    expect(out[6]).toMatch(/ret #0x50001 .*ERRNO\(EPERM\)/i);
    expect(out[7]).toContain('Seccomp: 2   Seccomp_filters: 1');
    expect(out[7]).toMatch(/unshare: unshare failed: Operation not permitted/);
    // The filter file and the runc bundle the by-hand route uses: there while the lesson
    // is open (the steps say where), gone with everything else when it ends.
    expect(out[6]).toContain(`written to ${path.join(lab.root, 'seccomp/refuse.bpf')} (160 bytes)`);
    expect(out[8]).toContain(`written to ${path.join(lab.root, 'runc-bundle/config.json')}`);
    for (const p of ['seccomp', 'runc-bundle', 'host-secret.txt']) expect(fs.existsSync(path.join(lab.root, p))).toBe(false);
    expect(rootfsShells()).toEqual([]);
    expect(fs.existsSync(path.join(R, 'tmp/id-setuid'))).toBe(false);
    expect(leaks(s0, snapshot())).toEqual({});
  });
});

describe('by hand, as the text gives it', () => {
  it("setpriv: Docker's capabilities and no_new_privs pass; without a filter only the seccomp check fails, naming setpriv --seccomp-filter and runc", async () => {
    expect(byHand(lab)).toContain(`setpriv --bounding-set ${SETPRIV_CAPS} --inh-caps -all --no-new-privs sh`);
    const pid = await byHandContainer(byHand(lab), locked);
    expect(status(pid).bounding).toBe(0xa80425fbn); // what `docker run` shows as CapBnd
    const checks = await lesson.check(lab);
    expect(failedTitles(checks)).toEqual([TITLES.seccomp]);
    const f = byTitle(checks, TITLES.seccomp);
    expect(f.reason).toMatch(/^Seccomp: 0: no filter/);
    expect(f.hint).toMatch(/setpriv --seccomp-filter .*2\.41.*runc/);
    expect(byTitle(checks, TITLES.escape).reason).toMatch(/chroot\("tmp"\) ok.*not found/);
  });

  it.skipIf(!setprivLoadsFilters())('setpriv --seccomp-filter with the file the lesson writes passes every check', async () => {
    const file = path.join(lab.root, 'seccomp/refuse.bpf');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, seccomp.encodeFilter(seccomp.lessonFilter()));
    await byHandContainer(byHand(lab, file), locked);
    expect(failedTitles(await lesson.check(lab))).toEqual([]);
  });

  describe.skipIf(!hasRunc)('runc, from the config.json the lesson writes', () => {
    const bundle = path.join(lab.root, 'runc-bundle');
    const runc = (config: object) => {
      fs.mkdirSync(bundle, { recursive: true });
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
      execFileSync('runc', ['run', '--detach', '--bundle', bundle, RUNC_ID], { stdio: 'ignore' });
    };
    const detached = { terminal: false, args: ['sh', '-c', 'while : ; do sleep 3600; done'] };
    // On a cgroup v2 host, runc turns on every controller in the root's subtree_control and
    // leaves them on: put back what it changed (on a v1 or hybrid host it changes nothing there).
    const subtree = '/sys/fs/cgroup/cgroup.subtree_control';
    const v2 = fs.existsSync(subtree);
    const controllersBefore = v2 ? fs.readFileSync(subtree, 'utf8').split(/\s+/).filter(Boolean) : [];
    afterEach(async () => {
      if (!v2) return;
      await lesson.reset(lab); // runc's group first: a controller its group uses cannot be turned off

      for (const c of fs.readFileSync(subtree, 'utf8').split(/\s+/).filter(Boolean)) if (!controllersBefore.includes(c)) fs.writeFileSync(subtree, `-${c}`);
    });

    it('passes every check; reset deletes the runc container', async () => {
      runc(runcConfig(lab, detached));
      const checks = await lesson.check(lab);
      expect(failedTitles(checks)).toEqual([]);
      expect(byTitle(checks, TITLES.seccomp).reason).toMatch(/answers ERRNO\(EPERM\) to unshare/);
      const removed = await lesson.reset(lab);
      expect(removed).toContain(`runc container ${RUNC_ID}`);
      expect(fs.existsSync(`/run/runc/${RUNC_ID}`)).toBe(false);
    });

    it('a config.json whose seccomp list leaves out unshare fails the filter check, naming it', async () => {
      const config = runcConfig(lab, detached);
      const [refused] = config.linux.seccomp.syscalls;
      refused!.names = refused!.names.filter((n) => n !== 'unshare');
      runc(config);
      const checks = await lesson.check(lab);
      expect(failedTitles(checks)).toEqual([TITLES.seccomp]);
      expect(byTitle(checks, TITLES.seccomp).reason).toMatch(/lets through unshare on /);
    });
  });
});

describe('wrong states, each failing with its own check', () => {
  it('a plain chroot: the escape reads the host file, and the check shows how', async () => {
    fs.rmSync(marker, { force: true });
    await byHandContainer(`chroot ${R} sh`);
    const checks = await lesson.check(lab);
    expect(failedTitles(checks)).toEqual(Object.values(TITLES));
    const e = byTitle(checks, TITLES.escape);
    expect(e.reason).toMatch(new RegExp(`reached the host's root and read ${marker}: chroot\\("tmp"\\) ok, chdir\\(".."\\) x \\d+ ok, chroot\\("."\\) ok`));
    expect(e.hint).toMatch(/pivot_root/);
    expect(fs.readFileSync(marker, 'utf8')).toBe('only the host can read this\n'); // the check wrote it
    expect(byTitle(checks, TITLES.caps).reason).toMatch(new RegExp(`CapBnd holds ${hostCaps - 14} beyond Docker's: .*sys_admin.*CAP_SYS_ADMIN alone`));
    expect(byTitle(checks, TITLES.nnp).reason).toMatch(/^NoNewPrivs: 0/);
  });

  it("lesson 3's container with every capability: the escape finds nothing, the three locks fail", async () => {
    await byHandContainer(byHand(lab).replace(/exec setpriv .* sh'$/, "exec sh'"), pivotedDone);
    const checks = await lesson.check(lab);
    expect(failedTitles(checks)).toEqual([TITLES.caps, TITLES.nnp, TITLES.seccomp]);
    expect(byTitle(checks, TITLES.caps).hint).toContain(`setpriv --bounding-set ${SETPRIV_CAPS}`);
  });

  it('a filter that lets unshare through fails the filter check, naming unshare', async () => {
    const ledger = new Ledger();
    try {
      const refused = seccomp.REFUSED.filter((n) => n !== 'unshare');
      await startContainer(
        {
          rootfs: R,
          namespaces: ['mnt', 'uts', 'ipc', 'pid', 'net'],
          mountProc: true,
          confine: { capabilities: [...DOCKER_DEFAULT_CAPS], noNewPrivs: true, seccomp: [seccomp.lessonFilter(seccomp.seccompArch(), refused)] },
          argv: ['/bin/sh', '-c', 'while : ; do sleep 3600; done'],
        },
        ledger,
      );
      const checks = await lesson.check(lab);
      expect(failedTitles(checks)).toEqual([TITLES.seccomp]);
      expect(byTitle(checks, TITLES.seccomp).reason).toMatch(new RegExp(`lets through unshare on ${seccomp.seccompArch().name}$`));
    } finally {
      await ledger.cleanup();
    }
  });
});

describe('doctor', () => {
  it('names the seccomp actions of this kernel, and a kernel without seccomp filters is an error', () => {
    expect(doctor(lab).findings.find((f) => f.name === 'seccomp')).toMatchObject({ level: 'ok', detail: expect.stringMatching(/kill_process.*errno.*allow/) });
    const none = doctor(lab, { ...machine, seccompActions: () => null }).findings.find((f) => f.name === 'seccomp');
    expect(none).toMatchObject({ level: 'error', detail: expect.stringMatching(/no seccomp filters \(lesson 10 needs it\)/) });
  });
});

// The architecture the filter was built for is this machine's.
it('the filter is for this machine', () => {
  expect(seccomp.seccompArch().node).toBe(os.arch());
});
