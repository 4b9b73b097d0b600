// What the machine offers the lessons, each finding with a fix. Shared by `doctor` and the
// TUI's problem screen. What is probed beyond the basics (root, kernel, lab, rootfs) comes
// from what each lesson declares it needs (Needs in lessons/types.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cgroupLayout, missingController, rootfsProblem, NAMESPACES, NAMESPACE_TYPES, findHostTool, REQUIRED_TOOLS, usernsSettings, usernsBlocked, describeUserns, type Controller, type UsernsSettings } from './core/index.js';
import { t, tr } from './i18n/messages.js';
import type { Lab } from './lab.js';
import { LESSONS, type Lesson } from './lessons/index.js';
import type { Needs } from './lessons/types.js';
import { sudoCommand } from './sudo-hint.js';

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
    return fs
      .readFileSync('/proc/filesystems', 'utf8')
      .split('\n')
      .map((l) => l.split('\t').pop()!.trim())
      .filter(Boolean);
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
  /** What the kernel allows an unprivileged user to do with user namespaces. */
  userns?: () => UsernsSettings;
  /** The seccomp actions this kernel offers (/proc/sys/kernel/seccomp/actions_avail), null without seccomp filters. */
  seccompActions?: () => string[] | null;
}

function seccompActions(): string[] | null {
  try {
    return fs.readFileSync('/proc/sys/kernel/seccomp/actions_avail', 'utf8').trim().split(/\s+/);
  } catch {
    return null;
  }
}

export const machine: Probes = {
  filesystems,
  hasNamespace: (type) => fs.existsSync(`/proc/self/ns/${type}`),
  uid: () => process.getuid?.(),
  userns: usernsSettings,
  seccompActions,
};

/**
 * What this machine offers the lessons. `quick` leaves out the probes that only warn and
 * cost time (finding built-in kernel modules reads all of /proc/kallsyms, megabytes):
 * the TUI asks quickly whether anything blocks, and asks again in full only to show a
 * problem screen.
 */
