// Lesson 2: a control group named "container" that holds a busy loop to 20 % of a CPU.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Cgroup, cgroupFileName, cgroupLayout, CgroupError, procfs, TAG_VAR, type CpuLimit, type CpuStat } from '../core/index.js';
import { pass, fail, skip, type CheckResult } from '../checks/result.js';
import { defineLesson, earlier } from './types.js';
import { GROUP, GROUP_NAME, SHELLS, holdGroupForLesson, resetWithGroupHeld } from './container-group.js';
import { hostShell, lines } from './show.js';
import { cpuSharePicture } from '../pictures/cpu-share.js';
import { t } from '../i18n/messages.js';

export { GROUP };

interface State {
  group?: Cgroup;
  /** The busy loop's pid. */
  loop?: number;
}
export const PERIOD = 100000;
export const QUOTA = 20000;
export const TARGET_PERCENT = 20;
export const TOLERANCE = 2;
/**
 * How long the check first watches the loop: 5 whole periods. A throttled loop spends its
 * quota at the start of every 100 ms period, so its CPU use repeats each period, and a
 * window of whole periods holds whole quotas wherever it starts (2.5 periods hold 2 or 3).
 * bench/window.mjs measures how far off each window length reads (npm run bench, and
 * test:vm's VM-MEASURE lines for an emulated cgroup v2 guest): 500 ms stays well inside
 * the ±2 points, a second look of 1000 ms closer still. So the check decides on 500 ms
 * when the share is clearly inside, and otherwise looks again for 1000 ms, which decides.
 */
export const WINDOW_MS = 500;
/** How long the step that starts the loop watches it, before any quota. Unthrottled, the
 * loop runs the whole time, so any window reads about 100 %: no need for whole periods. */
const FREE_WINDOW_MS = 200;
/** Inside this, the first look decides; outside, the longer second look does. */
const CLEAR_MARGIN = TOLERANCE / 2;
/** The busy loop the workbook starts carries this name as its $0, so reset can tell it apart. */
export const LOOP_TAG = 'container-lessons-busy-loop';

export interface Share {
  percent: number;
  pids: number[];
  before: CpuStat | null;
  after: CpuStat | null;
}

/** The real CPU share of every process in the group over a window, from per-task counters. */
export async function measureShare(group: Cgroup, windowMs = WINDOW_MS): Promise<Share> {
  const pids = group.procs();
  const cpu = () => pids.reduce((sum, p) => sum + (procfs.processCpuNs(p) ?? 0), 0);
  const stat = () => {
    try {
      return group.cpuStat();
    } catch {
      return null;
    }
  };
  const before = stat();
  const c0 = cpu();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, windowMs));
  const c1 = cpu();
  const t1 = process.hrtime.bigint();
  const after = stat();
  return { percent: ((c1 - c0) / Number(t1 - t0)) * 100, pids, before, after };
}

function procCgroupLine(pid: number, version: 1 | 2): string {
  try {
    const lines = procfs.parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    const l = version === 2 ? lines.find((x) => x.hierarchy === 0) : lines.find((x) => x.controllers.includes('cpu'));
    return l ? `${l.hierarchy}:${l.controllers.join(',')}:${l.path}` : t`(no cpu line)`;
  } catch {
    return t`(gone)`;
  }
}

/** The busy loop, with a bound of its own: 10 minutes of CPU time (ulimit -t), after which
 * the kernel ends it with SIGXCPU, whatever became of the workbook (with --keep it is the
 * learner's; at 20 % that is most of an hour). */
function startLoop(detach: boolean, tag: string): ReturnType<typeof spawn> {
  const child = spawn('/bin/sh', ['-c', 'ulimit -t 600; while : ; do : ; done', tag], { stdio: 'ignore', detached: detach, env: { ...process.env, [TAG_VAR]: tag } });
  if (detach) child.unref();
  return child;
}

