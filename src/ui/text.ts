// Turning lesson texts and lesson work into screen lines of a given width.
import type { Lab } from '../lab.js';
import type { Lesson } from '../lessons/index.js';
import type { LessonRun, StepState } from './store.js';
import { wrapCommands } from './command-wrap.js';
import { reflow, visible } from './reflow.js';
import { label, language, t, titled, tr } from '../i18n/messages.js';
import { pictureLines, type Picture, type PictureLine } from '../pictures/picture.js';
import type { Glyphs } from '../pictures/glyphs.js';

export type Line = PictureLine;

/** Hard-wrap plain text (command output has no ANSI codes) to a width in columns. */
export function wrap(text: string, width: number, indent = ''): string[] {
  const out: string[] = [];
  const w = Math.max(10, width - indent.length);
  for (const raw of text.replace(/\t/g, '    ').split('\n')) {
    if (visible(raw) <= w) {
      out.push(indent + raw);
      continue;
    }
    let line = '';
    let cols = 0;
    for (const ch of raw) {
      const n = visible(ch);
      if (cols + n > w) {
        out.push(indent + line);
        line = '';
        cols = 0;
      }
      line += ch;
      cols += n;
    }
    if (line) out.push(indent + line);
  }
  return out;
}

const cache = new Map<string, string[]>();
let renderModule: Promise<typeof import('../render.js')> | undefined;

/** Start loading the markdown renderer (its own chunk, about 100 KB) as early as the TUI
 * can: the first frame (frame.ts) waits for the first lesson's text. */
export function preloadRenderer(): void {
  renderModule ??= import('../render.js');
}

const cacheKey = (lesson: Lesson, lab: Lab, width: number, color: boolean) => `${lesson.id}|${width}|${color}|${lab.root}|${language()}`;

/** The lesson's lines if lessonLines rendered them already, else null: a screen drawn after
 * the first frame (which renders the first lesson's) shows them in its own first frame. */
export function renderedLessonLines(lesson: Lesson, lab: Lab, width: number, color: boolean): string[] | null {
  return cache.get(cacheKey(lesson, lab, width, color)) ?? null;
}

/** The lesson's text, rendered for the terminal (marked-terminal), as lines. */
export async function lessonLines(lesson: Lesson, lab: Lab, width: number, color: boolean): Promise<string[]> {
  const key = cacheKey(lesson, lab, width, color);
  const hit = cache.get(key);
  if (hit) return hit;
  preloadRenderer();
  const { lessonMarkdown, renderMarkdown } = await renderModule!;
  const text = renderMarkdown(lessonMarkdown(lesson, lab), { color, width, layout: true });
  const lines = text.replace(/\n+$/, '').split('\n');
  cache.set(key, lines);
  return lines;
}

/** A step's commands behind a prompt, wrapped (see command-wrap.ts): one `$ ` per command,
 * none on its continuation lines or on the lines inside a quote an earlier line opened. */
export function commandLines(commands: string[], width: number, prompt = '$ '): string[] {
  const pad = ' '.repeat(prompt.length);
  return wrapCommands(commands, width - prompt.length).flatMap(({ lines, continues }) => lines.map((l, i) => (i === 0 && !continues ? prompt : pad) + l));
}

const MARK = { pending: '○', running: '◐', done: '✔', error: '✘' } as const;

/** Text behind a label ("hint: ..."), the lines after the first under the text. */
function labelled(text: string, width: number, indent: string, name: string): string[] {
  const first = `${indent}${label(name)}`;
  return reflow(text, width, first, ' '.repeat(visible(first)));
}

/** Where the picture starts in the work pane's lines (p scrolls there), or -1. */
export function pictureStart(lines: Line[]): number {
  return lines.findIndex((l) => l.picture);
}

/** The work pane: every step with its commands and real output, then the checks, then the
 * lesson's picture (when it has one, drawn). */
export function workLines(lesson: Lesson, run: LessonRun, lab: Lab, width: number, picture?: { picture: Picture | null; glyphs: Glyphs }): Line[] {
  const lines: Line[] = [];
  lesson.steps.forEach((step, i) => {
    const st: StepState = run.steps[i] ?? { status: 'pending' }; // not in the run: not run yet
    const color = st.status === 'done' ? 'green' : st.status === 'error' ? 'red' : st.status === 'running' ? 'yellow' : undefined;
    for (const l of reflow(`${i + 1}. ${tr(step.title)}`, width, `${MARK[st.status]} `, '     ')) lines.push({ text: l, color, bold: st.status !== 'pending' });
    // The commands stay after the step ran, above what they printed: what ran is what a
    // learner reads again and copies.
    for (const l of commandLines(step.commands(lab), width, '     $ ')) lines.push({ text: l, dim: true });
    if (st.output) for (const l of wrap(st.output, width, '   ')) lines.push({ text: l });
    if (st.error) {
      for (const l of labelled(st.error.message, width, '   ', t`error:`)) lines.push({ text: l, color: 'red' });
      if (st.error.hint) for (const l of labelled(st.error.hint, width, '   ', t`hint:`)) lines.push({ text: l, color: 'yellow' });
    }
    lines.push({ text: '' });
  });
  if (run.checks) {
    lines.push({ text: run.passedNow ? t`Checks: passed` : t`Checks: not passed yet`, bold: true, color: run.passedNow ? 'green' : 'red' });
    for (const c of run.checks) {
      const mark = c.status === 'pass' ? `✔ ${t`pass`}` : c.status === 'fail' ? `✘ ${t`fail`}` : `– ${t`skip`}`;
      const color = c.status === 'pass' ? 'green' : c.status === 'fail' ? 'red' : 'yellow';
      for (const [j, l] of reflow(titled(tr(c.title), c.reason), width, `${mark}  `, '        ').entries()) lines.push({ text: l, color: j ? undefined : color });
      if (c.hint) for (const l of labelled(c.hint, width, '        ', t`hint:`)) lines.push({ text: l, color: 'yellow' });
      if (c.looked.length) for (const l of labelled(c.looked.join(', '), width, '        ', t`looked at:`)) lines.push({ text: l, dim: true });
    }
  } else {
    lines.push({ text: t`Checks: not run yet (c)`, dim: true });
  }
  if (picture && lesson.picture) {
    lines.push({ text: '' });
    const drawn = picture.picture ? pictureLines(picture.picture, width, picture.glyphs) : [{ text: t`(drawing the picture...)`, dim: true }];
    drawn[0] = { ...drawn[0]!, picture: true };
    lines.push(...drawn);
  }
  return lines;
}
