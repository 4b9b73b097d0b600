// Lesson 3: a mount namespace and a new root (pivot_root), with a hostname of its own (UTS).
import fs from 'node:fs';
import path from 'node:path';
import { probeNamespaces, procfs, libc, type Namespace, type ProbeResult } from '../core/index.js';
import { pass, fail } from '../checks/result.js';
import { describe } from '../checks/containers.js';
import type { Lab } from '../lab.js';
import { chownToInvoker } from '../lab.js';
import { defineLesson, earlier, type LessonContainer } from './types.js';
import { t } from '../i18n/messages.js';
import { mountTreePicture } from '../pictures/mount-tree.js';
import { hostShell, inContainer, lines } from './show.js';
import { rootfsStep, startLessonContainer, locateContainer, killLabContainers, containerShell, LOCATED, type ContainerState } from './container-common.js';

export const HOSTNAME = 'container';
/** The lab path of a file on the host that no container may reach. */
const PATHS = { hostMarker: 'host-only.txt' };
const hostMarker = (lab: Lab) => path.join(lab.root, PATHS.hostMarker);
const NS: Namespace[] = ['mnt', 'uts'];
/** The lesson's container; its step declares it, so the TUI can prepare it ahead. */
const CONTAINER: LessonContainer = { namespaces: NS, hostname: HOSTNAME, mountProc: true };
/** Where a container may legitimately have mounts of its own. */
const OWN_MOUNTS = ['/', '/proc', '/dev', '/sys', '/tmp', '/run'];

const isOwnMount = (mp: string) => OWN_MOUNTS.some((m) => mp === m || (m !== '/' && mp.startsWith(m + '/')));

const byHand = (lab: Lab) =>
  `unshare --mount --uts --fork sh -c 'hostname ${HOSTNAME}; mount --bind ${lab.rootfs} ${lab.rootfs}; cd ${lab.rootfs}; mkdir -p .old_root; pivot_root . .old_root; mount -t proc proc /proc; umount -l /.old_root; rmdir /.old_root; cd /; exec sh'`;

/** The checks, by the titles their results carry (the text lists each). */
const CHECKS = {
  own: 'its own mount namespace',
  outOfReach: "the host's files are out of reach",
  noHostMounts: 'no host mounts inside',
  staysInside: 'mounts made inside stay inside',
  hostname: 'a hostname of its own',
} as const;

