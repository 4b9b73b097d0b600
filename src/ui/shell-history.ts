// The `s` shell starts with the lesson's commands in its history, so that up-arrow brings
// them back to be run by hand, edited first where a <placeholder> waits for the learner.
//
// bash reads its history from HISTFILE as it starts an interactive shell, and writes it
// there again when it exits. So the workbook writes a file of its own just before the
// shell starts, in a directory of its own (bash writes through a temporary file beside
// HISTFILE), records that directory in the lab's journal first (a workbook killed
// meanwhile leaves it to the next start's recovery), and removes it when the shell ends.
// The learner's own ~/.bash_history is never read or written. For a container shell the
// file must be one the shell sees: the container's /tmp, reached from the host through
// /proc/<pid>/root.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Ledger } from '../core/ledger.js';
import type { Lab } from '../lab.js';
import type { Step } from '../lessons/types.js';
import { quoteAfter } from './command-wrap.js';

/**
 * A step's command lines as shell commands: a line that leaves a quote open goes on in
 * the next (lesson 3's `unshare ... sh -c '` and the script under it are one command).
 */
export function stepCommands(lines: string[]): string[] {
  const out: string[] = [];
  let cur: string | null = null;
  let quote = quoteAfter('');
  for (const line of lines) {
    cur = cur === null ? line : `${cur}\n${line}`;
    quote = quoteAfter(line, quote);
    if (!quote) {
      out.push(cur);
      cur = null;
    }
  }
  if (cur !== null) out.push(cur); // a quote never closed: still one command
  return out;
}

/**
 * Which step the learner is at: the first one not done (the one Enter runs next, or one
 * that failed), or the last one when all are done.
 */
export function currentStep(statuses: ReadonlyArray<{ status: string }>): number {
  const i = statuses.findIndex((s) => s.status !== 'done');
  return i < 0 ? Math.max(0, statuses.length - 1) : i;
}

/**
 * The lesson's commands, oldest first as a history file holds them, so that the first
 * up-arrow brings back the last command of the current step, the next ones that step's
 * earlier commands, then the steps before it, back to step 1. The steps still ahead come
 * before step 1 (furthest back), each in its own order: nothing of the lesson is missing,
 * and nothing comes twice.
 */
export function historyEntries(steps: ReadonlyArray<Pick<Step, 'commands'>>, lab: Lab, current: number): string[] {
  const per = steps.map((s) => stepCommands(s.commands(lab)));
  const at = Math.min(Math.max(current, 0), per.length - 1);
  return [...per.slice(at + 1), ...per.slice(0, at + 1)].flat();
}

/**
 * A history file's text: each entry after a `#<seconds>` timestamp line. With timestamps
 * (and HISTTIMEFORMAT set) bash reads everything up to the next timestamp as one entry, so
 * a command of several lines comes back whole; without them, line by line.
 */
export function historyFileText(entries: string[], now = Math.floor(Date.now() / 1000)): string {
  return entries.map((e) => `#${now}\n${e}\n`).join('');
}

/** The environment that points bash at a history file; HISTTIMEFORMAT makes it read the
 * timestamps (empty: `history` shows none). */
export const historyEnv = (file: string): Record<string, string> => ({ HISTFILE: file, HISTTIMEFORMAT: '' });

/** Where the history directory goes: the path the workbook writes, the path the shell
 * sees, and the path its recovery removes. */
export interface HistoryPlace {
  here: string;
  inside: string;
  undo: string;
}

const dirName = () => `container-lessons-shell-${randomUUID()}`;

/** For a shell on the host: a fresh directory under the host's temporary directory. */
export function hostHistoryPlace(): HistoryPlace {
  const dir = path.join(os.tmpdir(), dirName());
  return { here: dir, inside: dir, undo: dir };
}

/**
 * For a shell inside the container of `pid`: a fresh directory in its /tmp, or null when
 * it has no /tmp that is a plain directory (a symlink there, resolved from the host, could
 * lead into the host's own tree). The recovery removes it by its path in the lab rootfs
 * when the container's root is that (after a crash the container is gone, and with it
 * /proc/<pid>/root); otherwise by the /proc path, which names nothing else (a UUID).
 */
export function containerHistoryPlace(pid: number, lab: Lab): HistoryPlace | null {
  const root = `/proc/${pid}/root`;
  const name = dirName();
  try {
    if (!fs.lstatSync(path.join(root, 'tmp')).isDirectory()) return null;
  } catch {
    return null;
  }
  const here = path.join(root, 'tmp', name);
  let undo = here;
  try {
    const a = fs.statSync(root);
    const b = fs.statSync(lab.rootfs);
    if (a.dev === b.dev && a.ino === b.ino) undo = path.join(lab.rootfs, 'tmp', name);
  } catch {
    /* no lab rootfs: the /proc path it is */
  }
  return { here, inside: path.join('/tmp', name), undo };
}

/**
 * Write the history file at `place`, recorded in `ledger` first; its cleanup removes it.
 * Returns the shell's environment for it, or null when it cannot be written (the shell
 * then starts without; that is no reason to refuse a shell).
 */
export function writeHistory(place: HistoryPlace, entries: string[], ledger: Ledger): Record<string, string> | null {
  const entry = ledger.add({ kind: 'file', path: place.undo });
  try {
    fs.mkdirSync(place.here, { mode: 0o700 });
  } catch {
    entry.drop(); // nothing was made
    return null;
  }
  try {
    fs.writeFileSync(path.join(place.here, 'history'), historyFileText(entries), { mode: 0o600 });
  } catch {
    return null; // the directory stays recorded: the cleanup removes it
  }
  return historyEnv(path.join(place.inside, 'history'));
}
