// Locking root in: the chroot escape, then the three locks Docker puts on a container's
// root: a bounding set of 14 capabilities, no_new_privs and a seccomp filter. The locks are
// applied by the core's PID 1 right before its execve (core/confine.ts), the escape is the
// core's own program (core/escape.ts), and the checks read the container's
// /proc/<pid>/status and, through ptrace, its seccomp filters, which they run for the
// syscalls that must be refused.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  startContainer,
  probeNamespaces,
  runEscape,
  readSeccompFilters,
  procfs,
  seccomp,
  DOCKER_DEFAULT_CAPS,
  decodeCaps,
  parseProcSecurity,
  type Confinement,
  type EscapeResult,
  type Namespace,
  type Running,
  type Ledger,
} from '../core/index.js';
import { pass, fail, skip, type CheckResult } from '../checks/result.js';
import { t } from '../i18n/messages.js';
import { describe } from '../checks/containers.js';
import { chownToInvoker, type Lab } from '../lab.js';
import { defineLesson, earlier, type LessonContext } from './types.js';
import { hostShell, inContainer, lines } from './show.js';
import { rootfsStep, locateContainer, killLabContainers, IDLE_SHELL, LOCATED, type ContainerState } from './container-common.js';
import { stillPicture } from '../pictures/picture.js';
import { drawCapabilities } from '../pictures/capabilities.js';

export const HOSTNAME = 'locked';
/** The namespaces of the lesson's container: lesson 5's, as `docker run` gives them. */
const NS: Namespace[] = ['mnt', 'uts', 'ipc', 'pid', 'net'];
const PATHS = {
  /** A file on the host that no container may read. */
  hostMarker: 'host-secret.txt',
  /** The filter the core builds, as raw BPF (8 bytes an instruction), for setpriv --seccomp-filter. */
  filter: 'seccomp/refuse.bpf',
  /** An OCI bundle: the same container as runc's config.json. */
  bundle: 'runc-bundle',
};
/** The name of the runc container the text starts (its state is in /run/runc/<name>). */
export const RUNC_ID = 'container-lessons-locked';
/** A setuid copy of id(1), made inside the container to show what no_new_privs stops. */
const SETUID_ID = '/tmp/id-setuid';
/** The uid the setuid demonstration switches to inside the container (no passwd entry needed). */
const PLAIN_UID = 1000;

const marker = (lab: Lab) => path.join(lab.root, PATHS.hostMarker);
const filterFile = (lab: Lab) => path.join(lab.root, PATHS.filter);
const bundleDir = (lab: Lab) => path.join(lab.root, PATHS.bundle);

/** Docker's capabilities as setpriv's --bounding-set takes them. */
export const SETPRIV_CAPS = `-all,${DOCKER_DEFAULT_CAPS.map((c) => '+' + c.slice(4).toLowerCase()).join(',')}`;

/** The confinement of the finished container: what `docker run` gives a container's root. */
export function lockedDown(): Confinement {
  return { capabilities: [...DOCKER_DEFAULT_CAPS], noNewPrivs: true, seccomp: [seccomp.lessonFilter()] };
}

/** Lesson 3's container by hand, ending in `last` (what replaces the setup shell). */
const pivoted = (lab: Lab, last: string, before = '') =>
  `unshare --mount --uts --ipc --pid --net --fork sh -c '${before}mount --make-rprivate /; hostname ${HOSTNAME}; mount --bind ${lab.rootfs} ${lab.rootfs}; cd ${lab.rootfs}; mkdir -p .old_root; pivot_root . .old_root; mount -t proc proc /proc; umount -l /.old_root; rmdir /.old_root; cd /; exec ${last}'`;

/** The locked container by hand: the locks go on last, since they would stop the setup.
 * With `filter` (a setpriv that loads one), the filter file is opened as fd 3 before
 * pivot_root hides the lab. */
export const byHand = (lab: Lab, filter?: string) =>
  filter
    ? pivoted(lab, `setpriv --bounding-set ${SETPRIV_CAPS} --inh-caps -all --no-new-privs --seccomp-filter /proc/self/fd/3 sh`, `exec 3<${filter}; `)
    : pivoted(lab, `setpriv --bounding-set ${SETPRIV_CAPS} --inh-caps -all --no-new-privs sh`);

