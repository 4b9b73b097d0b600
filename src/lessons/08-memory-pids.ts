// Lesson 8: the group "container" on the memory and pids controllers, with the lesson
// container in it. A memory hog in the container goes past 64 MiB and the kernel's OOM
// killer ends it; a fork bomb in it hits 20 tasks and its forks fail.
//
// Safety: the hog and the bomb run only inside the group. Each waits on its stdin until the
// workbook has moved it into the group and seen it there (/proc/<pid>/cgroup); a workbook
// that dies before that closes the pipe, and they end without running. Each has bounds of
// its own besides the limits: the hog allocates at most HOG_MIB (twice the limit) and has
// ulimit -t; the bomb is at most BOMB_DEPTH levels deep (127 shells, 63 sleeps), all of
// which end after BOMB_SLEEP_S; and both run in the container's PID namespace, which
// ends with its PID 1.
import fs from 'node:fs';
import path from 'node:path';
import { Cgroup, CgroupError, cgroupFileName, cgroupLayout, collect, enterContainer, procfs, readMarker, rootfsProblem, type Namespace, type Running } from '../core/index.js';
import { pass, fail, skip, type CheckResult } from '../checks/result.js';
import { findLabProcesses, containerLeaders, describe } from '../checks/containers.js';
import type { Lab } from '../lab.js';
import { defineLesson, earlier, type LessonContainer } from './types.js';
import { hostShell, inContainer, lines } from './show.js';
import { rootfsStep, startLessonContainer, killLabContainers, type ContainerState } from './container-common.js';
import { GROUP, SHELLS, holdGroupForLesson, resetWithGroupHeld } from './container-group.js';
import { limitsGauge } from '../pictures/limits-gauge.js';
import { t } from '../i18n/messages.js';

const MIB = 2 ** 20;
export const MEMORY_LIMIT_MIB = 64;
export const MEMORY_LIMIT = MEMORY_LIMIT_MIB * MIB;
export const PIDS_LIMIT = 20;
/** What the hog allocates: twice the limit, so it always crosses it, and never more. */
export const HOG_MIB = 2 * MEMORY_LIMIT_MIB;
/** The bomb's depth: 2^(d+1)-1 shells (127), each with one sleep. */
export const BOMB_DEPTH = 6;
/** Every shell of the bomb sleeps this long and ends: the bomb's own time limit. */
export const BOMB_SLEEP_S = 20;

const NS: Namespace[] = ['mnt', 'uts', 'ipc', 'pid'];
/** The lesson's container; its step declares it, so the TUI can prepare it ahead. */
const CONTAINER: LessonContainer = { namespaces: NS, hostname: 'container', mountProc: true };

/** The hog, as typed in the container's shell; it needs no /dev (a by-hand chroot has
 * none). yes prints "y" lines, tr drops the newlines, head stops at HOG_MIB; GNU tail
 * keeps the last 10 lines of its input in memory, and all of it is one line, so tail grows
 * until the input ends or the kernel kills it. wc counts what tail wrote: 0 when killed. */
export const HOG = `yes | tr -d '\\n' | head -c ${HOG_MIB}M | tail | wc -c`;
/** The bomb, as typed. Every shell above level 0 starts a pipeline of two more shells and a
 * sleep: 2^(d+1)-1 shells (127) and 2^d-1 sleeps (63), all started at once, all ended
 * when the sleeps end. A pipeline, not `&`: a shell without job control gives a background
 * command /dev/null as its stdin, and a container by hand has no /dev. In a subshell, so
 * that the shell the learner types in is never the one whose fork fails. */
export const BOMB_FUNCTION = `bomb() { [ $1 -gt 0 ] && bomb $(($1 - 1)) | bomb $(($1 - 1)) | sleep ${BOMB_SLEEP_S}; }`;
export const BOMB = `${BOMB_FUNCTION}; (bomb ${BOMB_DEPTH})`;

interface State extends ContainerState {
  group?: Cgroup;
}

function group(): Cgroup {
  return new Cgroup(GROUP, ['memory', 'pids']);
}

