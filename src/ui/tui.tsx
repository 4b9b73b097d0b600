// Running the workbook in a terminal: the ink app on the alternate screen, handing the
// terminal to a learner's shell and taking it back, and cleaning up on every way out.
//
// ink 6 cannot suspend itself, so a shell is run between two renders: the app is
// unmounted (ink restores the terminal), stdin is paused so that only the shell reads
// the keyboard, the shell runs on the normal screen, and a fresh app is rendered from
// the same store, which holds all the state.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { LESSONS } from '../lessons/index.js';
import type { ShellSpec } from '../lessons/types.js';
import { lockLab, recoverLab, labJournal, type Lab } from '../lab.js';
import { enterContainer, libc, Ledger, openContainerPty, ptmxProblem, type ContainerPty, type Running } from '../core/index.js';
import { doctor } from '../doctor.js';
import { onCleanup, holdInterrupts } from '../runner.js';
import { WorkbookStore, runOf } from './store.js';
import { relayTerminal } from './pty-relay.js';
import { historyEntries, currentStep, writeHistory, hostHistoryPlace, containerHistoryPlace } from './shell-history.js';
import { lessonLines, preloadRenderer } from './text.js';
import { firstFrameText, screenLayout, terminalSize, takeOverFirstFrame, endTakeOver } from './frame.js';
import { label, msg, t } from '../i18n/messages.js';

const ALT_ON = '\x1b[?1049h\x1b[2J\x1b[H';
// The cursor shown again too: the first frame hides it before ink does (ink shows it again
// when it unmounts, but a failure before ink drew would leave it hidden).
const ALT_OFF = '\x1b[?1049l\x1b[?25h';

interface Out {
  color: boolean;
  write: (s: string) => void;
}

export function noTerminalText(lab: Lab): string {
  return t`container-lessons: the workbook needs a terminal (stdin or stdout is not a TTY).
Without one, use the commands:
  container-lessons list             the lessons and your progress
  container-lessons show <lesson>    read a lesson
  container-lessons solve <lesson>   run its steps for real, then its checks
  container-lessons check <lesson>   check what you did by hand
Lab: ${lab.root}
`;
}

function releaseStdin(): void {
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  process.stdin.pause();
}

/** What a shell trip needs besides its spec: the lesson's number (its prompt), the lab (its
 * journal records the history file), and the commands for its history, oldest first. */
export interface ShellTrip {
  lessonNumber: number;
  lab: Lab;
  history?: string[];
}

/** The line on top of the shell's screen; `note` says what is not as usual. */
function banner(title: string, note?: string): string {
  return `\x1b[2J\x1b[H── ${t`container-lessons: ${title}. Type exit (or Ctrl-D) to go back to the workbook.`}${note ? ` ${note}` : ''} ──\n\n`;
}

/**
 * The learner's shell for a lesson, on the host or inside the lesson's container, with
 * the lesson's commands in its history (shell-history.ts). Inside a container it gets a
 * terminal of the container's own, as `docker exec -it` does (core/pty.ts, pty-relay.ts);
 * a container without a devpts of its own gets the workbook's terminal, as before.
 */
export async function runShell(spec: ShellSpec, trip: ShellTrip): Promise<number | null> {
  // Only the history file is recorded here: removed when the shell ends, or by the next
  // start's recovery if the workbook is killed meanwhile.
  const ledger = new Ledger(labJournal(trip.lab));
  try {
    return spec.kind === 'host' ? await hostShell(spec, trip, ledger) : await containerShell(spec, trip, ledger);
  } finally {
    await ledger.cleanup();
  }
}

async function hostShell(spec: Extract<ShellSpec, { kind: 'host' }>, trip: ShellTrip, ledger: Ledger): Promise<number | null> {
  const bash = fs.existsSync('/bin/bash');
  const shell = bash ? '/bin/bash' : '/bin/sh';
  const args = bash ? ['--norc', '-i'] : ['-i'];
  let history: Record<string, string> = {};
  if (bash) {
    // bash would read and rewrite the learner's own ~/.bash_history: HISTFILE is the
    // workbook's file, or empty (nothing read, nothing saved) when there is none.
    const written = trip.history?.length ? writeHistory(hostHistoryPlace(), trip.history, ledger) : null;
    history = written ?? { HISTFILE: '' };
  }
  process.stdout.write(banner(spec.title));
  const child = spawn(shell, args, { cwd: spec.cwd, stdio: 'inherit', env: { ...process.env, PS1: `(lesson ${trip.lessonNumber}) \\w # `, ...history } });
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(127));
  });
}

