// `class report` on the files the classroom playbook collects. The three learners in
// test/fixtures/classroom are the CLI's real output (list --json, check N --json, check
// capstone --json) put together as the collect play does: vm01 at lesson 1, vm02 at lesson 5
// with a container that shares the host's network (so "its own network namespace" fails),
// vm03 with every lesson passed (its progress.json written by hand) and the bash reference
// runtime in its lab's mydocker/, which passed the capstone's suite.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { visible } from '../../src/columns.js';
import { classCommand, classReport, ClassUsageError } from '../../src/classroom/report.js';
import { setLanguage, tr } from '../../src/i18n/messages.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/classroom');
const fixture = (name: string) => path.join(FIXTURES, name);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-class-report-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function report(files: string[], opts: { json?: boolean; width?: number; utf8?: boolean } = {}) {
  let stdout = '';
  let stderr = '';
  const code = classReport(files, { json: !!opts.json }, { color: false, utf8: opts.utf8 ?? true, width: opts.width, write: (s) => (stdout += s), warn: (s) => (stderr += s) });
  return { code, stdout, stderr, lines: stdout.split('\n') };
}

/** The row of a VM, and the columns where the header puts each lesson's number. */
function tableOf(lines: string[]) {
  const header = lines[0]!;
  const column = (n: number) => {
    const at = header.search(new RegExp(`(?<=\\s)${n}(?=\\s|$)`));
    return visible(header.slice(0, at)) + String(n).length - 1; // the number's last column: marks sit under it
  };
  const row = (vm: string) => lines.find((l) => l.startsWith(`${vm} `))!;
  /** The character of a row at a terminal column. */
  const at = (line: string, col: number) => {
    let n = 0;
    for (const ch of line) {
      if (n === col) return ch;
      n += visible(ch);
    }
    return '';
  };
  return { header, column, row, at };
}

