// nf_tables: a NAT table (masquerade out, published ports in) spoken directly to the kernel
// over a NETLINK_NETFILTER socket, the way nft(8) does through libnftnl. Changes go in one
// batch (NFNL_MSG_BATCH_BEGIN .. END): the kernel applies all of it or none. Like
// rtnetlink (netlink.ts), the socket belongs to the network namespace of the thread that
// created it. Unlike rtnetlink, numbers inside nf_tables attributes are big-endian, and
// nested attributes carry NLA_F_NESTED.
import { SyscallError, errno, sock as c } from './libc.js';
import { attr, message, ipv4, parseAttrs, openNetlink, recvError, NETLINK_NETFILTER } from './netlink.js';

const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;

const NLM_F = { REQUEST: 1, ACK: 4, EXCL: 0x200, CREATE: 0x400, APPEND: 0x800, DUMP: 0x300 } as const;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLA_F_NESTED = 0x8000;

const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const AF_UNSPEC = 0;
const NFPROTO_IPV4 = 2;

export const NFT_MSG = { NEWTABLE: 0, GETTABLE: 1, DELTABLE: 2, NEWCHAIN: 3, NEWRULE: 6, GETRULE: 7 } as const;
type NftMsg = (typeof NFT_MSG)[keyof typeof NFT_MSG];
const MSG_NAMES: Record<NftMsg, string> = { 0: 'NFT_MSG_NEWTABLE', 1: 'NFT_MSG_GETTABLE', 2: 'NFT_MSG_DELTABLE', 3: 'NFT_MSG_NEWCHAIN', 6: 'NFT_MSG_NEWRULE', 7: 'NFT_MSG_GETRULE' };
const nftType = (msg: number) => (NFNL_SUBSYS_NFTABLES << 8) | msg;

const NFTA_TABLE = { NAME: 1 } as const;
const NFTA_CHAIN = { TABLE: 1, NAME: 3, HOOK: 4, POLICY: 5, TYPE: 7 } as const;
const NFTA_HOOK = { HOOKNUM: 1, PRIORITY: 2 } as const;
const NFTA_RULE = { TABLE: 1, CHAIN: 2, EXPRESSIONS: 4 } as const;
const NFTA_LIST_ELEM = 1;
const NFTA_EXPR = { NAME: 1, DATA: 2 } as const;
const NFTA_META = { DREG: 1, KEY: 2 } as const;
const NFTA_CMP = { SREG: 1, OP: 2, DATA: 3 } as const;
const NFTA_PAYLOAD = { DREG: 1, BASE: 2, OFFSET: 3, LEN: 4 } as const;
const NFTA_IMMEDIATE = { DREG: 1, DATA: 2 } as const;
const NFTA_DATA = { VALUE: 1, VERDICT: 2 } as const;
const NFTA_VERDICT_CODE = 1;
const NFTA_NAT = { TYPE: 1, FAMILY: 2, REG_ADDR_MIN: 3, REG_PROTO_MIN: 5, FLAGS: 7 } as const;

const NF_INET_PRE_ROUTING = 0;
const NF_INET_POST_ROUTING = 4;
const NF_ACCEPT = 1;
const NFT_META = { IIFNAME: 6, OIFNAME: 7, L4PROTO: 16 } as const;
const NFT_CMP_EQ = 0;
const NFT_PAYLOAD_TRANSPORT_HEADER = 2;
const NFT_NAT_SNAT = 0;
const NFT_NAT_DNAT = 1;
const NF_NAT_RANGE_PROTO_SPECIFIED = 2;
const NFT_REG_1 = 1;
const NFT_REG_2 = 2;
const IPPROTO_TCP = 6;
const IFNAMSIZ = 16;

export interface NatRules {
  table: string; // e.g. 'container_lessons'
  /** `oifname OUT masquerade` in a postrouting nat chain */
  masqueradeOut?: string;
  /** `iifname IN tcp dport PORT dnat to TO:TOPORT` in a prerouting nat chain */
  publish?: Array<{ inIf: string; port: number; to: string; toPort: number }>;
}

// ---- message building (pure) ----
const str = (s: string) => Buffer.from(s + '\0');
const be32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
};
const be16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
/** A nested nf_tables attribute: NLA_F_NESTED set on its type. */
export const nest = (type: number, ...children: Buffer[]) => attr(type | NLA_F_NESTED, Buffer.concat(children));

/** struct nfgenmsg: family, version 0, res_id (big-endian). */
export function nfgenmsg(family: number, resId = 0): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt8(family, 0);
  b.writeUInt16BE(resId, 2);
  return b;
}

