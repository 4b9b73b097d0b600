// The one-file binary (`npm run sea`) on a host with no Node: doctor, solve 1 and solve 4
// with a PATH on which there is no node, and nothing of its own left in the temporary
// directory afterwards (the package's files it writes out for a run, koffi's native module).
// Built here when it is missing or older than dist/ (x64 only: the arm64 one cannot run here).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RUN_DIR_PREFIX } from '../../src/sea-files.js';
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

/** What the binary's runs leave in the temporary directory under its own names. */
const leftovers = () =>
  fs
    .readdirSync(os.tmpdir())
    .filter((n) => n.startsWith(RUN_DIR_PREFIX) || n.startsWith(ADDON_DIR_PREFIX))
    .sort();

describe('the one-file binary', () => {
  let PATH = '';
  let env: Record<string, string> = {};
  beforeAll(() => {
    if (!fs.existsSync(BINARY) || fs.statSync(BINARY).mtimeMs < newest(path.join(ROOT, 'dist'))) {
      execFileSync(process.execPath, [path.join(ROOT, 'scripts/sea.mjs'), '--no-arm64'], { cwd: ROOT, stdio: 'pipe' });
    }
    PATH = pathWithoutNode();
    env = { PATH, HOME: tmp, CONTAINER_LESSONS_HOME: path.join(tmp, 'lab'), NO_COLOR: '1' };
  }, 120_000);

  it('runs doctor, solve 1 and solve 4 with no node on PATH, and leaves nothing behind', () => {
    expect(fs.statSync(BINARY).mode & 0o777).toBe(0o755);
    const noNode = spawnSync('/bin/sh', ['-c', 'command -v node'], { env: { PATH }, encoding: 'utf8' });
    expect(noNode.status, `node found on the test's PATH: ${noNode.stdout}`).not.toBe(0);

    const before = leftovers();
    const run = (...args: string[]) => spawnSync(BINARY, args, { env, encoding: 'utf8' });
    const version = run('--version');
    expect(version.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    const doctor = run('doctor');
    expect(doctor.status, doctor.stdout + doctor.stderr).toBe(0);
    for (const lesson of ['1', '4']) {
      const solve = run('solve', lesson, '--json');
      expect(solve.status, `solve ${lesson}: ${solve.stderr}`).toBe(0);
      expect(JSON.parse(solve.stdout).passed, `solve ${lesson}`).toBe(true);
    }
    expect(leftovers()).toEqual(before);
    // One line for the CI log.
    console.log(`sea: doctor, solve 1, solve 4 passed with no node on PATH: ${path.relative(ROOT, BINARY)} ${(fs.statSync(BINARY).size / 1024 / 1024).toFixed(1)} MiB`);
  }, 240_000);

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
