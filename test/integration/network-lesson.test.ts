// Lesson 6 by hand with iproute2 (ip, nsenter) and util-linux unshare, in wrong states that
// must fail with a hint, and with bad input: a subnet that collides with a host route, a
// leftover bridge, a link kind the kernel lacks. Nothing may be left behind.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import { spawn, execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { BRIDGE, LINK_ALIAS, SUBNET_VAR, networkPlan } from '../../src/lessons/06-network.js';
import { solveLesson } from '../../src/runner.js';
import { ensureRootfs, procfs, Netlink, SyscallError, routes } from '../../src/core/index.js';
import type { CheckResult } from '../../src/checks/result.js';
import { tempLab } from '../support/lab.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-net-lesson-');
const lesson = findLesson('network') as Lesson;
const BIN = new URL('../../bin/container-lessons.js', import.meta.url).pathname;
const sh = (script: string) => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
const failedOnly = (checks: CheckResult[]) => checks.filter((c) => c.status === 'fail');
const firstFail = (checks: CheckResult[]) => {
  const f = failedOnly(checks)[0];
  if (!f) throw new Error(`expected a failing check, all passed: ${checks.map((c) => c.title).join(' | ')}`);
  return f;
};
const hostLink = (name: string) => {
  const nl = new Netlink();
  try {
    return nl.links().find((l) => l.name === name);
  } finally {
    nl.close();
  }
};