async function containerShell(spec: Extract<ShellSpec, { kind: 'container' }>, trip: ShellTrip, ledger: Ledger): Promise<number | null> {
  const hasBash = fs.existsSync(path.join('/proc', String(spec.pid), 'root', 'bin', 'bash'));
  const argv = hasBash ? ['/bin/bash', '--norc', '-i'] : ['/bin/sh', '-i'];
  const env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', `TERM=${process.env.TERM ?? 'xterm'}`, 'PS1=[container] \\w # '];
  const place = hasBash && trip.history?.length ? containerHistoryPlace(spec.pid, trip.lab) : null;
  const history = place ? writeHistory(place, trip.history!, ledger) : null;
  for (const [k, v] of Object.entries(history ?? {})) env.push(`${k}=${v}`);

  let pty: ContainerPty | null = null;
  let noPty = ptmxProblem(spec.pid);
  if (!noPty) {
    try {
      pty = openContainerPty(spec.pid, { rows: process.stdout.rows, columns: process.stdout.columns });
    } catch (err) {
      noPty = t`no pty could be opened there: ${(err as Error).message}`;
    }
  }
  if (!pty) {
    process.stdout.write(banner(spec.title, t`(No terminal of its own: ${noPty}. This shell shares the workbook's, where job control and Ctrl-C may not work as usual.)`));
    const running = await enterContainer(spec.pid, spec.namespaces, argv, { stdio: 'inherit', env, confine: spec.confine });
    return (await running.exited).code;
  }
  process.stdout.write(banner(spec.title));
  let running: Running;
  try {
    running = await enterContainer(spec.pid, spec.namespaces, argv, { stdio: { terminal: pty.slave }, env, confine: spec.confine });
  } catch (err) {
    fs.closeSync(pty.master);
    throw err;
  } finally {
    // The helper has its own copies; the master reads EIO once the last one is closed.
    fs.closeSync(pty.slave);
  }
  try {
    await relayTerminal(pty.master, running.exited);
  } catch (err) {
    await running.kill(); // no terminal to type into: the shell would wait forever
    throw err;
  }
  return (await running.exited).code;
}

/**
 * The workbook's last line: how far the learner got, and whether everything the lessons
 * made is gone. What could not be removed is named, with the command that removes it
 * (`reset` replays what this run's journal still holds and what each lesson finds), and
 * the exit code is 1.
 */
export function closingReport(store: WorkbookStore, errors: string[]): { text: string; code: number } {
  const { passed } = store.getSnapshot();
  const head = t`container-lessons: ${store.lessons.filter((l) => passed[l.id]).length} of ${store.lessons.length} lessons passed`;
  if (!errors.length) return { text: `${t`${head}; everything the lessons made was removed. Lab: ${store.lab.root}`}\n`, code: 0 };
  const n = errors.length;
  const home = process.env.CONTAINER_LESSONS_HOME ? `CONTAINER_LESSONS_HOME=${store.lab.root} ` : '';
  const lines = [
    n === 1 ? t`${head}; one thing the lessons made could not be removed:` : t`${head}; ${n} things the lessons made could not be removed:`,
    ...errors.map((e) => `  ${label(t`cleanup:`)}${e}`),
    t`To remove what is left, run as root: ${home}container-lessons reset. Lab: ${store.lab.root}`,
  ];
  return { text: `${lines.join('\n')}\n`, code: 1 };
}

/** ink and the screens drawn with it: loaded once the first frame is on the screen. */
async function loadInk() {
  const [{ render }, { App }, { Prereqs }] = await Promise.all([import('ink'), import('./App.js'), import('./Screens.js')]);
  return { render, App, Prereqs };
}

/** The first frame (frame.ts): the header, the current lesson's text and the footer,
 * written to the terminal before ink is loaded. False when it was not drawn (a terminal
 * too small). */
