// cgroups behind one interface, for the cpu, memory and pids controllers. The layout is
// detected once from mountinfo:
//   v2      one cgroup2 hierarchy carries the controllers (cpu.max, memory.max, pids.max)
//   v1      one cgroup (v1) hierarchy per controller (cpu.cfs_quota_us, memory.limit_in_bytes)
//   hybrid  v1 controller hierarchies plus a cgroup2 mount that carries none (or some) of
//           them; a controller bound to v1 is driven exactly like v1
// A group (Cgroup) names its controllers and finds each one's hierarchy. The file names
// that differ between versions are mapped in this file only (CGROUP_FILES).
import fs from 'node:fs';
import path from 'node:path';
import { parseMountinfo, type MountInfo } from './procfs.js';
import type { Ledger } from './ledger.js';
import { HintedError } from './errors.js';
import { t } from '../i18n/messages.js';

export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'none';

/** The controllers the lessons use. */
export type Controller = 'cpu' | 'memory' | 'pids';
export const CONTROLLERS: readonly Controller[] = ['cpu', 'memory', 'pids'];

/** Where one controller lives: a v1 hierarchy of its own, or the cgroup2 one. */
export interface ControllerHome {
  version: 1 | 2;
  mountPoint: string;
}

export interface CgroupLayout {
  mode: CgroupMode;
  /** Where the cgroup2 hierarchy is mounted, if any. */
  v2Mount: string | null;
  /** Controllers the cgroup2 hierarchy offers (its cgroup.controllers). */
  v2Controllers: string[];
  /** Every v1 hierarchy: its mount point and controllers. */
  v1: Array<{ mountPoint: string; controllers: string[] }>;
  /** Where each controller is driven: a v1 hierarchy that carries it, else the v2 one if
   * it offers it; missing when neither does. */
  controllers: Partial<Record<Controller, ControllerHome>>;
  /** A separate v1 cpuacct hierarchy (usage counters), when it is not co-mounted with cpu. */
  cpuacct: string | null;
}

const V1_NAMED = /^name=/;
const V1_KNOWN = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio', 'perf_event', 'hugetlb', 'pids', 'rdma', 'misc'];

/** Pure: the layout from mountinfo entries and a reader for a cgroup2 mount's cgroup.controllers. */
export function detectLayout(mounts: MountInfo[], readV2Controllers: (mountPoint: string) => string[]): CgroupLayout {
  const v1: CgroupLayout['v1'] = [];
  let v2Mount: string | null = null;
  for (const m of mounts) {
    if (m.fstype === 'cgroup2' && v2Mount === null) v2Mount = m.mountPoint;
    if (m.fstype === 'cgroup') {
      const options = m.superOptions.split(',').filter((o) => !['rw', 'ro'].includes(o) && !V1_NAMED.test(o) && !o.includes('='));
      const ctl = options.filter((o) => V1_KNOWN.includes(o));
      if (ctl.length) v1.push({ mountPoint: m.mountPoint, controllers: ctl });
    }
  }
  const v2Controllers = v2Mount ? readV2Controllers(v2Mount) : [];
  let mode: CgroupMode = 'none';
  if (v1.length && v2Mount) mode = 'hybrid';
  else if (v1.length) mode = 'v1';
  else if (v2Mount) mode = 'v2';

  // A controller bound to a v1 hierarchy is not offered by cgroup2 (the kernel allows one
  // binding at a time), so v1 wins when both are mounted.
  const controllers: CgroupLayout['controllers'] = {};
  for (const c of CONTROLLERS) {
    const h = v1.find((x) => x.controllers.includes(c));
    if (h) controllers[c] = { version: 1, mountPoint: h.mountPoint };
    else if (v2Mount && v2Controllers.includes(c)) controllers[c] = { version: 2, mountPoint: v2Mount };
  }
  const v1acct = v1.find((h) => h.controllers.includes('cpuacct'));
  const cpuHome = controllers.cpu;
  const cpuacct = v1acct && cpuHome?.version === 1 && v1acct.mountPoint !== cpuHome.mountPoint ? v1acct.mountPoint : null;
  return { mode, v2Mount, v2Controllers, v1, controllers, cpuacct };
}

