// The leak guard's self-test: one object of each kind is left on purpose between two
// snapshots, and the guard must name each; then everything is removed again. Network
// settings that may not change on the host (its firewall, its forwarding) are changed in a
// network namespace of the test's own, read by the same code.
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { snapshot, leaks, TAG_VAR } from '../support/kernel-state.mjs';
import { cgroupLayout, ensureRootfs } from '../../src/core/index.js';
import { tempLab } from '../support/lab.js';

const sh = (script: string) => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
const id = `${process.pid % 100000}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-guard-'));
const hasNft = (() => {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Undo steps, run in reverse at the end even when an expectation failed. */
const undo: Array<() => void> = [];
// The first `ip netns add` on a machine makes /run/netns (and a bind mount of it on itself,
// which `ip netns del` leaves): put back what this file found.
const NETNS_DIR = '/run/netns';
const netnsMounted = () =>
  fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === NETNS_DIR);
const netnsDirBefore = fs.existsSync(NETNS_DIR);
const netnsMountBefore = netnsMounted();
undo.push(() => {
  if (!netnsMountBefore && netnsMounted()) sh(`umount ${NETNS_DIR}`);
  if (!netnsDirBefore) fs.rmdirSync(NETNS_DIR);
});
const children: ChildProcess[] = [];
const quietly = (fn: () => void) => {
  try {
    fn();
  } catch {
    /* already gone */
  }
};
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  for (const fn of undo.reverse()) quietly(fn);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Wait until a child is running its final program (after unshare or chroot exec'd). */
async function started(c: ChildProcess, comm: string) {
  for (let i = 0; i < 200; i++) {
    const pids = [c.pid!, ...sh(`pgrep -P ${c.pid} || true`).split('\n').filter(Boolean).map(Number)];
    if (pids.some((p) => fs.existsSync(`/proc/${p}/comm`) && fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === comm)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${comm} did not start`);
}

describe('the leak guard sees', () => {
  it("a mount, and a change of a mount's propagation", () => {
    const dir = path.join(tmp, 'mnt');
    fs.mkdirSync(dir);
    const before = snapshot();
    sh(`mount -t tmpfs cl-guard ${dir}`);
    undo.push(() => sh(`umount ${dir}`));
    const mounted = snapshot();
    expect(leaks(before, mounted).mounts).toEqual([expect.stringMatching(new RegExp(`^\\+ ${dir} tmpfs cl-guard `))]);
    sh(`mount --make-shared ${dir}`);
    const found = leaks(mounted, snapshot()).mounts ?? [];
    expect(found).toEqual([expect.stringMatching(/^\+ .* shared:\d+$/), expect.stringMatching(/^- .* private$/)]);
  });

  it("a cgroup at the top of a hierarchy (where v2 puts a lesson's group)", () => {
    const home = cgroupLayout().controllers.cpu;
    expect(home, 'a cpu controller').toBeDefined();
    const dir = path.join(home!.mountPoint, `cl-guard-${id}`);
    const before = snapshot();
    fs.mkdirSync(dir);
    undo.push(() => fs.rmdirSync(dir));
    expect(leaks(before, snapshot()).cgroups).toEqual([`+ ${dir}`]);
  });

  it('processes in another PID namespace, tagged by the project, or rooted in a lab rootfs', async () => {
    const lab = tempLab('cl-guard-lab-');
    undo.push(() => lab.dispose());
    ensureRootfs(lab.rootfs);
    const before = snapshot();
    const other = spawn('unshare', ['--pid', '--fork', '--kill-child', 'sleep', '61'], { stdio: 'ignore' });
    const tagged = spawn('sleep', ['62'], { stdio: 'ignore', env: { ...process.env, [TAG_VAR]: `guard-${id}` } });
    const rooted = spawn('chroot', [lab.rootfs, 'sleep', '63'], { stdio: 'ignore' });
    children.push(other, tagged, rooted);
    await Promise.all([started(other, 'sleep'), started(tagged, 'sleep'), started(rooted, 'sleep')]);
    const found = (leaks(before, snapshot()).processes ?? []).join('\n');
    expect(found).toMatch(/sleep \(other pid namespace\): sleep 61/);
    expect(found).toMatch(/sleep \(the project's\): sleep 62/);
    expect(found).toMatch(/sleep \(rooted in a lab rootfs\): sleep 63/);
  });

  it('a link, an address and its route on a link that was there, a per-link setting, a named netns', () => {
    const [a, b] = [`clg${id}a`, `clg${id}b`];
    sh(`ip link add ${a} type veth peer name ${b}`);
    undo.push(() => sh(`ip link del ${a}`));
    const before = snapshot();
    sh(`ip addr add 10.251.${Number(id) % 250}.1/30 dev ${a} && ip link set ${a} up && echo 1 > /proc/sys/net/ipv4/conf/${a}/forwarding`);
    sh(`ip netns add clguard${id}`);
    undo.push(() => sh(`ip netns del clguard${id}`));
    const found = leaks(before, snapshot());
    expect(found.links?.join('\n')).toMatch(new RegExp(`^\\+ ${a} .*10\\.251\\.\\d+\\.1/30`, 'm'));
    expect(found.links?.join('\n')).toMatch(new RegExp(`^- ${a} down`, 'm'));
    expect(found.routes?.join('\n')).toMatch(new RegExp(`10\\.251\\.\\d+\\.0/30 dev ${a}`));
    expect(found.sysctls).toEqual(expect.arrayContaining([`+ ipv4/conf/${a}/forwarding:1`, `- ipv4/conf/${a}/forwarding:0`]));
    expect(found.netns).toEqual([`+ clguard${id}`]);
    // A link that went is damage too.
    const withLink = snapshot();
    sh(`ip link del ${a}`);
    expect((leaks(withLink, snapshot()).links ?? []).filter((l) => l.startsWith('-')).join('\n')).toMatch(new RegExp(`^- ${a} `, 'm'));
  });

  it.skipIf(!hasNft)(`an nf_tables table and a forwarding switch, in a network namespace of its own${hasNft ? '' : ' (SKIP: nft is not installed: apt-get install nftables)'}`, () => {
    const ns = `clguardnft${id}`;
    sh(`ip netns add ${ns}`);
    undo.push(() => sh(`ip netns del ${ns}`));
    const before = snapshot({ netns: ns });
    sh(`ip netns exec ${ns} nft add table ip clguard && ip netns exec ${ns} sysctl -qw net.ipv4.ip_forward=1`);
    const found = leaks(before, snapshot({ netns: ns }));
    expect(found.nft).toEqual([expect.stringMatching(/^\+ .*"table".*"clguard"/)]);
    expect(found.sysctls).toEqual(expect.arrayContaining(['+ ipv4/ip_forward:1', '- ipv4/ip_forward:0']));
  });
});