export function doctor(lab: Lab, probe: Probes = machine, opts: { quick?: boolean; lessons?: readonly Lesson[] } = {}): DoctorReport {
  const lessons = opts.lessons ?? LESSONS;
  const f: Finding[] = [];
  const isRoot = probe.uid() === 0;
  f.push(
    isRoot ? { name: 'root', level: 'ok', detail: t`running as root` } : { name: 'root', level: 'error', detail: t`running as uid ${probe.uid()}`, fix: t`mounts, cgroups and namespaces need root: ${sudoCommand(process.argv.slice(2))}` },
  );

  // A release that does not parse (NaN) is 'before 5.4': only a warning.
  const [maj = Number.NaN, min = Number.NaN] = os.release().split('.').map(Number);
  f.push(
    maj > 5 || (maj === 5 && min >= 4)
      ? { name: 'kernel', level: 'ok', detail: `Linux ${os.release()}` }
      : { name: 'kernel', level: 'warn', detail: `Linux ${os.release()}`, fix: t`kernels before 5.4 lack parts of cgroup v2 and overlay the lessons use; a current distribution VM is best` },
  );

  // Who needs what: each need once, with the numbers of the lessons that need it.
  const needed = (get: (n: Needs) => readonly string[] | undefined): Map<string, number[]> => {
    const by = new Map<string, number[]>();
    for (const l of lessons) for (const x of get(l.needs ?? {}) ?? []) by.set(x, [...(by.get(x) ?? []), l.number]);
    return by;
  };
  const lessonList = (ns: number[]) => (ns.length === 1 ? t`lesson ${ns[0]}` : t`lessons ${ns.join(', ')}`);
  const forLessons = (ns: number[]) => (ns.length === 1 ? t`lesson ${ns[0]} needs it` : t`lessons ${ns.join(', ')} need it`);

  const fss = probe.filesystems();
  for (const [name, ns] of needed((n) => n.filesystems)) {
    if (fss.includes(name)) f.push({ name, level: 'ok', detail: t`${name} is in /proc/filesystems` });
    else if (probe === machine && moduleAvailable(name)) f.push({ name, level: 'ok', detail: t`${name} module available (loaded on first mount)` });
    else f.push({ name, level: 'error', detail: t`no ${name} filesystem in this kernel (${forLessons(ns)})`, fix: t`modprobe ${name}, or use a kernel with it built in (any distribution kernel)` });
  }

  const layout = cgroupLayout();
  if (layout.mode === 'none') f.push({ name: 'cgroups', level: 'error', detail: t`no cgroup filesystem is mounted`, fix: t`boot a distribution that mounts /sys/fs/cgroup (systemd does)` });
  else f.push({ name: 'cgroups', level: 'ok', detail: t`mode ${layout.mode}` });
  for (const [c, ns] of needed((n) => n.cgroupControllers) as Map<Controller, number[]>) {
    const home = layout.controllers[c];
    if (!home) {
      if (layout.mode === 'none') continue;
      const why = missingController(layout, c);
      f.push({ name: `cgroup ${c}`, level: 'error', detail: `${why.message} (${forLessons(ns)})`, fix: why.hint });
      continue;
    }
    let writable = true;
    try {
      fs.accessSync(home.mountPoint, fs.constants.W_OK);
    } catch {
      writable = false;
    }
    if (!writable && isRoot) f.push({ name: `cgroup ${c}`, level: 'error', detail: t`${home.mountPoint} is read-only`, fix: t`this looks like a container without cgroup delegation: run the workbook in a VM` });
    else f.push({ name: `cgroup ${c}`, level: 'ok', detail: t`${c} controller: v${home.version} at ${home.mountPoint}` });
  }

  // Every namespace: the container core (and `run`) uses them all.
  const nsLessons = needed((n) => n.namespaces);
  for (const type of NAMESPACE_TYPES) {
    const ok = probe.hasNamespace(NAMESPACES[type].proc);
    const ns = nsLessons.get(type);
    const title = tr(NAMESPACES[type].title);
    // Mount namespaces have no option of their own (every kernel has them since 2.4.19).
    const option = type === 'mnt' ? null : `${NAMESPACES[type].clone.replace('CLONE_NEW', 'CONFIG_')}_NS`;
    f.push(
      ok
        ? { name: `namespace ${type}`, level: 'ok', detail: `/proc/self/ns/${type}` }
        : {
            name: `namespace ${type}`,
            level: 'error',
            detail: ns ? t`the kernel has no ${title} namespaces (${forLessons(ns)})` : t`the kernel has no ${title} namespaces`,
            fix: option ? t`use a kernel built with ${option}` : t`every Linux kernel has mount namespaces: is /proc mounted?`,
          },
    );
  }

  // A rootless container: may an unprivileged user make a user namespace, and is the first
  // stage (util-linux setpriv and unshare) there? Only a warning: the other lessons run.
  const rootlessLessons = lessons.filter((l) => l.needs?.rootless).map((l) => l.number);
  if (rootlessLessons.length) {
    const settings = (probe.userns ?? usernsSettings)();
    const blocked = usernsBlocked(settings);
    const missing = ['setpriv', 'unshare'].filter((tool) => !findHostTool(tool));
    f.push(
      blocked
        ? { name: 'user namespaces', level: 'warn', detail: t`an unprivileged user cannot make one: ${blocked.reason} (${forLessons(rootlessLessons)})`, fix: blocked.fix }
        : missing.length
          ? { name: 'user namespaces', level: 'warn', detail: t`no ${missing.join(', ')} for a rootless container's first stage (${forLessons(rootlessLessons)})`, fix: 'apt-get install util-linux' }
          : { name: 'user namespaces', level: 'ok', detail: t`an unprivileged user may make one (${describeUserns(settings)})` },
    );
  }
  const timeLessons = lessons.filter((l) => l.needs?.timeNamespace).map((l) => l.number);
  if (timeLessons.length) {
    f.push(
      probe.hasNamespace('time')
        ? { name: 'namespace time', level: 'ok', detail: '/proc/self/ns/time' }
        : {
            name: 'namespace time',
            level: 'warn',
            detail: t`the kernel has no time namespaces (Linux 5.6+; ${forLessons(timeLessons)}: its time part is skipped)`,
            fix: t`a kernel from 5.6 on, built with CONFIG_TIME_NS (every current distribution)`,
          },
    );
  }

  // seccomp filters (the kernel's, for the workbook's filter and the check that runs it) and
  // the tools of the by-hand route: capsh decodes capabilities, runc loads a filter from a
  // config.json where setpriv cannot (util-linux before 2.41).
  const seccompLessons = lessons.filter((l) => l.needs?.seccomp).map((l) => l.number);
  if (seccompLessons.length) {
    const actions = (probe.seccompActions ?? seccompActions)();
    const lacking = ['errno', 'kill_process', 'allow'].filter((a) => !actions?.includes(a));
    f.push(
      actions === null
        ? { name: 'seccomp', level: 'error', detail: t`this kernel has no seccomp filters (${forLessons(seccompLessons)})`, fix: t`use a kernel built with CONFIG_SECCOMP_FILTER (every distribution kernel)` }
        : lacking.length
          ? { name: 'seccomp', level: 'error', detail: t`the kernel's seccomp lacks the actions ${lacking.join(', ')} (${forLessons(seccompLessons)})`, fix: t`a kernel from 4.14 on has them all` }
          : { name: 'seccomp', level: 'ok', detail: t`filters with the actions ${actions.join(' ')}` },
    );
    if (!opts.quick) {
      const tools = ['capsh', 'setpriv', 'runc'].filter((tool) => !findHostTool(tool));
      f.push(
        tools.length
          ? {
              name: 'capability tools',
              level: 'warn',
              detail: t`no ${tools.join(', ')}: the by-hand route of ${lessonList(seccompLessons)} uses them`,
              fix: 'apt-get install libcap2-bin util-linux runc (dnf install libcap util-linux runc)',
            }
          : { name: 'capability tools', level: 'ok', detail: t`capsh, setpriv and runc are installed` },
      );
    }
  }

  // The capstone's starting points in C and Rust, built with the learner's compiler; the bash
  // one needs none, so a missing compiler is said, not warned of.
  const compilerLessons = lessons.filter((l) => l.needs?.compilers).map((l) => l.number);
  if (compilerLessons.length && !opts.quick) {
    const found = ['cc', 'rustc'].filter((tool) => onPath(tool, lab));
    const lacking = ['cc', 'rustc'].filter((tool) => !found.includes(tool));
    const have = found.length === 2 ? t`${found[0]} and ${found[1]} found` : found.length === 1 ? t`${found[0]} found` : t`no cc or rustc`;
    const [bash, ...langs] = ['bash', ...found.map((tool) => (tool === 'cc' ? 'C' : 'Rust'))];
    const written = langs.length === 2 ? t`${bash} or ${langs[0]} or ${langs[1]}` : langs.length === 1 ? t`${bash} or ${langs[0]}` : bash;
    const install = lacking.length ? ` (${lacking.map((tool) => (tool === 'cc' ? 'C: apt-get install gcc' : 'Rust: apt-get install rustc')).join('; ')})` : '';
    f.push({
      name: 'compilers',
      level: 'ok',
      detail: t`${have}: the runtime of ${lessonList(compilerLessons)} can be written in ${written}${install}`,
    });
  }

  // Kernel modules (a network lesson's veth, bridge, nf_tables): loaded, available or built in.
  let symbols: string | null = null;
  const builtIn = (symbol: string) => {
    try {
      symbols ??= fs.readFileSync('/proc/kallsyms', 'utf8');
    } catch {
      symbols = '';
    }
    return symbols.includes(` ${symbol}\n`);
  };
  const symbolOf = new Map(lessons.flatMap((l) => l.needs?.kernelModules ?? []).map((m) => [m.name, m.symbol]));
  for (const [mod, ns] of opts.quick ? [] : needed((n) => n.kernelModules?.map((m) => m.name))) {
    const symbol = symbolOf.get(mod)!;
    const detail = fs.existsSync(`/sys/module/${mod}`) ? t`loaded` : moduleAvailable(mod) ? t`module available` : builtIn(symbol) ? t`built into the kernel` : null;
    f.push(detail ? { name: mod, level: 'ok', detail } : { name: mod, level: 'warn', detail: t`no ${mod} support found`, fix: t`modprobe ${mod} (${forLessons(ns)}); a distribution kernel has it` });
  }

  let inContainer: string | null = null;
  if (fs.existsSync('/.dockerenv')) inContainer = 'docker';
  else if (fs.existsSync('/run/.containerenv')) inContainer = 'podman';
  else {
    try {
      const env = fs.readFileSync('/proc/1/environ', 'utf8');
      const name = env.match(/container=([^\0]+)/)?.[1];
      if (name) inContainer = name;
    } catch {
      /* cannot read: not decisive */
    }
  }
  f.push(
    inContainer
      ? { name: 'environment', level: 'warn', detail: t`running inside a container (${inContainer})`, fix: t`nested containers often lack privileges for mounts and cgroups; a VM works best` }
      : { name: 'environment', level: 'ok', detail: t`not inside a container as far as can be seen` },
  );

  const missingTools = REQUIRED_TOOLS.filter((tool) => !findHostTool(tool));
  f.push(
    missingTools.length
      ? { name: 'host tools', level: 'warn', detail: t`missing: ${missingTools.join(', ')}`, fix: t`the default root filesystem copies these from the host: apt-get install procps iproute2 coreutils` }
      : { name: 'host tools', level: 'ok', detail: t`${REQUIRED_TOOLS.join(', ')} found (copied into the default rootfs)` },
  );

  // The lab: where it is, can we write there, is there room.
  let existing = lab.root;
  while (!fs.existsSync(existing)) existing = existing.replace(/\/[^/]*$/, '') || '/';
  try {
    fs.accessSync(existing, fs.constants.W_OK);
    const st = fs.statfsSync(existing);
    const freeMb = (st.bavail * st.bsize) / 2 ** 20;
    f.push(
      freeMb > 200
        ? { name: 'lab', level: 'ok', detail: t`${lab.root} (${Math.round(freeMb)} MiB free)` }
        : { name: 'lab', level: 'error', detail: t`${lab.root}: only ${Math.round(freeMb)} MiB free`, fix: t`free some space or set CONTAINER_LESSONS_HOME to a roomier place` },
    );
  } catch {
    f.push({ name: 'lab', level: 'error', detail: t`${lab.root} cannot be written (${existing} is read-only or not ours)`, fix: t`set CONTAINER_LESSONS_HOME to a writable directory` });
  }

  const rp = rootfsProblem(lab.rootfs);
  f.push(
    !rp
      ? { name: 'rootfs', level: 'ok', detail: t`${lab.rootfs} is ready` }
      : !fs.existsSync(lab.rootfs) && !lab.customRootfs
        ? { name: 'rootfs', level: 'ok', detail: t`${lab.rootfs} is built on first use (from the host's own tools, no network)` }
        : { name: 'rootfs', level: 'error', detail: rp.message, fix: rp.hint },
  );

  return { ok: f.every((x) => x.level !== 'error'), labRoot: lab.root, rootfs: lab.rootfs, cgroupMode: layout.mode, findings: f };
}

/** A compiler the learner can run: on this PATH, the host's usual directories, or the
 * invoking user's ~/.cargo/bin (rustup's, not on sudo's PATH). */
function onPath(name: string, lab: Lab): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), path.join(lab.invoker.home, '.cargo', 'bin')];
  return (
    !!findHostTool(name) ||
    dirs.some((d) => {
      try {
        fs.accessSync(path.join(d, name), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    })
  );
}