/** Why a controller is missing, and what to do: for an error or doctor's finding. */
export function missingController(layout: CgroupLayout, c: Controller): { message: string; hint: string } {
  return {
    message: t`no cgroup hierarchy with the ${c} controller is mounted (cgroup mode: ${layout.mode})`,
    hint:
      layout.mode === 'v2'
        ? t`the cgroup2 root offers "${layout.v2Controllers.join(' ')}" but not ${c}: the ${c} controller is bound to a v1 hierarchy or disabled (a container without delegation? use a VM).`
        : layout.mode === 'none'
          ? t`mount a cgroup hierarchy (most distributions do this at boot) or run in a VM with cgroups.`
          : t`mount the ${c} controller, or boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1).`,
  };
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

export class CgroupError extends HintedError {}

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

/** The files the lessons read and write, by what they hold: their controller and their name
 * on v1 and on v2. Every name that differs between the versions is mapped here only. */
export const CGROUP_FILES = {
  procs: { controller: null, v1: 'cgroup.procs', v2: 'cgroup.procs' },
  threads: { controller: null, v1: 'tasks', v2: 'cgroup.threads' },
  cpuQuota: { controller: 'cpu', v1: 'cpu.cfs_quota_us', v2: 'cpu.max' },
  cpuPeriod: { controller: 'cpu', v1: 'cpu.cfs_period_us', v2: 'cpu.max' },
  cpuStat: { controller: 'cpu', v1: 'cpu.stat', v2: 'cpu.stat' },
  memoryMax: { controller: 'memory', v1: 'memory.limit_in_bytes', v2: 'memory.max' },
  /** v1: memory plus swap; v2: swap alone. */
  memorySwapMax: { controller: 'memory', v1: 'memory.memsw.limit_in_bytes', v2: 'memory.swap.max' },
  memoryCurrent: { controller: 'memory', v1: 'memory.usage_in_bytes', v2: 'memory.current' },
  memoryPeak: { controller: 'memory', v1: 'memory.max_usage_in_bytes', v2: 'memory.peak' },
  /** v1: oom_kill and under_oom lines; v2: oom, oom_kill, max, ... lines. */
  memoryEvents: { controller: 'memory', v1: 'memory.oom_control', v2: 'memory.events' },
  pidsMax: { controller: 'pids', v1: 'pids.max', v2: 'pids.max' },
  pidsCurrent: { controller: 'pids', v1: 'pids.current', v2: 'pids.current' },
  pidsEvents: { controller: 'pids', v1: 'pids.events', v2: 'pids.events' },
} as const satisfies Record<string, { controller: Controller | null; v1: string; v2: string }>;
export type CgroupFile = keyof typeof CGROUP_FILES;

/** A file's name, as a learner would type it, on cgroup v1 or v2. */
export function cgroupFileName(file: CgroupFile, version: 1 | 2): string {
  return version === 1 ? CGROUP_FILES[file].v1 : CGROUP_FILES[file].v2;
}

function writeFile(file: string, value: string): void {
  try {
    fs.writeFileSync(file, value);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CgroupError(t`write "${value.trim()}" to ${file}: ${e.code ?? e.message}`, cgroupHint(e.code));
  }
}

function cgroupHint(code?: string): string | undefined {
  if (code === 'EACCES' || code === 'EPERM') return t`cgroup files are writable by root only: run with sudo.`;
  if (code === 'EROFS') return t`the cgroup filesystem is mounted read-only here (a container without cgroup delegation?). Run the workbook in a VM.`;
  if (code === 'ENOENT') return t`the file does not exist: is the controller enabled for this group?`;
  if (code === 'EINVAL') return t`the kernel refused the value: check its format (v2 cpu.max is "QUOTA PERIOD").`;
  return undefined;
}

function readNum(file: string): number {
  return Number(fs.readFileSync(file, 'utf8').trim());
}

/** Pure: "key value" lines (cpu.stat, memory.events, pids.events) as numbers. */
export function parseKeyValues(text: string): Record<string, number> {
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

/** v1 reports "no limit" as the largest page-aligned 64-bit number; anything at or past
 * 2^62 is that. */
const V1_UNLIMITED = 2 ** 62;

/** Pure: a memory or pids limit file ("max", "-1", a v1 huge number, or bytes) -> null for none. */
export function parseLimit(text: string): number | null {
  const t = text.trim();
  if (t === 'max' || t === '-1') return null;
  const n = Number(t);
  return n >= V1_UNLIMITED ? null : n;
}

/**
 * One control group on the controllers it names, wherever this machine keeps each of them:
 * on v2 one directory; on v1 (and hybrid) one directory in each controller's hierarchy, plus
 * a twin in a separate cpuacct hierarchy for the cpu controller's usage counters.
 */
export class Cgroup {
  /** Where each of the group's controllers is driven. */
  readonly homes: Partial<Record<Controller, ControllerHome>>;
  /** Every directory of the group, one per hierarchy, the first controller's first. */
  readonly dirs: string[];
  /** A directory in a separate cpuacct hierarchy (v1 only), if this machine has one. */
  readonly acctDir: string | null;

  constructor(
    readonly name: string,
    readonly controllers: readonly Controller[],
    layout: CgroupLayout = cgroupLayout(),
  ) {
    if (!controllers.length) throw new CgroupError(t`the group ${name} names no controller`);
    const homes: Partial<Record<Controller, ControllerHome>> = {};
    for (const c of controllers) {
      const home = layout.controllers[c];
      if (!home) {
        const why = missingController(layout, c);
        throw new CgroupError(why.message, why.hint);
      }
      homes[c] = home;
    }
    this.homes = homes;
    this.acctDir = controllers.includes('cpu') && layout.cpuacct ? path.join(layout.cpuacct, name) : null;
    const dirs = controllers.map((c) => path.join(this.home(c).mountPoint, name));
    this.dirs = [...new Set(dirs)];
  }

  private home(c: Controller): ControllerHome {
    const h = this.homes[c];
    if (!h) throw new CgroupError(t`the group ${this.name} is not in the ${c} controller`);
    return h;
  }

  /** The cgroup version of the group's first controller (the one its lesson is about). */
  get version(): 1 | 2 {
    return this.versionOf(this.controllers[0]!);
  }

  versionOf(c: Controller): 1 | 2 {
    return this.home(c).version;
  }

  /** The group's directory in the first controller's hierarchy (the one a learner cd's into). */
  get dir(): string {
    return this.dirs[0]!;
  }

  /** The directory that holds a controller's files. */
  dirOf(c: Controller): string {
    return path.join(this.home(c).mountPoint, this.name);
  }

  /** The full path of one of the group's files, named for this machine's cgroup version. */
  file(f: CgroupFile): string {
    const c = CGROUP_FILES[f].controller ?? this.controllers[0]!;
    return path.join(this.dirOf(c), cgroupFileName(f, this.versionOf(c)));
  }

  private allDirs(): string[] {
    return this.acctDir ? [...this.dirs, this.acctDir] : this.dirs;
  }

  exists(): boolean {
    return fs.existsSync(this.dir);
  }

  /** Whether any of its directories is there (a half-made or half-removed group). */
  anyExists(): boolean {
    return this.allDirs().some((d) => fs.existsSync(d));
  }

  /** mkdir the group in each hierarchy (enabling its controllers for it on v2). Registers
   * each removal in the ledger before it is made. */
  create(ledger: Ledger): void {
    const v2 = this.controllers.filter((c) => this.versionOf(c) === 2);
    if (v2.length) enableControllers(path.dirname(this.dirOf(v2[0]!)), v2, ledger);
    for (const dir of this.allDirs()) {
      const entry = ledger.add({ kind: 'cgroup', dir });
      try {
        fs.mkdirSync(dir);
      } catch (err) {
        entry.drop(); // not made here (or not made at all): never remove it
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EEXIST') {
          throw new CgroupError(t`${dir} already exists`, t`a group of that name is left from an earlier run: \`container-lessons reset\` removes it.`);
        }
        throw new CgroupError(`mkdir ${dir}: ${e.code ?? e.message}`, cgroupHint(e.code));
      }
    }
  }

  // ---- cpu ----
  setCpuLimit(quotaUs: number | null, periodUs = 100000): void {
    if (this.versionOf('cpu') === 1) {
      writeFile(this.file('cpuPeriod'), String(periodUs));
      writeFile(this.file('cpuQuota'), String(quotaUs ?? -1));
    } else {
      writeFile(this.file('cpuQuota'), `${quotaUs ?? 'max'} ${periodUs}`);
    }
  }

  cpuLimit(): CpuLimit {
    if (this.versionOf('cpu') === 1) {
      const q = readNum(this.file('cpuQuota'));
      return { quotaUs: q < 0 ? null : q, periodUs: readNum(this.file('cpuPeriod')) };
    }
    return parseCpuMax(fs.readFileSync(this.file('cpuQuota'), 'utf8'));
  }

  cpuStat(): CpuStat {
    const kv = parseKeyValues(fs.readFileSync(this.file('cpuStat'), 'utf8'));
    if (this.versionOf('cpu') === 2) {
      return { usageUs: kv.usage_usec ?? null, nrPeriods: kv.nr_periods ?? 0, nrThrottled: kv.nr_throttled ?? 0, throttledUs: kv.throttled_usec ?? 0 };
    }
    let usageUs: number | null = null;
    try {
      usageUs = readNum(path.join(this.acctDir ?? this.dirOf('cpu'), 'cpuacct.usage')) / 1000;
    } catch {
      /* no cpuacct for this group */
    }
    return { usageUs, nrPeriods: kv.nr_periods ?? 0, nrThrottled: kv.nr_throttled ?? 0, throttledUs: (kv.throttled_time ?? 0) / 1000 };
  }

  // ---- memory ----
  /** A memory limit (null: none). `swap: false` also keeps the group out of swap; otherwise
   * its swap is not limited. */
  setMemoryLimit(bytes: number | null, opts: { swap?: boolean } = {}): void {
    const v = this.versionOf('memory');
    const value = bytes === null ? (v === 1 ? '-1' : 'max') : String(bytes);
    const swapFile = this.file('memorySwapMax');
    const hasSwapFile = fs.existsSync(swapFile);
    if (v === 1) {
      // memsw (memory + swap) may never be below the memory limit: lift it first, then set
      // the limit, then hold memsw to the limit when swap is not allowed.
      if (hasSwapFile) writeFile(swapFile, '-1');
      writeFile(this.file('memoryMax'), value);
      if (hasSwapFile && opts.swap === false) writeFile(swapFile, value);
    } else {
      writeFile(this.file('memoryMax'), value);
      if (hasSwapFile) writeFile(swapFile, opts.swap === false ? '0' : 'max');
    }
  }

  /** The memory limit in bytes, null for none. */
  memoryLimit(): number | null {
    return parseLimit(fs.readFileSync(this.file('memoryMax'), 'utf8'));
  }

  /** The memory controller's counters: times the OOM killer ran in the group, and the peak
   * of its memory use where the kernel records one (v2 memory.peak is 5.19 and later). */
  memoryStats(): { oomKills: number; current: number; peak: number | null } {
    const events = parseKeyValues(fs.readFileSync(this.file('memoryEvents'), 'utf8'));
    let peak: number | null = null;
    try {
      peak = readNum(this.file('memoryPeak'));
    } catch {
      /* not on this kernel */
    }
    return { oomKills: events.oom_kill ?? 0, current: readNum(this.file('memoryCurrent')), peak };
  }

  // ---- pids ----
  setPidsLimit(max: number | null): void {
    writeFile(this.file('pidsMax'), max === null ? 'max' : String(max));
  }

  pidsLimit(): number | null {
    return parseLimit(fs.readFileSync(this.file('pidsMax'), 'utf8'));
  }

  /** The pids controller's counters: tasks now, and forks refused at the limit. */
  pidsStats(): { current: number; refused: number } {
    const events = parseKeyValues(fs.readFileSync(this.file('pidsEvents'), 'utf8'));
    return { current: readNum(this.file('pidsCurrent')), refused: events.max ?? 0 };
  }

  // ---- membership ----
  /** Move a whole process (all its threads) into the group, in every hierarchy. */
  addProcess(pid: number): void {
    for (const f of this.procsFiles()) writeFile(f, String(pid));
  }

  /** The cgroup.procs files a starting process writes its own pid into to join the group. */
  procsFiles(): string[] {
    return this.allDirs().map((d) => path.join(d, 'cgroup.procs'));
  }

  /** The processes in the group (as the first controller's hierarchy lists them). */
  procs(): number[] {
    return readProcs(this.dir);
  }

  /** Move every process in any of the group's directories to the parent group: what is not
   * ours to kill leaves the group alive. Returns the pids moved. */
  moveOut(pids: number[]): void {
    for (const d of this.allDirs()) {
      if (!fs.existsSync(d)) continue;
      for (const pid of pids) {
        try {
          fs.writeFileSync(path.join(path.dirname(d), 'cgroup.procs'), String(pid));
        } catch {
          /* gone */
        }
      }
    }
  }

  /** Every process in any of the group's directories. */
  allProcs(): number[] {
    const seen = new Set<number>();
    for (const d of this.allDirs()) if (fs.existsSync(d)) for (const p of readProcs(d)) seen.add(p);
    return [...seen];
  }

  /** rmdir the group in every hierarchy. It must hold no processes. */
  async remove(): Promise<void> {
    for (const dir of [...this.allDirs()].reverse()) if (fs.existsSync(dir)) await removeGroupDir(dir);
  }
}

function readProcs(dir: string): number[] {
  return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
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
      if (i >= tries) throw new CgroupError(t`rmdir ${dir}: EBUSY (processes are still in it)`, t`a process in the group did not end; look at its cgroup.procs`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** v2: a child group gets a controller's files only if its parent lists the controller in
 * cgroup.subtree_control. What this enables is recorded, to be disabled again. */
function enableControllers(parent: string, controllers: Controller[], ledger: Ledger): void {
  const file = path.join(parent, 'cgroup.subtree_control');
  const enabled = fs.readFileSync(file, 'utf8').trim().split(/\s+/);
  for (const c of controllers) {
    if (enabled.includes(c)) continue;
    const entry = ledger.add({ kind: 'setting', file, value: `-${c}` });
    try {
      writeFile(file, `+${c}`);
    } catch (err) {
      entry.drop();
      throw err;
    }
  }
}