function ifname(name: string): Buffer {
  const b = Buffer.from(name);
  if (name.length === 0 || b.length >= IFNAMSIZ || b.includes(0)) throw new Error(`nftables: not an interface name (1 to ${IFNAMSIZ - 1} bytes): ${JSON.stringify(name)}`);
  const padded = Buffer.alloc(IFNAMSIZ);
  b.copy(padded);
  return padded;
}

function port(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`nftables: not a port (1-65535) for ${what}: ${n}`);
  return n;
}

const expr = (name: string, ...data: Buffer[]) => nest(NFTA_LIST_ELEM, attr(NFTA_EXPR.NAME, str(name)), nest(NFTA_EXPR.DATA, ...data));
const meta = (key: number, dreg: number) => expr('meta', attr(NFTA_META.KEY, be32(key)), attr(NFTA_META.DREG, be32(dreg)));
const cmpEq = (sreg: number, value: Buffer) => expr('cmp', attr(NFTA_CMP.SREG, be32(sreg)), attr(NFTA_CMP.OP, be32(NFT_CMP_EQ)), nest(NFTA_CMP.DATA, attr(NFTA_DATA.VALUE, value)));
const payload = (base: number, offset: number, len: number, dreg: number) =>
  expr('payload', attr(NFTA_PAYLOAD.DREG, be32(dreg)), attr(NFTA_PAYLOAD.BASE, be32(base)), attr(NFTA_PAYLOAD.OFFSET, be32(offset)), attr(NFTA_PAYLOAD.LEN, be32(len)));
const immediate = (dreg: number, value: Buffer) => expr('immediate', attr(NFTA_IMMEDIATE.DREG, be32(dreg)), nest(NFTA_IMMEDIATE.DATA, attr(NFTA_DATA.VALUE, value)));

interface Item {
  type: NftMsg;
  flags: number;
  body: Buffer; // attributes after the nfgenmsg
  what: unknown[]; // for errors
}

function items(rules: NatRules): Item[] {
  const t = rules.table;
  if (!t || Buffer.byteLength(t) > 255 || t.includes('\0')) throw new Error(`nftables: not a table name (1 to 255 bytes): ${JSON.stringify(t)}`);
  const table = `ip ${t}`;
  const out: Item[] = [{ type: NFT_MSG.NEWTABLE, flags: NLM_F.CREATE | NLM_F.EXCL, body: attr(NFTA_TABLE.NAME, str(t)), what: [table] }];
  const chain = (name: string, hook: number, prio: number) => {
    const body = Buffer.concat([
      attr(NFTA_CHAIN.TABLE, str(t)),
      attr(NFTA_CHAIN.NAME, str(name)),
      nest(NFTA_CHAIN.HOOK, attr(NFTA_HOOK.HOOKNUM, be32(hook)), attr(NFTA_HOOK.PRIORITY, be32(prio))),
      attr(NFTA_CHAIN.POLICY, be32(NF_ACCEPT)),
      attr(NFTA_CHAIN.TYPE, str('nat')),
    ]);
    out.push({ type: NFT_MSG.NEWCHAIN, flags: NLM_F.CREATE | NLM_F.EXCL, body, what: [table, name, `type nat hook ${name} priority ${prio}`] });
  };
  const rule = (chainName: string, text: string, exprs: Buffer[]) => {
    const body = Buffer.concat([attr(NFTA_RULE.TABLE, str(t)), attr(NFTA_RULE.CHAIN, str(chainName)), nest(NFTA_RULE.EXPRESSIONS, ...exprs)]);
    out.push({ type: NFT_MSG.NEWRULE, flags: NLM_F.CREATE | NLM_F.APPEND, body, what: [table, chainName, text] });
  };

  const publish = rules.publish ?? [];
  // Check everything before anything is built: a bad value is a plain Error, nothing sent.
  const masq = rules.masqueradeOut !== undefined ? ifname(rules.masqueradeOut) : null;
  const dnats = publish.map((p) => ({
    p,
    inIf: ifname(p.inIf),
    port: port(p.port, `${p.inIf} dport`),
    to: ipv4(p.to),
    toPort: port(p.toPort, `dnat to ${p.to}`),
  }));

  if (masq) chain('postrouting', NF_INET_POST_ROUTING, 100);
  if (dnats.length) chain('prerouting', NF_INET_PRE_ROUTING, -100);
  if (masq) rule('postrouting', `oifname "${rules.masqueradeOut}" masquerade`, [meta(NFT_META.OIFNAME, NFT_REG_1), cmpEq(NFT_REG_1, masq), expr('masq')]);
  for (const d of dnats) {
    rule('prerouting', `iifname "${d.p.inIf}" tcp dport ${d.port} dnat to ${d.p.to}:${d.toPort}`, [
      meta(NFT_META.IIFNAME, NFT_REG_1),
      cmpEq(NFT_REG_1, d.inIf),
      meta(NFT_META.L4PROTO, NFT_REG_1),
      cmpEq(NFT_REG_1, Buffer.from([IPPROTO_TCP])),
      payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
      cmpEq(NFT_REG_1, be16(d.port)),
      immediate(NFT_REG_1, d.to),
      immediate(NFT_REG_2, be16(d.toPort)),
      expr(
        'nat',
        attr(NFTA_NAT.TYPE, be32(NFT_NAT_DNAT)),
        attr(NFTA_NAT.FAMILY, be32(NFPROTO_IPV4)),
        attr(NFTA_NAT.REG_ADDR_MIN, be32(NFT_REG_1)),
        attr(NFTA_NAT.REG_PROTO_MIN, be32(NFT_REG_2)),
        attr(NFTA_NAT.FLAGS, be32(NF_NAT_RANGE_PROTO_SPECIFIED)),
      ),
    ]);
  }
  return out;
}