async function paintFirstFrame(store: WorkbookStore, color: boolean): Promise<boolean> {
  const { columns, rows } = terminalSize(process.stdout);
  const { width } = screenLayout(columns, rows);
  const text = await lessonLines(store.lesson, store.lab, width, color);
  const frame = firstFrameText({ store, color, columns, rows, text });
  if (frame === null) return false;
  process.stdout.write(frame);
  return true;
}

export async function runTui(opts: { lab: Lab; unlockAll?: boolean; out: Out; note?: string }): Promise<number> {
  const { lab, out } = opts;
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    out.write(noTerminalText(lab));
    return 0;
  }
  const color = out.color;
  // The lesson text first: the markdown renderer loads while the lab is taken and recovered.
  preloadRenderer();
  // One workbook per lab; what a killed run left is removed before anything starts.
  const release = await lockLab(lab, msg('the workbook (TUI)'));
  process.once('exit', release);
  const recovered = await recoverLab(lab);
  const store = new WorkbookStore({ lessons: LESSONS, lab, unlockAll: opts.unlockAll });
  if (opts.note) store.note(opts.note);
  if (recovered.removed.length) store.note(recovered.removed.length === 1 ? t`An earlier run was interrupted; removed what it left (1 thing).` : t`An earlier run was interrupted; removed what it left (${recovered.removed.length} things).`);
  let onAlt = false;
  const alt = (on: boolean) => {
    if (on !== onAlt) process.stdout.write(on ? ALT_ON : ALT_OFF);
    onAlt = on;
  };
  const unregister = onCleanup(async () => {
    const errors = await store.cleanupAll();
    alt(false);
    return errors;
  });
  alt(true);
  let code = 0;
  try {
    // The machine first: not root (or no overlay, no cgroups...) gets a screen with fixes.
    let report = doctor(lab, undefined, { quick: true });
    // Then, when nothing blocks, the first frame, drawn without ink (frame.ts), and only
    // then ink: ink, React and yoga take longer to load and to draw their first frame than
    // the lesson's text takes to render.
    let painted = report.ok && (await paintFirstFrame(store, color));
    const { render, App, Prereqs } = await loadInk();
    /** ink's render, over the first frame when one was painted (see takeOverFirstFrame). */
    const draw: typeof render = (node, options) => {
      if (!painted) return render(node, options);
      const write = (s: string) => process.stdout.write(s);
      takeOverFirstFrame(write);
      painted = false;
      try {
        return render(node, options);
      } finally {
        endTakeOver(write);
      }
    };
    if (!report.ok) report = doctor(lab);
    const notRoot = report.findings.some((f) => f.name === 'root' && f.level !== 'ok');
    if (!report.ok) {
      const go = await new Promise<boolean>((resolve) => {
        const inst = draw(<Prereqs report={report} blocking={notRoot} color={color} onContinue={() => (inst.unmount(), resolve(true))} onQuit={() => (inst.unmount(), resolve(false))} />, { exitOnCtrlC: false, patchConsole: false });
      });
      releaseStdin();
      if (!go) code = notRoot ? 3 : 1;
    }
    while (code === 0) {
      const inst = draw(<App store={store} color={color} />, { exitOnCtrlC: false, patchConsole: false });
      const req = await store.waitForExit();
      inst.unmount();
      await inst.waitUntilExit().catch(() => undefined);
      releaseStdin();
      if (req.type === 'quit') break;
      alt(false);
      let shellExit: number | null = null;
      try {
        const steps = runOf(store.getSnapshot(), req.lesson).steps;
        const history = historyEntries(req.lesson.steps, store.lab, currentStep(steps));
        shellExit = await holdInterrupts(runShell(req.spec, { lessonNumber: req.lesson.number, lab: store.lab, history }));
      } catch (err) {
        process.stdout.write(`${t`container-lessons: the shell could not start: ${(err as Error).message}`}\n`);
        await new Promise((r) => setTimeout(r, 1500));
      }
      try {
        libc.reclaimTerminal(0);
      } catch {
        /* not a terminal any more (closed): the next render fails and we clean up */
      }
      alt(true);
      store.afterShell(shellExit);
    }
  } finally {
    let errors: string[];
    try {
      errors = await store.cleanupAll();
    } catch (err) {
      errors = [t`the cleanup stopped: ${(err as Error).message}`];
    }
    unregister();
    release();
    alt(false);
    const end = closingReport(store, errors);
    out.write(end.text);
    if (code === 0) code = end.code;
  }
  return code;
}
