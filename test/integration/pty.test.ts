// A terminal of a container's own (core/pty.ts) and the workbook's relay to it
// (ui/pty-relay.ts), against the real kernel, without the TUI: the pty comes from the
// container's devpts instance, the entered command has it as its controlling terminal,
// and the relay gives the real terminal back as it found it on every way it ends.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { buildHostRootfs, startContainer, enterContainer, openContainerPty, ptmxProblem, Ledger, libc, type Running } from '../../src/core/index.js';
import { relayTerminal } from '../../src/ui/pty-relay.js';

const NS: libc.Namespace[] = ['mnt', 'uts', 'pid'];
const IDLE = ['/bin/sh', '-c', 'while : ; do sleep 3600; done'];
let tmp: string;
let rootfs: string;
const ledger = new Ledger();

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-pty-'));
  rootfs = path.join(tmp, 'rootfs');
  buildHostRootfs(rootfs);
});
afterEach(async () => {
  expect(await ledger.cleanup()).toEqual([]);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A stand-in for the real terminal: what the relay did to it is recorded. */
function fakeTerminal(rows = 33, columns = 111) {
  const rawCalls: boolean[] = [];
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (raw: boolean) => rawCalls.push(raw) });
  let shown = '';
  const output = Object.assign(new PassThrough(), { isTTY: true, rows, columns });
  output.on('data', (d) => (shown += String(d)));
  return { input, output, rawCalls, shown: () => shown };
}

/** fd is (still) a pty master: the number may be taken again by anything once closed. */
const isMaster = (fd: number) => {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`).endsWith('/ptmx');
  } catch {
    return false;
  }
};

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const container = (mountDev?: boolean): Promise<Running> => startContainer({ rootfs, namespaces: NS, hostname: 'pty', mountProc: true, mountDev, argv: IDLE }, ledger);

describe('a pty of the container', () => {
  it('comes from its own devpts instance: the first slave is /dev/pts/0 in there; a container without /dev/pts has none', async () => {
    const c = await container();
    expect(ptmxProblem(c.pid)).toBeNull();
    const pty = openContainerPty(c.pid, { rows: 20, columns: 70 });
    try {
      expect(pty.name).toBe('/dev/pts/0');
      // The slave's device is in the container's devpts, not the host's.
      const inside = fs.statSync(`/proc/${c.pid}/root/dev/pts/0`);
      const slave = fs.fstatSync(pty.slave);
      expect([slave.dev, slave.ino]).toEqual([inside.dev, inside.ino]);
      expect(slave.dev).not.toBe(fs.statSync('/dev/pts/ptmx').dev);
      expect(libc.getWindowSize(pty.slave)).toEqual({ rows: 20, columns: 70 });
    } finally {
      fs.closeSync(pty.slave);
      fs.closeSync(pty.master);
    }
    const bare = await container(false);
    expect(ptmxProblem(bare.pid)).toBe('the container has no /dev/pts');
  });

  it('the entered command has it as its controlling terminal; typed bytes reach it, its output reaches the screen, the window size follows', async () => {
    const c = await container();
    const t = fakeTerminal();
    const pty = openContainerPty(c.pid, { rows: t.output.rows, columns: t.output.columns });
    const script = 'echo "tty=$(tty) ctty=$(ps -o tty= -p $$) size=$(stty size)"; read line; echo "got=$line"; read line; echo "resized=$(stty size)"';
    let running: Running;
    try {
      running = await enterContainer(c.pid, NS, ['/bin/sh', '-c', script], { stdio: { terminal: pty.slave } });
    } finally {
      fs.closeSync(pty.slave);
    }
    expect(isMaster(pty.master)).toBe(true);
    const relay = relayTerminal(pty.master, running.exited, t);
    expect(t.rawCalls).toEqual([true]);
    await until(() => t.shown().includes('size='), 'the first line');
    expect(t.shown()).toMatch(/tty=\/dev\/pts\/0 ctty=pts\/0 size=33 111/);
    t.input.write('typed here\r');
    await until(() => t.shown().includes('got='), 'the echo of the typed line');
    expect(t.shown()).toMatch(/got=typed here/);
    Object.assign(t.output, { rows: 40, columns: 132 });
    t.output.emit('resize');
    t.input.write('\r');
    await relay;
    expect(t.shown()).toMatch(/resized=40 132/);
    expect((await running.exited).code).toBe(0);
    // The real terminal as it was: raw mode off, paused, no listener of the relay left.
    expect(t.rawCalls).toEqual([true, false]);
    expect(t.input.isPaused()).toBe(true);
    expect(t.input.listenerCount('data')).toBe(0);
    expect(t.output.listenerCount('resize')).toBe(0);
    expect(isMaster(pty.master)).toBe(false);
  });

  it('ends with the command although a background job still holds the terminal, and gives everything back', async () => {
    const c = await container();
    const t = fakeTerminal();
    const pty = openContainerPty(c.pid);
    let running: Running;
    try {
      running = await enterContainer(c.pid, NS, ['/bin/sh', '-c', '(trap "" HUP; exec sleep 313) & echo "left=$!"'], { stdio: { terminal: pty.slave } });
    } finally {
      fs.closeSync(pty.slave);
    }
    await relayTerminal(pty.master, running.exited, t);
    expect(t.shown()).toMatch(/left=\d+/);
    // The sleep (deaf to the hangup when its session leader, the helper, exited) still
    // runs in the container, on the terminal the relay closed.
    const sleeper = fs.readdirSync('/proc').find((p) => /^\d+$/.test(p) && fs.existsSync(`/proc/${p}/cmdline`) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\x00313\x00');
    expect(sleeper).toBeDefined();
    expect(t.rawCalls).toEqual([true, false]);
    expect(t.input.isPaused()).toBe(true);
    expect(t.input.listenerCount('data')).toBe(0);
    expect(isMaster(pty.master)).toBe(false);
  });
});
