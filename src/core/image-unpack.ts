// Unpacking: an image archive into a directory, and each layer's tar into its diff
// directory in the layer store, checking the layer's blob digest and diff id in the same
// pass. Tar reading is node-tar's; what overlayfs needs beyond a plain extraction
// (whiteouts, opaque directories, device nodes, symlinks kept verbatim) is done here.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
// node-tar is loaded when an archive is read, not with the workbook: most commands never
// read one, and every start would parse it (it is a good part of the command's code).
import type { ReadEntry, UnpackSync } from 'tar';
import { OPAQUE_XATTR } from './overlay.js';
import { lsetxattr, lutimens, makedev, mknod, S_IFCHR } from './libc.js';
import { ImageError, HINT_RESAVE, HINT_UNSAFE, HINT_ZSTD, digestMismatch } from './image-error.js';
import { sha256, tap, hashFile } from './image-digest.js';
import { TarXattrScanner, type ExactTime, type Xattrs } from './tar-xattrs.js';
import { SparseSplitter, SplitRefused } from './tar-sparse.js';
import type { Plan } from './image-manifest.js';
import { t, tr } from '../i18n/messages.js';

/** Feed a stream into a synchronous unpacker. Synchronous on purpose: when a chunk has been
 * written, everything it made is on disk, so after a failure nothing is still being written
 * into a directory that is about to be removed. */
function unpackSink(unpack: UnpackSync, state: { failure?: Error }, through: { split(chunk: Buffer): Buffer[]; end(): void } = { split: (c) => [c], end() {} }) {
  unpack.on('error', (err: Error) => {
    state.failure ??= err;
  });
  const fail = (err: unknown) => {
    state.failure ??= err as Error;
    return state.failure;
  };
  return async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      let parts: Buffer[];
      try {
        parts = through.split(chunk);
      } catch (err) {
        throw fail(err);
      }
      for (const part of parts) {
        unpack.write(part);
        if (state.failure) throw state.failure;
      }
    }
    try {
      through.end();
    } catch (err) {
      throw fail(err);
    }
    unpack.end();
    if (state.failure) throw state.failure;
  };
}

/** How far an unpacking is: bytes of its source file read, tar entries seen. */
export interface UnpackCount {
  bytes: number;
  files: number;
}

/** A pass-through that counts the bytes of the source file as they are read, and tells. */
function counter(count: UnpackCount, tell?: (c: UnpackCount) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      count.bytes += chunk.length;
      tell?.(count);
      cb(null, chunk);
    },
  });
}

/** Extract a source tarball (plain or gzip) into `dir`. Only files, directories and links:
 * an image archive holds nothing else. `onCount` hears how far it is, at each chunk read. */
