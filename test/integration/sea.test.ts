// The one-file binary (`npm run sea`) on a host with no Node: doctor, solve 1 and solve 4
// with a PATH on which there is no node, nothing of its own left in the temporary directory
// afterwards (koffi's native module), and the package's files written into the lab once,
// where the paths the workbook shows (the capstone's reference) still lead after the run.
// Built here when it is missing or older than dist/ (x64 only: the arm64 one cannot run here).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { STAMP_FILE } from '../../src/sea-files.js';
import { ADDON_DIR_PREFIX } from '../../src/sea-addon.js';
import { hasTmux, Tmux } from '../support/tmux.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BINARY = path.join(ROOT, 'build', `container-lessons-linux-${os.arch()}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-sea-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The newest modification time of the files under `dir`. */
function newest(dir: string): number {
  let latest = 0;
  for (const d of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (d.isFile()) latest = Math.max(latest, fs.statSync(path.join(d.parentPath, d.name)).mtimeMs);
  }
  return latest;
}

/** A directory of links to every program on this PATH but Node's own (node, npm, npx,
 * corepack): a host without Node, with the same tools. */
function pathWithoutNode(): string {
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (/^(node|nodejs|npm|npx|corepack)$/.test(name) || fs.existsSync(path.join(bin, name))) continue;
      fs.symlinkSync(path.join(dir, name), path.join(bin, name));
    }
  }
  return bin;
}

/** The binary's runs are given a TMPDIR of their own, which they must leave empty; its
 * native module may also go to the shared one (when TMPDIR will not do), under its name. */
const RUN_TMPDIR = path.join(tmp, 'tmpdir');
const leftovers = () => [
  ...fs.readdirSync(RUN_TMPDIR),
  ...fs
    .readdirSync(os.tmpdir())
    .filter((n) => n.startsWith(ADDON_DIR_PREFIX))
    .sort(),
];

describe('the one-file binary', () => {
  let PATH = '';
  let env: Record<string, string> = {};
  beforeAll(() => {
    if (!fs.existsSync(BINARY) || fs.statSync(BINARY).mtimeMs < newest(path.join(ROOT, 'dist'))) {
      execFileSync(process.execPath, [path.join(ROOT, 'scripts/sea.mjs'), '--no-arm64'], { cwd: ROOT, stdio: 'pipe' });
    }
    PATH = pathWithoutNode();
    fs.mkdirSync(RUN_TMPDIR);
    env = { PATH, HOME: tmp, CONTAINER_LESSONS_HOME: path.join(tmp, 'lab'), NO_COLOR: '1', TMPDIR: RUN_TMPDIR };
  }, 120_000);

  it('runs doctor, solve 1 and solve 4 with no node on PATH, and leaves nothing behind', () => {
    expect(fs.statSync(BINARY).mode & 0o777).toBe(0o755);
    const noNode = spawnSync('/bin/sh', ['-c', 'command -v node'], { env: { PATH }, encoding: 'utf8' });
    expect(noNode.status, `node found on the test's PATH: ${noNode.stdout}`).not.toBe(0);

    const before = leftovers();
    const run = (...args: string[]) => spawnSync(BINARY, args, { env, encoding: 'utf8' });
    const version = run('--version');
    expect(version.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    // The first run wrote the package's files into the lab; the later ones find them there.
    const files = path.join(env.CONTAINER_LESSONS_HOME ?? '', 'package');
    expect(fs.statSync(path.join(files, 'capstone/mydocker.sh')).mode & 0o777).toBe(0o755);
    const written = fs.statSync(path.join(files, STAMP_FILE)).ino;
    const doctor = run('doctor');
    expect(doctor.status, doctor.stdout + doctor.stderr).toBe(0);
    for (const lesson of ['1', '4']) {
      const solve = run('solve', lesson, '--json');
      expect(solve.status, `solve ${lesson}: ${solve.stderr}`).toBe(0);
      expect(JSON.parse(solve.stdout).passed, `solve ${lesson}`).toBe(true);
    }
    expect(leftovers()).toEqual(before);
    expect(fs.statSync(path.join(files, STAMP_FILE)).ino, 'the files were written again').toBe(written);
    // One line for the CI log.
    console.log(`sea: doctor, solve 1, solve 4 passed with no node on PATH: ${path.relative(ROOT, BINARY)} ${(fs.statSync(BINARY).size / 1024 / 1024).toFixed(1)} MiB`);
  }, 240_000);

  it("shows the capstone's reference at a path that is there after the run, in the learner's files", () => {
    // Under sudo from an account: the files are the invoking user's, as the lab is.
    const lab = path.join(tmp, 'learner-lab');
    const hint = spawnSync(BINARY, ['hint', '11', '--level', '3'], { env: { ...env, CONTAINER_LESSONS_HOME: lab, SUDO_USER: 'nobody' }, encoding: 'utf8' });
    expect(hint.status, hint.stderr).toBe(0);
    const source = /\bcp (\S+) \S+\/mydocker\/mydocker\.sh/.exec(hint.stdout)?.[1];
    expect(source, hint.stdout).toBe(path.join(lab, 'package/capstone/mydocker.sh'));
    expect(fs.readFileSync(source ?? '', 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'capstone/mydocker.sh'), 'utf8'));
    const nobody = fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('nobody:'))
      ?.split(':')[2];
    if (nobody !== undefined) expect(fs.statSync(path.join(lab, 'package')).uid).toBe(Number(nobody));
    expect(fs.readdirSync(RUN_TMPDIR)).toEqual([]);
  });

  describe.skipIf(!hasTmux)('in a terminal', () => {
    const term = new Tmux(`cl-sea-${process.pid}`);
    afterEach(() => term.kill());
    it('shows the workbook (ink, and yoga started without top-level await) and quits leaving nothing', async () => {
      const before = leftovers();
      const vars = Object.entries({ ...env, TERM: 'xterm-256color' }).map(([k, v]) => `${k}=${v}`);
      term.start(`env ${vars.join(' ')} ${BINARY}; echo "TUI EXITED $?"; sleep 600`, 100, 30);
      await term.waitFor(/container-lessons · \d+\//);
      term.keys('q');
      await term.waitFor(/TUI EXITED 0/);
      expect(leftovers()).toEqual(before);
    }, 60_000);
  });
});
