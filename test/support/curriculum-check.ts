// The curriculum's self-check, as rustlings has for its exercises: everything a lesson
// declares is checked against its text, the by-hand cases of test:vm and the README, so a
// lesson cannot ship with a placeholder nobody fills, a check its text does not explain,
// a step with nothing to type, an empty hint, fewer hint tiers than h and `hint --level` give,
// no picture, or no by-hand case. Pure: the caller reads the
// files (test/unit/curriculum.test.ts for the real curriculum, the extra-lesson test for a
// copy of the project with one more lesson).
import type { Lab } from '../../src/lab.js';
import type { Lesson } from '../../src/lessons/types.js';
import { marked, type Token } from 'marked';
import { fill, placeholders, placeholdersUsed } from '../../src/render.js';

export interface CurriculumSources {
  /** A lesson's text as written, or null when its file is missing. */
  textOf: (lesson: Lesson) => string | null;
  /** test/vm/cases.sh */
  cases: string;
  /** README.md */
  readme: string;
  lab: Lab;
}

/** Placeholders every text may use without a lesson providing them. */
const GLOBAL_PLACEHOLDERS = ['lab', 'rootfs', 'number'];
const ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** Hint tiers a lesson gives: the idea, the file or syscall involved, the exact commands. */
export const HINT_TIERS = 3;

/** The heading of the section that says what the check looks at, in each language. */
export const CHECK_HEADING = { en: 'What the check looks at', zh: '检查看的是什么' } as const;

/** The section of a text that says what the check looks at: from its heading to the next. */
export function checkSection(text: string, heading: string = CHECK_HEADING.en): string | null {
  const m = new RegExp(`^## ${heading}\\s*$([\\s\\S]*?)(?=^## |(?![\\s\\S]))`, 'm').exec(text);
  return m ? m[1]!.replace(/\s+/g, ' ') : null;
}

/** What a translation must keep of a text: its headings' levels in order, its code blocks
 * (commands are never translated) and its placeholders. */
export function textShape(md: string): { headings: number[]; code: string[]; placeholders: string[] } {
  const headings: number[] = [];
  const code: string[] = [];
  marked.walkTokens(marked.lexer(md), (t: Token) => {
    if (t.type === 'heading') headings.push(t.depth);
    if (t.type === 'code') code.push(t.text);
  });
  return { headings, code, placeholders: placeholdersUsed(md).sort() };
}

export interface TranslationSources {
  lang: 'zh';
  /** A lesson's English text, and its text in `lang` (null: missing). */
  englishOf: (lesson: Lesson) => string | null;
  textOf: (lesson: Lesson) => string | null;
  /** The language's word for a title the lesson declares. */
  tr: (english: string) => string;
  lab: Lab;
}

/** Every way a lesson's translated text differs in shape from the English, one line each. */
export function translationProblems(lessons: readonly Lesson[], src: TranslationSources): string[] {
  const problems: string[] = [];
  const where = (l: Lesson) => `lessons/${src.lang}/${l.text}`;
  for (const l of lessons) {
    const say = (what: string) => problems.push(`lesson ${l.number} (${l.id}): ${what}`);
    const text = src.textOf(l);
    const english = src.englishOf(l);
    if (text === null) {
      say(`${where(l)} is missing`);
      continue;
    }
    if (english === null) continue; // the English self-check says so
    const got = textShape(text);
    const want = textShape(english);
    if (got.headings.join() !== want.headings.join()) say(`${where(l)} has headings at levels ${got.headings.join(' ')}; the English text at ${want.headings.join(' ')}`);
    if (got.placeholders.join() !== want.placeholders.join()) say(`${where(l)} uses the placeholders ${got.placeholders.join(' ') || 'none'}; the English text ${want.placeholders.join(' ') || 'none'}`);
    const n = Math.max(got.code.length, want.code.length);
    for (let i = 0; i < n; i++) {
      if (got.code[i] !== want.code[i]) {
        say(`${where(l)}: code block ${i + 1} is not the English text's (commands are never translated)`);
        break;
      }
    }
    const section = checkSection(fill(text, placeholders(l, src.lab)), CHECK_HEADING[src.lang]);
    if (section === null) say(`${where(l)} has no "## ${CHECK_HEADING[src.lang]}" section`);
    else for (const c of l.checks) if (!section.includes(src.tr(c))) say(`the check "${c}" (${src.tr(c)}) is not listed in ${where(l)}'s "${CHECK_HEADING[src.lang]}"`);
  }
  return problems;
}

