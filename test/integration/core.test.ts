// The core against the real kernel: errors, overlay, cgroups, containers, the ledger.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import {
  libc,
  SyscallError,
  Ledger,
  mountOverlay,
  unmount,
  listWhiteouts,
  Cgroup,
  cgroupLayout,
  buildHostRootfs,
  rootfsProblem,
  runContainer,
  startContainer,
  execInContainer,
  probeNamespaces,
  ContainerError,
  procfs,
  ROOTFS_MARKER,
  prepareContainer,
  collect,
  WarmContainers,
  isPreparedContainer,
  readMarker,
  Netlink,
  type Namespace,
} from '../../src/core/index.js';
import { findLabProcesses } from '../../src/checks/containers.js';

let tmp: string;
let rootfs: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-core-'));
  rootfs = path.join(tmp, 'rootfs');
  buildHostRootfs(rootfs);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const mountedAt = (p: string) => procfs.readMountinfo().filter((m) => m.mountPoint === p);

describe('libc wrappers', () => {
  it('turn a failing call into an error naming call, arguments and errno', () => {
    let err: unknown;
    try {
      libc.mount('overlay', path.join(tmp, 'no/such/dir'), 'overlay', 0, 'lowerdir=/nope');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).code).toBe('ENOENT');
    expect((err as Error).message).toMatch(/^mount\("overlay", ".*no\/such\/dir", "overlay", 0, "lowerdir=\/nope"\): ENOENT/);
  });
  it('gethostname reads the real hostname', () => {
    expect(libc.gethostname()).toBe(os.hostname());
  });
});

describe('overlay', () => {
  it('mounts N lowers + upper, records whiteouts, and unmounts through the ledger', async () => {
    const d = (n: string) => path.join(tmp, 'ov', n);
    for (const n of ['l1', 'l2', 'l3', 'up', 'work', 'merged']) fs.mkdirSync(d(n), { recursive: true });
    fs.writeFileSync(path.join(d('l1'), 'f'), 'l1');
    fs.writeFileSync(path.join(d('l3'), 'f'), 'l3');
    fs.writeFileSync(path.join(d('l3'), 'gone'), '');
    const ledger = new Ledger();
    mountOverlay({ lowers: [d('l1'), d('l2'), d('l3')], upper: d('up'), work: d('work'), merged: d('merged') }, ledger);
    expect(mountedAt(d('merged'))[0]?.fstype).toBe('overlay');
    expect(fs.readFileSync(path.join(d('merged'), 'f'), 'utf8')).toBe('l1');
    fs.unlinkSync(path.join(d('merged'), 'gone'));
    expect(listWhiteouts(d('up'))).toEqual([{ path: 'gone', kind: 'whiteout' }]);
    expect(fs.existsSync(path.join(d('l3'), 'gone'))).toBe(true);
    expect(await ledger.cleanup()).toEqual([]);
    expect(mountedAt(d('merged'))).toEqual([]);
    expect(() => unmount(d('merged'))).not.toThrow(); // not mounted any more: quietly nothing
  });
});

