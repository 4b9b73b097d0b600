// The real workbook in a real terminal: tmux runs `container-lessons`, keys go in with
// send-keys, the screen comes back with capture-pane. Every lesson of the curriculum from
// start to the last unlock with real syscalls, one trip into a container shell and back,
// a long command read whole from the screen at 80x24, then quit; the leak guard checks the
// machine afterwards.
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { tempLab } from '../support/lab.js';
import { readProgress } from '../../src/lab.js';
import { readMarker, Cgroup, procfs } from '../../src/core/index.js';
import { LESSONS, findLesson, type Lesson } from '../../src/lessons/index.js';
import { findLabProcesses } from '../../src/checks/containers.js';
import { joinShown } from '../support/shown-command.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const lab = tempLab('cl-e2e-');
const session = `cl-e2e-${process.pid}`;
const BIN = path.resolve('bin/container-lessons.js');

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
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
  spawnSync('tmux', ['kill-session', '-t', session]);
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

/**
 * A step's long command, read whole from the Work pane after the step ran: scrolled up to
 * until its `$ ` line and every continuation line are on the screen, joined back.
 */
async function readCommandInWorkPane(command: string): Promise<string[]> {
  const start = `     $ ${command.slice(0, 20)}`;
  for (let page = 0; page < 6; page++) {
    const lines = screen().split('\n');
    const at = lines.findIndex((l) => l.startsWith(start));
    let end = at + 1;
    while (at >= 0 && /^ {7}/.test(lines[end] ?? '')) end++;
    // Whole when what follows is the step's output or a blank line, not the footer.
    if (at >= 0 && /^( {3}\S|$)/.test(lines[end] ?? 'x') && end < lines.length - 2) return lines.slice(at, end);
    keys('PageUp');
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the Work pane never showed ${command} whole; it shows:\n${screen()}`);
}

describe.skipIf(!hasTmux)('the TUI in tmux', () => {
  it('goes through every lesson to the last one passed, with a shell inside a container on the way', async () => {
    const cmd = `env CONTAINER_LESSONS_HOME=${lab.root} TERM=xterm-256color ${process.execPath} ${BIN}; echo "TUI EXITED $?"; sleep 600`;
    // 80x24 for the first lesson, whose mount command is longer than a line there.
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', cmd);
    let s = await waitFor(new RegExp(`container-lessons · ${header(LESSONS[0]!).source}`));
    expect(s).toMatch(/🔒 2/);

    // The shell trip: in the PID namespace lesson, a shell inside its container is enough
    // for its checks (the container it starts is the lesson's).
    const shellLesson = findLesson('pid-namespace')!;
    for (const l of LESSONS) {
      if (l.number > 1) {
        keys('Right');
        await waitFor(header(l));
      }
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
      } else if (l.id === 'overlay') {
        // Its mount command, read whole from the Work pane after its step ran: one `$ `,
        // continuation lines marked with ` \`, joined back into the exact command.
        const mountStep = l.steps.findIndex((st) => st.commands(lab).some((c) => c.startsWith('mount -t overlay')));
        const mount = l.steps[mountStep]!.commands(lab).find((c) => c.startsWith('mount -t overlay'))!;
        expect(mount.length).toBeGreaterThan(80 - 8);
        s = await doLesson(l, async (i) => {
          if (i !== mountStep + 1) return;
          const shown = await readCommandInWorkPane(mount);
          expect(shown.length).toBeGreaterThan(1);
          expect(shown.slice(1).join('\n')).not.toContain('$');
          expect(joinShown(shown.map((line) => line.slice(7)))).toBe(mount);
          keys('End');
        });
        tmux('resize-window', '-t', session, '-x', '90', '-y', '28');
      } else {
        s = await doLesson(l);
      }
      if (l.id === 'cgroup-cpu') expect(s).toMatch(/measured (1[89]|2[0-2])\.\d %/);
      expect(s).toMatch(l.number < N ? new RegExp(`Lesson ${l.number + 1} is unlocked`) : /that was the last one/);
    }

    keys('q');
    await waitFor(/TUI EXITED \d+/);
    s = joinedScreen();
    expect(s).toMatch(new RegExp(`${N} of ${N} lessons passed; everything the lessons made was removed\\. Lab: ${escapeRegExp(lab.root)}`));
    expect(s).not.toMatch(/could not be removed|cleanup:|container-lessons reset/);
    expect(s).toMatch(/TUI EXITED 0/);
    expect(Object.keys(readProgress(lab).passed).sort()).toEqual(LESSONS.map((l) => l.id).sort());
  }, 120_000);

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

      spawnSync('tmux', ['kill-session', '-t', session]);
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
