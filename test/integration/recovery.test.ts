// A process that made kernel objects is killed with SIGKILL: its journal lets the next
// process remove exactly those objects, and nothing of a live process's.
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recover, buildHostRootfs, procfs, Cgroup, Journal, Ledger, Netlink } from '../../src/core/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-recover-'));
const rootfs = path.join(tmp, 'rootfs');
buildHostRootfs(rootfs);
const drivers: ReturnType<typeof spawn>[] = [];
afterAll(async () => {
  // Whatever a failed test left: its driver ended, the same recovery, then the directory.
  for (const d of drivers) d.kill('SIGKILL');
  for (const j of ['journal', 'journal2', 'journal-link', 'journal-held', 'journal-held-long']) await recover(path.join(tmp, j));
  fs.rmSync(tmp, { recursive: true, force: true });
});

const DIST = path.resolve('dist/core/index.js');

/** A throwaway driver that makes one of everything, says "ready", and waits to be killed. */
function driver(journalDir: string, group: string) {
  const d = (n: string) => path.join(tmp, 'ov', n);
  const script = `
import fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { Journal, Ledger, mountOverlay, Cgroup, startContainer } from ${JSON.stringify(DIST)};
const ledger = new Ledger(new Journal(${JSON.stringify(journalDir)}));
ledger.add({ kind: 'file', path: ${JSON.stringify(d('made'))} });
fs.mkdirSync(${JSON.stringify(d('made'))}, { recursive: true });
for (const n of ['lower', 'upper', 'work', 'merged']) fs.mkdirSync(${JSON.stringify(d(''))} + '/' + n, { recursive: true });
mountOverlay({ lowers: [${JSON.stringify(d('lower'))}], upper: ${JSON.stringify(d('upper'))}, work: ${JSON.stringify(d('work'))}, merged: ${JSON.stringify(d('merged'))} }, ledger);
const g = new Cgroup(${JSON.stringify(group)}, ['cpu']);
g.create(ledger);
ledger.add({ kind: 'procs', tag: 'container-lessons-busy-loop:test-${process.pid}' });
const loop = spawn('/bin/sh', ['-c', 'ulimit -t 60; while : ; do : ; done', 'container-lessons-busy-loop:test-${process.pid}'], { stdio: 'ignore' });
g.addProcess(loop.pid);
const c = await startContainer({ rootfs: ${JSON.stringify(rootfs)}, namespaces: ['mnt', 'uts', 'pid'], argv: ['/bin/sh', '-c', 'sleep 1000 & wait'] }, ledger);
const c2 = await startContainer({ rootfs: ${JSON.stringify(rootfs)}, namespaces: ['mnt'], argv: ['/bin/sh', '-c', 'sleep 1000 & wait'] }, ledger);
console.log(JSON.stringify({ loop: loop.pid, pid1: c.pid, nopid: c2.pid }));
setInterval(() => {}, 1000);
`;
  return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

describe('recovery from a journal', () => {
  it('after SIGKILL, removes the mount, the cgroup, the processes and the files; leaves the host alone', async () => {
    const journalDir = path.join(tmp, 'journal');
    const group = `cl-test-recover-${process.pid}`;
    const child = driver(journalDir, group);
    drivers.push(child);
    const pids = await new Promise<{ loop: number; pid1: number; nopid: number }>((res, rej) => {
      child.stdout!.once('data', (d) => res(JSON.parse(String(d))));
      child.on('exit', (code) => rej(new Error(`driver exited ${code}`)));
    });
    const merged = path.join(tmp, 'ov', 'merged');
    const g = new Cgroup(group, ['cpu']);
    // The sleep of the container without a PID namespace: it would outlive everything.
    let orphan = 0;
    for (let i = 0; i < 200 && !orphan; i++) {
      orphan = procfs.descendants(pids.nopid)[0] ?? 0;
      if (!orphan) await new Promise((r) => setTimeout(r, 10));
    }
    expect(orphan).toBeGreaterThan(0);

    // While the driver lives, its journal is locked: recovery must not touch anything.
    expect((await recover(journalDir)).removed).toEqual([]);
    expect(g.exists()).toBe(true);

    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    // The busy loop and the sleep outlive their driver: nothing else would remove them.
    await new Promise((r) => setTimeout(r, 300));
    expect(procfs.pidAlive(pids.loop)).toBe(true);
    expect(procfs.pidAlive(orphan)).toBe(true);
    expect(procfs.readMountinfo().some((m) => m.mountPoint === merged)).toBe(true);

    const { removed, errors } = await recover(journalDir);
    expect(errors).toEqual([]);
    expect(removed.map((r) => r.kind)).toEqual(['processes', 'processes', 'processes', 'cgroup', ...(g.acctDir ? ['cgroup'] : []), 'mount', 'file']);
    expect(procfs.readMountinfo().some((m) => m.mountPoint === merged)).toBe(false);
    expect(g.exists()).toBe(false);
    for (const pid of [pids.loop, pids.pid1, pids.nopid, orphan]) expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    expect(fs.existsSync(path.join(tmp, 'ov', 'made'))).toBe(false);
    expect(fs.readdirSync(journalDir)).toEqual([]);
    // A second recovery finds nothing to do.
    expect((await recover(journalDir)).removed).toEqual([]);
  });

  it('a finished ledger leaves an empty journal, and an EEXIST is never recorded as ours', async () => {
    const journalDir = path.join(tmp, 'journal2');
    const journal = new Journal(journalDir);
    const g = new Cgroup(`cl-test-eexist-${process.pid}`, ['cpu']);
    const mine = new Ledger(journal);
    g.create(mine);
    const other = new Ledger(journal);
    expect(() => g.create(other)).toThrow(/already exists/);
    expect(other.size).toBe(0);
    expect(await mine.cleanup()).toEqual([]);
    expect(fs.readFileSync(journal.file, 'utf8')).toBe('');
    journal.close();
    expect(fs.readdirSync(journalDir)).toEqual([]);
  });
});

describe('tags', () => {
  it('find every process of a container, also children that lost their parent, and nothing else', async () => {
    const { startContainer, taggedProcesses, undo } = await import('../../src/core/index.js');
    const ledger = new Ledger();
    const a = await startContainer({ rootfs, namespaces: ['mnt'], argv: ['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & wait'] }, ledger);
    const b = await startContainer({ rootfs, namespaces: ['mnt'], argv: ['/bin/sh', '-c', 'sleep 1000 & wait'] });
    try {
      let kids: number[] = [];
      for (let i = 0; i < 200 && kids.length < 2; i++) {
        kids = procfs.descendants(a.pid);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(kids).toHaveLength(2);
      process.kill(a.pid, 'SIGKILL'); // the sleeps are orphans now: no parent links them to us
      await procfs.waitReaped([a.pid]);
      const [entry] = ledger.list();
      const tag = entry!.name; // the ledger holds the one procs entry added above
      const found = taggedProcesses({ kind: 'procs', tag });
      expect(found.sort()).toEqual(kids.sort());
      expect(found).not.toContain(b.pid);
      await undo({ kind: 'procs', tag });
      for (const k of kids) expect(fs.existsSync(`/proc/${k}`)).toBe(false);
      expect(procfs.pidAlive(b.pid)).toBe(true);
    } finally {
      await ledger.cleanup();
      await b.kill();
    }
  });
});

/** A driver process running `script`; resolves once it printed that it is ready. */
async function startDriver(script: string) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  drivers.push(child);
  await new Promise((res, rej) => {
    child.stdout!.once('data', res);
    child.on('exit', (code) => rej(new Error(`driver exited ${code}`)));
  });
  return child;
}

describe('links', () => {
  it('a bridge the project named on the host is deleted by recovery after SIGKILL', async () => {
    const journalDir = path.join(tmp, 'journal-link');
    const name = `clt${process.pid % 100000}`;
    const script = `
import { Journal, Ledger, Netlink } from ${JSON.stringify(DIST)};
const ledger = new Ledger(new Journal(${JSON.stringify(journalDir)}));
ledger.add({ kind: 'link', name: ${JSON.stringify(name)} });
new Netlink().addBridge(${JSON.stringify(name)});
console.log('ready');
setInterval(() => {}, 1000);
`;
    const child = await startDriver(script);
    expect(fs.existsSync(`/sys/class/net/${name}`)).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const { removed, errors } = await recover(journalDir);
    expect(errors).toEqual([]);
    expect(removed).toEqual([{ kind: 'link', name }]);
    expect(fs.existsSync(`/sys/class/net/${name}`)).toBe(false);
  });

  it('a link of that name that another run made since (another alias) is left alone', async () => {
    const journalDir = path.join(tmp, 'journal-link');
    const name = `clu${process.pid % 100000}`;
    const script = `
import { Journal, Ledger, Netlink } from ${JSON.stringify(DIST)};
const ledger = new Ledger(new Journal(${JSON.stringify(journalDir)}));
ledger.add({ kind: 'link', name: ${JSON.stringify(name)}, alias: 'container-lessons run-a' });
const nl = new Netlink();
nl.addBridge(${JSON.stringify(name)});
nl.setAlias(${JSON.stringify(name)}, 'container-lessons run-a');
console.log('ready');
setInterval(() => {}, 1000);
`;
    const child = await startDriver(script);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    // Another workbook replaced the leftover with its own link of the same name.
    const nl = new Netlink();
    try {
      nl.setAlias(name, 'container-lessons run-b');
      const { errors } = await recover(journalDir);
      expect(errors).toEqual([]);
      expect(nl.links().find((l) => l.name === name)).toMatchObject({ alias: 'container-lessons run-b' });
    } finally {
      nl.delete(name);
      nl.close();
    }
  });
});

describe('a journal held past its process', () => {
  /** A driver that records a file, makes it, hands its journal's open file to `holder` (as a
   * child it was forking would hold it until its exec), and dies by SIGKILL. */
  async function killedWhileShared(journalDir: string, made: string, holder: string[]) {
    const script = `
import fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { Journal, Ledger } from ${JSON.stringify(DIST)};
const journal = new Journal(${JSON.stringify(journalDir)});
new Ledger(journal).add({ kind: 'file', path: ${JSON.stringify(made)} });
fs.writeFileSync(${JSON.stringify(made)}, 'x');
const held = spawn(${JSON.stringify(holder[0])}, ${JSON.stringify(holder.slice(1))}, { stdio: ['ignore', 'ignore', 'ignore', journal.fd], detached: true });
console.log(held.pid);
`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    drivers.push(child);
    const holderPid = Number(await new Promise<string>((res) => child.stdout!.once('data', (d) => res(String(d)))));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    return holderPid;
  }
  const lockedNow = (dir: string) => fs.readdirSync(dir).some((f) => spawnSync('flock', ['-n', path.join(dir, f), 'true']).status !== 0);

  it('recovery waits for a dead process journal that another process still holds for a moment', async () => {
    const journalDir = path.join(tmp, 'journal-held');
    const made = path.join(tmp, 'held-file');
    await killedWhileShared(journalDir, made, ['sleep', '0.5']);
    // The writer is dead and reaped; its lock is not yet free: the case recovery must wait out.
    expect(lockedNow(journalDir)).toBe(true);
    const { removed, errors } = await recover(journalDir);
    expect(errors).toEqual([]);
    expect(removed).toEqual([{ kind: 'file', name: made }]);
    expect(fs.existsSync(made)).toBe(false);
    expect(fs.readdirSync(journalDir)).toEqual([]);
  });

  it('one held for good is reported with the process that holds it, and kept for later', async () => {
    const journalDir = path.join(tmp, 'journal-held-long');
    const made = path.join(tmp, 'held-long-file');
    const holder = await killedWhileShared(journalDir, made, ['sleep', '60']);
    try {
      const { removed, errors } = await recover(journalDir);
      expect(removed).toEqual([]);
      expect(errors).toEqual([expect.stringMatching(new RegExp(`its process ended, but ${holder} \\(sleep\\) still holds it open`))]);
      expect(fs.readdirSync(journalDir)).toHaveLength(1);
    } finally {
      process.kill(holder, 'SIGKILL');
    }
    // Once the holder is gone, the next recovery does the work.
    await new Promise((r) => setTimeout(r, 100));
    expect((await recover(journalDir)).removed).toEqual([{ kind: 'file', name: made }]);
    expect(fs.existsSync(made)).toBe(false);
  });
});
