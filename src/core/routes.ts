// IPv4 routes as the kernel lists them in /proc/<pid>/net/route (the routing table of that
// process's network namespace), and the arithmetic to pick a subnet that collides with none.
import fs from 'node:fs';
import { t } from '../i18n/messages.js';

export interface Route {
  iface: string;
  /** Network address, dotted. */
  dest: string;
  prefix: number;
  /** Next hop, or null for an on-link route. */
  gateway: string | null;
}

/** /proc/net/route holds addresses as little-endian hex words. */
function hexAddr(h: string): string {
  const n = parseInt(h, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

export function toInt(addr: string): number {
  // A missing octet counts as 0, as `undefined << n` did.
  const [a = 0, b = 0, c = 0, d = 0] = addr.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function fromInt(n: number): string {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

const maskOf = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export function parseRouteTable(text: string): Route[] {
  const out: Route[] = [];
  for (const line of text.split('\n').slice(1)) {
    // Iface Destination Gateway Flags RefCnt Use Metric Mask ...; a shorter line is no route.
    const [iface, dest, gateway, , , , , mask] = line.trim().split(/\s+/);
    if (iface === undefined || dest === undefined || gateway === undefined || mask === undefined) continue;
    out.push({ iface, dest: hexAddr(dest), prefix: popcount(toInt(hexAddr(mask))), gateway: gateway === '00000000' ? null : hexAddr(gateway) });
  }
  return out;
}

function popcount(n: number): number {
  let c = 0;
  for (let x = n >>> 0; x; x >>>= 1) c += x & 1;
  return c;
}

/** The routes of the network namespace `pid` is in ('self': the caller's). */
export function readRoutes(pid: number | 'self' = 'self'): Route[] {
  return parseRouteTable(fs.readFileSync(`/proc/${pid}/net/route`, 'utf8'));
}

export function parseSubnet(cidr: string): { network: string; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || m.slice(1, 5).some((x) => Number(x) > 255) || Number(m[5]) > 30 || Number(m[5]) < 8) {
    throw new Error(t`not a subnet: ${cidr} (write it like 10.99.0.0/24, prefix 8 to 30)`);
  }
  const prefix = Number(m[5]);
  return { network: fromInt(toInt(m.slice(1, 5).join('.')) & maskOf(prefix)), prefix };
}

/** Do two networks share any address? */
export function overlaps(a: { dest: string; prefix: number }, b: { dest: string; prefix: number }): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (toInt(a.dest) & maskOf(p)) === (toInt(b.dest) & maskOf(p));
}

export function inSubnet(addr: string, subnet: { network: string; prefix: number }): boolean {
  return (toInt(addr) & maskOf(subnet.prefix)) === toInt(subnet.network);
}

/** Routes (other than the default route, and other than those on `ignoreIface`) that share
 * addresses with `cidr`. */
export function collisions(cidr: string, routes: Route[], ignoreIface?: string): Route[] {
  const s = parseSubnet(cidr);
  return routes.filter((r) => r.prefix > 0 && r.iface !== ignoreIface && overlaps({ dest: s.network, prefix: s.prefix }, r));
}

export const describeRoute = (r: Route) => `${r.dest}/${r.prefix}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.iface}`;

/** The n-th host address of a subnet (1: the first). */
export function hostAddress(cidr: string, n: number): string {
  const s = parseSubnet(cidr);
  return fromInt(toInt(s.network) + n);
}