export async function extractArchive(file: string, dir: string, source: string, onCount?: (c: UnpackCount) => void): Promise<void> {
  const { Header, UnpackSync } = await import('tar');
  const state: { failure?: Error } = {};
  const count: UnpackCount = { bytes: 0, files: 0 };
  const unpack = new UnpackSync({
    cwd: dir,
    strict: true,
    preserveOwner: false,
    filter: (_p, e) => {
      count.files++;
      const entry = e as ReadEntry;
      const name = JSON.stringify(entry.path);
      if (!entryParts(entry.path)) state.failure ??= new ImageError(t`${source}: entry ${name} leaves the archive: a path may not climb out with ".."`, tr(HINT_UNSAFE));
      else if (entry.type === 'Link' && !entryParts(entry.linkpath ?? '')) {
        const linkpath = JSON.stringify(entry.linkpath);
        state.failure ??= new ImageError(t`${source}: hard link ${name} -> ${linkpath} leaves the archive: a link target may not climb out with ".."`, tr(HINT_UNSAFE));
      }
      if (state.failure) return false;
      return ['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link'].includes(entry.type);
    },
  });
  // Told apart first, so that a wrong file is called that and not "a damaged archive".
  const head = Buffer.alloc(512);
  let n: number;
  try {
    const fd = fs.openSync(file, 'r');
    n = fs.readSync(fd, head, 0, 512, 0);
    fs.closeSync(fd);
  } catch (err) {
    throw new ImageError(t`cannot read ${source}: ${(err as Error).message}`, t`check the path and that you may read the file`);
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  if (!gzip && (n < 512 || !new Header(head).cksumValid)) {
    throw new ImageError(t`${source} is not a tar archive`, t`give a file made by \`docker save NAME -o NAME.tar\`, or an OCI layout as a directory or a tar of one`);
  }
  try {
    await pipeline(fs.createReadStream(file), counter(count, onCount), unpackSink(unpack, state));
    onCount?.(count); // the entries of the last chunk, counted once it was unpacked
  } catch (err) {
    // What was refused, not how the pipeline reported being stopped (an AbortError).
    const failure = state.failure ?? (err as Error);
    if (failure instanceof ImageError) throw failure;
    if (isNoSpace(failure)) throw noSpace(source, dir);
    if ((failure as { code?: string }).code === 'TAR_SYMLINK_ERROR') throw new ImageError(t`${source}: ${failure.message}`, tr(HINT_UNSAFE));
    throw new ImageError(t`${source} is damaged: ${failure.message}`, tr(HINT_RESAVE));
  }
}

const S_IFIFO = 0o010000;

/** A layer entry written after node-tar is done (see LayerUnpacker). */
// biome-ignore format: one kind a line
type Deferred =
  | { kind: 'symlink'; target: string; uid?: number; gid?: number; mtime?: Date }
  | { kind: 'node'; type: number; mode: number; dev: number; uid?: number; gid?: number; mtime?: Date }
  | { kind: 'hardlink'; target: string }
  | { kind: 'sparse'; temp: string; mode: number; uid?: number; gid?: number; mtime?: Date };

/** The parts of a tar entry path, as node-tar places it (leading / dropped); null if it has "..". */
function entryParts(p: string): string[] | null {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  return parts.includes('..') ? null : parts;
}

/** A relative path's directories and its last part. */
function splitLast(rel: string): [string[], string] {
  const parts = rel.split('/');
  return [parts.slice(0, -1), parts.at(-1) ?? ''];
}

const lstatOrNull = (p: string) => fs.lstatSync(p, { throwIfNoEntry: false }) ?? null;

/** This process's umask, which node-tar's files are created through (read from procfs:
 * process.umask() without an argument is deprecated); all bits if it cannot be read. */
const UMASK = (() => {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number.parseInt(m[1]!, 8);
  } catch {}
  return 0o777;
})();

/** Unpacks one layer tar into a diff directory, as overlayfs needs it.
 *
 * node-tar extracts files, directories and hard links. The rest it would get wrong for a
 * container root, so the filter takes it out and finish() makes it after:
 *  - `.wh.<name>` becomes a whiteout (0/0 character device), `.wh..wh..opq` the opaque xattr;
 *  - symlinks: node-tar rewrites absolute targets (/usr/lib/x -> usr/lib/x), which breaks
 *    them inside the container, so they are made verbatim. Made last, no later entry of the
 *    layer can be written through one;
 *  - device nodes and fifos, which node-tar does not make;
 *  - modes: node-tar applies the umask and forces u+rwx on directories (/tmp's 1777 would be
 *    1755), and chown clears setuid bits: the archive's modes are set again at the end.
 *
 * Entries no honest layer has are refused by name, with the rule they break (unsafe()): a
 * path that climbs out with "..", a hard link whose target is not an earlier entry of the
 * layer, anything below a symlink the layer itself makes, a device node (the host's disk,
 * say, made readable in the lab) other than overlayfs's 0/0 whiteout, a whiteout of "." or
 * "..". */
class LayerUnpacker {
  readonly state: { failure?: Error } = {};
  /** Bytes of the blob read (counter()) and entries of its tar seen (filter()). */
  readonly count: UnpackCount = { bytes: 0, files: 0 };
  readonly unpack: UnpackSync;
  private files: Array<{ rel: string; mode: number }> = [];
  private dirs: Array<{ rel: string; mode: number; mtime?: Date }> = [];
  private deferred = new Map<string, Deferred>();
  private whiteouts: Array<{ dir: string[]; name: string }> = [];
  private opaque = new Map<string, string[]>();

