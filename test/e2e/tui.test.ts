// The real workbook in a real terminal: tmux runs `container-lessons`, keys go in with
// send-keys, the screen comes back with capture-pane. Every lesson of the curriculum from
// start to the last unlock with real syscalls at 80x24, every step's command read whole
// from the screen, the copy key's OSC 52 read back from tmux's paste buffer, one trip into
// a container shell and back, then quit; the leak guard checks the machine afterwards.
// The tmux server is one of the test's own (-L), so the learner's tmux is never touched.
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { tempLab } from '../support/lab.js';
import { readProgress } from '../../src/lab.js';
import { readMarker, Cgroup, procfs } from '../../src/core/index.js';
import { LESSONS, findLesson, type Lesson } from '../../src/lessons/index.js';
import { findLabProcesses } from '../../src/checks/containers.js';
import { commandsAsTyped, joinShown } from '../support/shown-command.js';
import { killTmuxServer } from '../support/tmux.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const lab = tempLab('cl-e2e-');
const session = `cl-e2e-${process.pid}`;
const BIN = path.resolve('bin/container-lessons.js');

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', session, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-t', session, '-p');
const keys = (...k: string[]) => tmux('send-keys', '-t', session, ...k);
/** The screen with wrapped lines joined: the closing line is longer than the terminal. */
const joinedScreen = () => tmux('capture-pane', '-t', session, '-p', '-J');

