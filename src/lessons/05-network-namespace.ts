// Lesson 5: a network namespace: inside there is only lo.
import { runContainer, procfs, type Namespace } from '../core/index.js';
import { pass, fail } from '../checks/result.js';
import { describe } from '../checks/containers.js';
import type { Lab } from '../lab.js';
import { defineLesson, type LessonContainer } from './types.js';
import { hostShell, inContainer, lines } from './show.js';
import { rootfsStep, startLessonContainer, locateContainer, killLabContainers, containerShell, LOCATED, type ContainerState } from './container-common.js';
import { wiringPicture } from '../pictures/wiring.js';

const NS: Namespace[] = ['mnt', 'uts', 'ipc', 'pid', 'net'];
/** The lesson's container; its step declares it, so the TUI can prepare it ahead. */
const CONTAINER: LessonContainer = { namespaces: NS, hostname: 'container', mountProc: true };

const byHand = (lab: Lab) => `unshare --mount --uts --ipc --pid --net --fork --mount-proc=${lab.rootfs}/proc chroot ${lab.rootfs} sh`;

/** The checks, by the titles their results carry (the text lists each). */
const CHECKS = {
  own: 'its own network namespace',
  onlyLo: 'only lo inside',
} as const;

const networkNamespace = defineLesson<ContainerState>({
  id: 'network-namespace',
  title: 'A network namespace: only lo',
  text: '05-network-namespace.md',
  needs: { namespaces: NS },
  newState: () => ({}),
  checks: [LOCATED, ...Object.values(CHECKS)],
  steps: [
    rootfsStep,
    {
      title: "Without a network namespace the container sees the host's interfaces",
      commands: (lab) => [`unshare --mount --pid --fork --mount-proc=${lab.rootfs}/proc chroot ${lab.rootfs} ip link`],
      async run(ctx) {
        const r = await runContainer({ rootfs: ctx.lab.rootfs, namespaces: ['mnt', 'uts', 'ipc', 'pid'], argv: ['/bin/sh', '-c', 'ip -brief link 2>&1 || cat /proc/net/dev'] });
        return lines('[container]# ip -brief link', (r.stdout + r.stderr).trimEnd());
      },
    },
    {
      title: 'With one: a fresh network stack that has only the loopback device',
      commands: (lab) => [byHand(lab), 'ip link   # inside'],
      container: CONTAINER,
      async run(ctx) {
        const c = await startLessonContainer(ctx, CONTAINER);
        return lines(
          'unshare(CLONE_NEWNET|...): the new namespace starts with lo only, and lo is down',
          await inContainer(c, NS, 'ip link'),
          '# the host reads the same from /proc/<pid>/net/dev, which shows the namespace of that process:',
          await hostShell(`cat /proc/${c.pid}/net/dev`),
        );
      },
    },
  ],

  async check(lab) {
    const located = locateContainer(lab, 'net', byHand(lab));
    if (Array.isArray(located)) return located;
    const { own, host, results } = located;
    const netLooked = [`/proc/${own.pid}/ns/net`, '/proc/self/ns/net'];
    const hostIfs = procfs.readInterfaces('self');
    if (own.ns.net === host.net) {
      results.push(fail(CHECKS.own, `${describe(own)} shares the host's network namespace and sees ${hostIfs.join(', ')}`, 'add --net to unshare (CLONE_NEWNET)', netLooked));
      return results;
    }
    results.push(pass(CHECKS.own, `${own.ns.net}, the host has ${host.net}`, netLooked));
    const ifs = procfs.readInterfaces(own.pid);
    const devFile = `/proc/${own.pid}/net/dev`;
    const hostOnes = ifs.filter((i) => i !== 'lo' && hostIfs.includes(i));
    results.push(
      ifs.length === 1 && ifs[0] === 'lo'
        ? pass(CHECKS.onlyLo, `interfaces inside: lo; the host has ${hostIfs.join(', ')}`, [devFile, '/proc/self/net/dev'])
        : fail(
            CHECKS.onlyLo,
            `interfaces inside: ${ifs.join(', ') || 'none'}`,
            hostOnes.length ? `${hostOnes.join(', ')} belong to the host: the container is not in a network namespace of its own` : 'a fresh network namespace has only lo; remove the extra links (ip link del) or start a new one',
            [devFile, '/proc/self/net/dev'],
          ),
    );
    return results;
  },

  hints: (lab) => [
    "A network namespace is a network stack of its own: interfaces, addresses, routes, firewall rules. A new one holds only the loopback device lo, and lo is down; the host's interfaces stay with the host (a network device is in one network namespace at a time).",
    'unshare(2) with CLONE_NEWNET (unshare --net). /proc/<pid>/ns/net names the network namespace of a process (compare it with /proc/self/ns/net), and /proc/<pid>/net/dev lists the interfaces of that namespace: the check reads both.',
    `Leave a shell running in a new network namespace as well: ${byHand(lab)}`,
  ],
  // The host's namespace and the container's side by side: only lo inside.
  picture: wiringPicture(),
  reset: killLabContainers,
  shell: containerShell(CONTAINER),
});

export default networkNamespace;
