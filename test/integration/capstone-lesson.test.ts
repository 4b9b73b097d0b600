// Lesson 11, the capstone, from the command line on the real kernel: `capstone init` and its
// bad input; `check capstone` with no runtime yet, with a runtime whose network piece is
// open, and with the reference; solve, which keeps a learner's own work aside; reset after
// a runtime was killed in the middle of a run; and a workbook killed while its check runs
// (what the next start recovers). The runtimes here are the bash reference and pieces of
// it, which hold their own containers to the suite's limits (--cpus, --memory, --pids).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ensureRootfs, procfs } from '../../src/core/index.js';
import { recoverLab } from '../../src/lab.js';
import { CHECKS, capstoneHome, ensureCapstoneImage } from '../../src/capstone/suite.js';
import { writeRuntime } from '../../scripts/capstone-skeleton.mjs';
import type { CheckResult } from '../../src/checks/result.js';
import { tempLab } from '../support/lab.js';
import { snapshot, leaks, describeLeaks } from '../support/kernel-state.mjs';

const BIN = path.resolve('bin/container-lessons.js');
const REFERENCE = path.resolve('capstone/mydocker.sh');
const lab = tempLab('cl-capstone-lesson-');
const mine = path.join(lab.root, 'mydocker');
let before: ReturnType<typeof snapshot>;

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1' }, encoding: 'utf8', timeout: 240_000 });
}
const statuses = (checks: CheckResult[]) => Object.fromEntries(checks.map((c) => [c.title, c.status]));

async function settled(): Promise<ReturnType<typeof leaks>> {
  let found = leaks(before, snapshot());
  for (let i = 0; i < 50 && Object.keys(found).length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    found = leaks(before, snapshot());
  }
  return found;
}

