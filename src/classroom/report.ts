// `container-lessons class report FILE...`: a room at a glance, from the files the classroom
// playbook's collect play fetches (classroom/ansible; the file's shape is in collected.ts).
// Learners as rows, lessons as columns, the capstone's checks, and the check the learner's
// current lesson still fails, so the instructor sees who is stuck and on what. Fitted to 80
// columns (or the terminal's width), measured in terminal columns: Chinese takes two each.
// --json gives the same table to a script, in English.
//
// Exit: 0 when every file was read and every VM answered; 1 when a file could not be read
// (or is not a collected file) or a VM's command gave no JSON: each is named on stderr (in
// the JSON under "errors"), and the others are still reported; 2 for a usage error.
import { HintedError } from '../core/errors.js';
import { fitColumns, visible } from '../columns.js';
import { paint } from '../color.js';
import { t, tr } from '../i18n/messages.js';
import { localeIsUtf8 } from '../i18n/language.js';
import { readCollected, type BadFile, type LearnerRecord, type LessonRef } from './collected.js';

export interface ReportOut {
  color: boolean;
  write: (s: string) => void;
  /** Where the bad files are named (stderr unless given). */
  warn?: (s: string) => void;
  /** The table's width in columns (80 unless given; the CLI gives a terminal's own). */
  width?: number;
  /** Marks drawn in UTF-8 (the locale's choice unless given). */
  utf8?: boolean;
}

/** A usage error of `class`: exit 2, as the CLI's own. */
export class ClassUsageError extends HintedError {
  readonly exitCode = 2;
}

/** `class <subcommand> ...` as the CLI hands it over: the words after `class`. */
export function classCommand(args: readonly string[], opts: { json: boolean }, out: ReportOut): number {
  const [sub, ...files] = args;
  if (sub !== 'report') throw new ClassUsageError(sub === undefined ? t`class what? the one subcommand is report` : t`class ${sub}: the one subcommand is report`, t`container-lessons class report results/*.json   (class --help says more)`);
  if (!files.length) throw new ClassUsageError(t`class report needs the collected files (or a directory of them)`, t`container-lessons class report results/*.json   (the playbook's collect play writes them: classroom/ansible)`);
  return classReport(files, opts, out);
}

interface Marks {
  passed: string;
  current: string;
  open: string;
}

const UTF8_MARKS: Marks = { passed: '✔', current: '▶', open: '·' };
const ASCII_MARKS: Marks = { passed: '+', current: '>', open: '.' };

/** Every lesson any learner's list names, in lesson order. */
function lessonColumns(learners: readonly LearnerRecord[]): LessonRef[] {
  const byNumber = new Map<number, LessonRef>();
  for (const l of learners) for (const x of l.lessons) if (!byNumber.has(x.number)) byNumber.set(x.number, { number: x.number, id: x.id, title: x.title });
  return [...byNumber.values()].sort((a, b) => a.number - b.number);
}

/** A row's name: host/learner, or the host alone when every VM's learner has the same name
 * (the usual room: one `learner` account on each VM), which leaves the room to the check. */
function rowNames(learners: readonly LearnerRecord[]): { header: string; name: (l: LearnerRecord) => string } {
  const names = new Set(learners.map((l) => l.learner));
  if (names.size <= 1) return { header: t`VM`, name: (l) => l.host };
  return { header: t`VM/learner`, name: (l) => (l.learner ? `${l.host}/${l.learner}` : l.host) };
}

/** The capstone cell: checks passed of all, and the mark when it passed. */
function capstoneCell(l: LearnerRecord, marks: Marks): string {
  if (!l.capstone) return '-';
  return `${l.capstone.checksPassed}/${l.capstone.checks}${l.capstone.passed ? ` ${marks.passed}` : ''}`;
}

/** The last cell: where the learner is and what fails there. */
function stuckCell(l: LearnerRecord): { text: string; kind: 'fail' | 'done' | 'plain' | 'problem' } {
  if (l.problems.length) return { text: t`not collected: ${l.problems[0]}`, kind: 'problem' };
  if (!l.current) return l.lessons.length ? { text: t`every lesson passed`, kind: 'done' } : { text: '', kind: 'plain' };
  const first = l.current.failing[0];
  if (!first) return { text: `${l.current.number} ${tr(l.current.title)}`, kind: 'plain' };
  const more = l.current.failing.length > 1 ? ` ${t`(+${l.current.failing.length - 1} more)`}` : '';
  return { text: `${l.current.number} ${tr(first.title)}${more}`, kind: 'fail' };
}

