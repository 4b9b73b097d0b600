// Starts in a running workbook: helpers started ahead (helper-pool.ts) serve every kind of
// helper, and WarmContainers keeps one prepared container per shape a step declares.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { buildHostRootfs, runContainer, startContainer, execInContainer, netOps, probeNamespaces, collect, WarmContainers, Ledger, procfs, taggedProcesses, TAG_VAR, type Namespace } from '../../src/core/index.js';
import { idleHelpers } from '../../src/core/helper-pool.js';

let tmp: string;
let rootfs: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-pool-'));
  rootfs = path.join(tmp, 'rootfs');
  buildHostRootfs(rootfs);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => idleHelpers.stop());

const NS: Namespace[] = ['mnt', 'uts', 'ipc', 'net', 'pid'];
/** The helpers waiting for a job: processes of this one, `nsinit.js idle` (a helper that has
 * its job keeps that command line: the pool's own list tells them apart). */
const idlePids = () => {
  const waiting = idleHelpers.pids();
  const running = procfs.listPids().filter((p) => procfs.ppid(p) === process.pid && / idle$/.test(procfs.cmdline(p) ?? ''));
  return waiting.filter((p) => running.includes(p));
};
const until = async (ok: () => boolean, ms = 5000) => {
  for (let i = 0; i < ms / 20 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
  return ok();
};
const environ = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
};

describe('helpers started ahead', () => {
  it('each kind of helper takes one: a container (its PID 1 a child of the idle helper), a command entered, netlink, a probe; each is replaced', async () => {
    idleHelpers.start(2);
    expect(await until(() => idlePids().length === 2)).toBe(true);
    const before = idlePids();
    const ledger = new Ledger();
    const c = await startContainer({ rootfs, namespaces: NS, hostname: 'pooled', argv: ['/bin/sh', '-c', 'while :; do sleep 1; done'] }, ledger);
    try {
      // Stage A was an idle helper: PID 1's parent, carrying the tag the ledger records.
      const stageA = procfs.ppid(c.pid)!;
      expect(before).toContain(stageA);
      const tag = environ(stageA)
        .find((e) => e.startsWith(`${TAG_VAR}=`))!
        .slice(TAG_VAR.length + 1);
      expect(taggedProcesses({ kind: 'procs', tag })).toEqual(expect.arrayContaining([stageA, c.pid]));
      expect(await until(() => idlePids().length === 2)).toBe(true); // replaced
      const r = await execInContainer(c.pid, NS, ['/bin/sh', '-c', 'hostname; echo $$']);
      expect(r.stdout).toMatch(/^pooled\n\d+\n$/);
      const net = await netOps(c.pid, [{ op: 'up', name: 'lo' }]);
      expect(net.links.map((l) => l.name)).toEqual(['lo']);
      expect(await probeNamespaces(c.pid, [tmp])).toEqual({ hostname: 'pooled', nsRootIsRootfs: true, visible: { [tmp]: false } });
      const once = await runContainer({ rootfs, namespaces: ['mnt', 'uts'], hostname: 'nopid', argv: ['/bin/sh', '-c', 'hostname; cat'] }, 'in\n');
      expect(once).toMatchObject({ code: 0, stdout: 'nopid\nin\n' });
      // Every one of the first two was used, and others stand ready.
      expect(before.some((p) => idlePids().includes(p))).toBe(false);
      expect(await until(() => idlePids().length === 2)).toBe(true);
    } finally {
      expect(await ledger.cleanup()).toEqual([]);
    }
    idleHelpers.stop();
    expect(await until(() => idlePids().length === 0)).toBe(true);
  });

  it("work nobody waits for (a picture's redraw: background) takes no helper started ahead, and its helpers say so; stop() resolves once they have exited", async () => {
    idleHelpers.start(1);
    expect(await until(() => idlePids().length === 1)).toBe(true);
    const [waiting] = idlePids();
    // Seen while it runs: the helper's environment carries the mark.
    const marked: boolean[] = [];
    const seen = setInterval(() => {
      for (const p of procfs.listPids().filter((x) => procfs.ppid(x) === process.pid && / net /.test(procfs.cmdline(x) ?? ''))) {
        const env = environ(p);
        if (env.length) marked.push(env.includes('CONTAINER_LESSONS_BACKGROUND=1')); // (none: it ended meanwhile)
      }
    }, 2);
    try {
      const state = await idleHelpers.background(() => netOps(0, []));
      expect(state.links.some((l) => l.name === 'lo')).toBe(true);
    } finally {
      clearInterval(seen);
    }
    expect(idlePids()).toEqual([waiting]); // still there, still idle
    expect(marked.length).toBeGreaterThan(0); // the helper was seen
    expect(marked.every(Boolean)).toBe(true);
    // Outside background the same call takes it.
    await netOps(0, []);
    expect(idlePids()).not.toContain(waiting);
    const left = idleHelpers.pids();
    await idleHelpers.stop();
    expect(left.filter((p) => procfs.pidAlive(p) && procfs.cmdline(p) !== '')).toEqual([]);
  });

  it('a step that takes more helpers than are kept ahead (Step.helpers) has that many waiting while it is next', async () => {
    const warm = new WarmContainers();
    try {
      warm.want(null, undefined, 5);
      expect(await until(() => idlePids().length === 5)).toBe(true);
      // The next step takes no more than usual: three taken leave the five's other two, and
      // one started to make three again (not five).
      warm.want(null);
      const five = idlePids();
      for (let i = 0; i < 3; i++) await netOps(0, []);
      expect(await until(() => idlePids().length === 3)).toBe(true);
      await new Promise((r) => setTimeout(r, 300)); // none more comes
      expect(idlePids().length).toBe(3);
      expect(idlePids().filter((p) => five.includes(p)).length).toBe(2);
    } finally {
      await warm.close();
    }
  });

  it('a dead idle helper is passed over; failures still name their step; none is used for a detached start', async () => {
    idleHelpers.start(1);
    expect(await until(() => idlePids().length === 1)).toBe(true);
    const [first] = idlePids();
    process.kill(first!, 'SIGKILL');
    expect(await until(() => !procfs.pidAlive(first!))).toBe(true); // a zombie, or reaped
    const r = await runContainer({ rootfs, namespaces: ['mnt', 'pid'], argv: ['/bin/sh', '-c', 'echo $$'] });
    expect(r.stdout).toBe('1\n');
    await expect(runContainer({ rootfs, namespaces: ['mnt', 'pid'], argv: ['no-such-cmd'] })).rejects.toThrow(/no-such-cmd: command not found/);
    await expect(runContainer({ rootfs: path.join(tmp, 'missing'), namespaces: ['mnt', 'pid'], argv: ['/bin/true'] })).rejects.toThrow(/ENOENT/);
    expect(await until(() => idlePids().length === 1)).toBe(true);
    // A detached container outlives the workbook: it gets a helper of its own.
    const waiting = idlePids();
    const ledger = new Ledger();
    const d = await startContainer({ rootfs, namespaces: ['mnt', 'pid'], argv: ['/bin/sleep', '1000'], detach: true }, ledger);
    expect(procfs.pidAlive(d.pid)).toBe(true);
    expect(idlePids()).toEqual(waiting);
    expect(await ledger.cleanup()).toEqual([]);
    expect(await until(() => !procfs.pidAlive(d.pid))).toBe(true);
  });

  it('die with the workbook that started them, idle or working', async () => {
    const script = `import { idleHelpers } from ${JSON.stringify(path.resolve('dist/core/helper-pool.js'))};
import { startContainer } from ${JSON.stringify(path.resolve('dist/core/index.js'))};
idleHelpers.start(2);
await new Promise((r) => setTimeout(r, 1500));
const c = await startContainer({ rootfs: ${JSON.stringify(rootfs)}, namespaces: ['mnt','pid'], argv: ['/bin/sleep','1000'] });
console.log(c.pid); setInterval(() => {}, 1000);`;
    const driver = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((res) => driver.stdout.once('data', (d) => res(Number(String(d).trim()))));
    const idle = procfs.listPids().filter((p) => procfs.ppid(p) === driver.pid && / idle$/.test(procfs.cmdline(p) ?? ''));
    expect(idle.length).toBeGreaterThanOrEqual(1);
    driver.kill('SIGKILL');
    expect(await until(() => [pid, ...idle].every((p) => !procfs.pidAlive(p)))).toBe(true);
  });
});

