// Lesson texts: markdown in lessons/, with {{placeholders}} for the learner's own paths,
// rendered for the terminal by marked-terminal (plain text when color is off).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { Marked } from 'marked';
import { markedTerminal } from 'marked-terminal';
import type { Lab } from './lab.js';
import type { Lesson, LessonModule } from './lessons/types.js';

export const LESSONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'lessons');

/** A lesson text's placeholders: the lab and its rootfs, the lesson's lab paths, and what
 * the lesson itself provides. */
export function placeholders(lesson: LessonModule, lab: Lab): Record<string, string> {
  const paths = Object.fromEntries(Object.entries(lesson.labPaths ?? {}).map(([name, rel]) => [name, path.join(lab.root, rel)]));
  return { lab: lab.root, rootfs: lab.rootfs, ...paths, ...lesson.placeholders?.(lab) };
}

/** The placeholders a text uses: {{name}}. */
export function placeholdersUsed(text: string): string[] {
  return [...new Set([...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!))];
}

/** A lesson's text as written (placeholders unfilled), or null when it is missing. */
export function lessonSource(lesson: LessonModule): string | null {
  try {
    return fs.readFileSync(path.join(LESSONS_DIR, lesson.text), 'utf8');
  } catch {
    return null;
  }
}

export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (m, k) => values[k] ?? m);
}

/** The lesson's markdown with the learner's paths filled in and its steps appended. */
export function lessonMarkdown(lesson: Lesson, lab: Lab): string {
  const text = lessonSource(lesson) ?? `# ${lesson.number}. ${lesson.title}\n\n(The lesson text ${path.join(LESSONS_DIR, lesson.text)} is missing from this installation.)\n`;
  const steps = lesson.steps.map((s, i) => `### Step ${i + 1}: ${s.title}\n\n\`\`\`sh\n${s.commands(lab).join('\n')}\n\`\`\``).join('\n\n');
  return `${fill(text, placeholders(lesson, lab)).trimEnd()}\n\n## The steps, as commands you could type\n\n${steps}\n`;
}

/** Terminal text for a lesson. Without color: the markdown itself (`show` into a pipe), or,
 * with `layout`, the same laid-out text as in color with the styling removed (the TUI). */
export function renderMarkdown(md: string, opts: { color: boolean; width?: number; layout?: boolean }): string {
  if (!opts.color && !opts.layout) return md;
  if (!opts.color) return stripVTControlCharacters(renderMarkdown(md, { ...opts, color: true }));
  const m = new Marked();
  // No emoji: marked-terminal would turn a `:name:` inside a path list into a picture.
  m.use(markedTerminal({ width: opts.width ?? 80, reflowText: true, tab: 2, emoji: false }) as never);
  // Commands are shown as they are, behind a gutter, in the terminal's own colours (legible
  // on light and dark themes); syntax highlighting would also cost most of a second.
  m.use({
    renderer: {
      code({ text }: { text: string }) {
        return (
          '\n' +
          text
            .split('\n')
            .map((l) => `  \x1b[2m│\x1b[22m ${l}`)
            .join('\n') +
          '\n\n'
        );
      },
    },
  });
  return String(m.parse(md));
}
