// The capstone's conformance suite: a learner's runtime (`mydocker`, in any language) run as
// a black box through the interface of capstone/INTERFACE.md, and judged by what the kernel
// shows from outside: its container's mounts, namespaces, cgroup files and measured CPU,
// what the kernel refused it (an OOM kill, a fork), its upper layer, its exit, and what is
// left after it. Each check names the lesson that teaches the piece it looks at.
import fs from 'node:fs';
import path from 'node:path';
import { ensureRootfs, importImage, listImages, writeImage, LayerStore, Ledger, cgroupLayout, procfs, probeNamespaces, netOps, pingFrom, routes, type Controller } from '../core/index.js';
import { makeBridge, networkPlan } from '../lessons/06-network.js';
import { WINDOW_MS as CPU_WINDOW_MS } from '../lessons/02-cgroup-cpu.js';
import { pass, fail, type CheckResult } from '../checks/result.js';
import { hostNamespaces } from '../checks/containers.js';
import { holdMachineName, labJournal, type Lab, type MachineName } from '../lab.js';
import { Probe, exitCode } from './probe.js';
import { msg, t, tr } from '../i18n/messages.js';

/** The image every probe runs: the lab's rootfs as one layer, in the capstone's own store. */
export const CAPSTONE_IMAGE = 'capstone';
/** The lab the runtime under test is given as CONTAINER_LESSONS_HOME: its layer store,
 * images and containers, apart from the lessons' own. */
export const capstoneHome = (lab: Lab) => path.join(lab.root, 'capstone');

/** The checks, by the titles their results carry. */
export const CHECKS = {
  starts: 'the runtime runs a command in a container of the image',
  overlay: "its root is an overlay of the image's layers, with an upper of its own",
  pivot: 'pivot_root done: no host file or mount inside, a /proc of its own',
  namespaces: 'its own mnt, uts, ipc, pid, net and cgroup namespaces, the command as PID 1',
  hostname: 'the hostname given',
  cpu: 'a cpu quota that holds a busy loop to --cpus 0.2',
  memory: 'a memory limit the kernel enforces (--memory 32m: a hog is OOM-killed)',
  pids: 'a pids limit the kernel enforces (--pids 16: forks refused)',
  upper: 'a write lands in its upper layer, a deletion is a whiteout there, the image unchanged',
  network: 'with --ip: eth0 with that address, its peer on the bridge, a default route via the gateway',
  icmp: "ICMP both ways between the host's bridge and the container",
  reach: 'a second container on the bridge reaches the first',
  exit: "the runtime exits with the command's code",
  signal: 'SIGTERM to the runtime stops the container',
  cleanup: 'after it exits, nothing of the container is left',
} as const;

/** The lessons that teach what each check looks at. */
const TAUGHT: Record<string, string> = {
  [CHECKS.starts]: msg('lessons 3 and 4'),
  [CHECKS.overlay]: msg('lessons 1 and 7'),
  [CHECKS.pivot]: msg('lessons 3 and 4'),
  [CHECKS.namespaces]: msg('lessons 3, 4, 5 and 9'),
  [CHECKS.hostname]: msg('lesson 3'),
  [CHECKS.cpu]: msg('lesson 2'),
  [CHECKS.memory]: msg('lesson 8'),
  [CHECKS.pids]: msg('lesson 8'),
  [CHECKS.upper]: msg('lessons 1 and 7'),
  [CHECKS.network]: msg('lesson 6'),
  [CHECKS.icmp]: msg('lesson 6'),
  [CHECKS.reach]: msg('lesson 6'),
  [CHECKS.exit]: msg('lesson 4'),
  [CHECKS.signal]: msg('lesson 4'),
  [CHECKS.cleanup]: msg('every lesson: each one removes what it made'),
};

