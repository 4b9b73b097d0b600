// rtnetlink: links (veth, bridge), addresses and routes, spoken directly to the kernel over
// a NETLINK_ROUTE socket, the way iproute2's `ip` does. A netlink socket belongs to the
// network namespace of the thread that created it: the driver talks to the host's
// namespace; a container's is reached from a helper that first joined it (nsinit "net").
import { SyscallError, errno, sock as c, setReceiveTimeout } from './libc.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;

const EAGAIN = 11;

/** How long a netlink request may wait for the kernel's answer. The kernel answers at
 * once; without a limit a lost answer would freeze the workbook. */
export const NETLINK_TIMEOUT_MS = 10_000;

/** A failed recv(); EAGAIN on a blocking socket means the time limit passed. */
export function recvError(request: string, e: number): SyscallError {
  return new SyscallError('recv', e === EAGAIN ? [request, `no answer in ${NETLINK_TIMEOUT_MS / 1000} s`] : [request], e);
}

/** A netlink socket of `protocol`, bound, in the calling thread's network namespace. */
export function openNetlink(protocol: number, timeoutMs = NETLINK_TIMEOUT_MS): number {
  const label = protocol === NETLINK_ROUTE ? 'NETLINK_ROUTE' : protocol === NETLINK_NETFILTER ? 'NETLINK_NETFILTER' : String(protocol);
  const fd = Number(c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
  if (fd < 0) throw new SyscallError('socket', ['AF_NETLINK', 'SOCK_RAW', label], errno());
  const sa = Buffer.alloc(12);
  sa.writeUInt16LE(AF_NETLINK, 0);
  if (Number(c.bind(fd, sa, sa.length)) < 0) {
    const e = errno();
    c.close(fd);
    throw new SyscallError('bind', ['AF_NETLINK', label], e);
  }
  try {
    setReceiveTimeout(fd, timeoutMs);
  } catch (err) {
    c.close(fd);
    throw err;
  }
  return fd;
}

export const RTM = { NEWLINK: 16, DELLINK: 17, GETLINK: 18, NEWADDR: 20, GETADDR: 22, NEWROUTE: 24, GETNSID: 90 } as const;
type RtmType = (typeof RTM)[keyof typeof RTM];
const NLM_F = { REQUEST: 1, MULTI: 2, ACK: 4, EXCL: 0x200, CREATE: 0x400, DUMP: 0x300 } as const;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const IFLA = { ADDRESS: 1, IFNAME: 3, MTU: 4, LINK: 5, MASTER: 10, LINKINFO: 18, NET_NS_PID: 19, IFALIAS: 20, LINK_NETNSID: 37 } as const;
const NETNSA = { NSID: 1, PID: 2 } as const;
const IFLA_INFO = { KIND: 1, DATA: 2 } as const;
const VETH_INFO_PEER = 1;
const IFA = { ADDRESS: 1, LOCAL: 2 } as const;
const RTA = { DST: 1, OIF: 4, GATEWAY: 5 } as const;
export const IFF_UP = 1;
const AF_INET = 2;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;

const NAMES: Record<RtmType, string> = { 16: 'RTM_NEWLINK', 17: 'RTM_DELLINK', 18: 'RTM_GETLINK', 20: 'RTM_NEWADDR', 22: 'RTM_GETADDR', 24: 'RTM_NEWROUTE', 90: 'RTM_GETNSID' };

// ---- message building (pure) ----
const align = (n: number) => (n + 3) & ~3;

/** One rtattr: its type, then its payload, padded to 4 bytes. */
export function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const b = Buffer.alloc(align(len));
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}
const str = (s: string) => Buffer.from(s + '\0');
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const nest = (type: number, ...children: Buffer[]) => attr(type, Buffer.concat(children));

