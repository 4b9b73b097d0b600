// Every message the workbook shows in English has its Chinese, and every Chinese message is
// still used: the messages marked in the code (t`...`, msg('...')) and the titles the
// lessons declare (lesson, step, check), against src/i18n/zh/.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LESSONS } from '../../src/lessons/index.js';
import { PARTS, ZH } from '../../src/i18n/zh/index.js';
import { markedMessages, slots } from '../support/catalog.js';

const SRC = path.resolve(import.meta.dirname, '../../src');

function englishMessages(): Map<string, string> {
  const where = new Map<string, string>();
  for (const m of markedMessages(SRC)) if (!where.has(m.key)) where.set(m.key, m.file);
  for (const l of LESSONS) {
    for (const s of [l.title, ...l.steps.map((x) => x.title), ...l.checks]) if (!where.has(s)) where.set(s, `the lesson module of ${l.id}`);
  }
  return where;
}

describe('the Chinese message table', () => {
  const english = englishMessages();
  it('translates every message the code shows', () => {
    const missing = [...english].filter(([k]) => !(k in ZH)).map(([k, file]) => `${file}: ${JSON.stringify(k)}`);
    expect(missing, `no Chinese for ${missing.length} messages`).toEqual([]);
  });
  it('holds no message the code no longer shows', () => {
    const unused = Object.keys(ZH).filter((k) => !english.has(k));
    expect(unused).toEqual([]);
  });
  it('puts every value of a message in its translation, and no other', () => {
    const wrong = Object.entries(ZH).filter(([k, v]) => slots(k).join() !== slots(v).join());
    expect(wrong).toEqual([]);
  });
  it('translates each message in one part of the table', () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const [part, table] of Object.entries(PARTS)) {
      for (const k of Object.keys(table)) {
        if (seen.has(k)) twice.push(`${JSON.stringify(k)} in ${seen.get(k)} and ${part}`);
        seen.set(k, part);
      }
    }
    expect(twice).toEqual([]);
  });
  it('translates into Chinese, leaving commands and paths as written', () => {
    const untranslated = Object.entries(ZH).filter(([k, v]) => v.trim() === '' || (v === k && /[a-z]{3,} [a-z]{3,} [a-z]{3,}/.test(k)));
    expect(untranslated).toEqual([]);
  });
});

describe('the Chinese words', () => {
  // One word for one thing (src/i18n/glossary.ts), in the texts and the messages alike.
  const OTHER_WORDS: Array<[RegExp, string]> = [
    [/(?<!宿)主机(?!名)/u, '宿主机 (the host)'],
    [/名字空间|名称空间/u, '命名空间 (namespace)'],
    [/控制群组/u, '控制组 (cgroup)'],
  ];
  it('uses the glossary word where it has one', async () => {
    const fs = await import('node:fs');
    const { LESSONS_DIR } = await import('../../src/render.js');
    const zhDir = path.join(LESSONS_DIR, 'zh');
    const texts = fs.existsSync(zhDir) ? fs.readdirSync(zhDir).map((f) => [`lessons/zh/${f}`, fs.readFileSync(path.join(zhDir, f), 'utf8')] as const) : [];
    const found: string[] = [];
    for (const [where, text] of [...texts, ...Object.entries(ZH).map(([k, v]) => [`the message ${JSON.stringify(k.slice(0, 40))}`, v] as const)]) {
      for (const [re, want] of OTHER_WORDS) if (re.test(text)) found.push(`${where}: ${re.exec(text)![0]}, not ${want}`);
    }
    expect(found).toEqual([]);
  });
});
