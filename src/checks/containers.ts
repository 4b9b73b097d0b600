// Finding a lesson's container from the host, the way a check must: by what the kernel
// shows, not by what the workbook remembers. A process belongs to the lab when its root
// directory (/proc/<pid>/root, which crosses mount namespaces) holds the lab rootfs's
// marker file. That finds containers started by the workbook, by util-linux unshare, by
// chroot, or by a learner's own program alike.
import fs from 'node:fs';
import path from 'node:path';
import { procfs, ROOTFS_MARKER, isPreparedContainer } from '../core/index.js';
import { t } from '../i18n/messages.js';

export interface LabProcess {
  pid: number;
  /** pid in each PID namespace, outermost (host) first */
  nspid: number[];
  comm: string;
  cmdline: string;
  ns: Record<string, string | null>;
}

// user and time too: the core cannot enter those two (see rootless.ts), but it reads them.
const NS_TYPES = ['mnt', 'uts', 'ipc', 'net', 'pid', 'cgroup', 'user', 'time'];

export function hostNamespaces(): Record<string, string | null> {
  return Object.fromEntries(NS_TYPES.map((t) => [t, procfs.nsId('self', t)]));
}

export function describeProcess(pid: number): LabProcess | null {
  try {
    const status = procfs.readStatus(pid);
    return {
      pid,
      nspid: procfs.parseNSpid(status) ?? [pid],
      comm: procfs.comm(pid) ?? '?',
      cmdline: procfs.cmdline(pid) ?? '',
      ns: Object.fromEntries(NS_TYPES.map((t) => [t, procfs.nsId(pid, t)])),
    };
  } catch {
    return null;
  }
}

/** Every live process whose root is a root filesystem with this marker id. */
export function findLabProcesses(markerId: string): LabProcess[] {
  const out: LabProcess[] = [];
  for (const pid of procfs.listPids()) {
    if (pid === process.pid) continue;
    let text: string;
    try {
      text = fs.readFileSync(path.join('/proc', String(pid), 'root', ROOTFS_MARKER), 'utf8');
    } catch {
      continue;
    }
    try {
      if (JSON.parse(text).id !== markerId) continue;
    } catch {
      continue;
    }
    if (!procfs.pidAlive(pid)) continue;
    const p = describeProcess(pid);
    // The TUI's warm start keeps the next step's container prepared, waiting for its
    // command: that is the workbook's, not something the learner started.
    if (p && !isPreparedContainer(p.cmdline)) out.push(p);
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** The pid in the process's own (innermost) PID namespace: the last of NSpid, which
 * describeProcess always fills (with the host pid when there is no NSpid line). */
export function innerPid(p: LabProcess): number {
  return p.nspid[p.nspid.length - 1] ?? p.pid;
}

/** The first process of each container: per mount+pid namespace, the lowest pid in its own namespace. */
export function containerLeaders(procs: LabProcess[]): LabProcess[] {
  const groups = new Map<string, LabProcess>();
  for (const p of procs) {
    const key = `${p.ns.mnt}|${p.ns.pid}`;
    const cur = groups.get(key);
    if (!cur || innerPid(p) < innerPid(cur)) groups.set(key, p);
  }
  // A PID 1 of its own namespace first: that is the container proper. A helper that only
  // unshared (util-linux unshare's parent, our own init stage) shares its root but not its pid.
  const rank = (p: LabProcess) => (p.nspid.length > 1 && innerPid(p) === 1 ? 0 : 1);
  return [...groups.values()].sort((a, b) => rank(a) - rank(b) || a.pid - b.pid);
}

export function describe(p: LabProcess): string {
  return p.nspid.length > 1 ? t`pid ${p.pid} (pid ${innerPid(p)} inside) ${p.comm}` : `pid ${p.pid} ${p.comm}`;
}
