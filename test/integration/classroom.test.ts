// The classroom playbook (classroom/ansible) run for real against this machine, as an
// instructor runs it against a room of VMs: `ansible-playbook -c local -i localhost,`.
// prepare installs npm pack's tarball into a temporary prefix and makes a throwaway learner
// (cl-class-test) with sudo; the learner passes lesson 1; collect fetches their progress,
// and `class report` shows their row. Everything the playbook would change on a real VM and
// this run cannot remove afterwards is turned off (the modules-load file; packages and
// modules unless they are all there already, when installing them changes nothing);
// everything it makes goes under one temporary directory or is the learner, removed at the end.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visible } from '../../src/columns.js';
import { classReport } from '../../src/classroom/report.js';
import { onPath } from '../support/on-path.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PLAYBOOK_DIR = path.join(ROOT, 'classroom/ansible');
const DEFAULTS = fs.readFileSync(path.join(PLAYBOOK_DIR, 'roles/container_lessons/defaults/main.yml'), 'utf8');
const LEARNER = 'cl-class-test';
const MODULES_LOAD = '/etc/modules-load.d/container-lessons.conf';

const hasAnsible = onPath('ansible-playbook');
const isRoot = process.getuid?.() === 0;
const learnerExists = () => spawnSync('id', [LEARNER]).status === 0;
const skipReason = !hasAnsible
  ? 'ansible-playbook is not installed (apt-get install --no-install-recommends ansible-core)'
  : !isRoot
    ? 'the playbook makes a user: run as root'
    : learnerExists()
      ? `a user ${LEARNER} exists already: not ours to change`
      : '';
if (skipReason) console.log(`SKIP: classroom playbook: ${skipReason}`);

/** A YAML flow list of the defaults file, e.g. `cl_packages: [a, b]`. */
function defaultList(name: string): string[] {
  const m = DEFAULTS.match(new RegExp(`^${name}: \\[(.*)\\]$`, 'm'));
  if (!m) throw new Error(`no ${name} list in the role's defaults`);
  return m[1]!.split(',').map((s) => s.trim());
}
// dpkg-query's own format: the package's status field.
const STATUS_FORMAT = `-f=\${Status}`;
const installed = (pkg: string) => spawnSync('dpkg-query', ['-W', STATUS_FORMAT, pkg], { encoding: 'utf8' }).stdout === 'install ok installed';