/** Does this machine's setpriv load a seccomp filter (util-linux 2.41 and later)? */
export function setprivLoadsFilters(): boolean {
  const r = spawnSync('setpriv', ['--help'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('--seccomp-filter');
}

/** The same container as an OCI runtime's config.json: what runc reads from a bundle. */
export function runcConfig(lab: Lab, opts: { terminal: boolean; args: string[] } = { terminal: true, args: ['sh'] }) {
  const caps = [...DOCKER_DEFAULT_CAPS];
  const arch = seccomp.seccompArch();
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: opts.terminal,
      user: { uid: 0, gid: 0 },
      args: opts.args,
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: true,
    },
    // Relative to the bundle (the OCI spec allows it): the text's copy holds no long path.
    root: { path: path.relative(bundleDir(lab), lab.rootfs), readonly: false },
    hostname: HOSTNAME,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }],
      seccomp: {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: [`SCMP_ARCH_${arch.name.toUpperCase()}`],
        syscalls: [
          { names: [...seccomp.REFUSED], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
          { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        ],
      },
    },
  };
}

/** The checks, by the titles their results carry (the text lists each). */
const CHECKS = {
  pivoted: 'its own mount namespace, the old root gone',
  escape: 'the chroot escape finds no host file',
  caps: "capabilities no wider than Docker's 14",
  nnp: 'no_new_privs is set',
  seccomp: "a seccomp filter refuses unshare and Docker's other refusals",
} as const;

const read = (file: string): string | null => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/** The host's file no container may read: written when missing (by a step, with the
 * ledger removing it when the lesson ends; by the check, for reset to remove). */
function writeMarker(lab: Lab, ledger?: Ledger): string {
  const file = marker(lab);
  if (!fs.existsSync(file)) {
    ledger?.add({ kind: 'file', path: file });
    fs.writeFileSync(file, 'only the host can read this\n');
    chownToInvoker(lab, file);
  }
  return file;
}

/** Write a file of the lab for the by-hand route while the lesson is open; the ledger
 * removes it (and its directory, when this made it) when the lesson ends. */
function writeLabFile(ctx: LessonContext<LockState>, file: string, data: string | Buffer): void {
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) {
    ctx.ledger.add({ kind: 'file', path: dir });
    fs.mkdirSync(dir, { recursive: true });
    chownToInvoker(ctx.lab, dir);
  } else ctx.ledger.add({ kind: 'file', path: file });
  fs.writeFileSync(file, data);
  chownToInvoker(ctx.lab, file);
}

/** The escape's outcome, one line a syscall, as the text shows the program. */
export function showEscape(e: EscapeResult, file: string): string {
  const entries = `${e.rootEntries.slice(0, 8).join(' ')}${e.rootEntries.length > 8 ? ' ...' : ''}`;
  return lines(
    ...e.steps.map((s) => `${s.call} -> ${s.ok ? 'ok' : s.error}`),
    e.reachedHostRoot ? t`ended in the host's /: ${entries}` : t`ended in a / that is not the host's: ${entries}`,
    e.marker === null ? t`${file}: not found from there` : t`${file}: "${e.marker.trim()}"  <- read from inside the container`,
  );
}

/** The capability lines of a process's status, decoded. */
function showCaps(pid: number): string {
  const sec = parseProcSecurity(procfs.readStatus(pid));
  const names = (m: bigint) => {
    const n = decodeCaps(m);
    return n.length ? `${n.length}: ${n.map((c) => c.slice(4).toLowerCase()).join(' ')}` : 'none';
  };
  return lines(`CapBnd ${names(sec.bounding)}`, `CapEff ${names(sec.effective)}`, `CapInh ${names(sec.inheritable)}`, `NoNewPrivs: ${sec.noNewPrivs ? 1 : 0}   Seccomp: ${sec.seccomp}   Seccomp_filters: ${sec.seccompFilters}`);
}

