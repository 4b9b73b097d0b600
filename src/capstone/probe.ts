// One run of the runtime under test, as the conformance suite drives it: the runtime's own
// process, and the container's first process found from outside by a token in its argv.
import fs from 'node:fs';
import os from 'node:os';
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { procfs, undo, TAG_VAR, type Undo } from '../core/index.js';

/** How long a runtime gets to clean up after SIGTERM before its processes are killed. */
export const TERM_MS = 5000;

export interface ProbeSpec {
  /** The runtime's argv before `run` (e.g. ['/home/me/mydocker'] or [node, bin]). */
  runtime: string[];
  /** Options of `run` before IMAGE: --name N --hostname H ... */
  options: string[];
  image: string;
  /** The shell script the container runs (sh -c SCRIPT TOKEN). */
  script: string;
  env: NodeJS.ProcessEnv;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running probe. */
export class Probe {
  readonly token = `cl-probe-${crypto.randomUUID()}`;
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  private out = '';
  private err = '';
  private status: Exit | null = null;

  constructor(readonly spec: ProbeSpec) {
    const [cmd, ...pre] = spec.runtime;
    // A process group of its own: whatever the runtime leaves can be killed as one.
    this.child = spawn(cmd!, [...pre, 'run', ...spec.options, spec.image, 'sh', '-c', spec.script, this.token], {
      // The token in its environment too: every process the runtime starts inherits it, and a
      // recovery finds them by it (a `procs` undo) after the workbook itself was killed.
      env: { ...spec.env, [TAG_VAR]: this.token },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout!.on('data', (d) => (this.out += d));
    this.child.stderr!.on('data', (d) => (this.err += d));
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.err += `${e.message}\n`;
        this.status = { code: 127, signal: null };
        resolve(this.status);
      });
      this.child.on('exit', (code, signal) => {
        this.status = { code, signal };
        resolve(this.status);
      });
    });
  }

  get stdout(): string {
    return this.out;
  }
  get stderr(): string {
    return this.err;
  }
  get ended(): Exit | null {
    return this.status;
  }
  /** The argv of the container's command, as /proc/<pid>/cmdline holds it. */
  get argv(): string[] {
    return ['sh', '-c', this.spec.script, this.token];
  }

  /** Wait until the container's first process is there (its argv exactly the probe's), or
   * the runtime ended, or `ms` passed. Returns its host pid, or null. */
  async container(ms = 30_000): Promise<number | null> {
    const want = this.argv.join('\0');
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !this.status) {
      for (const pid of procfs.listPids()) {
        const cmd = readCmdline(pid);
        if (cmd === want) return pid;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return null;
  }

  /** Wait for a line on the container's stdout. */
  async line(text: string, ms = 15_000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.out.split('\n').includes(text)) return true;
      if (this.status) return this.out.split('\n').includes(text);
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  /** Wait for the runtime to end, up to `ms`; null if it did not. */
  async end(ms = 30_000): Promise<Exit | null> {
    const timer = new Promise<null>((r) => setTimeout(() => r(null), ms).unref());
    return Promise.race([this.exited, timer]);
  }

  signal(sig: NodeJS.Signals): void {
    try {
      this.child.kill(sig);
    } catch {
      /* gone */
    }
  }

  /** What removes every process of this run: the runtime asked with SIGTERM first (its trap
   * stops the container and cleans up), then whatever carries the token killed. A ledger
   * records it, so that a recovery after the workbook was killed takes the same path. */
  get undo(): Extract<Undo, { kind: 'procs' }> {
    return { kind: 'procs', tag: this.token, termMs: TERM_MS };
  }

  /** Whatever is left of the probe, ended, as its undo does it (no SIGTERM once the runtime
   * has exited: the container's PID 1 ignores it), then its process group, for a helper of
   * the runtime's that carries no token. */
  async kill(): Promise<void> {
    await undo(this.status ? { ...this.undo, termMs: undefined } : this.undo);
    if (this.child.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await this.end(3000);
  }
}

function readCmdline(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '');
  } catch {
    return null;
  }
}

/** An exit as a shell reports it: the code, or 128 + the signal's number. */
export function exitCode(e: Exit): number {
  if (e.code !== null) return e.code;
  return 128 + (e.signal ? (os.constants.signals[e.signal] ?? 0) : 0);
}
