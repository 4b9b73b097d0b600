// Readers for what the kernel publishes in /proc. Pure parsers take text (unit-tested
// with fixtures); the read* functions take a pid and read the live file.
import fs from 'node:fs';

export interface MountInfo {
  id: number;
  parent: number;
  dev: string;
  root: string; // path inside the filesystem that forms the root of this mount
  mountPoint: string; // relative to the reading process's root
  options: string;
  optional: string[]; // e.g. ["shared:1"], ["master:3"]
  fstype: string;
  source: string;
  superOptions: string;
}

/** Octal escapes (\040 for a space) as the kernel writes them in mountinfo. */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [left = '', right] = line.split(' - ');
    if (right === undefined) continue;
    const [id, parent, dev, root, mountPoint, options, ...optional] = left.split(' ');
    const [fstype = '', source = '', ...superOptions] = right.split(' ');
    // The kernel writes six fields before the separator.
    if (dev === undefined || root === undefined || mountPoint === undefined || options === undefined) throw new Error(`mountinfo: not a mount line: ${line}`);
    out.push({
      id: Number(id),
      parent: Number(parent),
      dev,
      root: unescapeMountField(root),
      mountPoint: unescapeMountField(mountPoint),
      options,
      optional: optional.filter(Boolean),
      fstype,
      source: unescapeMountField(source),
      superOptions: superOptions.join(' '),
    });
  }
  return out;
}

export function readMountinfo(pid: number | 'self' = 'self'): MountInfo[] {
  return parseMountinfo(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
}

/** The peer group of a shared mount ("shared:N"), or null if the mount is private/slave. */
export function sharedPeerGroup(m: MountInfo): number | null {
  const tag = m.optional.find((o) => o.startsWith('shared:'));
  return tag ? Number(tag.slice(7)) : null;
}

/** A filesystem option's value in a mount's super options: mountOption(m, 'lowerdir') of an
 * overlay is "a:b" (undefined when the option is not there). */
export function mountOption(m: Pick<MountInfo, 'superOptions'>, key: string): string | undefined {
  return m.superOptions
    .split(',')
    .find((o) => o.startsWith(`${key}=`))
    ?.slice(key.length + 1);
}

/** `NSpid:\t4242\t1` -> [4242, 1]: the pid in each PID namespace, outermost first. */
export function parseNSpid(statusText: string): number[] | null {
  const line = statusText.split('\n').find((l) => l.startsWith('NSpid:'));
  if (!line) return null;
  return line.slice(6).trim().split(/\s+/).map(Number);
}

export function readStatus(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/status`, 'utf8');
}

export function statusField(statusText: string, field: string): string | null {
  const line = statusText.split('\n').find((l) => l.startsWith(field + ':'));
  return line ? line.slice(field.length + 1).trim() : null;
}

/** Interface names from /proc/<pid>/net/dev: the interfaces of that process's network namespace. */
export function parseNetDev(text: string): string[] {
  return text
    .split('\n')
    .slice(2)
    .map((l) => (l.split(':')[0] ?? '').trim())
    .filter(Boolean);
}

export function readInterfaces(pid: number | 'self'): string[] {
  return parseNetDev(fs.readFileSync(`/proc/${pid}/net/dev`, 'utf8'));
}

/** The namespace a process is in, as the kernel names it: "mnt:[4026531832]". */
export function nsId(pid: number | 'self' | 'thread-self', type: string): string | null {
  try {
    return fs.readlinkSync(pid === 'thread-self' ? `/proc/thread-self/ns/${type}` : `/proc/${pid}/ns/${type}`);
  } catch {
    return null;
  }
}

/** /proc/<pid>/cgroup lines: "4:cpu,cpuacct:/container" or "0::/container". */
export interface ProcCgroup {
  hierarchy: number;
  controllers: string[];
  path: string;
}

export function parseProcCgroup(text: string): ProcCgroup[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const first = l.indexOf(':');
      const second = l.indexOf(':', first + 1);
      return {
        hierarchy: Number(l.slice(0, first)),
        controllers: l
          .slice(first + 1, second)
          .split(',')
          .filter(Boolean),
        path: l.slice(second + 1),
      };
    });
}

/** CPU time a task has used, in nanoseconds: schedstat's first field, or utime+stime from stat. */
export function taskCpuNs(pid: number, tid?: number): number | null {
  const base = tid === undefined ? `/proc/${pid}` : `/proc/${pid}/task/${tid}`;
  try {
    const s = fs.readFileSync(`${base}/schedstat`, 'utf8');
    return Number(s.split(' ')[0]);
  } catch {
    try {
      const stat = fs.readFileSync(`${base}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      return (ticks * 1e9) / 100; // USER_HZ is 100 on every Linux ABI
    } catch {
      return null;
    }
  }
}

/** Sum of CPU time over all threads of a process. */
export function processCpuNs(pid: number): number | null {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let sum = 0;
  for (const t of tids) sum += taskCpuNs(pid, Number(t)) ?? 0;
  return sum;
}

export function listPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

export function comm(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

export function cmdline(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').split('\0').join(' ');
  } catch {
    return null;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Parent pid of a process, from /proc/<pid>/stat. */
export function ppid(pid: number): number | null {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** Every descendant of a process (children, their children, ...), as the host sees them now. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of listPids()) {
    const pp = ppid(pid);
    if (pp === null) continue;
    if (!children.has(pp)) children.set(pp, []);
    children.get(pp)!.push(pid);
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Wait until the processes have exited: gone, or zombies. A zombie holds no memory,
 * files, mounts or namespaces any more; only its pid waits for its parent, which for an
 * orphan is the host's init (some inits reap only every second or so). */
export async function waitExited(pids: number[], timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (pids.some(pidAlive)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** Wait until the processes are gone from /proc (reaped, not only dead), up to a limit. */
export async function waitReaped(pids: number[], timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (pids.some((p) => fs.existsSync(`/proc/${p}`))) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
