// The "needs root" hint is a command to paste: every word of it must reach the program as
// it was given, whatever quotes and spaces it holds, and it must name the node and script
// that run now (nvm's node is not on sudo's PATH).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SELF_ARGV } from '../../src/package-dir.js';
import { shellQuote, sudoCommand } from '../../src/sudo-hint.js';

/** The words a POSIX shell makes of a command line. */
function shellWords(line: string): string[] {
  const r = spawnSync('sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}

const AWKWARD = ['plain', 'with space', "it's", `"double"`, '$HOME', '`id`', 'a\\b', '*', '', 'new\nline', "'", "''", '-x', 'a;b|c&d', '~', '中文 词'];

describe('the sudo hint', () => {
  it('quotes a word so that the shell gives it back unchanged', () => {
    for (const w of AWKWARD) expect(shellWords(shellQuote(w)), JSON.stringify(w)).toEqual([w]);
    expect(shellWords(AWKWARD.map(shellQuote).join(' '))).toEqual(AWKWARD);
  });

  it('leaves a plain path as it is and quotes the rest', () => {
    expect(shellQuote('/usr/bin/node')).toBe('/usr/bin/node');
    expect(shellQuote("/home/ann/it's here")).toBe(`'/home/ann/it'\\''s here'`);
  });

  it('names the running node and script, then the arguments, each quoted', () => {
    const self = ['/home/ann/.nvm/versions/node/v22.1.0/bin/node', '/home/ann/.npm/_npx/abc/node_modules/container-lessons/bin/container-lessons.js'];
    const line = sudoCommand(['check', 'capstone', '--runtime', "/home/ann/my dir/it's"], { self, env: {} });
    expect(line).toBe(`sudo ${self.join(' ')} check capstone --runtime '/home/ann/my dir/it'\\''s'`);
    expect(shellWords(line)).toEqual(['sudo', ...self, 'check', 'capstone', '--runtime', "/home/ann/my dir/it's"]);
    expect(sudoCommand(['list'], { env: {} })).toBe(['sudo', ...SELF_ARGV.map(shellQuote), 'list'].join(' '));
  });

  it("carries the workbook's variables through env (sudo drops them), and no others", () => {
    const line = sudoCommand(['solve', '1'], { self: ['/n', '/b'], env: { CONTAINER_LESSONS_HOME: '/tmp/my lab', HOME: '/home/ann', PATH: '/x' } });
    expect(shellWords(line)).toEqual(['sudo', 'env', 'CONTAINER_LESSONS_HOME=/tmp/my lab', '/n', '/b', 'solve', '1']);
  });
});