/** `check ID NAME EXPECTED ['TITLE']` lines of cases.sh: lesson id -> the exit codes its cases expect. */
export function vmCases(cases: string): Map<string, Set<string>> {
  const by = new Map<string, Set<string>>();
  for (const m of cases.matchAll(/^\s*check ([a-z0-9-]+) \S+ ([01])(?: '[^']*'| "[^"]*")?\s*$/gm)) by.set(m[1]!, (by.get(m[1]!) ?? new Set()).add(m[2]!));
  return by;
}

/** The lessons README's table lists, in order: `| N | \`id\` | ...`. */
export function readmeLessons(readme: string): Array<{ number: number; id: string }> {
  return [...readme.matchAll(/^\| (\d+) \| `([a-z0-9-]+)` \|/gm)].map((m) => ({ number: Number(m[1]), id: m[2]! }));
}

/** Every problem found, one line each, naming the lesson; empty when the curriculum is sound. */
export function curriculumProblems(lessons: readonly Lesson[], src: CurriculumSources): string[] {
  const problems: string[] = [];
  const say = (l: Lesson, what: string) => problems.push(`lesson ${l.number} (${l.id}): ${what}`);
  const seen = { id: new Map<string, number>(), path: new Map<string, string>(), name: new Map<string, string>(), text: new Map<string, string>() };
  const cases = vmCases(src.cases);

  for (const l of lessons) {
    if (!ID.test(l.id)) say(l, `the id "${l.id}" is not lowercase words joined by "-"`);
    if (seen.id.has(l.id)) say(l, `the id "${l.id}" is also lesson ${seen.id.get(l.id)}'s`);
    seen.id.set(l.id, l.number);
    if (!l.title.trim()) say(l, 'no title');
    if (seen.text.has(l.text)) say(l, `its text ${l.text} is also ${seen.text.get(l.text)}'s`);
    seen.text.set(l.text, l.id);
    for (const [name, rel] of Object.entries(l.labPaths ?? {})) {
      const other = seen.path.get(rel);
      if (other) say(l, `its lab path ${rel} ("${name}") is also ${other}'s`);
      seen.path.set(rel, l.id);
    }
    for (const n of l.machineNames ?? []) {
      const other = seen.name.get(n.key);
      if (other) say(l, `its machine-wide name ${n.key} is also ${other}'s`);
      seen.name.set(n.key, l.id);
    }

    // The text, and the placeholders it uses against those the lesson provides.
    const text = src.textOf(l);
    if (text === null) {
      say(l, `its text lessons/${l.text} is missing`);
    } else {
      const values = placeholders(l, src.lab);
      const used = placeholdersUsed(text);
      for (const p of used) if (!(p in values)) say(l, `its text uses {{${p}}}, which the lesson does not provide`);
      for (const p of Object.keys(values)) if (!GLOBAL_PLACEHOLDERS.includes(p) && !used.includes(p)) say(l, `it provides {{${p}}}, which its text never uses`);
      const section = checkSection(fill(text, values));
      if (section === null) say(l, 'its text has no "## What the check looks at" section');
      else for (const c of l.checks) if (!section.toLowerCase().includes(c.toLowerCase())) say(l, `the check "${c}" is not listed in its text's "What the check looks at"`);
    }

    if (!l.checks.length) say(l, 'declares no checks');
    if (new Set(l.checks).size !== l.checks.length) say(l, 'declares a check title twice');
    if (!l.steps.length) say(l, 'has no steps');
    for (const [i, s] of l.steps.entries()) {
      if (!s.title.trim()) say(l, `step ${i + 1} has no title`);
      const commands = s.commands(src.lab);
      if (!commands.some((c) => c.trim())) say(l, `step ${i + 1} (${s.title}) shows no command`);
    }
    const hints = l.hints(src.lab);
    if (!hints.length) say(l, 'has no hint');
    for (const [i, h] of hints.entries()) if (!h.trim()) say(l, `hint ${i + 1} is empty`);
    const tiers = hints.filter((h) => h.trim()).length;
    if (tiers && tiers < HINT_TIERS) say(l, `has ${tiers} hint tier${tiers === 1 ? '' : 's'}, not ${HINT_TIERS}: the idea, then the file or syscall involved, then the exact commands`);

    if (!l.picture) say(l, "has no picture (the Work pane's end: src/pictures/)");

    const kinds = cases.get(l.id);
    if (!kinds?.has('0')) say(l, 'has no by-hand case in test/vm/cases.sh (`check <id> <name> 0`)');
    if (!kinds?.has('1')) say(l, 'has no wrong-state case in test/vm/cases.sh (`check <id> <name> 1`)');
  }
  for (const id of cases.keys()) if (!seen.id.has(id)) problems.push(`test/vm/cases.sh checks "${id}", which is no lesson`);

  const table = readmeLessons(src.readme);
  const want = lessons.map((l) => `${l.number} ${l.id}`).join(', ');
  const got = table.map((r) => `${r.number} ${r.id}`).join(', ');
  if (want !== got) problems.push(`README's lesson table lists ${got || 'nothing'}; the curriculum is ${want}`);
  return problems;
}
