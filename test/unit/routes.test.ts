// Pure logic of lesson 6: the route table format, subnet arithmetic, the subnet the lesson
// picks around the host's routes, and the ICMP checksum.
import { describe, it, expect, afterEach } from 'vitest';
import { parseRouteTable, collisions, parseSubnet, inSubnet, hostAddress, type Route } from '../../src/core/routes.js';
import { networkPlan, SUBNET_VAR } from '../../src/lessons/06-network.js';
import { checksum, echoRequest } from '../../src/core/icmp.js';

const TABLE = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	010200C0	0003	0	0	0	00000000	0	0	0
eth0	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
docker0	000011AC	00000000	0001	0	0	0	0000FFFF	0	0	0
`;

describe('routes', () => {
  it('parses /proc/net/route', () => {
    expect(parseRouteTable(TABLE)).toEqual([
      { iface: 'eth0', dest: '0.0.0.0', prefix: 0, gateway: '192.0.2.1' },
      { iface: 'eth0', dest: '192.0.2.0', prefix: 24, gateway: null },
      { iface: 'docker0', dest: '172.17.0.0', prefix: 16, gateway: null },
    ]);
  });

  it('finds collisions, but not with the default route or the ignored link', () => {
    const routes = parseRouteTable(TABLE);
    expect(collisions('10.99.0.0/24', routes)).toEqual([]);
    expect(collisions('172.17.5.0/24', routes).map((r) => r.iface)).toEqual(['docker0']);
    expect(collisions('172.0.0.0/8', routes).map((r) => r.iface)).toEqual(['docker0']);
    expect(collisions('172.17.5.0/24', routes, 'docker0')).toEqual([]);
  });

  it('does subnet arithmetic', () => {
    expect(parseSubnet('10.99.0.77/24')).toEqual({ network: '10.99.0.0', prefix: 24 });
    expect(() => parseSubnet('10.99.0/24')).toThrow(/not a subnet/);
    expect(() => parseSubnet('10.99.0.0/31')).toThrow(/prefix 8 to 30/);
    expect(inSubnet('10.99.0.5', { network: '10.99.0.0', prefix: 24 })).toBe(true);
    expect(inSubnet('10.98.0.5', { network: '10.99.0.0', prefix: 24 })).toBe(false);
    expect(hostAddress('10.99.0.0/24', 1)).toBe('10.99.0.1');
  });
});

describe('the subnet lesson 6 picks', () => {
  afterEach(() => {
    delete process.env[SUBNET_VAR];
  });
  const route = (dest: string, prefix: number, iface = 'eth0'): Route => ({ iface, dest, prefix, gateway: null });

  it('skips subnets the host uses, and counts its own bridge as free', () => {
    expect(networkPlan([route('10.99.0.0', 24)]).subnet).toBe('10.199.0.0/24');
    expect(networkPlan([route('10.0.0.0', 8)]).subnet).toBe('172.29.99.0/24');
    const own = networkPlan([route('10.99.0.0', 24, 'clbr0')]);
    expect(own).toMatchObject({ subnet: '10.99.0.0/24', gateway: '10.99.0.1', problem: undefined });
    expect(own.address(1)).toBe('10.99.0.2');
    expect(own.address(2)).toBe('10.99.0.3');
  });

  it('says what to do when every subnet is taken, or the chosen one collides', () => {
    const all = networkPlan([route('0.0.0.0', 1), route('128.0.0.0', 1)]);
    expect(all.problem?.message).toMatch(/every subnet lesson 6 would use .* collides with a host route/);
    expect(all.problem?.hint).toMatch(/CONTAINER_LESSONS_SUBNET=/);
    process.env[SUBNET_VAR] = '192.0.2.0/24';
    const hit = networkPlan([route('192.0.2.0', 24)]);
    expect(hit.problem?.message).toMatch(/192\.0\.2\.0\/24 \(CONTAINER_LESSONS_SUBNET\) collides with the host route 192\.0\.2\.0\/24 dev eth0/);
    expect(hit.problem?.hint).toMatch(/CONTAINER_LESSONS_SUBNET=10\.99\.0\.0\/24/);
    process.env[SUBNET_VAR] = 'ten.0.0.0/24';
    expect(networkPlan([]).problem?.message).toMatch(/not a subnet/);
    process.env[SUBNET_VAR] = '10.123.0.9/24';
    expect(networkPlan([route('192.0.2.0', 24)])).toMatchObject({ subnet: '10.123.0.0/24', gateway: '10.123.0.1', problem: undefined });
  });
});

describe('ICMP', () => {
  it('checksums as RFC 1071 says: a message with its checksum sums to zero', () => {
    const req = echoRequest(0x1234, 1);
    expect(req[0]).toBe(8);
    expect(checksum(req)).toBe(0);
    expect(checksum(Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(~0xddf2 & 0xffff);
  });
});
