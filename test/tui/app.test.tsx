// The workbook screen with ink-testing-library: keys in, frames out. The lessons here are
// fakes (their steps print text, their checks return what a test sets), so this tests the
// UI and the store, not the kernel: test/e2e drives the real TUI with real lessons.
import { describe, it, expect, afterEach } from 'vitest';
import { render, cleanup } from 'ink-testing-library';
import { render as inkRender } from 'ink';
import { WorkbookStore } from '../../src/ui/store.js';
import { App } from '../../src/ui/App.js';
import { TooSmall, Prereqs } from '../../src/ui/Screens.js';
import { closingReport } from '../../src/ui/tui.js';
import { curriculum, type Lesson, type LessonModule } from '../../src/lessons/index.js';
import type { CheckResult } from '../../src/checks/result.js';
import { readProgress } from '../../src/lab.js';
import { tempLab } from '../support/lab.js';
import stringWidth from 'string-width';
import { setLanguage } from '../../src/i18n/messages.js';
import { until, tick, PASS, FAIL, Term, Keys } from '../support/tui.js';
import { idleHelpers } from '../../src/core/helper-pool.js';

const ENTER = '\r';
const RIGHT = '\u001B[C';
const LEFT = '\u001B[D';
const TAB = '\t';

function fakeLesson(n: number, results: { checks: CheckResult[] }, log: string[]): LessonModule {
  return {
    id: `fake-${n}`,
    title: `Fake lesson ${n}`,
    text: n === 1 ? '01-overlay.md' : 'missing.md',
    newState: () => ({}),
    checks: ['the thing is there'],
    steps: [
      { title: `first step of ${n}`, commands: () => [`echo one-${n}`], run: async () => (log.push(`step1-${n}`), `output of step one (${n})`) },
      { title: `second step of ${n}`, commands: () => [`echo two-${n}`], run: async () => (log.push(`step2-${n}`), `output of step two (${n})`) },
    ],
    check: async () => results.checks,
    hints: () => [`the idea of lesson ${n}`, `the file of lesson ${n}`, `the commands of lesson ${n}`],
    reset: async () => (log.push(`reset-${n}`), [`thing of ${n}`]),
    shell: async (ctx) => ({ kind: 'host', cwd: ctx.lab.root, title: 'a test shell' }),
  };
}

function setup(opts: { unlockAll?: boolean } = {}) {
  const lab = tempLab('cl-tui-');
  const log: string[] = [];
  const results = { checks: PASS };
  const lessons: Lesson[] = curriculum([1, 2, 3].map((n) => fakeLesson(n, results, log)));
  const written: string[] = [];
  const store = new WorkbookStore({ lessons, lab, unlockAll: opts.unlockAll, writeTerminal: (seq) => written.push(seq) });
  const ui = render(<App store={store} color={false} />);
  const frame = () => ui.lastFrame() ?? '';
  disposers.push(() => lab.dispose());
  return { lab, log, results, store, ui, frame, lessons, written };
}

/** The text of each OSC 52 clipboard sequence written to the terminal. */
const copied = (written: string[]) =>
  written.map((seq) => {
    const m = /^\x1b\]52;c;([A-Za-z0-9+/=]*)\x07$/.exec(seq);
    if (!m?.[1]) throw new Error(`not an OSC 52 sequence: ${JSON.stringify(seq)}`);
    return Buffer.from(m[1], 'base64').toString('utf8');
  });

const disposers: Array<() => void> = [];
afterEach(() => {
  cleanup();
  for (const d of disposers.splice(0)) d();
  // A store starts helpers ahead (core/helper-pool.ts) once it prepares a step; a quit ends them.
  idleHelpers.stop();
});

