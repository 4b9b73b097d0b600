// The workbook in Chinese in a real terminal: tmux at 80x24 under LANG=zh_CN.UTF-8, lessons
// 1 and 2 run with Enter to their pass. Every screen on the way is read back: no line wider
// than the terminal (wide characters count two columns: tmux joins a line the terminal had
// to wrap, so an overflow shows as a longer line), no character cut in half.
import { describe, it, expect, afterAll } from 'vitest';
import path from 'node:path';
import stringWidth from 'string-width';
import { tempLab } from '../support/lab.js';
import { hasTmux, Tmux } from '../support/tmux.js';
import { LESSONS } from '../../src/lessons/index.js';
import { procfs, readMarker } from '../../src/core/index.js';
import { findLabProcesses } from '../../src/checks/containers.js';
import { ZH } from '../../src/i18n/zh/index.js';
import { lessonSource } from '../../src/render.js';

const lab = tempLab('cl-e2e-zh-');
const term = new Tmux(`cl-e2e-zh-${process.pid}`);
const BIN = path.resolve('bin/container-lessons.js');
const zh = (english: string) => ZH[english] ?? english;
const N = LESSONS.length;

afterAll(async () => {
  // A test that failed midway leaves the workbook running: it cleans up on the SIGHUP of the
  // kill, and the lab goes only once it has (else its unmount races the removal).
  let tui: number | undefined;
  try {
    tui = procfs.descendants(term.panePid()).find((p) => (procfs.cmdline(p) ?? '').includes('container-lessons.js'));
  } catch {
    tui = undefined; // no session (skipped, or never started)
  }
  term.kill();
  if (tui !== undefined) await procfs.waitReaped([tui], 10_000);
  const marker = readMarker(lab.rootfs);
  for (let i = 0; marker && i < 100 && findLabProcesses(marker.id).length; i++) await new Promise((r) => setTimeout(r, 50));
  lab.dispose();
});

/** Every screen seen, to be judged at the end. */
const seen: string[] = [];
async function waitFor(re: RegExp, ms = 30_000): Promise<string> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    last = term.screen();
    seen.push(last);
    if (re.test(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the screen never showed ${re}; it shows:\n${last}`);
}
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.skipIf(!hasTmux)('the TUI in Chinese', () => {
  it('runs lessons 1 and 2 to their pass at 80x24, every line within the terminal', async () => {
    term.start(`env CONTAINER_LESSONS_HOME=${lab.root} TERM=xterm-256color LANG=zh_CN.UTF-8 ${process.execPath} ${BIN}; echo "TUI EXITED $?"; sleep 600`, 80, 24);
    for (const l of LESSONS.slice(0, 2)) {
      const title = zh(l.title);
      expect(title).not.toBe(l.title);
      let s = await waitFor(new RegExp(`container-lessons · ${l.number}/${N} ${escapeRegExp(title.slice(0, 8))}`));
      // The lesson's Chinese text, in the Text pane.
      const heading = lessonSource(l, 'zh')!
        .split('\n')[0]!
        .replace(/^# (\{\{number\}\}|\d+)\. /, '');
      expect(s).toContain(heading.slice(0, 8));
      expect(s).toMatch(/Enter 下一步 · c 检查/);
      for (let i = 1; i <= l.steps.length; i++) {
        term.keys('Enter');
        s = await waitFor(i < l.steps.length ? new RegExp(`第 ${i} 步完成`) : /所有步骤完成/);
      }
      // The Work pane from its top: the steps' Chinese titles.
      term.keys('g');
      await waitFor(new RegExp(`✔ 1\\. ${escapeRegExp(zh(l.steps[0]!.title).slice(0, 6))}`));
      term.keys('Enter');
      s = await waitFor(new RegExp(`第 ${l.number} 课通过！第 ${l.number + 1} 课已解锁`), 60_000);
      expect(s).toContain('检查：通过');
      if (l.number === 1) {
        term.keys('Right');
      }
    }
    const shown = seen.length; // the workbook's screens (after q, the shell's)
    term.keys('q');
    const end = await waitFor(/TUI EXITED \d+/);
    expect(end).toMatch(new RegExp(`${N} 课中通过了 2 课；课程做出的东西已全部删除`));
    expect(end).toMatch(/TUI EXITED 0/);

    const wide = new Set<string>();
    for (const s of seen.slice(0, shown)) for (const line of s.split('\n')) if (stringWidth(line) > 80) wide.add(line);
    expect([...wide]).toEqual([]);
    expect(seen.slice(0, shown).some((s) => /\uFFFD|\p{Cs}/u.test(s))).toBe(false);
  }, 180_000);
});
