// What `container-lessons run` starts before the rest of the command has loaded: its
// container's PID 1, in new namespaces, waiting for its spec (nsinit's `init -`). bin/ calls
// startForRun first and loads the command after, so that PID 1's Node start overlaps the
// command's own; runContainer takes it (takeEarly) once it knows the spec.
//
// Stage A here is util-linux's unshare, not a Node stage: a program that starts in a
// millisecond, where a Node stage A (a process, or a Worker thread of the command) puts its
// own start on the path before PID 1's (`npm run bench` measures the run with and without
// this). setpriv --pdeathsig makes it die with the command, unshare --kill-child makes PID 1
// die with it, and PID 1 also asks for SIGKILL when its parent dies: a killed command leaves
// no container, as with the Node stages. A run that never gets as far as a container (a usage
// error) leaves PID 1 waiting, which the command does not wait for: when it exits, PID 1 reads
// EOF on fd 4 and ends, and the parent-death signals end it anyway.
//
// unshare makes the UTS, IPC, network and PID namespaces; PID 1 makes the mount namespace once
// its spec has come, after the command's own mounts (an image's overlay), which a mount
// namespace copied earlier would not see; and the cgroup namespace at its execve, as every
// `run` container's (cgroupAtExec).
//
// This module loads only Node's own and a few small modules: anything more would delay what it
// exists to start early. Without util-linux's two programs the command starts its container
// the usual way. Not used by the one-file binary (no bin/ there).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { TAG_VAR } from './core/tag.js';
import { findHostTool } from './core/host-tools.js';
import { helperEnv, nsinitArgs } from './core/helper-command.js';
import type { PreStarted } from './core/container.js';
import type { Namespace } from './core/libc.js';

/** A `run` container's namespaces (the capstone's runtime interface, runtime.ts). */
export const RUNTIME_NAMESPACES: Namespace[] = ['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup'];

/** The namespaces unshare(1) makes, by its options; PID 1 makes the others (see above). */
const UNSHARE_OPTIONS: Partial<Record<Namespace, string>> = { uts: '--uts', ipc: '--ipc', net: '--net', pid: '--pid' };

let early: (PreStarted & { namespaces: readonly Namespace[] }) | null = null;

/** Start `run`'s PID 1 now, if this is a run as root (the only one that could use it) and the
 * programs are there. CONTAINER_LESSONS_NO_EARLY=1 turns it off (the bench compares). */
export function startForRun(argv: readonly string[] = process.argv.slice(2)): void {
  if (early || argv[0] !== 'run' || process.getuid?.() !== 0 || process.env.CONTAINER_LESSONS_NO_EARLY) return;
  if (argv.includes('--help') || argv.includes('-h')) return;
  const setpriv = findHostTool('setpriv');
  const unshare = findHostTool('unshare');
  if (!setpriv || !unshare) return;
  let node: string[];
  try {
    node = [process.execPath, ...nsinitArgs(), 'init', '-'];
  } catch {
    return; // not built: the command says so
  }
  const tag = `container-lessons-${randomUUID()}`;
  const namespaces = RUNTIME_NAMESPACES.filter((n) => UNSHARE_OPTIONS[n]);
  const helper = spawn(setpriv, ['--pdeathsig', 'KILL', '--', unshare, ...namespaces.map((n) => UNSHARE_OPTIONS[n]!), '--fork', '--kill-child=KILL', '--', ...node], {
    env: helperEnv({ [TAG_VAR]: tag }),
    // Stage A's stderr goes nowhere (see PreStartFailed in container.ts); PID 1 takes the
    // command's from fd 5 (nsinit.ts stageInitLater).
    stdio: ['inherit', 'inherit', 'ignore', 'pipe', 'pipe', 2],
  });
  // An old util-linux without these options fails here; it is then not taken (exitCode).
  helper.on('error', () => {});
  // The command may end without a container (a usage error): it does not wait for this one.
  helper.unref();
  for (const fd of [3, 4] as const) (helper.stdio[fd] as unknown as { unref?: () => void }).unref?.();
  early = { helper, tag, namespaces };
}

/** The early start, if there is one and its namespaces are these; it is then the caller's,
 * who waits for it as for any helper. Otherwise it is ended and the caller starts its own. */
export function takeEarly(namespaces: readonly Namespace[]): PreStarted | null {
  const e = early;
  early = null;
  if (!e) return null;
  const made = namespaces.filter((n) => UNSHARE_OPTIONS[n]);
  const alive = e.helper.pid !== undefined && e.helper.exitCode === null && e.helper.signalCode === null;
  if (!alive || made.length !== e.namespaces.length || made.some((n) => !e.namespaces.includes(n))) {
    e.helper.kill('SIGKILL');
    return null;
  }
  e.helper.ref();
  for (const fd of [3, 4] as const) (e.helper.stdio[fd] as unknown as { ref?: () => void }).ref?.();
  return { helper: e.helper, tag: e.tag };
}
