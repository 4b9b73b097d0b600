// A pseudo-terminal for a shell inside a container, as `docker exec -it` gives one.
//
// The pty is allocated from the container's own devpts instance (nsinit.ts mounts one at
// /dev/pts with newinstance), so that its slave is a /dev/pts/N *inside* the container:
// `tty` names it, and processes there can open it again by that name. The workbook opens
// that instance's ptmx from the host, through /proc/<pid>/root, which walks the
// container's root and mount table; the slave comes from the master itself (TIOCGPTPEER),
// so no path is looked up twice. runc does the same from inside the container
// (libcontainer/console_linux.go safeAllocPty: /dev/pts/ptmx, checked, then the peer).
//
// The master stays with the workbook, which relays the real terminal to it (ui/pty-relay.ts);
// the slave goes to the enter helper as its stdin/out/err, which makes it the controlling
// terminal of a new session before it joins the container (nsinit.ts stageEnter).
import fs from 'node:fs';
import path from 'node:path';
import * as libc from './libc.js';
import { t } from '../i18n/messages.js';

/** statfs f_type of a devpts filesystem (<linux/magic.h>). */
const DEVPTS_SUPER_MAGIC = 0x1cd1;

export interface ContainerPty {
  /** The master: read the terminal's output, write its input. The caller closes it. */
  master: number;
  /** The slave, opened O_NOCTTY: hand it to the shell's helper, then close it here. */
  slave: number;
  /** The slave's name inside the container. */
  name: string;
}

/**
 * Why the container at `pid` has no devpts of its own to allocate a pty from, or null when
 * it has. The same checks as runc's checkPtmxHandle: /dev/pts/ptmx is on a devpts mount,
 * and is that instance's ptmx node (inode 2, character device 5:2). A symlink is refused:
 * resolved from here, an absolute one would lead into the host's tree.
 */
export function ptmxProblem(pid: number): string | null {
  const root = `/proc/${pid}/root`;
  const pts = path.join(root, 'dev/pts');
  let st: fs.Stats;
  try {
    for (const dir of [path.join(root, 'dev'), pts]) {
      if (!fs.lstatSync(dir).isDirectory()) return t`${dir.slice(root.length)} in the container is not a directory`;
    }
    if (fs.statfsSync(pts).type !== DEVPTS_SUPER_MAGIC) return t`no devpts is mounted at /dev/pts in the container`;
    st = fs.lstatSync(path.join(pts, 'ptmx'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return t`the container has no /dev/pts`;
    return t`/dev/pts in the container cannot be read: ${(err as Error).message}`;
  }
  if (!st.isCharacterDevice() || st.ino !== 2 || st.rdev !== libc.makedev(5, 2)) return t`/dev/pts/ptmx in the container is not the ptmx of a devpts instance`;
  return null;
}

/** A new pty of the container's devpts instance, sized like the real terminal. Throws a
 * SyscallError (or an fs error) when one step fails; nothing stays open then. */
export function openContainerPty(pid: number, size?: { rows: number; columns: number }): ContainerPty {
  const { O_RDWR, O_NOCTTY } = fs.constants;
  const O_CLOEXEC = 0o2000000; // <asm-generic/fcntl.h>; not in fs.constants
  // Node opens every file close-on-exec; O_NOCTTY: the workbook must never take the
  // terminal as its own controlling terminal.
  const master = fs.openSync(`/proc/${pid}/root/dev/pts/ptmx`, O_RDWR | O_NOCTTY);
  try {
    libc.unlockPty(master);
    if (size && size.rows > 0 && size.columns > 0) libc.setWindowSize(master, size.rows, size.columns);
    const n = libc.ptyNumber(master);
    const slave = libc.openPtyPeer(master, O_RDWR | O_NOCTTY | O_CLOEXEC);
    return { master, slave, name: `/dev/pts/${n}` };
  } catch (err) {
    fs.closeSync(master);
    throw err;
  }
}
