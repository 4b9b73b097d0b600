// The learner's runtime in the lab: the starting point `capstone init` writes (the skeletons
// in bash, C and Rust, and the interface), which file of it the capstone's check grades, and
// the answer solve puts in its place. Nothing here deletes a learner's file: what would be
// written over is kept beside it, under a name that says so.
import fs from 'node:fs';
import path from 'node:path';
import { chownToInvoker, type Lab } from '../lab.js';
import { PACKAGE_DIR } from '../package-dir.js';
import { t } from '../i18n/messages.js';

/** The package's capstone/: the skeletons, the references, the interface. */
export const CAPSTONE_SOURCES = path.join(PACKAGE_DIR, 'capstone');

/** What `capstone init` writes: source in capstone/ -> name in the learner's directory. */
const STARTING_POINT: Array<{ from: string; to: string; mode: number }> = [
  { from: 'skeleton/mydocker.sh', to: 'mydocker.sh', mode: 0o755 },
  { from: 'skeleton/mydocker.c', to: 'mydocker.c', mode: 0o644 },
  { from: 'skeleton/mydocker.rs', to: 'mydocker.rs', mode: 0o644 },
  { from: 'INTERFACE.md', to: 'INTERFACE.md', mode: 0o644 },
  { from: 'START.md', to: 'README.md', mode: 0o644 },
];

/** The bash reference: every piece written. */
export const REFERENCE = path.join(CAPSTONE_SOURCES, 'mydocker.sh');
const SKELETON = path.join(CAPSTONE_SOURCES, 'skeleton', 'mydocker.sh');

/** Write the starting point into `dir`, keeping every file already there (the learner's
 * work). Returns a line per file: written, or kept. */
export function initRuntimeDir(dir: string, lab?: Lab): string[] {
  const said: string[] = [];
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new InitError(t`${dir} is a file, not a directory`, t`give capstone init a directory: container-lessons capstone init DIR`);
  fs.mkdirSync(dir, { recursive: true });
  if (lab) chownToInvoker(lab, dir);
  for (const f of STARTING_POINT) {
    const to = path.join(dir, f.to);
    if (fs.existsSync(to)) {
      said.push(t`kept     ${to} (already there: yours)`);
      continue;
    }
    fs.copyFileSync(path.join(CAPSTONE_SOURCES, f.from), to, fs.constants.COPYFILE_EXCL);
    fs.chmodSync(to, f.mode);
    if (lab) chownToInvoker(lab, to);
    said.push(t`written  ${to}`);
  }
  return said;
}

/** A bad `capstone init` directory, said with what to do. */
export class InitError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** The runtime the capstone's check grades in `dir`: `mydocker` when there is one (a
 * program built from mydocker.c or mydocker.rs, or anything the learner put there), else
 * `mydocker.sh`; null when neither is there. */
export function gradedRuntime(dir: string): string | null {
  for (const name of ['mydocker', 'mydocker.sh']) {
    const f = path.join(dir, name);
    if (fs.existsSync(f) && fs.statSync(f).isFile()) return f;
  }
  return null;
}

/** How to start a runtime file: itself when executable; through bash when it is a .sh not
 * made executable yet; null when it cannot be started. */
export function runtimeArgv(file: string): string[] | null {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return [file];
  } catch {
    return file.endsWith('.sh') ? ['bash', file] : null;
  }
}

/** Put the bash reference in `dir` as mydocker.sh, the runtime the check grades: a
 * mydocker.sh with the learner's work in it (not the skeleton, not the reference) is kept
 * as mydocker.sh.yours-<time>, and a `mydocker` (which the check would grade first) as
 * mydocker.yours-<time>. Returns what it did, a line each. */
export function putReference(dir: string, lab?: Lab, now = new Date()): string[] {
  const said: string[] = [];
  fs.mkdirSync(dir, { recursive: true });
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
  const keep = (name: string) => {
    const from = path.join(dir, name);
    const to = `${from}.yours-${stamp}`;
    fs.renameSync(from, to);
    said.push(t`kept     ${to} (yours, moved aside: mv it back to go on with it)`);
  };
  const built = path.join(dir, 'mydocker');
  if (fs.existsSync(built)) keep('mydocker');
  const sh = path.join(dir, 'mydocker.sh');
  const reference = fs.readFileSync(REFERENCE);
  if (fs.existsSync(sh)) {
    const mine = fs.readFileSync(sh);
    if (mine.equals(reference)) {
      said.push(t`already  ${sh} is the reference`);
      return said;
    }
    if (!mine.equals(fs.readFileSync(SKELETON))) keep('mydocker.sh');
  }
  fs.writeFileSync(sh, reference, { mode: 0o755 });
  fs.chmodSync(sh, 0o755);
  if (lab) chownToInvoker(lab, sh);
  said.push(t`written  ${sh} (the reference: every piece written)`);
  return said;
}
