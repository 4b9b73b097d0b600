// Lesson 11's picture: the containers a runtime runs on the capstone's image, as the kernel
// shows them from the host, one box each: its root (an overlay on the store's layers), the
// namespaces it does not share with the host, its cgroup and the limits there, its links.
// Whatever runtime made them (the learner's, the workbook's `run`, the suite's probes while
// it checks): a container is found by its root, an overlay whose lowerdir is in the store.
import fs from 'node:fs';
import path from 'node:path';
import { cgroupFileName, cgroupLayout, parseCpuMax, parseLimit, procfs, type Controller } from '../core/index.js';
import { besides, box, clip, line, type DrawOptions, type Picture, type PictureLine } from './picture.js';
import { padColumns, visible } from '../columns.js';
import { t } from '../i18n/messages.js';

/** The namespaces INTERFACE.md asks for, in its order. */
const NAMESPACES = ['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup'] as const;

interface Found {
  /** The host pid of its PID 1 (or of its oldest process when none is 1 inside). */
  pid: number;
  name: string;
  layers: number;
  upper: string;
  processes: number;
}

/** Containers whose root is an overlay on the store at `layers`, one per mount namespace. */
export function findStoreContainers(layers: string): Found[] {
  const hostMnt = procfs.nsId('self', 'mnt');
  const byNs = new Map<string, number[]>();
  for (const pid of procfs.listPids()) {
    const ns = procfs.nsId(pid, 'mnt');
    if (!ns || ns === hostMnt) continue;
    byNs.set(ns, [...(byNs.get(ns) ?? []), pid]);
  }
  const found: Found[] = [];
  for (const pids of byNs.values()) {
    let root: procfs.MountInfo | undefined;
    try {
      root = procfs
        .readMountinfo(pids[0]!)
        .filter((m) => m.mountPoint === '/')
        .at(-1);
    } catch {
      continue; // gone meanwhile
    }
    const lower = root?.fstype === 'overlay' ? procfs.mountOption(root, 'lowerdir') : undefined;
    // A relative lowerdir (overlay2's l/<short>) is relative to the store: runtimes mount from
    // there, as Docker does (the suite reads it so too: lowerdirsOf).
    if (!root || !lower?.split(':').some((l) => path.resolve(layers, l).startsWith(`${layers}/`))) continue;
    const inner = (p: number) => {
      try {
        return procfs.parseNSpid(procfs.readStatus(p))?.at(-1) ?? p;
      } catch {
        return p;
      }
    };
    const pid1 = pids.find((p) => inner(p) === 1) ?? Math.min(...pids);
    const upper = procfs.mountOption(root, 'upperdir') ?? '?';
    // <...>/containers/<name>/<upper>: the interface's example layout names it.
    const parts = upper.split('/');
    const at = parts.lastIndexOf('containers');
    found.push({ pid: pid1, name: at >= 0 && parts[at + 1] ? parts[at + 1]! : `pid ${pid1}`, layers: lower.split(':').length, upper, processes: pids.length });
  }
  return found.sort((a, b) => a.pid - b.pid);
}

/** The limits on the group a process is in, read where each controller lives. */
function limits(pid: number): { group: string; cpu: string; memory: string; pids: string } {
  const none = { group: '?', cpu: '?', memory: '?', pids: '?' };
  let lines: procfs.ProcCgroup[];
  try {
    lines = procfs.parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  } catch {
    return none;
  }
  const layout = cgroupLayout();
  const dirOf = (c: Controller) => {
    const home = layout.controllers[c];
    if (!home) return null;
    const l = home.version === 2 ? lines.find((x) => x.hierarchy === 0) : lines.find((x) => x.controllers.includes(c));
    return l ? { dir: path.join(home.mountPoint, l.path), version: home.version, path: l.path } : null;
  };
  const read = (c: Controller, file: 'cpuQuota' | 'memoryMax' | 'pidsMax') => {
    const d = dirOf(c);
    if (!d) return null;
    try {
      return fs.readFileSync(path.join(d.dir, cgroupFileName(file, d.version)), 'utf8');
    } catch {
      return null;
    }
  };
  const cpuText = read('cpu', 'cpuQuota');
  let cpu = cpuText === null ? '?' : t`no limit`;
  if (cpuText !== null) {
    const d = dirOf('cpu')!;
    const quota = d.version === 2 ? parseCpuMax(cpuText) : { quotaUs: parseLimit(cpuText), periodUs: Number(fs.readFileSync(path.join(d.dir, 'cpu.cfs_period_us'), 'utf8')) };
    if (quota.quotaUs !== null) cpu = t`${Math.round((quota.quotaUs / quota.periodUs) * 100)} % of a CPU`;
  }
  const mem = read('memory', 'memoryMax');
  const memLimit = mem === null ? undefined : parseLimit(mem);
  const pids = read('pids', 'pidsMax');
  const pidsLimit = pids === null ? undefined : parseLimit(pids);
  return {
    group: dirOf('cpu')?.path ?? dirOf('memory')?.path ?? '?',
    cpu,
    memory: memLimit === undefined ? '?' : memLimit === null ? t`no limit` : `${Math.round(memLimit / 2 ** 20)} MiB`,
    pids: pidsLimit === undefined ? '?' : pidsLimit === null ? t`no limit` : String(pidsLimit),
  };
}