const quotaCommand = (g: Cgroup) => (g.version === 1 ? [`echo ${PERIOD} > ${g.file('cpuPeriod')}`, `echo ${QUOTA} > ${g.file('cpuQuota')}`] : [`echo "${QUOTA} ${PERIOD}" > ${g.file('cpuQuota')}`]);
/** The files that hold the limit, as `cat` would be given them. */
const limitFiles = (g: Cgroup) => [...new Set([g.file('cpuQuota'), g.file('cpuPeriod')])];

function group(): Cgroup {
  return new Cgroup(GROUP, ['cpu']);
}

/** The checks, by the titles their results carry (the text lists each). */
const CHECKS = {
  exists: `the group "${GROUP}" exists`,
  quota: 'quota 20000 per period 100000',
  member: 'a process is in the group',
  share: `the group gets ${TARGET_PERCENT} % CPU (±${TOLERANCE} points)`,
  throttled: 'the kernel throttles the group',
} as const;

const cgroupCpu = defineLesson<State>({
  id: 'cgroup-cpu',
  title: 'A cgroup holds a busy loop to 20 % CPU',
  text: '02-cgroup-cpu.md',
  machineNames: [GROUP_NAME],
  needs: { cgroupControllers: ['cpu'] },
  newState: () => ({}),
  checks: Object.values(CHECKS),
  steps: [
    {
      title: 'Find where the cpu controller lives on this machine',
      commands: () => ['mount -t cgroup; mount -t cgroup2', 'cat /proc/self/cgroup'],
      async run() {
        const layout = cgroupLayout();
        const g = group();
        return lines(
          layout.mode === 'hybrid' ? t`cgroup mode: ${layout.mode} (v1 controllers, plus a cgroup2 mount without them)` : t`cgroup mode: ${layout.mode}`,
          t`cpu controller: cgroup v${g.version} hierarchy at ${path.dirname(g.dir)}`,
          await hostShell('mount -t cgroup,cgroup2 | head -20'),
        );
      },
    },
    {
      title: 'Create the control group "container"',
      commands: () => {
        const g = group();
        const enable = g.version === 2 ? [`grep -qw cpu ${path.dirname(g.dir)}/cgroup.subtree_control || echo +cpu > ${path.dirname(g.dir)}/cgroup.subtree_control`] : [];
        return [...enable, `mkdir ${g.dir}`, `ls ${g.dir}`, `cat ${limitFiles(g).join(' ')}`];
      },
      async run(ctx) {
        const g = group();
        await holdGroupForLesson(ctx);
        g.create(ctx.ledger);
        ctx.state.group = g;
        return lines(
          g.acctDir ? t`mkdir("${g.dir}") and mkdir("${g.acctDir}") for usage counters` : `mkdir("${g.dir}")`,
          await hostShell(`ls ${g.dir} | grep -E '^(cgroup.procs|tasks|cpu\\.)' | tr '\\n' ' '`),
          await hostShell(`cat ${limitFiles(g).join(' ')}`),
          t`# no limit yet: -1 (v1) or "max" (v2) means unlimited`,
        );
      },
    },
    {
      title: 'Start a busy loop: it takes a whole CPU',
      commands: () => ['while : ; do : ; done &', 'top -p $!'],
      async run(ctx) {
        // Its $0 names it: reset (and a recovery after a crash) find it by that.
        const tag = `${LOOP_TAG}:${randomUUID()}`;
        const entry = ctx.ledger.add({ kind: 'procs', tag });
        const loop = startLoop(ctx.keep, tag);
        const pid = loop.pid!;
        ctx.state.loop = pid;
        const exited = new Promise((r) => loop.on('exit', r));
        entry.live = async () => {
          loop.kill('SIGKILL');
          await exited;
        };
        const t0 = procfs.processCpuNs(pid) ?? 0;
        const w0 = process.hrtime.bigint();
        await new Promise((r) => setTimeout(r, FREE_WINDOW_MS));
        const share = (((procfs.processCpuNs(pid) ?? 0) - t0) / Number(process.hrtime.bigint() - w0)) * 100;
        return lines(t`busy loop started: pid ${pid}`, t`measured over ${FREE_WINDOW_MS / 1000} s: ${share.toFixed(1)} % of one CPU`);
      },
    },
    {
      title: 'Set the quota: 20000 µs of CPU time in every 100000 µs period',
      commands: () => quotaCommand(group()),
      async run(ctx) {
        const g = earlier(ctx.state.group, t`the group`);
        g.setCpuLimit(QUOTA, PERIOD);
        return lines(...quotaCommand(g).map((c) => `# ${c}`), await hostShell(`cat ${limitFiles(g).join(' ')}`));
      },
    },
    {
      title: 'Put the loop into the group',
      commands: () => [`echo <pid> > ${group().file('procs')}   # v1 also: tasks`, 'cat /proc/<pid>/cgroup'],
      async run(ctx) {
        const g = earlier(ctx.state.group, t`the group`);
        const pid = earlier(ctx.state.loop, t`the busy loop`);
        g.addProcess(pid);
        const share = await measureShare(g, WINDOW_MS);
        return lines(`# echo ${pid} > ${g.file('procs')}`, await hostShell(`cat /proc/${pid}/cgroup`), t`measured over ${WINDOW_MS / 1000} s: ${share.percent.toFixed(1)} % of one CPU`);
      },
    },
  ],

  async check() {
    let g: Cgroup;
    try {
      g = group();
    } catch (err) {
      return [skip(CHECKS.exists, (err as Error).message + (err instanceof CgroupError && err.hint ? ` (${err.hint})` : ''), ['/proc/self/mountinfo'])];
    }
    const results: CheckResult[] = [];
    if (!g.exists()) {
      return [fail(CHECKS.exists, t`${g.dir} does not exist`, t`create it: mkdir ${g.dir}`, [g.dir])];
    }
    results.push(pass(CHECKS.exists, `${g.dir} (cgroup v${g.version})`, [g.dir]));

    const files = limitFiles(g);
    let limit: CpuLimit;
    try {
      limit = g.cpuLimit();
    } catch (err) {
      return [
        ...results,
        fail(
          CHECKS.quota,
          t`cannot read ${files.join(', ')}: ${(err as Error).message}`,
          g.version === 2 ? t`enable the cpu controller: echo +cpu > ${path.join(path.dirname(g.dir), 'cgroup.subtree_control')}` : t`is this a cpu hierarchy?`,
          files,
        ),
      ];
    }
    const name = (f: 'cpuQuota' | 'cpuPeriod') => cgroupFileName(f, g.version);
    const shown = g.version === 1 ? `${name('cpuQuota')}=${limit.quotaUs ?? -1}, ${name('cpuPeriod')}=${limit.periodUs}` : `${name('cpuQuota')}="${limit.quotaUs ?? 'max'} ${limit.periodUs}"`;
    const limitOk = limit.quotaUs === QUOTA && limit.periodUs === PERIOD;
    results.push(
      limitOk
        ? pass(CHECKS.quota, shown, files)
        : fail(CHECKS.quota, shown, limit.quotaUs === null ? t`no limit is set: ${quotaCommand(g).join(' ; ')}` : t`20 % of a ${PERIOD} µs period is ${QUOTA} µs: ${quotaCommand(g).join(' ; ')}`, files),
    );

    const procsFile = g.file('procs');
    const pids = g.procs();
    if (!pids.length) {
      results.push(fail(CHECKS.member, t`${procsFile} is empty`, t`start the loop (while : ; do : ; done &) and move it in: echo $! > ${procsFile}`, [procsFile]));
      return results;
    }
    results.push(pass(CHECKS.member, `${procsFile}: ${pids.map((p) => `${p} (${procfs.comm(p)}, ${procCgroupLine(p, g.version)})`).join(', ')}`, [procsFile, ...pids.map((p) => `/proc/${p}/cgroup`)]));

    let share = await measureShare(g, WINDOW_MS);
    let windowMs = WINDOW_MS;
    if (Math.abs(share.percent - TARGET_PERCENT) > CLEAR_MARGIN) {
      // Not clearly inside: a longer look, which is accurate to well under a point.
      windowMs = 2 * WINDOW_MS;
      share = await measureShare(g, windowMs);
    }
    const looked = [...share.pids.map((p) => `/proc/${p}/task/*/schedstat`), g.file('cpuStat')];
    const pct = share.percent;
    const within = Math.abs(pct - TARGET_PERCENT) <= TOLERANCE;
    const title = CHECKS.share;
    const measured = t`measured ${pct.toFixed(1)} % of one CPU over ${windowMs / 1000} s for pid ${share.pids.join(', ')}`;
    if (within) results.push(pass(title, measured, looked));
    else if (pct < 5) results.push(fail(title, measured, t`the process in the group is hardly running: is it the busy loop (while : ; do : ; done &)? put the loop's pid into cgroup.procs, not your shell's`, looked));
    else if (pct < TARGET_PERCENT - TOLERANCE) results.push(fail(title, measured, limitOk ? t`less than the quota allows: the machine may be busy with other work; try the check again` : t`the quota is lower than 20000`, looked));
    else
      results.push(
        fail(title, measured, limit.quotaUs === null ? t`no quota is set, so the loop runs free` : t`a share of ${pct.toFixed(0)} % matches a quota of about ${Math.round(((pct / 100) * PERIOD) / 1000) * 1000} µs: set ${QUOTA}`, looked),
      );

    if (share.before && share.after) {
      const throttled = share.after.nrThrottled - share.before.nrThrottled;
      const periods = share.after.nrPeriods - share.before.nrPeriods;
      const stat = t`cpu.stat: ${throttled} of ${periods} periods throttled during the window (nr_throttled ${share.after.nrThrottled}, throttled ${(share.after.throttledUs / 1e6).toFixed(2)} s in all)`;
      results.push(
        throttled > 0
          ? pass(CHECKS.throttled, stat, [g.file('cpuStat')])
          : fail(CHECKS.throttled, stat, t`no period was throttled: without a quota (or without a busy process) the kernel never has to hold the group back`, [g.file('cpuStat')]),
      );
    }
    return results;
  },

  hints: () => {
    const idea = t`A control group holds processes, and its cpu controller limits the CPU time they get together: a quota of CPU time in every period (CFS bandwidth control). ${TARGET_PERCENT} % of one CPU is ${QUOTA} µs in every ${PERIOD} µs period. Make the group, set the limit, move a busy loop into it: once the group has used its quota in a period, the kernel throttles it until the next.`;
    let g: Cgroup;
    try {
      g = group();
    } catch (err) {
      const why = t`This machine has no usable cpu controller: ${(err as Error).message}`;
      return [idea, why, why];
    }
    const where = `${g.dir} (cgroup v${g.version})`;
    const files =
      g.version === 1
        ? t`the limit is two files, ${g.file('cpuQuota')} (µs per period; -1: none) and ${g.file('cpuPeriod')} (µs)`
        : t`the limit is one file, ${g.file('cpuQuota')} ("quota period"; "max": none), which exists once +cpu is in ${path.dirname(g.dir)}/cgroup.subtree_control`;
    const enable = g.version === 2 ? [`grep -qw cpu ${path.dirname(g.dir)}/cgroup.subtree_control || echo +cpu > ${path.dirname(g.dir)}/cgroup.subtree_control`] : [];
    return [
      idea,
      t`The group is a directory: mkdir ${where}. On this machine ${files}. A pid written into ${g.file('procs')} moves that process into the group; ${g.file('cpuStat')} counts the periods the kernel throttled it (nr_throttled).`,
      [...enable, `mkdir ${g.dir}`, ...quotaCommand(g), `while : ; do : ; done & echo $! > ${g.file('procs')}`].join('; '),
    ];
  },

  // The loop before it is in the group is found by its $0, as reset finds it.
  picture: () =>
    cpuSharePicture({
      name: GROUP,
      group: () => {
        try {
          const g = group();
          return g.exists() ? g : null;
        } catch {
          return null;
        }
      },
      outside: () => procfs.listPids().filter((p) => (procfs.cmdline(p) ?? '').includes(LOOP_TAG)),
    }),

  async shell(ctx) {
    const cwd = cgroupLayout().controllers.cpu?.mountPoint ?? ctx.lab.root;
    return { kind: 'host', cwd, title: t`a shell on the host in ${cwd}` };
  },

  async reset() {
    let g: Cgroup;
    try {
      g = group();
    } catch {
      return [];
    }
    if (!g.anyExists()) return [];
    return resetWithGroupHeld(g.dir, () => resetGroup(g));
  },
});