describe('class report: the table', () => {
  it('shows each learner as a row, each lesson as a column, the failing check and the capstone', () => {
    const r = report([fixture('vm01.json'), fixture('vm02.json'), fixture('vm03.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const { header, column, row, at } = tableOf(r.lines);
    expect(header).toMatch(/^VM\s+1 2 3 4 5 6 7 8 9 10 11\s+capstone\s+stuck on$/);
    // vm01: lesson 1 is current, nothing passed; its check names what is missing.
    expect(at(row('vm01'), column(1))).toBe('▶');
    for (const n of [2, 5, 11]) expect(at(row('vm01'), column(n))).toBe('·');
    expect(row('vm01')).toMatch(/0\/15\s+1 merged is an overlay mount$/);
    // vm02: 1-4 passed, 5 current, and the check that fails there (not the one that passes).
    for (const n of [1, 2, 3, 4]) expect(at(row('vm02'), column(n))).toBe('✔');
    expect(at(row('vm02'), column(5))).toBe('▶');
    expect(at(row('vm02'), column(6))).toBe('·');
    expect(row('vm02')).toMatch(/0\/15\s+5 its own network namespace$/);
    expect(row('vm02')).not.toContain('has the rootfs');
    // vm03: everything passed, the capstone's 15 checks too.
    for (const n of [1, 6, 10, 11]) expect(at(row('vm03'), column(n))).toBe('✔');
    expect(row('vm03')).toMatch(/15\/15 ✔\s+every lesson passed$/);
    expect(r.stdout).toContain('3 learners, 1 passed the capstone');
    expect(r.stdout).toContain('now on: lesson 1: 1   lesson 5: 1');
    for (const line of r.lines) expect(visible(line), line).toBeLessThanOrEqual(80);
  });

  it('reads a directory: every *.json in it, in name order', () => {
    const r = report([FIXTURES]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines.slice(1, 4).map((l) => l.split(' ')[0])).toEqual(['vm01', 'vm02', 'vm03']);
  });

  it('cuts what does not fit a narrow width, never the lessons', () => {
    const r = report([FIXTURES], { width: 60 });
    for (const line of r.lines.slice(0, 4)) expect(visible(line), line).toBeLessThanOrEqual(60);
    expect(tableOf(r.lines).row('vm01')).toMatch(/1 merged is .*…$/);
    expect(tableOf(r.lines).row('vm03')).toContain('✔ ✔ ✔ ✔ ✔ ✔ ✔ ✔ ✔  ✔  ✔');
  });

  it('draws ASCII marks where the locale is not UTF-8', () => {
    const r = report([fixture('vm02.json')], { utf8: false });
    const { row, column, at } = tableOf(r.lines);
    expect([1, 4, 5, 6].map((n) => at(row('vm02'), column(n)))).toEqual(['+', '+', '>', '.']);
    expect(r.stdout).not.toMatch(/[✔▶·]/);
  });

  it('names learners host/learner when their names differ', () => {
    const other = JSON.parse(fs.readFileSync(fixture('vm02.json'), 'utf8'));
    other.host = 'vm09';
    other.learner = 'ana';
    const file = path.join(tmp, 'vm09.json');
    fs.writeFileSync(file, JSON.stringify(other));
    const r = report([fixture('vm01.json'), file]);
    expect(r.lines[0]).toMatch(/^VM\/learner /);
    expect(r.lines.some((l) => l.startsWith('vm01/learner '))).toBe(true);
    expect(r.lines.some((l) => l.startsWith('vm09/ana '))).toBe(true);
  });

  it("reads a learner's bare `list --json` too, named after its file", () => {
    const list = JSON.parse(fs.readFileSync(fixture('vm02.json'), 'utf8')).list;
    const file = path.join(tmp, 'zoe.json');
    fs.writeFileSync(file, JSON.stringify(list));
    const r = report([file]);
    expect(r.code).toBe(0);
    // No check of the current lesson was collected: the lesson's title stands in.
    expect(tableOf(r.lines).row('zoe')).toMatch(/-\s+5 A network namespace: only lo$/);
  });
});

describe('class report --json', () => {
  it('gives the same rows to a script, in English', async () => {
    await setLanguage('zh');
    try {
      const r = report([FIXTURES], { json: true });
      expect(r.code).toBe(0);
      const table = JSON.parse(r.stdout);
      expect(table.lessons).toHaveLength(11);
      expect(table.lessons[4]).toEqual({ number: 5, id: 'network-namespace' });
      const [vm01, vm02, vm03] = table.learners;
      expect(vm01.lessons.overlay).toBe('current');
      expect(vm02.lessons).toMatchObject({ overlay: 'passed', 'pid-namespace': 'passed', 'network-namespace': 'current', network: 'open' });
      expect(vm02.current).toMatchObject({ number: 5, id: 'network-namespace', passed: false });
      expect(vm02.current.failing).toEqual([{ title: 'its own network namespace', reason: expect.stringContaining("shares the host's network namespace") }]);
      expect(vm02.capstone).toEqual({ passed: false, checksPassed: 0, checks: 15 });
      expect(vm03.current).toBeNull();
      expect(vm03.capstone).toEqual({ passed: true, checksPassed: 15, checks: 15 });
      expect(table.errors).toEqual([]);
    } finally {
      await setLanguage('en');
    }
  });
});

describe('class report: files it cannot read', () => {
  it('names each bad file and what is wrong, reports the others, and exits 1', () => {
    const empty = path.join(tmp, 'empty.json');
    fs.writeFileSync(empty, '');
    const notOurs = path.join(tmp, 'package.json');
    fs.writeFileSync(notOurs, JSON.stringify({ name: 'something-else' }));
    const missing = path.join(tmp, 'vm99.json');
    // A file cut off in the middle, as a full disk or an interrupted copy leaves it.
    const truncated = path.join(tmp, 'vm04.json');
    fs.writeFileSync(truncated, fs.readFileSync(fixture('vm02.json'), 'utf8').slice(0, 1500));
    const notCollected = fixture('bad/vm05-not-collected.json');
    const r = report([fixture('vm01.json'), truncated, missing, empty, notOurs, notCollected, fixture('vm03.json')]);
    expect(r.code).toBe(1);
    // The readable ones are all there, the VM whose command failed included.
    const { row } = tableOf(r.lines);
    expect(row('vm01')).toContain('merged is an overlay mount');
    expect(row('vm03')).toContain('every lesson passed');
    expect(row('vm05')).toMatch(/not collected: list: \/usr\/local\/bin\/con/);
    expect(r.stdout).not.toMatch(/vm04|vm99/);
    const said = r.stderr.split('\n');
    expect(said).toContain(`container-lessons class report: ${truncated}: not JSON (${errorOf(truncated)})`);
    expect(said).toContain(`container-lessons class report: ${missing}: no such file`);
    expect(said).toContain(`container-lessons class report: ${empty}: it is empty`);
    expect(said.find((l) => l.includes(notOurs))).toMatch(/no "list": not a file the collect play writes/);
    expect(said).toContain(`container-lessons class report: ${notCollected}: list: /usr/local/bin/container-lessons: No such file or directory (exit 2)`);
  });

  it('names a lesson that lacks its state', () => {
    const data = JSON.parse(fs.readFileSync(fixture('vm02.json'), 'utf8'));
    delete data.list.lessons[2].state;
    const file = path.join(tmp, 'vm10.json');
    fs.writeFileSync(file, JSON.stringify(data));
    const r = report([file], { json: true });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).errors).toEqual([{ file, error: '"list": lesson 3 lacks a number, an id or a state (passed, current or open)' }]);
  });

  it('is a usage error (exit 2) without a subcommand or files', () => {
    const out = { color: false, write: () => {} };
    for (const args of [[], ['frobnicate'], ['report']]) {
      let err: unknown;
      try {
        classCommand(args, { json: false }, out);
      } catch (e) {
        err = e;
      }
      expect(err, args.join(' ')).toBeInstanceOf(ClassUsageError);
      expect((err as ClassUsageError).exitCode).toBe(2);
      expect((err as ClassUsageError).hint).toContain('container-lessons class report results/*.json');
    }
  });
});

/** What JSON.parse says about a file, as the report quotes it. */
function errorOf(file: string): string {
  try {
    JSON.parse(fs.readFileSync(file, 'utf8'));
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

describe('class report in Chinese', () => {
  afterEach(() => setLanguage('en'));
  it('translates the words and the check titles, and lines up by terminal columns', async () => {
    await setLanguage('zh');
    const r = report([FIXTURES]);
    expect(r.code).toBe(0);
    const { header, row } = tableOf(r.lines);
    expect(header).toMatch(/^虚拟机\s+1 2 3/);
    expect(header).toContain('结业项目');
    expect(row('vm02')).toContain(`5 ${tr('its own network namespace')}`);
    expect(tr('its own network namespace')).toMatch(/命名空间/);
    expect(row('vm03')).toContain('所有课程都已通过');
    expect(r.stdout).toContain('共 3 位学员，1 位通过了结业项目');
    // Every row's lesson marks start in the same terminal column as the header's "1".
    const markColumn = (line: string) => visible(line.slice(0, line.search(/[✔▶·]/)));
    expect(new Set(['vm01', 'vm02', 'vm03'].map((vm) => markColumn(row(vm))))).toEqual(new Set([visible(header.slice(0, header.indexOf('1 2 3')))]));
    for (const line of r.lines) expect(visible(line), line).toBeLessThanOrEqual(80);
    // Cut to a narrow width, a wide character is never split.
    const narrow = report([FIXTURES], { width: 56 });
    for (const line of narrow.lines.slice(0, 4)) expect(visible(line), line).toBeLessThanOrEqual(56);
    expect(tableOf(narrow.lines).row('vm02')).toMatch(/…$/);
  });
});
