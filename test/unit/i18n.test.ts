// The language choice, message formatting and the width-aware wrapping that Chinese needs.
import { afterEach, describe, expect, it } from 'vitest';
import stringWidth from 'string-width';
import { chooseLanguage, languageOfLocale } from '../../src/i18n/language.js';
import { format, templateKey, t, tr, setLanguage, language } from '../../src/i18n/messages.js';
import { ZH } from '../../src/i18n/zh/index.js';
import { breakable, reflow, visible } from '../../src/ui/reflow.js';
import { fitColumns, headColumns, padColumns } from '../../src/columns.js';
import { box, cell, clip } from '../../src/pictures/picture.js';
import { UNICODE_GLYPHS } from '../../src/pictures/glyphs.js';

describe('choosing the language', () => {
  it('reads the locale as setlocale does for messages: LC_ALL, LC_MESSAGES, LANG', () => {
    expect(chooseLanguage({ env: { LANG: 'zh_CN.UTF-8' } })).toEqual({ lang: 'zh', from: 'locale' });
    expect(chooseLanguage({ env: { LANG: 'zh_CN.UTF-8', LC_ALL: 'C' } }).lang).toBe('en');
    expect(chooseLanguage({ env: { LANG: 'en_US.UTF-8', LC_MESSAGES: 'zh_SG.UTF-8' } }).lang).toBe('zh');
    expect(chooseLanguage({ env: { LC_ALL: '', LANG: 'zh_CN.utf8' } }).lang).toBe('zh');
    expect(chooseLanguage({ env: {} }).lang).toBe('en');
    expect(chooseLanguage({ env: { LANG: 'C.UTF-8' } }).lang).toBe('en');
    expect(languageOfLocale('zh').lang).toBe('zh');
    expect(languageOfLocale('zu_ZA.UTF-8').lang).toBe('en');
  });
  it('shows English, and says why, where the locale is Chinese but not UTF-8 (unless chosen)', () => {
    expect(chooseLanguage({ env: { LANG: 'zh_CN.GB18030' } })).toEqual({ lang: 'en', from: 'locale', notUtf8: true });
    expect(chooseLanguage({ env: { LANG: 'zh_CN' } })).toEqual({ lang: 'en', from: 'locale', notUtf8: true });
    expect(chooseLanguage({ env: { LC_MESSAGES: 'zh_CN.UTF-8', LC_CTYPE: 'C' } }).lang).toBe('en');
    expect(chooseLanguage({ env: { LC_MESSAGES: 'zh_CN.UTF-8', LC_CTYPE: 'C.UTF-8' } }).lang).toBe('zh');
    expect(chooseLanguage({ flag: 'zh', env: { LANG: 'zh_CN.GB18030' } })).toEqual({ lang: 'zh', from: 'flag' });
  });
  it('shows traditional Chinese locales the simplified text, and says so', () => {
    expect(chooseLanguage({ env: { LANG: 'zh_TW.UTF-8' } })).toEqual({ lang: 'zh', from: 'locale', fallback: true });
    expect(chooseLanguage({ env: { LANG: 'zh_HK.UTF-8' } }).fallback).toBe(true);
    expect(chooseLanguage({ env: { LANG: 'zh_SG.UTF-8' } }).fallback).toBeUndefined();
  });
  it('puts --lang before the saved choice, and the saved choice before the locale', () => {
    expect(chooseLanguage({ flag: 'en', saved: 'zh', env: { LANG: 'zh_CN.UTF-8' } })).toEqual({ lang: 'en', from: 'flag' });
    expect(chooseLanguage({ saved: 'en', env: { LANG: 'zh_CN.UTF-8' } })).toEqual({ lang: 'en', from: 'saved' });
  });
});

describe('messages', () => {
  afterEach(() => setLanguage('en'));
  it('keys a template by its text with each value numbered', () => {
    const key = (s: TemplateStringsArray, ..._v: unknown[]) => templateKey(s);
    expect(key`${'a'} is a ${'b'} mount`).toBe('{0} is a {1} mount');
    expect(key`plain`).toBe('plain');
    expect(format('{1} before {0}', ['x', 'y'])).toBe('y before x');
  });
  it('speaks English without a table, and Chinese from its table', async () => {
    const p = '/tmp/lab';
    expect(t`${p} already exists`).toBe('/tmp/lab already exists');
    await setLanguage('zh');
    expect(language()).toBe('zh');
    const [key, zh] = Object.entries(ZH).find(([k]) => k.startsWith('{0} ') && !k.includes('{1}'))!;
    expect(format(key, ['/tmp/lab'])).toBe(zh.replace('{0}', '/tmp/lab'));
    expect(format(key, ['/tmp/lab'])).not.toBe(key.replace('{0}', '/tmp/lab'));
    expect(tr('no such English string')).toBe('no such English string');
  });
});

