import { describe, it, expect } from 'vitest';
import { parseMountinfo, parseNSpid, parseNetDev, parseProcCgroup, sharedPeerGroup, unescapeMountField, statusField } from '../../src/core/procfs.js';

const MOUNTINFO = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
64 22 0:40 / /proc rw,nosuid,nodev,noexec,relatime shared:12 master:3 - proc proc rw
90 22 0:55 / /home/a\\040b/merged rw,relatime - overlay overlay rw,lowerdir=/l2:/l1,upperdir=/u,workdir=/w
`;

describe('parseMountinfo', () => {
  const all = parseMountinfo(MOUNTINFO);
  const m = (i: number) => all[i] ?? expect.unreachable(`no mount ${i}`);
  it('reads every field, with optional fields and escapes', () => {
    expect(all).toHaveLength(3);
    expect(m(0)).toMatchObject({ id: 22, parent: 1, mountPoint: '/', fstype: 'ext4', source: '/dev/vda', optional: ['shared:1'] });
    expect(m(1).optional).toEqual(['shared:12', 'master:3']);
    expect(m(2).mountPoint).toBe('/home/a b/merged');
    expect(m(2).superOptions).toContain('lowerdir=/l2:/l1');
  });
  it('finds shared peer groups and not private mounts', () => {
    expect(sharedPeerGroup(m(0))).toBe(1);
    expect(sharedPeerGroup(m(1))).toBe(12);
    expect(sharedPeerGroup(m(2))).toBeNull();
  });
  it('refuses a line cut short, naming it', () => {
    expect(() => parseMountinfo('22 1 254:0 / - ext4 /dev/vda rw')).toThrow('mountinfo: not a mount line: 22 1 254:0 / - ext4 /dev/vda rw');
  });
  it('unescapes octal', () => {
    expect(unescapeMountField('a\\011b\\134c')).toBe('a\tb\\c');
  });
});

describe('status parsing', () => {
  const status = 'Name:\tsh\nPid:\t4242\nNSpid:\t4242\t7\t1\n';
  it('NSpid lists the pid in every namespace, outermost first', () => {
    expect(parseNSpid(status)).toEqual([4242, 7, 1]);
    expect(parseNSpid('Name:\tx\n')).toBeNull();
  });
  it('fields', () => {
    expect(statusField(status, 'Name')).toBe('sh');
    expect(statusField(status, 'Nope')).toBeNull();
  });
});

describe('parseNetDev', () => {
  it('lists interface names', () => {
    const text = `Inter-|   Receive |  Transmit
 face |bytes    packets|bytes
    lo:       0       0
  eth0: 1234 5
veth-a1: 0 0
`;
    expect(parseNetDev(text)).toEqual(['lo', 'eth0', 'veth-a1']);
  });
});

describe('parseProcCgroup', () => {
  it('reads v1 and v2 lines', () => {
    expect(parseProcCgroup('4:cpu,cpuacct:/container\n1:name=systemd:/\n0::/user.slice\n')).toEqual([
      { hierarchy: 4, controllers: ['cpu', 'cpuacct'], path: '/container' },
      { hierarchy: 1, controllers: ['name=systemd'], path: '/' },
      { hierarchy: 0, controllers: [], path: '/user.slice' },
    ]);
  });
});