const NAMESPACES = ['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup'] as const;
/** Where a container may have mounts of its own (anything else came from the host). */
const OWN_MOUNTS = ['/', '/proc', '/dev', '/sys', '/tmp', '/run', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf'];
const isOwnMount = (mp: string) => OWN_MOUNTS.some((m) => mp === m || (m !== '/' && mp.startsWith(m + '/')));
const CPUS = 0.2;
const CPU_TOLERANCE = 5; // points of one CPU: a learner's machine is busier than a test's

export interface SuiteOptions {
  lab: Lab;
  /** The runtime's argv before `run`: ['./mydocker'], or ['node', 'bin/container-lessons.js']. */
  runtime: string[];
  /** Progress lines for a learner waiting on the suite. */
  note?: (text: string) => void;
  /** Where what the suite starts is recorded (a lesson's ledger); by default one of its own
   * in the lab's journal, cleaned up when the suite ends. Each run of the runtime is recorded
   * as its processes, asked to end with SIGTERM first (its own cleanup), and the bridge as a
   * link: a workbook killed while the suite runs leaves nothing that recovery misses. */
  ledger?: Ledger;
  /** How long to wait for another workbook's suite on this machine (PROBE_NAMES_LOCK). */
  lockWaitMs?: number;
}

/** The names the suite gives its containers (--name): whatever a runtime names after them
 * (its cgroups, its directories) a reset can find again. */
export const PROBE_NAMES = ['capstone-main', 'capstone-hog', 'capstone-forks', 'capstone-exit', 'capstone-net1', 'capstone-net2'] as const;
/** The names are the machine's (a runtime names its cgroups after them: the reference's
 * /sys/fs/cgroup/.../mydocker-capstone-main): one suite at a time on a machine uses them. */
export const PROBE_NAMES_LOCK: MachineName = { key: 'capstone-names', what: msg("the capstone's container names (capstone-main, ...)") };

interface CapstoneImage {
  store: LayerStore;
  /** The image's layers' diff directories, top first, real paths. */
  layers: string[];
}

/** The capstone image, imported into the capstone's store from the lab's rootfs when it is
 * not there yet. It stays, as the rootfs does: the learner's runtime needs it between runs. */
export async function ensureCapstoneImage(lab: Lab): Promise<CapstoneImage> {
  const home = capstoneHome(lab);
  const store = new LayerStore(path.join(home, 'layers'));
  let image = listImages(store).find((i) => i.name === CAPSTONE_IMAGE);
  if (!image) {
    ensureRootfs(lab.rootfs, undefined, { build: !lab.customRootfs });
    fs.mkdirSync(home, { recursive: true });
    const src = fs.mkdtempSync(path.join(home, '.image-'));
    try {
      await writeImage(path.join(src, 'oci'), [lab.rootfs], { format: 'oci', name: `${CAPSTONE_IMAGE}:1` });
      await importImage(path.join(src, 'oci'), store, { name: CAPSTONE_IMAGE });
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
    }
    image = listImages(store).find((i) => i.name === CAPSTONE_IMAGE)!;
  }
  return { store, layers: store.lowerdirs(image.top.replace(/^sha256:/, '')).map((d) => fs.realpathSync(d)) };
}

/** The lowerdirs of an overlay's options, as real paths (relative ones, as overlay2's
 * `l/<short>` names, are relative to the store: the runtime mounts from there). */
export function lowerdirsOf(superOptions: string, store: LayerStore): string[] {
  const lower = procfs.mountOption({ superOptions }, 'lowerdir');
  if (!lower) return [];
  return lower.split(':').map((d) => {
    const abs = path.isAbsolute(d) ? d : path.join(store.root, d);
    try {
      return fs.realpathSync(abs);
    } catch {
      return abs;
    }
  });
}

const optionOf = (superOptions: string, key: string) => new RegExp(`(?:^|,)${key}=([^,]*)`).exec(superOptions)?.[1] ?? null;

/** The directory of a process's cgroup for a controller, as the host sees it. */
export function cgroupDir(pid: number, controller: Controller): string | null {
  const layout = cgroupLayout();
  const home = layout.controllers[controller];
  if (!home) return null;
  let lines: procfs.ProcCgroup[];
  try {
    lines = procfs.parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  } catch {
    return null;
  }
  const line = home.version === 2 ? lines.find((l) => l.hierarchy === 0) : lines.find((l) => l.controllers.includes(controller));
  return line ? path.join(home.mountPoint, line.path) : null;
}

const readFile = (f: string): string | null => {
  try {
    return fs.readFileSync(f, 'utf8').trim();
  } catch {
    return null;
  }
};

/** Where what a check looks at is taught, in the language in use. */
const taught = (title: string) => tr(TAUGHT[title]!);

/** What a check that could not run says: why, and what to do (with where that is taught). */
const notRun = (title: string, why: string, todo: string) => fail(title, t`not checked: ${why}`, todo, []);

/** The results when no container started (or there is no runtime to start): the first check
 * fails with why and what to do, every other one is not checked. */
export function notStarted(why: string, todo: string, looked: string[]): CheckResult[] {
  return [
    fail(CHECKS.starts, why, todo, looked),
    ...Object.values(CHECKS)
      .slice(1)
      .map((c) => notRun(c, t`the runtime did not start the main container`, t`make the first check pass first (${taught(c)})`)),
  ];
}

/** Run the suite. Every probe it starts is stopped and everything it finds left is named in
 * the cleanup check, then removed (so that the next run starts clean). */
export async function runSuite(opts: SuiteOptions): Promise<CheckResult[]> {
  const ledger = opts.ledger ?? new Ledger(labJournal(opts.lab));
  let results: CheckResult[];
  const release = await holdMachineName(PROBE_NAMES_LOCK, { waitMs: opts.lockWaitMs ?? 300_000, onWait: (who) => opts.note?.(t`waiting: ${who} is running the capstone's suite`) });
  try {
    results = await runProbes(opts, ledger);
  } finally {
    if (!opts.ledger) await ledger.cleanup();
    release();
  }
  // In the order of CHECKS, whatever order the probes ran in.
  const rank = (r: CheckResult) => Object.values(CHECKS).indexOf(r.title as (typeof CHECKS)[keyof typeof CHECKS]);
  return results.sort((a, b) => rank(a) - rank(b));
}

async function runProbes(opts: SuiteOptions, ledger: Ledger): Promise<CheckResult[]> {
  const { lab, runtime } = opts;
  const note = opts.note ?? (() => {});
  const results: CheckResult[] = [];
  note(t`preparing the capstone image`);
  const image = await ensureCapstoneImage(lab);
  const env = { ...process.env, CONTAINER_LESSONS_HOME: capstoneHome(lab) };
  restoreSubtreeControl(ledger);
  const hostFile = path.join(capstoneHome(lab), 'host-only.txt');
  const hostFileEntry = ledger.add({ kind: 'file', path: hostFile });
  fs.writeFileSync(hostFile, 'only the host can read this\n');
  const probes: Array<{ p: Probe; entry: { drop(): void } }> = [];
  const probe = (options: string[], script: string, extraEnv: NodeJS.ProcessEnv = {}) => {
    const p = new Probe({ runtime, options, image: CAPSTONE_IMAGE, script, env: { ...env, ...extraEnv } });
    probes.push({ p, entry: ledger.add(p.undo, () => p.kill()) });
    return p;
  };
  const cmd = `${runtime.join(' ')} run`;

  try {
    // The main probe: every option but --ip, a write and a deletion, then a busy loop (bounded
    // by its own CPU-time limit, and held by the quota) for the CPU measurement.
    note(t`starting the main container`);
    const main = probe(
      ['--name', 'capstone-main', '--hostname', 'capstone-main', '--cpus', String(CPUS), '--memory', '64m', '--pids', '32'],
      'ulimit -t 120; echo capstone > /capstone-upper.txt; rm -f /etc/os-release; echo ready; while :; do :; done',
    );
    const pid = await main.container();
    if (pid === null || !(await main.line('ready'))) {
      const ended = main.ended;
      const said = main.stderr.trim();
      const why = !ended
        ? t`no process with the probe's argv (sh -c ... ${main.token}) appeared within 30 s`
        : said
          ? t`${cmd} ... exited ${exitCode(ended)}: ${said.split('\n').slice(-3).join(' | ')}`
          : t`${cmd} ... exited ${exitCode(ended)}`;
      return notStarted(why, t`implement \`run [options] IMAGE CMD [ARG...]\` as capstone/INTERFACE.md says: the command runs with its argv untouched (lessons 3 and 4)`, ['/proc/*/cmdline']);
    }
    results.push(pass(CHECKS.starts, t`pid ${pid} runs the probe (sh -c ... ${main.token})`, [`/proc/${pid}/cmdline`]));

    // Record what the container is, to look for it again after it exits: its namespaces
    // (those not the host's) and, later, its cgroups (those the runtime itself is not in).
    const host = hostNamespaces();
    const seen = {
      ns: Object.fromEntries(NAMESPACES.map((t) => [t, procfs.nsId(pid, t)]).filter(([t, id]) => id !== host[t as string])) as Record<string, string | null>,
      cgroups: [] as string[],
      upper: null as string | null,
      work: null as string | null,
    };
    const runtimeCgroups = new Set((['cpu', 'memory', 'pids'] as const).map((c) => (main.child.pid ? cgroupDir(main.child.pid, c) : null)));
    const own = (d: string | null): d is string => d !== null && !runtimeCgroups.has(d);

    // Its root: an overlay of the image's layers, the top ones may be the runtime's own.
    const mounts = procfs.readMountinfo(pid);
    const root = mounts.filter((m) => m.mountPoint === '/').at(-1);
    const rootLooked = [`/proc/${pid}/mountinfo`, image.store.root];
    if (root?.fstype !== 'overlay') {
      results.push(
        fail(
          CHECKS.overlay,
          root ? t`its / is a ${root.fstype} mount of ${root.source}, not an overlay` : t`its / is not a mount, not an overlay`,
          t`mount -t overlay with lowerdir= the image's layers, top first (the l/ names in each layer's lower file and its link), an upperdir and a workdir of the container's own (lessons 1 and 7)`,
          rootLooked,
        ),
      );
    } else {
      const lowers = lowerdirsOf(root.superOptions, image.store);
      seen.upper = optionOf(root.superOptions, 'upperdir');
      seen.work = optionOf(root.superOptions, 'workdir');
      const tail = lowers.slice(lowers.length - image.layers.length);
      const upperReal = seen.upper && fs.existsSync(seen.upper) ? fs.realpathSync(seen.upper) : seen.upper;
      if (tail.join(':') !== image.layers.join(':')) {
        results.push(
          fail(
            CHECKS.overlay,
            lowers.length ? t`lowerdir is ${lowers.join(':')}; the image's layers are ${image.layers.join(':')}` : t`lowerdir is (none); the image's layers are ${image.layers.join(':')}`,
            t`lowerdir= lists the image's layers top first (read the top layer's lower file: l/<short> names, relative to the store), with nothing but the runtime's own layers above them (lesson 7)`,
            rootLooked,
          ),
        );
      } else if (!upperReal || image.layers.includes(upperReal)) {
        results.push(
          fail(
            CHECKS.overlay,
            upperReal ? t`its upperdir ${upperReal} is one of the image's layers: writes would change the image` : t`no upperdir: a read-only root`,
            t`give each container an upper and a work directory of its own (lesson 1)`,
            rootLooked,
          ),
        );
      } else {
        results.push(
          pass(
            CHECKS.overlay,
            lowers.length > image.layers.length
              ? t`lowerdir ends in the image's ${image.layers.length} layer(s) under ${lowers.length - image.layers.length} of the runtime's own; upperdir ${seen.upper}`
              : t`lowerdir ends in the image's ${image.layers.length} layer(s); upperdir ${seen.upper}`,
            rootLooked,
          ),
        );
      }
    }

    // pivot_root: from the root of its mount namespace the host's file is not there, no host
    // mount is inside, and its /proc shows its own PID namespace (the probe as its pid 1).
    const foreign = mounts.filter((m) => !isOwnMount(m.mountPoint));
    const pivotLooked = [t`/proc/${pid}/ns/mnt (entered)`, hostFile, `/proc/${pid}/mountinfo`, `/proc/${pid}/root/proc/1/cmdline`];
    try {
      const view = await probeNamespaces(pid, [hostFile]);
      const ownProc = readFile(`/proc/${pid}/root/proc/1/cmdline`)?.replace(/\0$/, '').split('\0').join(' ') === main.argv.join(' ');
      const problem = view.visible[hostFile]
        ? t`${hostFile} can be read from the root of its mount namespace: the old root is still there (a chroot, or pivot_root without umount -l)`
        : foreign.length
          ? t`mounts of the host inside: ${foreign.map((m) => m.mountPoint).join(', ')}`
          : !ownProc
            ? t`its /proc is not its own: /proc/1 inside is not the probe (mount a fresh proc after entering the PID namespace)`
            : null;
      results.push(
        problem
          ? fail(CHECKS.pivot, problem, t`pivot_root into the merged dir, umount -l the old root and remove it, then mount -t proc proc /proc inside the new PID namespace (lessons 3 and 4)`, pivotLooked)
          : pass(CHECKS.pivot, t`${hostFile} out of reach, no host mount inside, /proc/1 is the probe`, pivotLooked),
      );
      // The hostname, seen from inside its UTS namespace.
      results.push(
        view.hostname === 'capstone-main'
          ? pass(CHECKS.hostname, t`"${view.hostname}" inside`, [t`/proc/${pid}/ns/uts (entered)`])
          : fail(CHECKS.hostname, t`"${view.hostname}" inside, not capstone-main (--hostname)`, t`in its own UTS namespace, sethostname before the command runs: hostname "$HOSTNAME" (lesson 3)`, [t`/proc/${pid}/ns/uts (entered)`]),
      );
    } catch (err) {
      results.push(fail(CHECKS.pivot, (err as Error).message, t`the container ended while it was checked: keep it running until the runtime is stopped (lesson 4)`, pivotLooked));
      results.push(notRun(CHECKS.hostname, t`the container ended while it was checked`, t`keep it running until the runtime is stopped (${taught(CHECKS.hostname)})`));
    }

    // Namespaces, and the probe as PID 1 of its PID namespace.
    const shared = NAMESPACES.filter((t) => procfs.nsId(pid, t) === host[t]);
    const nspid = procfs.parseNSpid(procfs.readStatus(pid)) ?? [pid];
    const nsLooked = [...NAMESPACES.map((t) => `/proc/${pid}/ns/${t}`), `/proc/${pid}/status (NSpid)`];
    results.push(
      shared.length
        ? fail(
            CHECKS.namespaces,
            shared.length > 1 ? t`it shares the host's ${shared.join(', ')} namespaces` : t`it shares the host's ${shared[0]} namespace`,
            t`unshare them all: unshare --mount --uts --ipc --pid --net --cgroup --fork (lessons 3, 4, 5 and 9)`,
            nsLooked,
          )
        : nspid.at(-1) !== 1
          ? fail(
              CHECKS.namespaces,
              t`the probe is pid ${nspid.at(-1)} in its PID namespace (NSpid ${nspid.join(' ')}), not 1`,
              t`exec the command as the first process of the new PID namespace (unshare --pid --fork, then exec) (lesson 4)`,
              nsLooked,
            )
          : pass(CHECKS.namespaces, t`all six its own; NSpid ${nspid.join(' ')}`, nsLooked),
    );

    // The cgroup: the quota, then the CPU a busy loop really gets.
    const cpuDir = cgroupDir(pid, 'cpu');
    if (own(cpuDir)) seen.cgroups.push(cpuDir);
    const quota = cpuDir ? cpuLimit(cpuDir) : null;
    if (!cpuDir || !quota) {
      results.push(
        fail(
          CHECKS.cpu,
          cpuDir ? t`its cgroup ${cpuDir} has no cpu quota` : t`it is in no cpu cgroup`,
          t`a cgroup of its own with ${CPUS * 100000} µs of every 100000 (cpu.max, or cpu.cfs_quota_us and cpu.cfs_period_us on v1) for --cpus ${CPUS} (lesson 2)`,
          [`/proc/${pid}/cgroup`],
        ),
      );
    } else {
      const share = await measure(pid);
      const want = CPUS * 100;
      const ok = Math.abs(share - want) <= CPU_TOLERANCE;
      results.push(
        ok
          ? pass(CHECKS.cpu, t`quota ${quota.quota}/${quota.period} in ${cpuDir}; its busy loop got ${share.toFixed(1)} % of one CPU`, [cpuDir, t`/proc/${pid}/stat (CPU time)`])
          : fail(
              CHECKS.cpu,
              t`quota ${quota.quota}/${quota.period} in ${cpuDir}; its busy loop got ${share.toFixed(1)} % of one CPU, not ${want} ± ${CPU_TOLERANCE}`,
              t`--cpus ${CPUS} is a quota of ${CPUS * 100000} per period of 100000, and every process of the container in that group (lesson 2)`,
              [cpuDir, `/proc/${pid}/stat`],
            ),
      );
    }
    const memDir = cgroupDir(pid, 'memory');
    const pidsDir = cgroupDir(pid, 'pids');
    for (const d of [memDir, pidsDir]) if (own(d) && !seen.cgroups.includes(d)) seen.cgroups.push(d);
    const memLimit = memDir ? readFile(path.join(memDir, cgroupLayout().controllers.memory?.version === 2 ? 'memory.max' : 'memory.limit_in_bytes')) : null;
    const pidsLimit = pidsDir ? readFile(path.join(pidsDir, 'pids.max')) : null;

    // Its upper layer: the write and the whiteout; the image's layers as they were.
    const upperLooked = [seen.upper ?? t`(no upperdir)`, ...image.layers];
    if (!seen.upper) results.push(notRun(CHECKS.upper, t`its root is not an overlay with an upperdir`, t`mount its root as an overlay with an upperdir of its own first (${taught(CHECKS.upper)})`));
    else {
      const written = readFile(path.join(seen.upper, 'capstone-upper.txt'));
      let wh: fs.Stats | null = null;
      try {
        wh = fs.lstatSync(path.join(seen.upper, 'etc', 'os-release'));
      } catch {
        /* none */
      }
      const inImage = image.layers.some((l) => fs.existsSync(path.join(l, 'etc', 'os-release')));
      const strayWrite = image.layers.some((l) => fs.existsSync(path.join(l, 'capstone-upper.txt')));
      const problem =
        written !== 'capstone'
          ? t`/capstone-upper.txt written inside is not in its upperdir ${seen.upper}`
          : !wh?.isCharacterDevice() || wh.rdev !== 0
            ? t`/etc/os-release deleted inside left no whiteout (a 0/0 character device) at ${seen.upper}/etc/os-release`
            : !inImage || strayWrite
              ? t`the image's layers changed: a write or a deletion reached them`
              : null;
      results.push(
        problem
          ? fail(CHECKS.upper, problem, t`the container's writes go to its own upperdir; the image's layers are lowerdirs, never written (lessons 1 and 7)`, upperLooked)
          : pass(CHECKS.upper, t`${seen.upper}: capstone-upper.txt, and etc/os-release a whiteout; the image's layers unchanged`, upperLooked),
      );
    }

    // SIGTERM to the runtime: the container must stop, and the runtime exit.
    note(t`stopping the main container with SIGTERM`);
    main.signal('SIGTERM');
    const stopped = await main.end(15_000);
    const gone = await procfs.waitExited([pid], 5000);
    results.push(
      stopped && gone
        ? pass(CHECKS.signal, t`the runtime exited ${exitCode(stopped)} and pid ${pid} is gone`, [`/proc/${pid}`])
        : fail(
            CHECKS.signal,
            stopped ? t`the runtime exited ${exitCode(stopped)}, but pid ${pid} is still there` : t`the runtime still runs 15 s after SIGTERM`,
            t`trap SIGINT and SIGTERM in the runtime: stop the container (kill its PID 1), then clean up and exit (lesson 4: PID 1 ignores signals it has no handler for)`,
            [`/proc/${pid}`],
          ),
    );
    await main.kill();
    const left = leftovers(main.token, seen);

    // The limits enforced, each in a container of its own.
    note(t`a memory hog under --memory 32m`);
    // The hog's processes first in the OOM killer's choice (anyone may raise their own
    // oom_score_adj): a second victim, when the kernel takes one before the first's memory is
    // freed, is then one of them, never PID 1 or wc.
    const hog = probe(['--name', 'capstone-hog', '--memory', '32m'], "(echo 1000 > /proc/self/oom_score_adj; yes | tr -d '\\n' | head -c 128M | tail) | wc -c");
    const hogEnd = await hog.end(60_000);
    const hogOut = hog.stdout.trim();
    results.push(
      hogEnd && hogOut === '0'
        ? pass(CHECKS.memory, memLimit ? t`tail, holding 128 MiB, was killed: wc counted 0 bytes (the main container's limit read ${memLimit})` : t`tail, holding 128 MiB, was killed: wc counted 0 bytes`, [t`the probe's output`])
        : fail(
            CHECKS.memory,
            !hogEnd ? t`the hog did not end within 60 s` : hogOut ? t`wc counted ${hogOut}: the hog was not killed` : t`wc counted (nothing): the hog was not killed`,
            t`a memory cgroup with the limit (memory.max, or memory.limit_in_bytes on v1) and no swap (memory.swap.max 0, or memsw) (lesson 8)`,
            [t`the probe's output`, ...(memDir ? [memDir] : [])],
          ),
    );
    await hog.kill();

    note(t`a burst of forks under --pids 16`);
    // 40 sleeps at once, each a fork: under pids.max 16 some are refused (dash stops at the
    // first with "Cannot fork", bash retries and says "fork: retry"). Not xargs: GNU xargs
    // waits forever once a fork of its is refused. A second outlasts forking 40 many times
    // over, so they are all alive at once.
    const forks = probe(['--name', 'capstone-forks', '--pids', '16'], '{ for i in $(seq 40); do sleep 1 & done; wait; echo all 40 started; } 2>&1');
    const forksEnd = await forks.end(60_000);
    // dash: "Cannot fork"; bash: "fork: retry: Resource temporarily unavailable".
    const refused = /cannot fork|fork: (retry|resource)|resource temporarily unavailable/i.test(forks.stdout + forks.stderr);
    results.push(
      forksEnd && refused
        ? pass(CHECKS.pids, pidsLimit ? t`a fork was refused (the main container's pids.max read ${pidsLimit})` : t`a fork was refused`, [t`the probe's output`])
        : fail(CHECKS.pids, forksEnd ? t`40 sleeps at once all started (${forks.stdout.trim().split('\n').at(-1)}): no fork was refused` : t`the forks did not end within 60 s`, t`a pids cgroup with pids.max (lesson 8)`, [
            t`the probe's output`,
            ...(pidsDir ? [pidsDir] : []),
          ]),
    );
    await forks.kill();

    note(t`an exit code`);
    const exit = probe(['--name', 'capstone-exit'], 'echo out; exit 7');
    const exitEnd = await exit.end(30_000);
    results.push(
      exitEnd && exitCode(exitEnd) === 7 && exit.stdout.includes('out')
        ? pass(CHECKS.exit, t`sh -c 'exit 7' inside: the runtime exited 7, with the command's stdout`, [t`the runtime's exit status`])
        : fail(
            CHECKS.exit,
            !exitEnd
              ? t`it did not end within 30 s`
              : exit.stdout.includes('out')
                ? t`sh -c 'exit 7' inside: the runtime exited ${exitCode(exitEnd)}`
                : t`sh -c 'exit 7' inside: the runtime exited ${exitCode(exitEnd)}, and the command's stdout did not come through`,
            t`wait for the container's first process and exit with its status (128 + n for signal n) (lesson 4)`,
            [t`the runtime's exit status`],
          ),
    );
    await exit.kill();

    note(t`two containers on a bridge`);
    left.push(...(await networkChecks(probe, ledger, results, note)));
    results.push(cleanupResult(left, seen));
    return results;
  } finally {
    for (const { p, entry } of probes) {
      await p.kill();
      entry.drop();
    }
    fs.rmSync(hostFile, { force: true });
    hostFileEntry.drop();
  }
}

/** cgroup v2: a runtime turns controllers on in the root's cgroup.subtree_control to give its
 * group their files, and leaves them on (Docker's does too; runc turns on every one). The
 * machine gets back what it had before the suite: each controller the root offers that is
 * off now is turned off again when the suite's ledger ends. */
function restoreSubtreeControl(ledger: Ledger): void {
  const { v2Mount, v2Controllers } = cgroupLayout();
  if (!v2Mount) return;
  const file = path.join(v2Mount, 'cgroup.subtree_control');
  const on = readFile(file)?.split(/\s+/) ?? [];
  for (const c of v2Controllers) if (!on.includes(c)) ledger.add({ kind: 'setting', file, value: `-${c}` });
}

function cpuLimit(dir: string): { quota: number; period: number } | null {
  const v2 = readFile(path.join(dir, 'cpu.max'));
  if (v2 !== null) {
    const [q, p] = v2.split(/\s+/);
    return q && q !== 'max' ? { quota: Number(q), period: Number(p) } : null;
  }
  const q = Number(readFile(path.join(dir, 'cpu.cfs_quota_us')));
  const p = Number(readFile(path.join(dir, 'cpu.cfs_period_us')));
  return q > 0 && p > 0 ? { quota: q, period: p } : null;
}

/** The CPU share of a process and its descendants over lesson 2's window, as lesson 2's check
 * measures it. */
async function measure(pid: number): Promise<number> {
  const pids = [pid, ...procfs.descendants(pid)];
  const cpu = () => pids.reduce((s, p) => s + (procfs.processCpuNs(p) ?? 0), 0);
  const c0 = cpu();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, CPU_WINDOW_MS));
  const c1 = cpu();
  const t1 = process.hrtime.bigint();
  return ((c1 - c0) / Number(t1 - t0)) * 100;
}

