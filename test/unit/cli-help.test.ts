// The help as data (src/cli-help.ts): every command the CLI answers has an entry, and
// every line of the list and of each command's own help fits 80 columns in either language.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, commandHelp, usage, verbUsage } from '../../src/cli-help.js';
import { visible } from '../../src/columns.js';
import { setLanguage } from '../../src/i18n/messages.js';

afterAll(() => setLanguage('en'));

describe('the help', () => {
  it("has an entry for every command the CLI's switch answers", () => {
    const source = fs.readFileSync(path.resolve(import.meta.dirname, '../../src/cli.ts'), 'utf8');
    const verbs = [...source.matchAll(/^ {4}case '([a-z-]+)':/gm)].map((m) => m[1]!);
    expect(verbs.length).toBeGreaterThan(10);
    expect(verbs.filter((v) => !commandHelp(v))).toEqual([]);
  });

  it.each(['en', 'zh'] as const)('fits 80 columns in %s, the list and each command', async (lang) => {
    await setLanguage(lang);
    const texts: Array<[string, string]> = [['help', usage()], ...COMMANDS.map((c): [string, string] => [`${c.verb} --help`, verbUsage(c)])];
    const wide = texts.flatMap(([what, text]) =>
      text
        .split('\n')
        .filter((l) => visible(l) > 80)
        .map((l) => `${what}: ${l}`),
    );
    expect(wide).toEqual([]);
  });

  it("shows a command's forms, options and example, and sudo where it needs root", async () => {
    await setLanguage('en');
    const solve = verbUsage(commandHelp('solve')!);
    expect(solve).toMatch(/^usage:\n {2}sudo container-lessons solve <lesson\|all> \[--json\] \[--keep\]\n/);
    expect(solve).toMatch(/^ {2}--keep +leave what the lesson made/m);
    expect(solve).toMatch(/It needs root: it makes mounts, cgroups and namespaces\./);
    expect(solve).toMatch(/example:\n {2}sudo container-lessons solve 1 --keep\n$/);
    const list = verbUsage(commandHelp('list')!);
    expect(list).toMatch(/^ {2}container-lessons list \[--json\]$/m);
    expect(list).not.toMatch(/needs root/);
    // Every form of every command is in the list.
    const all = usage();
    for (const c of COMMANDS) for (const f of c.forms) expect(all).toContain(`  ${f.usage}`);
  });
});
