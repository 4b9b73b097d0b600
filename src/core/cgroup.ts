// cgroups behind one interface. The layout is detected once from mountinfo:
//   v2      one cgroup2 hierarchy carries the controllers (cpu.max, cgroup.procs, cpu.stat)
//   v1      one cgroup (v1) hierarchy per controller (cpu.cfs_quota_us, tasks, cpuacct.usage)
//   hybrid  v1 controller hierarchies plus a cgroup2 mount that carries no controllers;
//           the cpu controller is a v1 one, so it is driven exactly like v1
// The file names that differ between versions are mapped in this file only.
import fs from 'node:fs';
import path from 'node:path';
import { parseMountinfo, type MountInfo } from './procfs.js';
import type { Ledger } from './ledger.js';

export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'none';

export interface CgroupLayout {
  mode: CgroupMode;
  /** Where the cgroup2 hierarchy is mounted, if any. */
  v2Mount: string | null;
  /** Controllers the cgroup2 hierarchy offers (its cgroup.controllers). */
  v2Controllers: string[];
  /** Every v1 hierarchy: its mount point and controllers. */
  v1: Array<{ mountPoint: string; controllers: string[] }>;
  /** Where CPU quota is set: a v1 hierarchy with "cpu", or the v2 one. */
  cpu: { version: 1 | 2; mountPoint: string } | null;
  /** A separate v1 cpuacct hierarchy (usage counters), when it is not co-mounted with cpu. */
  cpuacct: string | null;
}

const V1_NAMED = /^name=/;

/** Pure: the layout from mountinfo entries and a reader for a cgroup2 mount's cgroup.controllers. */
export function detectLayout(mounts: MountInfo[], readV2Controllers: (mountPoint: string) => string[]): CgroupLayout {
  const v1: CgroupLayout['v1'] = [];
  let v2Mount: string | null = null;
  for (const m of mounts) {
    if (m.fstype === 'cgroup2' && v2Mount === null) v2Mount = m.mountPoint;
    if (m.fstype === 'cgroup') {
      const controllers = m.superOptions.split(',').filter((o) => !['rw', 'ro'].includes(o) && !V1_NAMED.test(o) && !o.includes('='));
      const known = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio', 'perf_event', 'hugetlb', 'pids', 'rdma', 'misc'];
      const ctl = controllers.filter((o) => known.includes(o));
      if (ctl.length) v1.push({ mountPoint: m.mountPoint, controllers: ctl });
    }
  }
  const v2Controllers = v2Mount ? readV2Controllers(v2Mount) : [];
  let mode: CgroupMode = 'none';
  if (v1.length && v2Mount) mode = 'hybrid';
  else if (v1.length) mode = 'v1';
  else if (v2Mount) mode = 'v2';

  let cpu: CgroupLayout['cpu'] = null;
  const v1cpu = v1.find((h) => h.controllers.includes('cpu'));
  if (v1cpu) cpu = { version: 1, mountPoint: v1cpu.mountPoint };
  else if (v2Mount && v2Controllers.includes('cpu')) cpu = { version: 2, mountPoint: v2Mount };
  const v1acct = v1.find((h) => h.controllers.includes('cpuacct'));
  const cpuacct = v1acct && v1acct.mountPoint !== v1cpu?.mountPoint ? v1acct.mountPoint : null;
  return { mode, v2Mount, v2Controllers, v1, cpu, cpuacct };
}

