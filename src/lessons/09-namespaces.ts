// The other namespaces: user (a rootless container), cgroup, time and IPC. The user
// namespace cannot be made from Node (unshare(CLONE_NEWUSER) wants a single-threaded
// caller), so the container's first stage is util-linux's setpriv and unshare
// (src/core/rootless.ts); everything after it runs on the core as in lessons 3-5.
import fs from 'node:fs';
import { tryUserNamespaceFromNode, type ContainerShape, viewNamespaces, makeMessageQueue, procfs, type Namespace, type Rootless, unusedUid, type NsView } from '../core/index.js';
import { pass, fail, skip } from '../checks/result.js';
import { describe } from '../checks/containers.js';
import { ensureLabRoot, type Lab } from '../lab.js';
import { defineLesson, earlier } from './types.js';
import { hostShell, lines } from './show.js';
import { rootfsStep, locateContainer, killLabContainers, startStepContainer, IDLE_SHELL, LOCATED, type ContainerState } from './container-common.js';
import { REDRAW_MS } from '../pictures/picture.js';
import { drawIdMap } from '../pictures/id-map.js';
import { t } from '../i18n/messages.js';

/** The namespaces the core makes after the first stage made the user namespace. */
const NS: Namespace[] = ['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup'];
/** A day: the boottime offset of the container's time namespace, in seconds. */
export const BOOTTIME_OFFSET = 86400;
/** The key of the message queue the workbook makes inside ("clns"). */
export const QUEUE_KEY = 0x636c6e73;
export const HOSTNAME = 'rootless';

/** The unprivileged user the rootless container runs as: the one who ran sudo, or (as root
 * without sudo) an id no passwd or group entry uses. setpriv takes a bare number, so no
 * user is made on the host and nothing is left to remove. */
export function rootlessUser(lab: Lab): Rootless {
  if (lab.invoker.uid !== 0) return { uid: lab.invoker.uid, gid: lab.invoker.gid };
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  const id = unusedUid(read('/etc/passwd'), read('/etc/group'));
  return { uid: id, gid: id };
}

const firstStage = (u: Rootless) => `setpriv --reuid ${u.uid} --regid ${u.gid} --clear-groups unshare --user --map-root-user`;

/** The rootless container: lessons 3-5's, through the first stage, with a time namespace
 * where the kernel has them. */
function rootlessShape(lab: Lab): ContainerShape {
  const timeOk = fs.existsSync('/proc/self/ns/time');
  return { rootfs: lab.rootfs, namespaces: NS, hostname: HOSTNAME, mountProc: true, rootless: rootlessUser(lab), timeOffsets: timeOk ? { boottime: BOOTTIME_OFFSET } : undefined };
}

/** The rootless container by hand: the first stage, then the namespaces of lessons 3-5 and
 * cgroup and time, chroot into the rootfs. */
export const byHand = (lab: Lab) => `${firstStage(rootlessUser(lab))} --mount --uts --ipc --pid --net --cgroup --time --boottime ${BOOTTIME_OFFSET} --fork --mount-proc=${lab.rootfs}/proc chroot ${lab.rootfs} sh`;

/** Run a command as root inside the container's user namespace (and all its others) with
 * util-linux nsenter: the core cannot join a user namespace either. */
const asRootInside = (pid: number, cmd: string) => hostShell(`nsenter --target ${pid} --all --root --wd sh -c '${cmd}'`);

/** The checks, by the titles their results carry (the text lists each). */
const CHECKS = {
  userns: 'its own user namespace',
  mapped: 'root inside maps to an unprivileged uid',
  euid: 'its uid outside is that uid',
  cgroup: 'its own cgroup namespace, / inside',
  time: 'a time namespace with a boottime offset',
  ipc: 'its own IPC namespace, holding an object',
} as const;

