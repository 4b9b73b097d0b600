// The host's programs the core runs (util-linux's setpriv and unshare, the tools copied into
// a rootfs), looked up in a fixed list of the system's directories rather than through PATH.
import fs from 'node:fs';
import path from 'node:path';

const HOST_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The path of an executable file of this name in the system's directories, or null. */
export function findHostTool(name: string): string | null {
  for (const dir of HOST_PATH) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}