function readControllersFile(mountPoint: string): string[] {
  try {
    return fs.readFileSync(path.join(mountPoint, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

let cached: CgroupLayout | null = null;
/** The host's layout, detected once per process. */
export function cgroupLayout(): CgroupLayout {
  if (!cached) cached = detectLayout(parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')), readControllersFile);
  return cached;
}

export class CgroupError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'CgroupError';
  }
}

export interface CpuStat {
  /** Total CPU time used by the group, in microseconds, when the kernel reports it. */
  usageUs: number | null;
  nrPeriods: number;
  nrThrottled: number;
  throttledUs: number;
}

export interface CpuLimit {
  quotaUs: number | null; // null = no limit ("max" / -1)
  periodUs: number;
}

/** The names of the files, as a learner would type them, for this layout. */
export function cpuFiles(version: 1 | 2) {
  return version === 1
    ? { quota: 'cpu.cfs_quota_us', period: 'cpu.cfs_period_us', procs: 'cgroup.procs', tasks: 'tasks', stat: 'cpu.stat' }
    : { quota: 'cpu.max', period: 'cpu.max', procs: 'cgroup.procs', tasks: 'cgroup.threads', stat: 'cpu.stat' };
}

function writeFile(file: string, value: string): void {
  try {
    fs.writeFileSync(file, value);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CgroupError(`write "${value.trim()}" to ${file}: ${e.code ?? e.message}`, cgroupHint(e.code));
  }
}

function cgroupHint(code?: string): string | undefined {
  if (code === 'EACCES' || code === 'EPERM') return 'cgroup files are writable by root only: run with sudo.';
  if (code === 'EROFS') return 'the cgroup filesystem is mounted read-only here (a container without cgroup delegation?). Run the workbook in a VM.';
  if (code === 'ENOENT') return 'the file does not exist: is the cpu controller enabled for this group?';
  if (code === 'EINVAL') return 'the kernel refused the value: check its format (v2 cpu.max is "QUOTA PERIOD").';
  return undefined;
}

function readNum(file: string): number {
  return Number(fs.readFileSync(file, 'utf8').trim());
}

function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** Pure: "20000 100000" or "max 100000" -> limit. */
export function parseCpuMax(text: string): CpuLimit {
  const [q, p] = text.trim().split(/\s+/);
  return { quotaUs: q === 'max' ? null : Number(q), periodUs: Number(p ?? 100000) };
}

/** One control group on the cpu controller, wherever this machine keeps it. */
export class CpuGroup {
  readonly version: 1 | 2;
  /** The group's directory in the cpu hierarchy (the one a learner would cd into). */
  readonly dir: string;
  /** A second directory in a separate cpuacct hierarchy (v1 only), if this machine has one. */
  readonly acctDir: string | null;

  constructor(readonly name: string, layout: CgroupLayout = cgroupLayout()) {
    if (!layout.cpu) {
      throw new CgroupError(
        `no cgroup hierarchy with the cpu controller is mounted (cgroup mode: ${layout.mode})`,
        layout.mode === 'v2'
          ? `the cgroup2 root offers "${layout.v2Controllers.join(' ')}" but not cpu: the cpu controller is bound to a v1 hierarchy or disabled.`
          : 'mount a cgroup hierarchy (most distributions do this at boot) or run in a VM with cgroups.',
      );
    }
    this.version = layout.cpu.version;
    this.dir = path.join(layout.cpu.mountPoint, name);
    this.acctDir = this.version === 1 && layout.cpuacct ? path.join(layout.cpuacct, name) : null;
  }

  get files() {
    return cpuFiles(this.version);
  }

  exists(): boolean {
    return fs.existsSync(this.dir);
  }

  /** mkdir the group (and enable +cpu for it on v2). Registers its removal in the ledger. */
  create(ledger: Ledger): void {
    if (this.version === 2) enableCpuController(path.dirname(this.dir), ledger);
    for (const dir of [this.dir, this.acctDir]) {
      if (!dir) continue;
      const entry = ledger.add({ kind: 'cgroup', dir });
      try {
        fs.mkdirSync(dir);
      } catch (err) {
        entry.drop(); // not made here (or not made at all): never remove it
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EEXIST') {
          throw new CgroupError(`${dir} already exists`, 'a group of that name is left from an earlier run: `container-lessons reset` removes it.');
        }
        throw new CgroupError(`mkdir ${dir}: ${e.code ?? e.message}`, cgroupHint(e.code));
      }
    }
  }

  setCpuLimit(quotaUs: number | null, periodUs = 100000): void {
    if (this.version === 1) {
      writeFile(path.join(this.dir, 'cpu.cfs_period_us'), String(periodUs));
      writeFile(path.join(this.dir, 'cpu.cfs_quota_us'), String(quotaUs ?? -1));
    } else {
      writeFile(path.join(this.dir, 'cpu.max'), `${quotaUs ?? 'max'} ${periodUs}`);
    }
  }

  cpuLimit(): CpuLimit {
    if (this.version === 1) {
      const q = readNum(path.join(this.dir, 'cpu.cfs_quota_us'));
      return { quotaUs: q < 0 ? null : q, periodUs: readNum(path.join(this.dir, 'cpu.cfs_period_us')) };
    }
    return parseCpuMax(fs.readFileSync(path.join(this.dir, 'cpu.max'), 'utf8'));
  }

  /** Move a whole process (all its threads) into the group. */
  addProcess(pid: number): void {
    for (const dir of [this.dir, this.acctDir]) if (dir) writeFile(path.join(dir, 'cgroup.procs'), String(pid));
  }

  /** The cgroup.procs files a starting process writes its own pid into to join the group. */
  procsFiles(): string[] {
    return [this.dir, this.acctDir].filter((d): d is string => !!d).map((d) => path.join(d, 'cgroup.procs'));
  }

  procs(): number[] {
    return fs.readFileSync(path.join(this.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  }

  cpuStat(): CpuStat {
    const kv = parseKeyValues(fs.readFileSync(path.join(this.dir, 'cpu.stat'), 'utf8'));
    if (this.version === 2) {
      return { usageUs: kv.usage_usec ?? null, nrPeriods: kv.nr_periods ?? 0, nrThrottled: kv.nr_throttled ?? 0, throttledUs: kv.throttled_usec ?? 0 };
    }
    let usageUs: number | null = null;
    const acct = this.acctDir ?? this.dir;
    try {
      usageUs = readNum(path.join(acct, 'cpuacct.usage')) / 1000;
    } catch {
      /* no cpuacct for this group */
    }
    return { usageUs, nrPeriods: kv.nr_periods ?? 0, nrThrottled: kv.nr_throttled ?? 0, throttledUs: (kv.throttled_time ?? 0) / 1000 };
  }

  /** rmdir the group (and its cpuacct twin). The group must hold no processes. */
  async remove(): Promise<void> {
    for (const dir of [this.acctDir, this.dir]) if (dir && fs.existsSync(dir)) await removeGroupDir(dir);
  }
}

/** rmdir a cgroup; a process that was just killed can take a moment to leave it. */
export async function removeGroupDir(dir: string, tries = 500): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw new CgroupError(`rmdir ${dir}: ${code}`, cgroupHint(code));
      if (i >= tries) throw new CgroupError(`rmdir ${dir}: EBUSY (processes are still in it)`, 'a process in the group did not end; look at its cgroup.procs');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** v2: a child group gets cpu files only if its parent lists cpu in cgroup.subtree_control. */
function enableCpuController(parent: string, ledger: Ledger): void {
  const file = path.join(parent, 'cgroup.subtree_control');
  const enabled = fs.readFileSync(file, 'utf8').trim().split(/\s+/);
  if (enabled.includes('cpu')) return;
  const entry = ledger.add({ kind: 'setting', file, value: '-cpu' });
  try {
    writeFile(file, '+cpu');
  } catch (err) {
    entry.drop();
    throw err;
  }
}
