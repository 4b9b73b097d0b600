// The CLI as a user runs it: a real process, real exit codes, messages instead of stack traces.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync, spawn } from 'node:child_process';
import { Cgroup, cgroupLayout, procfs } from '../../src/core/index.js';
import { LESSONS, findLesson } from '../../src/lessons/index.js';
import { labPath } from '../../src/lessons/types.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempLab } from '../support/lab.js';
import { onPath } from '../support/on-path.js';

const lab = tempLab('cl-cli-');
const ufs = labPath(lab, findLesson('overlay')!, 'ufs');
afterAll(() => lab.dispose());
const BIN = path.resolve('bin/container-lessons.js');

function cli(args: string[], opts: { user?: string; env?: Record<string, string> } = {}) {
  const env = { ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1', ...opts.env };
  const cmd = opts.user ? 'runuser' : process.execPath;
  const argv = opts.user ? ['-u', opts.user, '--', process.execPath, BIN, ...args] : [BIN, ...args];
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('container-lessons CLI', () => {
  it('list --json shows every lesson and the lab root', () => {
    const r = cli(['list', '--json']);
    expect(r.code).toBe(0);
    const data = JSON.parse(r.out);
    expect(data.labRoot).toBe(lab.root);
    expect(data.lessons.map((l: { id: string }) => l.id)).toEqual(LESSONS.map((l) => l.id));
    expect(data.lessons[0].state).toBe('current');
  });

  it("show renders the lesson text with the learner's paths and the step commands", () => {
    const r = cli(['show', 'overlay']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# 1\. /m);
    expect(r.out).toContain(ufs);
    expect(r.out).not.toMatch(/\{\{\w+\}\}/);
    expect(r.out).toContain('lowerdir=./lower2:./lower1');
  });

  it('show into a pipe that is already closed (| true, or a head that has had enough): no trace', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" show 2 | true`], {
      env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it("hint --level 3 gives lesson 2's commands for this machine: the group's path, the quota, the loop into cgroup.procs", () => {
    const r = cli(['hint', 'cgroup-cpu', '--level', '3']);
    expect(r.code).toBe(0);
    // Where the cpu controller is comes from the layout; the file names are the kernel's.
    const cpu = cgroupLayout().controllers.cpu;
    if (!cpu) throw new Error('no cpu controller on this machine');
    const dir = path.join(cpu.mountPoint, 'container');
    const group =
      cpu.version === 1
        ? `mkdir ${dir}; echo 100000 > ${dir}/cpu.cfs_period_us; echo 20000 > ${dir}/cpu.cfs_quota_us`
        : `grep -qw cpu ${cpu.mountPoint}/cgroup.subtree_control || echo +cpu > ${cpu.mountPoint}/cgroup.subtree_control; mkdir ${dir}; echo "20000 100000" > ${dir}/cpu.max`;
    expect(r.out).toBe(`Lesson ${findLesson('cgroup-cpu')!.number} hint 3 of 3: ${group}; while : ; do : ; done & echo $! > ${dir}/cgroup.procs\n`);
  });

  it('hint gives the idea first, then --level 2 the files, --level all every tier', () => {
    const n = findLesson('cgroup-cpu')!.number;
    const first = cli(['hint', String(n)]);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(new RegExp(`^Lesson ${n} hint 1 of 3: A control group holds processes`));
    expect(first.out).toContain(`(more: container-lessons hint ${n} --level 2)`);
    const second = cli(['hint', String(n), '--level', '2']);
    expect(second.out).toMatch(new RegExp(`^Lesson ${n} hint 2 of 3: `));
    expect(second.out).toMatch(/cgroup\.procs/);
    expect(second.out).toMatch(cgroupLayout().controllers.cpu?.version === 1 ? /cpu\.cfs_quota_us/ : /cpu\.max/);
    const all = cli(['hint', 'overlay', '--level=all']);
    expect(all.code).toBe(0);
    expect(all.out.match(/^Lesson 1 hint \d of 3: /gm)).toEqual(['Lesson 1 hint 1 of 3: ', 'Lesson 1 hint 2 of 3: ', 'Lesson 1 hint 3 of 3: ']);
    expect(all.out).toContain('lowerdir=./lower2:./lower1');
    expect(all.out).not.toContain('(more:');
  });

  it('hint with a bad --level is a usage error (exit 2) that says what to type', () => {
    for (const level of ['4', '0', 'x', '1.5']) {
      const r = cli(['hint', '2', '--level', level]);
      expect(r.code, level).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toBe(`container-lessons: --level is 1, 2, 3 or all, not "${level}"\nhint: type, for example: container-lessons hint 2 --level 3 (from 1, the idea, to 3, the exact commands), or --level all\n`);
    }
  });

  it('an unknown lesson or command is a usage error (exit 2) listing the lessons', () => {
    for (const args of [['show', '42'], ['check', 'nope'], ['frobnicate'], ['list', '--bogus'], ['hint', 'overlay', '--level']]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/^container-lessons: /);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    expect(cli(['show', '42']).err).toMatch(/1\s+overlay/);
  });

  it('check on an empty lab fails (exit 1) with a hint', () => {
    const r = cli(['check', 'overlay']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✘ fail.*nothing is mounted/);
    expect(r.out).toMatch(/hint: mount the layers/);
  });

  it("doctor --json: this machine's cgroup mode and kernel, and ready (exit 0), as the lessons solved here prove it is", () => {
    const r = cli(['doctor', '--json']);
    expect(r.code, r.out).toBe(0);
    const data = JSON.parse(r.out) as { ok: boolean; labRoot: string; cgroupMode: string; findings: Array<{ name: string; level: string; detail: string }> };
    expect(data.labRoot).toBe(lab.root);
    // The mode from mountinfo's file system types: v1 hierarchies with a controller, cgroup2.
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' - ')[1]?.split(' ') ?? []);
    const v1 = mounts.some(([type, , opts]) => type === 'cgroup' && (opts ?? '').split(',').some((o) => !['rw', 'ro'].includes(o) && !o.includes('=')));
    const v2 = mounts.some(([type]) => type === 'cgroup2');
    expect(data.cgroupMode).toBe(v1 && v2 ? 'hybrid' : v1 ? 'v1' : 'v2');
    const finding = (name: string) => data.findings.find((f) => f.name === name);
    expect(finding('root')).toMatchObject({ level: 'ok', detail: 'running as root' });
    expect(finding('kernel')).toMatchObject({ level: 'ok', detail: `Linux ${os.release()}` });
    expect(finding('cgroup cpu')?.detail).toContain(cgroupLayout().controllers.cpu?.mountPoint ?? 'no cpu controller');
    // The capstone's compilers: what is on this machine's PATH, said, never an error.
    const langs = ['bash', ...(onPath('cc') ? ['C'] : []), ...(onPath('rustc') ? ['Rust'] : [])].join(' or ');
    expect(finding('compilers')).toMatchObject({ level: 'ok', detail: expect.stringContaining(`can be written in ${langs}`) });
    // The other tests in this file solve lessons 1, 2 and 4 for real: nothing doctor
    // checks can be missing here, so it must say ready.
    expect(data.findings.filter((f) => f.level === 'error')).toEqual([]);
    expect(data.ok).toBe(true);
    const text = cli(['doctor']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^ready for the lessons$/m);
  });

  it('solve 1 --json passes, prints real output, and leaves nothing', () => {
    const r = cli(['solve', 'overlay', '--json']);
    expect(r.code, r.err).toBe(0);
    const data = JSON.parse(r.out);
    expect(data.passed).toBe(true);
    expect(data.lessons[0].steps[1].output).toMatch(/x\.txt/);
    expect(fs.existsSync(ufs)).toBe(false);
    expect(JSON.parse(cli(['list', '--json']).out).lessons[0].state).toBe('passed');
  });

  it('solve --keep keeps the mount until reset', () => {
    const r = cli(['solve', 'overlay', '--keep']);
    expect(r.code, r.err).toBe(0);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).toContain(path.join(ufs, 'merged'));
    // What the solve would have undone is left for reset (a setting the lesson's own reset
    // could not know it changed, such as v2's +cpu, among it).
    const kept = path.join(lab.root, '.kept', 'overlay.json');
    expect(JSON.parse(fs.readFileSync(kept, 'utf8')).map((u: { kind: string }) => u.kind)).toEqual(['file', 'mount']);
    expect(cli(['check', 'overlay']).code).toBe(0);
    // The picture of what is there: in a UTF-8 locale with box drawing, in C plain ASCII.
    const pic = cli(['picture', '1'], { env: { LANG: 'C.UTF-8', LC_ALL: '' } });
    expect(pic.code, pic.err).toBe(0);
    expect(pic.out).toMatch(/── the union at merged/);
    expect(pic.out).toMatch(/^merged +· +2 +1 +2 +1$/m);
    const ascii = cli(['picture', 'overlay'], { env: { LANG: 'C', LC_ALL: '' } });
    expect(ascii.out).toMatch(/^-- the union at merged/m);
    expect(ascii.out.slice(ascii.out.indexOf('-- the union'))).toMatch(/^[\x20-\x7e\n]*$/);
    expect(cli(['picture', 'nope']).code).toBe(2);
    const reset = cli(['reset', 'overlay']);
    expect(reset.code).toBe(0);
    expect(reset.out).toContain('what solve --keep recorded: file, mount');
    expect(fs.existsSync(kept)).toBe(false);
    expect(reset.out).toContain(`mount ${path.join(ufs, 'merged')}`);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(ufs);
  });

  it('solve --keep leaves the container and the busy loop running for check, and reset ends them', () => {
    for (const id of ['pid-namespace', 'cgroup-cpu']) expect(cli(['solve', id, '--keep']).code).toBe(0);
    // The solving process has exited: what it kept must still be there to check.
    expect(cli(['check', 'pid-namespace']).code).toBe(0);
    expect(cli(['check', 'cgroup-cpu']).code).toBe(0);
    const reset = cli(['reset']);
    expect(reset.code).toBe(0);
    expect(reset.out).toMatch(/process \d+ \(sh\) in the lab rootfs/);
    expect(reset.out.match(/busy loop pid/g)).toHaveLength(1);
    expect(new Cgroup('container', ['cpu']).exists()).toBe(false);
    expect(cli(['check', 'pid-namespace']).code).toBe(1);
    // Progress survives a reset.
    expect(JSON.parse(cli(['list', '--json']).out).lessons.find((l: { id: string }) => l.id === 'pid-namespace').state).toBe('passed');
  });

  it('run --rootfs lab: the command as PID 1 in its own namespaces on the lab rootfs, its exit code, a cgroup with --cpus, nothing left', () => {
    const r = cli(['run', '--rootfs', 'lab', '--hostname', 'box', '/bin/sh', '-c', 'echo "$$ $(hostname)"; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; exit 7']);
    expect(r.code).toBe(7);
    expect(r.out.trim().split('\n')).toEqual(['1 box', 'lo']);
    // In a cgroup namespace of its own, rooted at its group: its own group is "/".
    const limited = cli(['run', '--rootfs', 'lab', '--cpus', '0.5', '--', '/bin/sh', '-c', 'grep -E ":cpu[,:]|^0::" /proc/self/cgroup']);
    expect(limited.code).toBe(0);
    expect(limited.out).toMatch(/:\/$/m);
    expect(fs.readdirSync(new Cgroup('x', ['cpu']).dir.replace(/\/x$/, '')).filter((d) => d.startsWith('container-lessons-run-'))).toEqual([]);
    const bad = cli(['run', '--cpus', 'lots', '--rootfs', 'lab', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.err).toMatch(/^container-lessons run: --cpus is a number of CPUs[^\n]*\n$/);
    const none = cli(['run', '--rootfs', path.join(lab.root, 'nowhere'), '--', 'true']);
    expect(none.code).toBe(125);
    expect(none.err).toMatch(/no root filesystem at .*nowhere/);
  });

  it('a corrupt progress file is reported, not overwritten', () => {
    fs.writeFileSync(lab.progressFile, 'garbage');
    const r = cli(['list']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/warning: .*progress\.json is unreadable/);
    expect(fs.readFileSync(lab.progressFile, 'utf8')).toBe('garbage');
    fs.rmSync(lab.progressFile);
  });

  // Needs a project directory that an unprivileged user can read (a clone under /root is not).
  const nobodyCanRun = spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', BIN]).status === 0;
  it.skipIf(!nobodyCanRun)('without root: a clear message and exit 3, nothing created', () => {
    fs.chmodSync(lab.root, 0o755);
    const r = cli(['solve', 'overlay'], { user: 'nobody' });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/needs root/);
    expect(r.err).toMatch(/sudo/);
    expect(fs.existsSync(ufs)).toBe(false);
  });

  it.skipIf(!nobodyCanRun)('without root: the hint is the command that runs this very workbook as root, every word quoted', () => {
    fs.chmodSync(lab.root, 0o755);
    const runtime = path.join(lab.root, 'my runtimes/it\'s "here"');
    const args = ['check', 'capstone', '--runtime', runtime];
    const r = cli(args, { user: 'nobody' });
    expect(r.code).toBe(3);
    const hint = /^hint: run it with sudo: (.*)$/m.exec(r.err)?.[1];
    if (!hint) throw new Error(`no sudo hint in: ${r.err}`);
    // The words a shell makes of it: sudo, the lab's variable through env, this node, this
    // script (nvm's node is not on sudo's PATH: both by their paths), the arguments as given.
    const words = spawnSync('sh', ['-c', `printf '%s\\0' ${hint}`], { encoding: 'utf8' })
      .stdout.split('\0')
      .slice(0, -1);
    expect(words).toEqual(['sudo', 'env', `CONTAINER_LESSONS_HOME=${lab.root}`, process.execPath, BIN, ...args]);
    // With --json, the same failure as JSON on stdout.
    const json = cli([...args, '--json'], { user: 'nobody' });
    expect(json.code).toBe(3);
    expect(json.err).toBe('');
    expect(JSON.parse(json.out)).toEqual({ error: "`check` needs root: it reads other processes' namespaces, roots and cgroup files", hint: `run it with sudo: ${hint} --json`, exit: 3 });
  });

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s in the middle of a lesson: cleans up, then exits', async (sig) => {
    const child = spawn(process.execPath, [BIN, 'solve', 'pid-namespace'], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // Wait until the lesson's container runs (its step prints the host's view of PID 1).
    for (let i = 0; i < 500 && !/NSpid:\s+(\d+)\s+1/.test(out); i++) await new Promise((r) => setTimeout(r, 10));
    const pid1 = Number(out.match(/NSpid:\s+(\d+)\s+1/)?.[1]);
    expect(procfs.pidAlive(pid1)).toBe(true);
    child.kill(sig);
    expect(await exited).toBe(128 + { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig]);
    expect(await procfs.waitReaped([pid1], 3000)).toBe(true);
  });

  it('SIGINT while the cgroup lesson runs its busy loop: group and loop are gone', async () => {
    const child = spawn(process.execPath, [BIN, 'solve', 'cgroup-cpu'], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const g = new Cgroup('container', ['cpu']);
    for (let i = 0; i < 500 && !(g.exists() && g.procs().length); i++) await new Promise((r) => setTimeout(r, 10));
    const [loop] = g.procs();
    if (loop === undefined) throw new Error('the busy loop never appeared in the cgroup');
    expect(procfs.cmdline(loop)).toMatch(/container-lessons-busy-loop/);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(g.exists()).toBe(false);
    expect(await procfs.waitReaped([loop], 3000)).toBe(true);
  });
});

describe("a learner's umask", () => {
  it('077 (a hardened machine; sudo keeps it) does not close the lab: lesson 9 runs its rootless container as uid 20000 in a fresh lab', () => {
    // A lab the workbook makes itself, under a directory uid 20000 can pass.
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-umask-'));
    fs.chmodSync(parent, 0o755);
    const home = path.join(parent, 'lab');
    const env = { ...process.env, CONTAINER_LESSONS_HOME: home, NO_COLOR: '1' };
    try {
      const r = spawnSync('sh', ['-c', 'umask 077; exec "$0" "$@"', process.execPath, BIN, 'solve', 'other-namespaces', '--json'], { env, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stdout.slice(-2000) + r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).passed).toBe(true);
      expect(fs.statSync(home).mode & 0o777).toBe(0o755);
    } finally {
      spawnSync(process.execPath, [BIN, 'reset', '--all'], { env, stdio: 'ignore' });
      fs.rmSync(parent, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('CLI conventions', () => {
  const fresh = () => path.join(os.tmpdir(), `cl-cli-nolab-${process.pid}-${Math.random().toString(36).slice(2)}`);

  it("<command> --help, -h and help <command>: that command's help, exit 0, as any user, no lab made", () => {
    const home = fresh();
    try {
      const user = nobodyCanRunBin() ? 'nobody' : undefined;
      const ways = [
        ['solve', '--help'],
        ['solve', '-h'],
        ['help', 'solve'],
        ['--help', 'solve'],
      ].map((args) => cli(args, { user, env: { CONTAINER_LESSONS_HOME: home } }));
      for (const r of ways) {
        expect(r.code).toBe(0);
        expect(r.err).toBe('');
        expect(r.out).toBe(ways[0]!.out);
      }
      expect(ways[0]!.out).toMatch(/^usage:\n {2}sudo container-lessons solve <lesson\|all> \[--json\] \[--keep\]\n/);
      expect(ways[0]!.out).toMatch(/^ {2}--keep +leave what the lesson made/m);
      expect(ways[0]!.out).toMatch(/example:\n {2}sudo container-lessons solve 1 --keep\n$/);
      // In the language asked for, which help does not keep.
      const zh = cli(['check', '--help', '--lang', 'zh'], { env: { CONTAINER_LESSONS_HOME: home } });
      expect(zh.code).toBe(0);
      expect(zh.out).toMatch(/^用法：\n {2}sudo container-lessons check <lesson> \[--json\] \[--watch\]$/m);
      expect(zh.out).toContain('选项：');
      // run reads its own options: its --help is the same entry.
      const run = cli(['run', '--help'], { env: { CONTAINER_LESSONS_HOME: home } });
      expect(run.code).toBe(0);
      expect(run.out).toBe(cli(['help', 'run'], { env: { CONTAINER_LESSONS_HOME: home } }).out);
      expect(run.out).toMatch(/^ {2}--ip ADDR\/PREFIX +eth0 with this address/m);
      // The whole list still comes with help alone.
      const all = cli(['help'], { env: { CONTAINER_LESSONS_HOME: home } });
      expect(all.out).toMatch(/^ {2}solve <lesson\|all> \[--json\] \[--keep\]$/m);
      expect(all.out).toMatch(/^ {2}doctor \[--json\] +what this machine offers the lessons$/m);
      expect(fs.existsSync(home)).toBe(false);
      const unknown = cli(['help', 'frobnicate'], { env: { CONTAINER_LESSONS_HOME: home } });
      expect(unknown.code).toBe(2);
      expect(unknown.err).toMatch(/^container-lessons: unknown command "frobnicate"\nhint: the commands are list, show, solve/);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('with --json, a usage error is JSON on stdout (English, its hint, its exit code), nothing on stderr', () => {
    const cases: Array<[string[], RegExp, RegExp | null]> = [
      [['list', '--bogus', '--json'], /^Unknown option '--bogus'/, null],
      [['check', '42', '--json'], /^there is no lesson "42"; the lessons are:\n {2}1 {2}overlay/, null],
      [['frobnicate', '--json'], /^unknown command "frobnicate"$/, /^the commands are list, show/],
      [['hint', '2', '--level', '9', '--json'], /^--level is 1, 2, 3 or all, not "9"$/, /^type, for example: container-lessons hint 2 --level 3/],
      [['list', '--json', '--lang', 'fr'], /^--lang is zh or en, not "fr"$/, /container-lessons --lang zh/],
    ];
    for (const [args, error, hint] of cases) {
      const r = cli(args, { env: { LANG: 'zh_CN.UTF-8' } });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toBe('');
      expect(r.out.endsWith('}\n')).toBe(true);
      const data = JSON.parse(r.out) as { error: string; hint: string | null; exit: number };
      expect(Object.keys(data)).toEqual(['error', 'hint', 'exit']);
      expect(data.error).toMatch(error);
      if (hint) expect(data.hint).toMatch(hint);
      else expect(data.hint).toBeNull();
      expect(data.exit).toBe(2);
    }
    // Without --json: the same failure for a reader, on stderr.
    const human = cli(['frobnicate']);
    expect(human.out).toBe('');
    expect(human.err).toMatch(/^container-lessons: unknown command "frobnicate"\nhint: /);
  });

  it('colour: FORCE_COLOR into a pipe, FORCE_COLOR=0 never, NO_COLOR only when not empty', () => {
    const colored = (env: Record<string, string>) => /\x1b\[/.test(cli(['list'], { env: { NO_COLOR: '', ...env } }).out);
    expect(colored({})).toBe(false); // a pipe
    expect(colored({ FORCE_COLOR: '1' })).toBe(true);
    expect(colored({ FORCE_COLOR: '' })).toBe(true);
    expect(colored({ FORCE_COLOR: '0' })).toBe(false);
    expect(colored({ FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(false);
    // The lesson text's styling (marked-terminal, through chalk) follows the same rule.
    const show = cli(['show', '1'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(show.out).toMatch(/\x1b\[35m\x1b\[4m\x1b\[1m1\. /);
  });

  // script(1) gives the CLI a terminal.
  const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;
  it.skipIf(!hasScript)('on a terminal whose TERM chalk does not know, the lesson text is coloured as the rest', () => {
    const onTerminal = (env: Record<string, string>) =>
      spawnSync('script', ['-qec', `"${process.execPath}" "${BIN}" show 1`, '/dev/null'], {
        env: { PATH: process.env.PATH!, HOME: os.tmpdir(), LANG: 'C.UTF-8', CONTAINER_LESSONS_HOME: lab.root, ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      }).stdout;
    expect(onTerminal({ TERM: 'unknown' })).toMatch(/\x1b\[35m\x1b\[4m\x1b\[1m1\. /);
    expect(onTerminal({ TERM: 'dumb' })).toMatch(/^# 1\. /);
    expect(onTerminal({ TERM: 'xterm', NO_COLOR: '1' })).toMatch(/^# 1\. /);
  });
});

/** An unprivileged user can read the project (a clone under /root is not readable). */
function nobodyCanRunBin(): boolean {
  return spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', BIN]).status === 0;
}