describe('wrapping text by terminal columns', () => {
  it('counts a Chinese character as two columns and a colour code as none', () => {
    expect(visible('命名空间')).toBe(8);
    expect(visible('\x1b[1m命名\x1b[22m')).toBe(4);
  });
  it('measures as string-width does every line the workbook writes: the Chinese table, the texts, the glyphs', async () => {
    const fs = await import('node:fs');
    const { LESSONS_DIR } = await import('../../src/render.js');
    const { GLOSSARY } = await import('../../src/i18n/glossary.js');
    const { ASCII_GLYPHS } = await import('../../src/pictures/glyphs.js');
    const zhDir = `${LESSONS_DIR}/zh`;
    const texts = fs.readdirSync(zhDir).flatMap((f) => fs.readFileSync(`${zhDir}/${f}`, 'utf8').split('\n'));
    const glyphs = [...Object.values(UNICODE_GLYPHS), ...Object.values(ASCII_GLYPHS)].flat().filter((g): g is string => typeof g === 'string');
    const lines = [...Object.values(ZH).flatMap((v) => v.split('\n')), ...texts, ...GLOSSARY.flatMap((g) => [g.en, g.zh, g.kernel]), ...glyphs, '✔ ○ 🔒 ◐ ✘ – ← → ↑ ↓ µs', '\x1b[1m宽\x1b[22m x'];
    const differ = lines.filter((l) => visible(l) !== stringWidth(l));
    expect(differ).toEqual([]);
  });
  it('breaks Chinese between characters, never before a closing mark or after an opening one', () => {
    expect(breakable('命名空间（namespace）。')).toEqual(['命', '名', '空', '间', '（namespace）。']);
    expect(breakable('plain-word')).toEqual(['plain-word']);
  });
  it('fills each line to its width and no further', () => {
    const text = 'overlayfs 把几个目录合成一个：下层只读，上层接收所有写入（下层的文件在改动前先被复制上来），删除下层文件会在上层留下一个 whiteout。';
    for (const width of [20, 31, 40, 80]) {
      const lines = reflow(text, width, '• ', '  ');
      for (const l of lines) expect(stringWidth(l)).toBeLessThanOrEqual(width);
      // Nothing lost or added but the indent and the line breaks.
      expect(
        lines
          .map((l) => l.slice(2))
          .join('')
          .replace(/ /g, ''),
      ).toBe(text.replace(/ /g, ''));
      for (const l of lines.slice(1)) expect(l.slice(2)).not.toMatch(/^[，。）：]/);
      if (width < 80) expect(lines.slice(0, -1).every((l) => stringWidth(l) >= width - 10)).toBe(true);
    }
  });
  it('fits, pads and cuts by columns, never splitting a wide character across the edge', () => {
    expect(fitColumns('命名空间', 6)).toBe('命名… ');
    expect(fitColumns('ns', 4)).toBe('ns  ');
    expect(headColumns('命名空间', 3)).toBe('命');
    expect(headColumns('命名空间', 1)).toBe('');
    expect(padColumns('宽', 4)).toBe('宽  ');
    expect(clip('命名空间 namespace', 9, UNICODE_GLYPHS)).toBe('命名空间…');
    expect(stringWidth(cell('挂载 mount', 6, UNICODE_GLYPHS))).toBe(6);
    const drawn = box('层', ['上层 upper', 'lower'], UNICODE_GLYPHS);
    expect(new Set(drawn.map((l) => stringWidth(l))).size).toBe(1);
  });
  it('keeps English wrapped at spaces as before', () => {
    expect(reflow('the lowerdir order is swapped: the first directory', 20)).toEqual(['the lowerdir order', 'is swapped: the', 'first directory']);
    expect(reflow('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(reflow('宽宽宽', 3)).toEqual(['宽', '宽', '宽']);
  });
});

describe('a Chinese lesson text on the terminal', () => {
  it('fills paragraphs and list items to the width, joining soft line breaks without a space', async () => {
    const { renderMarkdown } = await import('../../src/render.js');
    const md = [
      'overlayfs 把几个目录合成一个：下层只读，上层接收所有写入，',
      '删除下层文件会在上层留下一个 whiteout（白化文件）。这一段很长很长很长很长很长很长很长很长很长。',
      '',
      '- 检查读取 `/proc/self/mountinfo`：merged 上必须只有一个挂载，',
      '  类型是 overlay。',
      '',
    ].join('\n');
    for (const width of [40, 80]) {
      const lines = renderMarkdown(md, { color: false, layout: true, width }).split('\n');
      for (const l of lines) expect(stringWidth(l), l).toBeLessThanOrEqual(width);
      const text = lines.join('').replace(/ /g, '');
      expect(text).toContain('写入，删');
      expect(text).toContain('merged上必须只有一个挂载，类型是overlay');
      expect(lines.join('\n')).not.toMatch(/[\u4e00-\u9fff] [\u4e00-\u9fff]/);
    }
  });
});

describe('every Chinese lesson text, laid out', () => {
  it('fits 60 and 80 columns on every line, as the TUI shows it', async () => {
    const { renderMarkdown, lessonMarkdown } = await import('../../src/render.js');
    const { LESSONS } = await import('../../src/lessons/index.js');
    const { labFor } = await import('../../src/lab.js');
    const lab = labFor({ CONTAINER_LESSONS_HOME: '/tmp/cl-i18n-layout-lab' });
    await setLanguage('zh');
    try {
      const wide: string[] = [];
      for (const l of LESSONS) {
        const md = lessonMarkdown(l, lab);
        expect(md, `lesson ${l.number} in Chinese`).toMatch(/[\u4e00-\u9fff]/);
        for (const width of [60, 80]) {
          for (const line of renderMarkdown(md, { color: false, layout: true, width }).split('\n')) if (stringWidth(line) > width) wide.push(`lesson ${l.number} at ${width}: ${line}`);
        }
      }
      expect(wide).toEqual([]);
    } finally {
      await setLanguage('en');
    }
  });
});
