// Every lesson three ways, against the real kernel: solved through the core, done by hand
// with the tools a learner would use (mount(8), echo into cgroup files, util-linux unshare),
// and in a wrong state that must fail with a hint. Nothing may be left behind.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { findLesson, LESSONS, type Lesson } from '../../src/lessons/index.js';
import { labPath } from '../../src/lessons/types.js';
import { solveLesson, checkLesson } from '../../src/runner.js';
import { readProgress } from '../../src/lab.js';
import { ensureRootfs, cgroupLayout, procfs } from '../../src/core/index.js';
import type { CheckResult } from '../../src/checks/result.js';
import { tempLab } from '../support/lab.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-lessons-');
const L = (id: string) => findLesson(id) as Lesson;
const ufs = labPath(lab, L('overlay'), 'ufs');
const byTitle = (checks: CheckResult[], title: string) => {
  const c = checks.find((x) => x.title === title);
  if (!c) throw new Error(`no check "${title}" in: ${checks.map((x) => x.title).join(' | ')}`);
  return c;
};
const failed = (checks: CheckResult[]) => checks.filter((c) => c.status === 'fail').map((c) => `${c.title}: ${c.reason}`);

/** A process's state letter (R running, S sleeping, ...) from /proc/<pid>/stat. */
const procStatState = (pid: number) => {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
};
const sh = (script: string, cwd?: string) => execFileSync('/bin/sh', ['-c', script], { cwd, encoding: 'utf8' });

