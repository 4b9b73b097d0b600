// The work pane after a step ran: the step's long command stays above its output, wrapped
// with ` \` and one `$ `, and ↑ / PgUp scroll up from the bottom the step left the pane at.
// A fake lesson: no kernel here.
import { describe, it, expect, afterEach } from 'vitest';
import { render, cleanup } from 'ink-testing-library';
import { WorkbookStore } from '../../src/ui/store.js';
import { App } from '../../src/ui/App.js';
import { curriculum, type LessonModule } from '../../src/lessons/index.js';
import { tempLab } from '../support/lab.js';
import { joinShown } from '../support/shown-command.js';
import { until, tick } from '../support/tui.js';
import { idleHelpers } from '../../src/core/helper-pool.js';

const LONG = `mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ${'./merged '.repeat(6).trim()}   # the top layer first, then the ones beneath it`;

const lesson: LessonModule = {
  id: 'fake-scroll',
  title: 'Fake lesson with a long step',
  text: 'missing.md',
  newState: () => ({}),
  checks: ['nothing'],
  steps: [{ title: 'the long step', commands: () => ['cd /tmp', LONG], run: async () => Array.from({ length: 60 }, (_, i) => `output line ${i + 1}`).join('\n') }],
  check: async () => [],
  hints: () => ['no hint'],
  reset: async () => [],
  shell: async (ctx) => ({ kind: 'host', cwd: ctx.lab.root, title: 'a test shell' }),
};

const disposers: Array<() => void> = [];
afterEach(() => {
  cleanup();
  for (const d of disposers.splice(0)) d();
  // A store starts helpers ahead (core/helper-pool.ts) once it prepares a step; a quit ends them.
  idleHelpers.stop();
});

describe('the work pane after a step ran', () => {
  it('keeps the long command whole above the output, and ↑ PgUp scroll up from the bottom', async () => {
    const lab = tempLab('cl-tui-work-');
    disposers.push(() => lab.dispose());
    const store = new WorkbookStore({ lessons: curriculum([lesson]), lab });
    const ui = render(<App store={store} color={false} />);
    const frame = () => ui.lastFrame() ?? '';
    ui.stdin.write('\r');
    await until(() => frame().includes('output line 60'), 'the step output');
    expect(frame()).toContain('Checks: not run yet');
    expect(frame()).not.toContain('output line 40');

    ui.stdin.write('k'); // ↑: one line up
    await until(() => !frame().includes('Checks: not run yet'), 'one line up');
    expect(frame()).toContain('output line 60');
    for (let i = 0; i < 6; i++) {
      ui.stdin.write('b'); // PgUp
      await tick();
    }
    await until(() => frame().includes('$ cd /tmp'), 'the top of the pane');
    const lines = frame().split('\n');
    const at = lines.findIndex((l) => l.startsWith('     $ mount'));
    let end = at + 1;
    while (/^ {7}/.test(lines[end] ?? '')) end++;
    expect(end - at).toBeGreaterThan(1);
    expect(lines.slice(at + 1, end).join('\n')).not.toContain('$');
    expect(joinShown(lines.slice(at, end).map((l) => l.slice(7)))).toBe(LONG);
    expect(lines[end]).toBe('   output line 1');
  });
});