  constructor(
    readonly diff: string,
    readonly what: string,
    tar: typeof import('tar'),
  ) {
    this.sparse = new SparseSplitter(path.dirname(diff));
    this.unpack = new tar.UnpackSync({
      cwd: diff,
      filter: (_p, e) => this.filter(e as ReadEntry),
      // Leading "/" stripped from a path is harmless (TAR_ENTRY_INFO); every other warning
      // is an entry node-tar refused ("..", out of the layer, unsupported): fail the layer.
      onwarn: (code, message, data) => {
        // data carries the failed call's errno as its code (node-tar's warn-method).
        if (isNoSpace(data)) this.state.failure ??= noSpace(what, diff);
        else if (code !== 'TAR_ENTRY_INFO') this.fail(`${code}: ${message}`);
      },
    });
  }

  /** An entry of this layer made by now that a hard link may join: a file or hard link
   * node-tar wrote (the diff began empty, and only this layer writes it; no symlink is on
   * disk yet to lead a path elsewhere), or a symlink, node or hard link held back for later.
   * Asked of the disk, not remembered, so that memory does not grow with the entries. */
  private madeEarlier(target: string): boolean {
    if (this.deferred.has(target)) return true;
    const st = lstatOrNull(path.join(this.diff, target));
    return st !== null && !st.isDirectory();
  }
  /** Reads each entry's xattrs from the tar before node-tar does (which drops them). */
  readonly scanner = new TarXattrScanner();
  /** Takes sparse files out of the tar before node-tar sees them (it cannot read them),
   * writing each beside the diff, holes and all. */
  readonly sparse: SparseSplitter;
  /** The xattrs each entry keeps, set once everything is made (after every chown, which
   * would clear a file capability). */
  private xattrs = new Map<string, Xattrs>();
  /** Mtimes to the nanosecond, where the tar has them (node-tar sets them to the
   * millisecond), of what is made or changed later: directories and deferred entries. */
  private mtimes = new Map<string, ExactTime>();
  /** The exact mtime of the file (or hard link) node-tar is writing, set once it is written:
   * when the next entry comes, or at the end. Not kept for every file, so that memory does
   * not grow with the number of entries. */
  private pendingMtime: { rel: string; mtime: ExactTime } | null = null;

  private setPendingMtime(): void {
    const pending = this.pendingMtime;
    this.pendingMtime = null;
    const p = pending && path.join(this.diff, pending.rel);
    if (p && lstatOrNull(p)?.isFile()) lutimens(p, pending.mtime);
  }

  private fail(message: string) {
    this.state.failure ??= new ImageError(`${this.what}: ${message}`, tr(HINT_RESAVE));
  }

  /** An entry breaks a rule that keeps a layer inside its directory: refuse the layer. */
  private unsafe(message: string) {
    this.state.failure ??= new ImageError(`${this.what}: ${message}`, tr(HINT_UNSAFE));
  }