/** Whether this machine has swap: any line past the header of /proc/swaps. */
export function swapDevices(text: string = readOr('/proc/swaps', '')): string[] {
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => l.split(/\s+/)[0]!);
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** The group's path in each of its controllers' hierarchies, from /proc/<pid>/cgroup (null: gone). */
export function groupOf(pid: number, g: Cgroup): Partial<Record<'memory' | 'pids', string>> | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
  const entries = procfs.parseProcCgroup(text);
  const out: Partial<Record<'memory' | 'pids', string>> = {};
  for (const c of ['memory', 'pids'] as const) {
    const line = g.versionOf(c) === 2 ? entries.find((e) => e.hierarchy === 0) : entries.find((e) => e.controllers.includes(c));
    if (line) out[c] = line.path;
  }
  return out;
}

function inGroup(pid: number, g: Cgroup): boolean {
  const where = groupOf(pid, g);
  return where?.memory === `/${GROUP}` && where.pids === `/${GROUP}`;
}

/** The commands that make the group and set its limits, for this machine. */
function limitCommands(g: Cgroup): string[] {
  const mem = g.dirOf('memory');
  const pids = g.dirOf('pids');
  const out: string[] = [];
  if (g.versionOf('memory') === 2) {
    const parent = path.dirname(mem);
    out.push(`cat ${parent}/cgroup.subtree_control   # memory and pids listed?`, `echo "+memory +pids" > ${parent}/cgroup.subtree_control`, `mkdir ${mem}`);
    out.push(`echo ${MEMORY_LIMIT_MIB}M > ${g.file('memoryMax')}`, `echo 0 > ${g.file('memorySwapMax')}   # where swap exists`);
  } else {
    out.push(`mkdir ${mem} ${pids}`, `echo ${MEMORY_LIMIT_MIB}M > ${g.file('memoryMax')}`, `echo ${MEMORY_LIMIT_MIB}M > ${g.file('memorySwapMax')}   # memory + swap, where the file exists`);
  }
  out.push(`echo ${PIDS_LIMIT} > ${g.file('pidsMax')}`);
  return out;
}

/** The by-hand container: a shell that joins the group, then becomes the container. */
function byHand(lab: Lab, g: Cgroup): string {
  const join = [...new Set([g.dirOf('memory'), g.dirOf('pids')])].map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ');
  return `sh -c '${join} && exec unshare --mount --uts --ipc --pid --fork --mount-proc=${lab.rootfs}/proc chroot ${lab.rootfs} sh'`;
}

/** The files that hold the limits, as `cat` would be given them. */
function limitFiles(g: Cgroup): string[] {
  const files = [g.file('memoryMax'), g.file('pidsMax')];
  if (fs.existsSync(g.file('memorySwapMax'))) files.splice(1, 0, g.file('memorySwapMax'));
  return files;
}

/**
 * Start a script in the container that waits for "go" on its stdin, move it into the group,
 * see it there, and only then let it go. A script that is not seen in the group is ended
 * without ever running its payload.
 */
async function startInGroup(pid: number, g: Cgroup, payload: string): Promise<Running> {
  if (g.memoryLimit() === null || g.pidsLimit() === null) {
    throw new CgroupError(t`the group ${GROUP} has no memory or pids limit: the hog and the bomb run only in a limited group`, t`run the lesson from its first step (it sets the limits)`);
  }
  const script = `read go && [ "$go" = go ] || exit 99\n${payload}`;
  const r = await enterContainer(pid, NS, ['/bin/sh', '-c', script]);
  try {
    g.addProcess(r.pid);
    if (!inGroup(r.pid, g)) throw new CgroupError(t`pid ${r.pid} is not in the group ${GROUP} after it was moved there`, t`the group was removed meanwhile? reset the lesson and run it again`);
  } catch (err) {
    r.stdin?.end();
    await r.kill();
    throw err;
  }
  r.stdin?.write('go\n');
  return r;
}

/** SIGKILL every process in the group but `keep`, in rounds, until none is left: a bomb's
 * shell may fork once more between two reads of cgroup.procs. Returns how many were killed. */
