// A tar header block of a meta entry, for tests of what a reader does with one too long to
// hold (no tool writes a PAX header of over 1 MiB on its own). node-tar's Header encodes it.
import { Header } from 'tar';

const TYPES = { x: 'ExtendedHeader', g: 'GlobalExtendedHeader', L: 'NextFileHasLongPath', K: 'NextFileHasLongLinkpath' } as const;

/** The header block of a meta entry (PAX x or g, GNU L or K) that says `size` bytes follow. */
export function metaHeader(type: keyof typeof TYPES, size: number, name: string): Buffer {
  const block = Buffer.alloc(512);
  new Header({ path: name, mode: 0o644, uid: 0, gid: 0, size, mtime: new Date(0), type: TYPES[type] }).encode(block, 0);
  return block;
}
