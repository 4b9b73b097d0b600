// A learner's second terminal, as the by-hand tests start one: a shell command whose `sh`
// ends up with the lab's rootfs as its root (a container made with util-linux, setpriv,
// chroot), found from the host by that root.
import fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { procfs } from '../../src/core/index.js';

/** Every `sh` whose root holds the rootfs's marker. */
export function rootfsShells(): number[] {
  return procfs.listPids().filter((p) => {
    try {
      return fs.existsSync(`/proc/${p}/root/.container-lessons-rootfs`) && procfs.comm(p) === 'sh';
    } catch {
      return false;
    }
  });
}

export class ByHand {
  private children: ChildProcess[] = [];

  /** Start `command`; resolves with the pid of a new `sh` rooted in the rootfs once `ready`
   * holds for it (a by-hand setup goes through pivot_root before its last exec). */
  async start(command: string, ready: (pid: number) => boolean = () => true): Promise<number> {
    const known = new Set(rootfsShells());
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stderr!.on('data', (d) => (output += d));
    this.children.push(child);
    for (let i = 0; i < 1000; i++) {
      const fresh = rootfsShells().find((p) => !known.has(p) && ready(p));
      if (fresh !== undefined) return fresh;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`the by-hand container did not start: ${command}: ${output}`);
  }

  /** End every command started: its stdin closed (Ctrl-D), then SIGKILL. */
  stopAll(): void {
    for (const c of this.children.splice(0)) {
      c.stdin?.end();
      c.kill('SIGKILL');
    }
  }
}
