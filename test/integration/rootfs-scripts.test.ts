// rootfs-scripts/ run for real: docker-export.sh imports a tarball of a real root filesystem
// (made from the host's tools, no Docker needed) and a container runs in the result;
// bad input fails clearly and leaves nothing behind. debootstrap.sh only on the paths that
// fail before any download (no network in tests).
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildHostRootfs, rootfsProblem, readMarker, ROOTFS_MARKER } from '../../src/core/rootfs.js';
import { runContainer } from '../../src/core/container.js';
import { skipBecause } from '../support/skip.js';

const SCRIPTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../rootfs-scripts');
const DOCKER_EXPORT = path.join(SCRIPTS, 'docker-export.sh');
const DEBOOTSTRAP = path.join(SCRIPTS, 'debootstrap.sh');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What a script may create beside its target or in $TMPDIR while it works. */
const TEMP_NAME = /\.(importing|building)\.|tar-errors/;
/** The owner of a file in the tarball that is no user on the host. */
const ODD_ID = 23456;

let base: string; // everything this file creates
let tarball: string; // a root filesystem as `docker export` would write it
let oldMarkerId: string;
let work: string; // one test's directory, also the scripts' TMPDIR

beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-rootfs-scripts-'));
  const src = path.join(base, 'src-rootfs');
  oldMarkerId = buildHostRootfs(src).id;
  fs.rmSync(path.join(src, ROOTFS_MARKER));
  // Like docker export: numeric owners, and no /proc, /dev, /sys, /tmp worth keeping.
  for (const d of ['proc', 'dev', 'sys', 'tmp']) fs.rmSync(path.join(src, d), { recursive: true, force: true });
  fs.mkdirSync(path.join(src, 'home/learner'), { recursive: true });
  fs.writeFileSync(path.join(src, 'home/learner/notes'), 'mine\n');
  fs.chownSync(path.join(src, 'home/learner'), ODD_ID, ODD_ID);
  fs.chownSync(path.join(src, 'home/learner/notes'), ODD_ID, ODD_ID);
  fs.chmodSync(path.join(src, 'home/learner/notes'), 0o640);
  tarball = path.join(base, 'rootfs.tar');
  const tar = spawnSync('tar', ['--numeric-owner', '-C', src, '-cf', tarball, '.'], { encoding: 'utf8' });
  expect(tar.status, tar.stderr).toBe(0);
  fs.rmSync(src, { recursive: true, force: true });
});
afterAll(() => {
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

beforeEach(() => {
  work = fs.mkdtempSync(path.join(base, 'case-'));
});
afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

function run(script: string, args: string[], input: string | Buffer = ''): SpawnSyncReturns<string> {
  return spawnSync('bash', [script, ...args], {
    input,
    encoding: 'utf8',
    cwd: work,
    env: { ...process.env, TMPDIR: work },
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** Names under `dir` (recursively, not following links) that look like a script's temp files. */
function tempLeftovers(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (TEMP_NAME.test(e.name)) found.push(path.join(d, e.name));
      else if (e.isDirectory() && !e.isSymbolicLink()) walk(path.join(d, e.name));
    }
  };
  walk(dir);
  return found;
}

/** Run `argv` as nobody: the script text is passed with -c, so the user need not reach the file. */
function runAsNobody(script: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', '-c', fs.readFileSync(script, 'utf8'), path.basename(script), ...args], {
    input: '',
    encoding: 'utf8',
    cwd: '/',
  });
}
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const NO_SETPRIV = 'setpriv(1) is not installed (util-linux)';
// As debootstrap.sh looks for it.
const hasDebootstrap = spawnSync('bash', ['-c', 'command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ]']).status === 0;
const NO_DEBOOTSTRAP = 'debootstrap is not installed (apt-get install debootstrap)';

describe('docker-export.sh', () => {
  it('imports a tarball into a root filesystem the workbook accepts and a container runs in', async () => {
    const target = path.join(work, 'rootfs');
    const r = run(DOCKER_EXPORT, [tarball, target]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`CONTAINER_LESSONS_ROOTFS=${target} container-lessons solve 3`);

    const marker = readMarker(target);
    expect(marker?.kind).toBe('docker-export');
    expect(marker?.id).toMatch(UUID);
    expect(marker?.id).not.toBe(oldMarkerId);
    expect(Math.abs(Date.parse(marker!.created) - Date.now())).toBeLessThan(5 * 60_000);
    expect((marker as unknown as { source: string }).source).toBe('rootfs.tar');

    const sh = fs.statSync(path.join(target, 'bin/sh'));
    expect(sh.isFile()).toBe(true);
    expect(sh.mode & 0o111).not.toBe(0);
    for (const d of ['proc', 'dev', 'sys', 'tmp']) expect(fs.lstatSync(path.join(target, d)).isDirectory(), d).toBe(true);
    expect(fs.statSync(path.join(target, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(fs.statSync(target).mode & 0o777).toBe(0o755);
    // Owners by number and permissions as recorded.
    const notes = fs.statSync(path.join(target, 'home/learner/notes'));
    expect([notes.uid, notes.gid, notes.mode & 0o7777]).toEqual([ODD_ID, ODD_ID, 0o640]);
    expect(fs.statSync(path.join(target, 'root')).mode & 0o777).toBe(0o700);

    expect(rootfsProblem(target)).toBeNull();
    expect(fs.readdirSync(work).sort()).toEqual(['rootfs']);
    expect(tempLeftovers(work)).toEqual([]);

    const c = await runContainer({ rootfs: target, namespaces: ['mnt', 'uts', 'pid'], argv: ['/bin/sh', '-c', 'echo hi $$'] });
    expect(c.stderr).toBe('');
    expect([c.code, c.stdout.trim()]).toEqual([0, 'hi 1']);
  });

  it('reads the tarball from standard input with "-", into an empty directory, with a fresh marker each time', () => {
    const first = path.join(work, 'first');
    const second = path.join(work, 'second');
    fs.mkdirSync(second); // empty: allowed
    const a = run(DOCKER_EXPORT, [tarball, first]);
    const b = run(DOCKER_EXPORT, ['-', `${second}/`], fs.readFileSync(tarball));
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    const [ma, mb] = [readMarker(first), readMarker(second)];
    expect(mb?.kind).toBe('docker-export');
    expect((mb as unknown as { source: string }).source).toBe('stdin');
    expect(mb?.id).toMatch(UUID);
    expect(mb?.id).not.toBe(ma?.id);
    expect(rootfsProblem(second)).toBeNull();
    expect(fs.readdirSync(work).sort()).toEqual(['first', 'second']);
  });

  it('refuses a file that is not a tar archive, and leaves nothing behind', () => {
    fs.writeFileSync(path.join(work, 'notes.txt'), 'this is not a tarball\n');
    const r = run(DOCKER_EXPORT, ['notes.txt', 'rootfs']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/could not unpack notes\.txt: is it a tar archive\?/);
    expect(r.stderr).toContain('docker export');
    expect(fs.readdirSync(work)).toEqual(['notes.txt']);
    expect(tempLeftovers(work)).toEqual([]);
  });

  it('refuses an existing non-empty target and leaves it as it was', () => {
    const target = path.join(work, 'rootfs');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'precious'), 'keep me');
    const r = run(DOCKER_EXPORT, [tarball, target]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/rootfs exists and is not empty; refusing to unpack over it/);
    expect(fs.readdirSync(target)).toEqual(['precious']);
    expect(fs.readdirSync(work)).toEqual(['rootfs']);
  });

  it('refuses a missing file, saying how to make one', () => {
    const r = run(DOCKER_EXPORT, ['no-such.tar', 'rootfs']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no such file: no-such\.tar/);
    expect(r.stderr).toMatch(/docker export/);
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('refuses an empty archive', () => {
    expect(spawnSync('tar', ['-cf', path.join(work, 'empty.tar'), '--files-from=/dev/null']).status).toBe(0);
    const r = run(DOCKER_EXPORT, ['empty.tar', 'rootfs']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the archive was empty/);
    expect(fs.readdirSync(work)).toEqual(['empty.tar']);
  });

  it('refuses a root filesystem tarred from outside its directory, saying so', () => {
    const wrapped = path.join(work, 'wrapped.tar');
    // A root filesystem tarred from outside: everything under rootfs/.
    const outer = path.join(work, 'outer');
    fs.mkdirSync(path.join(outer, 'rootfs'), { recursive: true });
    expect(spawnSync('tar', ['-C', path.join(outer, 'rootfs'), '-xf', tarball]).status).toBe(0);
    expect(spawnSync('tar', ['-C', outer, '-cf', wrapped, 'rootfs']).status).toBe(0);
    fs.rmSync(outer, { recursive: true });
    const r = run(DOCKER_EXPORT, ['wrapped.tar', 'rootfs']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not a root filesystem: it has no \/bin\/sh/);
    expect(r.stderr).toMatch(/everything is inside one directory, rootfs\//);
    expect(fs.readdirSync(work)).toEqual(['wrapped.tar']);
  });

  it("follows the root filesystem's own links to /bin/sh, absolute ones inside it, not on the host", () => {
    const tree = path.join(work, 'tree');
    fs.mkdirSync(path.join(tree, 'usr/lib/box'), { recursive: true });
    fs.copyFileSync('/bin/true', path.join(tree, 'usr/lib/box/box'));
    fs.chmodSync(path.join(tree, 'usr/lib/box/box'), 0o755);
    fs.symlinkSync('usr/bin', path.join(tree, 'bin'));
    fs.mkdirSync(path.join(tree, 'usr/bin'));
    fs.symlinkSync('/usr/lib/box/box', path.join(tree, 'usr/bin/sh')); // absolute: the rootfs's own /usr/lib/box
    expect(spawnSync('tar', ['-C', tree, '-cf', path.join(work, 'ok.tar'), '.']).status).toBe(0);
    // The same, but /bin/sh names a file only the host has.
    fs.rmSync(path.join(tree, 'usr/lib/box'), { recursive: true });
    fs.rmSync(path.join(tree, 'usr/bin/sh'));
    expect(fs.existsSync('/bin/true')).toBe(true);
    fs.symlinkSync('/bin/true', path.join(tree, 'usr/bin/sh')); // on the host, not in the tree
    expect(spawnSync('tar', ['-C', tree, '-cf', path.join(work, 'hostlink.tar'), '.']).status).toBe(0);
    // And a loop: /bin/sh -> /bin/sh (bin being usr/bin).
    fs.rmSync(path.join(tree, 'usr/bin/sh'));
    fs.symlinkSync('/bin/sh', path.join(tree, 'usr/bin/sh'));
    expect(spawnSync('tar', ['-C', tree, '-cf', path.join(work, 'loop.tar'), '.']).status).toBe(0);
    fs.rmSync(tree, { recursive: true });

    const ok = run(DOCKER_EXPORT, ['ok.tar', 'ok']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(readMarker(path.join(work, 'ok'))?.kind).toBe('docker-export');
    const bad = run(DOCKER_EXPORT, ['hostlink.tar', 'bad']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/not a root filesystem: it has no \/bin\/sh/);
    const loop = run(DOCKER_EXPORT, ['loop.tar', 'loop']);
    expect(loop.status).toBe(1);
    expect(loop.stderr).toMatch(/\/bin\/sh in the archive is a loop of symbolic links/);
    expect(fs.readdirSync(work).sort()).toEqual(['hostlink.tar', 'loop.tar', 'ok', 'ok.tar']);
  });

  it('rejects a wrong command line with its usage (exit 2)', () => {
    for (const args of [[], [tarball], [tarball, 'a', 'b'], ['--bogus', tarball, 'a']]) {
      const r = run(DOCKER_EXPORT, args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/usage: sudo docker-export\.sh <tarball\|-> <target-dir>/);
    }
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('removes its temporary directory when interrupted', async () => {
    const target = path.join(work, 'rootfs');
    // Its own process group, so that ^C reaches the script and tar, as from a terminal.
    const child = spawn('bash', [DOCKER_EXPORT, '-', target], { cwd: work, env: { ...process.env, TMPDIR: work }, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      // Half a tarball, then nothing: tar waits for the rest.
      const data = fs.readFileSync(tarball);
      child.stdin!.write(data.subarray(0, Math.floor(data.length / 2)));
      for (let i = 0; i < 200 && !fs.readdirSync(work).some((n) => n.includes('.importing.')); i++) await new Promise((r) => setTimeout(r, 25));
      expect(fs.readdirSync(work).some((n) => n.includes('.importing.'))).toBe(true);
      await new Promise((r) => setTimeout(r, 200)); // let tar unpack some of it
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited).toBe(130);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      child.stdin!.destroy();
    }
    expect(stderr).toMatch(/interrupted/);
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('runs through a symbolic link (finding lib.sh beside the real script) and writes an odd source name as a JSON string', () => {
    fs.mkdirSync(path.join(work, 'bin'));
    fs.symlinkSync(DOCKER_EXPORT, path.join(work, 'bin/import-rootfs'));
    const odd = 'a "quoted"\\back\tslashed.tar';
    fs.copyFileSync(tarball, path.join(work, odd));
    const target = path.join(work, 'rootfs');
    const r = run(path.join(work, 'bin/import-rootfs'), [odd, target]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^import-rootfs: unpacking /);
    const marker = readMarker(target);
    expect(marker?.kind).toBe('docker-export');
    expect(marker?.id).toMatch(UUID);
    expect((marker as unknown as { source: string }).source).toBe(odd);
    expect(rootfsProblem(target)).toBeNull();
    expect(fs.readdirSync(work).sort()).toEqual(['bin', odd, 'rootfs'].sort());
    expect(tempLeftovers(work)).toEqual([]);
  });

  it('refuses to run without root', (ctx) => {
    if (!hasSetpriv) skipBecause(ctx, NO_SETPRIV);
    const r = runAsNobody(DOCKER_EXPORT, [tarball, path.join(work, 'rootfs')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/must run as root/);
    expect(r.stderr).toMatch(/sudo /);
    expect(fs.readdirSync(work)).toEqual([]);
  });
});

describe('debootstrap.sh (the paths that fail before downloading anything)', () => {
  it('refuses an existing non-empty target (exit 1) and leaves it as it was', () => {
    const target = path.join(work, 'bookworm');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'precious'), 'keep me');
    const r = run(DEBOOTSTRAP, [target]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bookworm exists and is not empty; refusing to build over it/);
    expect(fs.readdirSync(target)).toEqual(['precious']);
    expect(fs.readdirSync(work)).toEqual(['bookworm']);
  });

  it('refuses a target that is a file', () => {
    fs.writeFileSync(path.join(work, 'file'), '');
    const r = run(DEBOOTSTRAP, ['--suite', 'bookworm', 'file']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/file exists and is not a directory/);
  });

  it('answers an unknown option, a bad suite or mirror, or a wrong number of directories with its usage (exit 2)', () => {
    const cases = [['--bogus', 'x'], [], ['a', 'b'], ['--suite'], ['--suite', 'Not A Suite!', 'x'], ['--mirror', 'deb.debian.org', 'x'], ['--keyring']];
    for (const args of cases) {
      const r = run(DEBOOTSTRAP, args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/usage: sudo debootstrap\.sh \[--suite SUITE\] \[--mirror URL\] \[--keyring FILE\] <target-dir>/);
    }
    expect(run(DEBOOTSTRAP, ['--bogus', 'x']).stderr).toMatch(/unknown option: --bogus/);
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('prints its usage on --help (exit 0)', () => {
    const r = run(DEBOOTSTRAP, ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--suite SUITE/);
    expect(r.stdout).toMatch(/CONTAINER_LESSONS_ROOTFS=<target-dir> container-lessons solve 3/);
  });

  it('without debootstrap: says how to install it (exit 1), creating nothing', (ctx) => {
    if (hasDebootstrap) skipBecause(ctx, 'debootstrap is installed here: the suite and keyring checks run instead');
    const r = run(DEBOOTSTRAP, ['--suite', 'no-such-release', path.join(work, 'deep/down/rootfs')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^debootstrap\.sh: error: debootstrap is not installed\n {2}install it: sudo apt-get install debootstrap\n$/);
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('refuses a suite debootstrap does not know, creating nothing', (ctx) => {
    if (!hasDebootstrap) skipBecause(ctx, NO_DEBOOTSTRAP);
    const r = run(DEBOOTSTRAP, ['--suite', 'no-such-release', path.join(work, 'deep/down/rootfs')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/debootstrap does not know the suite 'no-such-release'/);
    expect(r.stderr).toMatch(/the suites it knows: ls \/usr\/share\/debootstrap\/scripts/);
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('refuses a keyring it cannot read', (ctx) => {
    if (!hasDebootstrap) skipBecause(ctx, NO_DEBOOTSTRAP);
    const r = run(DEBOOTSTRAP, ['--keyring', path.join(work, 'no-such.gpg'), path.join(work, 'rootfs')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read the keyring .*no-such\.gpg/);
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('runs through a symbolic link, finding lib.sh beside the real script', () => {
    fs.symlinkSync(DEBOOTSTRAP, path.join(work, 'build-rootfs'));
    fs.writeFileSync(path.join(work, 'file'), '');
    const r = run(path.join(work, 'build-rootfs'), ['file']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^build-rootfs: error: file exists and is not a directory$/m);
    expect(fs.readdirSync(work).sort()).toEqual(['build-rootfs', 'file']);
  });

  it('refuses to run without root', (ctx) => {
    if (!hasSetpriv) skipBecause(ctx, NO_SETPRIV);
    const r = runAsNobody(DEBOOTSTRAP, [path.join(work, 'bookworm')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/must run as root/);
    expect(fs.readdirSync(work)).toEqual([]);
  });
});
