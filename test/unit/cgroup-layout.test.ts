import { describe, it, expect } from 'vitest';
import { detectLayout, parseCpuMax, cpuFiles } from '../../src/core/cgroup.js';
import { parseMountinfo } from '../../src/core/procfs.js';

const line = (id: number, mp: string, type: string, opts: string) => `${id} 1 0:${id} / ${mp} rw,nosuid - ${type} ${type} ${opts}`;

describe('detectLayout', () => {
  it('v2 only (Ubuntu 22.04+, Debian 12, Fedora)', () => {
    const l = detectLayout(parseMountinfo(line(30, '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate,memory_recursiveprot')), () => ['cpuset', 'cpu', 'io', 'memory', 'pids']);
    expect(l.mode).toBe('v2');
    expect(l.cpu).toEqual({ version: 2, mountPoint: '/sys/fs/cgroup' });
    expect(l.cpuacct).toBeNull();
  });

  it('hybrid (v1 controllers plus an empty cgroup2 mount): cpu is v1', () => {
    const mi = [
      line(30, '/sys/fs/cgroup/unified', 'cgroup2', 'rw'),
      line(31, '/sys/fs/cgroup/systemd', 'cgroup', 'rw,xattr,name=systemd'),
      line(32, '/sys/fs/cgroup/cpu', 'cgroup', 'rw,cpu'),
      line(33, '/sys/fs/cgroup/cpuacct', 'cgroup', 'rw,cpuacct'),
    ].join('\n');
    const l = detectLayout(parseMountinfo(mi), () => []);
    expect(l.mode).toBe('hybrid');
    expect(l.cpu).toEqual({ version: 1, mountPoint: '/sys/fs/cgroup/cpu' });
    expect(l.cpuacct).toBe('/sys/fs/cgroup/cpuacct');
    expect(l.v1.map((h) => h.controllers)).toEqual([['cpu'], ['cpuacct']]);
  });

  it('v1 with cpu and cpuacct co-mounted (Ubuntu 20.04)', () => {
    const l = detectLayout(parseMountinfo(line(32, '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct')), () => []);
    expect(l.mode).toBe('v1');
    expect(l.cpu).toEqual({ version: 1, mountPoint: '/sys/fs/cgroup/cpu,cpuacct' });
    expect(l.cpuacct).toBeNull();
  });

  it('v2 without the cpu controller has no cpu hierarchy', () => {
    const l = detectLayout(parseMountinfo(line(30, '/sys/fs/cgroup', 'cgroup2', 'rw')), () => ['memory', 'pids']);
    expect(l.mode).toBe('v2');
    expect(l.cpu).toBeNull();
  });

  it('no cgroups at all', () => {
    expect(detectLayout(parseMountinfo(line(1, '/', 'ext4', 'rw')), () => []).mode).toBe('none');
  });
});

describe('cpu.max and file names', () => {
  it('parses limits', () => {
    expect(parseCpuMax('20000 100000\n')).toEqual({ quotaUs: 20000, periodUs: 100000 });
    expect(parseCpuMax('max 100000')).toEqual({ quotaUs: null, periodUs: 100000 });
  });
  it('maps v1 and v2 names in one place', () => {
    expect(cpuFiles(1).quota).toBe('cpu.cfs_quota_us');
    expect(cpuFiles(2).quota).toBe('cpu.max');
  });
});