export default cgroupCpu;

/** A process's state letter, parent pid and controlling terminal, from /proc/<pid>/stat. */
function procStat(pid: number): { state: string; ppid: number; tty: number } | null {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return { state: f[0] ?? '?', ppid: Number(f[1]), tty: Number(f[4]) };
  } catch {
    return null;
  }
}

/** The workbook's own process, the processes it started, and the ones that started it
 * (sudo, npm, the learner's shell): whatever is in the group of these is not the learner's
 * loop, and none of these is to be killed. */
function workbookFamily(inGroup: boolean): { self: Set<number>; ancestors: Set<number> } {
  const ancestors = new Set<number>();
  for (let p = procStat(process.pid)?.ppid ?? 0, i = 0; p > 1 && i < 64; p = procStat(p)?.ppid ?? 0, i++) ancestors.add(p);
  const self = new Set([process.pid]);
  // Its children are in the group only because it is (they inherited it).
  if (!inGroup) return { self, ancestors };
  const parents = new Map(procfs.listPids().map((p) => [p, procStat(p)?.ppid ?? 0]));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, pp] of parents) if (!self.has(p) && self.has(pp)) self.add(p), (grew = true);
  }
  return { self, ancestors };
}

/** Empty the group (our loops killed, anyone else's moved out) and remove it. Only what
 * really moved out (alive, and out of the group afterwards) is reported; the workbook's own
 * process and its children are moved out without a word. */