interface Seen {
  ns: Record<string, string | null>;
  cgroups: string[];
  upper: string | null;
  work: string | null;
}

/** After the runtime exited: what is left of what the container was. */
function leftovers(token: string, seen: Seen): string[] {
  const left: string[] = [];
  for (const p of procfs.listPids()) {
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.includes(token)) left.push(t`process ${p} (${cmd.split('\0')[0]})`);
    else if (Object.entries(seen.ns).some(([type, id]) => id && procfs.nsId(p, type) === id)) left.push(t`process ${p} in its namespaces`);
  }
  for (const d of seen.cgroups) if (fs.existsSync(d)) left.push(t`cgroup ${d}`);
  for (const d of [seen.upper, seen.work]) if (d && fs.existsSync(d)) left.push(t`directory ${d}`);
  const host = procfs.readMountinfo('self');
  for (const m of host) {
    if ((seen.upper && m.superOptions.includes(seen.upper)) || (m.fstype === 'nsfs' && Object.values(seen.ns).some((n) => n && m.root.includes(n.replace(/^\w+:/, ''))))) left.push(t`mount ${m.mountPoint} (${m.fstype})`);
  }
  return left;
}

function cleanupResult(left: string[], seen: Seen): CheckResult {
  const looked = ['/proc/*/cmdline', '/proc/*/ns/*', ...seen.cgroups, '/proc/self/mountinfo', ...(seen.upper ? [seen.upper] : []), t`the host's links (the veths)`];
  return left.length
    ? fail(
        CHECKS.cleanup,
        t`left after the runtime exited: ${left.join('; ')}`,
        t`remove everything on the way out, also after SIGINT/SIGTERM (a trap): unmount the overlay, remove the container's directories and its cgroup (rmdir, once empty), delete its veth`,
        looked,
      )
    : pass(CHECKS.cleanup, t`no process, namespace, cgroup, mount or directory of it left`, looked);
}