describe('prepared containers, several at once', () => {
  it('one per shape wanted (a shape twice: two), taken in any order; wanting others ends the rest', async () => {
    const a = { rootfs, namespaces: NS, hostname: 'a', mountProc: true };
    const b = { rootfs, namespaces: ['mnt', 'uts', 'pid'] as Namespace[], hostname: 'b', mountProc: false };
    const ledger = new Ledger();
    const warm = new WarmContainers();
    try {
      warm.want([a, b, a], ledger);
      const pb = (await warm.take(b, ledger))!;
      const pa1 = (await warm.take(a, ledger))!;
      const pa2 = (await warm.take(a, ledger))!;
      expect(await warm.take(a, ledger)).toBeNull();
      expect(new Set([pa1.pid, pa2.pid, pb.pid]).size).toBe(3);
      const out = await Promise.all([pa1, pa2, pb].map(async (p) => (await collect(await p.run(['/bin/sh', '-c', 'echo $$ $(hostname) $(ls /proc | wc -l)']))).stdout.trim()));
      expect(out[0]).toMatch(/^1 a [1-9]/);
      expect(out[1]).toMatch(/^1 a [1-9]/);
      expect(out[2]).toBe('1 b 0'); // no /proc of its own: an empty directory
      warm.want([a, b], ledger);
      const slots = (warm as unknown as { slots: Array<{ prepared: Promise<{ pid: number } | null> }> }).slots;
      const [ka, kb] = await Promise.all(slots.map((s) => s.prepared));
      warm.want([b], ledger); // a no longer wanted: ended; b kept
      expect(await procfs.waitReaped([ka!.pid], 3000)).toBe(true);
      expect(procfs.pidAlive(kb!.pid)).toBe(true);
      expect((await warm.take(b, ledger))!.pid).toBe(kb!.pid);
    } finally {
      await warm.close();
      expect(await ledger.cleanup()).toEqual([]);
    }
  });
});