async function waitFor(re: RegExp, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    last = screen();
    if (re.test(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the screen never showed ${re}; it shows:\n${last}`);
}

async function stopSession() {
  killTmuxServer(session);
  // The TUI gets SIGHUP and cleans up; wait until nothing runs in the lab rootfs.
  const marker = readMarker(lab.rootfs);
  for (let i = 0; marker && i < 100 && findLabProcesses(marker.id).length; i++) await new Promise((r) => setTimeout(r, 50));
}

afterAll(async () => {
  if (hasTmux) await stopSession();
  lab.dispose();
});

const N = LESSONS.length;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The header of lesson l: "n/N" and the start of its title. */
const header = (l: Lesson) => new RegExp(`${l.number}/${N} ${escapeRegExp(l.title.slice(0, 20))}`);

/** Run every step with Enter, then the checks, and wait for the pass; `after(i)` runs once
 * step i (from 1) is done. */
async function doLesson(l: Lesson, after?: (i: number) => Promise<void>) {
  const steps = l.steps.length;
  for (let i = 1; i <= steps; i++) {
    keys('Enter');
    await waitFor(i < steps ? new RegExp(`Step ${i} done`) : /All steps done/);
    await after?.(i);
  }
  keys('Enter');
  return waitFor(new RegExp(`Lesson ${l.number} passed`));
}

/** The screen once it differs from `before` (or as it is after a second: at the end of the
 * pane, a scroll changes nothing). */
async function changedScreen(before: string): Promise<string> {
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = screen();
    if (now !== before) return now;
  }
  return screen();
}

/** How many of the Work pane's lines hold `command` whole (0: it is not all there): a `$ `
 * line and the lines after it (prompt and gutter taken off) that join back into exactly the
 * command. */
function shownWhole(lines: string[], command: string): number {
  for (let at = 0; at < lines.length; at++) {
    if (!lines[at]!.startsWith('     $ ')) continue;
    for (let k = 1; k <= 16 && at + k <= lines.length; k++) {
      try {
        if (joinShown(lines.slice(at, at + k).map((line) => line.slice(7))) === command) return k;
      } catch {
        /* not a continuation as shown: not this span */
      }
    }
  }
  return 0;
}

/**
 * Every step's commands, read whole from the Work pane before the lesson runs: from the
 * top, scrolled down a line at a time until each one, in order, is on the screen (keys
 * sent together reach the app as one input, "jjj", which is no key).
 */
async function readEveryCommand(l: Lesson): Promise<number[]> {
  keys('Tab');
  let s = await waitFor(/○ 1\. /);
  keys('g');
  s = await changedScreen(s);
  const heights: number[] = [];
  for (const [i, step] of l.steps.entries()) {
    for (const command of commandsAsTyped(step.commands(lab))) {
      while (!shownWhole(s.split('\n'), command)) {
        keys('j');
        const before = s;
        s = await changedScreen(s);
        if (s === before) throw new Error(`lesson ${l.number} step ${i + 1}: the Work pane, scrolled to its end, never showed this command whole:\n${command}\nit shows:\n${s}`);
      }
      heights.push(shownWhole(s.split('\n'), command));
    }
  }
  keys('Tab');
  await changedScreen(s);
  return heights;
}

describe.skipIf(!hasTmux)('the TUI in tmux', () => {
  it('goes through every lesson to the last one passed, with a shell inside a container on the way', async () => {
    const cmd = `env CONTAINER_LESSONS_HOME=${lab.root} TERM=xterm-256color LANG=C.UTF-8 ${process.execPath} ${BIN}; echo "TUI EXITED $?"; sleep 600`;
    // 80x24 for the first lesson, whose mount command is longer than a line there.
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', cmd);
    let s = await waitFor(new RegExp(`container-lessons · ${header(LESSONS[0]!).source}`));
    expect(s).toMatch(/🔒 2/);

    // The copy key: step 1's commands, through OSC 52, into tmux's paste buffer.
    tmux('set-option', '-s', 'set-clipboard', 'on');
    keys('y');
    await waitFor(/Copied step 1's/);
    expect(tmux('show-buffer')).toBe(LESSONS[0]!.steps[0]!.commands(lab).join('\n'));

    // The shell trip: in the PID namespace lesson, a shell inside its container is enough
    // for its checks (the container it starts is the lesson's).
    const shellLesson = findLesson('pid-namespace')!;
    for (const l of LESSONS) {
      if (l.number > 1) {
        keys('Right');
        await waitFor(header(l));
      }
      const heights = await readEveryCommand(l);
      // Lesson 1's mount command is longer than a line at 80 columns: wrapping was read too.
      if (l.id === 'overlay') expect(Math.max(...heights)).toBeGreaterThan(1);
      if (l === shellLesson) {
        keys('s');
        await waitFor(/\[container\] \/ #/);
        keys('echo "pid=$$ host=$(hostname)"; ps -e -o pid=,comm= | head -3', 'Enter');
        s = await waitFor(/^\s+1 sh\s*$/m);
        expect(s).toMatch(/pid=\d+ host=container/);
        keys('exit', 'Enter');
        await waitFor(/Back from the shell/);
        keys('c');
        s = await waitFor(new RegExp(`Lesson ${l.number} passed`));
      } else {
        s = await doLesson(l);
      }
      if (l.id === 'cgroup-cpu') {
        expect(s).toMatch(/measured (1[89]|2[0-2])\.\d %/);
        // Its picture at the Work pane's end: the loop's share fell from most of a CPU (it
        // shares two with the TUI, its helpers starting and this test) to about 20 %, in high bars, then low ones
        // after the mark of the quota (high for as long as the test took to press Enter).
        expect(s).toMatch(/before the quota: ([4-9]\d|1\d\d) % +under the quota: (1[5-9]|2[0-5]) %/);
        const spark = s.split('\n').find((x) => /^100 % │/.test(x)) ?? s;
        expect(spark).toMatch(/│ *[▅▆▇█]+.*[▁▂▃]{5,} +now (1[5-9]|2[0-5]) %$/);
      }
      expect(s).toMatch(l.number < N ? new RegExp(`Lesson ${l.number + 1} is unlocked`) : /that was the last one/);
    }

    // A larger terminal: the frame follows.
    tmux('resize-window', '-t', session, '-x', '90', '-y', '28');
    await waitFor(/that was the last one/);
    keys('q');
    await waitFor(/TUI EXITED \d+/);
    s = joinedScreen();
    expect(s).toMatch(new RegExp(`${N} of ${N} lessons passed; everything the lessons made was removed\\. Lab: ${escapeRegExp(lab.root)}`));
    expect(s).not.toMatch(/could not be removed|cleanup:|container-lessons reset/);
    expect(s).toMatch(/TUI EXITED 0/);
    expect(Object.keys(readProgress(lab).passed).sort()).toEqual(LESSONS.map((l) => l.id).sort());
  }, 180_000);

  it('reopens at the current lesson with progress intact; without a terminal it prints what to run', async () => {
    await stopSession();
    const cmd = `env CONTAINER_LESSONS_HOME=${lab.root} ${process.execPath} ${BIN}; echo "TUI EXITED $?"; sleep 600`;
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', cmd);
    const s = await waitFor(new RegExp(`container-lessons · ${N}/${N}`));
    expect(s).toMatch(new RegExp(LESSONS.map((l) => `✔ ${l.number}`).join(' +')));
    keys('C-c');
    await waitFor(/TUI EXITED \d+/);
    const end = joinedScreen();
    expect(end).toMatch(new RegExp(`${N} of ${N} lessons passed; everything the lessons made was removed`));
    expect(end).not.toMatch(/could not be removed|cleanup:/);
    expect(end).toMatch(/TUI EXITED 0/);
    const r = spawnSync(process.execPath, [BIN], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root }, encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/needs a terminal/);
    expect(r.stdout).toMatch(/container-lessons solve <lesson>/);
  }, 60_000);

  it('kill -9 of the TUI in the middle of lesson 2: the next start removes its cgroup and busy loop', async () => {
    await stopSession();
    const fresh = tempLab('cl-e2e-kill-');
    try {
      const cmd = `env CONTAINER_LESSONS_HOME=${fresh.root} ${process.execPath} ${BIN} --unlock-all; echo "TUI EXITED $?"; sleep 600`;
      tmux('new-session', '-d', '-s', session, '-x', '90', '-y', '28', cmd);
      await waitFor(new RegExp(`container-lessons · 1/${N}`));
      const cpu = findLesson('cgroup-cpu')!;
      keys(String(cpu.number));
      await waitFor(header(cpu));
      for (let i = 1; i <= cpu.steps.length; i++) {
        keys('Enter');
        await waitFor(i < cpu.steps.length ? new RegExp(`Step ${i} done`) : /All steps done/);
      }
      const g = new Cgroup('container', ['cpu']);
      expect(g.exists()).toBe(true);
      const [loop] = g.procs();
      if (loop === undefined) throw new Error('the cpu lesson left no process in its cgroup');
      expect(procfs.cmdline(loop)).toMatch(/container-lessons-busy-loop/);
      // The TUI is the node process under the pane's shell.
      const shellPid = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
      const tui = procfs.descendants(shellPid).find((p) => (procfs.cmdline(p) ?? '').includes('container-lessons.js'))!;
      process.kill(tui, 'SIGKILL');
      await waitFor(/TUI EXITED 137/);
      expect(g.exists()).toBe(true); // nothing could clean up
      expect(procfs.pidAlive(loop)).toBe(true);

      spawnSync('tmux', ['-L', session, 'kill-server']);
      tmux('new-session', '-d', '-s', session, '-x', '90', '-y', '28', cmd);
      await waitFor(/An earlier run was interrupted; removed what it left/);
      expect(g.exists()).toBe(false);
      expect(await procfs.waitReaped([loop], 3000)).toBe(true);
      keys('q');
      await waitFor(/TUI EXITED \d+/);
      const end = joinedScreen();
      expect(end).toMatch(/0 of \d+ lessons passed; everything the lessons made was removed\./);
      expect(end).toMatch(/TUI EXITED 0/);
    } finally {
      await stopSession();
      fresh.dispose();
    }
  }, 60_000);
});
