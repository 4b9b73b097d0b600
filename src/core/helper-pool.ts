// Helpers started before they are needed. Every namespace operation runs in a helper
// process (nsinit.ts), and most of a helper's cost is its start: Node and koffi, before it
// does anything. A running workbook keeps a few helpers started and idle (`nsinit idle`),
// each waiting on fd 4 for the one job it will do: a container's first stage, a command
// entered into a container, a netlink or probe helper. Taking one costs a pipe write.
//
// An idle helper holds nothing: no namespace, mount or cgroup. It carries its tag from the
// start (in its environment), so once it has a job the ledger's entry for that tag finds it
// and everything it starts (undo.ts). It never keeps the workbook's event loop alive, and it
// ends with the workbook: PR_SET_PDEATHSIG, and EOF on fd 4 if that races its start.
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { TAG_VAR } from './tag.js';
import { pidAlive } from './procfs.js';
import { BACKGROUND_VAR, POOL_PARENT_VAR, type HelperJob } from './helper-pool-protocol.js';
import { helperEnv, helperProgram, nsinitArgs } from './helper-command.js';

export type { HelperJob } from './helper-pool-protocol.js';

/** An idle helper, taken: its process (stdin, stdout, stderr, fd 3 and fd 4 are pipes) and
 * the tag its environment carries. */
export interface IdleHelper {
  child: ChildProcess;
  tag: string;
  /** Hand it its job (once). */
  give(job: HelperJob): void;
}

/** Its pipes, as the sockets they are (ref and unref). */
const streams = (c: ChildProcess) => c.stdio.filter((s) => !!s) as unknown as Socket[];

/** How many helpers a running workbook keeps started ahead, unless the next step says it
 * takes more (Step.helpers). Each costs about 9 MiB of its own (the rest of its memory is
 * Node's binary, shared). */
export const HELPERS_AHEAD = 3;

/** Set while work runs that no keypress waits for (background). */
const backgroundWork = new AsyncLocalStorage<true>();

class HelperPool {
  private idle: Array<{ child: ChildProcess; tag: string }> = [];
  private size = 0;
  private exitHooked = false;

  /** Run `work` taking no helper started ahead: a picture redrawn every second while a step
   * runs would otherwise take the helpers that step's keypress was to find waiting. Its
   * helpers start as they are needed, marked (BACKGROUND_VAR) in their environment. */
  background<T>(work: () => Promise<T>): Promise<T> {
    return backgroundWork.run(true, work);
  }

  /** What a helper started now for the running work adds to its environment. */
  coldEnv(): Record<string, string> {
    return backgroundWork.getStore() ? { [BACKGROUND_VAR]: '1' } : {};
  }

  /** Keep `size` helpers started (again, after stop). */
  start(size = HELPERS_AHEAD): void {
    this.size = size;
    // Whatever way the workbook exits (a signal's cleanup ends in process.exit), the idle
    // ones end with it at once, also one still starting (no parent-death signal yet).
    if (!this.exitHooked) {
      this.exitHooked = true;
      process.once('exit', () => void this.stop());
    }
    this.fill();
  }

  /** Whether helpers are kept started (start() was called, stop() was not since). */
  get started(): boolean {
    return this.size > 0;
  }

  /** End the idle helpers, and start no more until start(). Resolves once they have exited
   * (a caller that must leave nothing behind waits for it). */
  stop(): Promise<void> {
    this.size = 0;
    const ending = this.idle.splice(0).map(({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      // Held (ref) until its exit is heard: a wait on an unref'd child would let the
      // process end first, in the middle of whatever awaited this.
      child.ref();
      const gone = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGKILL');
      return gone;
    });
    return Promise.all(ending).then(() => undefined);
  }

  /** The pids of the helpers waiting for a job. */
  pids(): number[] {
    return this.idle.flatMap(({ child }) => (child.pid && child.exitCode === null && child.signalCode === null ? [child.pid] : []));
  }

  /** An idle helper, alive, or null (none started, or none left); another is started in its place. */
  take(): IdleHelper | null {
    if (backgroundWork.getStore()) return null;
    for (let h = this.idle.shift(); h; h = this.idle.shift()) {
      const { child, tag } = h;
      // Dead (a learner's kill) before this process heard of it: /proc says so already.
      if (child.exitCode !== null || child.signalCode !== null || child.killed || !child.pid || !pidAlive(child.pid)) continue;
      this.fill();
      child.ref();
      for (const s of streams(child)) s.ref();
      return {
        child,
        tag,
        give: (job) => {
          const jobPipe = child.stdio[4] as Writable;
          jobPipe.on('error', () => {}); // a helper that died: its exit says so
          jobPipe.end(JSON.stringify(job) + '\n');
        },
      };
    }
    this.fill();
    return null;
  }

  private fill(): void {
    while (this.idle.length < this.size) {
      const tag = `container-lessons-${randomUUID()}`;
      const child = spawn(helperProgram(), [...nsinitArgs(), 'idle'], { env: helperEnv({ [TAG_VAR]: tag, [POOL_PARENT_VAR]: String(process.pid) }), stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'] });
      child.on('error', () => {}); // could not start: take() skips it, a cold start follows
      child.unref();
      for (const s of streams(child)) s.unref();
      const entry = { child, tag };
      child.on('exit', () => {
        const i = this.idle.indexOf(entry);
        if (i >= 0) this.idle.splice(i, 1);
      });
      this.idle.push(entry);
    }
  }
}

/** The process's one pool: WarmContainers starts it in a running workbook; launch and the
 * answering helpers (container.ts) take from it when it has one. */
export const idleHelpers = new HelperPool();