  /** The symlink this layer makes that `parts` would go through (one of its directories), if any. */
  private symlinkAbove(parts: string[]): { rel: string; target: string } | null {
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      const d = this.deferred.get(rel);
      if (d?.kind === 'symlink') return { rel, target: d.target };
    }
    return null;
  }

  private filter(e: ReadEntry): boolean {
    // node-tar has written the entry before this one (UnpackSync: in order, synchronously).
    this.setPendingMtime();
    const index = this.count.files++;
    const entry = JSON.stringify(e.path);
    const parts = entryParts(e.path);
    if (!parts) {
      this.unsafe(t`entry ${entry} leaves the layer: a path may not climb out with ".."`);
      return false;
    }
    const rel = parts.join('/');
    const above = this.symlinkAbove(parts);
    if (above) {
      const link = JSON.stringify(above.rel);
      const to = JSON.stringify(above.target);
      this.unsafe(t`entry ${entry} goes through ${link}, a symbolic link this layer makes (to ${to}): a layer may not write through its own symlinks`);
      return false;
    }
    const base = parts[parts.length - 1] ?? '';
    if (base.startsWith('.wh.')) {
      const dir = parts.slice(0, -1);
      if (base === '.wh..wh..opq') this.opaque.set(dir.join('/'), dir);
      else if (!base.startsWith('.wh..wh.')) {
        // (other .wh..wh. names are aufs bookkeeping: nothing to make)
        const name = base.slice(4);
        if (name === '.' || name === '..') this.unsafe(t`whiteout ${entry} hides "${name}": a whiteout may hide only an entry of its own directory`);
        else this.whiteouts.push({ dir, name });
      }
      return false;
    }
    // A later entry of the same path replaces an earlier one, as tar does.
    this.deferred.delete(rel);
    this.xattrs.delete(rel);
    this.mtimes.delete(rel);
    const said = this.scanner.take(index);
    const xattrs = new Map([...(said?.xattrs ?? [])].filter(([name]) => keptXattr(name)));
    if (xattrs.size) this.xattrs.set(rel, xattrs);
    const exact = said?.mtime ?? null;
    const later = () => exact && this.mtimes.set(rel, exact);
    const whenWritten = () => {
      this.pendingMtime = exact && { rel, mtime: exact };
    };
    const sparse = this.sparse.fileOf(index);
    if (sparse) {
      this.deferred.set(rel, { kind: 'sparse', temp: sparse.temp, mode: (e.mode ?? 0o644) & 0o7777, uid: e.uid, gid: e.gid, mtime: e.mtime });
      later();
      return false;
    }
    switch (e.type) {
      case 'SymbolicLink':
        this.deferred.set(rel, { kind: 'symlink', target: e.linkpath ?? '', uid: e.uid, gid: e.gid, mtime: e.mtime });
        later();
        return false;
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO': {
        const [major, minor] = [e.header.devmaj ?? 0, e.header.devmin ?? 0];
        if (e.type === 'BlockDevice' || (e.type === 'CharacterDevice' && (major !== 0 || minor !== 0))) {
          const kind = e.type === 'BlockDevice' ? t`a block device` : t`a character device`;
          this.unsafe(t`entry ${entry} is ${kind} (${major}:${minor}): a layer here may hold no device node but overlayfs's whiteout, a character device 0:0 (pack /dev empty: a container gets its /dev when it starts)`);
          return false;
        }
        const type = e.type === 'FIFO' ? S_IFIFO : S_IFCHR;
        this.deferred.set(rel, { kind: 'node', type, mode: (e.mode ?? 0o600) & 0o7777, dev: makedev(major, minor), uid: e.uid, gid: e.gid, mtime: e.mtime });
        later();
        return false;
      }
      case 'Link': {
        const linkpath = JSON.stringify(e.linkpath ?? '');
        const targetParts = entryParts(e.linkpath ?? '');
        if (!targetParts) {
          this.unsafe(t`hard link ${entry} -> ${linkpath} leaves the layer: a link target may not climb out with ".."`);
          return false;
        }
        const target = targetParts.join('/');
        if (!this.madeEarlier(target)) {
          this.unsafe(t`hard link ${entry} -> ${linkpath}: the target is not an earlier entry of this layer (a hard link joins two entries of one layer)`);
          return false;
        }
        // A hard link to something made later must be made later too.
        if (this.deferred.has(target)) {
          this.deferred.set(rel, { kind: 'hardlink', target });
          later();
          return false;
        }
        whenWritten();
        return true;
      }
      case 'Directory':
      case 'GNUDumpDir':
        if (e.mode !== undefined) this.dirs.push({ rel, mode: e.mode & 0o7777, mtime: e.mtime });
        later();
        return true;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        // Only a mode node-tar does not give (the umask's bits, setuid and friends, which a
        // chown clears) is set again at the end: kept for those files alone.
        if (e.mode !== undefined && e.mode & (0o7000 | UMASK)) this.files.push({ rel, mode: e.mode & 0o7777 });
        whenWritten();
        return true;
      default:
        return true; // node-tar knows it, or warns: the layer fails
    }
  }

  /** The directory `parts` inside the diff, made if missing. Every step must be a real
   * directory: a symlink in the layer must not lead a whiteout or link out of it. */
  private dirOf(parts: string[], rel: string, create = true): string {
    let cur = this.diff;
    for (const [i, part] of parts.entries()) {
      cur = path.join(cur, part);
      const st = lstatOrNull(cur);
      if (!st && create) {
        fs.mkdirSync(cur);
        fs.chmodSync(cur, 0o755);
      } else if (!st?.isDirectory()) {
        const p = parts.slice(0, i + 1).join('/');
        const what = this.what;
        const why = !st ? t`${what}: ${rel}: ${p} is missing` : st.isSymbolicLink() ? t`${what}: ${rel}: ${p} is a symbolic link` : t`${what}: ${rel}: ${p} is not a directory`;
        throw new ImageError(why, tr(HINT_RESAVE));
      }
    }
    return cur;
  }

  /** Make what the filter held back, then put the archive's modes back. */
  finish(): void {
    this.setPendingMtime();
    // Files first, before any symlink exists in the diff that a path could go through.
    for (const f of this.files) {
      const p = path.join(this.diff, f.rel);
      const st = lstatOrNull(p);
      if (st?.isFile() && (st.mode & 0o7777) !== f.mode) fs.chmodSync(p, f.mode);
    }
    for (const [rel, d] of this.deferred) {
      const [dir, name] = splitLast(rel);
      const p = path.join(this.dirOf(dir, rel), name);
      const st = lstatOrNull(p);
      if (st?.isDirectory()) {
        const what = this.what;
        const both =
          d.kind === 'symlink'
            ? t`${what}: ${rel} is both a directory and a symlink in this layer`
            : d.kind === 'node'
              ? t`${what}: ${rel} is both a directory and a node in this layer`
              : t`${what}: ${rel} is both a directory and a hardlink in this layer`;
        throw new ImageError(both, tr(HINT_RESAVE));
      }
      if (st) fs.unlinkSync(p);
      if (d.kind === 'hardlink') {
        const [targetDir, targetName] = splitLast(d.target);
        fs.linkSync(path.join(this.dirOf(targetDir, d.target, false), targetName), p);
        continue;
      }
      if (d.kind === 'symlink') fs.symlinkSync(d.target, p);
      else if (d.kind === 'sparse') fs.renameSync(d.temp, p);
      else mknod(p, d.type | d.mode, d.dev);
      fs.lchownSync(p, d.uid ?? 0, d.gid ?? 0);
      if (d.kind !== 'symlink') fs.chmodSync(p, d.mode); // after the chown, which clears setuid; mknod's mode went through the umask
      if (d.mtime && !this.mtimes.has(rel)) fs.lutimesSync(p, d.mtime, d.mtime); // else set exactly below
    }
    for (const temp of this.sparse.temps) fs.rmSync(temp, { force: true }); // replaced by a later entry
    for (const w of this.whiteouts) {
      const p = path.join(this.dirOf(w.dir, [...w.dir, `.wh.${w.name}`].join('/')), w.name);
      // A whiteout hides only what is below: a file of the same layer stays (OCI image spec).
      if (!lstatOrNull(p)) mknod(p, S_IFCHR | 0o000, 0);
    }
    for (const [rel, parts] of this.opaque) lsetxattr(this.dirOf(parts, `${rel}/.wh..wh..opq`), OPAQUE_XATTR, 'y');
    for (const [rel, xattrs] of this.xattrs) {
      const p = path.join(this.diff, rel);
      const st = lstatOrNull(p);
      for (const [name, value] of st ? xattrs : []) {
        if (st!.isSymbolicLink() && name.startsWith('user.')) continue; // the kernel allows user xattrs on files and directories only
        try {
          lsetxattr(p, name, value);
        } catch (err) {
          const what = this.what;
          throw new ImageError(t`${what}: ${rel}: cannot set its xattr ${name}: ${(err as Error).message}`, t`the lab must be on a filesystem that keeps extended attributes (ext4, xfs, btrfs and tmpfs do)`);
        }
      }
    }
    // Directories last: their mtimes changed while their contents were written.
    for (const d of this.dirs) {
      const p = path.join(this.diff, d.rel);
      if (!lstatOrNull(p)?.isDirectory()) continue;
      fs.chmodSync(p, d.mode);
      if (d.mtime && !this.mtimes.has(d.rel)) fs.utimesSync(p, d.mtime, d.mtime); // else set exactly below
    }
    // Then each mtime the tar gives to the nanosecond, now that nothing is written any more.
    for (const [rel, mtime] of this.mtimes) if (lstatOrNull(path.join(this.diff, rel))) lutimens(path.join(this.diff, rel), mtime);
  }
}

