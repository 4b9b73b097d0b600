// koffi's native module in the one-file binary. koffi finds its koffi.node in node_modules
// (its src/static.js, then a search beside itself); the binary has no node_modules, so
// scripts/sea.mjs puts this module in static.js's place, and koffi.node in the binary as
// an asset. A native module can be loaded only from a file (dlopen), so it is written to
// a file of its own, loaded, and the file removed at once: the loaded copy stays mapped in
// the process, and nothing is left on disk even if the process is killed later.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HintedError } from './core/errors.js';
import { t } from './i18n/messages.js';
import { SEA_ASSETS, seaAsset } from './sea.js';

/** The name of the short-lived directory that holds the file, before mkdtemp's suffix. */
export const ADDON_DIR_PREFIX = 'container-lessons-addon-';

/** Where the file may go, in order: a temporary directory may be mounted noexec (dlopen
 * then fails), or be out of reach of a rootless helper (it runs as an unprivileged uid). */
function candidateDirs(): string[] {
  return [...new Set([os.tmpdir(), '/dev/shm', '/var/tmp', '/tmp'])];
}

/** Load a native module from its bytes: in a new directory that only this uid can enter
 * (mkdtemp, 0700), the file written 0600, dlopen, then the file and directory removed. */
export function loadAddonBytes(bytes: Uint8Array, name: string, dirs = candidateDirs()): unknown {
  const failures: string[] = [];
  for (const base of dirs) {
    let dir: string | undefined;
    try {
      dir = fs.mkdtempSync(path.join(base, ADDON_DIR_PREFIX));
      const file = path.join(dir, name);
      fs.writeFileSync(file, bytes, { mode: 0o600, flag: 'wx' });
      const module = { exports: {} as unknown };
      process.dlopen(module, file, os.constants.dlopen.RTLD_NOW);
      return module.exports;
    } catch (err) {
      failures.push(`${base}: ${(err as Error).message}`);
    } finally {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new HintedError(t`the one-file binary cannot load its native module ${name} from a temporary file: ${failures.join('; ')}`, t`set TMPDIR to a directory this user can write and that is not mounted noexec`);
}

/** koffi's src/static.js contract: its native module, or null to let koffi search on. */
export function loadStatic(_platform: string): unknown {
  return loadAddonBytes(seaAsset(SEA_ASSETS.koffi), 'koffi.node');
}