beforeAll(async () => {
  ensureRootfs(lab.rootfs);
  await ensureCapstoneImage(lab);
  before = snapshot();
}, 120_000);
afterAll(async () => {
  cli(['reset', 'capstone']);
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

describe('capstone init', () => {
  it("writes the starting point into the lab's mydocker/, and keeps what is there on a second run", () => {
    const r = cli(['capstone', 'init']);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readdirSync(mine).sort()).toEqual(['INTERFACE.md', 'README.md', 'mydocker.c', 'mydocker.rs', 'mydocker.sh']);
    expect(r.stdout).toMatch(/next: .*\n\s+sudo container-lessons check capstone\n$/);
    const again = cli(['capstone', 'init']);
    expect(again.stdout.match(/^kept /gm)).toHaveLength(5);
  });

  it('elsewhere: the check command it prints names the runtime; a file or an unknown word is a usage error', () => {
    const dir = path.join(lab.root, 'elsewhere');
    const r = cli(['capstone', 'init', dir]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`check capstone --runtime ${dir}/mydocker.sh`);
    fs.rmSync(dir, { recursive: true });
    fs.writeFileSync(path.join(lab.root, 'a-file'), '');
    const file = cli(['capstone', 'init', path.join(lab.root, 'a-file')]);
    expect(file.status).toBe(2);
    expect(file.stderr).toMatch(/a-file is a file, not a directory[\s\S]*hint: /);
    expect(file.stderr).not.toMatch(/\n\s+at /);
    const what = cli(['capstone', 'build']);
    expect(what.status).toBe(2);
    expect(what.stderr).toMatch(/one command, init/);
  });
});

describe('check capstone', () => {
  it('with no runtime in the lab: fails the first check with what to do, the rest not checked', () => {
    const saved = `${mine}.saved`;
    fs.renameSync(mine, saved);
    try {
      const r = cli(['check', 'capstone', '--json']);
      expect(r.status).toBe(1);
      const report = JSON.parse(r.stdout) as { id: string; checks: CheckResult[] };
      expect(report.id).toBe('capstone');
      expect(report.checks[0]).toMatchObject({ status: 'fail', reason: expect.stringMatching(/^no runtime in .*mydocker/), hint: expect.stringMatching(/capstone init/) });
      expect(report.checks.slice(1).every((c) => c.reason.startsWith('not checked'))).toBe(true);
    } finally {
      fs.renameSync(saved, mine);
    }
  });

  it('the reference with its network piece open: exactly the network checks fail, each naming lesson 6', async () => {
    writeRuntime(path.join(mine, 'mydocker.sh'), ['network']);
    const r = cli(['check', 'capstone', '--json']);
    expect(r.status, r.stderr).toBe(1);
    const checks = (JSON.parse(r.stdout) as { checks: CheckResult[] }).checks;
    const failing = checks.filter((c) => c.status !== 'pass');
    expect(failing.map((c) => c.title)).toEqual([CHECKS.network, CHECKS.icmp, CHECKS.reach]);
    for (const c of failing) expect(c.hint).toMatch(/lesson 6/);
    expect(checks[0]!.reason).toContain(path.join(mine, 'mydocker.sh'));
    expect(await settled()).toEqual({});
  }, 240_000);
});

describe('solve capstone', () => {
  it("keeps the learner's own mydocker.sh and built mydocker aside, puts the reference in place, passes, and leaves nothing", async () => {
    fs.writeFileSync(path.join(mine, 'mydocker.sh'), '#!/bin/sh\n# my half-written runtime\n', { mode: 0o755 });
    fs.writeFileSync(path.join(mine, 'mydocker'), '#!/bin/sh\nexit 125\n', { mode: 0o755 });
    const r = cli(['solve', 'capstone', '--json']);
    expect(r.status, r.stdout.slice(-2000) + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { lessons: Array<{ checks: CheckResult[]; steps: Array<{ output: string }> }> };
    expect(Object.values(statuses(report.lessons[0]!.checks)).every((s) => s === 'pass')).toBe(true);
    const kept = fs.readdirSync(mine).filter((f) => f.includes('.yours-'));
    expect(kept.sort()).toEqual([expect.stringMatching(/^mydocker\.sh\.yours-\d{8}T\d{6}$/), expect.stringMatching(/^mydocker\.yours-\d{8}T\d{6}$/)].sort());
    expect(fs.readFileSync(path.join(mine, kept.find((f) => f.startsWith('mydocker.sh'))!), 'utf8')).toContain('my half-written runtime');
    expect(fs.readFileSync(path.join(mine, 'mydocker.sh'))).toEqual(fs.readFileSync(REFERENCE));
    // The goal's container and the learner's, each as their step shows it.
    expect(report.lessons[0]!.steps[2]!.output).toMatch(/hostname capstone-goal, pid 1, links lo\n\/ holds bin/);
    expect(report.lessons[0]!.steps[5]!.output).toMatch(/hostname capstone-hello, pid 1, links lo/);
    expect(await settled()).toEqual({});
    for (const f of kept) fs.rmSync(path.join(mine, f));
  }, 240_000);
});

/** Start the reference in the capstone's lab as a learner would, and wait for its container. */
async function startReference(name: string): Promise<{ child: ReturnType<typeof spawn>; pid: number }> {
  const token = `cl-lesson-test-${process.pid}-${name}`;
  const child = spawn('bash', [REFERENCE, 'run', '--name', name, '--cpus', '0.2', '--memory', '64m', '--pids', '32', 'capstone', 'sh', '-c', 'while :; do sleep 1; done', token], {
    env: { ...process.env, CONTAINER_LESSONS_HOME: capstoneHome(lab) },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  for (let i = 0; i < 300; i++) {
    // The runtime's own argv ends in the token too: the container is the one that is PID 1.
    const pid = procfs.listPids().find((p) => (procfs.cmdline(p) ?? '').startsWith('sh -c') && (procfs.cmdline(p) ?? '').endsWith(token));
    if (pid && isNamespacePid1(pid)) return { child, pid };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the reference did not start its container: ${err}`);
}

function isNamespacePid1(pid: number): boolean {
  try {
    return /NSpid:.*\s1$/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false; // gone between the listing and the read
  }
}

describe('what a killed runtime leaves', () => {
  beforeAll(() => {
    fs.mkdirSync(mine, { recursive: true });
    fs.copyFileSync(REFERENCE, path.join(mine, 'mydocker.sh'));
  });

  it('reset capstone removes its container, mounts, directory and cgroup, and never the learner’s files', async () => {
    const { child, pid } = await startReference('capstone-main');
    process.kill(-child.pid!, 'SIGKILL'); // the runtime and its helpers, not the container
    await new Promise((r) => setTimeout(r, 200));
    let r: ReturnType<typeof cli> | undefined;
    try {
      expect(fs.existsSync(`/proc/${pid}`), `the container (pid ${pid}) ended with its runtime`).toBe(true);
      expect(Object.keys(leaks(before, snapshot())).length).toBeGreaterThan(0);
    } finally {
      // Whatever failed above, the next test must not find this one's container name taken.
      r = cli(['reset', 'capstone']);
    }
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cgroup .*mydocker-capstone-main/);
    const left = await settled();
    expect(left, describeLeaks(left)).toEqual({});
    expect(fs.readdirSync(path.join(capstoneHome(lab), 'containers'))).toEqual([]);
    expect(fs.existsSync(path.join(mine, 'mydocker.sh'))).toBe(true);
  }, 60_000);

  it('a workbook killed while its check runs: the next start recovers every probe, its cgroups and the bridge', async () => {
    const child = spawn(process.execPath, [BIN, 'check', 'capstone'], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1' }, stdio: 'ignore' });
    // Killed once the second network container is up: the bridge, two runtimes, their veths.
    let up = 0;
    for (let i = 0; i < 1200 && up < 2; i++) {
      // Each container's PID 1 alone: a shell forking for its sleep shows the same argv for a moment.
      up = procfs.listPids().filter((p) => /^sh -c echo ready; while/.test(procfs.cmdline(p) ?? '') && isNamespacePid1(p)).length;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(up).toBe(2);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(Object.keys(leaks(before, snapshot())).length).toBeGreaterThan(0);
    const { removed, errors } = await recoverLab(lab);
    expect(errors).toEqual([]);
    expect(removed.map((r) => r.kind)).toEqual(expect.arrayContaining(['processes', 'link']));
    const left = await settled();
    expect(left, describeLeaks(left)).toEqual({});
  }, 120_000);
});

describe('reset --all', () => {
  it("removes the capstone's lab with the rootfs its image was made from, and keeps the learner's mydocker/", () => {
    const r = cli(['reset', '--all']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(capstoneHome(lab));
    expect(fs.existsSync(capstoneHome(lab))).toBe(false);
    expect(fs.existsSync(lab.rootfs)).toBe(false);
    expect(fs.existsSync(path.join(mine, 'mydocker.sh'))).toBe(true);
  });
});
