// Showing real output: commands a learner would type, run for real, printed with a prompt.
import { execFile } from 'node:child_process';
import type { Running } from '../core/index.js';
import { execInContainer, type Namespace } from '../core/index.js';
import { t } from '../i18n/messages.js';

/** Run a display command on the host (ls, cat) and return "$ cmd" plus what it printed. */
export function hostShell(cmd: string, cwd?: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', `${cmd} 2>&1`], { cwd, encoding: 'utf8' }, (err, stdout) => {
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? t` (exit ${(err as { code: number }).code})` : '';
      resolve(`$ ${cmd}\n${stdout.trimEnd()}${code}`.trimEnd());
    });
  });
}

/** Run a command inside a running container (through the core's setns helper) and show it. */
export async function inContainer(c: Running, namespaces: Namespace[], cmd: string, opts: { confine?: 'copy' } = {}): Promise<string> {
  const r = await execInContainer(c.pid, namespaces, ['/bin/sh', '-c', `${cmd} 2>&1`], opts);
  const code = r.code ? t` (exit ${r.code})` : '';
  return `[container]# ${cmd}\n${(r.stdout + r.stderr).trimEnd()}${code}`.trimEnd();
}

export function lines(...parts: string[]): string {
  return parts.filter(Boolean).join('\n');
}
