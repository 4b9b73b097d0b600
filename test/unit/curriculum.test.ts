// The curriculum's self-check over the real lessons, and proof that it catches each kind of
// mistake it claims to (a check that cannot fail is no check).
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { LESSONS, curriculum, type Lesson, type LessonModule } from '../../src/lessons/index.js';
import { lessonSource } from '../../src/render.js';
import { labFor } from '../../src/lab.js';
import { curriculumProblems, checkSection, translationProblems, type TranslationSources } from '../support/curriculum-check.js';
import { ZH } from '../../src/i18n/zh/index.js';

const lab = labFor({ CONTAINER_LESSONS_HOME: '/tmp/cl-curriculum-lab' });
const real = { textOf: lessonSource, cases: fs.readFileSync(path.resolve('test/vm/cases.sh'), 'utf8'), readme: fs.readFileSync(path.resolve('README.md'), 'utf8'), lab };

describe('the curriculum', () => {
  it('passes its self-check', () => {
    expect(curriculumProblems(LESSONS, real)).toEqual([]);
  });

  it('has a Chinese text of the same shape for every lesson, listing the Chinese checks', () => {
    const zh: TranslationSources = { lang: 'zh', englishOf: (l) => lessonSource(l), textOf: (l) => lessonSource(l, 'zh'), tr: (s) => ZH[s] ?? s, lab };
    expect(translationProblems(LESSONS, zh)).toEqual([]);
  });

  it('numbers lessons by their place and refuses a duplicate id', () => {
    expect(LESSONS.map((l) => l.number)).toEqual(LESSONS.map((_, i) => i + 1));
    expect(() => curriculum([LESSONS[0]!, LESSONS[0]!])).toThrow(/two lessons have the id/);
  });
});

describe('the self-check finds', () => {
  const text = ['# A small lesson', '', 'Look at {{thing}} and {{lab}}.', '', '## What the check looks at', '', '- the thing is there: reads {{thing}}.', '', '## After'].join('\n');
  const base: LessonModule = {
    id: 'small',
    title: 'A small lesson',
    text: 'small.md',
    labPaths: { thing: 'thing' },
    newState: () => ({}),
    steps: [{ title: 'make the thing', commands: () => ['touch thing'], run: async () => 'made' }],
    checks: ['the thing is there'],
    check: async () => [],
    hints: () => ['a thing is a file', 'touch(1) makes one', 'touch thing'],
    reset: async () => [],
    picture: () => ({ draw: async () => ({ title: 'the thing', lines: [], legend: [] }) }),
  };
  const cases = 'check small by-hand 0\ncheck small wrong 1\n';
  const readme = '| 1 | `small` | a thing | the thing |\n';
  const problems = (m: Partial<LessonModule>, over: Partial<typeof real> = {}) => curriculumProblems(curriculum([{ ...base, ...m }]), { ...real, textOf: () => text, cases, readme, ...over });

  it('nothing in a sound lesson', () => {
    expect(problems({})).toEqual([]);
  });
  it('a placeholder the text uses that the lesson does not provide, and the reverse', () => {
    expect(problems({ labPaths: { other: 'other' } })).toEqual(['lesson 1 (small): its text uses {{thing}}, which the lesson does not provide', 'lesson 1 (small): it provides {{other}}, which its text never uses']);
  });
  it('a check in code that the text does not list', () => {
    expect(problems({ checks: ['the thing is there', 'the other thing'] })).toEqual(['lesson 1 (small): the check "the other thing" is not listed in its text\'s "What the check looks at"']);
  });
  it('a step with no command, an empty hint, no hint', () => {
    expect(problems({ steps: [{ title: 'do it', commands: () => [''], run: async () => '' }] })).toEqual(['lesson 1 (small): step 1 (do it) shows no command']);
    expect(problems({ hints: () => ['a thing is a file', '  ', 'touch thing', 'ls thing'] })).toEqual(['lesson 1 (small): hint 2 is empty']);
    expect(problems({ hints: () => [] })).toEqual(['lesson 1 (small): has no hint']);
  });
  it('a lesson with fewer than three hint tiers (an empty one does not count)', () => {
    const tiers = 'not 3: the idea, then the file or syscall involved, then the exact commands';
    expect(problems({ hints: () => ['touch thing'] })).toEqual([`lesson 1 (small): has 1 hint tier, ${tiers}`]);
    expect(problems({ hints: () => ['a thing is a file', ' ', 'touch thing'] })).toEqual(['lesson 1 (small): hint 2 is empty', `lesson 1 (small): has 2 hint tiers, ${tiers}`]);
  });
  it('a lesson with no picture', () => {
    expect(problems({ picture: undefined })).toEqual(["lesson 1 (small): has no picture (the Work pane's end: src/pictures/)"]);
  });
  it('a lesson with no by-hand or no wrong-state case in test:vm, and a case of no lesson', () => {
    expect(problems({}, { cases: 'check small wrong 1\ncheck gone x 0\n' })).toEqual(['lesson 1 (small): has no by-hand case in test/vm/cases.sh (`check <id> <name> 0`)', 'test/vm/cases.sh checks "gone", which is no lesson']);
  });
  it('a missing text, a missing section, a README out of step', () => {
    expect(problems({}, { textOf: () => null })).toEqual(['lesson 1 (small): its text lessons/small.md is missing']);
    expect(problems({}, { textOf: () => text.replace('## What the check looks at', '## What is checked') })).toEqual(['lesson 1 (small): its text has no "## What the check looks at" section']);
    expect(problems({}, { readme: '| 1 | `other` | x | y |\n' })).toEqual(["README's lesson table lists 1 other; the curriculum is 1 small"]);
  });
  it('a duplicate lab path or machine-wide name, and a bad id', () => {
    const two = (a: Partial<LessonModule>, b: Partial<LessonModule>): Lesson[] =>
      curriculum([
        { ...base, ...a },
        { ...base, id: 'small-two', text: 'two.md', ...b },
      ]);
    const found = curriculumProblems(two({ machineNames: [{ key: 'k', what: 'k' }] }, { machineNames: [{ key: 'k', what: 'k' }] }), {
      ...real,
      textOf: () => text,
      cases: `${cases}check small-two a 0\ncheck small-two b 1\n`,
      readme: `${readme}| 2 | \`small-two\` | x | y |\n`,
    });
    expect(found).toEqual(['lesson 2 (small-two): its lab path thing ("thing") is also small\'s', "lesson 2 (small-two): its machine-wide name k is also small's"]);
    expect(problems({ id: 'Small_1' }, { cases: 'check Small_1 a 0\n', readme: '' }).some((p) => p.includes('is not lowercase words'))).toBe(true);
  });
  it('the section ends at the next heading', () => {
    expect(checkSection(text)).toContain('the thing is there');
    expect(checkSection(text)).not.toContain('After');
  });
});

