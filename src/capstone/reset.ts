// What runtimes under test left in a lab's capstone (a runtime killed, or one with its
// cleanup not written yet): their processes, mounts, containers' directories and cgroups.
// Found by what is the capstone's: processes whose environment names the capstone's lab,
// mounts under it, and cgroups named after the suite's container names, empty ones only.
import fs from 'node:fs';
import path from 'node:path';
import { cgroupLayout, procfs, recover, removeGroupDir, undo, unmount, LockBusyError, TAG_VAR } from '../core/index.js';
import { holdMachineName, type Lab } from '../lab.js';
import { capstoneHome, PROBE_NAMES, PROBE_NAMES_LOCK } from './suite.js';
import { TERM_MS } from './probe.js';
import { t } from '../i18n/messages.js';

/** The names the lesson's own steps give the containers they start. */
export const STEP_NAMES = ['capstone-goal', 'capstone-hello'] as const;
const NAMES: readonly string[] = [...PROBE_NAMES, ...STEP_NAMES];

function environ(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** Remove what runtimes left in the capstone's lab; returns what was removed, a line each. */
export async function resetCapstone(lab: Lab): Promise<string[]> {
  const home = capstoneHome(lab);
  const removed: string[] = [];

  // Processes: the runtimes first, with SIGTERM (they clean up), then whatever is left.
  const mine = `CONTAINER_LESSONS_HOME=${home}`;
  const tags = new Set<string>();
  for (const pid of procfs.listPids()) {
    if (pid === process.pid) continue;
    const env = environ(pid);
    if (!env.includes(mine)) continue;
    const tag = env.find((e) => e.startsWith(`${TAG_VAR}=`))?.slice(TAG_VAR.length + 1);
    if (tag) tags.add(tag);
    else {
      try {
        process.kill(pid, 'SIGKILL');
        removed.push(t`process ${pid} (${procfs.cmdline(pid)?.split('\0')[0] ?? '?'})`);
      } catch {
        /* gone */
      }
    }
  }
  for (const tag of tags) {
    await undo({ kind: 'procs', tag, termMs: TERM_MS });
    removed.push(t`the processes of a run (${tag})`);
  }

  // A killed `container-lessons run`: its own journal.
  const journal = path.join(home, '.journal');
  if (fs.existsSync(journal)) for (const r of (await recover(journal)).removed) removed.push(`${r.kind} ${r.name}`);

  // Mounts under the capstone's lab, deepest first.
  const mounts = procfs
    .readMountinfo('self')
    .map((m) => m.mountPoint)
    .filter((mp) => mp.startsWith(home + '/'))
    .sort((a, b) => b.length - a.length);
  for (const mp of mounts) {
    try {
      unmount(mp);
      removed.push(t`mount ${mp}`);
    } catch {
      /* gone meanwhile */
    }
  }

  // What is in containers/ (the directory itself stays, as a runtime that cleaned up leaves it).
  const containers = path.join(home, 'containers');
  const entries = fs.existsSync(containers) ? fs.readdirSync(containers) : [];
  for (const e of entries) fs.rmSync(path.join(containers, e), { recursive: true, force: true });
  if (entries.length) removed.push(`${containers}/: ${entries.join(', ')}`);
  const hostFile = path.join(home, 'host-only.txt');
  if (fs.existsSync(hostFile)) {
    fs.rmSync(hostFile);
    removed.push(hostFile);
  }

  removed.push(...(await removeNamedGroups()));
  return removed;
}

/** Cgroups named after the capstone's containers (mydocker-capstone-main, ...), up to three
 * levels down each hierarchy, with what is still in them; while holding the names, so that
 * another learner's suite running now keeps its own. */
async function removeNamedGroups(): Promise<string[]> {
  let release: () => void;
  try {
    release = await holdMachineName(PROBE_NAMES_LOCK);
  } catch (err) {
    if (err instanceof LockBusyError) return [t`cgroups left alone: ${err.message}`];
    throw err;
  }
  const removed: string[] = [];
  try {
    const roots = new Set(Object.values(cgroupLayout().controllers).map((c) => c?.mountPoint));
    for (const root of roots) {
      if (!root) continue;
      for (const dir of findDirs(root, 3).filter((d) => NAMES.some((n) => path.basename(d).includes(n)))) {
        // A container whose runtime cleared its environment is found here, in its group.
        const inside = groupProcs(dir);
        for (const pid of inside) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        await procfs.waitReaped(inside, 3000);
        try {
          await removeGroupDir(dir, 100);
          removed.push(inside.length ? t`cgroup ${dir} and the ${inside.length} process(es) in it` : t`cgroup ${dir}`);
        } catch {
          /* in use: a process that would not die */
        }
      }
    }
  } finally {
    release();
  }
  return removed;
}

function groupProcs(dir: string): number[] {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Directories under `root`, `depth` levels down, deepest first. */
function findDirs(root: string, depth: number): string[] {
  const out: string[] = [];
  const walk = (dir: string, d: number) => {
    if (d === 0) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      walk(p, d - 1);
      out.push(p);
    }
  };
  walk(root, depth);
  return out;
}