async function killInGroup(g: Cgroup, keep: Set<number>): Promise<number> {
  const killed = new Set<number>();
  for (let round = 0; round < 100; round++) {
    const victims = g.allProcs().filter((p) => !keep.has(p));
    if (!victims.length) break;
    for (const p of victims) {
      try {
        process.kill(p, 'SIGKILL');
        killed.add(p);
      } catch {
        /* gone */
      }
    }
    await procfs.waitExited(victims, 2000);
  }
  return killed.size;
}

const mib = (bytes: number | null) => (bytes === null ? t`none` : `${(bytes / MIB).toFixed(bytes % MIB ? 1 : 0)} MiB`);

/** The checks, by the titles their results carry (the text lists each). */
const CHECKS = {
  exists: `the group "${GROUP}" exists in the memory and pids controllers`,
  memory: `memory limit ${MEMORY_LIMIT_MIB} MiB`,
  swap: 'no swap beyond the limit',
  pids: `pids limit ${PIDS_LIMIT}`,
  container: 'the container runs in the group',
  oom: 'the kernel OOM-killed a process of the group, within the limit',
  pidsHeld: `forks were refused at ${PIDS_LIMIT} tasks`,
} as const;

/** Pure: whether the group's swap is held, from what the machine and the group's files say. */
export function swapVerdict(v: { swaps: string[]; version: 1 | 2; swapFile: string; swapValue: string | null; memoryLimit: number | null }): { ok: boolean; reason: string; hint?: string } {
  if (!v.swaps.length) return { ok: true, reason: t`this machine has no swap (/proc/swaps lists none): the group cannot swap` };
  const on = t`swap is on (${v.swaps.join(', ')})`;
  if (v.swapValue === null) {
    return {
      ok: false,
      reason: t`${on}, and the kernel keeps no swap account for groups (${v.swapFile} is missing)`,
      hint: t`the hog would swap instead of being killed: turn swap off while you do this lesson (swapoff -a), or boot with swap accounting (swapaccount=1 on older kernels)`,
    };
  }
  const value = v.swapValue.trim();
  if (v.version === 2) {
    return value === '0'
      ? { ok: true, reason: t`${on}; ${path.basename(v.swapFile)} is 0` }
      : { ok: false, reason: t`${on}; ${path.basename(v.swapFile)} is ${value}`, hint: t`swap is left unlimited, so the hog swaps instead of being killed: echo 0 > ${v.swapFile}` };
  }
  const memsw = Number(value);
  return v.memoryLimit !== null && memsw === v.memoryLimit
    ? { ok: true, reason: t`${on}; ${path.basename(v.swapFile)} equals the memory limit (${mib(memsw)})` }
    : {
        ok: false,
        reason: memsw >= 2 ** 62 ? t`${on}; ${path.basename(v.swapFile)} is unlimited, the memory limit ${mib(v.memoryLimit)}` : t`${on}; ${path.basename(v.swapFile)} is ${mib(memsw)}, the memory limit ${mib(v.memoryLimit)}`,
        hint: t`swap is left unlimited, so the hog swaps instead of being killed: memory + swap must be the memory limit, echo ${MEMORY_LIMIT_MIB}M > ${v.swapFile}`,
      };
}

