// nf_tables through the core: the batch bytes, then the client against the real kernel,
// always inside a network namespace made for the test (`unshare --net`, gone when its
// process exits), never the host's. Read back independently with nft(8) (a visible SKIP
// where it is not installed), and checked with a real TCP connection through the DNAT between two such namespaces.
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { natBatch, type NatRules } from '../../src/core/nftables.js';
import { parseAttrs } from '../../src/core/netlink.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (f: string) => JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/core', f)).href);

const RULES: NatRules = {
  table: 'container_lessons',
  masqueradeOut: 'out0',
  publish: [
    { inIf: 'out0', port: 8080, to: '10.1.0.2', toPort: 80 },
    { inIf: 'out0', port: 2222, to: '10.1.0.3', toPort: 22 },
  ],
};
/** nft(8), for an independent read-back of what the core wrote (.ci/run installs it). */
const hasNft = spawnSync('nft', ['--version']).status === 0;
const NO_NFT = 'nft(8) is not installed (apt-get install nftables)';
const EXPECTED = ['postrouting: oifname "out0" masquerade', 'prerouting: iifname "out0" tcp dport 8080 dnat to 10.1.0.2:80', 'prerouting: iifname "out0" tcp dport 2222 dnat to 10.1.0.3:22'];

/** The netlink messages of a buffer: type, flags, seq, body. */
function messages(buf: Buffer) {
  const out: Array<{ type: number; flags: number; seq: number; body: Buffer }> = [];
  for (let off = 0; off < buf.length; ) {
    const len = buf.readUInt32LE(off);
    out.push({ type: buf.readUInt16LE(off + 4), flags: buf.readUInt16LE(off + 6), seq: buf.readUInt32LE(off + 8), body: buf.subarray(off + 16, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}

/** Run an ES module script in a fresh network namespace; its stdout is JSON, of the shape
 * T the script writes (not checked here: the test's expectations check it). */
function inNetns<T>(script: string): T {
  const r = spawnSync('unshare', ['--net', process.execPath, '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 40_000 });
  if (r.status !== 0) throw new Error(`script in a new netns failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('nf_tables batch (pure)', () => {
  it('is begin, table, chains, rules, end, with nfgenmsg headers, big-endian numbers and nested flags', () => {
    const all = messages(natBatch(RULES, 100));
    const m = (i: number) => all[i] ?? expect.unreachable(`no message ${i} in the batch`);
    expect(all.map((x) => x.type)).toEqual([0x10, 0x0a00, 0x0a03, 0x0a03, 0x0a06, 0x0a06, 0x0a06, 0x11]);
    expect(all.map((x) => x.seq)).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
    // batch begin/end: AF_UNSPEC, version 0, res_id = htons(NFNL_SUBSYS_NFTABLES)
    expect([...m(0).body]).toEqual([0, 0, 0, 10]);
    expect([...m(7).body]).toEqual([0, 0, 0, 10]);
    expect(m(0).flags & 4).toBe(0); // no ACK asked for begin/end
    // every message in between: NFPROTO_IPV4, NLM_F_REQUEST|ACK, table CREATE|EXCL, rules APPEND
    for (const x of all.slice(1, 7)) {
      expect([...x.body.subarray(0, 4)]).toEqual([2, 0, 0, 0]);
      expect(x.flags & 5).toBe(5);
    }
    expect(m(1).flags).toBe(0x605);
    expect(m(4).flags & 0x800).toBe(0x800);
    expect(parseAttrs(m(1).body, 4, m(1).body.length).get(1)?.toString()).toBe('container_lessons\0');

    // postrouting chain: NFTA_CHAIN_HOOK is nested (0x8000), hooknum 4 and priority 100 big-endian
    const chain = m(2).body;
    const hookAt = chain.indexOf(Buffer.from([0x14, 0x00, 0x04, 0x80])); // len 20, type NFTA_CHAIN_HOOK|NLA_F_NESTED
    expect(hookAt).toBeGreaterThan(0);
    const hook = parseAttrs(chain, hookAt + 4, hookAt + 20);
    expect([...hook.get(1)!]).toEqual([0, 0, 0, 4]);
    expect([...hook.get(2)!]).toEqual([0, 0, 0, 100]);
    expect(parseAttrs(chain, 4, chain.length).get(7)?.toString()).toBe('nat\0');
    // prerouting chain: hooknum 0, priority -100
    const pre = m(3).body;
    const preHook = parseAttrs(pre, pre.indexOf(Buffer.from([0x14, 0x00, 0x04, 0x80])) + 4, pre.indexOf(Buffer.from([0x14, 0x00, 0x04, 0x80])) + 20);
    expect(preHook.get(2)!.readInt32BE(0)).toBe(-100);

    // the first dnat rule: interface padded to IFNAMSIZ, port 8080 and 80 in network order, 10.1.0.2
    const rule = m(5).body;
    expect(rule.includes(Buffer.concat([Buffer.from('out0'), Buffer.alloc(12)]))).toBe(true);
    expect(rule.includes(Buffer.from([0x06, 0x00, 0x01, 0x00, 0x1f, 0x90]))).toBe(true); // NFTA_DATA_VALUE len 6: 8080
    expect(rule.includes(Buffer.from([0x08, 0x00, 0x01, 0x00, 10, 1, 0, 2]))).toBe(true);
    expect(rule.includes(Buffer.from([0x06, 0x00, 0x01, 0x00, 0x00, 0x50]))).toBe(true); // 80
    expect(rule.includes(Buffer.from('nat\0'))).toBe(true);
  });

  it('rejects bad input before anything is built', () => {
    expect(() => natBatch({ table: 't', masqueradeOut: 'a-name-of-16-chr' }, 1)).toThrow(/not an interface name \(1 to 15 bytes\): "a-name-of-16-chr"/);
    expect(() => natBatch({ table: 't', publish: [{ inIf: 'x', port: 70000, to: '10.0.0.1', toPort: 1 }] }, 1)).toThrow(/not a port/);
    expect(() => natBatch({ table: 't', publish: [{ inIf: 'x', port: 1, to: '10.0.0', toPort: 1 }] }, 1)).toThrow(/not an IPv4 address/);
    expect(() => natBatch({ table: '' }, 1)).toThrow(/not a table name/);
  });
});

describe('nf_tables in a fresh network namespace', () => {
  it('applies a NAT table in one batch, reads it back, refuses it twice, and deletes it', () => {
    const out = inNetns<{
      tablesBefore: string[];
      tables: string[];
      rules: string[];
      again: { name: string; code: string; message: string };
      rulesAfterAgain: string[];
      bad: { name: string; message: string };
      tablesAfterDelete: string[];
      deleteAgain: string;
      rawAcks: Array<[seq: number, errno: number]>;
      tablesAfterFailed: string[];
      rulesAfterFailed: string[];
    }>(`
      import { Nftables, natBatch } from ${dist('nftables.js')};
      import { lib } from ${dist('libc.js')};
      const RULES = ${JSON.stringify(RULES)};
      const out = {};
      const nft = new Nftables();
      out.tablesBefore = nft.tables();
      nft.applyNat(RULES);
      out.tables = nft.tables();
      out.rules = nft.rules(RULES.table);
      // The same table again: refused by the table's message, and nothing of it applied
      // (its rules alone would have been appended to the existing chains).
      try { nft.applyNat({ ...RULES, masqueradeOut: 'other0' }); } catch (e) { out.again = { name: e.name, code: e.code, message: e.message }; }
      out.rulesAfterAgain = nft.rules(RULES.table);
      // Bad input: a plain Error before anything is sent.
      try { nft.applyNat({ table: 'other', masqueradeOut: 'a-very-long-interface' }); } catch (e) { out.bad = { name: e.name, message: e.message }; }
      nft.deleteTable(RULES.table);
      out.tablesAfterDelete = nft.tables();
      try { nft.deleteTable(RULES.table); } catch (e) { out.deleteAgain = e.message; }

      // A batch whose last message the kernel refuses (the dnat's family patched to IPv6):
      // sent raw, so the kernel's own answers can be read. Table and chains before it in the
      // same batch must not stay.
      const buf = natBatch(RULES, 500);
      const nat = buf.lastIndexOf(Buffer.from('nat\\0'));
      const fam = buf.indexOf(Buffer.from([8, 0, 2, 0, 0, 0, 0, 2]), nat);
      buf[fam + 7] = 10;
      const c = {
        socket: lib.func('int socket(int, int, int)'),
        send: lib.func('long send(int, const uint8_t *, size_t, int)'),
        recv: lib.func('long recv(int, _Out_ uint8_t *, size_t, int)'),
        close: lib.func('int close(int)'),
      };
      const fd = c.socket(16, 3, 12);
      c.send(fd, buf, buf.length, 0);
      const acks = [];
      const rb = new Uint8Array(65536);
      for (let n; (n = Number(c.recv(fd, rb, rb.length, 0x40))) > 0; ) {
        const b = Buffer.from(rb.subarray(0, n));
        for (let off = 0; off + 16 <= n; off += (b.readUInt32LE(off) + 3) & ~3) {
          if (b.readUInt16LE(off + 4) === 2) acks.push([b.readUInt32LE(off + 8), -b.readInt32LE(off + 16)]);
        }
      }
      c.close(fd);
      out.rawAcks = acks;
      out.tablesAfterFailed = nft.tables();
      out.rulesAfterFailed = nft.rules(RULES.table);
      nft.close();
      process.stdout.write(JSON.stringify(out));
    `);
    expect(out.tablesBefore).toEqual([]);
    expect(out.tables).toEqual(['container_lessons']);
    expect(out.rules).toEqual(EXPECTED);
    expect(out.again).toMatchObject({ name: 'SyscallError', code: 'EEXIST' });
    expect(out.again.message).toBe('netlink NFT_MSG_NEWTABLE("ip container_lessons"): EEXIST (File exists)');
    expect(out.rulesAfterAgain).toEqual(EXPECTED);
    expect(out.bad).toEqual({ name: 'Error', message: 'nftables: not an interface name (1 to 15 bytes): "a-very-long-interface"' });
    expect(out.tablesAfterDelete).toEqual([]);
    expect(out.deleteAgain).toMatch(/^netlink NFT_MSG_DELTABLE\("ip container_lessons"\): ENOENT/);
    // One answer per message (seq 501..506); only the patched rule (seq 506) failed, and
    // nothing of the batch was kept.
    expect(out.rawAcks.map((a) => a[0])).toEqual([501, 502, 503, 504, 505, 506]);
    expect(out.rawAcks.filter((a) => a[1] !== 0)).toEqual([[506, 95 /* EOPNOTSUPP */]]);
    expect(out.tablesAfterFailed).toEqual([]);
    expect(out.rulesAfterFailed).toEqual([]);
  });

  it('nft(8) reads the same rules back from the kernel', (ctx) => {
    if (!hasNft) {
      console.log(`SKIP: ${ctx.task.name}: ${NO_NFT}`);
      ctx.skip(NO_NFT);
    }
    const out = inNetns<{ status: number | null; stdout: string; stderr: string; tablesAfterDelete: string[] }>(`
      import { spawnSync } from 'node:child_process';
      import { Nftables } from ${dist('nftables.js')};
      const nft = new Nftables();
      nft.applyNat(${JSON.stringify(RULES)});
      const list = spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
      nft.deleteTable(${JSON.stringify(RULES.table)});
      const tablesAfterDelete = nft.tables();
      nft.close();
      process.stdout.write(JSON.stringify({ status: list.status, stdout: list.stdout, stderr: list.stderr, tablesAfterDelete }));
    `);
    expect(out.status, out.stderr).toBe(0);
    const lines = out.stdout.split('\n').map((l) => l.trim());
    expect(lines).toContain('table ip container_lessons {');
    expect(lines).toContain('type nat hook postrouting priority srcnat; policy accept;');
    expect(lines).toContain('type nat hook prerouting priority dstnat; policy accept;');
    for (const r of EXPECTED) expect(lines).toContain(r.replace(/^\w+: /, ''));
    expect(out.tablesAfterDelete).toEqual([]);
  });

  it('a published port takes a real TCP connection from a second namespace through the DNAT', () => {
    // Outer netns (this script): veth cl-out 10.9.0.1, a server on :9090. Inner netns (a
    // child made with unshare --net): veth cl-in 10.9.0.2 and a client for 10.9.0.1:8080.
    const client = `
      import net from 'node:net';
      import readline from 'node:readline';
      import { Netlink } from ${dist('netlink.js')};
      console.log('ready');
      for await (const line of readline.createInterface({ input: process.stdin })) {
        if (line === 'setup') {
          const nl = new Netlink();
          nl.setUp('lo'); nl.addAddress('cl-in', '10.9.0.2/24'); nl.setUp('cl-in'); nl.close();
          console.log('ok');
        } else if (line === 'connect') {
          const r = await new Promise((res) => {
            const s = net.connect(8080, '10.9.0.1');
            let d = '';
            s.setTimeout(5000, () => { s.destroy(); res('timeout'); });
            s.on('data', (x) => (d += x)).on('end', () => res(d)).on('error', (e) => res(e.code));
          });
          console.log(r);
        }
      }
    `;
    const out = inNetns<{ rules: string[]; before: string; published: string; after: string }>(`
      import net from 'node:net';
      import readline from 'node:readline';
      import { spawn } from 'node:child_process';
      import { Nftables } from ${dist('nftables.js')};
      import { Netlink } from ${dist('netlink.js')};
      const child = spawn('unshare', ['--net', process.execPath, '--input-type=module', '-e', ${JSON.stringify(client)}], { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const next = async () => (await lines.next()).value;
      const ask = async (cmd) => { child.stdin.write(cmd + '\\n'); return next(); };
      const out = {};
      try {
        if ((await next()) !== 'ready') throw new Error('client did not start');
        const nl = new Netlink();
        nl.setUp('lo');
        nl.addVeth('cl-out', 'cl-in', child.pid);
        nl.addAddress('cl-out', '10.9.0.1/24');
        nl.setUp('cl-out');
        nl.close();
        if ((await ask('setup')) !== 'ok') throw new Error('client setup failed');
        const srv = net.createServer((s) => s.end('hello from 9090')).listen(9090, '10.9.0.1');
        await new Promise((r) => srv.on('listening', r));
        out.before = await ask('connect');
        const nft = new Nftables();
        nft.applyNat({ table: 'cl_pub', publish: [{ inIf: 'cl-out', port: 8080, to: '10.9.0.1', toPort: 9090 }] });
        out.rules = nft.rules('cl_pub');
        out.published = await ask('connect');
        nft.deleteTable('cl_pub');
        out.after = await ask('connect');
        nft.close();
        srv.close();
      } finally {
        child.stdin.end();
      }
      await new Promise((r) => child.on('exit', r));
      process.stdout.write(JSON.stringify(out));
    `);
    expect(out.rules).toEqual(['prerouting: iifname "cl-out" tcp dport 8080 dnat to 10.9.0.1:9090']);
    expect(out.before).toBe('ECONNREFUSED');
    expect(out.published).toBe('hello from 9090');
    expect(out.after).toBe('ECONNREFUSED');
  });
});
