// Lesson 4: a PID namespace. The first process is PID 1; ps needs a /proc of its own.
import fs from 'node:fs';
import path from 'node:path';
import { procfs, type ContainerShape, type Namespace } from '../core/index.js';
import { pass, fail } from '../checks/result.js';
import { describe } from '../checks/containers.js';
import type { Lab } from '../lab.js';
import { defineLesson, earlier, type LessonContainer, type Step } from './types.js';
import { t } from '../i18n/messages.js';
import { hostShell, inContainer, lines } from './show.js';
import { stillPicture, type Picture } from '../pictures/picture.js';
import { drawPidViews } from '../pictures/pid-views.js';
import { rootfsStep, startLessonContainer, runStepContainer, locateContainer, killLabContainers, pidsInNamespace, containerShell, LOCATED, type ContainerState } from './container-common.js';

const NS: Namespace[] = ['mnt', 'uts', 'ipc', 'pid'];
/** The lesson's container; its step declares it, so the TUI can prepare it ahead. */
const CONTAINER: LessonContainer = { namespaces: NS, hostname: 'container', mountProc: true };
/** The first step's container: a PID namespace without a /proc of its own. */
const withoutProc = (lab: Lab): ContainerShape => ({ rootfs: lab.rootfs, namespaces: NS, mountProc: false });

const byHand = (lab: Lab) => `unshare --mount --uts --ipc --pid --fork --mount-proc=${lab.rootfs}/proc chroot ${lab.rootfs} sh`;

/** The checks, by the titles their results carry (the text lists each). */
const CHECKS = {
  own: 'its own PID namespace',
  pid1: 'the first process is PID 1',
  proc: '/proc belongs to the container',
} as const;

