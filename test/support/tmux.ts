// A program in a real terminal: tmux runs it in a detached session, keys go in with
// send-keys, the screen comes back with capture-pane. The tmux server is one of the
// test's own (-L), so the learner's tmux is never touched.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const hasTmux = spawnSync('tmux', ['-V']).status === 0;

/** End a tmux server of the tests' own (-L name) and remove its socket, which kill-server
 * leaves behind in /tmp/tmux-<uid>. */
export function killTmuxServer(name: string): void {
  spawnSync('tmux', ['-L', name, 'kill-server']);
  fs.rmSync(path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, name), { force: true });
}

export class Tmux {
  /** Each start has a server of its own: one just killed may still hold its socket. */
  private server: string;
  private starts = 0;

  constructor(readonly session: string) {
    this.server = session;
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.server, ...args], { encoding: 'utf8' });
  }

  /** Start `command` (run by sh) in a new session of columns x rows. */
  start(command: string, columns = 80, rows = 24): void {
    // The server of the start before, if any: ended, or ended now, its socket removed.
    if (this.starts) killTmuxServer(this.server);
    this.server = `${this.session}-${++this.starts}`;
    this.tmux('new-session', '-d', '-s', this.session, '-x', String(columns), '-y', String(rows), command);
  }

  /** The visible screen, lines the terminal wrapped joined again. */
  screen(): string {
    return this.tmux('capture-pane', '-t', this.session, '-p', '-J');
  }

  /** The screen and what scrolled off it, wrapped lines joined. */
  history(): string {
    return this.tmux('capture-pane', '-t', this.session, '-p', '-J', '-S', '-');
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.session, ...keys);
  }

  /** Text typed as it is (no key names), then Enter. */
  type(text: string): void {
    this.tmux('send-keys', '-t', this.session, '-l', text);
    this.tmux('send-keys', '-t', this.session, 'Enter');
  }

  resize(columns: number, rows: number): void {
    this.tmux('resize-window', '-t', this.session, '-x', String(columns), '-y', String(rows));
  }

  /** The pane's size as tmux gives it to the program in it. */
  paneSize(): { rows: number; columns: number } {
    const [rows, columns] = this.tmux('display-message', '-p', '-t', this.session, '#{pane_height} #{pane_width}').trim().split(' ').map(Number);
    return { rows: rows!, columns: columns! };
  }

  /** The pid of the pane's first process (the shell tmux ran the command with). */
  panePid(): number {
    return Number(this.tmux('display-message', '-p', '-t', this.session, '#{pane_pid}').trim());
  }

  /** Wait until the screen (or with `all`, the scrollback too) matches; returns it. */
  async waitFor(re: RegExp, opts: { ms?: number; all?: boolean } = {}): Promise<string> {
    const end = Date.now() + (opts.ms ?? 20_000);
    let last = '';
    while (Date.now() < end) {
      last = opts.all ? this.history() : this.screen();
      if (re.test(last)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the screen never showed ${re}; it shows:\n${last}`);
  }

  /** End the session and the server with it. */
  kill(): void {
    killTmuxServer(this.server);
  }
}
