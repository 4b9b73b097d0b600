// The files an instructor collects from a room of VMs (classroom/ansible, its collect play),
// read and checked into one record per learner. A file is one VM's learner:
//   { host, learner, collected, list: <list --json>, current: <check N --json> | null,
//     capstone: <check capstone --json> | null }
// where any of list/current/capstone may instead be { error, exit } when that command did
// not answer with JSON on that VM. A bare `list --json` (a learner's own, sent by hand) is
// read too, named after its file. Nothing here prints: the report decides how to show it.
import fs from 'node:fs';
import path from 'node:path';
import { t } from '../i18n/messages.js';

export type LessonState = 'passed' | 'current' | 'open';

export interface LessonRef {
  number: number;
  id: string;
  title: string;
}

export interface FailingCheck {
  title: string;
  reason: string;
}

export interface LearnerRecord {
  file: string;
  host: string;
  learner: string;
  collected: string | null;
  lessons: Array<LessonRef & { state: LessonState }>;
  /** The current lesson and what its check still fails; null when every lesson is passed or it was not checked. */
  current: (LessonRef & { passed: boolean; failing: FailingCheck[] }) | null;
  capstone: { passed: boolean; checksPassed: number; checks: number } | null;
  /** What could not be collected on that VM (a command that answered with no JSON). */
  problems: string[];
}

/** A file that cannot be reported: which one, and what is wrong with it. */
export interface BadFile {
  file: string;
  error: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const STATES: readonly string[] = ['passed', 'current', 'open'];

class ShapeError extends Error {}

/** `{ error, exit }`: a command on the VM that did not answer with JSON (the collect play writes it). */
function collectError(v: unknown): string | null {
  if (!isObject(v) || !('error' in v)) return null;
  const said = String(v.error).trim().split('\n')[0] || t`no output`;
  return typeof v.exit === 'number' ? t`${said} (exit ${v.exit})` : said;
}

function lessonsOf(list: unknown, where: string): LearnerRecord['lessons'] {
  if (!isObject(list) || !Array.isArray(list.lessons)) throw new ShapeError(t`${where} has no "lessons" list (it should be what \`container-lessons list --json\` prints)`);
  return list.lessons.map((l: unknown, i) => {
    if (!isObject(l) || typeof l.number !== 'number' || typeof l.id !== 'string' || typeof l.state !== 'string' || !STATES.includes(l.state)) {
      throw new ShapeError(t`${where}: lesson ${i + 1} lacks a number, an id or a state (passed, current or open)`);
    }
    return { number: l.number, id: l.id, title: typeof l.title === 'string' ? l.title : l.id, state: l.state as LessonState };
  });
}

/** A `check <lesson> --json` answer: passed, and its checks with a status each. */
function checkOf(v: unknown, where: string): { id: string; passed: boolean; checks: Array<{ title: string; status: string; reason: string }> } {
  if (!isObject(v) || typeof v.passed !== 'boolean' || !Array.isArray(v.checks)) throw new ShapeError(t`${where} is not what \`container-lessons check --json\` prints (no "passed" and "checks")`);
  const checks = v.checks.map((c: unknown, i) => {
    if (!isObject(c) || typeof c.title !== 'string' || typeof c.status !== 'string') throw new ShapeError(t`${where}: check ${i + 1} lacks a title or a status`);
    return { title: c.title, status: c.status, reason: typeof c.reason === 'string' ? c.reason : '' };
  });
  return { id: typeof v.id === 'string' ? v.id : '', passed: v.passed, checks };
}

/** The lesson the list calls current, with no check of it collected. */
function currentOf(lessons: LearnerRecord['lessons']): LearnerRecord['current'] {
  const lesson = lessons.find((l) => l.state === 'current');
  return lesson ? { number: lesson.number, id: lesson.id, title: lesson.title, passed: false, failing: [] } : null;
}

/** One parsed file as a learner's record; throws ShapeError naming what is wrong. */
export function learnerFrom(data: unknown, file: string): LearnerRecord {
  if (!isObject(data)) throw new ShapeError(t`not a JSON object`);
  // A bare `list --json`: the learner's progress alone, named after its file.
  if (!('list' in data) && Array.isArray(data.lessons)) {
    const lessons = lessonsOf(data, '"lessons"');
    return { file, host: path.basename(file).replace(/\.json$/i, ''), learner: '', collected: null, lessons, current: currentOf(lessons), capstone: null, problems: [] };
  }
  if (!('list' in data)) throw new ShapeError(t`no "list": not a file the collect play writes (classroom/ansible) nor \`container-lessons list --json\``);
  const host = typeof data.host === 'string' && data.host ? data.host : path.basename(file).replace(/\.json$/i, '');
  const learner = typeof data.learner === 'string' ? data.learner : '';
  const problems: string[] = [];
  const listError = collectError(data.list);
  if (listError) problems.push(t`list: ${listError}`);
  const lessons = listError ? [] : lessonsOf(data.list, '"list"');

  let current: LearnerRecord['current'] = null;
  const currentError = collectError(data.current);
  if (currentError) problems.push(t`check of the current lesson: ${currentError}`);
  else if (data.current !== null && data.current !== undefined) {
    const check = checkOf(data.current, '"current"');
    // The check is of the lesson the list calls current; a check of another one (the list
    // moved on) names nothing the table shows.
    const lesson = lessons.find((l) => l.id === check.id && l.state === 'current');
    if (lesson) {
      const failing = check.checks.filter((c) => c.status === 'fail').map((c) => ({ title: c.title, reason: c.reason }));
      current = { number: lesson.number, id: lesson.id, title: lesson.title, passed: check.passed, failing };
    }
  }
  current ??= currentOf(lessons);

  let capstone: LearnerRecord['capstone'] = null;
  const capstoneError = collectError(data.capstone);
  if (capstoneError) problems.push(t`check capstone: ${capstoneError}`);
  else if (data.capstone !== null && data.capstone !== undefined) {
    const check = checkOf(data.capstone, '"capstone"');
    capstone = { passed: check.passed, checksPassed: check.checks.filter((c) => c.status === 'pass').length, checks: check.checks.length };
  }
  return { file, host, learner, collected: typeof data.collected === 'string' ? data.collected : null, lessons, current, capstone, problems };
}

/** The files named (a directory: every *.json in it, in name order). */
export function expandPaths(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    try {
      if (fs.statSync(p).isDirectory()) {
        return fs
          .readdirSync(p)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => path.join(p, f));
      }
    } catch {
      /* not there: reading it says so, with the others still reported */
    }
    return [p];
  });
}

/** Read every file: a record for each good one, the file and what is wrong for each bad one. */
export function readCollected(paths: readonly string[]): { learners: LearnerRecord[]; bad: BadFile[] } {
  const learners: LearnerRecord[] = [];
  const bad: BadFile[] = [];
  for (const file of expandPaths(paths)) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      bad.push({ file, error: code === 'ENOENT' ? t`no such file` : t`cannot read it (${code ?? (err as Error).message})` });
      continue;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      bad.push({ file, error: text.trim() === '' ? t`it is empty` : t`not JSON (${(err as Error).message})` });
      continue;
    }
    try {
      learners.push(learnerFrom(data, file));
    } catch (err) {
      if (!(err instanceof ShapeError)) throw err;
      bad.push({ file, error: err.message });
    }
  }
  return { learners, bad };
}