/** IPv4 addresses of a network namespace's links (its /proc/<pid>/net/fib_trie's local
 * host entries), loopback left out. */
function addresses(pid: number): string[] {
  try {
    const text = fs.readFileSync(`/proc/${pid}/net/fib_trie`, 'utf8');
    const out = new Set<string>();
    const lines = text.split('\n');
    lines.forEach((l, i) => {
      const m = /\|-- (\d+\.\d+\.\d+\.\d+)$/.exec(l);
      if (m && /\/32 host LOCAL/.test(lines[i + 1] ?? '') && !m[1]!.startsWith('127.')) out.add(m[1]!);
    });
    return [...out];
  } catch {
    return [];
  }
}

function describe(c: Found, width: number, g: DrawOptions['glyphs']): string[] {
  const own = NAMESPACES.map((ns) => `${ns} ${procfs.nsId(c.pid, ns) !== procfs.nsId('self', ns) ? g.on : g.off}`).join('  ');
  const l = limits(c.pid);
  let links: string[] = [];
  try {
    links = procfs.readInterfaces(c.pid);
  } catch {
    /* gone meanwhile */
  }
  const addrs = addresses(c.pid);
  const cmd = procfs.cmdline(c.pid) ?? '?';
  const upper = c.upper.split('/').slice(-2).join('/');
  const rows: Array<[string, string]> = [
    ['PID 1', t`host pid ${c.pid}: ${cmd}`],
    [t`root`, c.layers === 1 ? t`overlay: 1 lower layer + upper ${upper}` : t`overlay: ${c.layers} lower layers + upper ${upper}`],
    [t`own ns`, own],
    ['cgroup', l.group],
    [t`limits`, `cpu ${l.cpu} ${g.v} memory ${l.memory} ${g.v} pids ${l.pids}`],
    [t`links`, `${links.join(', ') || '?'}${addrs.length ? ` (${addrs.join(', ')})` : ''}`],
    [t`procs`, `${c.processes}`],
  ];
  // The labels in a column of their own, measured in columns (a Chinese character takes
  // two): nine, or two more than the widest label.
  const labelW = Math.max(9, ...rows.map(([label]) => visible(label) + 2));
  const inner = rows.map(([label, text]) => ` ${clip(padColumns(label, labelW) + text, width - 4, g)} `);
  return box(`${c.name}`, inner, g, Math.min(width, Math.max(...inner.map(visible)) + 2));
}

export function drawRuntimeContainers(opts: { layers: string; startHint: string }, { width, glyphs: g }: DrawOptions): Picture {
  const found = findStoreContainers(opts.layers);
  const lines: PictureLine[] = [];
  if (!found.length) {
    lines.push(line(clip(t`(no container of the capstone's image runs now)`, width, g), { dim: true }));
    lines.push(line(clip(t`start one: ${opts.startHint}`, width, g), { dim: true }));
    lines.push(line(clip(t`or c: the suite runs its containers, which show here while it checks`, width, g), { dim: true }));
  }
  const shown = found.slice(0, 3);
  for (const text of besides(
    shown.map((c) => describe(c, width, g)),
    width,
  ))
    lines.push(line(text));
  if (found.length > shown.length) lines.push(line(clip(t`+${found.length - shown.length} more`, width, g), { dim: true }));
  return {
    title: t`containers on the capstone's image, as the kernel shows them`,
    lines,
    legend: [t`${g.on} a namespace of its own`, t`${g.off} the host's`, t`limits: from the files of its cgroup`],
  };
}
