import { describe, it, expect } from 'vitest';
import { detectLayout, parseCpuMax, parseLimit, parseKeyValues, cgroupFileName, CGROUP_FILES, Cgroup } from '../../src/core/cgroup.js';
import { parseMountinfo } from '../../src/core/procfs.js';

const line = (id: number, mp: string, type: string, opts: string) => `${id} 1 0:${id} / ${mp} rw,nosuid - ${type} ${type} ${opts}`;

const V2 = detectLayout(parseMountinfo(line(30, '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate,memory_recursiveprot')), () => ['cpuset', 'cpu', 'io', 'memory', 'pids']);
const HYBRID = detectLayout(
  parseMountinfo(
    [
      line(30, '/sys/fs/cgroup/unified', 'cgroup2', 'rw'),
      line(31, '/sys/fs/cgroup/systemd', 'cgroup', 'rw,xattr,name=systemd'),
      line(32, '/sys/fs/cgroup/cpu', 'cgroup', 'rw,cpu'),
      line(33, '/sys/fs/cgroup/cpuacct', 'cgroup', 'rw,cpuacct'),
      line(34, '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
      line(35, '/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'),
    ].join('\n'),
  ),
  () => [],
);

describe('detectLayout', () => {
  it('v2 only (Ubuntu 22.04+, Debian 12, Fedora): every controller in the one hierarchy', () => {
    expect(V2.mode).toBe('v2');
    for (const c of ['cpu', 'memory', 'pids'] as const) expect(V2.controllers[c]).toEqual({ version: 2, mountPoint: '/sys/fs/cgroup' });
    expect(V2.cpuacct).toBeNull();
  });

  it('hybrid (v1 controllers plus an empty cgroup2 mount): each controller in its own v1 hierarchy', () => {
    expect(HYBRID.mode).toBe('hybrid');
    expect(HYBRID.controllers.cpu).toEqual({ version: 1, mountPoint: '/sys/fs/cgroup/cpu' });
    expect(HYBRID.controllers.memory).toEqual({ version: 1, mountPoint: '/sys/fs/cgroup/memory' });
    expect(HYBRID.controllers.pids).toEqual({ version: 1, mountPoint: '/sys/fs/cgroup/pids' });
    expect(HYBRID.cpuacct).toBe('/sys/fs/cgroup/cpuacct');
    expect(HYBRID.v1.map((h) => h.controllers)).toEqual([['cpu'], ['cpuacct'], ['memory'], ['pids']]);
  });

  it('hybrid with a controller left to cgroup2: that one is v2, the rest v1', () => {
    const l = detectLayout(parseMountinfo([line(30, '/sys/fs/cgroup/unified', 'cgroup2', 'rw'), line(32, '/sys/fs/cgroup/cpu', 'cgroup', 'rw,cpu')].join('\n')), () => ['memory']);
    expect(l.controllers.cpu).toEqual({ version: 1, mountPoint: '/sys/fs/cgroup/cpu' });
    expect(l.controllers.memory).toEqual({ version: 2, mountPoint: '/sys/fs/cgroup/unified' });
    expect(l.controllers.pids).toBeUndefined();
  });

  it('v1 with cpu and cpuacct co-mounted (Ubuntu 20.04)', () => {
    const l = detectLayout(parseMountinfo(line(32, '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct')), () => []);
    expect(l.mode).toBe('v1');
    expect(l.controllers.cpu).toEqual({ version: 1, mountPoint: '/sys/fs/cgroup/cpu,cpuacct' });
    expect(l.cpuacct).toBeNull();
  });

  it('v2 without the cpu controller has no cpu hierarchy, and a group on it says why', () => {
    const l = detectLayout(parseMountinfo(line(30, '/sys/fs/cgroup', 'cgroup2', 'rw')), () => ['memory', 'pids']);
    expect(l.mode).toBe('v2');
    expect(l.controllers.cpu).toBeUndefined();
    expect(() => new Cgroup('x', ['cpu'], l)).toThrow(/no cgroup hierarchy with the cpu controller/);
  });

  it('no cgroups at all', () => {
    expect(detectLayout(parseMountinfo(line(1, '/', 'ext4', 'rw')), () => []).mode).toBe('none');
  });
});

describe('a group over several controllers', () => {
  it('v2: one directory holds every file', () => {
    const g = new Cgroup('box', ['memory', 'pids'], V2);
    expect(g.dirs).toEqual(['/sys/fs/cgroup/box']);
    expect(g.file('memoryMax')).toBe('/sys/fs/cgroup/box/memory.max');
    expect(g.file('memoryEvents')).toBe('/sys/fs/cgroup/box/memory.events');
    expect(g.file('pidsMax')).toBe('/sys/fs/cgroup/box/pids.max');
    expect(g.procsFiles()).toEqual(['/sys/fs/cgroup/box/cgroup.procs']);
  });
  it("v1: a directory per hierarchy, each file in its controller's, joined in all of them", () => {
    const g = new Cgroup('box', ['memory', 'pids'], HYBRID);
    expect(g.dirs).toEqual(['/sys/fs/cgroup/memory/box', '/sys/fs/cgroup/pids/box']);
    expect(g.dir).toBe('/sys/fs/cgroup/memory/box');
    expect(g.file('memoryMax')).toBe('/sys/fs/cgroup/memory/box/memory.limit_in_bytes');
    expect(g.file('memorySwapMax')).toBe('/sys/fs/cgroup/memory/box/memory.memsw.limit_in_bytes');
    expect(g.file('pidsMax')).toBe('/sys/fs/cgroup/pids/box/pids.max');
    expect(g.procsFiles()).toEqual(['/sys/fs/cgroup/memory/box/cgroup.procs', '/sys/fs/cgroup/pids/box/cgroup.procs']);
  });
  it('v1 cpu: the cpuacct twin joins too', () => {
    const g = new Cgroup('box', ['cpu'], HYBRID);
    expect(g.acctDir).toBe('/sys/fs/cgroup/cpuacct/box');
    expect(g.procsFiles()).toEqual(['/sys/fs/cgroup/cpu/box/cgroup.procs', '/sys/fs/cgroup/cpuacct/box/cgroup.procs']);
    expect(g.file('cpuQuota')).toBe('/sys/fs/cgroup/cpu/box/cpu.cfs_quota_us');
  });
  it('names no controller: refused', () => {
    expect(() => new Cgroup('box', [], V2)).toThrow(/names no controller/);
  });
});

describe('file names and values', () => {
  it('parses limits', () => {
    expect(parseCpuMax('20000 100000\n')).toEqual({ quotaUs: 20000, periodUs: 100000 });
    expect(parseCpuMax('max 100000')).toEqual({ quotaUs: null, periodUs: 100000 });
    expect(parseLimit('max\n')).toBeNull();
    expect(parseLimit('-1')).toBeNull();
    expect(parseLimit('9223372036854771712')).toBeNull(); // v1's "no memory limit"
    expect(parseLimit('67108864')).toBe(67108864);
    expect(parseKeyValues('low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n')).toEqual({ low: 0, high: 0, max: 3, oom: 1, oom_kill: 1 });
  });
  it('maps v1 and v2 names in one place', () => {
    expect(cgroupFileName('cpuQuota', 1)).toBe('cpu.cfs_quota_us');
    expect(cgroupFileName('cpuQuota', 2)).toBe('cpu.max');
    expect(cgroupFileName('memoryMax', 1)).toBe('memory.limit_in_bytes');
    expect(cgroupFileName('memoryMax', 2)).toBe('memory.max');
    expect(cgroupFileName('threads', 1)).toBe('tasks');
    // A name differs between versions only inside its controller's prefix.
    for (const [key, f] of Object.entries(CGROUP_FILES)) if (f.controller) for (const n of [f.v1, f.v2]) expect(n.startsWith(`${f.controller}.`), key).toBe(true);
  });
});
