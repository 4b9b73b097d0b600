// Lesson 5: a network namespace: inside there is only lo.
import { procfs, type ContainerShape, type Namespace } from '../core/index.js';
import { pass, fail } from '../checks/result.js';
import { describe } from '../checks/containers.js';
import type { Lab } from '../lab.js';
import { defineLesson, type LessonContainer } from './types.js';
import { hostShell, inContainer, lines } from './show.js';
import { rootfsStep, startLessonContainer, runStepContainer, locateContainer, killLabContainers, containerShell, LOCATED, type ContainerState } from './container-common.js';
import { wiringPicture } from '../pictures/wiring.js';
import { t } from '../i18n/messages.js';

const NS: Namespace[] = ['mnt', 'uts', 'ipc', 'pid', 'net'];
/** The lesson's container; its step declares it, so the TUI can prepare it ahead. */
const CONTAINER: LessonContainer = { namespaces: NS, hostname: 'container', mountProc: true };
/** The first step's container: every namespace but the network's. */
const withoutNet = (lab: Lab): ContainerShape => ({ rootfs: lab.rootfs, namespaces: ['mnt', 'uts', 'ipc', 'pid'] });

const byHand = (lab: Lab) => `unshare --mount --uts --ipc --pid --net --fork --mount-proc=${lab.rootfs}/proc chroot ${lab.rootfs} sh`;

/** The checks, by the titles their results carry (the text lists each). */
const CHECKS = {
  own: 'its own network namespace',
  onlyLo: 'only lo inside',
} as const;

/** The fallback tunnels the kernel makes in every new network namespace while the module
 * of their kind is loaded (ipip, ip_gre, sit, ip6_tunnel, ip6_gre, ip_vti, ip6_vti; the
 * sysctl net.core.fb_tunnels_only_for_init_net turns this off): not the learner's links. */
export const FALLBACK_TUNNELS = new Set(['tunl0', 'gre0', 'gretap0', 'erspan0', 'sit0', 'ip6tnl0', 'ip6gre0', 'ip_vti0', 'ip6_vti0']);

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
      alsoStarts: (lab) => [withoutNet(lab)],
      async run(ctx) {
        const r = await runStepContainer(ctx, withoutNet(ctx.lab), ['/bin/sh', '-c', 'ip -brief link 2>&1 || cat /proc/net/dev']);
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
          t`unshare(CLONE_NEWNET|...): the new namespace starts with lo only, and lo is down`,
          await inContainer(c, NS, 'ip link'),
          t`# the host reads the same from /proc/<pid>/net/dev, which shows the namespace of that process:`,
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
      results.push(fail(CHECKS.own, t`${describe(own)} shares the host's network namespace and sees ${hostIfs.join(', ')}`, t`add --net to unshare (CLONE_NEWNET)`, netLooked));
      return results;
    }
    results.push(pass(CHECKS.own, t`${own.ns.net}, the host has ${host.net}`, netLooked));
    const ifs = procfs.readInterfaces(own.pid);
    const devFile = `/proc/${own.pid}/net/dev`;
    const extra = ifs.filter((i) => i !== 'lo' && !FALLBACK_TUNNELS.has(i));
    const hostOnes = extra.filter((i) => hostIfs.includes(i));
    const fallbacks = ifs.filter((i) => FALLBACK_TUNNELS.has(i));
    results.push(
      ifs.includes('lo') && !extra.length
        ? pass(
            CHECKS.onlyLo,
            fallbacks.length
              ? t`interfaces inside: lo, and ${fallbacks.join(', ')}, which the kernel adds to every new network namespace while their tunnel modules are loaded; the host has ${hostIfs.join(', ')}`
              : t`interfaces inside: lo; the host has ${hostIfs.join(', ')}`,
            [devFile, '/proc/self/net/dev'],
          )
        : fail(
            CHECKS.onlyLo,
            ifs.length ? t`interfaces inside: ${ifs.join(', ')}` : t`interfaces inside: none`,
            hostOnes.length ? t`${hostOnes.join(', ')} belong to the host: the container is not in a network namespace of its own` : t`a fresh network namespace has only lo; remove the extra links (ip link del) or start a new one`,
            [devFile, '/proc/self/net/dev'],
          ),
    );
    return results;
  },

  hints: (lab) => [
    t`A network namespace is a network stack of its own: interfaces, addresses, routes, firewall rules. A new one holds only the loopback device lo, and lo is down; the host's interfaces stay with the host (a network device is in one network namespace at a time).`,
    t`unshare(2) with CLONE_NEWNET (unshare --net). /proc/<pid>/ns/net names the network namespace of a process (compare it with /proc/self/ns/net), and /proc/<pid>/net/dev lists the interfaces of that namespace: the check reads both.`,
    t`Leave a shell running in a new network namespace as well: ${byHand(lab)}`,
  ],
  // The host's namespace and the container's side by side: only lo inside.
  picture: wiringPicture(),
  reset: killLabContainers,
  shell: containerShell(CONTAINER),
});

export default networkNamespace;
