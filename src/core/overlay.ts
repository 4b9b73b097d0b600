// overlayfs: N read-only lower directories, one writable upper, a work dir, merged on top.
import fs from 'node:fs';
import path from 'node:path';
import { mount, umount2, MNT_DETACH, SyscallError } from './libc.js';
import type { Ledger } from './ledger.js';
import { t } from '../i18n/messages.js';

export interface OverlaySpec {
  /** Lower directories, top-most first, exactly as `lowerdir=` lists them. */
  lowers: string[];
  upper: string;
  work: string;
  merged: string;
}

export function overlayOptions(spec: OverlaySpec): string {
  return `lowerdir=${spec.lowers.join(':')},upperdir=${spec.upper},workdir=${spec.work}`;
}

/** The mount(8) command a learner would type for the same mount. */
export function overlayCommand(spec: OverlaySpec): string {
  return `mount -t overlay overlay -o ${overlayOptions(spec)} ${spec.merged}`;
}

export function mountOverlay(spec: OverlaySpec, ledger: Ledger): void {
  const opts = overlayOptions(spec);
  if (opts.length > 4000) throw new Error(t`overlay options are ${opts.length} bytes, more than a page: shorten the lower paths (overlay2 uses l/<short id> links for this)`);
  const entry = ledger.add({ kind: 'mount', target: spec.merged });
  try {
    mount('overlay', spec.merged, 'overlay', 0, opts);
  } catch (err) {
    entry.drop();
    if (err instanceof SyscallError && err.code === 'ENODEV') {
      throw Object.assign(err, { hint: t`this kernel has no overlay filesystem: try \`modprobe overlay\`, or use a kernel built with CONFIG_OVERLAY_FS.` });
    }
    throw err;
  }
}

/** Unmount if mounted; a busy mount is detached lazily so cleanup never hangs. */
export function unmount(target: string): void {
  try {
    umount2(target, 0);
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    if (err.code === 'EINVAL' || err.code === 'ENOENT') return; // not a mount point (any more)
    if (err.code === 'EBUSY') umount2(target, MNT_DETACH);
    else throw err;
  }
}

export interface Whiteout {
  path: string; // relative to upper
  kind: 'whiteout' | 'opaque-dir';
}

/** overlayfs marks a directory that hides everything below it with this xattr ("y"). */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** A whiteout is a character device 0/0 in upper: "this name is deleted below". */
export function isWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export function listWhiteouts(upper: string): Whiteout[] {
  const out: Whiteout[] = [];
  const walk = (dir: string) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, ent.name);
      const st = fs.lstatSync(full);
      if (isWhiteout(st)) out.push({ path: path.relative(upper, full), kind: 'whiteout' });
      else if (st.isDirectory()) walk(full);
    }
  };
  walk(upper);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