/** Wrap items in a batch: BEGIN at seqStart, item i at seqStart + 1 + i, END after them. */
function batch(list: Item[], seqStart: number): { buf: Buffer; seqs: Map<number, Item> } {
  const seqs = new Map<number, Item>();
  const parts = [message(NFNL_MSG_BATCH_BEGIN, NLM_F.REQUEST, seqStart, nfgenmsg(AF_UNSPEC, NFNL_SUBSYS_NFTABLES))];
  list.forEach((it, i) => {
    const seq = seqStart + 1 + i;
    seqs.set(seq, it);
    parts.push(message(nftType(it.type), NLM_F.REQUEST | NLM_F.ACK | it.flags, seq, Buffer.concat([nfgenmsg(NFPROTO_IPV4), it.body])));
  });
  parts.push(message(NFNL_MSG_BATCH_END, NLM_F.REQUEST, seqStart + 1 + list.length, nfgenmsg(AF_UNSPEC, NFNL_SUBSYS_NFTABLES)));
  return { buf: Buffer.concat(parts), seqs };
}

/** The whole applyNat transaction as bytes (pure): batch begin, table, chains, rules, batch end. */
export function natBatch(rules: NatRules, seqStart: number): Buffer {
  return batch(items(rules), seqStart).buf;
}

// ---- reading the kernel's answers (pure) ----
const align = (n: number) => (n + 3) & ~3;

/** All attributes of a range, in order (a list can repeat a type). */
function attrList(buf: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  for (let off = 0; off + 4 <= buf.length; ) {
    const len = buf.readUInt16LE(off);
    if (len < 4) break;
    out.push([buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len)]);
    off += align(len);
  }
  return out;
}
const cstr = (b: Buffer | undefined) => (b ? b.toString().replace(/\0.*$/s, '') : '');
const nested = (b: Buffer | undefined) => (b ? parseAttrs(b, 0, b.length) : new Map<number, Buffer>());
const n32 = (m: Map<number, Buffer>, type: number) => m.get(type)?.readUInt32BE(0);
const dataValue = (b: Buffer | undefined) => nested(b).get(NFTA_DATA.VALUE) ?? Buffer.alloc(0);

const VERDICTS: Record<number, string> = { 0: 'drop', 1: 'accept', [-1]: 'continue', [-2]: 'break', [-3]: 'jump', [-4]: 'goto', [-5]: 'return' };

