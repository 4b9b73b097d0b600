// The capstone's reference runtimes pass the whole conformance suite on the real kernel:
// the workbook's own `run` verb and the bash reference (capstone/mydocker.sh); the bash
// reference with its network piece left open fails exactly the network checks. Each
// runtime runs inside a limited group of the test's own, whatever it limits itself.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { ensureRootfs, Ledger } from '../../src/core/index.js';
import { BoundedGroup } from '../support/bounded-group.js';
import { runSuite, CHECKS } from '../../src/capstone/suite.js';
import type { CheckResult } from '../../src/checks/result.js';
import { tempLab } from '../support/lab.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-capstone-ref-');
const ledger = new Ledger();
let bound: BoundedGroup;
let before: ReturnType<typeof snapshot>;

const bounded = (argv: string[]) => bound.argv(argv);
const failed = (checks: CheckResult[]) => checks.filter((c) => c.status !== 'pass').map((c) => `${c.title}: ${c.reason}`);

beforeAll(() => {
  ensureRootfs(lab.rootfs);
  before = snapshot();
  // Room for the suite's limits to bite first: a CPU, 512 MiB without swap, 400 tasks.
  bound = new BoundedGroup('cl-capstone-ref', ledger, { cpuQuotaUs: 100000, memoryMiB: 512, pids: 400 });
});
afterAll(async () => {
  await ledger.cleanup();
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

describe('the reference runtimes pass the whole suite', () => {
  it("the workbook's own run verb", async () => {
    const checks = await runSuite({ lab, runtime: bounded([process.execPath, path.resolve('bin/container-lessons.js')]) });
    expect(checks.map((c) => c.title)).toEqual(Object.values(CHECKS));
    expect(failed(checks)).toEqual([]);
  }, 300_000);

  it('the bash reference, capstone/mydocker.sh', async () => {
    const checks = await runSuite({ lab, runtime: bounded(['bash', path.resolve('capstone/mydocker.sh')]) });
    expect(failed(checks)).toEqual([]);
  }, 300_000);

  it('the bash reference with its network piece left open fails the network checks, and only those', async () => {
    const partial = path.join(lab.root, 'mydocker-no-network.sh');
    execFileSync(process.execPath, ['scripts/capstone-skeleton.mjs', '--open', 'network', '--out', partial]);
    const checks = await runSuite({ lab, runtime: bounded(['bash', partial]) });
    expect(checks.filter((c) => c.status !== 'pass').map((c) => c.title)).toEqual([CHECKS.network, CHECKS.icmp, CHECKS.reach]);
    expect(fs.existsSync(partial)).toBe(true);
  }, 300_000);
});

describe('container-lessons check capstone', () => {
  const cli = (args: string[]) =>
    spawnSync('/bin/sh', ['-c', `${bound.join()}; exec "$@"`, 'cli', process.execPath, path.resolve('bin/container-lessons.js'), ...args], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1' }, encoding: 'utf8' });

  it('--runtime capstone/mydocker.sh --json: every check passed, exit 0', () => {
    const r = cli(['check', 'capstone', '--runtime', 'capstone/mydocker.sh', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ id: 'capstone', passed: true, runtime: path.resolve('capstone/mydocker.sh') });
    expect(report.checks.map((c: CheckResult) => c.title)).toEqual(Object.values(CHECKS));
  }, 300_000);

  it("without --runtime it grades the lab's mydocker/ (none here: a failed check that says to write it); a --runtime not there is a usage error", () => {
    let r = cli(['check', 'capstone']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/no runtime in .*mydocker: neither mydocker nor mydocker\.sh is there[\s\S]*capstone init/);
    r = cli(['check', 'capstone', '--runtime', '/nonexistent/mydocker']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no runtime at \/nonexistent\/mydocker/);
  });
});
