// The package's files (lessons/, capstone/, rootfs-scripts/) in the one-file binary. The
// workbook reads them by path and shows the learner paths into them (the capstone's
// reference to copy, rootfs-scripts/ to run), so the binary writes them out where they
// last: into the learner's lab, <lab>/package/, owned by the invoking user as the rest of
// the lab is and readable by everyone, as an installed package is.
//
// Once per binary: a stamp in the directory holds a hash of what the binary carries, and a
// run that finds its own stamp there writes nothing. A run of another binary (or the first
// run) writes a new directory beside it and renames it into place, so no run ever sees one
// half written; two runs of one binary at once both write, and the second to finish keeps
// the first's.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HintedError } from './core/errors.js';
import { t } from './i18n/messages.js';
import { chownToInvoker, ensureLabRoot, labError, labFor, type Lab } from './lab.js';
import { SEA_ASSETS, seaAsset } from './sea.js';

export type FileList = Array<[file: string, mode: number]>;

/** The directory's name in the lab, and the prefix of the ones written or moved aside
 * beside it while it is replaced (a run killed then leaves one; `reset --all` removes it). */
const DIR_NAME = 'package';
const SIBLING_PREFIX = `.${DIR_NAME}-`;

/** The stamp, in the directory: the hash of the files that are in it. */
export const STAMP_FILE = '.container-lessons-files';

/** Where the binary writes the package's files in this lab. */
export function labPackageDir(lab: Lab): string {
  return path.join(lab.root, DIR_NAME);
}

/** Pure: what the binary carries, as one hash of the files' paths, modes and bytes. */
export function filesStamp(list: FileList, read: (asset: string) => Uint8Array): string {
  const hash = crypto.createHash('sha256');
  for (const [file, mode] of list) {
    const bytes = read(SEA_ASSETS.filePrefix + file);
    // Each file's path, mode and length go before its bytes: no two lists hash alike.
    hash.update(`${JSON.stringify([file, mode, bytes.length])}\n`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

/** The stamp of the files in `dir`, or null when it has none (or is not there). */
export function readStamp(dir: string): string | null {
  try {
    return fs.readFileSync(path.join(dir, STAMP_FILE), 'utf8').trim();
  } catch {
    return null;
  }
}

/** The binary's files in this lab and what a killed run left beside them, for `reset --all`:
 * a `package` directory with no stamp is not the binary's and is not named. */
export function labPackagePaths(lab: Lab): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(lab.root);
  } catch {
    return [];
  }
  const dir = labPackageDir(lab);
  return names
    .filter((n) => n.startsWith(SIBLING_PREFIX) || (n === DIR_NAME && readStamp(dir) !== null))
    .sort()
    .map((n) => path.join(lab.root, n));
}

/** Write the files into a new directory beside `dir`, the stamp last: complete or not there. */
function writeFresh(list: FileList, read: (asset: string) => Uint8Array, stamp: string, lab: Lab): string {
  const fresh = fs.mkdtempSync(path.join(lab.root, `${SIBLING_PREFIX}new-`));
  try {
    // Modes set with chmod, not at creation: the umask must not take away the others' read.
    const dirs = new Set<string>([fresh]);
    for (const [file, mode] of list) {
      const to = path.join(fresh, file);
      for (let d = path.dirname(to); !dirs.has(d); d = path.dirname(d)) dirs.add(d);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.writeFileSync(to, read(SEA_ASSETS.filePrefix + file), { flag: 'wx' });
      fs.chmodSync(to, mode);
      chownToInvoker(lab, to);
    }
    const stampFile = path.join(fresh, STAMP_FILE);
    fs.writeFileSync(stampFile, `${stamp}\n`, { flag: 'wx' });
    fs.chmodSync(stampFile, 0o644);
    chownToInvoker(lab, stampFile);
    for (const d of dirs) {
      fs.chmodSync(d, 0o755);
      chownToInvoker(lab, d);
    }
    return fresh;
  } catch (err) {
    fs.rmSync(fresh, { recursive: true, force: true });
    throw err;
  }
}

/** Rename `fresh` to `dir`. One there already is another run's: of this binary (its files
 * are these: keep them, drop ours) or of another (move it aside, then put ours in). */
function install(fresh: string, dir: string, stamp: string, lab: Lab): void {
  const aside: string[] = [];
  try {
    // Each round either puts ours in or moves another's aside; only runs of other binaries
    // putting theirs in at the same moment make another round.
    for (let round = 0; ; round++) {
      try {
        fs.renameSync(fresh, dir);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || round >= 5) throw err;
      }
      if (readStamp(dir) === stamp) {
        fs.rmSync(fresh, { recursive: true, force: true });
        return;
      }
      const away = path.join(lab.root, `${SIBLING_PREFIX}old-${crypto.randomBytes(6).toString('hex')}`);
      try {
        fs.renameSync(dir, away);
        aside.push(away);
      } catch (err) {
        // Another run moved it first.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  } finally {
    for (const a of aside) fs.rmSync(a, { recursive: true, force: true });
  }
}

/** The package's files in the lab (`<lab>/package`), written unless this binary's are there
 * already; returns the directory. */
export function writePackageFiles(list: FileList, read: (asset: string) => Uint8Array, lab: Lab): string {
  const dir = labPackageDir(lab);
  const stamp = filesStamp(list, read);
  if (readStamp(dir) === stamp) return dir;
  // A directory of that name with no stamp is not the binary's: the learner's, say.
  if (fs.existsSync(dir) && readStamp(dir) === null) {
    throw new HintedError(t`${dir} is in the way of the workbook's files: it is not one the one-file binary wrote (it has no ${STAMP_FILE})`, t`move it away, or set CONTAINER_LESSONS_HOME to another lab`);
  }
  ensureLabRoot(lab);
  const doing = t`cannot write the workbook's files into ${dir}`;
  let fresh = '';
  try {
    fresh = writeFresh(list, read, stamp, lab);
    install(fresh, dir, stamp, lab);
  } catch (err) {
    if (fresh) fs.rmSync(fresh, { recursive: true, force: true });
    const said = labError(lab, err, doing);
    throw said instanceof HintedError ? said : new HintedError(`${doing}: ${(err as Error).message}`, t`set CONTAINER_LESSONS_HOME to a writable directory`);
  }
  return dir;
}

/** The package directory of the binary: its files, written into the invoking user's lab. */
export function unpackPackageFiles(lab: Lab = labFor()): string {
  const list = JSON.parse(new TextDecoder().decode(seaAsset(SEA_ASSETS.files))) as FileList;
  return writePackageFiles(list, seaAsset, lab);
}