const memoryPids = defineLesson<State>({
  id: 'memory-pids',
  title: 'Memory and pids limits: the OOM killer and a fork bomb',
  text: '08-memory-pids.md',
  // The group's name is lesson 2's too (one directory on cgroup v2): its lock is held in
  // the step and in reset, not declared here, where a name may belong to one lesson only.
  needs: { cgroupControllers: ['memory', 'pids'], namespaces: NS },
  newState: () => ({}),
  checks: Object.values(CHECKS),
  steps: [
    rootfsStep,
    {
      title: 'Find the memory and pids controllers, and whether there is swap',
      commands: () => ['mount -t cgroup,cgroup2', 'cat /proc/swaps'],
      async run() {
        const layout = cgroupLayout();
        const g = group();
        const swaps = swapDevices();
        return lines(
          t`cgroup mode: ${layout.mode}`,
          t`memory controller: cgroup v${g.versionOf('memory')} at ${path.dirname(g.dirOf('memory'))}`,
          t`pids controller: cgroup v${g.versionOf('pids')} at ${path.dirname(g.dirOf('pids'))}`,
          await hostShell('cat /proc/swaps'),
          swaps.length ? t`# swap is on: the group's swap must be held too (${cgroupFileName('memorySwapMax', g.versionOf('memory'))})` : t`# no swap: a group over its memory limit has nowhere to put pages but the OOM killer`,
        );
      },
    },
    {
      title: `Create the group "${GROUP}": ${MEMORY_LIMIT_MIB} MiB of memory, no swap, ${PIDS_LIMIT} tasks`,
      commands: () => limitCommands(group()),
      async run(ctx) {
        const g = group();
        await holdGroupForLesson(ctx);
        g.create(ctx.ledger);
        ctx.state.group = g;
        g.setMemoryLimit(MEMORY_LIMIT, { swap: false });
        g.setPidsLimit(PIDS_LIMIT);
        return lines(`mkdir ${g.dirs.join(' ')}`, await hostShell(`grep . ${limitFiles(g).join(' ')}`));
      },
    },
    {
      title: 'Start the container inside the group',
      commands: (lab) => [byHand(lab, group()), 'cat /proc/1/cgroup   # inside'],
      container: CONTAINER,
      async run(ctx) {
        const g = earlier(ctx.state.group, t`the group`);
        const c = await startLessonContainer(ctx, CONTAINER);
        // The workbook's container starts from Node helpers, which do not belong in a group
        // of 20 tasks and 64 MiB: its PID 1 joins once it runs. The sleep its idle loop
        // started before that is ended, and the loop starts the next one inside.
        g.addProcess(c.pid);
        for (const p of procfs.descendants(c.pid)) {
          if (inGroup(p, g)) continue;
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        return lines(
          `# echo ${c.pid} > ${g.procsFiles().join(' ; echo ... > ')}`,
          await inContainer(c, NS, 'cat /proc/1/cgroup | grep -E "memory|pids|^0::"'),
          t`# no cgroup namespace: the container sees the host's path of its group`,
          await hostShell(`cat ${g.file('pidsCurrent')}`),
        );
      },
    },
    {
      title: `Allocate ${HOG_MIB} MiB in the container: the kernel OOM-kills the hog`,
      commands: () => [`${HOG}   # inside: "Killed", and 0 bytes from tail`, `cat ${group().file('memoryEvents')} ${group().file('memoryPeak')}`],
      async run(ctx) {
        const g = earlier(ctx.state.group, t`the group`);
        const c = earlier(ctx.state.container, t`the container`);
        const before = g.memoryStats();
        const hog = await startInGroup(c.pid, g, `ulimit -t 20\n${HOG}`);
        const r = await collect(hog);
        const after = g.memoryStats();
        return lines(
          `[container]# ${HOG}`,
          (r.stdout + r.stderr).trimEnd(),
          t`oom_kill: ${before.oomKills} -> ${after.oomKills}; peak ${mib(after.peak)} of the ${mib(MEMORY_LIMIT)} limit`,
          await hostShell(`grep -E '^(oom|oom_kill|under_oom) ' ${g.file('memoryEvents')}`),
        );
      },
    },
    {
      title: `A fork bomb in the container hits the wall at ${PIDS_LIMIT} tasks`,
      commands: () => [`${BOMB}   # inside`, `cat ${group().file('pidsCurrent')} ${group().file('pidsEvents')}`],
      async run(ctx) {
        const g = earlier(ctx.state.group, t`the group`);
        const c = earlier(ctx.state.container, t`the container`);
        const before = g.pidsStats();
        // What is in the group now (the container's idle shell and its sleep) stays.
        const keep = new Set(g.allProcs());
        const bomb = await startInGroup(c.pid, g, BOMB);
        let seen = { current: 0, refused: before.refused };
        try {
          // Until a fork has been refused (or the bomb's time is up): the kernel's own count.
          // Looked at every 10 ms: the refusal comes within milliseconds of the bomb's
          // start, and the two counters are cheap to read.
          const deadline = Date.now() + BOMB_SLEEP_S * 1000;
          while (Date.now() < deadline && seen.refused === before.refused) {
            await new Promise((res) => setTimeout(res, 10));
            const now = g.pidsStats();
            seen = { current: Math.max(seen.current, now.current), refused: now.refused };
          }
        } finally {
          // The bomb's own shells, and what the kernel re-parented to the container's PID 1.
          await bomb.kill();
          await killInGroup(g, keep);
        }
        const after = g.pidsStats();
        return lines(
          `[container]# ${BOMB}`,
          t`pids.current reached ${seen.current} of pids.max ${PIDS_LIMIT}; forks refused (pids.events max): ${before.refused} -> ${seen.refused}`,
          after.current === 1 ? t`the bomb ended: 1 task left in the group (the container's shell)` : t`the bomb ended: ${after.current} tasks left in the group (the container's shell and its sleep)`,
          await hostShell(`cat ${g.file('pidsEvents')}`),
        );
      },
    },
  ],

  async check(lab) {
    let g: Cgroup;
    try {
      g = group();
    } catch (err) {
      return [skip(CHECKS.exists, (err as Error).message + (err instanceof CgroupError && err.hint ? ` (${err.hint})` : ''), ['/proc/self/mountinfo'])];
    }
    const results: CheckResult[] = [];
    const dirs = [...new Set([g.dirOf('memory'), g.dirOf('pids')])];
    const missing = dirs.filter((d) => !fs.existsSync(d));
    if (missing.length)
      return [
        fail(
          CHECKS.exists,
          missing.length === 1 ? t`${missing[0]} does not exist` : t`${missing[0]} and ${missing[1]} do not exist`,
          t`create it: ${limitCommands(g)
            .filter((c) => c.startsWith('mkdir') || c.includes('subtree_control'))
            .join('; ')}`,
          dirs,
        ),
      ];
    const memFile = g.file('memoryMax');
    const pidsFile = g.file('pidsMax');
    if (!fs.existsSync(memFile) || !fs.existsSync(pidsFile)) {
      const parent = path.dirname(g.dirOf('memory'));
      return [
        fail(
          CHECKS.exists,
          t`${g.dir} has no ${path.basename(memFile)} or ${path.basename(pidsFile)}`,
          t`the controllers are not enabled for it: echo "+memory +pids" > ${parent}/cgroup.subtree_control (before mkdir, or rmdir and mkdir again)`,
          [memFile, pidsFile],
        ),
      ];
    }
    results.push(pass(CHECKS.exists, dirs.join(', '), dirs));

    const limit = g.memoryLimit();
    const parentFile = path.join(path.dirname(g.dirOf('memory')), path.basename(memFile));
    if (limit === MEMORY_LIMIT) results.push(pass(CHECKS.memory, t`${path.basename(memFile)}: ${limit} bytes`, [memFile]));
    else if (limit === null)
      results.push(
        fail(
          CHECKS.memory,
          g.versionOf('memory') === 2 ? t`${memFile} says max: no limit` : t`${memFile} says unlimited: no limit`,
          t`write the limit into the group's own file: echo ${MEMORY_LIMIT_MIB}M > ${memFile}. A limit of "max" is none; and one written into the parent's file (${parentFile}) is not this group's (the root group takes none)`,
          [memFile, parentFile],
        ),
      );
    else results.push(fail(CHECKS.memory, t`${path.basename(memFile)}: ${limit} bytes (${mib(limit)})`, t`${MEMORY_LIMIT_MIB} MiB is ${MEMORY_LIMIT} bytes: echo ${MEMORY_LIMIT_MIB}M > ${memFile}`, [memFile]));

    const swapFile = g.file('memorySwapMax');
    const swap = swapVerdict({ swaps: swapDevices(), version: g.versionOf('memory'), swapFile, swapValue: fs.existsSync(swapFile) ? readOr(swapFile, '') : null, memoryLimit: limit });
    results.push(swap.ok ? pass(CHECKS.swap, swap.reason, ['/proc/swaps', swapFile]) : fail(CHECKS.swap, swap.reason, swap.hint!, ['/proc/swaps', swapFile]));

    const pidsMax = g.pidsLimit();
    if (pidsMax === PIDS_LIMIT) results.push(pass(CHECKS.pids, `pids.max: ${pidsMax}`, [pidsFile]));
    else results.push(fail(CHECKS.pids, `pids.max: ${pidsMax ?? 'max'}`, pidsMax === null ? t`no limit ("max"): echo ${PIDS_LIMIT} > ${pidsFile}` : t`another limit: echo ${PIDS_LIMIT} > ${pidsFile}`, [pidsFile]));

    results.push(containerInGroup(lab, g));

    const mem = g.memoryStats();
    const events = g.file('memoryEvents');
    const peakFile = g.file('memoryPeak');
    const peak = mem.peak === null ? t`no ${path.basename(peakFile)} on this kernel` : t`peak ${mib(mem.peak)}`;
    if (mem.oomKills > 0 && (mem.peak === null || limit === null || mem.peak <= limit)) {
      results.push(pass(CHECKS.oom, t`oom_kill ${mem.oomKills}; ${peak}, limit ${mib(limit)}`, [events, peakFile]));
    } else if (mem.oomKills > 0) {
      results.push(
        fail(
          CHECKS.oom,
          t`oom_kill ${mem.oomKills}, but ${peak} is over the limit of ${mib(limit)}`,
          t`the limit was raised or set after the group had used more: make the group again (rmdir, mkdir), set the limit first, then run the hog`,
          [events, peakFile],
        ),
      );
    } else {
      const reachedLimit = mem.peak !== null && limit !== null && mem.peak >= limit - MIB;
      const hint = reachedLimit
        ? t`the group reached its limit and nothing was killed: its pages went to swap. Hold the group's swap (see the swap check), then run the hog again`
        : t`no process of the group was killed: the hog ran outside the group? Run it in the container's shell, which is in the group (${HOG}), or move its shell in first (echo $$ > ${g.file('procs')})`;
      results.push(fail(CHECKS.oom, `oom_kill 0; ${peak}`, hint, [events, peakFile]));
    }

    const pidsNow = g.pidsStats();
    const pidsEvents = g.file('pidsEvents');
    const pidsLooked = [pidsEvents, g.file('pidsCurrent'), pidsFile];
    if (pidsMax !== null && pidsNow.current > pidsMax)
      results.push(fail(CHECKS.pidsHeld, t`pids.current ${pidsNow.current} is over pids.max ${pidsMax}`, t`processes were moved in past the limit (the limit holds forks, not moves): start them inside the group`, pidsLooked));
    else if (pidsNow.refused > 0) results.push(pass(CHECKS.pidsHeld, t`pids.events max ${pidsNow.refused}; pids.current ${pidsNow.current} of ${pidsMax ?? 'max'}`, pidsLooked));
    else results.push(fail(CHECKS.pidsHeld, t`pids.events max 0: no fork was refused (pids.current ${pidsNow.current})`, t`start the bomb in the container's shell, which is in the group: ${BOMB}`, pidsLooked));
    return results;
  },

  hints: (lab) => {
    const idea = t`The memory controller holds a group's pages to a limit: when the group needs more and nothing can be reclaimed, the kernel's OOM killer ends a process of that group (not of the machine). The pids controller counts the group's tasks: at its limit, fork() and clone() fail with EAGAIN. Make the group "${GROUP}" with ${MEMORY_LIMIT_MIB} MiB and ${PIDS_LIMIT} tasks, start the container inside it, and let a memory hog and a fork bomb run into the limits there.`;
    let g: Cgroup;
    try {
      g = group();
    } catch (err) {
      const why = t`This machine has no usable memory or pids controller: ${(err as Error).message}`;
      return [idea, why, why];
    }
    return [
      idea,
      t`The limits are files of the group: ${g.file('memoryMax')} (bytes; 64M works), ${g.file('memorySwapMax')} (${g.versionOf('memory') === 2 ? t`swap alone: 0` : t`memory + swap: the same as the limit`}) and ${g.file('pidsMax')}. A process joins by writing its pid into cgroup.procs, and what it starts inherits the group. The counters: ${g.file('memoryEvents')} (oom_kill), ${g.file('memoryPeak')}, ${g.file('pidsCurrent')} and ${g.file('pidsEvents')} (max: forks refused).`,
      // One line to paste: the comments of the step's commands would end it early.
      t`${[...limitCommands(g).filter((c) => !c.startsWith('cat ')), byHand(lab, g)].map((c) => c.replace(/\s+#.*$/, '')).join('; ')} — then, in the container's shell: ${HOG} — and: ${BOMB}`,
    ];
  },

  // The group's gauges, re-read from its cgroup files a few times a second: the hog's climb
  // to the limit and the kernel's OOM kill, the bomb against pids.max.
  picture: () => limitsGauge(GROUP),

  async reset(lab) {
    let g: Cgroup;
    try {
      g = group();
    } catch {
      return killLabContainers(lab);
    }
    // Another workbook on this machine may be using the group right now: not ours.
    return resetWithGroupHeld(g.dir, async () => {
      const removed = await killLabContainers(lab);
      if (!g.anyExists()) return removed;
      // What is left in the group is the learner's. A shell whose parent is outside the
      // group is the learner's own shell, moved in by hand: moved out, never killed. The
      // rest (a hog or a bomb started from it, each bounded) is killed.
      const rest = g.allProcs();
      const shells = rest.filter((p) => SHELLS.has(procfs.comm(p) ?? '') && !rest.includes(procfs.ppid(p) ?? 0));
      g.moveOut(shells);
      for (const p of shells) if (procfs.pidAlive(p)) removed.push(t`moved your shell (pid ${p}, ${procfs.comm(p)}) out of ${g.dir}`);
      const killed = await killInGroup(g, new Set());
      if (killed) removed.push(killed === 1 ? t`1 process left in ${g.dir} (a hog or a bomb started by hand), killed` : t`${killed} processes left in ${g.dir} (a hog or a bomb started by hand), killed`);
      await g.remove();
      removed.push(...g.dirs);
      return removed;
    });
  },
  // On the host, where the text starts. Not inside the lesson's container: a shell the
  // workbook opens there (through setns) stays in the workbook's own group, and a hog
  // typed in it would have no limit but its own.
  async shell(ctx) {
    let cwd = ctx.lab.root;
    try {
      cwd = path.dirname(group().dirOf('memory'));
    } catch {
      /* no memory controller: the lab */
    }
    return { kind: 'host', cwd, title: t`a shell on the host in ${cwd}` };
  },
});

/** The container check: a process with the lab rootfs as / that lives in the group. */
function containerInGroup(lab: Lab, g: Cgroup): CheckResult {
  const title = CHECKS.container;
  const problem = rootfsProblem(lab.rootfs);
  if (problem) return fail(title, problem.message, problem.hint, [lab.rootfs]);
  const leaders = containerLeaders(findLabProcesses(readMarker(lab.rootfs)!.id));
  if (!leaders.length) return fail(title, t`no running process has ${lab.rootfs} as its root directory`, t`start the container from a shell in the group and leave it running: ${byHand(lab, g)}`, ['/proc/*/root']);
  const looked = leaders.map((p) => `/proc/${p.pid}/cgroup`);
  const inside = leaders.find((p) => inGroup(p.pid, g));
  if (inside) return pass(title, t`${describe(inside)}: memory and pids group /${GROUP}`, looked);
  const first = leaders[0]!;
  const where = groupOf(first.pid, g);
  return fail(
    title,
    t`${describe(first)} is in memory group ${where?.memory ?? '?'} and pids group ${where?.pids ?? '?'}, not /${GROUP}`,
    t`start it from a shell that joined the group first, so that it inherits it: ${byHand(lab, g)}`,
    looked,
  );
}

export default memoryPids;
