// Showing real output: commands a learner would type, run for real, printed with a prompt.
// While a step runs, what they print also goes to the open work sink a line at a time
// (src/progress.ts), so that the TUI and `solve` show it as it comes; the text returned
// when a command ends is what the step's report keeps.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Running } from '../core/index.js';
import { collect, enterContainer, type Namespace } from '../core/index.js';
import { t } from '../i18n/messages.js';
import { LineSplitter, wantsLines, workLine } from '../progress.js';

/** Send what streams print to the work sink, a line at a time (after `before`, what they
 * printed before we listened); returns the flush for their end. */
function streamLines(streams: Array<Readable | null | undefined>, before = ''): () => void {
  if (!wantsLines()) return () => {};
  const lines = new LineSplitter(workLine);
  lines.push(before);
  for (const s of streams) s?.on('data', (d: Buffer | string) => lines.push(String(d)));
  return () => lines.end();
}

/** Run a display command on the host (ls, cat) and return "$ cmd" plus what it printed. */
export function hostShell(cmd: string, cwd?: string): Promise<string> {
  return new Promise((resolve) => {
    workLine(`$ ${cmd}`);
    // stdin is /dev/null: a display command reads nothing (as with execFile's unused pipe).
    const child = spawn('/bin/sh', ['-c', `${cmd} 2>&1`], { cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.setEncoding('utf8');
    const out: string[] = [];
    child.stdout.on('data', (d: string) => out.push(d));
    const flush = streamLines([child.stdout]);
    let ended = false;
    const done = (code: number | null) => {
      if (ended) return;
      ended = true;
      flush();
      const exit = code ? t` (exit ${code})` : '';
      if (exit) workLine(exit.trim());
      resolve(`$ ${cmd}\n${out.join('').trimEnd()}${exit}`.trimEnd());
    };
    child.on('error', () => done(127));
    child.on('close', (code) => done(code));
  });
}

/** Run a command inside a running container (through the core's setns helper) and show it. */
export async function inContainer(c: Running, namespaces: Namespace[], cmd: string, opts: { confine?: 'copy' } = {}): Promise<string> {
  workLine(`[container]# ${cmd}`);
  const running = await enterContainer(c.pid, namespaces, ['/bin/sh', '-c', `${cmd} 2>&1`], opts);
  running.stdout?.setEncoding('utf8');
  running.stderr?.setEncoding('utf8');
  const flush = streamLines([running.stdout, running.stderr], running.output + running.errorOutput);
  const r = await collect(running);
  flush();
  const code = r.code ? t` (exit ${r.code})` : '';
  if (code) workLine(code.trim());
  return `[container]# ${cmd}\n${(r.stdout + r.stderr).trimEnd()}${code}`.trimEnd();
}

export function lines(...parts: string[]): string {
  return parts.filter(Boolean).join('\n');
}
