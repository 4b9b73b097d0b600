// Proof that a lesson is its module, its text and one entry in the curriculum: a copy of
// the project gets a small extra lesson (test/fixtures/extra-lesson: a bind mount) and
// nothing else, is built, and then the lesson is there in `list`, `show`, `hint`, `solve`,
// `check` (by hand too), `reset`, the TUI's tabs and the curriculum's self-check.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import React from 'react';
import { render } from 'ink-testing-library';
import { LESSONS } from '../../src/lessons/index.js';
import type { Lesson } from '../../src/lessons/types.js';
import { labFor } from '../../src/lab.js';
import { curriculumProblems } from '../support/curriculum-check.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const ROOT = path.resolve('.');
const FIXTURE = path.join(ROOT, 'test/fixtures/extra-lesson');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-extra-'));
const copy = path.join(tmp, 'project');
const home = path.join(tmp, 'lab');
const N = LESSONS.length + 1;
/** What the copy was given beyond the project as it is. */
const ADDED = ['src/lessons/90-bind-mount.ts', 'lessons/90-bind-mount.md'];
const INDEX = 'src/lessons/index.ts';

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(copy, 'bin/container-lessons.js'), ...args], { env: { ...process.env, CONTAINER_LESSONS_HOME: home, NO_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const dirs = { src: path.join(home, 'bind/src'), dst: path.join(home, 'bind/dst') };
const mounted = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${dirs.dst} `);

let before: ReturnType<typeof snapshot>;
beforeAll(() => {
  before = snapshot();
  // The project as a fresh clone has it (what git tracks), with this machine's node_modules.
  fs.mkdirSync(copy);
  for (const f of execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean)) {
    if (!fs.existsSync(path.join(ROOT, f))) continue;
    fs.mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(copy, f));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  // Two files and one entry: the module, the text, and its place in the list.
  fs.copyFileSync(path.join(FIXTURE, '90-bind-mount.ts'), path.join(copy, ADDED[0]!));
  fs.copyFileSync(path.join(FIXTURE, '90-bind-mount.md'), path.join(copy, ADDED[1]!));
  const index = fs.readFileSync(path.join(copy, INDEX), 'utf8');
  const withImport = index.replace(/^(import layers from .*\n)/m, "$1import bindMount from './90-bind-mount.js';\n");
  const withEntry = withImport.replace(/curriculum\(\[(.*)\]\)/, 'curriculum([$1, bindMount])');
  expect(withEntry).not.toBe(withImport);
  fs.writeFileSync(path.join(copy, INDEX), withEntry);
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: copy, stdio: 'pipe' });
}, 120_000);

afterAll(async () => {
  cli('reset', '--all');
  fs.rmSync(tmp, { recursive: true, force: true });
  expect(leaks(before, snapshot())).toEqual({});
});

describe('a lesson added as two files and one entry', () => {
  it('touched nothing else: the copy differs from the project in those files only', () => {
    const diff = (dir: string) =>
      spawnSync('git', ['diff', '--no-index', '--numstat', '--', path.join(ROOT, dir), path.join(copy, dir)], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .map((l) => l.split('\t').slice(0, 2).join(' ') + ' ' + path.basename(l).replace(/}$/, ''));
    // index.ts: the import added, the list's line changed; the module and the text are new.
    expect(diff('src').sort()).toEqual(['2 1 index.ts', `${fs.readFileSync(path.join(FIXTURE, '90-bind-mount.ts'), 'utf8').split('\n').length - 1} 0 90-bind-mount.ts`].sort());
    expect(diff('lessons')).toEqual([`${fs.readFileSync(path.join(FIXTURE, '90-bind-mount.md'), 'utf8').split('\n').length - 1} 0 90-bind-mount.md`]);
  });

  it('list, show and hint know it, numbered by its place', () => {
    const list = JSON.parse(cli('list', '--json').out);
    expect(list.lessons).toHaveLength(N);
    expect(list.lessons.at(-1)).toMatchObject({ number: N, id: 'bind-mount', title: 'A bind mount: one directory in two places' });
    const show = cli('show', String(N));
    expect(show.code).toBe(0);
    expect(show.out).toContain(`Your work is in ${path.join(home, 'bind')}.`); // its lab path filled in
    expect(show.out).toContain(`mount --bind ${dirs.src} ${dirs.dst}`); // its steps as commands
    expect(cli('hint', 'bind-mount').out).toMatch(new RegExp(`Lesson ${N} hint 1 of 3: a bind mount shows`));
    expect(cli('hint', 'bind-mount', '--level', '2').out).toMatch(new RegExp(`Lesson ${N} hint 2 of 3: bind it: mount --bind`));
  });

  it('solve runs it for real and removes what it made; check, by hand, passes; reset removes it', () => {
    expect(cli('check', 'bind-mount').code).toBe(1);
    const solved = cli('solve', 'bind-mount', '--json');
    expect(solved.code).toBe(0);
    const report = JSON.parse(solved.out);
    expect(report.lessons[0]).toMatchObject({ number: N, passed: true });
    expect(report.lessons[0].cleanup.removed.map((e: { kind: string }) => e.kind)).toEqual(['mount', 'file']);
    expect(mounted()).toBe(false);

    execFileSync('/bin/sh', ['-c', `mkdir -p ${dirs.src} ${dirs.dst} && echo hello > ${dirs.src}/note.txt && mount --bind ${dirs.src} ${dirs.dst}`]);
    const check = cli('check', String(N));
    expect(check.out).toMatch(/dst is a bind mount of src/);
    expect(check.code).toBe(0);
    const reset = cli('reset', 'bind-mount');
    expect(reset.code).toBe(0);
    expect(mounted()).toBe(false);
    expect(fs.existsSync(path.join(home, 'bind'))).toBe(false);
  });

  it('the TUI shows it as a tab and opens it', async () => {
    const imp = (p: string) => import(pathToFileURL(path.join(copy, 'dist', p)).href);
    const { LESSONS: lessons } = await imp('lessons/index.js');
    const { WorkbookStore } = await imp('ui/store.js');
    const { App } = await imp('ui/App.js');
    const store = new WorkbookStore({ lessons, lab: labFor({ CONTAINER_LESSONS_HOME: home }), unlockAll: true });
    const ui = render(React.createElement(App, { store, color: false }));
    try {
      expect(ui.lastFrame()).toMatch(new RegExp(`✔ ${N}\\b`)); // passed by the test before
      store.select(N - 1);
      await new Promise((r) => setTimeout(r, 50));
      expect(ui.lastFrame()).toMatch(new RegExp(`${N}/${N} A bind mount`));
      expect(ui.lastFrame()).toMatch(new RegExp(`✔ ${N} bind-mount`));
    } finally {
      ui.unmount();
      await store.cleanupAll();
    }
  });

  it('the self-check walks it: what it still lacks is a test:vm case and a README row', async () => {
    const { LESSONS: lessons } = (await import(pathToFileURL(path.join(copy, 'dist/lessons/index.js')).href)) as { LESSONS: Lesson[] };
    const problems = curriculumProblems(lessons, {
      textOf: (l) => fs.readFileSync(path.join(copy, 'lessons', l.text), 'utf8'),
      cases: fs.readFileSync(path.join(copy, 'test/vm/cases.sh'), 'utf8'),
      readme: fs.readFileSync(path.join(copy, 'README.md'), 'utf8'),
      lab: labFor({ CONTAINER_LESSONS_HOME: home }),
    });
    expect(problems).toEqual([
      `lesson ${N} (bind-mount): has no by-hand case in test/vm/cases.sh (\`check <id> <name> 0\`)`,
      `lesson ${N} (bind-mount): has no wrong-state case in test/vm/cases.sh (\`check <id> <name> 1\`)`,
      `README's lesson table lists ${LESSONS.map((l) => `${l.number} ${l.id}`).join(', ')}; the curriculum is ${[...LESSONS.map((l) => `${l.number} ${l.id}`), `${N} bind-mount`].join(', ')}`,
    ]);
  });
});
