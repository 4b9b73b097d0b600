// Coming back from the s shell checks at once what the learner did there: the results on
// the work pane, the verdict in the message, and how the shell ended when it was not a
// plain exit. Fake lessons (their checks return what a test sets): no kernel here.
import { describe, it, expect, afterEach } from 'vitest';
import { render, cleanup } from 'ink-testing-library';
import { WorkbookStore } from '../../src/ui/store.js';
import { App } from '../../src/ui/App.js';
import { curriculum, type Lesson, type LessonModule } from '../../src/lessons/index.js';
import type { CheckResult } from '../../src/checks/result.js';
import { readProgress } from '../../src/lab.js';
import { tempLab } from '../support/lab.js';
import { until, PASS, FAIL } from '../support/tui.js';

function fakeLesson(n: number, results: { checks: CheckResult[]; calls: number }): LessonModule {
  return {
    id: `fake-${n}`,
    title: `Fake lesson ${n}`,
    text: 'missing.md',
    newState: () => ({}),
    checks: ['the thing is there'],
    steps: [{ title: `the step of ${n}`, commands: () => [`echo one-${n}`], run: async () => `output (${n})` }],
    check: async () => (results.calls++, results.checks),
    hints: () => [`the hint for lesson ${n}`],
    reset: async () => [],
    shell: async (ctx) => ({ kind: 'host', cwd: ctx.lab.root, title: 'a test shell' }),
  };
}

const disposers: Array<() => void> = [];
afterEach(() => {
  cleanup();
  for (const d of disposers.splice(0)) d();
});

function setup() {
  const lab = tempLab('cl-tui-shell-');
  disposers.push(() => lab.dispose());
  const results = { checks: FAIL, calls: 0 };
  const lessons: Lesson[] = curriculum([1, 2].map((n) => fakeLesson(n, results)));
  const store = new WorkbookStore({ lessons, lab });
  const ui = render(<App store={store} color={false} />);
  const frame = () => ui.lastFrame() ?? '';
  return { lab, results, store, ui, frame };
}

/** s, then the runner's part: it takes the terminal, the shell ends with `code`, it gives it back. */
async function shellRoundTrip(s: ReturnType<typeof setup>, code: number | null): Promise<void> {
  s.ui.stdin.write('s');
  expect(await s.store.waitForExit()).toMatchObject({ type: 'shell' });
  await s.store.afterShell(code);
}

describe('back from the s shell', () => {
  it('the checks run by themselves: a pass is shown, recorded and unlocks the next lesson', async () => {
    const s = setup();
    s.results.checks = PASS;
    await shellRoundTrip(s, 0);
    expect(s.results.calls).toBe(1);
    await until(() => s.frame().includes('Checks: passed'), 'the checks on screen');
    expect(s.frame()).toMatch(/✔ pass  the thing is there: saw it in \/proc\/x/);
    expect(s.frame()).toMatch(/Back from the shell\. Lesson 1 passed! Lesson 2 is unlocked/);
    expect(s.frame()).not.toMatch(/Press c to check/);
    expect(Object.keys(readProgress(s.lab).passed)).toEqual(['fake-1']);
    expect(s.store.getSnapshot()).toMatchObject({ busy: null, exit: null, pane: 'work' });
  });

  it('a failing check: its reason and hint, and the shell exit code is still named', async () => {
    const s = setup();
    await shellRoundTrip(s, 3);
    await until(() => s.frame().includes('Checks: not passed yet'), 'the failure on screen');
    expect(s.frame()).toMatch(/✘ fail  the thing is there: nothing at \/proc\/x/);
    expect(s.frame()).toMatch(/hint: make the thing/);
    expect(s.store.getSnapshot().message).toMatchObject({ tone: 'bad' });
    expect(s.store.getSnapshot().message?.text).toMatch(/^Back from the shell \(exit 3\)\. 1 check failed: read the hints/);
    expect(readProgress(s.lab).passed).toEqual({});
  });

  it('every return checks again: fixed in a second shell, it passes', async () => {
    const s = setup();
    await shellRoundTrip(s, 0);
    expect(s.store.getSnapshot().message?.text).toMatch(/^Back from the shell\. 1 check failed/);
    s.results.checks = PASS;
    await shellRoundTrip(s, 0);
    expect(s.results.calls).toBe(2);
    await until(() => s.frame().includes('Lesson 1 passed!'), 'the pass');
    // The keys still work after a return: q quits.
    s.ui.stdin.write('q');
    expect(await s.store.waitForExit()).toEqual({ type: 'quit' });
  });
});
