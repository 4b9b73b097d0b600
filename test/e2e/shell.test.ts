// The `s` shell in a real terminal (tmux): inside a lesson container it has a terminal of
// the container's own, as `docker exec -it` gives (a /dev/pts/N there, its controlling
// terminal, the window's size, Ctrl-C for the foreground job only); every shell starts
// with the lesson's commands in its history, from a file that is gone when it ends; the
// learner's own ~/.bash_history is left alone; a container without /dev/pts still gets a
// shell, on the workbook's terminal, and the banner says so.
import { describe, it, expect, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempLab } from '../support/lab.js';
import { Tmux, hasTmux } from '../support/tmux.js';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { procfs } from '../../src/core/index.js';
import { stepCommands } from '../../src/ui/shell-history.js';

const lab = tempLab('cl-shell-');
const BIN = path.resolve('bin/container-lessons.js');
const term = new Tmux(`cl-shell-${process.pid}`);
const TUI_DONE = /TUI EXITED \d+/;

/** The history directories of shells (shell-history.ts) under a directory. */
const historyDirs = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith('container-lessons-shell-')) : []);

afterEach(() => term.kill());
afterAll(() => lab.dispose());

/** The workbook in tmux with every lesson open, with `env` added; its first screen. */
async function start(env: Record<string, string> = {}): Promise<string> {
  const vars = Object.entries({ CONTAINER_LESSONS_HOME: lab.root, TERM: 'xterm-256color', ...env }).map(([k, v]) => `${k}=${v}`);
  term.start(`env ${vars.join(' ')} ${process.execPath} ${BIN} --unlock-all; echo "TUI EXITED $?"; sleep 600`);
  return term.waitFor(/container-lessons · 1\//);
}

/** The workbook in tmux at lesson `l`. A key typed as the first frame shows may come
 * before the app reads keys and be lost: a lesson's number (the same whenever it comes)
 * is typed again until the app shows that lesson; another lesson first when `l` is the
 * one it opens at. */
async function openAt(l: Lesson, env: Record<string, string> = {}): Promise<void> {
  await start(env);
  const go = async (n: number) => {
    const re = new RegExp(`container-lessons · ${n}/`);
    for (let i = 0; ; i++) {
      term.keys(String(n));
      try {
        return await term.waitFor(re, { ms: 2000 });
      } catch (err) {
        if (i === 5) throw err;
      }
    }
  };
  if (l.number === 1) await go(2);
  await go(l.number);
}

/** Run the lesson's first step, so that the current step is the second. */
async function firstStep(): Promise<void> {
  term.keys('Enter');
  await term.waitFor(/Step 1 done/);
}

/** Out of the shell and the workbook; its closing line says everything was removed. */
async function exitShellAndQuit(): Promise<void> {
  term.type('exit');
  await term.waitFor(/Back from the shell/);
  term.keys('q');
  await term.waitFor(TUI_DONE);
  expect(term.history()).toMatch(/everything the lessons made was removed/);
}

/** The last line on the screen that is not blank. */
const lastLine = (s: string) => s.trimEnd().split('\n').at(-1) ?? '';

describe.skipIf(!hasTmux)('the s shell in a terminal', () => {
  it('inside a lesson container: a pty of the container, its controlling terminal, the window size, Ctrl-C for the foreground job', async () => {
    const lesson = findLesson('pid-namespace')!;
    await openAt(lesson);
    term.keys('s');
    await term.waitFor(/\[container\] \/ #\s*$/m);
    expect(term.screen()).not.toMatch(/No terminal of its own/);

    // The terminal is a /dev/pts/N of the container's own devpts, and the shell's
    // controlling terminal: ps reads it from /proc/<pid>/stat, /dev/tty opens.
    term.type('echo "tty=$(tty)"; echo "ctty=$(ps -o tty= -p $$)"; : </dev/tty && echo devtty-opens; grep " /dev/pts " /proc/self/mountinfo; echo end-of-1');
    let s = await term.waitFor(/^end-of-1$/m);
    const [, pts] = /^tty=(\/dev\/pts\/\d+)$/m.exec(s) ?? [];
    expect(pts, s).toBeDefined();
    expect(s).toMatch(new RegExp(`^ctty=${pts!.slice(5)}\\s*$`, 'm'));
    expect(s).toMatch(/^devtty-opens$/m);
    expect(s).toMatch(/ \/dev\/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666$/m);

    // The window's size, also after the real terminal is resized.
    const size = term.paneSize();
    term.type('echo "size=$(stty size)"');
    s = await term.waitFor(/^size=\d+ \d+$/m);
    expect(s).toMatch(new RegExp(`^size=${size.rows} ${size.columns}$`, 'm'));
    term.resize(100, 30);
    const bigger = term.paneSize();
    expect(bigger).not.toEqual(size);
    term.type('echo "resized=$(stty size)"');
    s = await term.waitFor(/^resized=\d+ \d+$/m);
    expect(s).toMatch(new RegExp(`^resized=${bigger.rows} ${bigger.columns}$`, 'm'));

    // Ctrl-C ends the foreground job, not the shell.
    term.type('sleep 321');
    const tui = procfs.descendants(term.panePid()).find((p) => (procfs.cmdline(p) ?? '').includes('container-lessons.js'));
    expect(tui).toBeDefined();
    let sleeper: number | undefined;
    for (let i = 0; i < 200 && sleeper === undefined; i++) {
      sleeper = procfs.descendants(tui!).find((p) => procfs.cmdline(p) === 'sleep 321');
      if (sleeper === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(sleeper, 'the sleep started in the container').toBeDefined();
    term.keys('C-c');
    expect(await procfs.waitExited([sleeper!], 5000)).toBe(true);
    term.type('echo "status=$? shell=$$"');
    s = await term.waitFor(/^status=\d+ shell=\d+$/m);
    expect(s).toMatch(/^status=130 shell=\d+$/m);

    await exitShellAndQuit();
  }, 90_000);

  it('up-arrow brings back the current step of the lesson, a command of several lines whole; its history file is gone afterwards', async () => {
    const lesson = findLesson('mount-namespace')!;
    await openAt(lesson);
    await firstStep();
    term.keys('s');
    await term.waitFor(/\[container\] \/ #\s*$/m);
    // While the shell runs its history is in the container's /tmp, which is the lab
    // rootfs's /tmp seen from inside.
    expect(historyDirs(path.join(lab.rootfs, 'tmp'))).toHaveLength(1);
    const [command] = stepCommands(lesson.steps[1]!.commands(lab)).slice(-1);
    expect(command).toContain('\n'); // lesson 3's unshare ... sh -c '<script>'
    term.keys('Up');
    const lines = command!.split('\n');
    const s = await term.waitFor(new RegExp(`${lines.at(-1)!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    // The whole command is on the line being edited, one line of it under the other.
    const shown = s.trimEnd().split('\n');
    const at = shown.findIndex((l) => l.endsWith(`# ${lines[0]}`));
    expect(at, s).toBeGreaterThanOrEqual(0);
    expect(shown.slice(at + 1, at + lines.length)).toEqual(lines.slice(1));
    // Ctrl-C drops the line, the shell stays.
    term.keys('C-c');
    term.type('echo still-here');
    await term.waitFor(/^still-here$/m);
    await exitShellAndQuit();
    expect(historyDirs(path.join(lab.rootfs, 'tmp'))).toEqual([]);
  }, 90_000);

  it('a workbook killed while the shell is open: its next start removes the history file', async () => {
    const lesson = findLesson('mount-namespace')!;
    await openAt(lesson);
    term.keys('s');
    await term.waitFor(/\[container\] \/ #\s*$/m);
    const [dir] = historyDirs(path.join(lab.rootfs, 'tmp'));
    expect(dir).toBeDefined();
    const tui = procfs.descendants(term.panePid()).find((p) => (procfs.cmdline(p) ?? '').includes('container-lessons.js'));
    process.kill(tui!, 'SIGKILL');
    await term.waitFor(/TUI EXITED 137/);
    expect(fs.existsSync(path.join(lab.rootfs, 'tmp', dir!))).toBe(true); // nothing could clean up
    term.kill();
    await start();
    await term.waitFor(/An earlier run was interrupted; removed what it left/);
    expect(historyDirs(path.join(lab.rootfs, 'tmp'))).toEqual([]);
    term.keys('q');
    await term.waitFor(TUI_DONE);
  }, 90_000);

  it('on the host: the lesson commands in the history, and the learner own ~/.bash_history untouched', async () => {
    const lesson = findLesson('overlay')!;
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-shell-home-'));
    try {
      const own = path.join(home, '.bash_history');
      fs.writeFileSync(own, 'echo the-learners-own-command\n');
      const before = fs.statSync(own);
      const tmpBefore = historyDirs(os.tmpdir());
      await openAt(lesson, { HOME: home });
      term.keys('s');
      await term.waitFor(/\(lesson 1\) .* #\s*$/m);
      // Nothing run yet: the current step is the first, its last command comes first.
      const last = stepCommands(lesson.steps[0]!.commands(lab)).at(-1)!;
      term.keys('Up');
      await term.waitFor(new RegExp(`# ${last.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      term.keys('C-c');
      term.type('echo typed-in-the-shell');
      await term.waitFor(/^typed-in-the-shell$/m);
      expect(historyDirs(os.tmpdir()).filter((d) => !tmpBefore.includes(d))).toHaveLength(1);
      await exitShellAndQuit();
      expect(fs.readFileSync(own, 'utf8')).toBe('echo the-learners-own-command\n');
      expect(fs.statSync(own).mtimeMs).toBe(before.mtimeMs);
      expect(historyDirs(os.tmpdir()).filter((d) => !tmpBefore.includes(d))).toEqual([]);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);

  it('a container without /dev/pts: a shell all the same, on the workbook terminal, and the banner says so', async () => {
    const fixture = path.resolve('test/fixtures/shell-trip.mjs');
    term.start(`${process.execPath} ${fixture} ${lab.root} 'echo from-the-history'; sleep 600`);
    let s = await term.waitFor(/No terminal of its own: the container has no \/dev\/pts\. This shell shares the workbook's, where job control and Ctrl-C may not work as usual\./, { all: true });
    s = await term.waitFor(/\[container\] \/ #\s*$/m);
    term.keys('Up');
    await term.waitFor(/# echo from-the-history$/m);
    term.keys('C-u');
    term.type('hostname; tty');
    s = await term.waitFor(/^not a tty$/m);
    expect(s).toMatch(/^nodev$/m);
    term.type('exit 7');
    s = await term.waitFor(/SHELL EXITED/);
    expect(lastLine(s)).toBe('SHELL EXITED 7');
    expect(historyDirs(path.join(lab.rootfs, 'tmp'))).toEqual([]);
  }, 90_000);
});
