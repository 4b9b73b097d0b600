// What the machine offers the lessons, each finding with a fix. Shared by `doctor` and
// (later) the TUI's start screen.
import fs from 'node:fs';
import os from 'node:os';
import { cgroupLayout, rootfsProblem, NAMESPACES, NAMESPACE_TYPES, findHostTool, REQUIRED_TOOLS } from './core/index.js';
import type { Lab } from './lab.js';

export type Level = 'ok' | 'warn' | 'error';

export interface Finding {
  name: string;
  level: Level;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  labRoot: string;
  rootfs: string;
  cgroupMode: string;
  findings: Finding[];
}

function filesystems(): string[] {
  try {
    return fs.readFileSync('/proc/filesystems', 'utf8').split('\n').map((l) => l.split('\t').pop()!.trim()).filter(Boolean);
  } catch {
    return [];
  }
}

function moduleAvailable(name: string): boolean {
  const dir = `/lib/modules/${os.release()}`;
  try {
    return fs.readFileSync(`${dir}/modules.builtin`, 'utf8').includes(`/${name}.ko`) || fs.readFileSync(`${dir}/modules.dep`, 'utf8').includes(`/${name}.ko`);
  } catch {
    return false;
  }
}

/** What doctor reads from the machine; tests pass other answers (a kernel without overlay). */
export interface Probes {
  filesystems: () => string[];
  hasNamespace: (procName: string) => boolean;
  uid: () => number | undefined;
}

export const machine: Probes = {
  filesystems,
  hasNamespace: (t) => fs.existsSync(`/proc/self/ns/${t}`),
  uid: () => process.getuid?.(),
};

/**
 * What this machine offers the lessons. `quick` leaves out the probes that only warn and
 * cost time (finding built-in network modules reads /proc/kallsyms: 5 MB, about 45 ms):
 * the TUI asks quickly whether anything blocks, and asks again in full only to show a
 * problem screen.
 */
