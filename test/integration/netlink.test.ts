// rtnetlink through the core, inside network namespaces of containers the test makes:
// a bridge, a veth pair whose far end is moved into a second container, addresses and a
// default route; checked independently (/proc/<pid>/net/dev, iproute2 inside, a real TCP
// packet answered across the link). The host's network is never touched.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildHostRootfs, startContainer, netOps, execInContainer, procfs, Ledger, ContainerError, libc, type Running } from '../../src/core/index.js';
import { attr, message, ifinfomsg, parseAttrs, parseCidr, openNetlink, recvError, NETLINK_ROUTE } from '../../src/core/netlink.js';

describe('netlink sockets', () => {
  it('give up on a missing answer with an error, not a frozen workbook', () => {
    const fd = openNetlink(NETLINK_ROUTE, 200);
    try {
      const t0 = Date.now();
      const n = Number(libc.sock.recv(fd, new Uint8Array(64), 64, 0)); // nothing was asked
      const e = libc.errno();
      expect(n).toBe(-1);
      expect(e).toBe(11); // EAGAIN, which errnoName calls EWOULDBLOCK (the same number)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      expect(recvError('RTM_GETLINK', e).message).toMatch(/^recv\("RTM_GETLINK", "no answer in 10 s"\): E(AGAIN|WOULDBLOCK)/);
    } finally {
      libc.sock.close(fd);
    }
  });
});

describe('netlink messages', () => {
  it('are laid out as the kernel expects', () => {
    const a = attr(3, Buffer.from('br0\0'));
    expect([...a]).toEqual([8, 0, 3, 0, 0x62, 0x72, 0x30, 0]);
    expect(attr(3, Buffer.from('ab\0')).length).toBe(8); // padded to 4 bytes
    const m = message(16, 0x405, 7, ifinfomsg(2, 1, 1));
    expect(m.readUInt32LE(0)).toBe(32);
    expect(m.readUInt16LE(4)).toBe(16);
    expect(m.readUInt16LE(6)).toBe(0x405);
    expect(m.readUInt32LE(8)).toBe(7);
    expect(m.readInt32LE(16 + 4)).toBe(2);
    const attrs = parseAttrs(Buffer.concat([a, attr(4, Buffer.from([0xdc, 5, 0, 0]))]), 0, 16);
    expect(attrs.get(3)?.toString()).toBe('br0\0');
    expect(attrs.get(4)?.readUInt32LE(0)).toBe(1500);
    expect(parseCidr('10.1.2.3/24')).toEqual({ addr: '10.1.2.3', prefix: 24 });
    expect(() => parseCidr('10.1.2/24')).toThrow(/not an IPv4 address/);
    expect(() => parseCidr('10.1.2.3/33')).toThrow(/not a prefix length/);
  });
});

describe('rtnetlink in containers', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-net-'));
  const rootfs = path.join(tmp, 'rootfs');
  const ledger = new Ledger();
  let a: Running;
  let b: Running;
  const NS = ['mnt', 'uts', 'pid', 'net'] as const;
  const idle = ['/bin/sh', '-c', 'while : ; do sleep 3600; done'];

  beforeAll(async () => {
    buildHostRootfs(rootfs);
    a = await startContainer({ rootfs, namespaces: [...NS], argv: idle }, ledger);
    b = await startContainer({ rootfs, namespaces: [...NS], argv: idle }, ledger);
  });
  afterAll(async () => {
    await ledger.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a bridge in one, a veth pair across both, addresses and a route: a packet gets an answer, and none once the bridge is down', async () => {
    const inA = await netOps(a.pid, [
      { op: 'up', name: 'lo' },
      { op: 'bridge', name: 'clbr0' },
      { op: 'veth', name: 'cla', peer: 'clb', peerNetnsPid: b.pid },
      { op: 'master', name: 'cla', bridge: 'clbr0' },
      { op: 'address', name: 'clbr0', cidr: '10.250.0.1/24' },
      { op: 'up', name: 'clbr0' },
      { op: 'up', name: 'cla' },
    ]);
    expect(inA.links.map((l) => l.name).sort()).toEqual(['cla', 'clbr0', 'lo']);
    const br = inA.links.find((l) => l.name === 'clbr0')!;
    expect(inA.links.find((l) => l.name === 'cla')).toMatchObject({ kind: 'veth', master: br.index, up: true });
    const inB = await netOps(b.pid, [
      { op: 'up', name: 'lo' },
      { op: 'address', name: 'clb', cidr: '10.250.0.2/24' },
      { op: 'up', name: 'clb' },
      { op: 'defaultRoute', gateway: '10.250.0.1' },
    ]);
    expect(inB.addresses.map((x) => `${x.addr}/${x.prefix}`)).toEqual(['127.0.0.1/8', '10.250.0.2/24']);

    // Independently: the kernel's own view of each namespace, and iproute2 inside.
    expect(procfs.readInterfaces(a.pid).sort()).toEqual(['cla', 'clbr0', 'lo']);
    expect(procfs.readInterfaces(b.pid).sort()).toEqual(['clb', 'lo']);
    const route = await execInContainer(b.pid, [...NS], ['ip', 'route']);
    expect(route.stdout).toMatch(/^default via 10\.250\.0\.1 dev clb/m);
    // A TCP SYN from B to A's bridge address, answered by a reset ("refused"): the packet
    // went across the veth and the bridge and back. A wrong setup times out instead.
    const tcp = await execInContainer(b.pid, [...NS], ['/bin/bash', '-c', 'for i in 1 2 3 4 5; do (echo > /dev/tcp/10.250.0.1/9) 2>&1 && break; sleep 0.2; done; true']);
    expect(tcp.stdout + tcp.stderr).toMatch(/Connection refused/);
    // With the bridge down the same SYN gets no answer: the link is what carries it.
    await netOps(a.pid, [{ op: 'down', name: 'clbr0' }]);
    const down = await execInContainer(b.pid, [...NS], ['/bin/bash', '-c', '(echo > /dev/tcp/10.250.0.1/9) 2>&1 & sleep 1; kill %1 2>/dev/null && echo "no answer"; true']);
    expect(down.stdout).toMatch(/no answer/);
    expect(down.stdout).not.toMatch(/Connection refused/);
  });

  it('names the failing operation and errno', async () => {
    const err = await netOps(a.pid, [{ op: 'bridge', name: 'clbr0' }]).catch((e) => e);
    expect(err).toBeInstanceOf(ContainerError);
    expect(err.message).toMatch(/bridge clbr0: netlink RTM_NEWLINK\("clbr0", "type bridge"\): EEXIST/);
    expect(err.syscall?.code).toBe('EEXIST');
  });
});