/** Containers started by hand; each is the `sh` whose root is the rootfs, found by pid. */
const learners: ChildProcess[] = [];
async function byHandContainer(): Promise<number> {
  const known = new Set(rootfsShells());
  const child = spawn('/bin/sh', ['-c', `unshare --mount --uts --ipc --pid --net --fork --mount-proc=${lab.rootfs}/proc chroot ${lab.rootfs} sh`], { stdio: ['pipe', 'pipe', 'pipe'] });
  learners.push(child);
  for (let i = 0; i < 300; i++) {
    const [fresh] = rootfsShells().filter((p) => !known.has(p));
    if (fresh !== undefined) return fresh;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the by-hand container did not start');
}
function rootfsShells(): number[] {
  return procfs.listPids().filter((p) => {
    try {
      return fs.existsSync(`/proc/${p}/root/.container-lessons-rootfs`) && procfs.comm(p) === 'sh';
    } catch {
      return false;
    }
  });
}

/** The lesson's commands, as a learner types them (the same ones the text shows). */
function wireByHand(pid: number, n: number) {
  const p = networkPlan();
  sh(`ip link add clveth${n - 1} type veth peer name eth0 netns ${pid}
      ip link set clveth${n - 1} master ${BRIDGE} up
      nsenter -t ${pid} -n ip link set lo up
      nsenter -t ${pid} -n ip addr add ${p.address(n)}/${p.prefix} dev eth0
      nsenter -t ${pid} -n ip link set eth0 up
      nsenter -t ${pid} -n ip route add default via ${p.gateway}`);
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
  delete process.env[SUBNET_VAR];
  await lesson.reset(lab);
});
afterAll(async () => {
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

describe('lesson 6 by hand with ip and nsenter', () => {
  it('bridge, two containers, veths, addresses, routes: passes; then each wrong state fails with its fix', async () => {
    const p = networkPlan();
    sh(`ip link add ${BRIDGE} type bridge && ip addr add ${p.gateway}/${p.prefix} dev ${BRIDGE} && ip link set ${BRIDGE} up`);
    const a = await byHandContainer();
    wireByHand(a, 1);
    let checks = await lesson.check(lab);
    expect(firstFail(checks)).toMatchObject({ title: 'a second container reaches the first' });
    expect(checks.filter((c) => c.status === 'pass').map((c) => c.title)).toEqual([
      'a process has the rootfs as /',
      'its own network namespace',
      `a bridge ${BRIDGE} on the host`,
      `a veth from a container to ${BRIDGE}`,
      'the container: links up, lo, address, default route',
      'the container reaches the host',
      'the host reaches the container',
    ]);
    const b = await byHandContainer();
    wireByHand(b, 2);
    checks = await lesson.check(lab);
    expect(failedOnly(checks)).toEqual([]);
    expect(checks.at(-1)?.reason).toMatch(new RegExp(`ping ${p.address(1).replace(/\./g, '\\.')} from it: echo reply`));

    // No default route: only the subnet itself is reachable.
    sh(`nsenter -t ${a} -n ip route del default`);
    let f = firstFail(await lesson.check(lab));
    expect(f.title).toBe('the container: links up, lo, address, default route');
    expect(f.reason).toMatch(/no default route inside/);
    expect(f.hint).toBe(`nsenter -t ${a} -n ip route add default via ${p.gateway}`);
    sh(`nsenter -t ${a} -n ip route add default via ${p.gateway}`);

    // The host end of the cable down.
    sh('ip link set clveth0 down');
    f = firstFail(await lesson.check(lab));
    expect(f.title).toBe('the container: links up, lo, address, default route');
    expect(f.reason).toMatch(/clveth0 \(host end\) is down/);
    expect(f.hint).toBe('ip link set clveth0 up');
    sh('ip link set clveth0 up');

    // An address outside the bridge's subnet (the route goes with it: put one back).
    sh(`nsenter -t ${a} -n ip addr del ${p.address(1)}/${p.prefix} dev eth0 && nsenter -t ${a} -n ip addr add 10.98.7.2/24 dev eth0`);
    f = firstFail(await lesson.check(lab));
    expect(f.title).toBe('the container: links up, lo, address, default route');
    expect(f.reason).toMatch(/10\.98\.7\.2\/24, outside clbr0's subnet/);
    expect(f.hint).toMatch(new RegExp(`ip addr add ${p.address(1).replace(/\./g, '\\.')}/24 dev eth0`));

    // reset removes the learner's containers, the bridge and the veths.
    const removed = await lesson.reset(lab);
    expect(removed).toEqual(expect.arrayContaining([`link ${BRIDGE}`]));
    expect(hostLink(BRIDGE)).toBeUndefined();
    expect(hostLink('clveth0')).toBeUndefined();
  });

  it('without a bridge, and with only lo in the container: fails with the command to type', async () => {
    await byHandContainer();
    let f = firstFail(await lesson.check(lab));
    expect(f.title).toBe(`a bridge ${BRIDGE} on the host`);
    expect(f.hint).toBe(`ip link add ${BRIDGE} type bridge`);
    sh(`ip link add ${BRIDGE} type bridge`);
    f = firstFail(await lesson.check(lab));
    expect(f.reason).toBe(`${BRIDGE} is down and has no IPv4 address`);
    const p = networkPlan();
    sh(`ip addr add ${p.gateway}/${p.prefix} dev ${BRIDGE} && ip link set ${BRIDGE} up`);
    f = firstFail(await lesson.check(lab));
    expect(f.title).toBe(`a veth from a container to ${BRIDGE}`);
    expect(f.reason).toMatch(/has lo\)/);
  });

  it('containers cabled only to each other are passed over: the one whose cable reaches the host is found, by the namespace id the host gives it', async () => {
    const p = networkPlan();
    sh(`ip link add ${BRIDGE} type bridge && ip addr add ${p.gateway}/${p.prefix} dev ${BRIDGE} && ip link set ${BRIDGE} up`);
    // Two containers wired to each other, like the NAT step's, started first.
    const x = await byHandContainer();
    const y = await byHandContainer();
    sh(`ip link add clpair0 netns ${x} type veth peer name clpair1 netns ${y}`);
    const a = await byHandContainer();
    wireByHand(a, 1);
    const nl = new Netlink();
    try {
      const cable = nl.links().find((l) => l.name === 'clveth0')!;
      expect(cable.peerNetnsId).not.toBeNull();
      expect(nl.netnsIdOf(a)).toBe(cable.peerNetnsId);
      expect(nl.netnsIdOf(process.pid)).toBeNull(); // the host's own namespace has no id in itself
      expect(nl.links().some((l) => l.kind === 'veth' && l.peerNetnsId !== null && l.peerNetnsId === nl.netnsIdOf(x))).toBe(false);
    } finally {
      nl.close();
    }
    const checks = await lesson.check(lab);
    expect(checks.find((c) => c.title === `a veth from a container to ${BRIDGE}`)).toMatchObject({ status: 'pass', reason: expect.stringContaining(`pid ${a} `) });
    expect(firstFail(checks)).toMatchObject({ title: 'a second container reaches the first', reason: `only one container is plugged into ${BRIDGE}` });
  });
});

describe('lesson 6 with bad input', () => {
  it('a subnet that collides with a host route: a clear message, nothing made', async () => {
    const used = routes.readRoutes('self').find((r) => r.prefix > 0 && r.prefix <= 30)!;
    expect(used).toBeTruthy();
    const s0 = snapshot();
    const r = spawnSync(process.execPath, [BIN, 'solve', '6'], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root, [SUBNET_VAR]: `${used.dest}/${used.prefix}` }, encoding: 'utf8' });
    const out = r.stdout + r.stderr;
    expect(r.status).toBe(1);
    expect(out).toMatch(new RegExp(`collides with the host route ${used.dest.replace(/\./g, '\\.')}/${used.prefix} dev ${used.iface}`));
    expect(out).toMatch(/CONTAINER_LESSONS_SUBNET=/);
    expect(out).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(hostLink(BRIDGE)).toBeUndefined();
    expect(leaks(s0, snapshot())).toEqual({});
  });

  it('a bridge a crashed run left, or the learner made, is removed first; a foreign link of that name is refused and kept', async () => {
    const nl = new Netlink();
    try {
      nl.addBridge(BRIDGE);
      nl.setAlias(BRIDGE, LINK_ALIAS);
    } finally {
      nl.close();
    }
    const report = await solveLesson(lesson, lab);
    expect(report.reset).toContain(`link ${BRIDGE}`);
    expect(report.passed).toBe(true);
    expect(hostLink(BRIDGE)).toBeUndefined();

    // A learner's bridge from the lesson's text is removed by the reset solve starts with.
    sh(`ip link add ${BRIDGE} type bridge`);
    expect(await lesson.reset(lab)).toContain(`link ${BRIDGE}`);

    // A link of that name that is not the lesson's: left alone, and solve refuses the name.
    sh(`ip link add ${BRIDGE} type veth peer name clbr0peer`);
    const s0 = snapshot();
    const refused = await solveLesson(lesson, lab);
    expect(refused.passed).toBe(false);
    expect(refused.reset).toContain(`left ${BRIDGE} alone: it is a veth link, not the lesson's bridge`);
    const err = refused.steps.find((s) => s.error)!.error!;
    expect(err.message).toMatch(/a link named clbr0 already exists and container-lessons did not make it \(a veth link\)/);
    expect(err.hint).toMatch(/ip link del clbr0/);
    expect(hostLink(BRIDGE)).toMatchObject({ kind: 'veth', alias: null });
    expect(leaks(s0, snapshot())).toEqual({});
    sh(`ip link del ${BRIDGE}`);
  });

  it('a link kind the kernel lacks: the kernel says EOPNOTSUPP, the lesson says which module to load', async () => {
    const nl = new Netlink();
    let err: unknown;
    try {
      nl.addLink('clnokind0', 'no-such-kind');
    } catch (e) {
      err = e;
    } finally {
      nl.close();
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).code).toBe('EOPNOTSUPP');
    expect(hostLink('clnokind0')).toBeUndefined();
    const { explainNetlink } = await import('../../src/lessons/06-network.js');
    const said = (() => {
      try {
        explainNetlink(err, 'veth');
      } catch (e) {
        return e as Error & { hint: string };
      }
    })()!;
    expect(said.message).toMatch(/the kernel cannot make a veth link/);
    expect(said.hint).toMatch(/modprobe veth/);
  });
});
