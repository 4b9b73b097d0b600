// ping, spoken directly: an ICMP echo request on a raw socket, and the echo reply read
// back. The socket belongs to the network namespace of the thread that opens it, so a
// helper that joined a container's namespace pings from inside the container, whatever
// tools its root filesystem has. Blocking calls: only helpers (nsinit) use this.
import { SyscallError, errno, errnoName, sock as c, setReceiveTimeout } from './libc.js';
import { ipv4 } from './netlink.js';

const AF_INET = 2;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const IPPROTO_ICMP = 1;
const EAGAIN = 11;
const EINTR = 4;

export interface PingResult {
  to: string;
  /** An echo reply came back from `to`. */
  ok: boolean;
  rttMs?: number;
  /** Why not: "no answer within N ms", or the errno of sendto (ENETUNREACH: no route). */
  error?: string;
}

/** The internet checksum (RFC 1071) over an ICMP message. */
export function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b.readUInt8(b.length - 1) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

export function echoRequest(id: number, seq: number, payload = Buffer.from('container-lessons')): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b.writeUInt8(8, 0); // echo request
  b.writeUInt16BE(id & 0xffff, 4);
  b.writeUInt16BE(seq & 0xffff, 6);
  payload.copy(b, 8);
  b.writeUInt16BE(checksum(b), 2);
  return b;
}

function sockaddr(addr: string): Buffer {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  ipv4(addr).copy(sa, 4);
  return sa;
}

/** Send up to `count` echo requests to `to`, one at a time, each waiting `waitMs` for its reply. */
export function ping(to: string, opts: { count?: number; waitMs?: number } = {}): PingResult {
  const count = opts.count ?? 3;
  const waitMs = opts.waitMs ?? 500;
  const fd = Number(c.socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (fd < 0) throw new SyscallError('socket', ['AF_INET', 'SOCK_RAW', 'IPPROTO_ICMP'], errno());
  try {
    setReceiveTimeout(fd, waitMs);
    const id = process.pid & 0xffff;
    const target = ipv4(to);
    let lastError = `no answer within ${waitMs} ms`;
    for (let seq = 1; seq <= count; seq++) {
      const req = echoRequest(id, seq);
      const sa = sockaddr(to);
      const t0 = process.hrtime.bigint();
      if (Number(c.sendto(fd, req, req.length, 0, sa, 16)) < 0) {
        const e = errno();
        lastError = `sendto ${to}: ${errnoName(e)}${e === 101 ? ' (no route to that network)' : ''}`;
        continue;
      }
      const deadline = t0 + BigInt(waitMs) * 1_000_000n;
      const buf = Buffer.alloc(1500);
      while (process.hrtime.bigint() < deadline) {
        const n = Number(c.recv(fd, buf, buf.length, 0));
        if (n < 0) {
          const e = errno();
          if (e === EAGAIN) break;
          if (e === EINTR) continue;
          throw new SyscallError('recv', [to], e);
        }
        // A raw socket hands over the IP header too, and every ICMP message of the namespace.
        const ihl = (buf.readUInt8(0) & 0x0f) * 4;
        if (n < ihl + 8) continue;
        const type = buf[ihl];
        if (type !== 0 || buf.readUInt16BE(ihl + 4) !== id || buf.readUInt16BE(ihl + 6) !== seq) continue;
        if (!buf.subarray(12, 16).equals(target)) continue;
        return { to, ok: true, rttMs: Number(process.hrtime.bigint() - t0) / 1e6 };
      }
    }
    return { to, ok: false, error: lastError };
  } finally {
    c.close(fd);
  }
}