describe('the translation check finds', () => {
  const english = ['# A lesson', '', 'Run {{thing}}:', '', '```sh', 'touch {{thing}}', '```', '', '## What the check looks at', '', '- the thing is there: reads it.', ''].join('\n');
  const chinese = ['# 一课', '', '运行 {{thing}}：', '', '```sh', 'touch {{thing}}', '```', '', '## 检查看的是什么', '', '- 东西在那里：读它。', ''].join('\n');
  const lesson = curriculum([
    {
      id: 'small',
      title: 'A lesson',
      text: 'small.md',
      labPaths: { thing: 'thing' },
      newState: () => ({}),
      steps: [],
      checks: ['the thing is there'],
      check: async () => [],
      hints: () => [],
      reset: async () => [],
    },
  ]);
  const problems = (text: string | null, tr: Record<string, string> = { 'the thing is there': '东西在那里' }) => translationProblems(lesson, { lang: 'zh', englishOf: () => english, textOf: () => text, tr: (s) => tr[s] ?? s, lab });

  it('nothing in a faithful translation', () => {
    expect(problems(chinese)).toEqual([]);
  });
  it('a missing text, a heading lost, a placeholder changed', () => {
    expect(problems(null)).toEqual(['lesson 1 (small): lessons/zh/small.md is missing']);
    expect(problems(chinese.replace('# 一课', '一课'))).toEqual(['lesson 1 (small): lessons/zh/small.md has headings at levels 2; the English text at 1 2']);
    expect(problems(chinese.replace('运行 {{thing}}', '运行 {{lab}}'))).toEqual(['lesson 1 (small): lessons/zh/small.md uses the placeholders lab thing; the English text thing']);
  });
  it('a translated command', () => {
    expect(problems(chinese.replace('touch {{thing}}\n', 'touch {{thing}}  # 创建\n'))).toEqual(["lesson 1 (small): lessons/zh/small.md: code block 1 is not the English text's (commands are never translated)"]);
  });
  it('no check section, or a check it does not list in Chinese', () => {
    expect(problems(chinese.replace('## 检查看的是什么', '## 检查'))).toEqual(['lesson 1 (small): lessons/zh/small.md has no "## 检查看的是什么" section']);
    expect(problems(chinese, { 'the thing is there': '那个东西存在' })).toEqual(['lesson 1 (small): the check "the thing is there" (那个东西存在) is not listed in lessons/zh/small.md\'s "检查看的是什么"']);
  });
});