export function ifinfomsg(index = 0, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(0, 0); // AF_UNSPEC
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

export function message(type: number, flags: number, seq: number, body: Buffer): Buffer {
  const len = 16 + body.length;
  const h = Buffer.alloc(16);
  h.writeUInt32LE(len, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq, 8);
  h.writeUInt32LE(0, 12);
  return Buffer.concat([h, body]);
}

export function ipv4(addr: string): Buffer {
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${addr}`);
  return Buffer.from(parts);
}

export function parseCidr(cidr: string): { addr: string; prefix: number } {
  const [addr = '', p] = cidr.split('/');
  const prefix = Number(p ?? 32);
  ipv4(addr);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`not a prefix length: ${cidr}`);
  return { addr, prefix };
}

/** Parse the rtattrs of a message body into type -> payload (first one of each type). */
export function parseAttrs(buf: Buffer, start: number, end: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let off = start; off + 4 <= end; ) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4) break;
    if (!out.has(type)) out.set(type, buf.subarray(off + 4, off + len));
    off += align(len);
  }
  return out;
}

export interface Link {
  index: number;
  name: string;
  flags: number;
  up: boolean;
  master: number | null;
  kind: string | null;
  /** A veth's peer: its ifindex, in the peer's own network namespace. */
  peer: number | null;
  /** The id, in this socket's namespace, of the namespace the peer lives in (`ip link`'s
   * link-netnsid); null when the peer is in the same namespace, or the link has none. */
  peerNetnsId: number | null;
  /** `ip link set NAME alias TEXT`: the project marks the host links it makes. */
  alias: string | null;
}

export interface Address {
  index: number;
  addr: string;
  prefix: number;
}

// ---- the socket ----
export class Netlink {
  private fd: number;
  private seq = 1;

  constructor() {
    this.fd = openNetlink(NETLINK_ROUTE);
  }

  close(): void {
    if (this.fd >= 0) c.close(this.fd);
    this.fd = -1;
  }

  /** Send one request and read replies until its ACK (or DONE for a dump). */
  private request(type: RtmType, flags: number, body: Buffer, what: unknown[]): Buffer[] {
    const seq = this.seq++;
    const msg = message(type, flags | NLM_F.REQUEST | NLM_F.ACK, seq, body);
    if (Number(c.send(this.fd, msg, msg.length, 0)) < 0) throw new SyscallError('send', [NAMES[type]], errno());
    const replies: Buffer[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = Number(c.recv(this.fd, buf, buf.length, 0));
      if (n < 0) throw recvError(NAMES[type], errno());
      const b = Buffer.from(buf.subarray(0, n));
      for (let off = 0; off + 16 <= n; ) {
        const len = b.readUInt32LE(off);
        const mtype = b.readUInt16LE(off + 4);
        const mseq = b.readUInt32LE(off + 8);
        if (len < 16) return replies;
        if (mseq === seq) {
          if (mtype === NLMSG_ERROR) {
            const err = -b.readInt32LE(off + 16);
            if (err === 0) return replies;
            throw new SyscallError(`netlink ${NAMES[type]}`, what, err);
          }
          if (mtype === NLMSG_DONE) return replies;
          replies.push(Buffer.from(b.subarray(off + 16, off + len)));
        }
        off += align(len);
      }
    }
  }

  links(): Link[] {
    return this.request(RTM.GETLINK, NLM_F.DUMP, ifinfomsg(), ['dump']).map((m) => {
      const attrs = parseAttrs(m, 16, m.length);
      const info = attrs.get(IFLA.LINKINFO);
      const kind = info ? parseAttrs(info, 0, info.length).get(IFLA_INFO.KIND) : undefined;
      const flags = m.readUInt32LE(8);
      return {
        index: m.readInt32LE(4),
        name: attrs.get(IFLA.IFNAME)?.toString().replace(/\0.*$/s, '') ?? '?',
        flags,
        up: (flags & IFF_UP) !== 0,
        master: attrs.get(IFLA.MASTER)?.readUInt32LE(0) ?? null,
        kind: kind ? kind.toString().replace(/\0.*$/s, '') : null,
        peer: attrs.get(IFLA.LINK)?.readUInt32LE(0) ?? null,
        peerNetnsId: attrs.get(IFLA.LINK_NETNSID)?.readInt32LE(0) ?? null,
        alias: attrs.get(IFLA.IFALIAS)?.toString().replace(/\0.*$/s, '') ?? null,
      };
    });
  }

  index(name: string): number {
    const l = this.links().find((x) => x.name === name);
    if (!l) throw new SyscallError('netlink RTM_GETLINK', [name], 19 /* ENODEV */);
    return l.index;
  }

  addresses(): Address[] {
    const body = Buffer.alloc(8);
    body.writeUInt8(AF_INET, 0);
    return this.request(RTM.GETADDR, NLM_F.DUMP, body, ['dump']).map((m) => {
      const attrs = parseAttrs(m, 8, m.length);
      const a = attrs.get(IFA.LOCAL) ?? attrs.get(IFA.ADDRESS);
      return { index: m.readUInt32LE(4), addr: a ? [...a.subarray(0, 4)].join('.') : '?', prefix: m.readUInt8(1) };
    });
  }

  /** The id this namespace gives the network namespace of `pid` (`ip netns list-id`), or
   * null when it gave none. The kernel gives one as soon as a link here has its peer
   * there (a veth's other end), so a namespace without an id has no cable to this one.
   * Read only: this never makes an id. */
  netnsIdOf(pid: number): number | null {
    const [reply] = this.request(RTM.GETNSID, 0, Buffer.concat([Buffer.alloc(4), attr(NETNSA.PID, u32(pid))]), [`pid ${pid}`]);
    // struct rtgenmsg, padded to 4 bytes, then the attributes
    const id = reply ? parseAttrs(reply, 4, reply.length).get(NETNSA.NSID)?.readInt32LE(0) : undefined;
    return id === undefined || id < 0 ? null : id;
  }

  /** ip link add NAME type KIND (bridge, dummy...); a kind the kernel lacks is EOPNOTSUPP. */
  addLink(name: string, kind: string): void {
    const body = Buffer.concat([ifinfomsg(), attr(IFLA.IFNAME, str(name)), nest(IFLA.LINKINFO, attr(IFLA_INFO.KIND, str(kind)))]);
    this.request(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, body, [name, `type ${kind}`]);
  }

  /** ip link add NAME type bridge */
  addBridge(name: string): void {
    this.addLink(name, 'bridge');
  }

  /** ip link set NAME name NEWNAME (the link must be down) */
  rename(name: string, newName: string): void {
    const body = Buffer.concat([ifinfomsg(this.index(name)), attr(IFLA.IFNAME, str(newName))]);
    this.request(RTM.NEWLINK, 0, body, [name, `name ${newName}`]);
  }

  /** ip link set NAME alias TEXT */
  setAlias(name: string, alias: string): void {
    const body = Buffer.concat([ifinfomsg(this.index(name)), attr(IFLA.IFALIAS, str(alias))]);
    this.request(RTM.NEWLINK, 0, body, [name, `alias ${alias}`]);
  }

  /** ip link add NAME [netns PID] type veth peer name PEER [netns PEERPID]: each end made
   * in its own network namespace, or this socket's. */
  addVeth(name: string, peer: string, peerNetnsPid?: number, netnsPid?: number): void {
    const netns = (pid?: number) => (pid ? [attr(IFLA.NET_NS_PID, u32(pid))] : []);
    const peerMsg = Buffer.concat([ifinfomsg(), attr(IFLA.IFNAME, str(peer)), ...netns(peerNetnsPid)]);
    const body = Buffer.concat([ifinfomsg(), attr(IFLA.IFNAME, str(name)), ...netns(netnsPid), nest(IFLA.LINKINFO, attr(IFLA_INFO.KIND, str('veth')), nest(IFLA_INFO.DATA, attr(VETH_INFO_PEER, peerMsg)))]);
    this.request(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, body, [name, ...(netnsPid ? [`netns ${netnsPid}`] : []), `type veth peer name ${peer}`, ...(peerNetnsPid ? [`netns ${peerNetnsPid}`] : [])]);
  }

  /** ip link set NAME up|down */
  setUp(name: string, up = true): void {
    const body = ifinfomsg(this.index(name), up ? IFF_UP : 0, IFF_UP);
    this.request(RTM.NEWLINK, 0, body, [name, up ? 'up' : 'down']);
  }

  /** ip link set NAME master BRIDGE */
  setMaster(name: string, bridge: string): void {
    const body = Buffer.concat([ifinfomsg(this.index(name)), attr(IFLA.MASTER, u32(this.index(bridge)))]);
    this.request(RTM.NEWLINK, 0, body, [name, `master ${bridge}`]);
  }

  /** ip link set NAME netns PID */
  setNetns(name: string, pid: number): void {
    const body = Buffer.concat([ifinfomsg(this.index(name)), attr(IFLA.NET_NS_PID, u32(pid))]);
    this.request(RTM.NEWLINK, 0, body, [name, `netns ${pid}`]);
  }

  /** ip link del NAME */
  delete(name: string): void {
    this.request(RTM.DELLINK, 0, ifinfomsg(this.index(name)), [name]);
  }

  /** ip addr add CIDR dev NAME */
  addAddress(name: string, cidr: string): void {
    const { addr, prefix } = parseCidr(cidr);
    const body = Buffer.alloc(8);
    body.writeUInt8(AF_INET, 0);
    body.writeUInt8(prefix, 1);
    body.writeUInt32LE(this.index(name), 4);
    this.request(RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, Buffer.concat([body, attr(IFA.LOCAL, ipv4(addr)), attr(IFA.ADDRESS, ipv4(addr))]), [cidr, `dev ${name}`]);
  }

  /** ip route add default via GATEWAY */
  addDefaultRoute(gateway: string): void {
    const rt = Buffer.alloc(12);
    rt.writeUInt8(AF_INET, 0);
    rt.writeUInt8(0, 1); // dst_len 0: default
    rt.writeUInt8(RT_TABLE_MAIN, 4);
    rt.writeUInt8(RTPROT_BOOT, 5);
    rt.writeUInt8(RT_SCOPE_UNIVERSE, 6);
    rt.writeUInt8(RTN_UNICAST, 7);
    this.request(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.EXCL, Buffer.concat([rt, attr(RTA.GATEWAY, ipv4(gateway))]), ['default', `via ${gateway}`]);
  }
}