/** A learner's container: started by hand, left running (its shell reads a pipe we hold). */
const learners: ChildProcess[] = [];
async function byHand(cmd: string): Promise<ChildProcess> {
  const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
  learners.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  // Wait until the shell it ends in sits in the rootfs (or the command died).
  for (let i = 0; i < 300; i++) {
    const pids = procfs.listPids().filter((p) => {
      try {
        // The shell the command ends in (exec sh): what came before it has all run.
        return fs.existsSync(`/proc/${p}/root/.container-lessons-rootfs`) && procfs.cmdline(p) === 'sh';
      } catch {
        return false;
      }
    });
    if (pids.length) return child;
    if (child.exitCode !== null) throw new Error(`the by-hand container exited: ${err}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the by-hand container did not start: ${err}`);
}

let before: ReturnType<typeof snapshot>;
beforeAll(() => {
  ensureRootfs(lab.rootfs);
  before = snapshot();
});
afterEach(async () => {
  for (const c of learners.splice(0)) {
    c.stdin?.end();
    c.kill('SIGKILL');
  }
  for (const l of [...LESSONS].reverse()) await l.reset(lab);
});
afterAll(async () => {
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

describe.each(LESSONS.map((l) => [l.number, l.id]))('lesson %i (%s) solved through the core', (_n, id) => {
  it('passes every check, records progress, and removes everything', async () => {
    const s0 = snapshot();
    const report = await solveLesson(L(id), lab);
    expect(report.steps.filter((s) => s.error)).toEqual([]);
    expect(failed(report.checks)).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.cleanup.errors).toEqual([]);
    expect(readProgress(lab).passed[id]).toBeTruthy();
    for (const s of report.steps) expect(s.output?.length).toBeGreaterThan(0);
    // Every result carries a title the lesson declares (and its text lists).
    expect(report.checks.map((c) => c.title).filter((t) => !L(id).checks.includes(t))).toEqual([]);
    expect(leaks(s0, snapshot())).toEqual({});
    for (const rel of Object.values(L(id).labPaths ?? {})) expect(fs.existsSync(path.join(lab.root, rel))).toBe(false);
  });
});

describe('lesson 1 (overlay) by hand', () => {
  const layout = (ufs: string) =>
    sh(
      `mkdir -p ${ufs} && cd ${ufs} && mkdir lower1 lower2 upper work merged && touch lower1/a.txt lower2/b.txt upper/c.txt && echo lower1 > lower1/n.txt && echo lower2 > lower2/n.txt && echo lower > lower2/x.txt && echo upper > upper/x.txt`,
    );

  it('mount(8) with relative paths, then rm through merged: passes', async () => {
    layout(ufs);
    sh('mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged && rm merged/a.txt', ufs);
    const { checks, passed } = await checkLesson(L('overlay'), lab);
    expect(failed(checks)).toEqual([]);
    expect(passed).toBe(true);
  });

  it('lowerdir order swapped: fails and says so', async () => {
    layout(ufs);
    sh('mount -t overlay overlay -o lowerdir=./lower1:./lower2,upperdir=./upper,workdir=./work ./merged && rm merged/a.txt', ufs);
    const { checks, passed } = await checkLesson(L('overlay'), lab);
    expect(passed).toBe(false);
    const c = byTitle(checks, 'lowerdir lists the top layer first');
    expect(c.status).toBe('fail');
    expect(c.reason).toMatch(/"lower1"/);
    expect(c.hint).toMatch(/swapped.*lowerdir=\.\/lower2:\.\/lower1/);
  });

  it('not deleted yet, or deleted in the lower directly: fails with the cause', async () => {
    layout(ufs);
    sh('mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged', ufs);
    const c = byTitle((await checkLesson(L('overlay'), lab)).checks, 'a deletion leaves a whiteout');
    expect(c.status).toBe('fail');
    expect(c.hint).toMatch(/rm .*merged\/a\.txt/);
    fs.unlinkSync(path.join(ufs, 'lower1', 'a.txt'));
    const checks = (await checkLesson(L('overlay'), lab)).checks;
    expect(byTitle(checks, 'the lower layers are untouched').status).toBe('fail');
    expect(byTitle(checks, 'the lower layers are untouched').reason).toMatch(/lower1\/a\.txt/);
  });

  it("mounted twice: fails naming the stack, and the text's clean-up and reset take off both", async () => {
    layout(ufs);
    const mount = 'mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged';
    sh(`${mount} && ${mount} && rm merged/a.txt`, ufs);
    const { checks, passed } = await checkLesson(L('overlay'), lab);
    expect(passed).toBe(false);
    const c = byTitle(checks, 'merged is an overlay mount');
    expect(c.status).toBe('fail');
    expect(c.reason).toMatch(/^2 mounts are stacked at .*merged/);
    expect(c.hint).toMatch(/umount merged.*then mount once/);
    // The text's clean-up, as written there, leaves nothing mounted and rm -rf works.
    const text = fs.readFileSync(path.join('lessons', L('overlay').text), 'utf8').replaceAll('{{ufs}}', ufs);
    const cleanUp = /## Clean up[\s\S]*?```sh\n([\s\S]*?)```/.exec(text)?.[1];
    expect(cleanUp).toMatch(/while mountpoint/);
    expect(procfs.readMountinfo().filter((m) => m.mountPoint === path.join(ufs, 'merged'))).toHaveLength(2);
    sh(cleanUp!);
    expect(fs.existsSync(ufs)).toBe(false);
    // reset peels both and says so.
    layout(ufs);
    sh(`${mount} && ${mount}`, ufs);
    expect((await L('overlay').reset(lab)).join('\n')).toMatch(/2 mounts stacked there, every one unmounted/);
    expect(procfs.readMountinfo().some((m) => m.mountPoint === path.join(ufs, 'merged'))).toBe(false);
  });

  it('nothing mounted: fails with the mount command', async () => {
    layout(ufs);
    const { checks, passed } = await checkLesson(L('overlay'), lab);
    expect(passed).toBe(false);
    expect(checks[0]?.hint).toMatch(/mount -t overlay/);
  });
});

describe('lesson 2 (cgroup) by hand, with shell tools only', () => {
  // Which hierarchy holds the cpu controller (and its version) comes from the core's
  // layout; everything the learner makes is made by sh: mkdir, echo into the files, the loop.
  const cpu = () => {
    const c = cgroupLayout().controllers.cpu;
    if (!c) throw new Error('no cpu controller on this machine');
    return c;
  };
  const dir = () => path.join(cpu().mountPoint, 'container');
  const subtreeControl = () => path.join(cpu().mountPoint, 'cgroup.subtree_control');
  const loops: number[] = [];
  /** cgroup v2: `+cpu` was not in the root's subtree_control before the test wrote it. */
  let enabledCpu = false;

  afterEach(async () => {
    for (const pid of loops) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    expect(await procfs.waitReaped(loops.splice(0), 3000)).toBe(true);
    if (fs.existsSync(dir())) sh(`rmdir ${dir()}`);
    if (enabledCpu) sh(`echo -cpu > ${subtreeControl()}`);
    enabledCpu = false;
  });

  /**
   * What a learner types, as one script: the group, its limit, and the busy loop. The loop
   * has a time limit of its own (timeout 60) and puts its own pid into cgroup.procs before
   * its first turn (`echo $$`: $$ in the loop's shell is the loop), so it never spins
   * outside the limited group, and never for longer than a minute.
   */
  async function setUp(quota: number): Promise<number> {
    const d = dir();
    let limit: string;
    if (cpu().version === 1) limit = `echo 100000 > ${d}/cpu.cfs_period_us\necho ${quota} > ${d}/cpu.cfs_quota_us`;
    else {
      enabledCpu = !fs.readFileSync(subtreeControl(), 'utf8').split(/\s+/).includes('cpu');
      limit = `echo +cpu > ${subtreeControl()}\necho "${quota} 100000" > ${d}/cpu.max`;
    }
    const script = `set -e\nmkdir ${d}\n${limit}\ntimeout 60 sh -c 'echo $$ > ${d}/cgroup.procs && while : ; do : ; done' &\nwait\n`;
    const learner = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    learners.push(learner);
    let err = '';
    learner.stderr!.on('data', (b) => (err += b));
    for (let i = 0; i < 300; i++) {
      const pids = fs.existsSync(d) ? fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number) : [];
      if (pids.length) {
        loops.push(...pids);
        expect(pids).toHaveLength(1);
        expect(procfs.cmdline(pids[0]!)).toMatch(/^sh -c echo \$\$ > .*cgroup\.procs && while : ; do : ; done$/);
        return pids[0]!;
      }
      if (learner.exitCode !== null) throw new Error(`the learner's script exited ${learner.exitCode}: ${err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`the loop never appeared in ${d}/cgroup.procs: ${err}`);
  }

  it("echo into the cgroup files: passes, and reset moves the learner's loop out instead of killing it", async () => {
    const loop = await setUp(20000);
    const { checks, passed } = await checkLesson(L('cgroup-cpu'), lab);
    expect(failed(checks)).toEqual([]);
    expect(passed).toBe(true);
    expect(byTitle(checks, 'the group gets 20 % CPU (±2 points)').reason).toMatch(new RegExp(`measured (1[89]|2[0-2])\\.\\d % of one CPU over [\\d.]+ s for pid ${loop}$`));
    const removed = await L('cgroup-cpu').reset(lab);
    expect(removed.join('\n')).toMatch(new RegExp(`moved pid ${loop}`));
    expect(procfs.pidAlive(loop)).toBe(true);
    expect(fs.existsSync(dir())).toBe(false);
    // Out of the group it would spin unlimited: it has been seen alive, so it ends now.
    process.kill(loop, 'SIGKILL');
  });

  it("a shell in the group by mistake: reset moves it out and says so, without a kill; the workbook's own process and children go unnamed", async () => {
    const loop = await setUp(20000);
    // Only the shell and the workbook below: the loop would leave them 20 % of a CPU to share.
    process.kill(loop, 'SIGKILL');
    expect(await procfs.waitReaped([loop], 3000)).toBe(true);
    // A learner's shell that waits at its prompt (here: reading a fifo nobody writes), moved
    // in with echo $$, and not a child of this process (its parent exits at once).
    const fifo = path.join(lab.root, 'prompt');
    sh(`mkfifo ${fifo}`);
    const shell = Number(sh(`sh -c 'echo $$ > ${dir()}/cgroup.procs; read x < ${fifo}' >/dev/null 2>&1 & echo $!`).trim());
    loops.push(shell);
    const procs = () => fs.readFileSync(path.join(dir(), 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    for (let i = 0; i < 300 && !procs().includes(shell); i++) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 300 && procStatState(shell) !== 'S'; i++) await new Promise((r) => setTimeout(r, 10));
    // The workbook itself in the group (started from that shell), and a child it started there.
    const line = fs
      .readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => (cpu().version === 2 ? l.startsWith('0::') : l.split(':')[1]?.split(',').includes('cpu')));
    const home = path.join(cpu().mountPoint, line!.split(':')[2]!, 'cgroup.procs');
    fs.writeFileSync(path.join(dir(), 'cgroup.procs'), String(process.pid));
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    learners.push(child);
    let removed: string;
    try {
      expect(procs()).toEqual(expect.arrayContaining([shell, process.pid, child.pid]));
      removed = (await L('cgroup-cpu').reset(lab)).join('\n');
    } finally {
      fs.writeFileSync(home, String(process.pid));
      fs.rmSync(fifo);
    }
    expect(removed).toContain(`moved your shell (pid ${shell}, sh) out of`);
    expect(removed).not.toMatch(/kill/);
    expect(removed).not.toMatch(new RegExp(`\\b(${child.pid}|${process.pid})\\b`));
    expect(procfs.pidAlive(shell)).toBe(true);
    expect(procfs.pidAlive(child.pid!)).toBe(true);
    expect(fs.existsSync(dir())).toBe(false);
  });

  it('quota 50000: fails, and the hint names the quota', async () => {
    await setUp(50000);
    const { checks, passed } = await checkLesson(L('cgroup-cpu'), lab);
    expect(passed).toBe(false);
    expect(byTitle(checks, 'quota 20000 per period 100000').status).toBe('fail');
    const share = byTitle(checks, 'the group gets 20 % CPU (±2 points)');
    expect(share.status).toBe('fail');
    // What the loop got: at most the quota's 50 %, less when the machine is busy (other
    // work on the same CPUs); the hint names the quota that share matches, whatever it was.
    const measured = Number(/measured (\d+)\.\d %/.exec(share.reason)?.[1]);
    expect(measured).toBeGreaterThanOrEqual(35);
    expect(measured).toBeLessThanOrEqual(52);
    expect(share.hint).toMatch(/quota of about (\d+)000 µs/);
    expect(Math.abs(Number(/quota of about (\d+)000 µs/.exec(share.hint ?? '')?.[1]) - measured)).toBeLessThanOrEqual(1);
  });

  it('quota 21500: not clearly inside after half a second, so a second look of 1 s decides (pass)', async () => {
    await setUp(21500);
    const { checks } = await checkLesson(L('cgroup-cpu'), lab);
    const share = byTitle(checks, 'the group gets 20 % CPU (±2 points)');
    expect(share.status).toBe('pass');
    expect(share.reason).toMatch(/measured 2[01]\.\d % of one CPU over 1 s/);
  });

  it('no group: fails with the mkdir to type', async () => {
    const { checks, passed } = await checkLesson(L('cgroup-cpu'), lab);
    expect(passed).toBe(false);
    expect(checks[0]?.hint).toMatch(/mkdir .*container/);
  });
});

describe('lessons 3-5 by hand with util-linux unshare', () => {
  const rootfs = () => lab.rootfs;
  const pivotShell = (flags: string) =>
    `exec unshare ${flags} --fork sh -c 'hostname container; mount --bind ${rootfs()} ${rootfs()}; cd ${rootfs()}; mkdir -p .old_root; pivot_root . .old_root; mount -t proc proc /proc; umount -l /.old_root; rmdir /.old_root; cd /; exec sh'`;

  it('lesson 3: unshare --mount --uts + pivot_root: passes', async () => {
    await byHand(pivotShell('--mount --uts'));
    const { checks, passed } = await checkLesson(L('mount-namespace'), lab);
    expect(failed(checks)).toEqual([]);
    expect(passed).toBe(true);
  });

  it('lesson 3: chroot alone: the host is still reachable, and the check says why', async () => {
    await byHand(`exec unshare --mount --uts --fork chroot ${rootfs()} sh`);
    const { checks, passed } = await checkLesson(L('mount-namespace'), lab);
    expect(passed).toBe(false);
    const c = byTitle(checks, "the host's files are out of reach");
    expect(c.status).toBe('fail');
    expect(c.hint).toMatch(/pivot_root/);
    expect(byTitle(checks, 'a hostname of its own').status).toBe('fail');
  });

  it('lesson 3: pivot_root without umount -l /.old_root: the host file is reachable under it, and the check fails', async () => {
    await byHand(`exec unshare --mount --uts --fork sh -c 'hostname container; mount --bind ${rootfs()} ${rootfs()}; cd ${rootfs()}; mkdir -p .old_root; pivot_root . .old_root; mount -t proc proc /proc; cd /; exec sh'`);
    const marker = labPath(lab, L('mount-namespace'), 'hostMarker');
    fs.writeFileSync(marker, 'only the host can read this\n');
    const c = byTitle((await checkLesson(L('mount-namespace'), lab)).checks, "the host's files are out of reach");
    expect(c.status).toBe('fail');
    expect(c.reason).toContain(`reachable inside the container as /.old_root${marker}`);
    expect(c.hint).toMatch(/umount -l \/\.old_root/);
  });

  it('lesson 3: no mount namespace at all: fails', async () => {
    await byHand(`exec chroot ${rootfs()} sh`);
    const { checks } = await checkLesson(L('mount-namespace'), lab);
    expect(byTitle(checks, 'its own mount namespace').status).toBe('fail');
    expect(byTitle(checks, 'its own mount namespace').hint).toMatch(/unshare --mount/);
  });

  it('lesson 3: with shared propagation a mount inside reaches the host: fails', async () => {
    // systemd hosts mount / shared; this VM does not, so make a shared mount for the rootfs.
    const shared = path.join(lab.root, 'shared');
    fs.mkdirSync(shared);
    sh(`mount -t tmpfs cl-shared ${shared} && mount --make-shared ${shared} && cp -a ${rootfs()} ${shared}/rootfs`);
    try {
      const lab2 = { ...lab, rootfs: path.join(shared, 'rootfs') };
      await byHand(`exec unshare --mount --uts --propagation unchanged --fork sh -c 'hostname c; mount -t tmpfs inside ${lab2.rootfs}/tmp; exec chroot ${lab2.rootfs} sh'`);
      const c = byTitle((await checkLesson(L('mount-namespace'), lab2)).checks, 'mounts made inside stay inside');
      expect(c.status).toBe('fail');
      expect(c.reason).toMatch(/the host sees .*\/tmp \(tmpfs\)/);
      expect(c.hint).toMatch(/make-rprivate/);
      await L('mount-namespace').reset(lab2);
    } finally {
      sh(`umount -R ${shared}`);
    }
  });

  it('lesson 4: unshare --pid --fork --mount-proc: passes', async () => {
    await byHand(`exec unshare --mount --uts --ipc --pid --fork --mount-proc=${rootfs()}/proc chroot ${rootfs()} sh`);
    const { checks, passed } = await checkLesson(L('pid-namespace'), lab);
    expect(failed(checks)).toEqual([]);
    expect(passed).toBe(true);
    expect(byTitle(checks, 'the first process is PID 1').reason).toMatch(/is pid 1 inside/);
  });

  it('lesson 4: no PID namespace: fails', async () => {
    await byHand(`exec unshare --mount --fork --mount-proc=${rootfs()}/proc chroot ${rootfs()} sh`);
    const { checks, passed } = await checkLesson(L('pid-namespace'), lab);
    expect(passed).toBe(false);
    expect(byTitle(checks, 'its own PID namespace').status).toBe('fail');
  });

  it('lesson 4: a PID namespace but no /proc of its own: fails with the mount to do', async () => {
    await byHand(`exec unshare --mount --pid --fork chroot ${rootfs()} sh`);
    const c = byTitle((await checkLesson(L('pid-namespace'), lab)).checks, '/proc belongs to the container');
    expect(c.status).toBe('fail');
    expect(c.hint).toMatch(/mount -t proc proc \/proc/);
  });

  it('lesson 5: unshare --net: passes', async () => {
    await byHand(`exec unshare --mount --uts --ipc --pid --net --fork --mount-proc=${rootfs()}/proc chroot ${rootfs()} sh`);
    const { checks, passed } = await checkLesson(L('network-namespace'), lab);
    expect(failed(checks)).toEqual([]);
    expect(passed).toBe(true);
  });

  it('lesson 5: host network visible: fails', async () => {
    await byHand(`exec unshare --mount --pid --fork --mount-proc=${rootfs()}/proc chroot ${rootfs()} sh`);
    const { checks, passed } = await checkLesson(L('network-namespace'), lab);
    expect(passed).toBe(false);
    const c = byTitle(checks, 'its own network namespace');
    expect(c.status).toBe('fail');
    expect(c.hint).toMatch(/--net/);
  });

  it('no container running: fails with the command to start one', async () => {
    for (const id of ['mount-namespace', 'pid-namespace', 'network-namespace']) {
      const { checks, passed } = await checkLesson(L(id), lab);
      expect(passed).toBe(false);
      expect(checks[0]?.hint).toMatch(/unshare/);
    }
  });
});