export function doctor(lab: Lab, probe: Probes = machine, opts: { quick?: boolean } = {}): DoctorReport {
  const f: Finding[] = [];
  const isRoot = probe.uid() === 0;
  f.push(isRoot ? { name: 'root', level: 'ok', detail: 'running as root' } : { name: 'root', level: 'error', detail: `running as uid ${probe.uid()}`, fix: 'mounts, cgroups and namespaces need root: run it with sudo' });

  const [maj, min] = os.release().split('.').map(Number);
  f.push(
    maj > 5 || (maj === 5 && min >= 4)
      ? { name: 'kernel', level: 'ok', detail: `Linux ${os.release()}` }
      : { name: 'kernel', level: 'warn', detail: `Linux ${os.release()}`, fix: 'kernels before 5.4 lack parts of cgroup v2 and overlay the lessons use; a current distribution VM is best' },
  );

  const fss = probe.filesystems();
  if (fss.includes('overlay')) f.push({ name: 'overlay', level: 'ok', detail: 'overlay is in /proc/filesystems' });
  else if (probe === machine && moduleAvailable('overlay')) f.push({ name: 'overlay', level: 'ok', detail: 'overlay module available (loaded on first mount)' });
  else f.push({ name: 'overlay', level: 'error', detail: 'no overlay filesystem in this kernel', fix: 'modprobe overlay, or use a kernel with CONFIG_OVERLAY_FS (any distribution kernel)' });

  const layout = cgroupLayout();
  const cg: Finding =
    layout.mode === 'none'
      ? { name: 'cgroups', level: 'error', detail: 'no cgroup filesystem is mounted', fix: 'boot a distribution that mounts /sys/fs/cgroup (systemd does)' }
      : layout.cpu
        ? { name: 'cgroups', level: 'ok', detail: `mode ${layout.mode}; cpu controller: v${layout.cpu.version} at ${layout.cpu.mountPoint}` }
        : { name: 'cgroups', level: 'error', detail: `mode ${layout.mode}, but no hierarchy offers the cpu controller`, fix: layout.mode === 'v2' ? 'the cpu controller is missing from cgroup.controllers: is it bound to a v1 hierarchy, or is this a container without delegation? Use a VM' : 'mount the cpu controller' };
  f.push(cg);
  if (layout.cpu) {
    let writable = true;
    try {
      fs.accessSync(layout.cpu.mountPoint, fs.constants.W_OK);
    } catch {
      writable = false;
    }
    if (!writable && isRoot) f.push({ name: 'cgroups writable', level: 'error', detail: `${layout.cpu.mountPoint} is read-only`, fix: 'this looks like a container without cgroup delegation: run the workbook in a VM' });
  }

  for (const t of NAMESPACE_TYPES) {
    const ok = probe.hasNamespace(NAMESPACES[t].proc);
    f.push(ok ? { name: `namespace ${t}`, level: 'ok', detail: `/proc/self/ns/${t}` } : { name: `namespace ${t}`, level: 'error', detail: `the kernel has no ${NAMESPACES[t].title} namespaces`, fix: `use a kernel built with ${NAMESPACES[t].clone.replace('CLONE_NEW', 'CONFIG_')}_NS` });
  }

  // Lesson 6 (networking) needs veth pairs and bridges.
  let symbols: string | null = null;
  const builtIn = (symbol: string) => {
    try {
      symbols ??= fs.readFileSync('/proc/kallsyms', 'utf8');
    } catch {
      symbols = '';
    }
    return symbols.includes(` ${symbol}\n`);
  };
  // Its NAT step needs nf_tables with the nat chain type, nat and masquerade expressions.
  const netModules = [
    ['veth', 'veth_newlink', 'the networking lesson needs it'],
    ['bridge', 'br_dev_xmit', 'the networking lesson needs it'],
    ['nf_tables', 'nft_do_chain', "lesson 6's NAT step needs it"],
    ['nft_chain_nat', 'nft_nat_do_chain', "lesson 6's NAT step needs it"],
    ['nft_nat', 'nft_nat_eval', "lesson 6's NAT step needs it"],
    ['nft_masq', 'nft_masq_eval', "lesson 6's NAT step needs it"],
  ] as const;
  for (const [mod, symbol, why] of opts.quick ? [] : netModules) {
    const detail = fs.existsSync(`/sys/module/${mod}`) ? 'loaded' : moduleAvailable(mod) ? 'module available' : builtIn(symbol) ? 'built into the kernel' : null;
    f.push(detail ? { name: mod, level: 'ok', detail } : { name: mod, level: 'warn', detail: `no ${mod} support found`, fix: `modprobe ${mod} (${why}); a distribution kernel has it` });
  }

  let inContainer: string | null = null;
  if (fs.existsSync('/.dockerenv')) inContainer = 'docker';
  else if (fs.existsSync('/run/.containerenv')) inContainer = 'podman';
  else {
    try {
      const env = fs.readFileSync('/proc/1/environ', 'utf8');
      const m = env.match(/container=([^\0]+)/);
      if (m) inContainer = m[1];
    } catch {
      /* cannot read: not decisive */
    }
  }
  f.push(inContainer ? { name: 'environment', level: 'warn', detail: `running inside a container (${inContainer})`, fix: 'nested containers often lack privileges for mounts and cgroups; a VM works best' } : { name: 'environment', level: 'ok', detail: 'not inside a container as far as can be seen' });

  const missingTools = REQUIRED_TOOLS.filter((t) => !findHostTool(t));
  f.push(missingTools.length ? { name: 'host tools', level: 'warn', detail: `missing: ${missingTools.join(', ')}`, fix: 'the default root filesystem copies these from the host: apt-get install procps iproute2 coreutils' } : { name: 'host tools', level: 'ok', detail: `${REQUIRED_TOOLS.join(', ')} found (copied into the default rootfs)` });

  // The lab: where it is, can we write there, is there room.
  let existing = lab.root;
  while (!fs.existsSync(existing)) existing = existing.replace(/\/[^/]*$/, '') || '/';
  try {
    fs.accessSync(existing, fs.constants.W_OK);
    const st = fs.statfsSync(existing);
    const freeMb = (st.bavail * st.bsize) / 2 ** 20;
    f.push(freeMb > 200 ? { name: 'lab', level: 'ok', detail: `${lab.root} (${Math.round(freeMb)} MiB free)` } : { name: 'lab', level: 'error', detail: `${lab.root}: only ${Math.round(freeMb)} MiB free`, fix: 'free some space or set CONTAINER_LESSONS_HOME to a roomier place' });
  } catch {
    f.push({ name: 'lab', level: 'error', detail: `${lab.root} cannot be written (${existing} is read-only or not ours)`, fix: 'set CONTAINER_LESSONS_HOME to a writable directory' });
  }

  const rp = rootfsProblem(lab.rootfs);
  f.push(!rp ? { name: 'rootfs', level: 'ok', detail: `${lab.rootfs} is ready` } : !fs.existsSync(lab.rootfs) && !lab.customRootfs ? { name: 'rootfs', level: 'ok', detail: `${lab.rootfs} is built on first use (from the host's own tools, no network)` } : { name: 'rootfs', level: 'error', detail: rp.message, fix: rp.hint });

  return { ok: f.every((x) => x.level !== 'error'), labRoot: lab.root, rootfs: lab.rootfs, cgroupMode: layout.mode, findings: f };
}
