// The capstone's bash reference (capstone/mydocker.sh) on the real kernel, driven through the
// capstone's interface with a lab of its own: an image made here from the lab rootfs plus a
// layer on top, imported into the lab's layer store. Each container is found from outside by
// a token in its argv and read through /proc, as the conformance suite does; after each run
// nothing may be left: no directory under the lab's containers/, no cgroup, no link (and the
// leak guard compares the whole machine). The skeleton and a partly done runtime, made by
// scripts/capstone-skeleton.mjs, run too.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { ensureRootfs, writeImage, importImage, LayerStore, procfs } from '../../src/core/index.js';
import { writeRuntime, piecesOf } from '../../scripts/capstone-skeleton.mjs';
import { ping } from '../../src/core/icmp.js';
import { tempLab } from '../support/lab.js';

const REFERENCE = path.resolve('capstone/mydocker.sh');
const IMAGE = 'img';
const lab = tempLab('cl-mydocker-');
const containers = path.join(lab.root, 'containers');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-mydocker-scratch-'));
const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
/** The image's layers' diff directories, top first, real paths. */
let layers: string[] = [];

beforeAll(async () => {
  ensureRootfs(lab.rootfs);
  const top = path.join(scratch, 'top');
  fs.mkdirSync(path.join(top, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(top, 'etc', 'motd'), 'from the top layer\n');
  await writeImage(path.join(scratch, 'oci'), [lab.rootfs, top], { format: 'oci', name: `${IMAGE}:1` });
  const store = new LayerStore(path.join(lab.root, 'layers'));
  const img = await importImage(path.join(scratch, 'oci'), store, { name: IMAGE });
  layers = store.lowerdirs(img.top).map((d) => fs.realpathSync(d));
  expect(layers).toHaveLength(2);
}, 120_000);

afterAll(() => {
  lab.dispose();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** What a run of the runtime made that must be gone once it exited. */
function leftovers(): string[] {
  const left: string[] = [];
  if (fs.existsSync(containers)) left.push(...fs.readdirSync(containers).map((n) => `containers/${n}`));
  const roots = v2 ? ['/sys/fs/cgroup'] : ['cpu', 'memory', 'pids'].map((c) => `/sys/fs/cgroup/${c}`);
  for (const r of roots) for (const n of fs.readdirSync(r)) if (n.startsWith('mydocker-')) left.push(path.join(r, n));
  for (const n of fs.readdirSync('/sys/class/net')) if (n.startsWith('mydocker')) left.push(`link ${n}`);
  return left;
}

afterEach(() => {
  expect(leftovers()).toEqual([]);
});

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...process.env, CONTAINER_LESSONS_HOME: lab.root, ...extra });

/** One run of a runtime, started in the background. */
class Run {
  readonly token = `cl-mydocker-${crypto.randomUUID()}`;
  readonly child: ChildProcess;
  readonly exited: Promise<number>;
  stdout = '';
  stderr = '';
  constructor(
    options: string[],
    readonly script: string,
    opts: { runtime?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.child = spawn(opts.runtime ?? REFERENCE, ['run', ...options, IMAGE, 'sh', '-c', script, this.token], { env: opts.env ?? env(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => (this.stdout += d));
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0))));
  }
  /** The container's first process: the one whose argv is exactly the command's. */
  async container(): Promise<number> {
    const want = `sh\0-c\0${this.script}\0${this.token}\0`;
    for (let i = 0; i < 600; i++) {
      for (const p of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
        try {
          if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === want) return Number(p);
        } catch {
          /* gone */
        }
      }
      if (this.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no container process for ${this.token}; stderr: ${this.stderr}`);
  }
  /** Wait for a line on the container's stdout. */
  async line(text: string): Promise<void> {
    for (let i = 0; i < 600 && !this.stdout.split('\n').includes(text); i++) {
      if (this.child.exitCode !== null) throw new Error(`exited ${this.child.exitCode} before "${text}": ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!this.stdout.split('\n').includes(text)) throw new Error(`no line "${text}" in 15 s; stdout: ${this.stdout}; stderr: ${this.stderr}`);
  }
}