describe('the workbook screen', () => {
  it('opens on the first lesson: its text, the lesson list with locks, and the keys', async () => {
    const { frame } = setup();
    await until(() => frame().includes('A union mount with overlayfs') || frame().includes('Every container'), 'the lesson text');
    expect(frame()).toMatch(/container-lessons · 1\/3 Fake lesson 1/);
    expect(frame()).toMatch(/○ 1 fake-1 +🔒 2 +🔒 3/);
    expect(frame()).toMatch(/Enter next/);
    expect(frame()).toMatch(/q quit/);
  });

  it('Enter runs the steps one by one and shows their output, then runs the checks', async () => {
    const { frame, ui, log } = setup();
    ui.stdin.write(ENTER);
    await until(() => frame().includes('output of step one (1)'), 'step one');
    expect(frame()).toMatch(/✔ 1\. first step of 1/);
    expect(frame()).toMatch(/○ 2\. second step of 1/);
    expect(frame()).toMatch(/\$ echo two-1/);
    expect(frame()).toMatch(/Step 1 done\. Enter runs step 2/);
    expect(log).toEqual(['reset-1', 'step1-1']);
    ui.stdin.write(ENTER);
    await until(() => frame().includes('output of step two (1)'), 'step two');
    ui.stdin.write(ENTER);
    await until(() => frame().includes('Checks: passed'), 'the checks');
    expect(frame()).toMatch(/✔ pass  the thing is there: saw it in \/proc\/x/);
    expect(frame()).toMatch(/looked at: \/proc\/x/);
  });

  it('passing unlocks the next lesson, visibly, and records progress', async () => {
    const { frame, ui, lab, store } = setup();
    ui.stdin.write(RIGHT);
    await until(() => frame().includes('locked'), 'the locked message');
    expect(frame()).toMatch(/Lesson 2 is locked: pass lesson 1 first/);
    ui.stdin.write('c');
    await until(() => frame().includes('Lesson 1 passed!'), 'the pass');
    expect(frame()).toMatch(/Lesson 2 is unlocked: press → to go on/);
    expect(frame()).toMatch(/✔ 1 fake-1 +○ 2 +🔒 3/);
    expect(Object.keys(readProgress(lab).passed)).toEqual(['fake-1']);
    ui.stdin.write(RIGHT);
    await until(() => store.getSnapshot().index === 1, 'lesson 2');
    await tick();
    expect(frame()).toMatch(/container-lessons · 2\/3 Fake lesson 2/);
    expect(frame()).toMatch(/✔ 1 +○ 2 fake-2 +🔒 3/);
    ui.stdin.write(LEFT);
    await until(() => store.getSnapshot().index === 0, 'back to lesson 1');
  });

  it('a failing check shows the reason and the hint', async () => {
    const { frame, ui, results } = setup();
    results.checks = FAIL;
    ui.stdin.write('c');
    await until(() => frame().includes('Checks: not passed yet'), 'the failure');
    expect(frame()).toMatch(/✘ fail  the thing is there: nothing at \/proc\/x/);
    expect(frame()).toMatch(/hint: make the thing/);
    expect(frame()).toMatch(/1 check failed: read the hints/);
    expect(frame()).toMatch(/🔒 2/);
  });

  it('h shows the hint, ? the help; any key closes them', async () => {
    const { frame, ui } = setup();
    ui.stdin.write('h');
    await until(() => frame().includes('the idea of lesson 1'), 'the hint');
    ui.stdin.write('z');
    await until(() => !frame().includes('the idea of lesson 1'), 'the hint to close');
    ui.stdin.write('?');
    await until(() => frame().includes('Keys'), 'the help');
    for (const k of ['Enter', 'Ctrl-C', 'Tab', 'PgUp']) expect(frame()).toContain(k);
    expect(frame()).toMatch(/a shell for this lesson \(on the host, or in its container\)/);
    ui.stdin.write('q'); // closes the help, does not quit
    await until(() => !frame().includes('this help'), 'the help to close');
  });

  it("y copies the current step's commands through OSC 52: the next to run, after the last one the last", async () => {
    const { frame, ui, written } = setup();
    ui.stdin.write('y');
    await until(() => frame().includes('Copied'), 'the copy message');
    expect(frame()).toMatch(/Copied step 1's command \(OSC 52/);
    ui.stdin.write(ENTER);
    await until(() => frame().includes('Step 1 done'), 'step one');
    ui.stdin.write('y');
    await until(() => frame().includes("Copied step 2's"), 'the second copy');
    ui.stdin.write(ENTER);
    await until(() => frame().includes('All steps done'), 'step two');
    ui.stdin.write('y');
    await until(() => copied(written).length === 3, 'the third copy');
    expect(copied(written)).toEqual(['echo one-1', 'echo two-1', 'echo two-1']);
    ui.stdin.write('?');
    await until(() => frame().includes('Keys'), 'the help');
    expect(frame()).toMatch(/y +copy the current step's commands/);
  });

  it('h goes from the idea to the commands, one tier a press, and stays on the last; q and any other key close', async () => {
    const { frame, ui, store } = setup();
    ui.stdin.write('h');
    await until(() => frame().includes('the idea of lesson 1'), 'tier 1');
    expect(frame()).toMatch(/Hint 1 of 3/);
    expect(frame()).toMatch(/h: hint 2 of 3 · any other key closes/);
    ui.stdin.write('h');
    await until(() => frame().includes('the file of lesson 1'), 'tier 2');
    expect(frame()).toMatch(/Hint 2 of 3/);
    expect(frame()).not.toContain('the idea of lesson 1');
    ui.stdin.write('h');
    await until(() => frame().includes('the commands of lesson 1'), 'tier 3');
    expect(frame()).toMatch(/Hint 3 of 3/);
    expect(frame()).toMatch(/the last hint · any key but h closes/);
    ui.stdin.write('h');
    await tick(60);
    expect(frame()).toMatch(/Hint 3 of 3/);
    expect(frame()).toContain('the commands of lesson 1');
    ui.stdin.write('q'); // closes the hint, does not quit
    await until(() => !frame().includes('the commands of lesson 1'), 'the hint to close');
    expect(store.getSnapshot().exit).toBeNull();
    // Closed and opened again: it goes on from where it was, at the last.
    ui.stdin.write('h');
    await until(() => frame().includes('the commands of lesson 1'), 'tier 3 again');
    ui.stdin.write('z');
    await until(() => store.getSnapshot().overlay === null, 'the hint to close');
  });

  it("after a failing check, h gives that check's own hint first, then the tiers", async () => {
    const { frame, ui, results, store } = setup();
    const close = () => (ui.stdin.write('z'), until(() => store.getSnapshot().overlay === null, 'the hint to close'));
    ui.stdin.write('h');
    await until(() => frame().includes('Hint 1 of 3'), 'tier 1 before any check');
    await close();
    results.checks = FAIL;
    ui.stdin.write('c');
    await until(() => frame().includes('Checks: not passed yet'), 'the failure');
    ui.stdin.write('h');
    await until(() => frame().includes('What the check says'), "the check's hint");
    expect(frame()).toMatch(/the thing is there: nothing at \/proc\/x/);
    expect(frame()).toMatch(/make the thing/);
    expect(frame()).toMatch(/h: hint 2 of 3/);
    ui.stdin.write('h');
    await until(() => frame().includes('Hint 2 of 3'), 'then the next tier');
    expect(frame()).toContain('the file of lesson 1');
    await close();
    // The same checks again: their hint is not repeated; new checks that fail bring it back.
    ui.stdin.write('h');
    await until(() => frame().includes('Hint 3 of 3'), 'tier 3');
    await close();
    const before = store.getSnapshot().runs['fake-1']?.checks;
    results.checks = [...FAIL]; // a new run of the checks: a new list (a lesson's check() makes one each time)
    ui.stdin.write('c');
    await until(() => store.getSnapshot().runs['fake-1']?.checks !== before && !store.getSnapshot().busy, 'the checks again');
    ui.stdin.write('h');
    await until(() => frame().includes('What the check says'), "the check's hint after new checks");
  });

  it('another lesson, or a reset, starts the tiers over', async () => {
    const { frame, ui, store } = setup({ unlockAll: true });
    const close = () => (ui.stdin.write('z'), until(() => store.getSnapshot().overlay === null, 'the hint to close'));
    for (const tier of [1, 2]) {
      ui.stdin.write('h');
      await until(() => frame().includes(`Hint ${tier} of 3`), `tier ${tier}`);
    }
    await close();
    ui.stdin.write('2');
    await until(() => store.getSnapshot().index === 1, 'lesson 2');
    ui.stdin.write('h');
    await until(() => frame().includes('the idea of lesson 2'), "lesson 2's tier 1");
    await close();
    ui.stdin.write('1');
    await until(() => store.getSnapshot().index === 0, 'lesson 1');
    ui.stdin.write('h');
    await until(() => frame().includes('the idea of lesson 1'), "lesson 1's tier 1 again");
    ui.stdin.write('h');
    await until(() => frame().includes('Hint 2 of 3'), 'tier 2');
    await close();
    ui.stdin.write('x');
    await until(() => frame().includes('Reset this lesson?'), 'the question');
    ui.stdin.write('y');
    await until(() => frame().includes('Reset: '), 'the reset');
    ui.stdin.write('h');
    await until(() => frame().includes('Hint 1 of 3'), 'tier 1 after the reset');
  });

  it('x asks, y resets the lesson', async () => {
    const { frame, ui, log } = setup();
    ui.stdin.write(ENTER);
    await until(() => frame().includes('output of step one (1)'), 'step one');
    ui.stdin.write('x');
    await until(() => frame().includes('Reset this lesson?'), 'the question');
    ui.stdin.write('y');
    await until(() => frame().includes('Reset: removed 1 thing'), 'the reset');
    expect(log.filter((l) => l === 'reset-1')).toHaveLength(2);
    expect(frame()).toMatch(/steps 0\/2/);
  });

  it('Tab switches between text and work; arrows scroll', async () => {
    const { frame, ui, store } = setup();
    await until(() => /1-\d+\/\d+/.test(frame()), 'a scrollable text');
    ui.stdin.write('\u001B[B');
    await until(() => store.getSnapshot().scroll.text === 1, 'scrolled');
    await until(() => /2-\d+\/\d+/.test(frame()), 'the scroll position');
    ui.stdin.write(TAB);
    await until(() => store.getSnapshot().pane === 'work', 'the work pane');
    await tick();
    expect(frame()).toMatch(/○ 1\. first step of 1/);
  });

  it('s asks for a shell and q quits: the runner gets the terminal', async () => {
    const { ui, store } = setup();
    ui.stdin.write('s');
    const req = await store.waitForExit();
    expect(req).toMatchObject({ type: 'shell', spec: { kind: 'host', title: 'a test shell' } });
    store.afterShell(0);
    ui.stdin.write('q');
    expect(await store.waitForExit()).toEqual({ type: 'quit' });
  });

  it('--unlock-all opens every lesson', async () => {
    const { frame, ui, store } = setup({ unlockAll: true });
    ui.stdin.write('3');
    await until(() => store.getSnapshot().index === 2, 'lesson 3');
    await tick();
    expect(frame()).toMatch(/○ 1 +○ 2 +○ 3 fake-3/);
  });
});

describe('the closing line', () => {
  it('after a clean quit: the lessons passed, everything removed, exit 0', async () => {
    const { frame, ui, store, log } = setup();
    ui.stdin.write(ENTER);
    await until(() => frame().includes('output of step one (1)'), 'step one');
    ui.stdin.write('c');
    await until(() => frame().includes('Lesson 1 passed!'), 'the pass');
    const errors = await store.cleanupAll();
    expect(errors).toEqual([]);
    const end = closingReport(store, errors);
    expect(end.code).toBe(0);
    expect(end.text).toBe(`container-lessons: 1 of 3 lessons passed; everything the lessons made was removed. Lab: ${store.lab.root}\n`);
    expect(log).toEqual(['reset-1', 'step1-1']);
  });

  it('when something a step made cannot be removed: it is named, reset is the way out, exit 1', async () => {
    const lab = tempLab('cl-tui-');
    disposers.push(() => lab.dispose());
    const log: string[] = [];
    const stuck = fakeLesson(1, { checks: PASS }, log);
    // A step that registers what it made, whose undo then fails (as an unmount of a busy
    // mount would): the store's cleanup must report it, not swallow it.
    stuck.steps[0] = {
      title: 'first step of 1',
      commands: () => ['mount ...'],
      run: async (ctx) => {
        ctx.ledger.defer('the stuck mount', () => {
          log.push('undo tried');
          throw new Error('EBUSY: target is busy');
        });
        return 'mounted';
      },
    };
    const store = new WorkbookStore({ lessons: curriculum([stuck]), lab });
    const ui = render(<App store={store} color={false} />);
    ui.stdin.write(ENTER);
    await until(() => (ui.lastFrame() ?? '').includes('mounted'), 'the step');
    const errors = await store.cleanupAll();
    expect(log).toContain('undo tried');
    expect(errors).toEqual(['could not remove step the stuck mount: EBUSY: target is busy']);
    const end = closingReport(store, errors);
    expect(end.code).toBe(1);
    expect(end.text).not.toMatch(/everything the lessons made was removed/);
    expect(end.text.split('\n')).toEqual([
      'container-lessons: 0 of 1 lessons passed; one thing the lessons made could not be removed:',
      '  cleanup: could not remove step the stuck mount: EBUSY: target is busy',
      expect.stringMatching(new RegExp(`^To remove what is left, run as root: (CONTAINER_LESSONS_HOME=\\S+ )?container-lessons reset\\. Lab: ${lab.root}$`)),
      '',
    ]);
    // A second cleanup (the signal path after a quit) has nothing left to report.
    expect(await store.cleanupAll()).toEqual([]);
  });
});

describe('every terminal size', () => {
  it.each([
    [60, 16],
    [70, 20],
    [80, 24],
    [132, 43],
  ])('%ix%i: the frame fills the screen less one row, and no line overlaps another', async (columns, rows) => {
    const lab = tempLab('cl-tui-');
    disposers.push(() => lab.dispose());
    const store = new WorkbookStore({ lessons: curriculum([fakeLesson(1, { checks: PASS }, [])]), lab });
    const term = new Term(columns, rows);
    const inst = inkRender(<App store={store} color={false} />, { stdout: term as never, stdin: new Keys() as never, debug: true, patchConsole: false });
    try {
      await until(() => (term.frames.at(-1) ?? '').includes('1. A union mount with overlayfs'), 'the text');
      const lines = term.frames.at(-1)!.split('\n');
      expect(lines).toHaveLength(rows - 1);
      expect(lines[3]).toMatch(/^(# )?1\. A union mount with overlayfs$/); // the heading, with or without its mark
      expect(lines[4]).toBe('');
      expect(lines.at(-1)).toMatch(/q quit/);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(columns);
    } finally {
      inst.unmount();
    }
  });
});

describe('in Chinese', () => {
  afterEach(() => setLanguage('en'));
  it.each([
    [60, 16],
    [80, 24],
  ])('%ix%i: the text, the work and the frame fit the terminal in columns (a Chinese character takes two)', async (columns, rows) => {
    await setLanguage('zh');
    const lab = tempLab('cl-tui-');
    disposers.push(() => lab.dispose());
    const store = new WorkbookStore({ lessons: curriculum([fakeLesson(1, { checks: FAIL }, [])]), lab });
    const term = new Term(columns, rows);
    const inst = inkRender(<App store={store} color={false} />, { stdout: term as never, stdin: new Keys() as never, debug: true, patchConsole: false });
    const fits = () => {
      const lines = term.frames.at(-1)!.split('\n');
      expect(lines).toHaveLength(rows - 1);
      for (const l of lines) expect(stringWidth(l), l).toBeLessThanOrEqual(columns);
      return lines;
    };
    try {
      await until(() => (term.frames.at(-1) ?? '').includes('联合挂载'), 'the Chinese text of lesson 1');
      let lines = fits();
      expect(lines[0]).toMatch(/container-lessons · 1\/1 /);
      expect(lines.at(-1)).toMatch(/q 退出/);
      await store.advance();
      await store.advance();
      await store.advance();
      await until(() => (term.frames.at(-1) ?? '').includes('未通过'), 'the checks');
      lines = fits();
      expect(lines.join('\n')).toMatch(/项检查未通过/);
    } finally {
      inst.unmount();
    }
  });
});

describe('other screens', () => {
  it('a too small terminal says so and how to go on', () => {
    const ui = render(<TooSmall columns={50} rows={10} onQuit={() => {}} />);
    expect(ui.lastFrame()).toMatch(/too small \(50x10\)/);
    expect(ui.lastFrame()).toMatch(/at least 60x16/);
  });

  it('missing prerequisites are listed with their fixes', () => {
    const report = {
      ok: false,
      labRoot: '/x',
      rootfs: '/x/rootfs',
      cgroupMode: 'v2',
      findings: [
        { name: 'root', level: 'error' as const, detail: 'running as uid 1000', fix: 'run it with sudo' },
        { name: 'kernel', level: 'ok' as const, detail: 'Linux 6' },
      ],
    };
    const ui = render(<Prereqs report={report} blocking={true} color={false} onContinue={() => {}} onQuit={() => {}} />);
    expect(ui.lastFrame()).toMatch(/✘ root: running as uid 1000/);
    expect(ui.lastFrame()).toMatch(/fix: run it with sudo/);
    expect(ui.lastFrame()).not.toMatch(/kernel/);
    expect(ui.lastFrame()).toMatch(/q quits\./);
  });
});
