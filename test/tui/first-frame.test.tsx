// The first frame (src/ui/frame.ts): drawn as text before ink is loaded, it must show what
// ink's App shows once ink is up, line for line, so that the one replaces the other without
// a visible change: the header, the lesson's first screenful and the footer.
import { describe, it, expect, afterEach } from 'vitest';
import { render, cleanup } from 'ink-testing-library';
import { stripVTControlCharacters } from 'node:util';
import { WorkbookStore } from '../../src/ui/store.js';
import { App } from '../../src/ui/App.js';
import { firstFrameText, screenLayout } from '../../src/ui/frame.js';
import { lessonLines } from '../../src/ui/text.js';
import { curriculum, type Lesson, type LessonModule } from '../../src/lessons/index.js';
import { markPassed } from '../../src/lab.js';
import { tempLab } from '../support/lab.js';
import { until } from '../support/tui.js';

// ink-testing-library's terminal: 100 columns, and no rows (App then takes 24).
const COLUMNS = 100;
const ROWS = 24;

function fakeLesson(n: number): LessonModule {
  return {
    id: `fake-${n}`,
    title: `Fake lesson ${n}`,
    text: n === 1 ? '01-overlay.md' : 'missing.md',
    newState: () => ({}),
    checks: ['the thing is there'],
    steps: [{ title: `first step of ${n}`, commands: () => [`echo one-${n}`], run: async () => 'done' }],
    check: async () => [],
    hints: () => ['the idea'],
    reset: async () => [],
    shell: async (ctx) => ({ kind: 'host', cwd: ctx.lab.root, title: 'a test shell' }),
  };
}

const disposers: Array<() => void> = [];
afterEach(() => {
  cleanup();
  for (const d of disposers.splice(0)) d();
});

/** The screen's lines as a reader sees them: no escape codes, no trailing blanks. */
const seen = (frame: string) =>
  stripVTControlCharacters(frame)
    .split('\n')
    .map((l) => l.trimEnd());

/** The first frame and ink's frame once it shows the lesson's text, for a store of three lessons. */
async function bothFrames(passed: string[] = []) {
  const lab = tempLab('cl-first-frame-');
  disposers.push(() => lab.dispose());
  for (const id of passed) markPassed(lab, id);
  const lessons: Lesson[] = curriculum([1, 2, 3].map(fakeLesson));
  const store = new WorkbookStore({ lessons, lab, writeTerminal: () => undefined });
  const text = await lessonLines(store.lesson, lab, screenLayout(COLUMNS, ROWS).width, false);
  const painted = firstFrameText({ store, color: false, columns: COLUMNS, rows: ROWS, text });
  const ui = render(<App store={store} color={false} />);
  await until(() => !(ui.lastFrame() ?? '').includes('(rendering the lesson text...)'), 'the lesson text');
  return { painted, ink: ui.lastFrame() ?? '', text };
}

describe('the first frame', () => {
  it('shows what ink shows at the start: header, the first screenful of the text, message and keys', async () => {
    const { painted, ink, text } = await bothFrames();
    expect(painted).not.toBeNull();
    // The cursor hidden and put home, then the frame.
    expect(painted!.startsWith('\x1b[?25l\x1b[H')).toBe(true);
    expect(seen(painted!)).toEqual(seen(ink));
    const lines = seen(painted!);
    expect(lines[0]).toMatch(/container-lessons · 1\/3 Fake lesson 1/);
    expect(lines[1]).toMatch(/○ 1 fake-1 +🔒 2 +🔒 3/);
    expect(lines).toContain(stripVTControlCharacters(text[0]!).trimEnd());
    expect(lines.at(-2)).toMatch(/Read the lesson .* 1-\d+\/\d+$/);
    expect(lines.at(-1)).toMatch(/Enter next .* q quit/);
  });

  it('on a later lesson (the first passed): its marks, and a text shorter than the screen', async () => {
    const { painted, ink } = await bothFrames(['fake-1']);
    expect(seen(painted!)).toEqual(seen(ink));
    expect(seen(painted!)[1]).toMatch(/✔ 1 +○ 2 fake-2 +🔒 3/);
  });

  it('is not drawn on a terminal too small for the workbook', async () => {
    const lab = tempLab('cl-first-frame-');
    disposers.push(() => lab.dispose());
    const store = new WorkbookStore({ lessons: curriculum([fakeLesson(1)]), lab, writeTerminal: () => undefined });
    expect(firstFrameText({ store, color: false, columns: 50, rows: 24, text: ['x'] })).toBeNull();
    expect(firstFrameText({ store, color: false, columns: 80, rows: 10, text: ['x'] })).toBeNull();
  });
});