describe('cgroups', () => {
  it('creates a group, limits it, moves a process in, reads counters, removes it', async () => {
    const layout = cgroupLayout();
    expect(['v1', 'v2', 'hybrid']).toContain(layout.mode);
    const g = new Cgroup(`cl-test-${process.pid}`, ['cpu']);
    const ledger = new Ledger();
    g.create(ledger);
    try {
      expect(fs.existsSync(g.dir)).toBe(true);
      g.setCpuLimit(30000, 100000);
      expect(g.cpuLimit()).toEqual({ quotaUs: 30000, periodUs: 100000 });
      const tag = `cl-test-loop-${process.pid}`;
      ledger.add({ kind: 'procs', tag });
      const loop = spawn('/bin/sh', ['-c', 'ulimit -t 60; while : ; do : ; done', tag], { stdio: 'ignore' }); // a bound of its own: 60 s of CPU
      g.addProcess(loop.pid!);
      expect(g.procs()).toEqual([loop.pid]);
      const line = procfs.parseProcCgroup(fs.readFileSync(`/proc/${loop.pid}/cgroup`, 'utf8')).find((l) => (g.version === 2 ? l.hierarchy === 0 : l.controllers.includes('cpu')));
      expect(line?.path).toBe(`/${g.name}`);
      await new Promise((r) => setTimeout(r, 500));
      const st = g.cpuStat();
      expect(st.nrPeriods).toBeGreaterThan(0);
      expect(st.nrThrottled).toBeGreaterThan(0);
    } finally {
      expect(await ledger.cleanup()).toEqual([]);
    }
    expect(fs.existsSync(g.dir)).toBe(false);
  });
  it('a group on memory and pids: limits set and read back, a process in both, counters, removed', async () => {
    const g = new Cgroup(`cl-test-mp-${process.pid}`, ['memory', 'pids']);
    const ledger = new Ledger();
    g.create(ledger);
    try {
      for (const d of g.dirs) expect(fs.existsSync(d)).toBe(true);
      g.setMemoryLimit(64 * 2 ** 20, { swap: false });
      expect(g.memoryLimit()).toBe(64 * 2 ** 20);
      expect(fs.readFileSync(g.file('memoryMax'), 'utf8').trim()).toBe(String(64 * 2 ** 20));
      g.setPidsLimit(20);
      expect(g.pidsLimit()).toBe(20);
      const sleeper = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
      const gone = new Promise((r) => sleeper.on('exit', r));
      try {
        g.addProcess(sleeper.pid!);
        // In every hierarchy of the group (v1: memory and pids are two).
        for (const f of g.procsFiles()) expect(fs.readFileSync(f, 'utf8').trim()).toBe(String(sleeper.pid));
        expect(g.pidsStats()).toEqual({ current: 1, refused: 0 });
        const mem = g.memoryStats();
        expect(mem.oomKills).toBe(0);
        expect(Number.isInteger(mem.current)).toBe(true); // v1 leaves a moved task's charges behind: 0 is fine
      } finally {
        sleeper.kill('SIGKILL');
        await gone;
      }
      g.setMemoryLimit(null);
      g.setPidsLimit(null);
      expect(g.memoryLimit()).toBeNull();
      expect(g.pidsLimit()).toBeNull();
    } finally {
      expect(await ledger.cleanup()).toEqual([]);
    }
    for (const d of g.dirs) expect(fs.existsSync(d)).toBe(false);
  });
  it('refuses a group that already exists, with a hint', async () => {
    const g = new Cgroup(`cl-test-dup-${process.pid}`, ['cpu']);
    const ledger = new Ledger();
    g.create(ledger);
    try {
      expect(() => g.create(new Ledger())).toThrow(/already exists/);
    } finally {
      // Awaited, not returned from finally: a return there would swallow a failed expect.
      expect(await ledger.cleanup()).toEqual([]);
    }
  });
});

