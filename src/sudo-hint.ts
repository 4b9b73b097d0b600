// The command that runs this very workbook again as root, for the "needs root" hint.
//
// It names the node and the script that run now by their absolute paths, so it works
// wherever they came from: nvm (whose node is not on sudo's secure_path), npx (whose copy
// lives in ~/.npm/_npx/...; `sudo npx` would look for another copy in root's cache, or
// download one), a global install, a clone. The one-file binary is one path (SELF_ARGV).
// sudo drops the environment: the workbook's own variables (CONTAINER_LESSONS_HOME...) are
// carried through `env`, which sudo runs like any command (a VAR=value given to sudo itself
// is refused by the default sudoers).
import { SELF_ARGV } from './package-dir.js';

/** One word for a POSIX shell: as is when it holds only safe characters, else in single
 * quotes, a ' inside written as '\''. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `sudo [env VAR=value...] NODE SCRIPT ARGS...`, every word quoted for a shell. */
export function sudoCommand(args: readonly string[], opts: { self?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): string {
  const env = opts.env ?? process.env;
  const kept = Object.entries(env)
    .filter(([k, v]) => k.startsWith('CONTAINER_LESSONS_') && v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  const words = [...(kept.length ? ['env', ...kept] : []), ...(opts.self ?? SELF_ARGV), ...args];
  return ['sudo', ...words.map(shellQuote)].join(' ');
}