/** One rule's expressions as nft would print them (for the expressions applyNat makes; others appear as [name]). */
export function describeExpressions(exprs: Buffer): string {
  type Reg = { kind: 'meta'; key: number } | { kind: 'payload'; base: number; offset: number; len: number } | { kind: 'value'; value: Buffer };
  const regs = new Map<number, Reg>();
  const words: string[] = [];
  let l4: number | null = null; // a pending `meta l4proto X` (folded into `tcp dport`)
  const flushL4 = () => {
    if (l4 !== null) words.push(`meta l4proto ${l4 === IPPROTO_TCP ? 'tcp' : l4 === 17 ? 'udp' : l4}`);
    l4 = null;
  };
  for (const [type, elem] of attrList(exprs)) {
    if (type !== NFTA_LIST_ELEM) continue;
    const e = nested(elem);
    const name = cstr(e.get(NFTA_EXPR.NAME));
    const d = nested(e.get(NFTA_EXPR.DATA));
    if (name === 'meta' && d.has(NFTA_META.DREG)) {
      regs.set(n32(d, NFTA_META.DREG)!, { kind: 'meta', key: n32(d, NFTA_META.KEY)! });
    } else if (name === 'payload' && d.has(NFTA_PAYLOAD.DREG)) {
      regs.set(n32(d, NFTA_PAYLOAD.DREG)!, { kind: 'payload', base: n32(d, NFTA_PAYLOAD.BASE)!, offset: n32(d, NFTA_PAYLOAD.OFFSET)!, len: n32(d, NFTA_PAYLOAD.LEN)! });
    } else if (name === 'immediate') {
      const dreg = n32(d, NFTA_IMMEDIATE.DREG)!;
      const data = nested(d.get(NFTA_IMMEDIATE.DATA));
      if (data.has(NFTA_DATA.VERDICT)) {
        flushL4();
        const code = nested(data.get(NFTA_DATA.VERDICT)).get(NFTA_VERDICT_CODE)?.readInt32BE(0) ?? 0;
        words.push(VERDICTS[code] ?? `verdict ${code}`);
      } else regs.set(dreg, { kind: 'value', value: data.get(NFTA_DATA.VALUE) ?? Buffer.alloc(0) });
    } else if (name === 'cmp') {
      const r = regs.get(n32(d, NFTA_CMP.SREG)!);
      const op = n32(d, NFTA_CMP.OP) === NFT_CMP_EQ ? '' : '!= ';
      const v = dataValue(d.get(NFTA_CMP.DATA));
      if (r?.kind === 'meta' && (r.key === NFT_META.IIFNAME || r.key === NFT_META.OIFNAME)) {
        flushL4();
        const nm = v.subarray(0, v.includes(0) ? v.indexOf(0) : v.length).toString();
        words.push(`${r.key === NFT_META.IIFNAME ? 'iifname' : 'oifname'} ${op}"${nm}${v.includes(0) ? '' : '*'}"`);
      } else if (r?.kind === 'meta' && r.key === NFT_META.L4PROTO && !op && v.length === 1) {
        flushL4();
        l4 = v.readUInt8(0);
      } else if (r?.kind === 'payload' && r.base === NFT_PAYLOAD_TRANSPORT_HEADER && r.len === 2 && (r.offset === 0 || r.offset === 2) && l4 !== null && v.length === 2) {
        const proto = l4 === IPPROTO_TCP ? 'tcp' : l4 === 17 ? 'udp' : `th`;
        l4 = null;
        words.push(`${proto} ${r.offset === 0 ? 'sport' : 'dport'} ${op}${v.readUInt16BE(0)}`);
      } else {
        flushL4();
        words.push(`[cmp ${op}0x${v.toString('hex')}]`);
      }
    } else if (name === 'nat') {
      flushL4();
      const val = (attrType: number) => {
        const reg = d.has(attrType) ? regs.get(n32(d, attrType)!) : undefined;
        return reg?.kind === 'value' ? reg.value : undefined;
      };
      const addr = val(NFTA_NAT.REG_ADDR_MIN);
      const proto = val(NFTA_NAT.REG_PROTO_MIN);
      const kind = n32(d, NFTA_NAT.TYPE) === NFT_NAT_SNAT ? 'snat' : 'dnat';
      const a = addr && addr.length >= 4 ? [...addr.subarray(0, 4)].join('.') : '';
      const p = proto && proto.length >= 2 ? `:${proto.readUInt16BE(0)}` : '';
      words.push(`${kind} to ${a}${p}`);
    } else if (name === 'masq') {
      flushL4();
      words.push('masquerade');
    } else {
      flushL4();
      words.push(`[${name}]`);
    }
  }
  flushL4();
  return words.join(' ');
}

// ---- the socket ----
export class Nftables {
  private fd: number;
  private seq = 1;

  /** Opens and binds a NETLINK_NETFILTER socket in the calling thread's network namespace. */
  constructor() {
    this.fd = openNetlink(NETLINK_NETFILTER);
  }

  close(): void {
    if (this.fd >= 0) c.close(this.fd);
    this.fd = -1;
  }

  /** One transaction (batch begin .. end): table ip <table>, chains, rules. All or nothing. */
  applyNat(rules: NatRules): void {
    this.transact(items(rules));
  }

  /** nft delete table ip NAME */
  deleteTable(name: string): void {
    this.transact([{ type: NFT_MSG.DELTABLE, flags: 0, body: attr(NFTA_TABLE.NAME, str(name)), what: [`ip ${name}`] }]);
  }