/** Restart the lesson's container with these locks (the earlier one ends first). */
async function restart(ctx: LessonContext<LockState>, confine?: Confinement): Promise<Running> {
  await ctx.state.container?.kill();
  const c = await startContainer({ rootfs: ctx.lab.rootfs, namespaces: NS, hostname: HOSTNAME, mountProc: true, confine, argv: IDLE_SHELL, detach: ctx.keep }, ctx.ledger);
  ctx.state.container = c;
  return c;
}

/** A command inside the container as `docker exec` runs one: with the container's own locks. */
const inside = (c: Running, cmd: string) => inContainer(c, NS, cmd, { confine: 'copy' });

/** The lesson's state: its container, and whether the setuid copy is in the ledger. */
interface LockState extends ContainerState {
  setuidCopy?: boolean;
}

/** The setuid copy of id the no_new_privs steps use: made inside, removed when the lesson
 * ends (registered before it is made, so that a kill in between leaves nothing). */
function setuidCopy(ctx: LessonContext<LockState>): void {
  if (ctx.state.setuidCopy) return;
  ctx.ledger.add({ kind: 'file', path: path.join(ctx.lab.rootfs, SETUID_ID) });
  ctx.state.setuidCopy = true;
}
const asPlainUser = (file: string) => `setpriv --reuid ${PLAIN_UID} --regid ${PLAIN_UID} --clear-groups ${file}`;

