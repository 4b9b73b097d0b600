// The capstone's conformance suite on the real kernel, against runtimes whose shortcomings
// are known: one that makes no container at all (it runs the command on the host) must
// fail exactly the checks of the pieces it lacks and pass the rest. The runtime under test
// runs inside a limited group of the test's own (the suite's hog and busy loop are bounded,
// but a runtime that limits nothing would run them on the host).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ensureRootfs, Ledger } from '../../src/core/index.js';
import { BoundedGroup } from '../support/bounded-group.js';
import { runSuite, CHECKS, lowerdirsOf, capstoneHome } from '../../src/capstone/suite.js';
import { LayerStore } from '../../src/core/index.js';
import type { CheckResult } from '../../src/checks/result.js';
import { tempLab } from '../support/lab.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-capstone-');
const ledger = new Ledger();
let bound: BoundedGroup;
let before: ReturnType<typeof snapshot>;

/** A runtime as a shell script, started inside the test's limited group. */
function runtime(name: string, body: string): string[] {
  const file = path.join(lab.root, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return bound.argv([file]);
}
const status = (checks: CheckResult[]) => Object.fromEntries(checks.map((c) => [c.title, c.status]));

beforeAll(() => {
  ensureRootfs(lab.rootfs);
  before = snapshot();
  // At most half a CPU, 256 MiB without swap and 200 tasks, whatever the runtime does.
  bound = new BoundedGroup('cl-capstone-test', ledger, { cpuQuotaUs: 50000, memoryMiB: 256, pids: 200 });
});
afterAll(async () => {
  await ledger.cleanup();
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

describe('the suite against a runtime that makes no container', () => {
  it('fails the container checks, each with a hint naming its lesson, and passes exit, signal and cleanup', async () => {
    const plain = runtime('plain-exec', 'shift\nwhile [ $# -gt 0 ]; do case $1 in --*) shift 2 ;; *) break ;; esac; done\nshift\nexec "$@"');
    const checks = await runSuite({ lab, runtime: plain });
    expect(checks.map((c) => c.title)).toEqual(Object.values(CHECKS));
    expect(status(checks)).toEqual({
      [CHECKS.starts]: 'pass',
      [CHECKS.overlay]: 'fail',
      [CHECKS.pivot]: 'fail',
      [CHECKS.namespaces]: 'fail',
      [CHECKS.hostname]: 'fail',
      [CHECKS.cpu]: 'fail',
      [CHECKS.memory]: 'fail',
      [CHECKS.pids]: 'fail',
      [CHECKS.upper]: 'fail',
      [CHECKS.network]: 'fail',
      [CHECKS.icmp]: 'fail',
      [CHECKS.reach]: 'fail',
      [CHECKS.exit]: 'pass',
      [CHECKS.signal]: 'pass',
      [CHECKS.cleanup]: 'pass',
    });
    const by = (t: string) => checks.find((c) => c.title === t)!;
    expect(by(CHECKS.namespaces).reason).toMatch(/shares the host's mnt, uts, ipc, pid, net, cgroup namespaces/);
    expect(by(CHECKS.memory).reason).toBe('wc counted 134217728: the hog was not killed');
    for (const c of checks.filter((x) => x.status === 'fail')) expect(c.hint, c.title).toMatch(/lesson/);
    // The image it was offered stays in the capstone's own store; nothing else is left.
    expect(fs.existsSync(path.join(capstoneHome(lab), 'images', 'capstone.json'))).toBe(true);
    expect(fs.existsSync(path.join(capstoneHome(lab), 'host-only.txt'))).toBe(false);
  }, 180_000);

  it('a runtime that does not start: the first check says what it printed, the rest are not run', async () => {
    const broken = runtime('broken', 'echo "mydocker: TODO: everything" >&2; exit 125');
    const checks = await runSuite({ lab, runtime: broken });
    expect(checks[0]).toMatchObject({ status: 'fail', reason: expect.stringMatching(/exited 125: mydocker: TODO: everything$/) });
    expect(checks.slice(1).every((c) => c.status === 'fail' && c.reason.startsWith('not checked:'))).toBe(true);
  });
});

describe('lowerdirsOf', () => {
  it("reads overlay2's l/ names relative to the store, and absolute ones as they are", () => {
    const store = new LayerStore(path.join(lab.root, 'a-store'));
    expect(lowerdirsOf('rw,lowerdir=l/AAA:l/BBB,upperdir=/u,workdir=/w', store)).toEqual([path.join(store.root, 'l/AAA'), path.join(store.root, 'l/BBB')]);
    expect(lowerdirsOf('rw,lowerdir=/x/diff,upperdir=/u', store)).toEqual(['/x/diff']);
    expect(lowerdirsOf('rw,upperdir=/u', store)).toEqual([]);
  });
});
