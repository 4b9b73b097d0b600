// The lesson's picture at the end of the Work pane: lesson 1's real picture (drawn from the
// lab's files; the first step only writes files), at 80 and 120 columns, with box-drawing
// characters and with the ASCII set of a non-UTF-8 locale, following a file a learner adds
// by hand; p jumps to it; a picture that cannot be drawn says why instead of crashing.
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { render as inkRender } from 'ink';
import { render, cleanup } from 'ink-testing-library';
import { WorkbookStore } from '../../src/ui/store.js';
import { App } from '../../src/ui/App.js';
import { curriculum, type LessonModule } from '../../src/lessons/index.js';
import overlay from '../../src/lessons/01-overlay.js';
import { resetLesson } from '../../src/runner.js';
import { ASCII_GLYPHS, UNICODE_GLYPHS } from '../../src/pictures/glyphs.js';
import { tempLab } from '../support/lab.js';
import { until, Term, Keys } from '../support/tui.js';

const disposers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  cleanup();
  for (const d of disposers.splice(0).reverse()) await d();
});

describe('the picture in the work pane', () => {
  it.each([
    [80, 24, UNICODE_GLYPHS],
    [120, 30, UNICODE_GLYPHS],
    [80, 24, ASCII_GLYPHS],
    [120, 30, ASCII_GLYPHS],
  ])("%ix%i: lesson 1's union grid, drawn from the files, follows a file added by hand", async (columns, rows, glyphs) => {
    const lab = tempLab('cl-tui-pic-');
    disposers.push(() => lab.dispose());
    const store = new WorkbookStore({ lessons: curriculum([overlay]), lab });
    disposers.push(async () => {
      await store.cleanupAll();
      await resetLesson({ ...overlay, number: 1 }, lab);
    });
    const term = new Term(columns, rows);
    const inst = inkRender(<App store={store} color={false} glyphs={glyphs} />, { stdout: term as never, stdin: new Keys() as never, debug: true, patchConsole: false });
    disposers.push(() => inst.unmount());
    const frame = () => term.frames.at(-1) ?? '';
    const picture = () => {
      const lines = frame().split('\n');
      const at = lines.findIndex((l) => l.includes('the layers (not mounted yet)'));
      // The picture runs to the footer's two lines.
      return at < 0 ? [] : lines.slice(at, -2);
    };

    await store.advance(); // step 1: the layers, as files
    await until(() => picture().some((l) => l.startsWith('1 upper')), 'the picture after step 1', 5000);
    const grid = picture();
    expect(grid.join('\n')).toMatch(/a\.txt +b\.txt +c\.txt +n\.txt +x\.txt/);
    // c.txt only in upper; x.txt in upper and lower2: the marks say which is which.
    const on = glyphs.on.replace(/[*]/g, '\\*');
    expect(grid.find((l) => l.startsWith('1 upper'))).toMatch(new RegExp(`^1 upper +\\S+ +\\S+ +${on} +\\S+ +${on}$`));
    for (const l of frame().split('\n')) expect(l.length).toBeLessThanOrEqual(columns);
    if (!glyphs.utf8) for (const l of grid) expect(l).toMatch(/^[\x20-\x7e]*$/);

    // By hand, as in a second terminal: a new file in lower1 shows within a redraw.
    fs.writeFileSync(path.join(lab.root, 'ufs', 'lower1', 'extra.txt'), 'by hand\n');
    await until(() => picture().join('\n').includes('extra.txt'), 'the file added by hand', 5000);
    expect(picture().find((l) => l.startsWith('3 lower1'))).toContain(glyphs.on);
    for (const l of frame().split('\n')) expect(l.length).toBeLessThanOrEqual(columns);
  });

  it('p shows the picture from the text pane; a picture that cannot be drawn says why', async () => {
    const lab = tempLab('cl-tui-pic-');
    disposers.push(() => lab.dispose());
    const lesson: LessonModule = {
      id: 'fake-picture',
      title: 'Fake lesson with a broken picture',
      text: 'missing.md',
      newState: () => ({}),
      checks: [],
      steps: [{ title: 'a step', commands: () => ['true'], run: async () => Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n') }],
      check: async () => [],
      hints: () => [],
      reset: async () => [],
      picture: () => ({
        draw: async () => {
          throw new Error('no such file: /proc/4242/mountinfo');
        },
      }),
    };
    const store = new WorkbookStore({ lessons: curriculum([lesson]), lab });
    const ui = render(<App store={store} color={false} glyphs={UNICODE_GLYPHS} />);
    const frame = () => ui.lastFrame() ?? '';
    ui.stdin.write('p');
    await until(() => frame().includes('could not draw it: no such file: /proc/4242/mountinfo'), 'the picture, from the text pane');
    expect(frame()).toMatch(/Work/);
  });
});
