// The one-file binary's pieces that work on files, run here outside the binary: koffi's
// native module loaded from a temporary file that is gone at once, and the package's files
// written out for a run and removed when it exits (or by the next run, after a SIGKILL).
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADDON_DIR_PREFIX, loadAddonBytes } from '../../src/sea-addon.js';
import { RUN_DIR_PREFIX, removeStaleRunDirs, runDirPid, writePackageFiles, type FileList } from '../../src/sea-files.js';
import { HintedError } from '../../src/core/errors.js';
import { IN_SEA } from '../../src/sea.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-sea-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('outside the binary', () => {
  it('is not the binary', () => {
    expect(IN_SEA).toBe(false);
  });
});

describe('a native module from its bytes', () => {
  const koffiNode = path.join(ROOT, 'node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node');
  it.runIf(process.arch === 'x64')('loads it, past a directory it cannot use, and leaves no file', () => {
    const base = fs.mkdtempSync(path.join(tmp, 'addon-'));
    const koffi = loadAddonBytes(fs.readFileSync(koffiNode), 'koffi.node', [path.join(tmp, 'missing'), base]) as { version?: string };
    expect(koffi.version).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/koffi/package.json'), 'utf8')).version);
    expect(fs.readdirSync(base)).toEqual([]);
  });
  it('says what to do when no directory will do', () => {
    const base = fs.mkdtempSync(path.join(tmp, 'addon-'));
    let caught: unknown;
    try {
      loadAddonBytes(new Uint8Array([1, 2, 3]), 'bad.node', [path.join(tmp, 'missing'), base]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HintedError);
    expect((caught as HintedError).message).toMatch(/bad\.node.*missing: .*ENOENT.*; .*addon-/);
    expect((caught as HintedError).hint).toMatch(/TMPDIR/);
    expect(fs.readdirSync(base).filter((n) => n.startsWith(ADDON_DIR_PREFIX))).toEqual([]);
  });
});

describe("the package's files for a run", () => {
  it('names run directories by pid', () => {
    expect(runDirPid(`${RUN_DIR_PREFIX}1234-AbC9z1`)).toBe(1234);
    expect(runDirPid(`${RUN_DIR_PREFIX}x-AbC9z1`)).toBeNull();
    expect(runDirPid('container-lessons-addon-abc')).toBeNull();
  });

  it('writes them with their modes, readable by all, and removes them when the process exits', () => {
    const base = fs.mkdtempSync(path.join(tmp, 'files-'));
    // A process of its own, to see what its exit does: node runs the built module (dist/).
    const script = `
      import fs from 'node:fs';
      import { writePackageFiles } from ${JSON.stringify(path.join(ROOT, 'dist/sea-files.js'))};
      const files = { 'lessons/a.md': 'A', 'capstone/skeleton/run.sh': '#!/bin/sh' };
      const list = [['lessons/a.md', 0o644], ['capstone/skeleton/run.sh', 0o755]];
      const dir = writePackageFiles(list, (asset) => new TextEncoder().encode(files[asset.slice('package/'.length)]), ${JSON.stringify(base)});
      const mode = (f) => (fs.statSync(dir + '/' + f).mode & 0o777).toString(8);
      console.log(JSON.stringify({ dir, dirMode: mode(''), md: mode('lessons/a.md'), sh: mode('capstone/skeleton/run.sh'), text: fs.readFileSync(dir + '/lessons/a.md', 'utf8') }));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT });
    expect(child.status, child.stderr).toBe(0);
    const seen = JSON.parse(child.stdout);
    expect(path.dirname(seen.dir)).toBe(base);
    expect(path.basename(seen.dir).startsWith(RUN_DIR_PREFIX)).toBe(true);
    expect(seen).toMatchObject({ dirMode: '755', md: '644', sh: '755', text: 'A' });
    expect(fs.existsSync(seen.dir)).toBe(false);
  });

  it('removes what a run that is gone left, and nothing of a live one', () => {
    const base = fs.mkdtempSync(path.join(tmp, 'stale-'));
    // A pid that is certainly gone: a child that has exited and been reaped.
    const gone = spawnSync('true').pid!;
    const stale = path.join(base, `${RUN_DIR_PREFIX}${gone}-aaaaaa`);
    const live = path.join(base, `${RUN_DIR_PREFIX}${process.ppid}-bbbbbb`);
    const other = path.join(base, 'something-else');
    for (const d of [stale, live, other]) fs.mkdirSync(path.join(d, 'lessons'), { recursive: true });
    removeStaleRunDirs(base);
    expect(fs.readdirSync(base).sort()).toEqual([path.basename(live), 'something-else'].sort());
  });

  it('writes into a directory that is new for every run', () => {
    const base = fs.mkdtempSync(path.join(tmp, 'twice-'));
    const list: FileList = [['lessons/a.md', 0o644]];
    const read = () => new TextEncoder().encode('A');
    const first = writePackageFiles(list, read, base);
    const second = writePackageFiles(list, read, base);
    expect(first).not.toBe(second);
    expect(fs.readFileSync(path.join(second, 'lessons/a.md'), 'utf8')).toBe('A');
  });
});