/** The table as text, at most `width` columns (a narrow width cuts names and the last cell, never the lessons). */
export function classTable(learners: readonly LearnerRecord[], width: number, opts: { color: boolean; utf8: boolean }): string {
  const c = paint(opts.color);
  const marks = opts.utf8 ? UTF8_MARKS : ASCII_MARKS;
  const lessons = lessonColumns(learners);
  const rows = rowNames(learners);
  const nameHeader = rows.header;
  const capHeader = t`capstone`;
  const stuckHeader = t`stuck on`;
  const nameWidth = Math.max(visible(nameHeader), Math.min(20, Math.max(0, ...learners.map((l) => visible(rows.name(l))))));
  const lessonWidths = lessons.map((l) => String(l.number).length);
  const capWidth = Math.max(visible(capHeader), ...learners.map((l) => visible(capstoneCell(l, marks))));
  const fixed = nameWidth + 1 + lessonWidths.reduce((a, w) => a + w + 1, 0) + 1 + capWidth + 2;
  const stuckWidth = Math.max(visible(stuckHeader), width - fixed);

  const header = [fitColumns(nameHeader, nameWidth), ...lessons.map((l, i) => String(l.number).padStart(lessonWidths[i]!)), '', fitColumns(capHeader, capWidth), '', fitColumns(stuckHeader, stuckWidth)].join(' ').trimEnd();
  const lines = [c.bold(header)];
  for (const l of learners) {
    const state = new Map(l.lessons.map((x) => [x.number, x.state]));
    const cells = lessons.map((x, i) => {
      const s = state.get(x.number);
      const mark = s === 'passed' ? c.green(marks.passed) : s === 'current' ? c.cyan(marks.current) : s === 'open' ? c.dim(marks.open) : ' ';
      return ' '.repeat(lessonWidths[i]! - 1) + mark;
    });
    const cap = fitColumns(capstoneCell(l, marks), capWidth);
    const stuck = stuckCell(l);
    const stuckText = fitColumns(stuck.text, stuckWidth).trimEnd();
    const paintStuck = stuck.kind === 'fail' || stuck.kind === 'problem' ? c.red : stuck.kind === 'done' ? c.green : (s: string) => s;
    lines.push([fitColumns(rows.name(l), nameWidth), ...cells, '', l.capstone?.passed ? c.green(cap) : cap, '', paintStuck(stuckText)].join(' ').trimEnd());
  }
  return lines.join('\n');
}

/** Below the table: what the marks mean, and how many are where. */
function summary(learners: readonly LearnerRecord[], opts: { color: boolean; utf8: boolean }): string {
  const c = paint(opts.color);
  const marks = opts.utf8 ? UTF8_MARKS : ASCII_MARKS;
  const legend = t`${marks.passed} passed  ${marks.current} current  ${marks.open} not yet   capstone: its checks passed/all`;
  const stuckOn = t`stuck on: the current lesson and the first check it still fails`;
  const on = new Map<number, number>();
  for (const l of learners) if (l.current) on.set(l.current.number, (on.get(l.current.number) ?? 0) + 1);
  const where = [...on].sort(([a], [b]) => a - b).map(([n, count]) => t`lesson ${n}: ${count}`);
  const capstones = learners.filter((l) => l.capstone?.passed).length;
  const lines = [c.dim(legend), c.dim(stuckOn), t`${learners.length} learners, ${capstones} passed the capstone`];
  if (where.length) lines.push(t`now on: ${where.join('   ')}`);
  return lines.join('\n');
}

/** The table for a script: the same rows, in English whatever the learner's language. */
export function classJson(learners: readonly LearnerRecord[], bad: readonly BadFile[]): object {
  return {
    lessons: lessonColumns(learners).map(({ number, id }) => ({ number, id })),
    learners: learners.map((l) => ({
      file: l.file,
      host: l.host,
      learner: l.learner,
      collected: l.collected,
      lessons: Object.fromEntries(l.lessons.map((x) => [x.id, x.state])),
      current: l.current && { number: l.current.number, id: l.current.id, passed: l.current.passed, failing: l.current.failing },
      capstone: l.capstone,
      problems: l.problems,
    })),
    errors: bad,
  };
}

/** `class report FILE...`: the table (or --json) of every file that can be read, the others named. */
export function classReport(files: readonly string[], opts: { json: boolean }, out: ReportOut): number {
  const { learners, bad } = readCollected(files);
  const failed = bad.length > 0 || learners.some((l) => l.problems.length > 0);
  if (opts.json) {
    out.write(`${JSON.stringify(classJson(learners, bad), null, 2)}\n`);
    return failed ? 1 : 0;
  }
  const warn = out.warn ?? ((s: string) => process.stderr.write(s));
  const c = paint(out.color);
  const style = { color: out.color, utf8: out.utf8 ?? localeIsUtf8(process.env) };
  if (learners.length) out.write(`${classTable(learners, out.width ?? 80, style)}\n\n${summary(learners, style)}\n`);
  for (const b of bad) warn(`${c.red(t`container-lessons class report: ${b.file}: ${b.error}`)}\n`);
  for (const l of learners) for (const p of l.problems) warn(`${c.yellow(t`container-lessons class report: ${l.file}: ${p}`)}\n`);
  if (bad.length) warn(`${t`(a collected file holds a VM's host, learner, list, current and capstone: classroom/README.md says how the collect play writes it)`}\n`);
  return failed ? 1 : 0;
}
