// `check N --watch` as a learner's second terminal (or a script) runs it: started on an
// empty lab, it follows lesson 1 done by hand with shell tools and ends on the pass (exit 0,
// progress recorded); Ctrl-C ends it with 130 and leaves nothing. Looks never overlap.
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { curriculum, findLesson, type Lesson } from '../../src/lessons/index.js';
import { labPath } from '../../src/lessons/types.js';
import { readProgress } from '../../src/lab.js';
import { watchLesson, type WatchLook } from '../../src/runner.js';
import type { CheckResult } from '../../src/checks/result.js';
import { tempLab } from '../support/lab.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const BIN = path.resolve('bin/container-lessons.js');
const overlay = findLesson('overlay') as Lesson;
const labs: Array<ReturnType<typeof tempLab>> = [];
const watches: ChildProcess[] = [];
const sh = (script: string, cwd?: string) => execFileSync('/bin/sh', ['-c', script], { cwd, encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Unmount lesson 1's merged in a lab, as often as something is mounted there. */
function unmountMerged(lab: ReturnType<typeof tempLab>): void {
  const merged = path.join(labPath(lab, overlay, 'ufs'), 'merged');
  for (let i = 0; i < 5 && fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${merged} `); i++) sh(`umount ${merged}`);
}

afterAll(() => {
  for (const w of watches) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  for (const lab of labs) {
    unmountMerged(lab);
    lab.dispose();
  }
});

function newLab() {
  const lab = tempLab('cl-watch-');
  labs.push(lab);
  return lab;
}

/** The CLI's watch, as a real process without a terminal. */
function startWatch(lab: ReturnType<typeof tempLab>, lesson = 'overlay') {
  const child = spawn(process.execPath, [BIN, 'check', lesson, '--watch'], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  watches.push(child);
  const io = { out: '', err: '' };
  child.stdout!.on('data', (d) => (io.out += d));
  child.stderr!.on('data', (d) => (io.err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  /** Its exit code, or a failure if it has not ended within ms. */
  const exit = (ms: number) => Promise.race([exited, sleep(ms).then(() => Promise.reject(new Error(`the watch did not end within ${ms} ms; it printed:\n${io.out}${io.err}`)))]);
  const printed = async (re: RegExp, ms = 15_000) => {
    const end = Date.now() + ms;
    while (!re.test(io.out)) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`the watch did not print ${re}; it printed:\n${io.out}${io.err}`);
      await sleep(20);
    }
  };
  return { child, io, exit, printed };
}

/** Every file and directory under dir, relative. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe('check --watch', () => {
  it('follows lesson 1 done by hand on an empty lab and ends on the pass (exit 0, recorded)', async () => {
    const lab = newLab();
    const ufs = labPath(lab, overlay, 'ufs');
    const w = startWatch(lab);
    try {
      await w.printed(/watching: /);
      // The layers first: nothing mounted yet, so the next looks change nothing and print nothing.
      sh(
        `mkdir -p ${ufs} && cd ${ufs} && mkdir lower1 lower2 upper work merged && touch lower1/a.txt lower2/b.txt upper/c.txt && echo lower1 > lower1/n.txt && echo lower2 > lower2/n.txt && echo lower > lower2/x.txt && echo upper > upper/x.txt`,
      );
      await sleep(2500);
      expect(w.child.exitCode).toBeNull();
      sh('mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged && rm merged/a.txt', ufs);
      expect(await w.exit(10_000)).toBe(0);
      const { out, err } = w.io;
      expect(err).toBe('');
      // The first look whole, printed once; then only what changed, ending on the pass.
      expect(out).toMatch(/^Lesson 1 · .*\n {2}✘ fail {2}merged is an overlay mount: nothing is mounted/);
      expect(out.match(/nothing is mounted/g)).toHaveLength(1);
      expect(out).toMatch(/── \d\d:\d\d:\d\d, look \d+:/);
      for (const title of overlay.checks) expect(out).toContain(`✔ pass  ${title}: `);
      expect(out).toMatch(/Lesson 1: passed\nnext: container-lessons show 2 /);
      expect(readProgress(lab).passed.overlay).toBeTruthy();
    } finally {
      unmountMerged(lab);
    }
  }, 40_000);

  it('Ctrl-C (SIGINT) ends it with 130, and it leaves nothing: no file, no kernel state', async () => {
    const lab = newLab();
    const before = { files: tree(lab.root), kernel: snapshot() };
    const w = startWatch(lab);
    await w.printed(/watching: /);
    await sleep(2200); // a second look, so a look and a pause have both been under way
    w.child.kill('SIGINT');
    expect(await w.exit(10_000)).toBe(130);
    expect(w.io.err).toBe('');
    expect(w.io.out).toMatch(/Lesson 1: not passed yet \(stopped watching after \d+ looks?\)\n$/);
    expect(tree(lab.root)).toEqual(before.files);
    expect(fs.existsSync(lab.progressFile)).toBe(false);
    expect(leaks(before.kernel, snapshot())).toEqual({});
  }, 40_000);

  it('looks never overlap, also when one takes longer than the interval', async () => {
    const lab = newLab();
    let running = 0;
    let most = 0;
    const starts: number[] = [];
    const slow = curriculum([
      {
        id: 'slow',
        title: 'A slow check',
        text: 'missing.md',
        newState: () => ({}),
        checks: ['the slow thing'],
        steps: [],
        check: async (): Promise<CheckResult[]> => {
          running++;
          most = Math.max(most, running);
          starts.push(performance.now());
          await sleep(600);
          running--;
          return [{ title: 'the slow thing', status: 'fail', reason: `look ${starts.length}`, looked: [] }];
        },
        hints: () => ['wait'],
        reset: async () => [],
      },
    ])[0] as Lesson;
    const stop = new AbortController();
    const looks: WatchLook[] = [];
    setTimeout(() => stop.abort(), 2500);
    const result = await watchLesson(slow, lab, { intervalMs: 200, signal: stop.signal, onLook: (l) => looks.push(l) });
    expect(most).toBe(1);
    expect(result.passed).toBe(false);
    expect(looks.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(600);
    // Every look changed its reason here, so each one reports its result.
    expect(looks.map((l) => l.changed.map((c) => c.reason))).toEqual(looks.map((l) => [`look ${l.n}`]));
    expect(fs.existsSync(lab.progressFile)).toBe(false);
  });
});