describe.skipIf(!!skipReason)('the classroom playbook against localhost', () => {
  let tmp = '';
  let results = '';
  let prefix = '';
  let env: NodeJS.ProcessEnv = {};
  let varsFile = '';
  const modulesLoadBefore = fs.existsSync(MODULES_LOAD);
  // Installing packages and loading modules is exercised where it changes nothing.
  const packages = [...defaultList('cl_packages'), ...defaultList('cl_extra_packages')];
  const allInstalled = packages.every(installed);
  const allLoaded = defaultList('cl_kernel_modules').every((m) => fs.existsSync(`/sys/module/${m}`));

  const playbook = (tags: string, extra: object = {}) =>
    spawnSync('ansible-playbook', ['-c', 'local', '-i', 'localhost,', 'classroom.yml', '--tags', tags, '-e', `@${varsFile}`, '-e', JSON.stringify(extra)], { cwd: PLAYBOOK_DIR, env, encoding: 'utf8' });

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-classroom-'));
    results = path.join(tmp, 'results');
    prefix = path.join(tmp, 'prefix');
    fs.mkdirSync(path.join(tmp, 'sudoers'));
    const tarball = path.join(tmp, execFileSync('npm', ['pack', '--pack-destination', tmp, '--silent'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!);
    varsFile = path.join(tmp, 'vars.json');
    fs.writeFileSync(
      varsFile,
      JSON.stringify({
        cl_package: tarball,
        cl_prefix: prefix,
        cl_learner: LEARNER,
        cl_install_packages: allInstalled,
        cl_load_modules: allLoaded,
        cl_modules_load_file: '',
        cl_sudoers_dir: path.join(tmp, 'sudoers'),
        cl_doctor_log: path.join(tmp, 'doctor.log'),
        // This machine is a CI VM or a container: doctor is shown and kept, not required.
        cl_doctor_must_pass: false,
        cl_results_dir: results,
        // As root already; sudo may not even be installed.
        ansible_become: false,
        ansible_python_interpreter: '/usr/bin/python3',
      }),
    );
    // Ansible's own files (its temporary and home directories) go under tmp too.
    env = {
      ...process.env,
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_HOME: path.join(tmp, 'ansible-home'),
      ANSIBLE_LOCAL_TEMP: path.join(tmp, 'ansible-local'),
      ANSIBLE_REMOTE_TEMP: path.join(tmp, 'ansible-remote'),
      ANSIBLE_CONFIG: path.join(PLAYBOOK_DIR, 'ansible.cfg'),
    };
  }, 240_000);

  afterAll(() => {
    if (learnerExists()) spawnSync('userdel', ['--remove', LEARNER], { stdio: 'ignore' });
    fs.rmSync(`/home/${LEARNER}`, { recursive: true, force: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    expect(learnerExists(), `the user ${LEARNER} is gone`).toBe(false);
    expect(fs.existsSync(`/home/${LEARNER}`)).toBe(false);
    expect(fs.existsSync(MODULES_LOAD)).toBe(modulesLoadBefore);
  });

  it('prepare: installs the package, makes the learner with sudo, runs doctor', () => {
    const run = playbook('prepare');
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/);
    const command = path.join(prefix, 'bin/container-lessons');
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    expect(execFileSync(command, ['--version'], { encoding: 'utf8' }).trim()).toBe(version);
    expect(learnerExists()).toBe(true);
    expect(execFileSync('getent', ['passwd', LEARNER], { encoding: 'utf8' })).toContain(`/home/${LEARNER}:/bin/bash`);
    expect(fs.readFileSync(path.join(tmp, 'sudoers', `container-lessons-${LEARNER}`), 'utf8')).toContain(`${LEARNER} ALL=(ALL:ALL) NOPASSWD: ALL`);
    // doctor looked at the learner's lab, and its answer is kept and shown.
    const doctor = fs.readFileSync(path.join(tmp, 'doctor.log'), 'utf8');
    expect(doctor).toContain(`labRoot: /home/${LEARNER}/container-lessons`);
    expect(doctor).toMatch(/^exit [01]$/m);
    expect(run.stdout).toContain(`labRoot: /home/${LEARNER}/container-lessons`);
    // Packages already installed are not installed again; off, the task is skipped.
    const packagesTask = run.stdout.match(/TASK \[container_lessons : Install the packages the lessons use\][^\n]*\n(\w+)/)?.[1];
    expect(packagesTask).toBe(allInstalled ? 'ok' : 'skipping');
    expect(fs.existsSync(MODULES_LOAD)).toBe(modulesLoadBefore);
  }, 300_000);

  it("collect: fetches the learner's progress, the check they are stuck on and the capstone", () => {
    // The learner passes lesson 1 in their own lab, as `sudo container-lessons solve 1` would.
    const command = path.join(prefix, 'bin/container-lessons');
    const solve = spawnSync(command, ['solve', '1', '--json'], { env: { ...process.env, SUDO_USER: LEARNER, NO_COLOR: '1' }, encoding: 'utf8' });
    expect(solve.status, solve.stderr).toBe(0);

    const run = playbook('collect');
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`${LEARNER}: on lesson cgroup-cpu; capstone not passed`);
    const file = path.join(results, 'localhost.json');
    const collected = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(collected).toMatchObject({ host: 'localhost', learner: LEARNER });
    expect(collected.list.labRoot).toBe(`/home/${LEARNER}/container-lessons`);
    expect(collected.list.lessons.slice(0, 3).map((l: { state: string }) => l.state)).toEqual(['passed', 'current', 'open']);
    expect(collected.current).toMatchObject({ id: 'cgroup-cpu', passed: false });
    const failing = collected.current.checks.filter((c: { status: string }) => c.status === 'fail');
    expect(failing.length).toBeGreaterThan(0);
    expect(collected.capstone).toMatchObject({ id: 'capstone', passed: false });

    // The class table: the learner's row, lesson 1 passed, 2 current, and the check named.
    let stdout = '';
    let stderr = '';
    const code = classReport([results], { json: false }, { color: false, utf8: true, width: 200, write: (s) => (stdout += s), warn: (s) => (stderr += s) });
    expect(code, stderr).toBe(0);
    const lines = stdout.split('\n');
    const row = lines.find((l) => l.startsWith('localhost '));
    expect(row, stdout).toBeDefined();
    const marks = row!.slice(visible(lines[0]!.slice(0, lines[0]!.indexOf('1 2 3')))).split(/\s+/);
    expect(marks.slice(0, 3)).toEqual(['✔', '▶', '·']);
    expect(row).toMatch(new RegExp(`0/${collected.capstone.checks.length}\\s+2 ${failing[0].title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    // The same table from the installed command, as the instructor types it.
    const cli = spawnSync(command, ['class', 'report', '--json', results], { env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`"${LEARNER}"`);
    expect(cli.stdout).toContain(JSON.stringify(failing[0].title));
  }, 600_000);

  it('collect: a VM whose command does not answer is kept as an error, and the report names it', () => {
    const broken = path.join(tmp, 'results-broken');
    const run = playbook('collect', { cl_prefix: path.join(tmp, 'not-installed'), cl_results_dir: broken });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const collected = JSON.parse(fs.readFileSync(path.join(broken, 'localhost.json'), 'utf8'));
    expect(collected.list).toEqual({ error: expect.stringContaining('not-installed/bin/container-lessons'), exit: 2 });
    expect(collected.current).toBeNull();
    let stdout = '';
    let stderr = '';
    const code = classReport([broken], { json: false }, { color: false, utf8: true, width: 200, write: (s) => (stdout += s), warn: (s) => (stderr += s) });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^localhost .*not collected: list: .*not-installed\/bin\/container-lessons/m);
    expect(stderr).toContain(`${path.join(broken, 'localhost.json')}: list: `);
  }, 120_000);
});