const lesson = defineLesson<LockState>({
  id: 'locking-root-in',
  title: 'Locking root in: the chroot escape, capabilities, no_new_privs and seccomp',
  text: '10-locking-root-in.md',
  labPaths: PATHS,
  placeholders: (lab) => ({
    setprivCaps: SETPRIV_CAPS,
    dockerCaps: DOCKER_DEFAULT_CAPS.map((c) => c.slice(4).toLowerCase()).join(', '),
    runcId: RUNC_ID,
    arch: seccomp.seccompArch().name,
    plainUid: String(PLAIN_UID),
    filterListing: seccomp.disassemble(seccomp.lessonFilter()).join('\n'),
    filterBase64: seccomp.encodeFilter(seccomp.lessonFilter()).toString('base64'),
    runcConfig: JSON.stringify(runcConfig(lab), null, 2),
  }),
  needs: { namespaces: NS, seccomp: true },
  newState: () => ({}),
  checks: [LOCATED, ...Object.values(CHECKS)],
  steps: [
    rootfsStep,
    {
      title: 'The escape: root in a plain chroot walks out to the host',
      commands: (lab) => [`echo only the host can read this > ${marker(lab)}`, `chroot ${lab.rootfs} sh        # root in a chroot, nothing else; then the escape (the program in the text)`],
      async run(ctx) {
        const file = writeMarker(ctx.lab, ctx.ledger);
        const c = await startContainer({ rootfs: ctx.lab.rootfs, namespaces: [], argv: IDLE_SHELL }, ctx.ledger);
        try {
          const e = await runEscape(c.pid, file);
          return lines(t`chroot("${ctx.lab.rootfs}"), chdir("/"), execve("/bin/sh"): host pid ${c.pid}, in every namespace of the host`, t`# the escape, run with its root and its capabilities (all of them):`, showEscape(e, file));
        } finally {
          await c.kill();
        }
      },
    },
    {
      title: "The same program in lesson 3's container: pivot_root left nothing above its root",
      commands: (lab) => [pivoted(lab, 'sh')],
      async run(ctx) {
        const file = writeMarker(ctx.lab, ctx.ledger);
        const c = await restart(ctx);
        const e = await runEscape(c.pid, file);
        return lines(t`unshare(${NS.map((n) => n.toUpperCase()).join('|')}), pivot_root, umount2(".old_root", MNT_DETACH), execve("/bin/sh"): host pid ${c.pid}`, showEscape(e, file));
      },
    },
    {
      title: 'Capabilities: root in that container holds all that root holds on the host',
      commands: () => ['grep -E "^Cap" /proc/<pid>/status', 'capsh --decode=<CapEff>', 'mount -t tmpfs none /mnt; ip link add br0 type bridge      # inside: both work'],
      async run(ctx) {
        const c = earlier(ctx.state.container, t`the container`);
        return lines(
          await hostShell(`grep -E '^Cap' /proc/${c.pid}/status`),
          t`# decoded:`,
          showCaps(c.pid),
          await inside(c, 'mount -t tmpfs none /mnt && echo mounted a tmpfs; umount /mnt; ip link add br0 type bridge && ip -brief link show br0; ip link del br0'),
        );
      },
    },
    {
      title: "Docker's 14: the bounding set dropped to match, and what root can no longer do",
      // Its container's first stage, then four looks at once.
      helpers: 5,
      commands: () => [
        `setpriv --bounding-set ${SETPRIV_CAPS} --inh-caps -all sh     # as PID 1's last step`,
        'mount -t tmpfs none /mnt; ip link add br0 type bridge; hostname other    # inside: EPERM',
        'unshare --user --map-root-user sh -c "mount -t tmpfs none /mnt && echo mounted"   # still works',
      ],
      async run(ctx) {
        const c = await restart(ctx, { capabilities: [...DOCKER_DEFAULT_CAPS] });
        setuidCopy(ctx);
        // Four independent looks, each its own helper, run at once. They may overlap only
        // because this container has no seccomp filter: copying one takes a ptrace attach,
        // and a process has one tracer at a time (the steps with a filter run theirs in turn).
        const [e, refused, userns, setuid] = await Promise.all([
          runEscape(c.pid, marker(ctx.lab)),
          inside(c, 'mount -t tmpfs none /mnt; ip link add br0 type bridge; hostname other'),
          inside(c, 'unshare --user --map-root-user --mount sh -c "mount -t tmpfs none /mnt && echo mounted a tmpfs in a user namespace of its own"'),
          inside(c, `cp /bin/id ${SETUID_ID} && chmod u+s ${SETUID_ID} && ${asPlainUser(SETUID_ID)}`),
        ]);
        return lines(
          t`# PID 1, before its execve: prctl(PR_CAPBSET_DROP) for each capability not in Docker's list, capset(); host pid ${c.pid}`,
          showCaps(c.pid),
          refused,
          t`# the escape: chroot is still allowed (CAP_SYS_CHROOT is one of the 14), but there is nothing above the root:`,
          showEscape(e, marker(ctx.lab)),
          t`# a door the capabilities leave open: a user namespace needs no capability, and gives root in it every one`,
          userns,
          t`# a setuid-root program still raises an ordinary user to root:`,
          setuid,
        );
      },
    },
    {
      title: 'no_new_privs: execve can no longer grant anything, a setuid bit included',
      commands: () => [`setpriv --bounding-set ${SETPRIV_CAPS} --inh-caps -all --no-new-privs sh`, 'grep NoNewPrivs /proc/1/status', `${asPlainUser(SETUID_ID)}      # inside: no euid=0 any more`],
      async run(ctx) {
        const c = await restart(ctx, { capabilities: [...DOCKER_DEFAULT_CAPS], noNewPrivs: true });
        setuidCopy(ctx);
        if (!fs.existsSync(path.join(ctx.lab.rootfs, SETUID_ID))) await inside(c, `cp /bin/id ${SETUID_ID} && chmod u+s ${SETUID_ID}`);
        return lines(t`# PID 1, before its execve: prctl(PR_SET_NO_NEW_PRIVS, 1); host pid ${c.pid}`, showCaps(c.pid), await inside(c, `ls -l ${SETUID_ID}; ${asPlainUser(SETUID_ID)}`));
      },
    },
    {
      title: 'seccomp: the filter the core builds, instruction by instruction',
      commands: (lab) => [`od -A d -t x1 -w8 ${filterFile(lab)} | head     # the core wrote its filter there, 8 bytes an instruction`],
      async run(ctx) {
        const arch = seccomp.seccompArch();
        const filter = seccomp.lessonFilter(arch);
        const file = filterFile(ctx.lab);
        writeLabFile(ctx, file, seccomp.encodeFilter(filter));
        return lines(t`# ${arch.name}: ${filter.length} instructions; run for every syscall of the process, on the data of struct seccomp_data`, ...seccomp.disassemble(filter, arch), t`# written to ${file} (${filter.length * 8} bytes)`);
      },
    },
    {
      title: "All three locks: Docker's capabilities, no_new_privs and the filter",
      // Its container's first stage, the escape, two commands inside.
      helpers: 4,
      commands: () => ['grep -E "^(Cap|NoNewPrivs|Seccomp)" /proc/<pid>/status', 'unshare --user --map-root-user true      # inside: Operation not permitted'],
      async run(ctx) {
        const c = await restart(ctx, lockedDown());
        const e = await runEscape(c.pid, marker(ctx.lab));
        return lines(
          t`# PID 1, before its execve: the bounding set, no_new_privs, seccomp(SECCOMP_SET_MODE_FILTER), capset; host pid ${c.pid}`,
          showCaps(c.pid),
          await inside(c, 'unshare --user --map-root-user true'),
          await inside(c, 'mount -t tmpfs none /mnt'),
          t`# the escape:`,
          showEscape(e, marker(ctx.lab)),
        );
      },
    },
    {
      title: "The same container for runc: an OCI bundle's config.json",
      commands: (lab) => [`cat ${bundleDir(lab)}/config.json`, `runc run --bundle ${bundleDir(lab)} ${RUNC_ID}     # a second terminal, if runc is installed`],
      async run(ctx) {
        const dir = bundleDir(ctx.lab);
        const file = path.join(dir, 'config.json');
        const config = runcConfig(ctx.lab);
        writeLabFile(ctx, file, JSON.stringify(config, null, 2) + '\n');
        const runc = spawnSync('runc', ['--version'], { encoding: 'utf8' });
        return lines(
          t`# written to ${file}; the parts that lock root in:`,
          JSON.stringify({ capabilities: t`${config.process.capabilities.bounding.length} of them, as bounding, effective and permitted`, noNewPrivileges: true, seccomp: config.linux.seccomp }, null, 2),
          runc.status === 0 ? t`# ${runc.stdout.split('\n')[0]} is installed: runc run --bundle ${dir} ${RUNC_ID}` : t`# runc is not installed here (apt install runc, dnf install runc): the workbook does not need it`,
        );
      },
    },
  ],

  async check(lab) {
    const located = locateContainer(lab, 'mnt', byHand(lab));
    if (Array.isArray(located)) return located;
    const { own, host, results } = located;
    const pid = own.pid;
    const file = writeMarker(lab);

    // The probe and the escape are two helpers that only read: both start at once. The
    // filters (checkSeccomp) are read after the escape, as both attach with ptrace, and a
    // process has one tracer at a time.
    const probing = own.ns.mnt === host.mnt ? null : probeNamespaces(pid, [file]);
    const escaping = runEscape(pid, file);
    // Each is awaited below; a rejection seen only after an early return is still handled.
    probing?.catch(() => undefined);
    escaping.catch(() => undefined);

    // The mount namespace: its root must be the rootfs, with nothing of the host's left.
    const mntLooked = [`/proc/${pid}/ns/mnt`, '/proc/self/ns/mnt', t`${file} (from inside)`];
    if (own.ns.mnt === host.mnt) {
      results.push(
        fail(
          CHECKS.pivoted,
          t`${describe(own)} is in the host's mount namespace: a chroot, with the host's whole tree still under it`,
          t`start it with unshare --mount, then pivot_root into the rootfs and detach the old root (lesson 3)`,
          mntLooked,
        ),
      );
    } else {
      try {
        const probe = await probing!;
        results.push(
          probe.nsRootIsRootfs && !probe.visible[file]
            ? pass(CHECKS.pivoted, t`${own.ns.mnt}, whose root is the rootfs; ${file} is not there`, mntLooked)
            : fail(
                CHECKS.pivoted,
                probe.visible[file] ? t`${file} can be read from the root of its mount namespace` : t`the root of its mount namespace is not the rootfs: a chroot inside a namespace that still holds the host's root`,
                t`pivot_root . .old_root, then umount -l /.old_root (lesson 3)`,
                mntLooked,
              ),
        );
      } catch (err) {
        results.push(fail(CHECKS.pivoted, (err as Error).message, t`the container ended while it was checked: start it again`, mntLooked));
        await escaping.catch(() => undefined); // no helper outlives the check
        return results;
      }
    }

    // The escape, run with the container's root, namespaces and locks.
    const escLooked = [`/proc/${pid}/root`, t`/proc/${pid}/status (its capabilities and no_new_privs, taken on)`, t`its seccomp filters (taken on)`, file];
    try {
      const e = await escaping;
      const shown = e.steps.map((s) => `${s.call} ${s.ok ? 'ok' : s.error}`).join(', ');
      results.push(
        e.marker === null && !e.reachedHostRoot
          ? pass(CHECKS.escape, t`${shown}: ${file} not found`, escLooked)
          : fail(
              CHECKS.escape,
              t`the escape reached the host's root and read ${file}: ${shown}. A chroot moves a process's root, not its working directory: chdir("..") from outside the new root climbs to the real one`,
              t`a chroot is no wall for root: give the container its own mount namespace and pivot_root, so that nothing is above its root (lesson 3), or take CAP_SYS_CHROOT away`,
              escLooked,
            ),
      );
    } catch (err) {
      results.push(fail(CHECKS.escape, (err as Error).message, t`the container ended while it was checked: start it again`, escLooked));
    }

    const statusFile = `/proc/${pid}/status`;
    const sec = parseProcSecurity(read(statusFile) ?? '');
    const allowed = new Set<string>(DOCKER_DEFAULT_CAPS);
    const wider = (mask: bigint) => decodeCaps(mask).filter((c) => !allowed.has(c));
    const extraBounding = wider(sec.bounding);
    const extraEffective = wider(sec.effective);
    const shortNames = (l: string[]) => l.map((c) => c.slice(4).toLowerCase());
    const capsHeld = extraBounding.length ? t`CapBnd holds ${extraBounding.length} beyond Docker's: ${shortNames(extraBounding).join(' ')}` : t`CapEff holds ${shortNames(extraEffective).join(' ')}`;
    const adminNote = extraBounding.includes('CAP_SYS_ADMIN') ? t` (CAP_SYS_ADMIN alone lets root mount, unshare and much else)` : '';
    results.push(
      extraBounding.length || extraEffective.length
        ? fail(CHECKS.caps, `${capsHeld}${adminNote}`, t`drop them from the bounding set as PID 1's last step before its shell: setpriv --bounding-set ${SETPRIV_CAPS} --inh-caps -all sh (or capsh --drop=...)`, [statusFile])
        : pass(CHECKS.caps, t`CapBnd ${decodeCaps(sec.bounding).length}, CapEff ${decodeCaps(sec.effective).length}, all among Docker's 14`, [statusFile]),
    );

    results.push(
      sec.noNewPrivs
        ? pass(CHECKS.nnp, 'NoNewPrivs: 1', [statusFile])
        : fail(
            CHECKS.nnp,
            t`NoNewPrivs: 0: a setuid program run inside still gains its owner (and file capabilities their capabilities)`,
            t`set it before the shell: setpriv --no-new-privs (prctl PR_SET_NO_NEW_PRIVS), "noNewPrivileges": true for runc`,
            [statusFile],
          ),
    );

    results.push(await checkSeccomp(pid, sec, statusFile));
    return results;
  },

  hints: (lab) => [
    t`chroot changes a process's root, not its working directory; root may chroot again and climb out with chdir(".."). A mount namespace with pivot_root leaves nothing above the root. Root in a container still holds every capability unless its bounding set is cut; no_new_privs stops execve from granting more (setuid); a seccomp filter refuses syscalls a capability does not guard (a user namespace needs none).`,
    t`Read /proc/<pid>/status: CapBnd and CapEff (capsh --decode), NoNewPrivs, Seccomp and Seccomp_filters. The locks go on last, in PID 1 just before its shell: prctl(PR_CAPBSET_DROP), prctl(PR_SET_NO_NEW_PRIVS), seccomp(SECCOMP_SET_MODE_FILTER) with the program in ${filterFile(lab)} (written by the filter step). setpriv --seccomp-filter loads it (util-linux 2.41 and later); otherwise runc does it from ${bundleDir(lab)}/config.json.`,
    t`Leave one running: ${byHand(lab, filterFile(lab))}   (setpriv 2.41+), or, with runc: runc run --bundle ${bundleDir(lab)} ${RUNC_ID}`,
  ],
  picture: stillPicture((lab, opts) => drawCapabilities({ rootfs: lab.rootfs }, opts)),

  async reset(lab) {
    const removed = await killLabContainers(lab);
    if (fs.existsSync(`/run/runc/${RUNC_ID}`)) {
      const r = spawnSync('runc', ['delete', '--force', RUNC_ID], { encoding: 'utf8' });
      if (r.status === 0) removed.push(t`runc container ${RUNC_ID}`);
    }
    for (const p of [path.join(lab.rootfs, SETUID_ID), marker(lab), filterFile(lab), path.dirname(filterFile(lab)), bundleDir(lab)]) {
      if (!fs.existsSync(p)) continue;
      fs.rmSync(p, { recursive: true, force: true });
      removed.push(p);
    }
    return removed;
  },
  async shell(ctx) {
    const c = ctx.state.container?.running ? ctx.state.container : await restart(ctx, lockedDown());
    return { kind: 'container', pid: c.pid, namespaces: NS, confine: 'copy', title: t`inside the container (host pid ${c.pid}), with its locks, as docker exec` };
  },
});

