// The real TUI in a real terminal, for the bench: a tmux server of the bench's own (-L), so
// the learner's tmux is never touched, keys in with send-keys, the screen back with
// capture-pane (as test/e2e/tui.test.ts drives it).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const hasTmux = () => spawnSync('tmux', ['-V']).status === 0;

export class TmuxSession {
  /** @param {string} name the server's and the session's name */
  constructor(name) {
    this.name = name;
  }

  /** @param {string[]} args */
  tmux(...args) {
    return execFileSync('tmux', ['-L', this.name, ...args], { encoding: 'utf8' });
  }

  /** Start `cmd` (a shell command line) in a terminal of this size. @param {string} cmd */
  start(cmd, cols = 100, rows = 30) {
    this.tmux('new-session', '-d', '-s', this.name, '-x', String(cols), '-y', String(rows), cmd);
  }

  screen() {
    return this.tmux('capture-pane', '-t', this.name, '-p');
  }

  /** @param {string[]} k */
  keys(...k) {
    this.tmux('send-keys', '-t', this.name, ...k);
  }

  /** The pid of the pane's first process (the shell that runs the command line). */
  panePid() {
    return Number(this.tmux('display-message', '-p', '-t', this.name, '#{pane_pid}').trim());
  }

  /** The screen once one of `res` is on it: which one (its index) and the screen.
   * @param {RegExp[]} res */
  async waitFor(res, ms = 60_000) {
    const end = Date.now() + ms;
    let last = '';
    while (Date.now() < end) {
      last = this.screen();
      const i = res.findIndex((re) => re.test(last));
      if (i >= 0) return { i, screen: last };
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`the TUI never showed ${res.join(' or ')}; it shows:\n${last}`);
  }

  /** End the server, and remove its socket (kill-server leaves the file behind). */
  kill() {
    spawnSync('tmux', ['-L', this.name, 'kill-server']);
    fs.rmSync(path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, this.name), { force: true });
  }
}
