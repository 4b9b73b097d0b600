// Lesson 8 on the real kernel: solved by the workbook; by hand with shell tools only (the
// group with mkdir and echo, a shell that joins it and becomes the container, the hog and
// the bomb typed into the container's shell); each wrong state, which must fail with a
// hint naming its cause; reset. The hog and the bomb run only inside a limited group: the
// hog in "container" or, for the wrong state "outside the group", in a limited group of
// this test's own; the bomb only in the container. Nothing may be left behind.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { HOG, BOMB, MEMORY_LIMIT, PIDS_LIMIT, swapDevices } from '../../src/lessons/08-memory-pids.js';
import { solveLesson } from '../../src/runner.js';
import { Cgroup, ensureRootfs, procfs, removeGroupDir } from '../../src/core/index.js';
import type { CheckResult } from '../../src/checks/result.js';
import { tempLab } from '../support/lab.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-memory-pids-');
const lesson = findLesson('memory-pids') as Lesson;
const g = new Cgroup('container', ['memory', 'pids']);
const v2 = g.versionOf('memory') === 2;
const M = g.dirOf('memory');
const P = g.dirOf('pids');
const sh = (script: string) => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
const TITLES = {
  exists: 'the group "container" exists in the memory and pids controllers',
  memory: 'memory limit 64 MiB',
  swap: 'no swap beyond the limit',
  pids: 'pids limit 20',
  container: 'the container runs in the group',
  oom: 'the kernel OOM-killed a process of the group, within the limit',
  pidsHeld: 'forks were refused at 20 tasks',
};
const failed = (checks: CheckResult[]) => checks.filter((c) => c.status === 'fail');
const byTitle = (checks: CheckResult[], title: string) => {
  const c = checks.find((x) => x.title === title);
  if (!c) throw new Error(`no check "${title}" in: ${checks.map((x) => x.title).join(' | ')}`);
  return c;
};
const until = async (what: string, ok: () => boolean, tries = 300) => {
  for (let i = 0; i < tries; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not happen`);
};

/** The group as the text's commands make it; `limit` is what goes into the memory limit. */
const enabledHere: string[] = [];
function groupByHand(limit: string) {
  if (v2) {
    const parent = path.dirname(M);
    const on = fs.readFileSync(path.join(parent, 'cgroup.subtree_control'), 'utf8');
    for (const c of ['memory', 'pids']) {
      if (on.split(/\s+/).includes(c)) continue;
      sh(`echo +${c} > ${parent}/cgroup.subtree_control`);
      enabledHere.push(c);
    }
    sh(`mkdir ${M} && echo ${limit} > ${M}/memory.max && echo ${PIDS_LIMIT} > ${P}/pids.max`);
    if (limit !== 'max' && fs.existsSync(`${M}/memory.swap.max`)) sh(`echo 0 > ${M}/memory.swap.max`);
  } else {
    sh(`mkdir ${M} ${P} && echo ${limit} > ${M}/memory.limit_in_bytes && echo ${PIDS_LIMIT} > ${P}/pids.max`);
    if (limit !== '-1' && fs.existsSync(`${M}/memory.memsw.limit_in_bytes`)) sh(`echo ${limit} > ${M}/memory.memsw.limit_in_bytes`);
  }
}
const NO_LIMIT = v2 ? 'max' : '-1';

/** The learner's container: a shell typed into through its stdin; `join`: it joins the group first. */
const learners: ChildProcess[] = [];
async function containerByHand(join = true): Promise<{ pid: number; shell: ChildProcess; out: () => string }> {
  const unshare = `unshare --mount --uts --ipc --pid --fork --mount-proc=${lab.rootfs}/proc chroot ${lab.rootfs} sh`;
  const cmd = join ? `echo $$ > ${M}/cgroup.procs && echo $$ > ${P}/cgroup.procs && exec ${unshare}` : `exec ${unshare}`;
  const known = new Set(rootfsShells());
  const shell = spawn('/bin/sh', ['-c', cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
  learners.push(shell);
  let out = '';
  shell.stdout!.on('data', (d) => (out += d));
  shell.stderr!.on('data', (d) => (out += d));
  let pid = 0;
  await until('the by-hand container', () => {
    pid = rootfsShells().find((p) => !known.has(p)) ?? 0;
    return pid > 0;
  });
  return { pid, shell, out: () => out };
}
function rootfsShells(): number[] {
  return procfs.listPids().filter((p) => fs.existsSync(`/proc/${p}/root/.container-lessons-rootfs`) && procfs.comm(p) === 'sh');
}

/** Type the hog into the container's shell and wait for wc's count. */
async function hogByHand(c: Awaited<ReturnType<typeof containerByHand>>) {
  c.shell.stdin!.write(`${HOG}; echo hog-done\n`);
  await until('the end of the hog', () => c.out().includes('hog-done'));
}
/** Type the bomb into the container's shell, wait for a refused fork, then end the bomb:
 * everything in the group but the container, in rounds. */
async function bombByHand(c: Awaited<ReturnType<typeof containerByHand>>) {
  c.shell.stdin!.write(`${BOMB}\n`);
  await until('a refused fork', () => /^max [1-9]/m.test(fs.readFileSync(`${P}/pids.events`, 'utf8')));
  await until('the end of the bomb', () => {
    // The container's shell stays, and unshare(1), its parent, whose end would close its stdin.
    const rest = g.allProcs().filter((p) => p !== c.pid && p !== c.shell.pid);
    for (const p of rest) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    return rest.length === 0;
  });
}

let before: ReturnType<typeof snapshot>;
beforeAll(() => {
  ensureRootfs(lab.rootfs);
  before = snapshot();
});
afterEach(async () => {
  await lesson.reset(lab);
  for (const c of learners.splice(0)) {
    c.stdin?.end();
    c.kill('SIGKILL');
  }
  if (v2) for (const c of enabledHere.splice(0)) sh(`echo -${c} > ${path.dirname(M)}/cgroup.subtree_control`);
});
afterAll(() => {
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

describe('lesson 8 solved by the workbook', () => {
  it('every step runs, every check passes, and the group is gone afterwards', async () => {
    const report = await solveLesson(lesson, lab);
    expect(report.steps.map((s) => s.error?.message ?? 'ok')).toEqual(report.steps.map(() => 'ok'));
    expect(failed(report.checks)).toEqual([]);
    expect(report.passed).toBe(true);
    const hog = report.steps[4]!.output;
    expect(hog).toMatch(/oom_kill: 0 -> 1/);
    expect(hog).toMatch(/Killed/);
    expect(report.steps[5]!.output).toMatch(/forks refused \(pids\.events max\): 0 -> [1-9]/);
    expect(report.steps[3]!.output).toMatch(v2 ? /^0::\/container$/m : /:memory:\/container$/m);
    expect(g.anyExists()).toBe(false);
  });
});

describe('lesson 8 by hand with shell tools', () => {
  it('the group, the container in it, the hog and the bomb typed in its shell: every check passes', async () => {
    groupByHand('64M');
    const c = await containerByHand();
    let checks = await lesson.check(lab);
    expect(failed(checks).map((f) => f.title)).toEqual([TITLES.oom, TITLES.pidsHeld]);
    expect(byTitle(checks, TITLES.oom).hint).toMatch(/outside the group/);
    await hogByHand(c);
    expect(c.out()).toMatch(/^0$/m); // wc counted nothing: tail was killed before it wrote
    await bombByHand(c);
    checks = await lesson.check(lab);
    expect(failed(checks)).toEqual([]);
    expect(byTitle(checks, TITLES.memory).reason).toContain(String(MEMORY_LIMIT));
    expect(byTitle(checks, TITLES.container).reason).toContain(`pid ${c.pid}`);
    expect(g.memoryStats().oomKills).toBeGreaterThan(0);
    const pids = g.pidsStats();
    expect(pids.refused).toBeGreaterThan(0);
    expect(pids.current).toBeLessThanOrEqual(PIDS_LIMIT);
  });
});

describe('lesson 8 wrong states fail with a hint naming the cause', () => {
  it('a limit of max', async () => {
    groupByHand(NO_LIMIT);
    await containerByHand();
    const f = byTitle(await lesson.check(lab), TITLES.memory);
    expect(f.status).toBe('fail');
    expect(f.reason).toMatch(/no limit/);
    expect(f.hint).toMatch(/A limit of "max" is none/);
    expect(f.hint).toContain(`echo 64M > ${g.file('memoryMax')}`);
  });

  it('the limit written to the parent group: the group itself has none, and the hint names the parent', async () => {
    // The parent of "container" is the root group, which takes no limit (the kernel refuses
    // it); this test never writes there: what the learner is left with is the group without one.
    groupByHand(NO_LIMIT);
    const f = byTitle(await lesson.check(lab), TITLES.memory);
    expect(f.status).toBe('fail');
    expect(f.hint).toContain(`the parent's file (${path.join(path.dirname(M), path.basename(g.file('memoryMax')))})`);
  });

  it('the hog started outside the group (in a limited group of its own): no OOM kill in "container"', async () => {
    groupByHand('64M');
    await containerByHand();
    const elsewhere = path.join(path.dirname(M), 'cl-test-elsewhere');
    fs.mkdirSync(elsewhere);
    try {
      fs.writeFileSync(path.join(elsewhere, path.basename(g.file('memoryMax'))), String(MEMORY_LIMIT));
      const swapFile = path.join(elsewhere, path.basename(g.file('memorySwapMax')));
      if (fs.existsSync(swapFile)) fs.writeFileSync(swapFile, v2 ? '0' : String(MEMORY_LIMIT));
      // It joins the limited group before it allocates a byte, and ends within 60 s.
      const r = spawnSync('timeout', ['60', '/bin/sh', '-c', 'echo $$ > "$1/cgroup.procs" && exec chroot "$2" sh -c "$3"', 'sh', elsewhere, lab.rootfs, HOG], { encoding: 'utf8' });
      expect(r.stdout).toMatch(/^0$/m); // killed there: wc counted nothing
      expect(fs.readFileSync(path.join(elsewhere, path.basename(g.file('memoryEvents'))), 'utf8')).toMatch(/^oom_kill [1-9]/m);
      const f = byTitle(await lesson.check(lab), TITLES.oom);
      expect(f.status).toBe('fail');
      expect(f.reason).toMatch(/oom_kill 0/);
      expect(f.hint).toMatch(/the hog ran outside the group\?/);
    } finally {
      await removeGroupDir(elsewhere);
    }
  });

  it('the container started outside the group', async () => {
    groupByHand('64M');
    const c = await containerByHand(false);
    const f = byTitle(await lesson.check(lab), TITLES.container);
    expect(f.status).toBe('fail');
    expect(f.reason).toMatch(new RegExp(`^pid ${c.pid} \\(pid 1 inside\\) sh is in memory group \\S+ and pids group \\S+, not /container$`));
    expect(f.hint).toMatch(/from a shell that joined the group first/);
  });

  it('no fork bomb run: no fork was refused', async () => {
    groupByHand('64M');
    await containerByHand();
    const f = byTitle(await lesson.check(lab), TITLES.pidsHeld);
    expect(f.status).toBe('fail');
    expect(f.reason).toMatch(/no fork was refused/);
  });

  it.skipIf(swapDevices().length === 0)('swap left unlimited where swap exists (this machine has swap)', async () => {
    groupByHand('64M');
    sh(v2 ? `echo max > ${M}/memory.swap.max` : `echo -1 > ${M}/memory.memsw.limit_in_bytes`);
    const f = byTitle(await lesson.check(lab), TITLES.swap);
    expect(f.status).toBe('fail');
    expect(f.hint).toMatch(/swap is left unlimited/);
  });

  it('no group at all: the first check says how to make it', async () => {
    const checks = await lesson.check(lab);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ title: TITLES.exists, status: 'fail' });
    expect(checks[0]!.hint).toContain(`mkdir ${M}`);
  });
});

describe('lesson 8 reset', () => {
  it('ends the container, moves a shell of the learner out (alive), and removes the group', async () => {
    groupByHand('64M');
    await containerByHand();
    // A learner's host shell, moved into the group by hand: it waits, and is not the lesson's.
    const shell = spawn('/bin/sh', ['-c', 'read x'], { stdio: ['pipe', 'ignore', 'ignore'] });
    learners.push(shell);
    sh(`echo ${shell.pid} > ${M}/cgroup.procs && echo ${shell.pid} > ${P}/cgroup.procs`);
    const removed = await lesson.reset(lab);
    expect(removed).toEqual(expect.arrayContaining([`moved your shell (pid ${shell.pid}, sh) out of ${M}`, ...g.dirs]));
    expect(procfs.pidAlive(shell.pid!)).toBe(true);
    expect(g.anyExists()).toBe(false);
    expect(rootfsShells()).toEqual([]);
  });
});