type ProbeMaker = (options: string[], script: string, extraEnv?: NodeJS.ProcessEnv) => Probe;

/** Two containers on lesson 6's bridge, which the suite makes (as a Docker host has docker0
 * before `docker run`) and removes. Pushes the three network results; returns what of the
 * containers' network is left after they exit (their host-side veths). */
async function networkChecks(probe: ProbeMaker, outer: Ledger, results: CheckResult[], note: (t: string) => void): Promise<string[]> {
  const plan = networkPlan();
  const titles = [CHECKS.network, CHECKS.icmp, CHECKS.reach];
  if (plan.problem) {
    for (const title of titles) results.push(fail(title, t`not checked: ${plan.problem.message}`, t`${plan.problem.hint} (lesson 6)`, ['/proc/net/route']));
    return [];
  }
  // The bridge's own ledger, on the same journal: removed when these checks end.
  const ledger = new Ledger(outer.journal);
  const left: string[] = [];
  try {
    await makeBridge({ ledger, lockWaitMs: 300_000, note }, plan);
    const netEnv = { MYDOCKER_BRIDGE: plan.bridge, MYDOCKER_GATEWAY: plan.gateway };
    const idle = 'echo ready; while :; do sleep 1; done';
    const first = probe(['--name', 'capstone-net1', '--hostname', 'net1', '--ip', `${plan.address(1)}/${plan.prefix}`], idle, netEnv);
    const pid1 = (await first.container()) ?? null;
    if (pid1 === null || !(await first.line('ready'))) {
      const why = first.ended ? t`the runtime exited ${exitCode(first.ended)}: ${first.stderr.trim().split('\n').at(-1) ?? ''}` : t`no container appeared within 30 s`;
      for (const title of titles) {
        results.push(fail(title, t`not checked: with --ip ${plan.address(1)}/${plan.prefix}, ${why}`, t`with --ip, make a veth pair: one end eth0 in the container, the other on $MYDOCKER_BRIDGE (lesson 6)`, []));
      }
      return left;
    }
    // Inside: eth0, its address, up; a default route via the gateway. Outside: its peer on the bridge.
    const [inside, host] = await Promise.all([netOps(pid1, []), netOps(0, [])]);
    const eth0 = inside.links.find((l) => l.name === 'eth0');
    const addr = eth0 && inside.addresses.find((a) => a.index === eth0.index && a.addr === plan.address(1));
    const defaultRoute = routes.readRoutes(pid1).find((r) => r.dest === '0.0.0.0' && r.prefix === 0);
    const hostLinks = host.links;
    const bridge = hostLinks.find((l) => l.name === plan.bridge);
    const peer = eth0?.peer != null ? hostLinks.find((l) => l.index === eth0.peer) : undefined;
    const netLooked = [t`/proc/${pid1}/ns/net (its links and addresses)`, `/proc/${pid1}/net/route`, t`the host's links`];
    const problem = !eth0
      ? t`no eth0 in its network namespace (links: ${inside.links.map((l) => l.name).join(', ')})`
      : !addr
        ? eth0Addresses(inside.addresses, eth0.index, `${plan.address(1)}/${plan.prefix}`)
        : !eth0.up
          ? t`eth0 is down`
          : !peer || peer.master !== bridge?.index
            ? t`eth0's peer on the host ${peer ? `(${peer.name})` : ''} is not a port of ${plan.bridge}`
            : defaultRoute?.gateway !== plan.gateway
              ? defaultRoute
                ? t`no default route via ${plan.gateway} (one via ${defaultRoute.gateway})`
                : t`no default route via ${plan.gateway} (none)`
              : null;
    results.push(
      problem
        ? fail(
            CHECKS.network,
            problem,
            t`ip link add <host end> type veth peer name eth0 netns <pid>; ip link set <host end> master $MYDOCKER_BRIDGE up; inside: ip addr add ADDR dev eth0, ip link set eth0 up, ip route add default via $MYDOCKER_GATEWAY (lesson 6)`,
            netLooked,
          )
        : pass(CHECKS.network, t`eth0 ${plan.address(1)}/${plan.prefix}, its peer ${peer!.name} on ${plan.bridge}, default via ${plan.gateway}`, netLooked),
    );

    const [out, back] = await Promise.all([pingFrom(0, plan.address(1), { waitMs: 2000 }), pingFrom(pid1, plan.gateway, { waitMs: 2000 })]);
    results.push(
      out.ok && back.ok
        ? pass(CHECKS.icmp, t`the host -> ${plan.address(1)}: a reply; the container -> ${plan.gateway}: a reply`, [t`ICMP echoes`])
        : fail(
            CHECKS.icmp,
            t`the host -> ${plan.address(1)}: ${out.ok ? t`a reply` : out.error}; the container -> ${plan.gateway}: ${back.ok ? t`a reply` : back.error}`,
            t`both ends up, the address on eth0 in the bridge's subnet, the host end a port of the bridge (lesson 6)`,
            [t`ICMP echoes`],
          ),
    );

    const second = probe(['--name', 'capstone-net2', '--hostname', 'net2', '--ip', `${plan.address(2)}/${plan.prefix}`], idle, netEnv);
    const pid2 = await second.container();
    if (pid2 === null || !(await second.line('ready'))) {
      results.push(fail(CHECKS.reach, t`not checked: ${t`the second container did not start`}`, t`two containers at once need names and veths of their own (lesson 6)`, []));
    } else {
      const across = await pingFrom(pid2, plan.address(1), { waitMs: 2000 });
      results.push(
        across.ok
          ? pass(CHECKS.reach, t`${plan.address(2)} -> ${plan.address(1)}: a reply`, [t`an ICMP echo between the two`])
          : fail(CHECKS.reach, `${plan.address(2)} -> ${plan.address(1)}: ${across.error}`, t`each container a veth of its own on the same bridge, each its own address (lesson 6)`, [t`an ICMP echo between the two`]),
      );
    }
    // Both stopped: their veths must go with them.
    const peers = [peer?.name].filter((n): n is string => !!n);
    for (const p of [first, second]) p.signal('SIGTERM');
    for (const p of [first, second]) {
      await p.end(15_000);
      await p.kill();
    }
    const after = (await netOps(0, [])).links.map((l) => l.name);
    for (const n of peers) if (after.includes(n)) left.push(t`link ${n} (a container's veth, on ${plan.bridge})`);
    return left;
  } catch (err) {
    for (const title of titles.filter((x) => !results.some((r) => r.title === x))) {
      results.push(fail(title, t`not checked: ${(err as Error).message}`, t`${(err as { hint?: string }).hint ?? t`see the message`} (lesson 6)`, []));
    }
    return left;
  } finally {
    await ledger.cleanup();
  }
}

/** What eth0 has when it lacks the address asked for. */
function eth0Addresses(addresses: Array<{ index: number; addr: string; prefix: number }>, index: number, want: string): string {
  const has = addresses
    .filter((a) => a.index === index)
    .map((a) => `${a.addr}/${a.prefix}`)
    .join(', ');
  return has ? t`eth0 has ${has}, not ${want}` : t`eth0 has no address, not ${want}`;
}