describe('containers', () => {
  const all = ['mnt', 'uts', 'ipc', 'net', 'pid', 'cgroup'] as const;

  it('run a command as PID 1 in every namespace type, with its own root, hostname and only lo', async () => {
    const threadsBefore = fs.readdirSync('/proc/self/task').map((t) => fs.readlinkSync(`/proc/self/task/${t}/ns/mnt`));
    const r = await runContainer({ rootfs, namespaces: [...all], hostname: 'box', argv: ['/bin/sh', '-c', 'echo $$; hostname; cat /proc/net/dev | tail -n +3 | cut -d: -f1; ls /'] });
    expect(r.code).toBe(0);
    const [pid, host, ...rest] = r.stdout
      .trim()
      .split('\n')
      .map((s) => s.trim());
    expect(pid).toBe('1');
    expect(host).toBe('box');
    expect(rest[0]).toBe('lo');
    expect(rest).toContain('bin');
    expect(os.hostname()).not.toBe('box');
    // The driver never changed namespaces, on any thread.
    const host_mnt = fs.readlinkSync('/proc/self/ns/mnt');
    for (const t of fs.readdirSync('/proc/self/task')) expect(fs.readlinkSync(`/proc/self/task/${t}/ns/mnt`)).toBe(host_mnt);
    expect(new Set(threadsBefore)).toEqual(new Set([host_mnt]));
  });

  it('start warm: prepared up to the exec, the command then runs as PID 1; an unused one ends cleanly', async () => {
    const shape = { rootfs, namespaces: ['mnt', 'uts', 'ipc', 'net', 'pid'] as Namespace[], hostname: 'warm', mountProc: true };
    const w = new WarmContainers();
    try {
      w.want(shape);
      const firstP = (await w.take(shape))!;
      w.want(shape); // the next one, prepared while the first runs
      const first = await collect(await firstP.run(['/bin/sh', '-c', 'echo $$ $(hostname) $(cat /proc/1/comm)']));
      expect(first.code).toBe(0);
      expect(first.stdout.trim()).toBe('1 warm sh'); // PID 1, in its own /proc
      const second = await collect(await (await w.take(shape))!.run(['/bin/sh', '-c', 'exit 5']));
      expect(second.code).toBe(5);
      expect(second.pid).not.toBe(first.pid);
    } finally {
      await w.close();
    }
    const p = await prepareContainer({ rootfs, namespaces: ['mnt', 'pid'] });
    expect(procfs.pidAlive(p.pid)).toBe(true);
    await p.close();
    expect(await procfs.waitReaped([p.pid], 3000)).toBe(true);
  });

  it("run's early start: PID 1 started by util-linux unshare before its spec is known gets it on fd 4, makes its mount namespace, brings lo up itself; one whose stage A never ran is replaced", async () => {
    const { startForRun, takeEarly, RUNTIME_NAMESPACES } = await import('../../src/run-early.js');
    startForRun(['run', 'some-image', 'true']);
    const pre = takeEarly(RUNTIME_NAMESPACES);
    expect(pre).not.toBeNull();
    const ledger = new Ledger();
    try {
      const p = await prepareContainer({ rootfs, namespaces: RUNTIME_NAMESPACES, hostname: 'early', mountProc: true, cgroupAtExec: true, stdio: 'inherit', preStarted: pre! }, ledger);
      // Its host pid, as PID 1 itself read it from the host's /proc before its own.
      expect(fs.readFileSync(`/proc/${p.pid}/status`, 'utf8')).toMatch(new RegExp(`^NSpid:\\s+${p.pid}\\s+1$`, 'm'));
      for (const ns of ['mnt', 'uts', 'ipc', 'pid', 'net']) expect(fs.readlinkSync(`/proc/${p.pid}/ns/${ns}`), ns).not.toBe(fs.readlinkSync(`/proc/self/ns/${ns}`));
      const out = path.join(rootfs, 'tmp', `early-${process.pid}`);
      const c = await p.run(['/bin/sh', '-c', `{ hostname; cat /sys/class/net/lo/flags 2>/dev/null || ip -o link show lo; } > /tmp/early-${process.pid}`], { net: [{ op: 'up', name: 'lo' }] });
      expect(await c.exited).toEqual({ code: 0, signal: null });
      const [hostname, lo] = fs.readFileSync(out, 'utf8').split('\n');
      fs.rmSync(out);
      expect(hostname).toBe('early');
      expect(lo).toMatch(/LOOPBACK,UP|^0x9$/); // IFF_UP | IFF_LOOPBACK
    } finally {
      expect(await ledger.cleanup()).toEqual([]);
    }
    // A stage A that ends without a word (an old util-linux refusing an option): the
    // container is started the usual way instead.
    const dud = spawn('/bin/false', [], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
    const p2 = await prepareContainer({ rootfs, namespaces: ['mnt', 'uts', 'pid', 'cgroup'], hostname: 'instead', cgroupAtExec: true, preStarted: { helper: dud, tag: 'container-lessons-dud' } });
    expect((await collect(await p2.run(['/bin/hostname']))).stdout).toBe('instead\n');
  });

  it('network operations before the command only in a network namespace of its own, and none that names a host pid: never on the host', async () => {
    const p = await prepareContainer({ rootfs, namespaces: ['mnt', 'pid'] });
    await expect(p.run(['/bin/true'], { net: [{ op: 'down', name: 'lo' }] })).rejects.toThrow(/need a network namespace/);
    expect(await procfs.waitReaped([p.pid], 3000)).toBe(true);
    // Nor an operation that names a process by pid: PID 1 sees only its own namespace's.
    const q = await prepareContainer({ rootfs, namespaces: ['mnt', 'pid', 'net'] });
    await expect(q.run(['/bin/true'], { net: [{ op: 'netns', name: 'lo', pid: process.pid }] })).rejects.toThrow(/by its host pid/);
    expect(await procfs.waitReaped([q.pid], 3000)).toBe(true);
    const nl = new Netlink();
    try {
      expect(nl.links().find((l) => l.name === 'lo')?.up).toBe(true);
    } finally {
      nl.close();
    }
  });

  it("the TUI's warm slot: take() gives the prepared container of that shape, or null (other shape, killed by a reset); the ledger ends an untaken one", async () => {
    const shape = { rootfs, namespaces: ['mnt', 'uts', 'pid'] as Namespace[], hostname: 'slot', mountProc: true };
    const ledger = new Ledger();
    const warm = new WarmContainers();
    try {
      warm.want(shape, ledger);
      expect(await warm.take({ ...shape, hostname: 'other' }, ledger)).toBeNull(); // another shape
      warm.want(shape, ledger);
      const p = (await warm.take(shape, ledger))!;
      expect(p).not.toBeNull();
      // Waiting for its command, it is the workbook's: the checks skip it by its command line.
      expect(isPreparedContainer(procfs.cmdline(p.pid)!)).toBe(true);
      const labPids = () => findLabProcesses(readMarker(rootfs)!.id).map((x) => x.pid);
      expect(labPids()).not.toContain(p.pid);
      const c = await p.run(['/bin/sh', '-c', 'echo $$ $(hostname); sleep 30']);
      // run() resolves as PID 1 is about to exec; then it is the learner's command.
      // (During the execve itself the command line reads empty: wait for the new one.)
      const execd = () => {
        const cmd = procfs.cmdline(c.pid) ?? '';
        return cmd !== '' && !isPreparedContainer(cmd);
      };
      for (let i = 0; i < 200 && !execd(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(procfs.cmdline(c.pid)).toMatch(/^\/bin\/sh -c echo/);
      expect(labPids()).toContain(c.pid);
      await c.kill();
      // A reset kills a prepared container behind the slot's back: take() notices.
      warm.want(shape, ledger);
      const again = (await warm.take(shape, ledger))!;
      warm.want(shape, ledger);
      const victim = await (warm as unknown as { slots: Array<{ prepared: Promise<{ pid: number }> }> }).slots[0]!.prepared;
      process.kill(victim.pid, 'SIGKILL');
      expect(await procfs.waitReaped([victim.pid], 3000)).toBe(true);
      expect(await warm.take(shape, ledger)).toBeNull();
      // A dead one's run() fails instead of hanging.
      process.kill(again.pid, 'SIGKILL');
      await expect(again.run(['/bin/true'])).rejects.toThrow(/ended before the command started/);
      // One left untaken ends with the ledger that prepared it.
      warm.want(shape, ledger);
      const left = await (warm as unknown as { slots: Array<{ prepared: Promise<{ pid: number }> }> }).slots[0]!.prepared;
      expect(procfs.pidAlive(left.pid)).toBe(true);
      expect(await ledger.cleanup()).toEqual([]);
      expect(await procfs.waitReaped([left.pid], 3000)).toBe(true);
    } finally {
      await warm.close();
      await ledger.cleanup();
    }
  });

  it('return the exit status and stream output', async () => {
    const r = await runContainer({ rootfs, namespaces: ['mnt', 'pid'], argv: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 7'] });
    expect(r).toMatchObject({ code: 7, stdout: 'out\n', stderr: 'err\n' });
  });

  it('pass stdin through', async () => {
    const r = await runContainer({ rootfs, namespaces: ['mnt', 'pid'], argv: ['/bin/cat'] }, 'hello\n');
    expect(r.stdout).toBe('hello\n');
  });

  it('join a cgroup before the namespaces', async () => {
    const g = new Cgroup(`cl-test-ct-${process.pid}`, ['cpu']);
    const ledger = new Ledger();
    g.create(ledger);
    try {
      const r = await runContainer({ rootfs, namespaces: ['mnt', 'pid', 'cgroup'], cgroup: g, argv: ['/bin/cat', '/proc/self/cgroup'] });
      // Inside a cgroup namespace, the group is its root.
      expect(r.stdout).toMatch(g.version === 2 ? /^0::\/$/m : /:cpu:\/$/m);
    } finally {
      expect(await ledger.cleanup()).toEqual([]);
    }
  });

  it('report a missing command as an error, not a hang', async () => {
    await expect(runContainer({ rootfs, namespaces: ['mnt', 'pid'], argv: ['no-such-cmd'] })).rejects.toThrow(/no-such-cmd: command not found/);
  });

  it('name the syscall that failed (a missing rootfs)', async () => {
    const err = await runContainer({ rootfs: path.join(tmp, 'missing'), namespaces: ['mnt', 'pid'], argv: ['/bin/true'] }).catch((e) => e);
    expect(err).toBeInstanceOf(ContainerError);
    expect(err.syscall?.call).toBe('mount');
    expect(err.message).toMatch(/ENOENT/);
  });

  it('refuse a hostname without a UTS namespace (it would rename the host)', async () => {
    await expect(runContainer({ rootfs, namespaces: ['mnt'], hostname: 'oops', argv: ['/bin/true'] })).rejects.toThrow(/UTS namespace/);
    expect(os.hostname()).not.toBe('oops');
  });

  it('can be entered (setns) and probed, and kill() ends every process in it', async () => {
    const ledger = new Ledger();
    const c = await startContainer({ rootfs, namespaces: ['mnt', 'uts', 'pid', 'net'], hostname: 'inside', argv: ['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & wait'] }, ledger);
    try {
      expect(procfs.parseNSpid(procfs.readStatus(c.pid))?.at(-1)).toBe(1);
      const r = await execInContainer(c.pid, ['mnt', 'uts', 'pid', 'net'], ['/bin/sh', '-c', 'hostname; ps -e -o comm= | sort | uniq -c | tr -s " "']);
      expect(r.stdout).toMatch(/^inside\n/);
      expect(r.stdout).toMatch(/2 sleep/);
      const p = await probeNamespaces(c.pid, [tmp]);
      expect(p).toEqual({ hostname: 'inside', nsRootIsRootfs: true, visible: { [tmp]: false } });
      expect(fs.existsSync(path.join(`/proc/${c.pid}/root`, ROOTFS_MARKER))).toBe(true);
    } finally {
      const tree = procfs.descendants(c.pid);
      expect(tree.length).toBeGreaterThanOrEqual(2);
      expect(await ledger.cleanup()).toEqual([]);
      for (const pid of [c.pid, ...tree]) expect(procfs.pidAlive(pid)).toBe(false);
    }
  });

  it('without a PID namespace, kill() still ends the children', async () => {
    const c = await startContainer({ rootfs, namespaces: ['mnt'], argv: ['/bin/sh', '-c', 'sleep 1000 & wait'] });
    await new Promise((r) => setTimeout(r, 100));
    const [child, ...more] = procfs.descendants(c.pid);
    expect(child).toBeDefined();
    expect(more).toEqual([]);
    await c.kill();
    expect(procfs.pidAlive(child!)).toBe(false);
  });

  it('die with the process that started them (PR_SET_PDEATHSIG)', async () => {
    // A throwaway driver starts a container and is killed: the container must not survive it.
    const script = `import { startContainer } from ${JSON.stringify(path.resolve('dist/core/index.js'))};
const c = await startContainer({ rootfs: ${JSON.stringify(rootfs)}, namespaces: ['mnt','pid'], argv: ['/bin/sleep','1000'] });
console.log(c.pid); setInterval(() => {}, 1000);`;
    const driver = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((res) => driver.stdout.once('data', (d) => res(Number(String(d).trim()))));
    expect(procfs.pidAlive(pid)).toBe(true);
    driver.kill('SIGKILL');
    for (let i = 0; i < 200 && procfs.pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 10));
    expect(procfs.pidAlive(pid)).toBe(false);
  });
});

describe('rootfs', () => {
  it('the default one is complete, and a broken one is named', () => {
    expect(rootfsProblem(rootfs)).toBeNull();
    expect(rootfsProblem(path.join(tmp, 'nope'))?.message).toMatch(/no root filesystem at/);
    const broken = path.join(tmp, 'broken');
    fs.mkdirSync(broken);
    fs.writeFileSync(path.join(broken, ROOTFS_MARKER), '{"id":"x","kind":"manual"}');
    expect(rootfsProblem(broken)?.message).toMatch(/has no \/bin\/sh/);
  });
});

describe('rootfs symlinks', () => {
  it('are followed inside the rootfs, never on the host (Alpine: /bin/sh -> /bin/busybox)', async () => {
    const { resolveInRoot } = await import('../../src/core/rootfs.js');
    const r = path.join(tmp, 'alpine');
    fs.mkdirSync(path.join(r, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(r, 'proc'));
    fs.mkdirSync(path.join(r, 'dev'));
    fs.writeFileSync(path.join(r, 'bin', 'busybox-xyz'), '');
    fs.symlinkSync('/bin/busybox-xyz', path.join(r, 'bin', 'sh'));
    fs.writeFileSync(path.join(r, ROOTFS_MARKER), '{"id":"a","kind":"manual"}');
    expect(resolveInRoot(r, 'bin/sh')).toBe(path.join(r, 'bin', 'busybox-xyz'));
    expect(rootfsProblem(r)).toBeNull();
    fs.symlinkSync('/usr/bin/env', path.join(r, 'bin', 'hostonly')); // exists on the host only
    expect(resolveInRoot(r, 'bin/hostonly')).toBeNull();
    fs.symlinkSync('loop', path.join(r, 'bin', 'loop'));
    expect(resolveInRoot(r, 'bin/loop')).toBeNull();
  });
});
