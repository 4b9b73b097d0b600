// The learner's runtime directory: what `capstone init` writes and keeps, which file the
// check grades, and the answer solve puts in place without losing the learner's work.
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CAPSTONE_SOURCES, REFERENCE, gradedRuntime, initRuntimeDir, putReference, runtimeArgv, InitError } from '../../src/capstone/workdir.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-workdir-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const skeleton = fs.readFileSync(path.join(CAPSTONE_SOURCES, 'skeleton', 'mydocker.sh'), 'utf8');

describe('capstone init', () => {
  it('writes the three skeletons, the interface and a README; the bash one executable', () => {
    const dir = path.join(tmp, 'a', 'mydocker');
    const said = initRuntimeDir(dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['INTERFACE.md', 'README.md', 'mydocker.c', 'mydocker.rs', 'mydocker.sh']);
    expect(said.every((l) => l.startsWith('written'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'mydocker.sh'), 'utf8')).toBe(skeleton);
    expect(fs.statSync(path.join(dir, 'mydocker.sh')).mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toMatch(/container-lessons check capstone/);
  });

  it('keeps every file already there', () => {
    const dir = path.join(tmp, 'b');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'mydocker.sh'), '#!/bin/sh\n# my work\n');
    const said = initRuntimeDir(dir);
    expect(said.find((l) => l.includes('mydocker.sh'))).toMatch(/^kept .*yours/);
    expect(fs.readFileSync(path.join(dir, 'mydocker.sh'), 'utf8')).toBe('#!/bin/sh\n# my work\n');
    expect(initRuntimeDir(dir).every((l) => l.startsWith('kept'))).toBe(true);
  });

  it('refuses a file where the directory should be', () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    expect(() => initRuntimeDir(file)).toThrow(InitError);
  });
});

describe('the runtime the check grades', () => {
  it('mydocker when there is one, else mydocker.sh, else none', () => {
    const dir = path.join(tmp, 'c');
    fs.mkdirSync(dir);
    expect(gradedRuntime(dir)).toBeNull();
    fs.writeFileSync(path.join(dir, 'mydocker.sh'), skeleton);
    expect(gradedRuntime(dir)).toBe(path.join(dir, 'mydocker.sh'));
    // Not executable yet: a .sh runs through bash; anything else cannot run.
    expect(runtimeArgv(path.join(dir, 'mydocker.sh'))).toEqual(['bash', path.join(dir, 'mydocker.sh')]);
    fs.writeFileSync(path.join(dir, 'mydocker'), 'built', { mode: 0o644 });
    expect(gradedRuntime(dir)).toBe(path.join(dir, 'mydocker'));
    expect(runtimeArgv(path.join(dir, 'mydocker'))).toBeNull();
    fs.chmodSync(path.join(dir, 'mydocker'), 0o755);
    expect(runtimeArgv(path.join(dir, 'mydocker'))).toEqual([path.join(dir, 'mydocker')]);
  });
});

describe('the answer in place', () => {
  const now = new Date('2026-12-02T10:20:30.456Z');
  it('over the untouched skeleton: nothing kept, the reference written', () => {
    const dir = path.join(tmp, 'd');
    initRuntimeDir(dir);
    const said = putReference(dir, undefined, now);
    expect(said).toEqual([`written  ${dir}/mydocker.sh (the reference: every piece written)`]);
    expect(fs.readFileSync(path.join(dir, 'mydocker.sh'))).toEqual(fs.readFileSync(REFERENCE));
    expect(fs.statSync(path.join(dir, 'mydocker.sh')).mode & 0o777).toBe(0o755);
    expect(putReference(dir, undefined, now)).toEqual([`already  ${dir}/mydocker.sh is the reference`]);
  });

  it("the learner's own mydocker.sh and a built mydocker are kept beside it", () => {
    const dir = path.join(tmp, 'e');
    initRuntimeDir(dir);
    fs.appendFileSync(path.join(dir, 'mydocker.sh'), '# my root piece\n');
    fs.writeFileSync(path.join(dir, 'mydocker'), 'my binary', { mode: 0o755 });
    const said = putReference(dir, undefined, now);
    expect(said.filter((l) => l.startsWith('kept'))).toHaveLength(2);
    expect(fs.readFileSync(path.join(dir, 'mydocker.sh.yours-20261202T102030'), 'utf8')).toBe(`${skeleton}# my root piece\n`);
    expect(fs.readFileSync(path.join(dir, 'mydocker.yours-20261202T102030'), 'utf8')).toBe('my binary');
    expect(gradedRuntime(dir)).toBe(path.join(dir, 'mydocker.sh'));
  });
});
