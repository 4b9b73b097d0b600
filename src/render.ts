// Lesson texts: markdown in lessons/, with {{placeholders}} for the learner's own paths,
// rendered for the terminal by marked-terminal (plain text when color is off).
import fs from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { Marked, type Tokens } from 'marked';
import { markedTerminal } from 'marked-terminal';
import type { Lab } from './lab.js';
import { PACKAGE_DIR } from './package-dir.js';
import type { Lesson, LessonModule } from './lessons/types.js';
import { wrapCommands } from './ui/command-wrap.js';
import { hasCjk, reflow, visible } from './ui/reflow.js';
import type { Language } from './i18n/language.js';
import { language, t, tr } from './i18n/messages.js';

export const LESSONS_DIR = path.join(PACKAGE_DIR, 'lessons');

/** A lesson text's placeholders: the lab and its rootfs, the lesson's number in the
 * curriculum (its place, which a text need not hard-code), the lesson's lab paths, and what
 * the lesson itself provides. */
export function placeholders(lesson: LessonModule | Lesson, lab: Lab): Record<string, string> {
  const paths = Object.fromEntries(Object.entries(lesson.labPaths ?? {}).map(([name, rel]) => [name, path.join(lab.root, rel)]));
  const number: Record<string, string> = 'number' in lesson ? { number: String(lesson.number) } : {};
  return { lab: lab.root, rootfs: lab.rootfs, ...number, ...paths, ...lesson.placeholders?.(lab) };
}

/** The placeholders a text uses: {{name}}. */
export function placeholdersUsed(text: string): string[] {
  return [...new Set([...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!))];
}

/** Where a lesson's text is in a language: lessons/ for English, lessons/<lang>/ otherwise. */
export function lessonFile(lesson: Pick<LessonModule, 'text'>, lang: Language = 'en'): string {
  return lang === 'en' ? path.join(LESSONS_DIR, lesson.text) : path.join(LESSONS_DIR, lang, lesson.text);
}

/** A lesson's text as written (placeholders unfilled), or null when it is missing. */
export function lessonSource(lesson: LessonModule, lang: Language = 'en'): string | null {
  try {
    return fs.readFileSync(lessonFile(lesson, lang), 'utf8');
  } catch {
    return null;
  }
}

export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (m, k) => values[k] ?? m);
}

/** The lesson's markdown with the learner's paths filled in and its steps appended. */
export function lessonMarkdown(lesson: Lesson, lab: Lab): string {
  // A text not translated yet is shown in English (the messages around it are translated).
  const text = lessonSource(lesson, language()) ?? lessonSource(lesson) ?? t`# ${lesson.number}. ${tr(lesson.title)}\n\n(The lesson text ${lessonFile(lesson, language())} is missing from this installation.)\n`;
  const steps = lesson.steps.map((s, i) => `### ${t`Step ${i + 1}: ${tr(s.title)}`}\n\n\`\`\`sh\n${s.commands(lab).join('\n')}\n\`\`\``).join('\n\n');
  return `${fill(text, placeholders(lesson, lab)).trimEnd()}\n\n## ${t`The steps, as commands you could type`}\n\n${steps}\n`;
}

/** Languages whose code blocks are shell commands (a block without one holds commands too). */
const SHELL = new Set(['', 'sh', 'bash', 'shell', 'console', 'zsh']);

/** A table as aligned columns under an underlined header; when it is wider than `width`,
 * the widest columns are narrowed and their cells wrapped. */
function table(header: string[], rows: string[][], width: number, dim: (s: string) => string): string {
  const cols = header.length;
  const gap = 2;
  const natural = Array.from({ length: cols }, (_, c) => Math.max(1, visible(header[c] ?? ''), ...rows.map((r) => visible(r[c] ?? ''))));
  const widths = [...natural];
  const room = width - gap * (cols - 1);
  while (widths.reduce((a, b) => a + b, 0) > room) {
    const widest = widths.indexOf(Math.max(...widths));
    if (widths[widest]! <= 6) break; // narrower than this, nothing reads; let it be cut
    widths[widest]!--;
  }
  const line = (cells: string[]) => {
    const wrapped = widths.map((w, c) => reflow(cells[c] ?? '', w));
    const height = Math.max(...wrapped.map((l) => l.length));
    return Array.from({ length: height }, (_, i) =>
      wrapped
        .map((l, c) => {
          const t = l[i] ?? '';
          return c === cols - 1 ? t : t + ' '.repeat(widths[c]! - visible(t) + gap);
        })
        .join('')
        .trimEnd(),
    );
  };
  const rule = dim(widths.map((w) => '─'.repeat(w)).join(' '.repeat(gap)));
  return [...line(header), rule, ...rows.flatMap(line)].join('\n');
}

