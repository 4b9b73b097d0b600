// The CLI in the learner's language: the locale chooses, --lang overrides and is kept with
// the progress, traditional Chinese gets the simplified text with a word about it, and
// what is printed as JSON is the same whatever the language.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import stringWidth from 'string-width';
import { LESSONS } from '../../src/lessons/index.js';
import { readProgress } from '../../src/lab.js';
import { GLOSSARY } from '../../src/i18n/glossary.js';
import { ZH } from '../../src/i18n/zh/index.js';
import { lessonSource } from '../../src/render.js';
import { tempLab } from '../support/lab.js';

const lab = tempLab('cl-lang-');
afterAll(() => lab.dispose());
const BIN = path.resolve('bin/container-lessons.js');
const zh = (english: string) => ZH[english] ?? english;

function cli(args: string[], env: Record<string, string> = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(LANG|LC_ALL|LC_MESSAGES|LANGUAGE)$/.test(k)));
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...base, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1', COLUMNS: '80', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const ZH_CN = { LANG: 'zh_CN.UTF-8' };
const first = LESSONS[0]!;

describe('the CLI in Chinese', () => {
  it('shows a lesson in Chinese under a zh_CN locale: its text, its steps, its commands as written', () => {
    const r = cli(['show', '1'], ZH_CN);
    expect(r.code).toBe(0);
    const heading = lessonSource(first, 'zh')!.split('\n')[0]!.replace(/^# /, '');
    expect(r.out).toContain(heading);
    expect(r.out).toContain(`第 1 步：${zh(first.steps[0]!.title)}`);
    expect(r.out).toContain(zh('The steps, as commands you could type'));
    for (const c of first.steps[1]!.commands(lab)) expect(r.out).toContain(c.replace('{{lab}}', lab.root));
    expect(r.out).not.toMatch(/\{\{\w+\}\}/);
  });

  it('says hints and usage errors in Chinese, the commands in them as written', () => {
    const h = cli(['hint', '1', '--level', '3'], ZH_CN);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^第 1 课 提示 3\/3：/);
    expect(h.out).toContain('mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged');
    const bad = cli(['hint', '1', '--level', '9'], ZH_CN);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--level 可以是 1, 2, 3 或 all，不能是“9”');
  });

  it('--lang beats the locale and is kept with the progress; a bad --lang says what to give', () => {
    expect(cli(['list'], { ...ZH_CN, LC_ALL: 'C' }).out).toContain(first.title);
    expect(cli(['list', '--lang', 'zh'], { LANG: 'C' }).out).toContain(zh(first.title));
    expect(readProgress(lab).language).toBe('zh');
    expect(cli(['list'], { LANG: 'C.UTF-8' }).out).toContain(zh(first.title));
    expect(cli(['list', '--lang', 'en'], ZH_CN).out).toContain(first.title);
    expect(readProgress(lab).language).toBe('en');
    expect(cli(['list'], ZH_CN).out).toContain(first.title);
    const bad = cli(['list', '--lang', 'fr']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--lang is zh or en, not "fr"/);
    expect(readProgress(lab).language).toBe('en');
    // Back to the locale's choice for the tests after this one.
    cli(['list', '--lang', 'zh'], ZH_CN);
  });

  it('gives a zh_TW locale the simplified text and says so once, on stderr', () => {
    const r = cli(['list', '--lang', 'zh'], { LANG: 'zh_TW.UTF-8' });
    expect(r.out).toContain(zh(first.title));
    expect(r.err).toBe('');
    const fresh = tempLab('cl-lang-tw-');
    try {
      const tw = spawnSync(process.execPath, [BIN, 'list'], { env: { ...process.env, CONTAINER_LESSONS_HOME: fresh.root, NO_COLOR: '1', LANG: 'zh_TW.UTF-8', LC_ALL: '' }, encoding: 'utf8' });
      expect(tw.stdout).toContain(zh(first.title));
      expect(tw.stderr).toContain('没有繁体中文版');
    } finally {
      fresh.dispose();
    }
  });

  it('stays English under a Chinese locale that is not UTF-8, and says why', () => {
    const fresh = tempLab('cl-lang-gb-');
    try {
      const gb = spawnSync(process.execPath, [BIN, 'list'], { env: { ...process.env, CONTAINER_LESSONS_HOME: fresh.root, NO_COLOR: '1', LANG: 'zh_CN.GB18030', LC_ALL: '' }, encoding: 'utf8' });
      expect(gb.stdout).toContain(first.title);
      expect(gb.stderr).toMatch(/character set is not UTF-8: shown in English/);
    } finally {
      fresh.dispose();
    }
  });

  it('prints the same JSON in either language (check and list)', () => {
    for (const args of [
      ['check', '1', '--json'],
      ['list', '--json'],
    ]) {
      const en = cli(args, { LANG: 'C' });
      const cn = cli(args, ZH_CN);
      expect(cn.code).toBe(en.code);
      expect(cn.out).toBe(en.out);
      expect(() => JSON.parse(cn.out)).not.toThrow();
    }
  });

  it('help and the glossary fit 80 columns; the glossary lists every term in both languages', () => {
    const help = cli(['help'], ZH_CN);
    expect(help.out).toContain('用法：');
    // Only the run synopsis and the list of ids are longer, as in English.
    const long = help.out.split('\n').filter((l) => stringWidth(l) > 80 && !l.startsWith('  run ') && !l.startsWith('overlay, '));
    expect(long).toEqual([]);
    const g = cli(['glossary'], ZH_CN);
    expect(g.code).toBe(0);
    const rows = g.out.trimEnd().split('\n');
    expect(rows).toHaveLength(GLOSSARY.length + 1);
    for (const term of GLOSSARY) expect(rows.some((r) => r.startsWith(term.en) && r.includes(term.zh))).toBe(true);
    // The Chinese column starts at one column on every row (wide characters count two).
    const at = new Set(GLOSSARY.map((term) => stringWidth(rows.find((r) => r.startsWith(`${term.en} `))!.split(term.zh)[0]!)));
    expect(at.size).toBe(1);
  });
});