const mountNamespace = defineLesson<ContainerState>({
  id: 'mount-namespace',
  title: 'A mount namespace and a new root',
  text: '03-mount-namespace.md',
  labPaths: PATHS,
  needs: { namespaces: NS },
  newState: () => ({}),
  checks: [LOCATED, ...Object.values(CHECKS)],
  steps: [
    rootfsStep,
    {
      title: 'Start a shell in new mount and UTS namespaces, pivot_root into the rootfs, detach the old root',
      commands: (lab) => [
        "unshare --mount --uts --fork sh -c '",
        `  hostname ${HOSTNAME}`,
        `  mount --bind ${lab.rootfs} ${lab.rootfs}`,
        `  cd ${lab.rootfs}; mkdir -p .old_root`,
        '  pivot_root . .old_root',
        '  mount -t proc proc /proc',
        '  umount -l /.old_root; rmdir /.old_root',
        "  cd /; exec sh'",
      ],
      container: CONTAINER,
      async run(ctx) {
        ctx.ledger.add({ kind: 'file', path: hostMarker(ctx.lab) });
        fs.writeFileSync(hostMarker(ctx.lab), 'only the host can read this\n');
        chownToInvoker(ctx.lab, hostMarker(ctx.lab));
        const c = await startLessonContainer(ctx, CONTAINER);
        // Three commands that only read, each entered by its own helper: run at once.
        const inside = await Promise.all(['hostname; ls /', 'cat /proc/self/mountinfo', `cat ${hostMarker(ctx.lab)}`].map((cmd) => inContainer(c, NS, cmd)));
        return lines(
          `unshare(CLONE_NEWNS|CLONE_NEWUTS), mount --make-rprivate /, bind ${ctx.lab.rootfs}, pivot_root(".", ".old_root"), umount2("/.old_root", MNT_DETACH), sethostname("${HOSTNAME}"), execve("/bin/sh")`,
          t`container running: host pid ${c.pid}`,
          ...inside,
        );
      },
    },
    {
      title: 'Look from the host: nothing of the container is mounted here',
      commands: (lab) => [`grep ${lab.rootfs} /proc/self/mountinfo`, 'ls -l /proc/<pid>/ns/mnt /proc/self/ns/mnt', 'hostname'],
      async run(ctx) {
        const c = earlier(ctx.state.container, t`the container`);
        // All of it only reads: the host's shells and the one inside run at once.
        const [mounts, namespaces, hostname, ps] = await Promise.all([
          hostShell(`grep -c ' ${ctx.lab.rootfs}' /proc/self/mountinfo`),
          hostShell(`readlink /proc/${c.pid}/ns/mnt /proc/self/ns/mnt /proc/${c.pid}/ns/uts /proc/self/ns/uts`),
          hostShell('hostname'),
          inContainer(c, NS, 'ps -e | head -5'),
        ]);
        return lines(mounts, namespaces, hostname, t`# and the container still sees only its own processes? not yet: ps inside shows every host process (lesson 4)`, ps);
      },
    },
  ],

  async check(lab) {
    const located = locateContainer(lab, 'mnt', byHand(lab));
    if (Array.isArray(located)) return located;
    const { own, host, results } = located;

    const mntLooked = [`/proc/${own.pid}/ns/mnt`, '/proc/self/ns/mnt'];
    if (own.ns.mnt === host.mnt) {
      results.push(
        fail(CHECKS.own, t`${describe(own)} is in the host's mount namespace (${own.ns.mnt})`, t`chroot alone changes one process's root but shares every mount with the host; start it with unshare --mount (CLONE_NEWNS)`, mntLooked),
      );
      return results;
    }
    results.push(pass(CHECKS.own, t`${own.ns.mnt}, the host has ${host.mnt}`, mntLooked));

    if (!fs.existsSync(hostMarker(lab))) {
      fs.writeFileSync(hostMarker(lab), 'only the host can read this\n');
      chownToInvoker(lab, hostMarker(lab));
    }
    // The marker at its host path, and under every mount the container should not have
    // (the old root, still attached after pivot_root, holds the host's whole tree).
    const inside = procfs.readMountinfo(own.pid);
    const foreign = inside.filter((x) => !isOwnMount(x.mountPoint));
    const candidates = [...new Set([hostMarker(lab), ...foreign.map((x) => path.join(x.mountPoint, hostMarker(lab)))])];
    let probe: ProbeResult;
    try {
      probe = await probeNamespaces(own.pid, candidates);
    } catch (err) {
      results.push(fail(CHECKS.outOfReach, (err as Error).message, t`the container ended while it was checked: start it again`, []));
      return results;
    }
    const reach = probe.visible[hostMarker(lab)];
    const under = candidates.slice(1).find((p) => probe.visible[p]);
    const entered = t`${mntLooked[0]} (entered)`;
    const outLooked = [entered, hostMarker(lab), ...(under ? [t`${under} (inside)`] : [])];
    results.push(
      probe.nsRootIsRootfs && !reach && !under
        ? pass(
            CHECKS.outOfReach,
            foreign.length
              ? t`the mount namespace's own root is the rootfs and ${hostMarker(lab)} cannot be reached from it, nor under any of its mounts`
              : t`the mount namespace's own root is the rootfs and ${hostMarker(lab)} cannot be reached from it`,
            [entered, hostMarker(lab)],
          )
        : under && !reach && probe.nsRootIsRootfs
          ? fail(
              CHECKS.outOfReach,
              t`the host's ${hostMarker(lab)} is reachable inside the container as ${under}`,
              under.startsWith('/.old_root/') || under.startsWith('/old')
                ? t`the old root is still attached: after pivot_root, umount -l /.old_root (MNT_DETACH), then rmdir /.old_root`
                : t`a mount of the host's tree is still inside the container: unmount it (umount -l ${under.slice(0, under.length - hostMarker(lab).length) || '/'})`,
              outLooked,
            )
          : fail(
              CHECKS.outOfReach,
              reach ? t`${hostMarker(lab)} is reachable from the root of the container's mount namespace` : t`the root of the container's mount namespace is not the rootfs`,
              t`chroot only moves one process's view; the namespace still holds the host root, and a root process can climb back out (chroot escape). Use pivot_root . .old_root, then umount -l /.old_root`,
              outLooked,
            ),
    );

    const firstForeign = foreign
      .slice(0, 3)
      .map((x) => `${x.mountPoint} (${x.fstype})`)
      .join(', ');
    results.push(
      foreign.length
        ? fail(
            CHECKS.noHostMounts,
            foreign.length > 3 ? t`the container's mount table still holds ${firstForeign} and ${foreign.length - 3} more` : t`the container's mount table still holds ${firstForeign}`,
            foreign.some((x) => x.mountPoint.startsWith('/.old_root') || x.mountPoint.startsWith('/old'))
              ? t`the old root is still attached: umount -l /.old_root (MNT_DETACH) after pivot_root`
              : t`unmount what the container does not need; after pivot_root the host's mounts sit under the old root until it is detached`,
            [`/proc/${own.pid}/mountinfo`],
          )
        : pass(CHECKS.noHostMounts, t`the container's mounts: ${inside.map((x) => `${x.mountPoint} (${x.fstype})`).join(', ')}`, [`/proc/${own.pid}/mountinfo`]),
    );

    const hostMounts = procfs.readMountinfo();
    const hostPeers = new Set(hostMounts.map(procfs.sharedPeerGroup).filter((x) => x !== null));
    const shared = inside.filter((x) => {
      const g = procfs.sharedPeerGroup(x);
      return g !== null && hostPeers.has(g);
    });
    const leaked = hostMounts.filter((x) => x.mountPoint === lab.rootfs || x.mountPoint.startsWith(lab.rootfs + '/'));
    results.push(
      shared.length || leaked.length
        ? fail(
            CHECKS.staysInside,
            leaked.length ? t`the host sees ${leaked.map((x) => `${x.mountPoint} (${x.fstype})`).join(', ')}` : t`${shared.map((x) => `${x.mountPoint} (${x.optional.join(' ')})`).join(', ')} share a peer group with the host`,
            leaked.length
              ? t`those mounts were made in the host's namespace (or propagated to it): mount inside the new namespace only, after mount --make-rprivate /`
              : t`shared propagation sends every mount inside to the host: run mount --make-rprivate / first (util-linux unshare does it for you)`,
            [`/proc/${own.pid}/mountinfo`, '/proc/self/mountinfo'],
          )
        : pass(CHECKS.staysInside, t`no mount of the container is in a peer group with the host, and the host has nothing mounted under ${lab.rootfs}`, [`/proc/${own.pid}/mountinfo`, '/proc/self/mountinfo']),
    );

    const utsLooked = [`/proc/${own.pid}/ns/uts`, '/proc/self/ns/uts'];
    const hostName = libc.gethostname();
    if (own.ns.uts === host.uts) {
      results.push(fail(CHECKS.hostname, t`${describe(own)} shares the host's UTS namespace (hostname ${hostName})`, t`add --uts (CLONE_NEWUTS) or \`hostname\` inside renames the host`, utsLooked));
    } else if (probe.hostname === hostName) {
      results.push(fail(CHECKS.hostname, t`its own UTS namespace, but the hostname is still "${hostName}", the host's`, t`set it inside: hostname ${HOSTNAME}`, utsLooked));
    } else {
      results.push(pass(CHECKS.hostname, t`"${probe.hostname}" inside, "${hostName}" on the host`, utsLooked));
    }
    return results;
  },

  hints: (lab) => [
    t`A mount namespace gives the container a mount table of its own: what is mounted inside stays inside (with private propagation). Its root becomes the rootfs by pivot_root, which swaps the namespace's root mount for another; the old root is then detached, so no host file can be reached. chroot is not enough: it changes one process's root, not the namespace's. A UTS namespace gives it a hostname of its own.`,
    t`unshare(2) with CLONE_NEWNS and CLONE_NEWUTS (unshare --mount --uts, which also makes every mount private); pivot_root(2) wants new_root to be a mount point (bind-mount ${lab.rootfs} on itself) and put_old under it (.old_root); umount2(MNT_DETACH) (umount -l) detaches the old root; sethostname(2) (hostname). The check compares /proc/<pid>/ns/mnt and /proc/<pid>/ns/uts with the host's and reads /proc/<pid>/mountinfo.`,
    t`Leave a container running on the rootfs (it lives as long as its shell), e.g.: ${byHand(lab)}`,
  ],
  picture: mountTreePicture,

  async reset(lab) {
    const removed = await killLabContainers(lab);
    if (fs.existsSync(hostMarker(lab))) {
      fs.rmSync(hostMarker(lab));
      removed.push(hostMarker(lab));
    }
    return removed;
  },
  shell: containerShell(CONTAINER),
});

export default mountNamespace;
