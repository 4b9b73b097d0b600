// A directory tree as data, to compare two unpacks of one image attribute by attribute.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { libc } from '../../src/core/index.js';

/** Every path under `root` with its attributes; hard links as groups of names. */
export function describeTree(root: string): { entries: Record<string, Record<string, unknown>>; links: string[][] } {
  const entries: Record<string, Record<string, unknown>> = {};
  const byInode = new Map<number, string[]>();
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs);
    const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : 'other';
    const xattrs = Object.fromEntries(
      libc
        .llistxattr(abs)
        .sort()
        .map((n) => [n, libc.lgetxattr(abs, n)!.toString('hex')]),
    );
    entries[rel || '.'] = {
      kind,
      mode: (st.mode & 0o7777).toString(8),
      owner: `${st.uid}:${st.gid}`,
      mtime: String(fs.lstatSync(abs, { bigint: true }).mtimeNs),
      ...(kind === 'file' ? { size: st.size, sha256: crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex') } : {}),
      ...(kind === 'symlink' ? { target: fs.readlinkSync(abs) } : {}),
      ...(kind === 'char' ? { rdev: st.rdev } : {}),
      xattrs,
    };
    if (kind === 'file' && st.nlink > 1) byInode.set(st.ino, [...(byInode.get(st.ino) ?? []), rel]);
    if (kind === 'dir') for (const name of fs.readdirSync(abs).sort()) walk(rel ? `${rel}/${name}` : name);
  };
  walk('');
  return { entries, links: [...byInode.values()].map((names) => names.sort()).sort() };
}
