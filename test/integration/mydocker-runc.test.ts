// A real peer for the capstone: capstone/peers/runc-mydocker.sh turns the interface's
// arguments into an OCI bundle (the overlay of the image's layers it mounts itself, a
// config.json) and runc runs it. It passes the whole conformance suite on the real kernel,
// run inside a limited group of the test's own; bad arguments exit 125 touching nothing.
// Skipped where runc is not installed.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureRootfs, Ledger } from '../../src/core/index.js';
import { BoundedGroup } from '../support/bounded-group.js';
import { runSuite, CHECKS, ensureCapstoneImage, capstoneHome, CAPSTONE_IMAGE } from '../../src/capstone/suite.js';
import { Probe, exitCode } from '../../src/capstone/probe.js';
import type { CheckResult } from '../../src/checks/result.js';
import { tempLab } from '../support/lab.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const hasRunc = spawnSync('runc', ['--version']).status === 0;
const wrapper = path.resolve('capstone/peers/runc-mydocker.sh');

describe.skipIf(!hasRunc)('runc-mydocker.sh: the capstone interface on runc', () => {
  const lab = tempLab('cl-capstone-runc-');
  const ledger = new Ledger();
  let bound: BoundedGroup;
  let before: ReturnType<typeof snapshot>;
  // On a cgroup v2 host, runc turns on the controllers its groups need in the root's
  // cgroup.subtree_control and leaves them on: put back what it changed (on a v1 or hybrid
  // host it changes nothing there).
  const subtree = '/sys/fs/cgroup/cgroup.subtree_control';
  const v2 = fs.existsSync(subtree);
  const controllersBefore = v2 ? fs.readFileSync(subtree, 'utf8').split(/\s+/).filter(Boolean) : [];

  const bounded = (argv: string[]) => bound.argv(argv);
  const failed = (checks: CheckResult[]) => checks.filter((c) => c.status !== 'pass').map((c) => `${c.title}: ${c.reason}`);

  beforeAll(() => {
    ensureRootfs(lab.rootfs);
    before = snapshot();
    // Room for the suite's limits to bite first: a CPU, 512 MiB without swap, 400 tasks.
    bound = new BoundedGroup('cl-capstone-runc', ledger, { cpuQuotaUs: 100000, memoryMiB: 512, pids: 400 });
  });
  afterAll(async () => {
    await ledger.cleanup();
    if (v2) for (const c of fs.readFileSync(subtree, 'utf8').split(/\s+/).filter(Boolean)) if (!controllersBefore.includes(c)) fs.writeFileSync(subtree, `-${c}`);
    expect(leaks(before, snapshot())).toEqual({});
    lab.dispose();
  });

  it('passes every check of the suite', async () => {
    const checks = await runSuite({ lab, runtime: bounded(['bash', wrapper]) });
    expect(checks.map((c) => c.title)).toEqual(Object.values(CHECKS));
    expect(failed(checks)).toEqual([]);
  }, 300_000);

  it("exits with the command's code and its output; lo is up in a network namespace of its own", async () => {
    await ensureCapstoneImage(lab);
    const r = spawnSync('bash', [wrapper, 'run', CAPSTONE_IMAGE, 'sh', '-c', 'ip -o link show lo; echo "a \\"quoted\\" arg"; exit 3'], {
      env: { ...process.env, CONTAINER_LESSONS_HOME: capstoneHome(lab) },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    expect(r.stdout).toContain('a "quoted" arg');
    expect(fs.readdirSync(path.join(capstoneHome(lab), 'containers'))).toEqual([]);
  });

  it('SIGINT and SIGTERM go on to the command (runc kill); when it ignores them (sh -c catches SIGINT, PID 1 without a handler ignores SIGTERM) SIGKILL follows; nothing is left', async () => {
    await ensureCapstoneImage(lab);
    const env = { ...process.env, CONTAINER_LESSONS_HOME: capstoneHome(lab) };
    const handles = new Probe({ runtime: bounded(['bash', wrapper]), options: ['--name', 'runc-int1'], image: CAPSTONE_IMAGE, script: "trap 'echo got INT; exit 4' INT; echo ready; while :; do sleep 0.1; done", env });
    const ignores = new Probe({ runtime: bounded(['bash', wrapper]), options: ['--name', 'runc-int2'], image: CAPSTONE_IMAGE, script: 'echo ready; while :; do sleep 0.1; done', env });
    try {
      for (const p of [handles, ignores]) {
        expect(await p.container()).not.toBeNull();
        expect(await p.line('ready')).toBe(true);
      }
      handles.signal('SIGINT');
      ignores.signal('SIGTERM');
      const [handled, killed] = [await handles.end(15_000), await ignores.end(15_000)];
      expect(handled && exitCode(handled)).toBe(4);
      expect(handles.stdout).toContain('got INT');
      expect(killed && exitCode(killed)).toBe(128 + 9);
    } finally {
      await handles.kill();
      await ignores.kill();
    }
    for (const name of ['runc-int1', 'runc-int2']) {
      expect(fs.existsSync(path.join(capstoneHome(lab), 'containers', name))).toBe(false);
      expect(spawnSync('runc', ['state', name]).status).not.toBe(0);
    }
  }, 60_000);

  it('bad arguments: a one-line message and 125, nothing made', async () => {
    await ensureCapstoneImage(lab);
    const env = { ...process.env, CONTAINER_LESSONS_HOME: capstoneHome(lab) };
    const cases: Array<[string[], RegExp]> = [
      [['run'], /^runc-mydocker: no IMAGE given/],
      [['run', '--cpus', 'abc', CAPSTONE_IMAGE, 'true'], /^runc-mydocker: --cpus abc: not a number of CPUs/],
      [['run', 'no-such-image', 'true'], /^runc-mydocker: no image 'no-such-image'/],
      [['run', '--ip', '10.0.0.2/24', CAPSTONE_IMAGE, 'true'], /^runc-mydocker: --ip needs MYDOCKER_BRIDGE/],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync('bash', [wrapper, ...args], { env: { ...env, MYDOCKER_BRIDGE: '' }, encoding: 'utf8' });
      expect(r.status, args.join(' ')).toBe(125);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const containers = path.join(capstoneHome(lab), 'containers');
    expect(fs.existsSync(containers) ? fs.readdirSync(containers) : []).toEqual([]);
  });
});
