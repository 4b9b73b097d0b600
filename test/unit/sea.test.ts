// The one-file binary's pieces that work on files, run here outside the binary: koffi's
// native module loaded from a temporary file that is gone at once, and the package's files
// written into the lab once per binary, replaced whole by another binary's.
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADDON_DIR_PREFIX, loadAddonBytes } from '../../src/sea-addon.js';
import { STAMP_FILE, filesStamp, labPackageDir, labPackagePaths, readStamp, writePackageFiles, type FileList } from '../../src/sea-files.js';
import { labFor, type Lab } from '../../src/lab.js';
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

describe("the package's files in the lab", () => {
  /** A binary's files: [path, mode, text]; read as the binary reads its assets. */
  type Files = Array<[file: string, mode: number, text: string]>;
  const V1: Files = [
    ['lessons/a.md', 0o644, 'A'],
    ['capstone/mydocker.sh', 0o755, '#!/bin/sh\necho reference'],
    ['capstone/skeleton/mydocker.sh', 0o755, '#!/bin/sh'],
  ];
  const V2: Files = [
    ['lessons/a.md', 0o644, 'A, changed'],
    ['capstone/mydocker.sh', 0o755, '#!/bin/sh\necho reference'],
  ];
  const listOf = (files: Files): FileList => files.map(([f, m]) => [f, m]);
  const reader = (files: Files, onRead?: (asset: string) => void) => (asset: string) => {
    onRead?.(asset);
    const found = files.find(([f]) => `package/${f}` === asset);
    if (!found) throw new Error(`no asset ${asset}`);
    return new TextEncoder().encode(found[2]);
  };
  const write = (files: Files, lab: Lab, onRead?: (asset: string) => void) => writePackageFiles(listOf(files), reader(files, onRead), lab);
  const newLab = (name: string): Lab => labFor({ CONTAINER_LESSONS_HOME: path.join(fs.mkdtempSync(path.join(tmp, `${name}-`)), 'lab'), HOME: tmp });
  const mode = (p: string) => fs.statSync(p).mode & 0o777;
  const text = (lab: Lab, file: string) => fs.readFileSync(path.join(labPackageDir(lab), file), 'utf8');

  it('stamps what the files are: their paths, modes and bytes', () => {
    const stamp = filesStamp(listOf(V1), reader(V1));
    expect(stamp).toMatch(/^[0-9a-f]{64}$/);
    expect(filesStamp(listOf(V1), reader(V1))).toBe(stamp);
    expect(filesStamp(listOf(V2), reader(V2))).not.toBe(stamp);
    const otherMode: Files = V1.map(([f, m, s]) => [f, f === 'lessons/a.md' ? 0o755 : m, s]);
    expect(filesStamp(listOf(otherMode), reader(otherMode))).not.toBe(stamp);
    // The same bytes split differently between two files.
    const ab: Files = [
      ['x', 0o644, 'ab'],
      ['y', 0o644, ''],
    ];
    const a_b: Files = [
      ['x', 0o644, 'a'],
      ['y', 0o644, 'b'],
    ];
    expect(filesStamp(listOf(ab), reader(ab))).not.toBe(filesStamp(listOf(a_b), reader(a_b)));
  });

  it('writes them into <lab>/package, which it makes, with their modes and readable by all whatever the umask', () => {
    const lab = newLab('write');
    const umask = process.umask(0o077);
    let dir: string;
    try {
      dir = write(V1, lab);
    } finally {
      process.umask(umask);
    }
    expect(dir).toBe(path.join(lab.root, 'package'));
    expect(text(lab, 'lessons/a.md')).toBe('A');
    expect(mode(dir)).toBe(0o755);
    expect(mode(path.join(dir, 'capstone'))).toBe(0o755);
    expect(mode(path.join(dir, 'capstone/skeleton'))).toBe(0o755);
    expect(mode(path.join(dir, 'lessons/a.md'))).toBe(0o644);
    expect(mode(path.join(dir, 'capstone/mydocker.sh'))).toBe(0o755);
    expect(readStamp(dir)).toBe(filesStamp(listOf(V1), reader(V1)));
    // Nothing beside it: the directory it was written in was renamed into place.
    expect(fs.readdirSync(lab.root)).toEqual(['package']);
  });

  it.runIf(process.getuid?.() === 0)('gives them to the invoking user, as the rest of the lab', () => {
    const base = newLab('owner');
    const lab: Lab = { ...base, invoker: { user: 'learner', uid: 12345, gid: 23456, home: tmp } };
    const dir = write(V1, lab);
    for (const p of [lab.root, dir, path.join(dir, 'capstone/skeleton'), path.join(dir, 'capstone/skeleton/mydocker.sh'), path.join(dir, STAMP_FILE)]) {
      expect([fs.statSync(p).uid, fs.statSync(p).gid], p).toEqual([12345, 23456]);
    }
  });

  it('writes nothing when this binary wrote them already', () => {
    const lab = newLab('again');
    write(V1, lab);
    // A file of no binary's: it goes only if the directory is written again.
    fs.writeFileSync(path.join(labPackageDir(lab), 'mark'), '');
    expect(write(V1, lab)).toBe(labPackageDir(lab));
    expect(fs.existsSync(path.join(labPackageDir(lab), 'mark'))).toBe(true);
  });

  it("replaces another binary's whole, leaving nothing beside it", () => {
    const lab = newLab('replace');
    write(V1, lab);
    write(V2, lab);
    expect(text(lab, 'lessons/a.md')).toBe('A, changed');
    expect(fs.existsSync(path.join(labPackageDir(lab), 'capstone/skeleton'))).toBe(false);
    expect(readStamp(labPackageDir(lab))).toBe(filesStamp(listOf(V2), reader(V2)));
    expect(fs.readdirSync(lab.root)).toEqual(['package']);
  });

  it('keeps the files of a run of the same binary that finished first, and drops its own', () => {
    const lab = newLab('race-same');
    // The other run writes and installs its files while this one is writing its own (the
    // stamp reads each file once, the writing a second time).
    let reads = 0;
    let other = '';
    write(V1, lab, () => {
      if (++reads === V1.length + 1) {
        other = write(V1, lab);
        fs.writeFileSync(path.join(other, 'mark'), '');
      }
    });
    expect(other).toBe(labPackageDir(lab));
    expect(fs.existsSync(path.join(labPackageDir(lab), 'mark'))).toBe(true);
    expect(fs.readdirSync(lab.root)).toEqual(['package']);
  });

  it("puts its own in place of another binary's that a run installed meanwhile", () => {
    const lab = newLab('race-other');
    let reads = 0;
    write(V1, lab, () => {
      if (++reads === V1.length + 1) write(V2, lab);
    });
    expect(text(lab, 'lessons/a.md')).toBe('A');
    expect(readStamp(labPackageDir(lab))).toBe(filesStamp(listOf(V1), reader(V1)));
    expect(fs.readdirSync(lab.root)).toEqual(['package']);
  });

  it('leaves no half-written directory when writing fails, and says what to do', () => {
    const lab = newLab('fail');
    let caught: unknown;
    try {
      write([...V1, ['lessons/missing.md', 0o644, '']], lab, (asset) => {
        if (asset.endsWith('missing.md') && fs.existsSync(lab.root) && fs.readdirSync(lab.root).length) throw new Error('the asset is gone');
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HintedError);
    expect((caught as HintedError).message).toContain(`${labPackageDir(lab)}: the asset is gone`);
    expect((caught as HintedError).hint).toMatch(/CONTAINER_LESSONS_HOME/);
    expect(fs.readdirSync(lab.root)).toEqual([]);
  });

  it("refuses a package directory that is not the binary's, and leaves it as it is", () => {
    const lab = newLab('theirs');
    fs.mkdirSync(path.join(lab.root, 'package'), { recursive: true });
    fs.writeFileSync(path.join(lab.root, 'package', 'notes.txt'), 'mine');
    let caught: unknown;
    try {
      write(V1, lab);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HintedError);
    expect((caught as HintedError).message).toContain(STAMP_FILE);
    expect((caught as HintedError).hint).toMatch(/move it away/);
    expect(fs.readdirSync(path.join(lab.root, 'package'))).toEqual(['notes.txt']);
    // reset --all leaves it too.
    expect(labPackagePaths(lab)).toEqual([]);
  });

  it('names for reset --all the files and what a killed run left beside them, nothing else', () => {
    const lab = newLab('reset');
    expect(labPackagePaths(lab)).toEqual([]);
    write(V1, lab);
    fs.mkdirSync(path.join(lab.root, '.package-new-abc123'));
    fs.mkdirSync(path.join(lab.root, 'mydocker'));
    fs.writeFileSync(path.join(lab.root, 'progress.json'), '{}');
    expect(labPackagePaths(lab)).toEqual([path.join(lab.root, '.package-new-abc123'), path.join(lab.root, 'package')]);
  });
});