/** Pure: /proc/<pid>/uid_map (or gid_map) lines: inside, outside, count. */
export function parseIdMap(text: string): Array<{ inside: number; outside: number; count: number }> {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every((n) => Number.isFinite(n)))
    .map(([inside, outside, count]) => ({ inside: inside!, outside: outside!, count: count! }));
}

/** Pure: /proc/<pid>/timens_offsets: clock name -> offset in seconds. */
export function parseTimeOffsets(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of text.split('\n')) {
    const [clock, secs] = l.trim().split(/\s+/);
    if (clock && secs !== undefined) out[clock] = Number(secs);
  }
  return out;
}

const read = (file: string): string | null => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

const otherNamespaces = defineLesson<ContainerState>({
  id: 'other-namespaces',
  title: 'The other namespaces: user (a rootless container), cgroup, time and IPC',
  text: '09-namespaces.md',
  placeholders: (lab) => {
    const u = rootlessUser(lab);
    return { uid: String(u.uid), gid: String(u.gid), offset: String(BOOTTIME_OFFSET) };
  },
  needs: { namespaces: NS, rootless: true, timeNamespace: true },
  newState: () => ({}),
  checks: [LOCATED, ...Object.values(CHECKS)],
  steps: [
    rootfsStep,
    {
      title: 'Node cannot make a user namespace: unshare(CLONE_NEWUSER) fails in a multithreaded process',
      commands: () => ['ls /proc/<pid of node>/task | wc -l        # a Node process has several threads', 'unshare --user id        # util-linux unshare: one thread, so it works (but see who you are)'],
      async run() {
        const tried = await tryUserNamespaceFromNode();
        return lines(
          t`# a fresh Node helper with koffi: ${tried.threads} threads`,
          `unshare(CLONE_NEWUSER) -> ${tried.error ?? t`succeeded (this kernel lets a multithreaded process do it)`}`,
          t`# util-linux unshare, a single-threaded C program, can; with no uid_map its user is nobody:`,
          await hostShell('unshare --user sh -c "id; cat /proc/self/uid_map | wc -l"'),
        );
      },
    },
    {
      title: 'As an ordinary user: root inside a user namespace, that user outside',
      commands: (lab) => {
        const u = rootlessUser(lab);
        return [
          `${firstStage(u)} sh`,
          'id; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups',
          'unshare --mount --uts --net sh -c "mount -t tmpfs none /mnt && hostname inside && hostname && ip -brief link"',
          'cat /etc/shadow; hostname other; insmod /dev/null   # all refused',
        ];
      },
      async run(ctx) {
        const u = rootlessUser(ctx.lab);
        const script = [
          'id',
          'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups',
          'grep -E "^(Uid|Gid)" /proc/self/status',
          'unshare --mount --uts --net sh -c "mount -t tmpfs none /mnt && echo mounted a tmpfs on /mnt; hostname inside && hostname; ip -brief link"',
          'cat /etc/shadow',
          'hostname other',
          'if command -v insmod >/dev/null; then insmod /dev/null; else echo "(no insmod here: loading a module needs CAP_SYS_MODULE in the host user namespace)"; fi',
        ].join('; ');
        return lines(t`# setpriv drops root (uid ${u.uid}, no passwd entry needed), then unshare makes the user namespace`, await hostShell(`${firstStage(u)} sh -c '${script}'`));
      },
    },
    {
      title: "A rootless container: lessons 3-5's container started through that first stage, with cgroup and time namespaces",
      commands: (lab) => [byHand(lab), 'id; cat /proc/self/uid_map; ls -ln / | head -3   # inside'],
      // Prepared ahead like any step's container: the first stage, then PID 1 waiting for its command.
      alsoStarts: (lab) => [rootlessShape(lab)],
      async run(ctx) {
        const u = rootlessUser(ctx.lab);
        const timeOk = fs.existsSync('/proc/self/ns/time');
        const c = await startStepContainer(ctx, rootlessShape(ctx.lab), IDLE_SHELL);
        ctx.state.container = c;
        return lines(
          t`${firstStage(u)} -- node nsinit.js run ...: then unshare(${NS.map((n) => n.toUpperCase()).join('|')}${timeOk ? '|TIME' : ''}), pivot_root, execve("/bin/sh") as in lessons 3-5`,
          t`container running: host pid ${c.pid}`,
          t`# from the host:`,
          await hostShell(`cat /proc/${c.pid}/uid_map /proc/${c.pid}/gid_map /proc/${c.pid}/setgroups; grep -E '^(Uid|Gid)' /proc/${c.pid}/status`),
          t`# inside:`,
          await asRootInside(c.pid, 'id; grep -E "^(Uid|Gid)" /proc/1/status; ls -ln / | head -3; touch /etc/x'),
        );
      },
    },
    {
      title: 'cgroup: inside a cgroup namespace the container is at the root, /',
      commands: () => ['cat /proc/self/cgroup     # inside: 0::/', 'cat /proc/<pid>/cgroup    # the host: the real path'],
      async run(ctx) {
        const c = earlier(ctx.state.container, t`the container`);
        return lines(await asRootInside(c.pid, 'cat /proc/self/cgroup'), t`# the host:`, await hostShell(`cat /proc/${c.pid}/cgroup`));
      },
    },
    {
      title: `time: a boottime offset of ${BOOTTIME_OFFSET} s makes the uptime inside a day longer`,
      commands: () => ['cat /proc/uptime           # inside', 'cat /proc/uptime; cat /proc/<pid>/timens_offsets   # the host'],
      async run(ctx) {
        const c = earlier(ctx.state.container, t`the container`);
        if (!fs.existsSync('/proc/self/ns/time')) return t`# this kernel has no time namespaces (they came in Linux 5.6): nothing to show`;
        return lines(await asRootInside(c.pid, 'cat /proc/uptime'), t`# the host:`, await hostShell(`cat /proc/uptime; cat /proc/${c.pid}/timens_offsets`));
      },
    },
    {
      title: 'IPC: a message queue made inside is invisible outside',
      commands: () => ['nsenter --target <pid> --ipc ipcmk -Q      # a queue in the container', 'ipcs -q                                     # the host: not there', 'nsenter --target <pid> --ipc ipcs -q        # inside: there'],
      async run(ctx) {
        const c = earlier(ctx.state.container, t`the container`);
        const id = await makeMessageQueue(c.pid, QUEUE_KEY);
        return lines(
          t`msgget(0x${QUEUE_KEY.toString(16)}, IPC_CREAT|0600) in the container's IPC namespace: queue id ${id}`,
          t`# (its owner shows as 65534 inside: the helper that made it is the host's root, whom the container's map leaves out)`,
          t`# inside (/proc/sysvipc lists the reader's IPC namespace):`,
          await asRootInside(c.pid, 'cat /proc/sysvipc/msg'),
          t`# the host:`,
          await hostShell('ipcs -q 2>/dev/null || cat /proc/sysvipc/msg'),
        );
      },
    },
  ],

  async check(lab) {
    const located = locateContainer(lab, 'user', byHand(lab));
    if (Array.isArray(located)) return located;
    const { own, results } = located;
    const hostUser = procfs.nsId('self', 'user');
    const pid = own.pid;

    const userLooked = [`/proc/${pid}/ns/user`, '/proc/self/ns/user'];
    if (own.ns.user === hostUser) {
      results.push(fail(CHECKS.userns, t`${describe(own)} is in the host's user namespace (${own.ns.user}): its root is the host's root`, t`start it through the first stage: ${firstStage(rootlessUser(lab))} ...`, userLooked));
      return results;
    }
    results.push(pass(CHECKS.userns, t`${own.ns.user}, the host has ${hostUser}`, userLooked));

    const mapFile = `/proc/${pid}/uid_map`;
    const uidMap = parseIdMap(read(mapFile) ?? '');
    const root = uidMap.find((m) => m.inside === 0);
    const statusUid = procfs.statusField(read(`/proc/${pid}/status`) ?? '', 'Uid');
    if (!uidMap.length) {
      results.push(
        fail(
          CHECKS.mapped,
          t`${mapFile} is empty: no uid is mapped, so every process inside is uid 65534 (nobody, the overflow uid) and has no capability after its execve`,
          t`a user namespace needs a uid_map written once, by its creator or a process outside with the right to: unshare --user --map-root-user (as an ordinary user) writes "0 <your uid> 1"`,
          [mapFile],
        ),
      );
    } else if (!root) {
      results.push(fail(CHECKS.mapped, t`${mapFile} maps no uid 0 (${uidMap.map((m) => `${m.inside} ${m.outside} ${m.count}`).join('; ')}): nobody inside is root`, t`map root inside to your uid: unshare --user --map-root-user`, [mapFile]));
    } else if (root.outside === 0) {
      results.push(
        fail(
          CHECKS.mapped,
          t`${mapFile} maps 0 inside to 0 outside: root inside is the host's root, and the container is not rootless`,
          t`the namespace was made by root: make it as an unprivileged user, as the first stage does with setpriv: ${firstStage(rootlessUser(lab))}`,
          [mapFile],
        ),
      );
    } else {
      results.push(pass(CHECKS.mapped, t`${mapFile}: "0 ${root.outside} ${root.count}": root inside is uid ${root.outside} outside`, [mapFile]));
    }

    if (root && root.outside !== 0) {
      const euid = Number(statusUid?.split(/\s+/)[1]);
      const statusFile = `/proc/${pid}/status`;
      results.push(
        euid === root.outside
          ? pass(CHECKS.euid, t`Uid: ${statusUid} seen from the host: effective uid ${euid}`, [statusFile])
          : fail(CHECKS.euid, t`Uid: ${statusUid} seen from the host: effective uid ${euid}, not ${root.outside}`, t`the process changed its uid inside (su, setpriv): leave the shell as root inside`, [statusFile]),
      );
    }

    const cgLooked = [`/proc/${pid}/ns/cgroup`, '/proc/self/ns/cgroup', t`/proc/${pid}/cgroup (read inside its cgroup namespace)`];
    let view: NsView | null = null;
    try {
      view = await viewNamespaces(pid);
    } catch (err) {
      results.push(fail(CHECKS.cgroup, (err as Error).message, t`the container ended while it was checked: start it again`, cgLooked));
      return results;
    }
    const hostCgroupNs = procfs.nsId('self', 'cgroup');
    const insidePaths = procfs.parseProcCgroup(view.cgroup).map((g) => g.path);
    if (own.ns.cgroup === hostCgroupNs) {
      results.push(fail(CHECKS.cgroup, t`${describe(own)} shares the host's cgroup namespace: inside, /proc/self/cgroup shows ${insidePaths.at(-1) ?? '?'}, the real path`, t`add --cgroup to unshare (CLONE_NEWCGROUP)`, cgLooked));
    } else if (insidePaths.some((p) => p !== '/')) {
      results.push(fail(CHECKS.cgroup, t`its own cgroup namespace, but inside it is at ${insidePaths.find((p) => p !== '/')}`, t`the process moved to another cgroup after its cgroup namespace was made: start the container anew`, cgLooked));
    } else {
      const hostPaths = procfs.parseProcCgroup(read(`/proc/${pid}/cgroup`) ?? '').map((g) => g.path);
      const hostView = hostPaths.find((p) => p !== '/') ?? '/';
      results.push(pass(CHECKS.cgroup, t`inside, /proc/self/cgroup shows /; the host sees ${hostView}`, cgLooked));
    }

    const timeLooked = [`/proc/${pid}/ns/time`, `/proc/${pid}/timens_offsets`];
    const hostTime = procfs.nsId('self', 'time');
    if (hostTime === null) {
      results.push(skip(CHECKS.time, t`this kernel has no time namespaces (Linux 5.6 brought them)`, ['/proc/self/ns/time']));
    } else if (own.ns.time === hostTime) {
      results.push(fail(CHECKS.time, t`${describe(own)} is in the host's time namespace`, t`add --time --boottime ${BOOTTIME_OFFSET} to unshare (CLONE_NEWTIME)`, timeLooked));
    } else {
      const boottime = parseTimeOffsets(read(`/proc/${pid}/timens_offsets`) ?? '').boottime ?? 0;
      results.push(
        boottime
          ? pass(CHECKS.time, t`${own.ns.time}, boottime offset ${boottime} s: uptime inside is that much longer`, timeLooked)
          : fail(
              CHECKS.time,
              t`its own time namespace (${own.ns.time}), but its boottime offset is 0: clocks inside read as outside`,
              t`the offsets are written once, before the first process enters: unshare --time --boottime ${BOOTTIME_OFFSET}`,
              timeLooked,
            ),
      );
    }

    const ipcLooked = [`/proc/${pid}/ns/ipc`, t`/proc/sysvipc/* (read inside its IPC namespace and on the host)`];
    const hostIpc = procfs.nsId('self', 'ipc');
    const inside = [...view.sysvipc.msg, ...view.sysvipc.shm, ...view.sysvipc.sem];
    if (own.ns.ipc === hostIpc) {
      results.push(fail(CHECKS.ipc, t`${describe(own)} shares the host's IPC namespace: its objects are the host's`, t`add --ipc to unshare (CLONE_NEWIPC)`, ipcLooked));
    } else if (!inside.length) {
      results.push(fail(CHECKS.ipc, t`its own IPC namespace holds no message queue, shared memory segment or semaphore set`, t`make one inside: nsenter --target ${pid} --ipc ipcmk -Q`, ipcLooked));
    } else {
      const kinds = (['msg', 'shm', 'sem'] as const).map((k) => `${view.sysvipc[k].length} ${k}`).join(', ');
      results.push(pass(CHECKS.ipc, t`${own.ns.ipc} holds ${kinds}; the host's ${hostIpc} has its own objects only`, ipcLooked));
    }
    return results;
  },

  hints: (lab) => [
    t`A user namespace maps ids: uid 0 inside is an ordinary uid outside, with every capability inside and none outside. So root in a container can mount, set a hostname and make namespaces, while the host sees an ordinary user. A cgroup namespace makes its cgroup the root, a time namespace shifts the boottime and monotonic clocks, an IPC namespace has System V objects of its own.`,
    t`unshare(2) with CLONE_NEWUSER needs a single-threaded caller, so util-linux unshare makes it (--map-root-user writes /proc/<pid>/uid_map "0 <uid> 1" and setgroups "deny"); setpriv --reuid drops root first. CLONE_NEWCGROUP, CLONE_NEWTIME (offsets in /proc/<pid>/timens_offsets, written before anything enters) and CLONE_NEWIPC. The check reads uid_map, the Uid: line of /proc/<pid>/status, /proc/<pid>/cgroup and /proc/sysvipc/* from inside, and timens_offsets.`,
    t`Leave a rootless container running: ${byHand(lab)}; then, from another terminal: nsenter --target <pid> --ipc ipcmk -Q`,
  ],
  picture: (lab) => {
    const views = new Map();
    return { everyMs: REDRAW_MS, draw: (opts) => drawIdMap({ lab, lessonUser: rootlessUser(lab), howto: byHand(lab), parseIdMap, parseTimeOffsets, views }, opts) };
  },
  reset: killLabContainers,
  // On the host: the core cannot put a shell in a user namespace (setns has the same rule as
  // unshare), so the learner types the first stage there.
  async shell(ctx) {
    ensureLabRoot(ctx.lab);
    return { kind: 'host', cwd: ctx.lab.root, title: t`a shell on the host; ${firstStage(rootlessUser(ctx.lab))} sh makes you root in a user namespace` };
  },
});

export default otherNamespaces;
