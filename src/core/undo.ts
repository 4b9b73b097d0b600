// The executor of the journal's undo descriptions: how to remove each kind of thing the
// core creates (unmount, rmdir a cgroup, kill tagged processes, restore a setting, remove a
// file, delete a link). The journal (journal.ts) only stores and replays descriptions; the
// Ledger's cleanup and `recover` both carry them out here, so a recovery after SIGKILL
// takes the same path as every in-process cleanup.
import fs from 'node:fs';
import path from 'node:path';
import { unmount } from './overlay.js';
import { removeGroupDir } from './cgroup.js';
import { listPids, cmdline, descendants, ppid, waitExited, waitReaped } from './procfs.js';
import { replayJournals, TAG_VAR, type Recovered, type Undo } from './journal.js';

function environHas(pid: number, entry: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/** Processes that belong to a `procs` undo, as the kernel shows them now. */
export function taggedProcesses(u: Extract<Undo, { kind: 'procs' }>): number[] {
  const found = new Set<number>();
  const env = `${TAG_VAR}=${u.tag}`;
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    if ((cmdline(pid) ?? '').includes(u.tag) || environHas(pid, env)) found.add(pid);
  }
  for (const pid of [...found]) for (const d of descendants(pid)) if (d !== process.pid) found.add(d);
  return [...found];
}

/** SIGTERM to the topmost tagged processes (those whose parent is not tagged): a runtime
 * that traps it stops its container and removes what it made. Waits until they ended, or
 * `ms` passed. */
async function askToEnd(u: Extract<Undo, { kind: 'procs' }>, ms: number): Promise<void> {
  const tagged = new Set(taggedProcesses(u));
  const top = [...tagged].filter((p) => !tagged.has(ppid(p) ?? -1));
  for (const pid of top) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  await waitExited(top, ms);
}

/** Carry out an undo. Idempotent: what is already gone is fine. */
export async function undo(u: Undo): Promise<void> {
  switch (u.kind) {
    case 'mount':
      for (let i = 0; i < 16; i++) {
        const lines = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
        if (!lines.some((l) => l.split(' ')[4] === u.target)) return;
        unmount(u.target);
      }
      return;
    case 'cgroup': {
      if (!fs.existsSync(u.dir)) return;
      try {
        await removeGroupDir(u.dir, 100);
      } catch {
        // Someone's process is still inside: move it out, then remove the group.
        const parent = path.join(path.dirname(u.dir), 'cgroup.procs');
        for (const pid of fs.readFileSync(path.join(u.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          try {
            fs.writeFileSync(parent, pid);
          } catch {
            /* gone */
          }
        }
        await removeGroupDir(u.dir);
      }
      return;
    }
    case 'setting':
      try {
        fs.writeFileSync(u.file, u.value);
      } catch {
        /* in use by others now, or gone: leave it */
      }
      return;
    case 'procs': {
      if (u.termMs) await askToEnd(u, u.termMs);
      let pids = taggedProcesses(u);
      for (let round = 0; pids.length && round < 5; round++) {
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        await waitReaped(pids, 3000);
        pids = taggedProcesses(u);
      }
      return;
    }
    case 'file':
      fs.rmSync(u.path, { recursive: true, force: true });
      return;
    case 'link': {
      const { Netlink } = await import('./netlink.js');
      const nl = new Netlink();
      try {
        const l = nl.links().find((x) => x.name === u.name);
        try {
          if (l && (u.alias === undefined || l.alias === u.alias)) nl.delete(u.name);
        } catch (err) {
          // A veth goes by itself when the namespace of its other end is torn down, which
          // may happen between the listing and the delete (its container was just killed).
          if ((err as { code?: string }).code !== 'ENODEV') throw err;
        }
      } finally {
        nl.close();
      }
      return;
    }
    case 'none':
      return;
  }
}

/** Replay the journals of dead processes in `dir`: undo what they left, newest first. */
export async function recover(dir: string): Promise<Recovered> {
  return replayJournals(dir, undo);
}