/** Terminal text for a lesson. Without color: the markdown itself (`show` into a pipe), or,
 * with `layout`, the same laid-out text as in color with the styling removed (the TUI). */
export function renderMarkdown(md: string, opts: { color: boolean; width?: number; layout?: boolean }): string {
  if (!opts.color && !opts.layout) return md;
  if (!opts.color) return stripVTControlCharacters(renderMarkdown(md, { ...opts, color: true }));
  const width = opts.width ?? 80;
  const dim = (s: string) => `\x1b[2m${s}\x1b[22m`;
  const m = new Marked();
  // No emoji: marked-terminal would turn a `:name:` inside a path list into a picture.
  // Headings without their `#` marks: the reader sees a title, not markdown.
  m.use(markedTerminal({ width, reflowText: true, tab: 2, emoji: false, showSectionPrefix: false }) as never);
  m.use({
    renderer: {
      // Commands are shown whole, behind a gutter, in the terminal's own colours (legible on
      // light and dark themes; syntax highlighting would also cost most of a second). A long
      // one is wrapped as a shell reads it (command-wrap.ts), never cut. One blank line
      // before and after a block, as around a paragraph.
      code({ text, lang }: { text: string; lang?: string }) {
        const gutter = `  ${dim('│')} `;
        const room = width - 4;
        const lines = SHELL.has((lang ?? '').trim().split(/\s/)[0]!) ? wrapCommands(text.split('\n'), room).flatMap((c) => c.lines) : text.split('\n').flatMap((l) => (l.length <= room ? [l] : reflow(l, room, '', '    ')));
        return `${lines.map((l) => gutter + l).join('\n')}\n\n`;
      },
      // The text of a tight list item, with its `code` and **bold** rendered (marked-terminal
      // would show the marks).
      text(token: Tokens.Text | Tokens.Escape) {
        if (!('tokens' in token) || !token.tokens) return false;
        return this.parser.parseInline(token.tokens);
      },
      // A heading of Chinese, broken between characters, styled as marked-terminal styles
      // headings (green bold; the first level magenta, underlined, bold).
      heading(token: Tokens.Heading) {
        const text = this.parser.parseInline(token.tokens);
        if (!hasCjk(text)) return false;
        const style = token.depth === 1 ? (l: string) => `\x1b[35m\x1b[4m\x1b[1m${l}\x1b[22m\x1b[24m\x1b[39m` : (l: string) => `\x1b[32m\x1b[1m${l}\x1b[22m\x1b[39m`;
        return `${reflow(text, width).map(style).join('\n')}\n\n`;
      },
      // A paragraph of Chinese, broken between characters (marked-terminal breaks only at
      // spaces and counts a wide character as one column).
      paragraph(token: Tokens.Paragraph) {
        const body = this.parser.parseInline(token.tokens);
        if (!hasCjk(body)) return false;
        return `${reflow(body, width).join('\n')}\n\n`;
      },
      // A list, each item wrapped to the width behind its bullet or number.
      list(token: Tokens.List) {
        const parser = this.parser;
        const start = typeof token.start === 'number' ? token.start : 1;
        const marks = token.items.map((_, i) => (token.ordered ? `${start + i}. ` : '• '));
        const markWidth = Math.max(...marks.map((x) => x.length));
        const out = token.items.flatMap((item, i) => {
          const body = parser.parse(item.tokens).trim();
          const text = item.task ? `[${item.checked ? 'x' : ' '}] ${body}` : body;
          const first = `  ${marks[i]!.padStart(markWidth)}`;
          const rest = ' '.repeat(first.length);
          // A block inside the item (a nested list, code) keeps its own lines, indented.
          const [para = '', ...blocks] = text.split(/\n\n+/);
          return [...reflow(para, width, first, rest), ...blocks.flatMap((b) => b.split('\n').map((l) => rest + l))];
        });
        return `${out.join('\n')}\n\n`;
      },
      table(token: Tokens.Table) {
        const parser = this.parser;
        const cell = (c: Tokens.TableCell) => parser.parseInline(c.tokens);
        return `${table(
          token.header.map(cell),
          token.rows.map((r) => r.map(cell)),
          width,
          dim,
        )}\n\n`;
      },
    },
  });
  return String(m.parse(md));
}