const pidNamespace = defineLesson<ContainerState>({
  id: 'pid-namespace',
  title: 'A PID namespace: your shell becomes PID 1',
  text: '04-pid-namespace.md',
  needs: { namespaces: NS },
  newState: () => ({}),
  checks: [LOCATED, ...Object.values(CHECKS)],
  steps: [
    rootfsStep,
    {
      title: 'A new PID namespace without its own /proc: ps has nothing to read',
      commands: (lab) => [`unshare --mount --pid --fork chroot ${lab.rootfs} sh -c 'echo my pid is $$; ps'`],
      alsoStarts: (lab) => [withoutProc(lab)],
      async run(ctx) {
        const r = await runStepContainer(ctx, withoutProc(ctx.lab), ['/bin/sh', '-c', 'echo "my pid is $$"; ls /proc | head -3; ps']);
        return lines(`[container]# echo "my pid is $$"; ls /proc; ps`, (r.stdout + r.stderr).trimEnd(), `(exit ${r.code})`);
      },
    },
    {
      title: 'Mount /proc from inside the namespace: ps lists only the container',
      commands: (lab) => [byHand(lab), 'ps -ef   # inside'],
      container: CONTAINER,
      async run(ctx) {
        const c = await startLessonContainer(ctx, CONTAINER);
        return lines(
          t`unshare(CLONE_NEWPID|...), then the next child is PID 1; it mounts proc at /proc before exec`,
          await inContainer(c, NS, 'echo "my pid is $$"; ps -ef'),
          t`# the same process seen from the host:`,
          await hostShell(`grep -E '^(Name|Pid|NSpid)' /proc/${c.pid}/status`),
        );
      },
    },
    {
      title: "From the host, the container's processes are ordinary processes",
      commands: () => ['ps -o pid,ppid,comm --ppid <host pid of PID 1> -p <host pid of PID 1>', 'kill -9 <host pid of PID 1>   # ends the whole namespace'],
      async run(ctx) {
        const c = earlier(ctx.state.container, t`the container`);
        return hostShell(`ps -o pid,ppid,comm --ppid ${c.pid} -p ${c.pid}`);
      },
    },
  ],

  async check(lab) {
    const located = locateContainer(lab, 'pid', byHand(lab));
    if (Array.isArray(located)) return located;
    const { own, host, results } = located;

    const pidLooked = [`/proc/${own.pid}/ns/pid`, '/proc/self/ns/pid'];
    if (own.ns.pid === host.pid) {
      results.push(fail(CHECKS.own, t`${describe(own)} is in the host's PID namespace (${own.ns.pid})`, t`add --pid --fork to unshare (CLONE_NEWPID): without --fork, unshare itself stays outside and only its children enter`, pidLooked));
      return results;
    }
    results.push(pass(CHECKS.own, t`${own.ns.pid}, the host has ${host.pid}`, pidLooked));

    const inner = own.nspid[own.nspid.length - 1];
    const status = `/proc/${own.pid}/status`;
    results.push(
      inner === 1
        ? pass(CHECKS.pid1, t`NSpid: ${own.nspid.join(' ')}: host pid ${own.pid} is pid 1 inside`, [status])
        : fail(CHECKS.pid1, t`NSpid: ${own.nspid.join(' ')}: the oldest process inside is pid ${inner}`, t`PID 1 has exited (and the namespace with it) or the shell is not the first child after unshare --pid --fork`, [status]),
    );

    const procDir = path.join('/proc', String(own.pid), 'root', 'proc');
    const mountinfo = `/proc/${own.pid}/mountinfo`;
    const procMount = procfs.readMountinfo(own.pid).find((x) => x.mountPoint === '/proc' && x.fstype === 'proc');
    if (!procMount) {
      results.push(fail(CHECKS.proc, t`nothing of type proc is mounted at /proc inside: ps fails there`, t`mount it from inside: mount -t proc proc /proc (or unshare --mount-proc)`, [mountinfo]));
      return results;
    }
    let procNs: string | null = null;
    try {
      procNs = fs.readlinkSync(path.join(procDir, '1', 'ns', 'pid'));
    } catch {
      procNs = null;
    }
    const listed = fs
      .readdirSync(procDir)
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
    const members = pidsInNamespace(own.ns.pid!);
    const looked = [mountinfo, `${procDir}/*`, `${procDir}/1/ns/pid`];
    if (procNs !== own.ns.pid) {
      results.push(
        fail(
          CHECKS.proc,
          procNs !== null
            ? t`the /proc inside lists ${listed.length} processes; its pid 1 is in ${procNs}, not the container's ${own.ns.pid}`
            : t`the /proc inside lists ${listed.length} processes; its pid 1 is in no namespace, not the container's ${own.ns.pid}`,
          t`that proc was mounted by a process outside the new PID namespace (or is the host's): mount it from PID 1 or a child of it, after unshare --pid --fork`,
          looked,
        ),
      );
      return results;
    }
    const names = listed.map((p) => `${p} ${fs.existsSync(path.join(procDir, String(p), 'comm')) ? fs.readFileSync(path.join(procDir, String(p), 'comm'), 'utf8').trim() : '?'}`);
    results.push(
      pass(
        CHECKS.proc,
        listed.length === 1
          ? t`ps inside sees 1 process (${names.join(', ')}); the host counts ${members.length} in that namespace`
          : t`ps inside sees ${listed.length} processes (${names.join(', ')}); the host counts ${members.length} in that namespace`,
        looked,
      ),
    );
    return results;
  },

  hints: (lab) => [
    t`A PID namespace numbers processes anew: the first process in it is PID 1 (the namespace's init), and the processes inside see only each other. ps reads /proc, so the container needs a /proc of its own, mounted from inside; the host's /proc still lists every process.`,
    t`unshare(2) with CLONE_NEWPID does not move its caller: its first child is PID 1 (so unshare --pid needs --fork). A proc filesystem shows the PID namespace of the process that mounted it (mount -t proc proc /proc inside, or unshare --mount-proc). From the host, the NSpid line of /proc/<pid>/status gives a process's pid in each namespace, the innermost last: the check reads it.`,
    t`Leave a shell running in new PID and mount namespaces with its own /proc: ${byHand(lab)}`,
  ],
  // The step that starts the container, found by what it declares (read at draw time).
  picture: stillPicture((lab, opts): Picture => drawPidViews({ rootfs: lab.rootfs, howto: byHand(lab), startStep: pidNamespace.steps.findIndex((s: Step<ContainerState>) => s.container) + 1 }, opts)),
  reset: killLabContainers,
  shell: containerShell(CONTAINER),
});

export default pidNamespace;