  /** Names of the tables of family ip. */
  tables(): string[] {
    return this.dump(NFT_MSG.GETTABLE, Buffer.alloc(0), ['ip']).map((m) => cstr(parseAttrs(m, 4, m.length).get(NFTA_TABLE.NAME)));
  }

  /** The rules of table ip TABLE, one line each: `chain: expressions` as nft would print them. */
  rules(table: string): string[] {
    return this.dump(NFT_MSG.GETRULE, attr(NFTA_RULE.TABLE, str(table)), [`ip ${table}`]).map((m) => {
      const a = parseAttrs(m, 4, m.length);
      return `${cstr(a.get(NFTA_RULE.CHAIN))}: ${describeExpressions(a.get(NFTA_RULE.EXPRESSIONS) ?? Buffer.alloc(0))}`;
    });
  }

  private send(msg: Buffer, name: string): void {
    if (this.fd < 0) throw new Error('nftables: socket is closed');
    if (Number(c.send(this.fd, msg, msg.length, 0)) < 0) throw new SyscallError('send', [name], errno());
  }

  /** Read one datagram; null when nothing is waiting (only with MSG_DONTWAIT). */
  private recv(buf: Uint8Array, flags: number, name: string): Buffer | null {
    const n = Number(c.recv(this.fd, buf, buf.length, flags));
    if (n < 0) {
      const e = errno();
      if (e === EAGAIN && flags & MSG_DONTWAIT) return null;
      throw recvError(name, e);
    }
    return Buffer.from(buf.subarray(0, n));
  }

  /**
   * Send a batch and read one ACK per message. The kernel answers every message (an error
   * for each one that failed, with that message's seq) and, if any failed, applies none.
   * The first failing message is reported.
   */
  private transact(list: Item[]): void {
    const seqStart = this.seq;
    this.seq += list.length + 2;
    const { buf: msg, seqs } = batch(list, seqStart);
    const first = list[0] ? MSG_NAMES[list[0].type] : 'batch';
    this.send(msg, first);
    const pending = new Set(seqs.keys());
    const errors = new Map<number, number>(); // seq -> errno
    const buf = new Uint8Array(65536);
    while (pending.size) {
      // Answers are queued while send() runs; once one error is in, read what is there and stop.
      const b = this.recv(buf, errors.size ? MSG_DONTWAIT : 0, first);
      if (!b) break;
      for (let off = 0; off + 16 <= b.length; ) {
        const len = b.readUInt32LE(off);
        if (len < 16) break;
        const mtype = b.readUInt16LE(off + 4);
        const mseq = b.readUInt32LE(off + 8);
        if (mtype === NLMSG_ERROR && mseq >= seqStart && mseq <= seqStart + list.length + 1) {
          const err = -b.readInt32LE(off + 16);
          pending.delete(mseq);
          if (err !== 0) errors.set(mseq, err);
          // An error on batch begin or end is about the batch as a whole.
          if (err !== 0 && !seqs.has(mseq)) pending.clear();
        }
        off += align(len);
      }
    }
    if (!errors.size) return;
    const seq = Math.min(...errors.keys());
    const it = seqs.get(seq);
    if (it) throw new SyscallError(`netlink ${MSG_NAMES[it.type]}`, it.what, errors.get(seq)!);
    throw new SyscallError(
      'netlink NFNL_MSG_BATCH',
      list.map((x) => MSG_NAMES[x.type]),
      errors.get(seq)!,
    );
  }

  /** A dump request for family ip; the reply messages, without netlink header. */
  private dump(type: NftMsg, attrs: Buffer, what: unknown[]): Buffer[] {
    const seq = this.seq++;
    const name = MSG_NAMES[type];
    this.send(message(nftType(type), NLM_F.REQUEST | NLM_F.DUMP, seq, Buffer.concat([nfgenmsg(NFPROTO_IPV4), attrs])), name);
    const replies: Buffer[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const b = this.recv(buf, 0, name)!;
      for (let off = 0; off + 16 <= b.length; ) {
        const len = b.readUInt32LE(off);
        if (len < 16) return replies;
        const mtype = b.readUInt16LE(off + 4);
        if (b.readUInt32LE(off + 8) === seq) {
          if (mtype === NLMSG_ERROR) {
            const err = -b.readInt32LE(off + 16);
            if (err === 0) return replies;
            throw new SyscallError(`netlink ${name}`, what, err);
          }
          if (mtype === NLMSG_DONE) return replies;
          if (mtype === nftType(type === NFT_MSG.GETTABLE ? NFT_MSG.NEWTABLE : NFT_MSG.NEWRULE)) replies.push(Buffer.from(b.subarray(off + 16, off + len)));
        }
        off += align(len);
      }
    }
  }
}
