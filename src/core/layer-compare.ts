// Two layer directories compared as overlayfs reads them: the same names, and for each the
// same kind of entry, contents, mode and owner; whiteouts (0/0 character devices) as
// whiteouts, opaque directories (trusted.overlay.opaque=y) as opaque. Times are not
// compared: a copy may keep them or not, and a layer's diff id says whether it did.
import fs from 'node:fs';
import path from 'node:path';
import { lgetxattr } from './libc.js';
import { isWhiteout, OPAQUE_XATTR } from './overlay.js';
import { t } from '../i18n/messages.js';

export type LayerDifferenceKind =
  /** In the first tree, not in the second. */
  | 'missing'
  /** A whiteout of the first tree that the second has not (nothing there). */
  | 'whiteout-lost'
  /** A whiteout of the first tree that is a regular file in the second. */
  | 'whiteout-as-file'
  /** In the second tree, not in the first. */
  | 'extra'
  | 'opaque-lost'
  | 'opaque-extra'
  /** Another kind of entry (a directory for a file, ...). */
  | 'type'
  | 'content'
  | 'mode'
  | 'owner'
  | 'symlink';

export interface LayerDifference {
  /** Relative to the trees' roots. */
  path: string;
  kind: LayerDifferenceKind;
  /** What differs, in words: "a whiteout in upper, a regular file in diff". */
  detail: string;
}

type Kind = 'whiteout' | 'directory' | 'regular file' | 'symlink' | 'device' | 'fifo' | 'socket';

function kindOf(st: fs.Stats): Kind {
  if (isWhiteout(st)) return 'whiteout';
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'regular file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'device';
}

/** A kind of entry in words, for the details. */
function kindWord(k: Kind): string {
  switch (k) {
    case 'whiteout':
      return t`whiteout`;
    case 'directory':
      return t`directory`;
    case 'regular file':
      return t`regular file`;
    case 'symlink':
      return t`symlink`;
    case 'device':
      return t`device`;
    case 'fifo':
      return t`fifo`;
    case 'socket':
      return t`socket`;
  }
}

const opaque = (p: string) => lgetxattr(p, OPAQUE_XATTR)?.toString() === 'y';

/** Same bytes in two files of the same size, read a chunk at a time. */
function sameContent(a: string, b: string): boolean {
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  try {
    const ba = Buffer.alloc(1 << 16);
    const bb = Buffer.alloc(1 << 16);
    for (;;) {
      const na = fs.readSync(fa, ba, 0, ba.length, null);
      const nb = fs.readSync(fb, bb, 0, bb.length, null);
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

/** How `second` differs from `first`, as a list (at most `limit`), in path order. The names
 * say what each tree is in the details: compareLayerTrees(upper, diff, 'upper', 'diff'). */
export function compareLayerTrees(first: string, second: string, names: [string, string] = ['the first', 'the second'], limit = 20): LayerDifference[] {
  const [A, B] = names;
  const out: LayerDifference[] = [];
  const add = (rel: string, kind: LayerDifferenceKind, detail: string) => {
    if (out.length < limit) out.push({ path: rel, kind, detail });
  };
  const walk = (rel: string) => {
    const a = path.join(first, rel);
    const b = path.join(second, rel);
    const names = new Set([...fs.readdirSync(a), ...fs.readdirSync(b)]);
    for (const name of [...names].sort()) {
      if (out.length >= limit) return;
      const r = path.join(rel, name);
      const sa = fs.lstatSync(path.join(first, r), { throwIfNoEntry: false });
      const sb = fs.lstatSync(path.join(second, r), { throwIfNoEntry: false });
      if (!sa) {
        add(r, 'extra', t`in ${B}, not in ${A}`);
        continue;
      }
      const ka = kindOf(sa);
      if (!sb) {
        add(r, ka === 'whiteout' ? 'whiteout-lost' : 'missing', t`a ${kindWord(ka)} in ${A}, not in ${B}`);
        continue;
      }
      const kb = kindOf(sb);
      if (ka !== kb) {
        add(r, ka === 'whiteout' ? (kb === 'regular file' ? 'whiteout-as-file' : 'whiteout-lost') : 'type', t`a ${kindWord(ka)} in ${A}, a ${kindWord(kb)} in ${B}`);
        continue;
      }
      if (ka === 'symlink') {
        const [ta, tb] = [fs.readlinkSync(path.join(first, r)), fs.readlinkSync(path.join(second, r))];
        if (ta !== tb) add(r, 'symlink', t`points at ${ta} in ${A}, at ${tb} in ${B}`);
        continue; // a symlink's own mode and owner mean nothing to the kernel
      }
      if (ka === 'regular file' && (sa.size !== sb.size || !sameContent(path.join(first, r), path.join(second, r)))) add(r, 'content', t`its contents differ (${sa.size} bytes in ${A}, ${sb.size} in ${B})`);
      if (ka === 'device' && sa.rdev !== sb.rdev) add(r, 'type', t`another device number in ${B}`);
      if ((sa.mode & 0o7777) !== (sb.mode & 0o7777)) add(r, 'mode', t`mode ${(sa.mode & 0o7777).toString(8)} in ${A}, ${(sb.mode & 0o7777).toString(8)} in ${B}`);
      if (sa.uid !== sb.uid || sa.gid !== sb.gid) add(r, 'owner', t`owner ${sa.uid}:${sa.gid} in ${A}, ${sb.uid}:${sb.gid} in ${B}`);
      if (ka === 'directory') {
        const [oa, ob] = [opaque(path.join(first, r)), opaque(path.join(second, r))];
        if (oa && !ob) add(r, 'opaque-lost', t`opaque in ${A} (${OPAQUE_XATTR}=y), not in ${B}`);
        if (ob && !oa) add(r, 'opaque-extra', t`opaque in ${B} (${OPAQUE_XATTR}=y), not in ${A}`);
        walk(r);
      }
    }
  };
  walk('');
  return out;
}