async function resetGroup(g: Cgroup): Promise<string[]> {
  const removed: string[] = [];
  const pids = g.allProcs();
  const family = workbookFamily(pids.includes(process.pid));
  const theirs: { pid: number; comm: string; kind: 'self' | 'shell' | 'terminal' | 'other' }[] = [];
  for (const pid of pids) {
    if (family.self.has(pid)) {
      theirs.push({ pid, comm: '', kind: 'self' });
      continue;
    }
    if ((procfs.cmdline(pid) ?? '').includes(LOOP_TAG)) {
      try {
        process.kill(pid, 'SIGKILL');
        removed.push(t`busy loop pid ${pid}`);
      } catch {
        /* gone */
      }
      continue;
    }
    const st = procStat(pid);
    if (!st) continue;
    const comm = procfs.comm(pid) ?? '?';
    // A shell that waits (for a command, or for the one it runs): the learner's own, by
    // mistake in the group. A busy loop is always running (R), even a subshell of bash.
    // sudo, npm and the like that started this workbook: moved out, not named.
    const waiting = st.state !== 'R';
    const kind = family.ancestors.has(pid) && !SHELLS.has(comm) ? 'self' : waiting && SHELLS.has(comm) ? 'shell' : waiting && st.tty !== 0 ? 'terminal' : 'other';
    theirs.push({ pid, comm, kind });
  }
  g.moveOut(theirs.map((p) => p.pid));
  const still = new Set(g.allProcs());
  for (const p of theirs) {
    if (p.kind === 'self' || still.has(p.pid) || !procfs.pidAlive(p.pid)) continue;
    if (p.kind === 'shell') removed.push(t`moved your shell (pid ${p.pid}, ${p.comm}) out of ${g.dir}`);
    else if (p.kind === 'terminal') removed.push(t`moved pid ${p.pid} (${p.comm}, on your terminal) out of ${g.dir}: it still runs`);
    else removed.push(t`moved pid ${p.pid} (${p.comm}) out of ${g.dir}: it still runs, end it with kill ${p.pid}`);
  }
  await g.remove();
  removed.push(g.dir);
  return removed;
}