/** A write failed for want of space (or of quota) on the filesystem. */
const isNoSpace = (err: unknown) => ['ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException | undefined)?.code ?? '');

/** A layer that does not fit where the store is. */
function noSpace(what: string, diff: string): ImageError {
  return new ImageError(t`${what} does not fit: no space left on the filesystem of ${diff}`, t`free some space there, or put the lab on a larger filesystem (CONTAINER_LESSONS_HOME=/a/directory/with/space)`);
}

/** The xattrs a layer's entry keeps: a file's capabilities (Debian's ping has
 * cap_net_raw=ep), overlayfs's opaque mark, and the user namespace's. Others (security.selinux
 * labels of the machine that built the image, the rest of trusted.*) are not the image's to
 * set on this machine. */
function keptXattr(name: string): boolean {
  return name === 'security.capability' || name === OPAQUE_XATTR || name.startsWith('user.');
}

/** Unpack a layer blob into `diff`, checking its blob digest and its diff id in the same
 * pass. `onCount` hears how far it is (bytes of the blob, entries of its tar), at each chunk. */
export async function unpackLayer(layer: Plan['layers'][number], diffId: string, diff: string, what: string, onCount?: (c: UnpackCount) => void): Promise<void> {
  let head: Buffer;
  try {
    const fd = fs.openSync(layer.file, 'r');
    head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError(t`${what} is missing from the image: ${path.basename(path.dirname(layer.file))}/${path.basename(layer.file)}`, tr(HINT_RESAVE));
    throw err;
  }
  const zstd = head.readUInt32LE(0) === 0xfd2fb528 || /zstd/.test(layer.mediaType ?? '');
  // zlib reads zstd from Node 22.15 (and 23.8) on; the Node 20 a machine may have cannot.
  const createZstd = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (zstd && !createZstd) {
    const node = process.version;
    throw new ImageError(t`${what} is zstd-compressed, which this Node (${node}) cannot read: Node 22.15 or newer can`, tr(HINT_ZSTD));
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const compressed = gzip || zstd;

  const blobHash = sha256();
  const diffHash = sha256();
  const x = new LayerUnpacker(diff, what, await import('tar'));
  try {
    await pipeline(
      fs.createReadStream(layer.file),
      counter(x.count, onCount),
      tap(blobHash),
      zstd ? createZstd!() : gzip ? zlib.createGunzip() : new PassThrough(),
      tap(diffHash),
      unpackSink(x.unpack, x.state, {
        // Sparse files out, then each part read for its PAX headers before node-tar has it.
        split: (chunk) => {
          const parts = x.sparse.split(chunk);
          for (const part of parts) x.scanner.scan(part);
          return parts;
        },
        end: () => x.sparse.end(),
      }),
    );
  } catch (err) {
    // A damaged blob explains any failure to read it: say that, when its digest shows it.
    const expected = layer.digest ?? (compressed ? undefined : diffId);
    const got = expected && (await hashFile(layer.file));
    if (expected && got !== expected) throw digestMismatch(layer.digest ? t`${what}, blob` : t`${what}, uncompressed`, expected, got!);
    // What the unpacker refused, not how the pipeline reported being stopped (an AbortError).
    const failure = x.state.failure;
    if (isNoSpace(failure ?? err)) throw noSpace(what, diff);
    if (failure instanceof SplitRefused) throw new ImageError(`${what}: ${failure.message}`, tr(HINT_RESAVE));
    if (failure) throw failure;
    if (err instanceof ImageError) throw err;
    const why = (err as Error).message;
    throw new ImageError(zstd ? t`${what} is not a readable zstd tar: ${why}` : gzip ? t`${what} is not a readable gzip tar: ${why}` : t`${what} is not a readable tar: ${why}`, tr(HINT_RESAVE));
  }
  onCount?.(x.count); // the entries of the last chunk, counted once it was unpacked
  const blobDigest = `sha256:${blobHash.digest('hex')}`;
  if (layer.digest && blobDigest !== layer.digest) throw digestMismatch(t`${what}, blob`, layer.digest, blobDigest);
  const gotDiffId = `sha256:${diffHash.digest('hex')}`;
  if (gotDiffId !== diffId) throw digestMismatch(t`${what}, uncompressed (the config's diff id)`, diffId, gotDiffId);
  try {
    x.finish();
  } catch (err) {
    throw isNoSpace(err) ? noSpace(what, diff) : err;
  }
}
