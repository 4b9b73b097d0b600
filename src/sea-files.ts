// The package's files (lessons/, capstone/, rootfs-scripts/) in the one-file binary. The
// workbook reads them by path and hands some paths to programs (bash runs the capstone's
// skeleton, the learner copies the reference), so the binary writes them out: into a new
// directory of this run, made when the first module that needs them is loaded, and removed
// when the process exits (the CLI ends on SIGINT, SIGTERM and SIGHUP with process.exit, so
// 'exit' covers those too). A run killed with SIGKILL cannot remove its own: the next run
// removes the directories of runs that are gone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HintedError } from './core/errors.js';
import { t } from './i18n/messages.js';
import { SEA_ASSETS, seaAsset } from './sea.js';

/** A run's directory: PREFIX<pid>-<random>, in os.tmpdir(). */
export const RUN_DIR_PREFIX = 'container-lessons-files-';

export type FileList = Array<[file: string, mode: number]>;

/** Pure: the pid of the run that made a directory of that name, or null for any other name. */
export function runDirPid(name: string): number | null {
  const m = new RegExp(`^${RUN_DIR_PREFIX}(\\d+)-[A-Za-z0-9]+$`).exec(name);
  return m ? Number(m[1]) : null;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Remove the directories left by runs of this uid that are gone (killed with SIGKILL). */
export function removeStaleRunDirs(base = os.tmpdir()): void {
  let names: string[];
  try {
    names = fs.readdirSync(base);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const pid = runDirPid(name);
    if (pid === null || pid === process.pid || alive(pid)) continue;
    const dir = path.join(base, name);
    try {
      if (fs.lstatSync(dir).uid === uid) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* another run took it first */
    }
  }
}

/** Write the files into a new directory of this run and return it; it goes when the process
 * exits. Readable by everyone, as an installed package is (the learner copies the capstone's
 * reference from it), writable by its owner only. */
export function writePackageFiles(list: FileList, read: (asset: string) => Uint8Array, base = os.tmpdir()): string {
  removeStaleRunDirs(base);
  let dir: string;
  try {
    dir = fs.mkdtempSync(path.join(base, `${RUN_DIR_PREFIX}${process.pid}-`));
  } catch (err) {
    throw new HintedError(t`the one-file binary cannot write its files into ${base}: ${(err as Error).message}`, t`set TMPDIR to a directory this user can write`);
  }
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [file, mode] of list) {
    const to = path.join(dir, file);
    fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 });
    fs.writeFileSync(to, read(SEA_ASSETS.filePrefix + file), { mode, flag: 'wx' });
  }
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** The package directory of the binary: its files written out for this run. */
export function unpackPackageFiles(): string {
  const list = JSON.parse(new TextDecoder().decode(seaAsset(SEA_ASSETS.files))) as FileList;
  return writePackageFiles(list, seaAsset);
}
