// `container-lessons run IMAGE CMD`, the capstone's reference runtime, as a black box on the
// real kernel: a real CLI process, an image imported into this file's own lab, probes found
// from outside by a token in their argv (as the conformance suite finds them), and the
// kernel read to see that each option took effect and that nothing is left afterwards.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Cgroup, ensureRootfs, importImage, LayerStore, Netlink, netOps, pingFrom, procfs, routes, writeImage } from '../../src/core/index.js';
import { tempLab } from '../support/lab.js';

const lab = tempLab('cl-run-image-');
const BIN = path.resolve('bin/container-lessons.js');
const layers = path.join(lab.root, 'layers');
const containers = path.join(lab.root, 'containers');
const store = new LayerStore(layers);
let top = '';

beforeAll(async () => {
  ensureRootfs(lab.rootfs);
  // Two layers: the lab's rootfs, and a top one with a file of its own.
  const topDir = path.join(lab.root, 'top-layer');
  fs.mkdirSync(path.join(topDir, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(topDir, 'etc', 'image-top'), 'from the top layer\n');
  const layout = path.join(lab.root, 'image-oci');
  await writeImage(layout, [lab.rootfs, topDir], { format: 'oci', name: 'base' });
  top = (await importImage(layout, store, { name: 'base' })).top;
}, 120_000);
afterAll(() => lab.dispose());

const labEnv = (extra: Record<string, string> = {}) => ({ ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1', ...extra });

function runtime(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, 'run', ...args], { env: labEnv(env), encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** What is left of containers in the lab: their directories, mounts under the lab, groups. */
function leftovers(runtimePid?: number) {
  const dirs = fs.existsSync(containers) ? fs.readdirSync(containers) : [];
  const mounts = procfs
    .readMountinfo()
    .filter((m) => m.mountPoint.startsWith(lab.root + '/'))
    .map((m) => m.mountPoint);
  const groups = runtimePid === undefined ? [] : new Cgroup(`container-lessons-run-${runtimePid}`, ['cpu', 'memory', 'pids']).dirs.filter((d) => fs.existsSync(d));
  return { dirs, mounts, groups };
}
const nothingLeft = { dirs: [], mounts: [], groups: [] };

/** A runtime started in the background with a probe: CMD is `sh -c SCRIPT TOKEN`, so the
 * token is in the probe's argv, where the suite looks for it. */
interface Probe {
  child: ChildProcess;
  token: string;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}
function startProbe(options: string[], script: string, env: Record<string, string> = {}): Probe {
  const token = `cl-probe-${randomUUID()}`;
  const child = spawn(process.execPath, [BIN, 'run', ...options, 'base', 'sh', '-c', script, token], { env: labEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code, signal) => res(code ?? (signal ? -1 : null))));
  return { child, token, out: () => out, err: () => err, exited };
}

/** The probe's host pid: a process in another PID namespace whose argv carries the token. */
async function findProbe(p: Probe): Promise<number> {
  const ours = fs.readlinkSync('/proc/self/ns/pid');
  for (let i = 0; i < 300; i++) {
    for (const pid of procfs.listPids()) {
      const argv = procfs.cmdline(pid);
      if (!argv?.includes(p.token)) continue;
      try {
        if (fs.readlinkSync(`/proc/${pid}/ns/pid`) !== ours) return pid;
      } catch {
        /* gone */
      }
    }
    if (p.child.exitCode !== null) throw new Error(`the runtime exited ${p.child.exitCode} before the probe was seen: ${p.err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no probe with ${p.token}: ${p.err()}`);
}

/** Stop a probe's runtime with SIGTERM and wait for it (a test that fails leaves nothing). */
async function stop(p: Probe): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  return p.exited;
}

const WAIT = 'sleep 60; exit 0'; // not `exec`: the shell stays, with the token in its argv

describe('container-lessons run IMAGE CMD', () => {
  it("exits with the command's code and passes its output through; nothing of it is left", () => {
    const r = runtime(['base', 'sh', '-c', 'cat /etc/image-top; exit 7']);
    expect(r.err).toBe('');
    expect(r.out).toBe('from the top layer\n');
    expect(r.code).toBe(7);
    expect(leftovers()).toEqual(nothingLeft);
  });

  it('a probe: overlay root on the image layers, hostname, six namespaces of its own, PID 1, limits in its cgroup; SIGTERM stops it and nothing remains', async () => {
    const p = startProbe(['--name', 'probe1', '--hostname', 'boxy', '--cpus', '0.5', '--memory', '32m', '--pids', '20'], `hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; ${WAIT}`);
    try {
      const pid = await findProbe(p);
      // Root: an overlay whose lowerdirs are the image's layers, top first; upper and work
      // the container's own under <lab>/containers/<name>/.
      const root = procfs.readMountinfo(pid).find((m) => m.mountPoint === '/');
      expect(root?.fstype).toBe('overlay');
      const opt = (k: string) =>
        root!.superOptions
          .split(',')
          .find((o) => o.startsWith(`${k}=`))
          ?.slice(k.length + 1);
      expect(opt('lowerdir')!.split(':')).toEqual(store.lowerdirs(top));
      expect(
        opt('lowerdir')!
          .split(':')
          .map((l) => path.basename(path.dirname(fs.realpathSync(l)))),
      ).toEqual([top, ...store.info(top).lower.map((e) => store.resolveLink(e))]);
      expect(opt('upperdir')).toBe(path.join(containers, 'probe1', 'upper'));
      expect(opt('workdir')).toBe(path.join(containers, 'probe1', 'work'));
      // pivot_root done, the old root gone: nothing of the host's mounts is in its table.
      expect(procfs.readMountinfo(pid).map((m) => m.mountPoint)).not.toContain('/.old_root');
      expect(procfs.readMountinfo(pid).some((m) => m.mountPoint === '/proc' && m.fstype === 'proc')).toBe(true);
      for (const ns of ['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup']) expect(fs.readlinkSync(`/proc/${pid}/ns/${ns}`), ns).not.toBe(fs.readlinkSync(`/proc/self/ns/${ns}`));
      expect(procfs.parseNSpid(procfs.readStatus(pid))?.at(-1)).toBe(1);
      // The limits, in the files of the group it is in.
      const g = new Cgroup(`container-lessons-run-${p.child.pid}`, ['cpu', 'memory', 'pids']);
      expect(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`/container-lessons-run-${p.child.pid}`);
      // The command and its children alone: no helper of the runtime (in our PID namespace).
      // Read once the probe sleeps (its short-lived hostname, cat and tr are gone by then).
      for (let i = 0; i < 200 && p.out().split('\n').length < 3; i++) await new Promise((r) => setTimeout(r, 50));
      const members = g.allProcs();
      expect(members).toContain(pid);
      const nsOf = (m: number) => {
        try {
          return fs.readlinkSync(`/proc/${m}/ns/pid`);
        } catch {
          return 'gone';
        }
      };
      for (const m of members) expect([fs.readlinkSync(`/proc/${pid}/ns/pid`), 'gone'], `pid ${m} in the group`).toContain(nsOf(m));
      expect(g.cpuLimit()).toEqual({ quotaUs: 50000, periodUs: 100000 });
      expect(g.memoryLimit()).toBe(32 * 1024 * 1024);
      const swap = g.file('memorySwapMax');
      if (fs.existsSync(swap)) expect(fs.readFileSync(swap, 'utf8').trim()).toBe(g.versionOf('memory') === 1 ? String(32 * 1024 * 1024) : '0');
      expect(g.pidsLimit()).toBe(20);
      // Without --ip: lo only, up.
      const { links } = await netOps(pid, []);
      expect(links.map((l) => [l.name, l.up])).toEqual([['lo', true]]);
      // The name is taken while it runs.
      const twin = runtime(['--name', 'probe1', 'base', 'true']);
      expect(twin.code).toBe(125);
      expect(twin.err).toMatch(/^container-lessons run: the name "probe1" is in use[^\n]*\n$/);
      expect(await stop(p)).toBe(143);
      expect(p.out().split('\n').slice(0, 2)).toEqual(['boxy', `sh -c ${`hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; ${WAIT}`} ${p.token} `]);
      expect(procfs.pidAlive(pid)).toBe(false);
      expect(leftovers(p.child.pid)).toEqual(nothingLeft);
    } finally {
      await stop(p);
    }
  });

  it('--memory is enforced: a probe that holds 128 MiB is OOM-killed under 32m, not under 512m', () => {
    // tail keeps its whole input (one line) in memory; wc counts what it wrote: 0 when killed.
    // The hog's processes first in the OOM killer's choice (a second victim was once PID 1).
    const hog = ['sh', '-c', "(echo 1000 > /proc/self/oom_score_adj; yes | tr -d '\\n' | head -c 128M | tail) | wc -c"];
    const limited = runtime(['--memory', '32m', 'base', ...hog]);
    expect(limited.code).toBe(0);
    expect(limited.out.trim()).toBe('0');
    const roomy = runtime(['--memory', '512m', 'base', ...hog]);
    expect(roomy.out.trim()).toBe(String(128 * 1024 * 1024));
  });

  it('--pids is enforced: a bounded fork loop stops short of 20 under --pids 8, not without it', () => {
    // Each started sleep prints a line; at the limit the shell cannot fork and stops. When
    // the shell (PID 1) ends, the kernel ends the sleeps with its PID namespace.
    const loop = ['sh', '-c', 'for i in $(seq 20); do sleep 30 & echo started; done 2>/dev/null; echo all'];
    const limited = runtime(['--pids', '8', 'base', ...loop]);
    const started = limited.out.split('\n').filter((l) => l === 'started').length;
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThan(8);
    expect(limited.out).not.toContain('all');
    const free = runtime(['base', ...loop]);
    expect(free.out.split('\n').filter((l) => l === 'started')).toHaveLength(20);
    expect(free.code).toBe(0);
    expect(leftovers()).toEqual(nothingLeft);
  });

  it('--ip: eth0 with the address on the bridge the caller made, a default route, and it answers a ping from the bridge', async () => {
    // A bridge of this test's own, on a subnet no host route touches.
    const bridge = `clrt${process.pid % 100000}`;
    const third = [211, 212, 213, 214, 215].find((n) => !routes.collisions(`10.${n}.77.0/24`, routes.readRoutes()).length);
    if (third === undefined) throw new Error('no free test subnet among 10.211-215.77.0/24');
    const gateway = `10.${third}.77.1`;
    const address = `10.${third}.77.2`;
    const nl = new Netlink();
    let p: Probe | null = null;
    try {
      nl.addBridge(bridge);
      nl.addAddress(bridge, `${gateway}/24`);
      nl.setUp(bridge);
      p = startProbe(['--ip', `${address}/24`], WAIT, { MYDOCKER_BRIDGE: bridge, MYDOCKER_GATEWAY: gateway });
      const pid = await findProbe(p);
      const inside = await netOps(pid, []);
      const eth0 = inside.links.find((l) => l.name === 'eth0');
      expect(eth0?.up).toBe(true);
      expect(inside.addresses.filter((a) => a.index === eth0!.index).map((a) => `${a.addr}/${a.prefix}`)).toEqual([`${address}/24`]);
      expect(inside.links.find((l) => l.name === 'lo')?.up).toBe(true);
      expect(routes.readRoutes(pid).find((r) => r.prefix === 0)).toMatchObject({ dest: '0.0.0.0', gateway, iface: 'eth0' });
      // The host's end is a port of the bridge, and up.
      const hostEnd = nl.links().find((l) => l.master === nl.index(bridge));
      expect(hostEnd).toMatchObject({ kind: 'veth', up: true });
      expect((await pingFrom(0, address, { count: 1, waitMs: 3000 })).ok).toBe(true);
      expect((await pingFrom(pid, gateway, { count: 1, waitMs: 3000 })).ok).toBe(true);
      expect(await stop(p)).toBe(143);
      expect(nl.links().filter((l) => l.master === nl.index(bridge))).toEqual([]);
      expect(leftovers(p.child.pid)).toEqual(nothingLeft);
    } finally {
      if (p) await stop(p);
      if (nl.links().some((l) => l.name === bridge)) nl.delete(bridge);
      nl.close();
    }
  });

  it('SIGINT stops it as SIGTERM does: exit 130, nothing left', async () => {
    const p = startProbe(['--memory', '64m', '--pids', '16'], WAIT);
    try {
      const pid = await findProbe(p);
      p.child.kill('SIGINT');
      expect(await p.exited).toBe(130);
      expect(procfs.pidAlive(pid)).toBe(false);
      expect(leftovers(p.child.pid)).toEqual(nothingLeft);
    } finally {
      await stop(p);
    }
  });

  it('after SIGKILL of the runtime, the next run removes what it left (the journal)', async () => {
    const p = startProbe(['--name', 'killed', '--memory', '64m'], WAIT);
    const pid = await findProbe(p);
    p.child.kill('SIGKILL');
    await p.exited;
    // PID 1 dies with its stage A, and that with the runtime (parent-death signals), before
    // any recovery runs.
    expect(await procfs.waitExited([pid], 5000)).toBe(true);
    expect(fs.existsSync(path.join(containers, 'killed'))).toBe(true);
    const next = runtime(['--name', 'killed', 'base', 'true']); // the name is free again
    expect(next.code).toBe(0);
    expect(next.err).toMatch(/an earlier run was interrupted; removed what it left: .*killed/);
    expect(leftovers(p.child.pid)).toEqual(nothingLeft);
  });

  it("PID 1 started while the command loads (util-linux unshare as its stage A), or by the command's own Node stage with CONTAINER_LESSONS_NO_EARLY: the same container either way", async () => {
    const parentOf = (pid: number) => {
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      return fs.readFileSync(`/proc/${ppid}/comm`, 'utf8').trim();
    };
    for (const [env, stageA] of [
      [{}, 'unshare'],
      [{ CONTAINER_LESSONS_NO_EARLY: '1' }, 'node'],
    ] as const) {
      const p = startProbe(['--name', `early-${stageA}`], `cat /proc/self/cgroup > /dev/null; ${WAIT}`, env);
      try {
        const pid = await findProbe(p);
        expect(parentOf(pid), JSON.stringify(env)).toBe(stageA);
        // Its namespaces: six of its own either way, the mount namespace included.
        for (const ns of ['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup']) expect(fs.readlinkSync(`/proc/${pid}/ns/${ns}`), ns).not.toBe(fs.readlinkSync(`/proc/self/ns/${ns}`));
        expect(procfs.readMountinfo(pid).find((m) => m.mountPoint === '/')?.fstype).toBe('overlay');
      } finally {
        p.child.kill('SIGTERM');
        await p.exited;
      }
      expect(leftovers(p.child.pid)).toEqual(nothingLeft);
    }
  });

  it('bad input: an unknown image, --cpus abc, no command, --ip without a bridge: exit 125, one line, nothing made', () => {
    const before = fs.existsSync(containers) ? fs.readdirSync(containers) : [];
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [['nosuch', 'true'], /no image "nosuch"/],
      [['--cpus', 'abc', 'base', 'true'], /--cpus is a number of CPUs/],
      [['base'], /no command given/],
      [[], /which image/],
      [['--ip', '10.9.9.2/24', 'base', 'true'], /MYDOCKER_BRIDGE/, { MYDOCKER_BRIDGE: '', MYDOCKER_GATEWAY: '' }],
      [['--ip', '10.9.9.2/24', 'base', 'true'], /no bridge of that name/, { MYDOCKER_BRIDGE: 'clnosuch0', MYDOCKER_GATEWAY: '10.9.9.1' }],
      [['--rootfs', path.join(lab.root, 'nowhere'), 'true'], /no root filesystem at .*nowhere/],
      [['base', 'no-such-command'], /find the command/],
    ];
    for (const [args, message, env] of cases) {
      const r = runtime(args, env);
      expect(r.code, args.join(' ')).toBe(args.includes('no-such-command') ? 127 : 125);
      // The init stage's own line when the command cannot be found (it is said from there).
      const who = args.includes('no-such-command') ? 'container-lessons' : 'container-lessons run';
      expect(r.err, args.join(' ')).toMatch(new RegExp(`^${who}: [^\\n]*${message.source}[^\\n]*\\n$`));
      expect(r.out).toBe('');
    }
    expect(fs.existsSync(containers) ? fs.readdirSync(containers) : []).toEqual(before);
    expect(leftovers()).toEqual(nothingLeft);
  });

  it('--rootfs lab: the same runtime on the lab root filesystem, no image', () => {
    const r = runtime(['--rootfs', 'lab', '--hostname', 'box', 'sh', '-c', 'echo "$$ $(hostname)"; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; exit 3']);
    expect(r.out.trim().split('\n')).toEqual(['1 box', 'lo']);
    expect(r.code).toBe(3);
  });
});