/** Run the container's filters (read back through ptrace) for each syscall Docker refuses. */
async function checkSeccomp(pid: number, sec: ReturnType<typeof parseProcSecurity>, statusFile: string): Promise<CheckResult> {
  const title = CHECKS.seccomp;
  if (sec.seccomp !== 2) {
    return fail(
      title,
      t`Seccomp: ${sec.seccomp}: no filter, so every syscall reaches the kernel; unshare --user needs no capability at all`,
      t`install a filter as the last step before the shell: setpriv --seccomp-filter <file> (util-linux 2.41+) or runc with "seccomp" in config.json`,
      [statusFile],
    );
  }
  const looked = [statusFile, t`its ${sec.seccompFilters} seccomp filter(s), read with ptrace(PTRACE_SECCOMP_GET_FILTER) and run here`];
  let filters: seccomp.Filter[];
  try {
    filters = await readSeccompFilters(pid);
  } catch (err) {
    return skip(title, t`Seccomp: 2 with ${sec.seccompFilters} filter(s), but their programs cannot be read here: ${(err as Error).message}`, looked);
  }
  const arch = seccomp.seccompArch();
  // unshare is judged with CLONE_NEWUSER, what `unshare --user` asks for.
  const arg0 = (name: string) => (name === 'unshare' ? 0x10000000n : 0n);
  const outcomes = seccomp.REFUSED.map((name) => ({ name, ret: seccomp.verdict(filters, { nr: arch.nr[name], arch: arch.audit, args: [arg0(name), 0n, 0n, 0n, 0n, 0n] }) }));
  const allowed = outcomes.filter((o) => (o.ret & 0xffff0000) >>> 0 === seccomp.SECCOMP_RET.ALLOW || (o.ret & 0xffff0000) >>> 0 === seccomp.SECCOMP_RET.LOG);
  const size = filters.map((f) => f.length).join(' + ');
  if (allowed.length) {
    return fail(
      title,
      t`its filter (${size} instructions) lets through ${allowed.map((o) => o.name).join(', ')} on ${arch.name}`,
      t`refuse them with SECCOMP_RET_ERRNO | EPERM: the filter step's program refuses ${seccomp.REFUSED.join(', ')}`,
      looked,
    );
  }
  const unshare = outcomes.find((o) => o.name === 'unshare')!;
  return pass(title, t`its filter (${size} instructions) answers ${seccomp.actionName(unshare.ret)} to unshare and refuses ${seccomp.REFUSED.length - 1} more on ${arch.name}`, looked);
}

export default lesson;
