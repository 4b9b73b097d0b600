// A step that runs a while: its commands' output shows in the work pane as it comes, and the
// status line says how long it has run and the last line, until the step's report replaces
// it. The step's command waits for the test to have seen its first line on screen.
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { render, cleanup } from 'ink-testing-library';
import { WorkbookStore } from '../../src/ui/store.js';
import { App } from '../../src/ui/App.js';
import { curriculum, type LessonModule } from '../../src/lessons/index.js';
import { hostShell } from '../../src/lessons/show.js';
import { tempLab } from '../support/lab.js';
import { until } from '../support/tui.js';

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  cleanup();
  for (const d of disposers.splice(0)) await d();
});

describe('a step that runs a while', () => {
  it('shows its output as it comes, the seconds and the last line in the status line, then its whole output', async () => {
    const lab = tempLab('cl-tui-live-');
    disposers.push(() => lab.dispose());
    const flag = path.join(lab.root, 'seen');
    const cmd = `echo early-$((20+1)); i=0; while [ ! -e ${flag} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; echo late-$((40+2))`;
    const lesson: LessonModule = {
      id: 'fake-live',
      title: 'Fake lesson with a slow step',
      text: 'missing.md',
      newState: () => ({}),
      checks: ['nothing'],
      steps: [{ title: 'the slow step', commands: () => [cmd], run: async () => `${await hostShell(cmd)}\nthe report's own line` }],
      check: async () => [],
      hints: () => ['no hint'],
      reset: async () => [],
    };
    const store = new WorkbookStore({ lessons: curriculum([lesson]), lab });
    disposers.unshift(() => store.cleanupAll());
    const ui = render(<App store={store} color={false} />);
    const frame = () => ui.lastFrame() ?? '';
    ui.stdin.write('\r');
    await until(() => frame().includes('   early-21'), 'the first line in the work pane while the step runs');
    expect(frame()).not.toContain('late-42');
    await until(() => / · \d+ s · early-21/.test(frame()), 'the seconds and the last line in the status line', 5000);
    fs.writeFileSync(flag, '');
    await until(() => frame().includes("the report's own line"), "the step's whole output");
    expect(frame()).toContain('   late-42');
    expect(frame()).not.toMatch(/ · \d+ s · /);
  });
});
