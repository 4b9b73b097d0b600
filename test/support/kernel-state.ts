// A snapshot of the kernel state a test run could leak: mounts, cgroup directories,
// network links, named network namespaces, and processes in other PID namespaces.
import fs from 'node:fs';
import path from 'node:path';
import { TAG_VAR } from '../../src/core/journal.js';

export interface KernelState {
  mounts: string[];
  cgroups: string[];
  links: string[];
  netns: string[];
  foreignPids: string[];
  /** Processes the project starts, wherever they run (a busy loop, an init helper). */
  projectPids: string[];
}

function readMounts(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [left, right] = l.split(' - ');
      if (left === undefined || right === undefined) throw new Error(`not a mountinfo line: ${l}`);
      const f = left.split(' ');
      return `${f[4]} ${right.split(' ')[0]}`;
    });
}

function cgroupDirs(root = '/sys/fs/cgroup', depth = 3): string[] {
  const out: string[] = [];
  const walk = (dir: string, d: number) => {
    if (d > depth) return;
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (!e.isDirectory()) continue;
      const full = path.join(dir, e.name);
      if (d >= 1) out.push(full);
      walk(full, d + 1);
    }
  };
  walk(root, 0);
  // The sandbox's own per-process memory groups come and go with every command.
  return out.filter((p) => !p.includes('/memory/process_api'));
}

function list(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** A zombie has exited and holds nothing but its pid, which its parent clears: for an
 * orphan that is the host's init, and some inits reap only every second or so. */
function isZombie(p: string): boolean {
  try {
    const st = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    return st[st.lastIndexOf(')') + 2] === 'Z';
  } catch {
    return false;
  }
}

function foreignPids(): string[] {
  const mine = fs.readlinkSync('/proc/self/ns/pid');
  const out: string[] = [];
  for (const p of list('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (isZombie(p)) continue;
      if (fs.readlinkSync(`/proc/${p}/ns/pid`) !== mine) out.push(`${p} ${fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim()}`);
    } catch {
      /* gone or kernel thread */
    }
  }
  return out;
}

function projectPids(): string[] {
  const out: string[] = [];
  for (const p of list('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(p) === process.pid || isZombie(p)) continue;
    try {
      // What the project starts carries its tag in the environment (TAG_VAR); its helpers
      // run nsinit.js.
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
      const env = fs.readFileSync(`/proc/${p}/environ`, 'utf8');
      if (env.split('\0').some((v) => v.startsWith(`${TAG_VAR}=`)) || /nsinit\.js/.test(cmd)) out.push(`${p} ${cmd.replace(/\0/g, ' ').slice(0, 60)}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

export function snapshot(): KernelState {
  return {
    mounts: readMounts().sort(),
    cgroups: cgroupDirs().sort(),
    links: list('/sys/class/net').sort(),
    netns: list('/run/netns').sort(),
    foreignPids: foreignPids().sort(),
    projectPids: projectPids().sort(),
  };
}

/** Pure: what `after` holds that `before` did not (leaks), per kind. */
export function leaks(before: KernelState, after: KernelState): Partial<Record<keyof KernelState, string[]>> {
  const out: Partial<Record<keyof KernelState, string[]>> = {};
  for (const k of Object.keys(before) as Array<keyof KernelState>) {
    const seen = new Map<string, number>();
    for (const x of before[k]) seen.set(x, (seen.get(x) ?? 0) + 1);
    const extra: string[] = [];
    for (const x of after[k]) {
      const n = seen.get(x) ?? 0;
      if (n > 0) seen.set(x, n - 1);
      else extra.push(x);
    }
    if (extra.length) out[k] = extra;
  }
  return out;
}

export function describeLeaks(l: ReturnType<typeof leaks>): string {
  return Object.entries(l)
    .map(([k, v]) => `${k}: ${v!.join(', ')}`)
    .join('\n');
}
