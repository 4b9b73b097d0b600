// A layer as a tar, the way a commit makes one: GNU tar over the layer's diff directory, in a
// form that gives the same bytes for the same files, so that its sha256 (the layer's diff
// id) names the content. The workbook runs exactly the tar command its text shows a learner,
// so a commit by hand and one through the core give the same id, and the check recomputes
// the id of a committed layer from its diff directory the same way.
//
// What makes the bytes repeatable: names sorted (--sort=name), numeric owners only (no user
// names from this machine's /etc/passwd), POSIX headers without atime and ctime (which
// reading the files changes), and of all xattrs two: overlayfs's opaque mark and a file's
// capabilities (security.capability, what `setcap` writes: the one xattr Docker's commit keeps,
// moby's go-archive ReadSecurityXattrToTarHeader). Modes, owners, mtimes (to the nanosecond),
// hard links and contents are kept, as in any layer tar.
//
// Docker's commit differs in one point: its tar writes whiteouts and opaque directories in the
// image form (.wh.<name>, .wh..wh..opq; moby's archive.OverlayWhiteoutFormat), and untars
// them back into overlayfs's form. This tar keeps overlayfs's form (a 0/0 character device,
// the trusted.overlay.opaque xattr), which shell tools can write in one command.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { HintedError } from './errors.js';
import { msg, t, tr } from '../i18n/messages.js';
import { sha256, type Digest } from './image-digest.js';
import { OPAQUE_XATTR } from './overlay.js';

/** A file's capabilities, as setcap(8) writes them. */
const CAPABILITY_XATTR = 'security.capability';

/** The options, after `tar -C <diff> -cf <file>`, that make a layer's tar (and before the
 * final `.`, the directory's own contents). */
export const LAYER_TAR_OPTIONS = ['--sort=name', '--format=posix', '--numeric-owner', '--pax-option=delete=atime,delete=ctime', '--xattrs', `--xattrs-include=${OPAQUE_XATTR}`, `--xattrs-include=${CAPABILITY_XATTR}`] as const;
/** The options, after `tar -C <diff> -xf <file>`, that unpack one: the two xattrs too
 * (owners, modes, device files and mtimes come back as they were when root unpacks; GNU tar
 * sets the capability after the chown that would clear it). */
export const LAYER_UNTAR_OPTIONS = ['--xattrs', `--xattrs-include=${OPAQUE_XATTR}`, `--xattrs-include=${CAPABILITY_XATTR}`] as const;

export class LayerTarError extends HintedError {}

const HINT_GNU_TAR = msg('a layer tar is made with GNU tar (--sort, --xattrs): install it (Debian/Ubuntu: apt-get install tar), and run as root');

/** Run tar with `args`; each chunk of its stdout goes to `onData` (or stdout is ignored).
 * Resolves when tar exits 0 (after the last chunk: 'close' comes once stdout has ended);
 * rejects with tar's own complaint otherwise. */
function runTar(args: string[], onData?: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', onData ? 'pipe' : 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      err = (err + d).slice(-2000);
    });
    if (onData) child.stdout?.on('data', onData);
    child.on('error', (e: NodeJS.ErrnoException) => reject(new LayerTarError(e.code === 'ENOENT' ? t`tar is not installed (no tar in PATH)` : t`could not run tar: ${e.message}`, tr(HINT_GNU_TAR))));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const said = err.trim().split('\n').filter(Boolean).slice(-2).join('; ');
      reject(new LayerTarError(t`tar ${args.includes('-x') ? '-x' : '-c'} failed (${signal ?? `exit ${code}`}): ${said || t`no message`}`, tr(HINT_GNU_TAR)));
    });
  });
}

const createArgs = (dir: string, file: string) => ['-C', dir, '-cf', file, ...LAYER_TAR_OPTIONS, '.'];

/** The diff id of the layer whose files are in `dir`: the sha256 of its tar, not written
 * anywhere. */
export async function diffIdOf(dir: string): Promise<Digest> {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new LayerTarError(t`${dir} is not a directory`, t`a layer tar is made of a diff directory`);
  const h = sha256();
  await runTar(createArgs(dir, '-'), (chunk) => h.update(chunk));
  return `sha256:${h.digest('hex')}`;
}

/** Write the tar of `dir` to `file`; returns its sha256, the layer's diff id. */
export async function tarLayer(dir: string, file: string): Promise<Digest> {
  await runTar(createArgs(dir, file));
  const h = sha256();
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/** Unpack a layer tar into `dir` (which exists). */
export async function untarLayer(file: string, dir: string): Promise<void> {
  await runTar(['-C', dir, '-xf', file, ...LAYER_UNTAR_OPTIONS]);
}
