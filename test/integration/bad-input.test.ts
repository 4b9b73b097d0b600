// Bad input, as a table: each case gets a clear message (no stack trace), its exit code,
// and loses nothing. Read-only and full filesystems are made for real, inside a private
// mount namespace (util-linux unshare), so the host never sees them.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempLab } from '../support/lab.js';
import { cgroupLayout, ROOTFS_MARKER } from '../../src/core/index.js';
import { doctor, machine } from '../../src/doctor.js';

const BIN = path.resolve('bin/container-lessons.js');
const lab = tempLab('cl-bad-');
afterAll(() => lab.dispose());
const dir = (name: string) => {
  const d = path.join(lab.root, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
};

interface Case {
  name: string;
  args: string[];
  env?: Record<string, string>;
  /** Shell run first inside a private mount namespace (then the CLI is exec'd there). */
  setup?: string;
  before?: () => void;
  code: number;
  message: RegExp;
  hint?: RegExp;
  after?: () => void;
}

function run(c: Case) {
  const env = { ...process.env, CONTAINER_LESSONS_HOME: path.join(lab.root, 'home'), NO_COLOR: '1', ...c.env };
  const r = c.setup
    ? spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${c.setup} && exec "$0" "$@"`, process.execPath, BIN, ...c.args], { env, encoding: 'utf8', timeout: 60_000 })
    : spawnSync(process.execPath, [BIN, ...c.args], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

const cpuMount = cgroupLayout().controllers.cpu!.mountPoint;

const CASES: Case[] = [
  { name: 'an unknown lesson', args: ['check', '99'], code: 2, message: /there is no lesson "99"/ },
  { name: 'an unknown command', args: ['frob'], code: 2, message: /unknown command "frob"/ },
  { name: 'an unknown option', args: ['list', '--frob'], code: 2, message: /Unknown option '--frob'/ },
  { name: 'solve without a lesson', args: ['solve'], code: 2, message: /solve what\?/ },
  {
    name: 'the lab is a file',
    args: ['solve', '1'],
    env: { CONTAINER_LESSONS_HOME: path.join(lab.root, 'a-file') },
    before: () => fs.writeFileSync(path.join(lab.root, 'a-file'), 'keep me'),
    code: 3,
    message: /the lab .*a-file is not a directory/,
    hint: /CONTAINER_LESSONS_HOME/,
    after: () => expect(fs.readFileSync(path.join(lab.root, 'a-file'), 'utf8')).toBe('keep me'),
  },
  {
    name: 'the lab is on a read-only filesystem',
    args: ['solve', '1'],
    env: { CONTAINER_LESSONS_HOME: path.join(dir('ro'), 'lab') },
    setup: `mount -t tmpfs -o ro,size=1m cl-ro ${path.join(lab.root, 'ro')}`,
    code: 3,
    message: /read-only filesystem/,
    hint: /CONTAINER_LESSONS_HOME to a writable directory/,
  },
  {
    name: 'the lab is full',
    args: ['solve', '3'],
    env: { CONTAINER_LESSONS_HOME: path.join(dir('full'), 'lab') },
    setup: `mount -t tmpfs -o size=256k cl-full ${path.join(lab.root, 'full')}`,
    code: 1,
    message: /no space left to build the root filesystem/,
    hint: /free some space/,
  },
  {
    name: 'the cgroup hierarchy is read-only',
    args: ['solve', '2'],
    setup: `mount -o remount,bind,ro ${cpuMount}`,
    code: 1,
    message: /read-only|EROFS/,
    hint: /mounted read-only here/,
  },
  {
    name: 'the cgroup hierarchy is read-only and holds a group left from before',
    args: ['solve', '2'],
    setup: `mount -o remount,bind,ro ${cpuMount}`,
    before: () => fs.mkdirSync(path.join(cpuMount, 'container')),
    code: 1,
    message: /rmdir .*container: EROFS/,
    hint: /mounted read-only here/,
    after: () => fs.rmdirSync(path.join(cpuMount, 'container')),
  },
  {
    name: 'a corrupt progress file',
    args: ['solve', '1'],
    before: () => {
      fs.mkdirSync(path.join(lab.root, 'home'), { recursive: true });
      fs.writeFileSync(path.join(lab.root, 'home', 'progress.json'), '{"version": 7, "mine": true}');
    },
    code: 3,
    message: /progress\.json is unreadable .*left as it is/,
    hint: /move it away/,
    after: () => {
      expect(fs.readFileSync(path.join(lab.root, 'home', 'progress.json'), 'utf8')).toBe('{"version": 7, "mine": true}');
      expect(fs.existsSync(path.join(lab.root, 'home', 'ufs'))).toBe(false);
      fs.rmSync(path.join(lab.root, 'home', 'progress.json'));
    },
  },
  {
    name: 'a root filesystem without the marker',
    args: ['solve', '3'],
    env: { CONTAINER_LESSONS_ROOTFS: dir('nomarker') },
    before: () => fs.mkdirSync(path.join(lab.root, 'nomarker', 'bin'), { recursive: true }),
    code: 1,
    message: new RegExp(`has no ${ROOTFS_MARKER.replace('.', '\\.')} marker`),
    hint: /rootfs-scripts/,
  },
  {
    name: 'a missing root filesystem of your own is not built for you',
    args: ['solve', '4'],
    env: { CONTAINER_LESSONS_ROOTFS: path.join(lab.root, 'nowhere') },
    code: 1,
    message: /no root filesystem at .*nowhere/,
    after: () => expect(fs.existsSync(path.join(lab.root, 'nowhere'))).toBe(false),
  },
  {
    name: 'a broken root filesystem (no /bin/sh)',
    args: ['check', '3'],
    env: { CONTAINER_LESSONS_ROOTFS: dir('broken') },
    before: () => fs.writeFileSync(path.join(lab.root, 'broken', ROOTFS_MARKER), '{"id":"x","kind":"manual"}'),
    code: 1,
    message: /is broken: it has no \/bin\/sh/,
  },
];

describe('bad input', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    c.before?.();
    const r = run(c);
    expect(r.code, r.out).toBe(c.code);
    expect(r.out).toMatch(c.message);
    if (c.hint) expect(r.out).toMatch(c.hint);
    expect(r.out).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    c.after?.();
  });

  it('doctor names what a kernel without overlay or a namespace type lacks, with a fix', () => {
    const r = doctor(lab, { ...machine, filesystems: () => ['ext4', 'proc'], hasNamespace: (t) => t !== 'net' });
    expect(r.ok).toBe(false);
    const overlay = r.findings.find((f) => f.name === 'overlay')!;
    expect(overlay).toMatchObject({ level: 'error', detail: /no overlay filesystem/ });
    expect(overlay.fix).toMatch(/modprobe overlay/);
    expect(r.findings.find((f) => f.name === 'namespace net')).toMatchObject({ level: 'error', fix: /CONFIG_NET_NS/ });
    expect(r.findings.find((f) => f.name === 'namespace pid')?.level).toBe('ok');
  });
});