/** Run to the end, in the foreground. */
function runSync(options: string[], cmd: string[], opts: { runtime?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) {
  const r = spawnSync(opts.runtime ?? REFERENCE, ['run', ...options, ...cmd], { env: opts.env ?? env(), input: opts.input ?? '', encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const nsenter = (pid: number, flags: string[], cmd: string[]) => execFileSync('nsenter', ['-t', String(pid), ...flags, '--', ...cmd], { encoding: 'utf8' });
const read = (f: string) => fs.readFileSync(f, 'utf8').trim();

/** The host directory of a process's cgroup for a controller. */
function cgroupOf(pid: number, controller: string): string {
  const lines = read(`/proc/${pid}/cgroup`).split('\n');
  const line = v2 ? lines.find((l) => l.startsWith('0::')) : lines.find((l) => l.split(':')[1]?.split(',').includes(controller));
  if (!line) throw new Error(`pid ${pid} is in no ${controller} cgroup`);
  const rel = line.split(':').slice(2).join(':');
  return path.join(v2 ? '/sys/fs/cgroup' : `/sys/fs/cgroup/${controller}`, rel);
}

describe('the bash reference runtime', () => {
  it('refuses bad arguments with one line on stderr and exit 125, touching nothing', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /no IMAGE given/],
      [[IMAGE], /no command given/],
      [['nosuchimage', 'true'], /no image 'nosuchimage'/],
      [['--cpus', 'abc', IMAGE, 'true'], /--cpus abc: not a number/],
      [['--cpus', '0.001', IMAGE, 'true'], /range of CPUs/],
      [['--memory', '12q', IMAGE, 'true'], /--memory 12q: not an amount/],
      [['--memory', '1m', IMAGE, 'true'], /minimum is 6m/],
      [['--pids', '0', IMAGE, 'true'], /--pids 0: not a number/],
      [['--name', 'a/b', IMAGE, 'true'], /--name a\/b/],
      [['--ip', '10.0.0.300/24', IMAGE, 'true'], /--ip 10.0.0.300\/24: not an IPv4/],
      [['--ip', '10.0.0.2/24', IMAGE, 'true'], /needs MYDOCKER_BRIDGE/],
      [['--bogus', IMAGE, 'true'], /unknown option --bogus/],
      [['--name'], /--name needs a value/],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync(REFERENCE, ['run', ...args], { env: env({ MYDOCKER_BRIDGE: '', MYDOCKER_GATEWAY: '' }), encoding: 'utf8' });
      expect({ args, status: r.status }).toEqual({ args, status: 125 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/^mydocker: /);
      expect(fs.existsSync(containers)).toBe(false);
    }
    // Without a verb: the usage, and 125.
    expect(spawnSync(REFERENCE, [], { encoding: 'utf8' }).status).toBe(125);
  });

  it("exits with the command's code; stdin, stdout and stderr are the command's", () => {
    const r = runSync([], [IMAGE, 'sh', '-c', 'read line; echo "got $line"; echo "to stderr" >&2; exit 7'], { input: 'hello\n' });
    expect(r).toEqual({ status: 7, stdout: 'got hello\n', stderr: 'to stderr\n' });
    expect(runSync([], [IMAGE, 'true']).status).toBe(0);
    // A command that is not in the image: 127, as a shell says.
    expect(runSync([], [IMAGE, 'no-such-command']).status).toBe(127);
  });

  it('gives the command a root of its own: an overlay of the image, pivot_root, its own /proc and /dev', async () => {
    const run = new Run(['--name', 't-root'], 'echo ready; while :; do sleep 1; done');
    try {
      const pid = await run.container();
      await run.line('ready');
      const mounts = procfs.readMountinfo(pid);
      const root = mounts.find((m) => m.mountPoint === '/');
      expect(root?.fstype).toBe('overlay');
      const opt = (k: string) => new RegExp(`(?:^|,)${k}=([^,]*)`).exec(root?.superOptions ?? '')?.[1] ?? '';
      expect(
        opt('lowerdir')
          .split(':')
          .map((d) => fs.realpathSync(d)),
      ).toEqual(layers);
      expect(opt('upperdir')).toBe(path.join(containers, 't-root', 'upper'));
      expect(opt('workdir')).toBe(path.join(containers, 't-root', 'work'));
      // The old root is gone: no mount of the host, no .old_root, no host path inside.
      expect(mounts.map((m) => m.mountPoint).sort()).toEqual(['/', '/dev', '/dev/pts', '/proc']);
      expect(fs.existsSync(`/proc/${pid}/root/.old_root`)).toBe(false);
      expect(fs.existsSync(`/proc/${pid}/root${lab.root}`)).toBe(false);
      expect(read(`/proc/${pid}/root/etc/motd`)).toBe('from the top layer');
      // Its /proc is its PID namespace's: /proc/1 there is the command.
      expect(fs.readFileSync(`/proc/${pid}/root/proc/1/cmdline`, 'utf8')).toBe(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      const dev = fs.statSync(`/proc/${pid}/root/dev/null`);
      expect([dev.isCharacterDevice(), dev.rdev]).toEqual([true, fs.statSync('/dev/null').rdev]);
      // A write inside lands in upper; the image's layers do not change.
      nsenter(pid, ['-m', '-p', '-r', '-w'], ['sh', '-c', 'echo written > /new.txt']);
      expect(read(path.join(containers, 't-root', 'upper', 'new.txt'))).toBe('written');
      expect(layers.some((l) => fs.existsSync(path.join(l, 'new.txt')))).toBe(false);
      // The name is taken while it runs.
      const again = runSync(['--name', 't-root'], [IMAGE, 'true']);
      expect(again.status).toBe(125);
      expect(again.stderr).toMatch(/a container of that name is running/);
      expect(fs.existsSync(path.join(containers, 't-root', 'upper'))).toBe(true);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  it('makes the command PID 1 of its own mnt, uts, ipc, pid, net and cgroup namespaces, with the hostname given', async () => {
    const run = new Run(['--name', 't-ns', '--hostname', 'box'], 'echo ready; while :; do sleep 1; done');
    try {
      const pid = await run.container();
      await run.line('ready');
      expect(procfs.parseNSpid(procfs.readStatus(pid))?.at(-1)).toBe(1);
      for (const ns of ['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup']) expect(fs.readlinkSync(`/proc/${pid}/ns/${ns}`), ns).not.toBe(fs.readlinkSync(`/proc/self/ns/${ns}`));
      expect(nsenter(pid, ['-u'], ['hostname']).trim()).toBe('box');
      expect(execFileSync('hostname', { encoding: 'utf8' }).trim()).not.toBe('box');
      // Without --ip: lo alone, and up.
      const links = JSON.parse(nsenter(pid, ['-n'], ['ip', '-j', 'link'])) as Array<{ ifname: string; flags: string[] }>;
      expect(links.map((l) => l.ifname)).toEqual(['lo']);
      expect(links[0]?.flags).toContain('UP');
      // Its cgroup namespace: from inside, its own group is /.
      const inside = nsenter(pid, ['-C'], ['cat', `/proc/${pid}/cgroup`])
        .trim()
        .split('\n');
      const mine = inside.filter((l) => (v2 ? l.startsWith('0::') : /:(cpu|memory|pids)(,|:)/.test(l)));
      expect(mine.length).toBeGreaterThan(0);
      for (const l of mine) expect(l.endsWith(':/'), l).toBe(true);
    } finally {
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(143);
    }
  });

  it('puts the container in a cgroup of its own holding the --cpus, --memory and --pids values', async () => {
    const run = new Run(['--name', 't-cg', '--cpus', '0.5', '--memory', '64m', '--pids', '32'], 'echo ready; while :; do sleep 1; done');
    try {
      const pid = await run.container();
      await run.line('ready');
      const cpu = cgroupOf(pid, 'cpu');
      const memory = cgroupOf(pid, 'memory');
      const pids = cgroupOf(pid, 'pids');
      expect(path.basename(cpu)).toBe('mydocker-t-cg');
      expect(cpu).not.toBe(cgroupOf(process.pid, 'cpu'));
      if (v2) {
        expect(read(path.join(cpu, 'cpu.max'))).toBe('50000 100000');
        expect(read(path.join(memory, 'memory.max'))).toBe(String(64 * 1024 * 1024));
        if (fs.existsSync(path.join(memory, 'memory.swap.max'))) expect(read(path.join(memory, 'memory.swap.max'))).toBe('0');
      } else {
        expect([read(path.join(cpu, 'cpu.cfs_quota_us')), read(path.join(cpu, 'cpu.cfs_period_us'))]).toEqual(['50000', '100000']);
        expect(read(path.join(memory, 'memory.limit_in_bytes'))).toBe(String(64 * 1024 * 1024));
        if (fs.existsSync(path.join(memory, 'memory.memsw.limit_in_bytes'))) expect(read(path.join(memory, 'memory.memsw.limit_in_bytes'))).toBe(String(64 * 1024 * 1024));
      }
      expect(read(path.join(pids, 'pids.max'))).toBe('32');
      // The container's processes are in it, and nothing else (mydocker init, which waits
      // for PID 1, went back out).
      const procs = read(path.join(pids, 'cgroup.procs')).split('\n').map(Number);
      expect(procs).toContain(pid);
      for (const p of procs) expect(fs.readlinkSync(`/proc/${p}/ns/pid`), `pid ${p}`).toBe(fs.readlinkSync(`/proc/${pid}/ns/pid`));
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  it('holds a memory hog to --memory: the kernel kills it, the container goes on', async () => {
    // The hog bounds itself (128 MiB, then it ends) and runs only in the 32 MiB group. Its
    // processes are the OOM killer's first choice (oom_score_adj 1000, which anyone may
    // raise): when the kernel, still freeing the first victim, picks a second one, that is
    // one of the hog's too, never the container's PID 1.
    const hog = "(echo 1000 >/proc/self/oom_score_adj; ulimit -t 60; yes | tr -d '\\n' | head -c 128M | tail >/dev/null); echo hog=$?; while :; do sleep 1; done";
    const run = new Run(['--name', 't-hog', '--memory', '32m'], hog);
    try {
      const pid = await run.container();
      await run.line('hog=137'); // tail, 128 + SIGKILL
      const memory = cgroupOf(pid, 'memory');
      const events = read(path.join(memory, v2 ? 'memory.events' : 'memory.oom_control'));
      expect(Number(/^oom_kill (\d+)$/m.exec(events)?.[1])).toBeGreaterThan(0);
      const peak = v2 ? path.join(memory, 'memory.peak') : path.join(memory, 'memory.max_usage_in_bytes');
      if (fs.existsSync(peak)) expect(Number(read(peak))).toBeLessThanOrEqual(32 * 1024 * 1024);
      expect(fs.existsSync(`/proc/${pid}`)).toBe(true);
    } finally {
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(143);
    }
  });

  it('exits 128 + n when the command dies of signal n', async () => {
    const run = new Run([], 'echo ready; while :; do sleep 1; done');
    const pid = await run.container();
    await run.line('ready');
    process.kill(pid, 'SIGKILL');
    expect(await run.exited).toBe(137);
  });

  it('stops the container on SIGINT as on SIGTERM', async () => {
    const run = new Run([], 'echo ready; while :; do sleep 1; done');
    const pid = await run.container();
    await run.line('ready');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(fs.existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))).toBe(false);
  });

  describe('with --ip, on a bridge the test makes', () => {
    const bridge = `cltb${crypto.randomBytes(3).toString('hex')}`;
    // A subnet no route of the host uses.
    const used = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
    const third = [...Array(200).keys()].map((i) => i + 40).find((n) => !used.includes(`10.231.${n}.`));
    const gateway = `10.231.${third}.1`;
    const address = `10.231.${third}.2`;
    beforeAll(() => {
      execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
      execFileSync('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
      execFileSync('ip', ['link', 'set', bridge, 'up']);
    });
    afterAll(() => {
      execFileSync('ip', ['link', 'del', bridge]);
    });

    it('gives eth0 the address, a default route via the gateway, and the host reaches it', async () => {
      const run = new Run(['--name', 't-net', '--ip', `${address}/24`], 'echo ready; while :; do sleep 1; done', { env: env({ MYDOCKER_BRIDGE: bridge, MYDOCKER_GATEWAY: gateway }) });
      try {
        const pid = await run.container();
        await run.line('ready');
        const addrs = JSON.parse(nsenter(pid, ['-n'], ['ip', '-j', 'addr'])) as Array<{ ifname: string; flags: string[]; addr_info: Array<{ family: string; local: string; prefixlen: number }> }>;
        const eth0 = addrs.find((l) => l.ifname === 'eth0');
        expect(eth0?.flags).toContain('UP');
        expect(eth0?.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).toEqual([`${address}/24`]);
        expect(addrs.find((l) => l.ifname === 'lo')?.flags).toContain('UP');
        const routes = JSON.parse(nsenter(pid, ['-n'], ['ip', '-j', 'route'])) as Array<{ dst: string; gateway?: string; dev: string }>;
        expect(routes.find((r) => r.dst === 'default')).toMatchObject({ gateway, dev: 'eth0' });
        // The host's end: up, on the bridge.
        const host = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'master', bridge], { encoding: 'utf8' })) as Array<{ ifname: string; flags: string[] }>).filter((l) => l.ifname.startsWith('mydocker'));
        expect(host).toHaveLength(1);
        expect(host[0]?.flags).toContain('UP');
        // Real echo requests both ways (the core's ICMP: this machine may have no ping): the
        // host, on the bridge's side, to the container; and from the container's network
        // namespace to the gateway.
        expect(ping(address, { count: 3, waitMs: 1000 })).toMatchObject({ ok: true });
        const icmp = path.resolve('dist/core/icmp.js');
        nsenter(pid, ['-n'], [process.execPath, '--input-type=module', '-e', `import { ping } from '${icmp}'; process.exit(ping('${gateway}', { count: 3, waitMs: 1000 }).ok ? 0 : 1);`]);
      } finally {
        run.child.kill('SIGTERM');
        await run.exited;
      }
      expect(JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'master', bridge], { encoding: 'utf8' }) || '[]')).toEqual([]);
    });

    it('refuses a bridge that is not there', () => {
      const r = runSync(['--ip', `${address}/24`], [IMAGE, 'true'], { env: env({ MYDOCKER_BRIDGE: 'cl-nosuchbr', MYDOCKER_GATEWAY: gateway }) });
      expect(r.status).toBe(125);
      expect(r.stderr).toMatch(/MYDOCKER_BRIDGE=cl-nosuchbr: no such bridge/);
    });
  });
});

describe('the skeleton and a partly done runtime (scripts/capstone-skeleton.mjs)', () => {
  it('the skeleton parses its arguments, then stops at the first TODO with exit 125, leaving nothing', () => {
    const file = path.join(scratch, 'skeleton.sh');
    writeRuntime(file, piecesOf(fs.readFileSync(REFERENCE, 'utf8')).open);
    const bad = runSync(['--cpus', 'abc'], [IMAGE, 'true'], { runtime: file });
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/--cpus abc/);
    const r = runSync([], [IMAGE, 'true'], { runtime: file });
    expect(r.status).toBe(125);
    expect(r.stderr.trim()).toBe('mydocker: TODO: root (lesson 7) is not written yet');
  });

  it('with only the network left open, the container runs without it: lo down, no eth0, a note', () => {
    const file = path.join(scratch, 'no-network.sh');
    writeRuntime(file, ['network']);
    const r = runSync(['--name', 't-partial'], [IMAGE, 'sh', '-c', 'ip -o link; hostname; exit 7'], { runtime: file });
    expect(r.status).toBe(7);
    expect(r.stderr.trim()).toBe('mydocker: TODO: network (lesson 6) is not written yet: skipped');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^1: lo: <LOOPBACK>/);
    expect(lines[1]).toBe('t-partial');
  });
});
