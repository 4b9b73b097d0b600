// The command line: the instructor's and the scripts' interface to every lesson.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LESSONS, findLesson, type Lesson } from './lessons/index.js';
import { labFor, readProgress, lockLab, recoverLab, labJournal, markPassed, saveLanguage, type Lab } from './lab.js';
import { solveLesson, checkLesson, watchLesson, cleanupActive, errorInfo, holdInterrupts, interruptsHeld, resetLesson, type LessonReport, type WatchLook } from './runner.js';
import { doctor } from './doctor.js';
import { ensureRootfsAsync, idleHelpers, Ledger, LockBusyError, HintedError } from './core/index.js';
import type { CheckResult } from './checks/result.js';
import { drawOnce, openPicture, pictureText, type OpenPicture } from './pictures/picture.js';
import { glyphsFor } from './pictures/glyphs.js';
import { label, t, titled, tr, setLanguage } from './i18n/messages.js';
import { chooseLanguage, isLanguage } from './i18n/language.js';
import type { WorkProgress } from './progress.js';
import { COMMANDS, commandHelp, usage, verbUsage } from './cli-help.js';
import { alignChalk, colorWanted, paint } from './color.js';
import { sudoCommand } from './sudo-hint.js';
import { LiveTail, ProgressView } from './progress-view.js';

/** The command line was wrong: exit 2. */
export class UsageError extends HintedError {
  readonly exitCode = 2;
}

function unknownCommand(verb: string): UsageError {
  return new UsageError(t`unknown command "${verb}"`, t`the commands are ${COMMANDS.map((c) => c.verb).join(', ')}; container-lessons help explains each`);
}

/** The machine or the lab is not ready: exit 3. */
class EnvError extends HintedError {
  readonly exitCode = 3;
}

interface Out {
  color: boolean;
  write: (s: string) => void;
  /** A terminal, where a step's output may be drawn as it comes and then replaced (solve). */
  live?: { columns?: number; rows?: number };
}

/** Where the progress of long work goes: stderr, so that stdout keeps only the result. */
function progressView(): ProgressView {
  const err = process.stderr;
  return new ProgressView({ write: (s) => err.write(s), isTTY: err.isTTY, columns: err.columns });
}

function lessonArg(name: string | undefined): Lesson {
  if (!name) throw new UsageError(t`name a lesson: 1-${LESSONS.length} or ${LESSONS.map((l) => l.id).join(', ')}`);
  const l = findLesson(name);
  if (!l) throw new UsageError(t`there is no lesson "${name}"; the lessons are:\n${LESSONS.map((x) => `  ${x.number}  ${x.id}`).join('\n')}`);
  return l;
}

/** hint's --level: a tier of the lesson's hints (1 unless given), or all of them. */
function hintLevel(given: string | undefined, lesson: Lesson, tiers: number): number | 'all' {
  if (given === undefined) return 1;
  if (given === 'all') return 'all';
  const n = /^\d+$/.test(given) ? Number(given) : Number.NaN;
  if (n >= 1 && n <= tiers) return n;
  const levels = Array.from({ length: tiers }, (_, i) => String(i + 1));
  throw new UsageError(t`--level is ${levels.join(', ')} or all, not "${given}"`, t`type, for example: container-lessons hint ${lesson.number} --level ${tiers} (from 1, the idea, to ${tiers}, the exact commands), or --level all`);
}

/** The command line as typed, for the "needs root" hint (main's own argv when tests call it). */
let typed: readonly string[] = process.argv.slice(2);

function requireRoot(verb: string): void {
  if (process.getuid?.() !== 0) {
    const why = commandHelp(verb)?.root;
    throw new EnvError(t`\`${verb}\` needs root: ${why ? tr(why) : t`it changes kernel state`}`, t`run it with sudo: ${sudoCommand(typed)}`);
  }
}

/** Before work in a lab: take it (one workbook per lab) and undo what a killed run left. */
async function prepareLab(lab: Lab, what: string, out: Out, opts: { lock: boolean }): Promise<void> {
  if (opts.lock) {
    const release = await lockLab(lab, what);
    process.once('exit', release);
  }
  readProgress(lab); // a progress file we cannot read stops us before any work, not after
  const { removed, errors } = await recoverLab(lab);
  const c = paint(out.color);
  if (removed.length) process.stderr.write(c.dim(t`container-lessons: an earlier run was interrupted; removed what it left: ${removed.map((r) => `${r.kind} ${r.name}`).join('; ')}`) + '\n');
  for (const e of errors) process.stderr.write(c.red(t`container-lessons: could not remove what an interrupted run left: ${e}`) + '\n');
}

/** "Lesson 3 · A mount namespace and a new root", in the language in use. */
function lessonHeading(lesson: Lesson): string {
  return t`Lesson ${lesson.number} · ${tr(lesson.title)}`;
}

function formatChecks(results: CheckResult[], out: Out): string {
  const c = paint(out.color);
  return results
    .map((r) => {
      const mark = r.status === 'pass' ? c.green(`✔ ${t`pass`}`) : r.status === 'fail' ? c.red(`✘ ${t`fail`}`) : c.yellow(`– ${t`skip`}`);
      const lines = [`  ${mark}  ${titled(c.bold(tr(r.title)), r.reason)}`];
      if (r.hint) lines.push(`          ${c.yellow(label(t`hint:`))}${r.hint}`);
      if (r.looked.length) lines.push(c.dim(`          ${label(t`looked at:`)}${r.looked.join(', ')}`));
      return lines.join('\n');
    })
    .join('\n');
}

function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

function formatVerdict(passed: boolean, out: Out, what: string): string {
  const c = paint(out.color);
  return passed ? c.green(t`${what}: passed`) : c.red(t`${what}: not passed yet`);
}

async function cmdSolve(args: string[], opts: { json: boolean; keep: boolean }, lab: Lab, out: Out): Promise<number> {
  requireRoot('solve');
  await prepareLab(lab, `solve ${args.join(' ')}`, out, { lock: true });
  const which = args[0] === 'all' ? LESSONS : [lessonArg(args[0])];
  // Steps follow one another at once: while one works, the helpers of the next are starting.
  if (!opts.keep) idleHelpers.start();
  const c = paint(out.color);
  const reports: LessonReport[] = [];
  // On a terminal, the last lines a step prints show while it runs; its whole output
  // replaces them when it ends (a pipe gets the whole output only, as before).
  const term = out.live;
  const live =
    term && !opts.json
      ? new LiveTail({
          write: out.write,
          isTTY: true,
          get columns() {
            return term.columns;
          },
          get rows() {
            return term.rows;
          },
        })
      : null;
  try {
    for (const lesson of which) {
      if (!opts.json) out.write(`\n${c.bold(c.cyan(lessonHeading(lesson)))}\n`);
      // Printed after the checks; open from the start, as the TUI's is while the lesson is
      // shown: a live picture has seen the steps and the checks by then, and is not waited for.
      const picture = !opts.json && lesson.picture ? openPicture(lesson.picture.bind(lesson), lab) : null;
      let report: LessonReport;
      try {
        report = await solveLesson(lesson, lab, {
          keep: opts.keep,
          hooks: opts.json
            ? {}
            : {
                onStepStart: (_l, step, i) => out.write(`\n${c.bold(`── ${t`step ${i + 1}/${lesson.steps.length}: ${tr(step.title)}`}`)}\n${c.dim(indent(step.commands(lab).join('\n'), '   '))}\n`),
                ...(live ? { onStepLine: (_l: Lesson, line: string) => live.line(line), onStepProgress: (_l: Lesson, p: WorkProgress) => live.progress(p) } : {}),
                onStepDone: (_l, sr) => {
                  live?.clear();
                  if (sr.output) out.write(indent(sr.output) + '\n');
                  if (sr.error) out.write(c.red(`    ${label(t`error:`)}${sr.error.message}`) + (sr.error.hint ? `\n    ${c.yellow(label(t`hint:`))}${sr.error.hint}` : '') + '\n');
                },
                onChecking: () => {
                  picture?.checking(true);
                  out.write(`\n${c.bold(`── ${t`checks`}`)} ${c.dim(t`(reading the kernel)`)}\n`);
                },
                // Above the live tail, if one is drawn: the tail stays below it.
                onNote: (text) => (live ? live.above(`${c.yellow(`    ${text}`)}\n`) : out.write(c.yellow(`    ${text}`) + '\n')),
                beforeEnd: async (l) => {
                  picture?.checking(false);
                  if (picture) out.write(`\n${await pictureReport(l, lab, picture)}\n`);
                },
              },
        });
      } finally {
        picture?.close();
      }
      reports.push(report);
      if (!opts.json) {
        if (report.reset.length) out.write(c.dim(`  ${t`(cleared first: ${report.reset.join('; ')})`}`) + '\n');
        if (report.checks.length) out.write(formatChecks(report.checks, out) + '\n');
        const made = report.cleanup.removed.map((e) => `${e.kind} ${e.name}`).join('; ') || t`nothing`;
        if (report.cleanup.kept) out.write(c.dim(`  ${t`kept (--keep): ${made}; \`container-lessons reset ${lesson.number}\` removes it`}`) + '\n');
        else out.write(c.dim(`  ${t`removed: ${made}`}`) + '\n');
        for (const e of report.cleanup.errors) out.write(c.red(`  ${label(t`cleanup:`)}${e}`) + '\n');
        out.write(formatVerdict(report.passed, out, t`Lesson ${lesson.number}`) + '\n');
      }
    }
  } finally {
    // Ended here, not by the exit: one still starting has no parent-death signal yet.
    await idleHelpers.stop();
  }
  const ok = reports.every((r) => r.passed && !r.cleanup.errors.length);
  if (opts.json) out.write(JSON.stringify({ passed: ok, lessons: reports }, null, 2) + '\n');
  else if (which.length > 1) out.write('\n' + formatVerdict(ok, out, t`${reports.filter((r) => r.passed).length} of ${reports.length} lessons`) + '\n');
  return ok ? 0 : 1;
}

/** A lesson's picture as text, at the terminal's width (at most 100 columns): the one solve
 * opened when the lesson started (drawn at once: it has sampled the whole lesson), or one
 * opened now and given its settling time. */
async function pictureReport(lesson: Lesson, lab: Lab, opened?: OpenPicture): Promise<string> {
  if (!lesson.picture) return t`Lesson ${lesson.number} has no picture.`;
  const width = Math.min(process.stdout.columns || 80, 100);
  const glyphs = glyphsFor();
  const opts = { width, glyphs };
  return pictureText(await (opened ? opened.draw(opts) : drawOnce(lesson.picture.bind(lesson), lab, opts)), width, glyphs);
}

async function cmdPicture(args: string[], lab: Lab, out: Out): Promise<number> {
  requireRoot('picture');
  const lesson = lessonArg(args[0]);
  await prepareLab(lab, `picture ${lesson.number}`, out, { lock: false });
  out.write(`${paint(out.color).bold(lessonHeading(lesson))}\n${await pictureReport(lesson, lab)}\n`);
  return 0;
}

async function cmdCheck(args: string[], opts: { json: boolean; watch: boolean; runtime?: string }, lab: Lab, out: Out): Promise<number> {
  requireRoot('check');
  if (args[0]?.trim().toLowerCase() === 'capstone' && opts.runtime !== undefined) return checkCapstone(opts, lab, out);
  const lesson = lessonArg(args[0]);
  await prepareLab(lab, `check ${lesson.number}`, out, { lock: false });
  if (opts.watch) return watchCheck(lesson, opts, lab, out);
  const c = paint(out.color);
  const { checks, passed } = await checkLesson(lesson, lab, { note: opts.json ? undefined : (note) => out.write(c.dim(`  ... ${note}`) + '\n') });
  if (opts.json) out.write(JSON.stringify({ id: lesson.id, number: lesson.number, passed, checks }, null, 2) + '\n');
  else {
    out.write(`${paint(out.color).bold(lessonHeading(lesson))}\n${formatChecks(checks, out)}\n${formatVerdict(passed, out, t`Lesson ${lesson.number}`)}\n`);
    if (passed) {
      const next = LESSONS[lesson.number];
      if (next) out.write(`${t`next: container-lessons show ${next.number}   (${tr(next.title)})`}\n`);
    }
  }
  return passed ? 0 : 1;
}

/** `check capstone --runtime R`: the capstone's conformance suite (src/capstone/suite.ts)
 * against a runtime anywhere, run as a black box through capstone/INTERFACE.md (without
 * --runtime, `check capstone` is lesson 11's check of the runtime in the lab). For learners
 * and instructors (--json for a room's reports); a pass counts as the capstone passed. */
async function checkCapstone(opts: { json: boolean; runtime?: string }, lab: Lab, out: Out): Promise<number> {
  if (!opts.runtime)
    throw new UsageError(t`--runtime needs the path of the runtime to judge: check capstone --runtime ./mydocker`, t`or leave --runtime out: check capstone grades mydocker in the lab (container-lessons capstone init writes it)`);
  const file = path.resolve(opts.runtime);
  const fs = await import('node:fs');
  if (!fs.existsSync(file)) throw new UsageError(t`no runtime at ${file}`, t`give the path of your mydocker: --runtime ./mydocker`);
  const { runtimeArgv } = await import('./capstone/workdir.js');
  // A script not made executable yet still runs, through bash.
  const runtime = runtimeArgv(file);
  if (!runtime) throw new UsageError(t`${file} is not executable`, t`chmod +x ${opts.runtime}, or build it (cc -O2 -Wall -o mydocker mydocker.c)`);
  await prepareLab(lab, 'check capstone', out, { lock: false });
  const { runSuite } = await import('./capstone/suite.js');
  const c = paint(out.color);
  const checks = await runSuite({ lab, runtime, note: opts.json ? undefined : (note) => out.write(c.dim(`  ... ${note}`) + '\n') });
  const passed = checks.every((x) => x.status !== 'fail');
  if (passed) markPassed(lab, 'capstone');
  if (opts.json) out.write(JSON.stringify({ id: 'capstone', runtime: file, passed, checks }, null, 2) + '\n');
  else out.write(`${c.bold(t`Capstone · ${file}`)}\n${formatChecks(checks, out)}\n${formatVerdict(passed, out, t`The capstone`)}\n`);
  return passed ? 0 : 1;
}

/** `capstone init [DIR]`: the starting point of the capstone, in the lab's mydocker/ (what
 * `check capstone` grades) or in DIR; never over a file already there. */
async function cmdCapstone(args: string[], lab: Lab, out: Out): Promise<number> {
  if (args[0] !== 'init' || args.length > 2) throw new UsageError(t`capstone ${args.join(' ')}: the capstone has one command, init`, t`container-lessons capstone init [DIR]   (DIR: where to write it; the lab's mydocker/ if not given)`);
  const { initRuntimeDir, InitError } = await import('./capstone/workdir.js');
  const { mydockerDir } = await import('./lessons/11-capstone.js');
  const dir = args[1] ? path.resolve(args[1]) : mydockerDir(lab);
  let said: string[];
  try {
    said = initRuntimeDir(dir, lab);
  } catch (err) {
    if (err instanceof InitError) throw new UsageError(err.message, err.hint);
    throw err;
  }
  const graded = dir === mydockerDir(lab) ? 'sudo container-lessons check capstone' : `sudo container-lessons check capstone --runtime ${path.join(dir, 'mydocker.sh')}`;
  out.write(`${said.join('\n')}\n\n${t`next: fill in the TODOs of one of them (${path.join(dir, 'README.md')} says how), then`}\n      ${graded}\n`);
  return 0;
}

/** How often `check --watch` looks again: often enough to follow a learner, and lesson 2's
 * measuring (half a second and more) still leaves the machine mostly idle. */
const WATCH_MS = 2000;

/** `check N --watch`: the first look whole, then only what changed (with the time), until
 * a pass (exit 0, recorded like `check`) or Ctrl-C (exit 130). It only reads: a Ctrl-C
 * lets the look under way finish (a second one ends at once) and leaves nothing behind. */
async function watchCheck(lesson: Lesson, opts: { json: boolean }, lab: Lab, out: Out): Promise<number> {
  const c = paint(out.color);
  const stop = new AbortController();
  const onInterrupt = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  };
  const onLook = (look: WatchLook) => {
    if (opts.json) {
      if (look.n === 1 || look.changed.length || look.gone.length) out.write(JSON.stringify({ id: lesson.id, number: lesson.number, look: look.n, passed: look.passed, changed: look.changed, gone: look.gone }) + '\n');
      return;
    }
    if (look.n === 1) {
      out.write(`${c.bold(lessonHeading(lesson))}\n${formatChecks(look.checks, out)}\n`);
      if (!look.passed) out.write(c.dim(t`watching: a look every ${WATCH_MS / 1000} s, printing only what changes; Ctrl-C stops`) + '\n');
    } else if (look.changed.length || look.gone.length) {
      out.write(c.dim(`── ${t`${new Date().toTimeString().slice(0, 8)}, look ${look.n}:`}`) + '\n');
      if (look.changed.length) out.write(formatChecks(look.changed, out) + '\n');
      for (const title of look.gone) out.write(c.dim(`  – ${t`no longer reported: ${tr(title)}`}`) + '\n');
    }
    if (look.passed) {
      out.write(formatVerdict(true, out, t`Lesson ${lesson.number}`) + '\n');
      const next = LESSONS[lesson.number];
      if (next) out.write(`${t`next: container-lessons show ${next.number}   (${tr(next.title)})`}\n`);
    }
  };
  // Ctrl-C is the watch's own way to end (the CLI's handler would exit at once).
  process.on('SIGINT', onInterrupt);
  try {
    const { passed, looks } = await holdInterrupts(watchLesson(lesson, lab, { intervalMs: WATCH_MS, signal: stop.signal, onLook }));
    if (passed) return 0;
    if (!opts.json) out.write(`${formatVerdict(false, out, t`Lesson ${lesson.number}`)} ${c.dim(looks === 1 ? t`(stopped watching after 1 look)` : t`(stopped watching after ${looks} looks)`)}\n`);
    return 130;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

function cmdList(opts: { json: boolean }, lab: Lab, out: Out): number {
  let passed: Record<string, string> = {};
  let warning = '';
  try {
    passed = readProgress(lab).passed;
  } catch (err) {
    warning = (err as Error).message;
  }
  const firstOpen = LESSONS.find((l) => !passed[l.id]);
  const rows = LESSONS.map((l) => ({ number: l.number, id: l.id, title: l.title, state: passed[l.id] ? 'passed' : l === firstOpen ? 'current' : 'open', passedAt: passed[l.id] ?? null }));
  if (opts.json) {
    out.write(JSON.stringify({ labRoot: lab.root, lessons: rows, warning: warning || undefined }, null, 2) + '\n');
    return 0;
  }
  const c = paint(out.color);
  for (const r of rows) {
    const mark = r.state === 'passed' ? c.green('✔') : r.state === 'current' ? c.cyan('▶') : ' ';
    out.write(`${mark} ${r.number}  ${r.id.padEnd(18)} ${tr(r.title)}\n`);
  }
  if (warning) out.write(c.yellow(`${label(t`warning:`)}${warning}`) + '\n');
  out.write(c.dim(`\n${t`lab: ${lab.root}   start with: container-lessons show ${firstOpen?.number ?? 1}`}`) + '\n');
  return 0;
}

async function cmdReset(args: string[], opts: { all: boolean }, lab: Lab, out: Out): Promise<number> {
  requireRoot('reset');
  await prepareLab(lab, 'reset', out, { lock: true });
  const which = args[0] ? [lessonArg(args[0])] : LESSONS;
  const removed: string[] = [];
  for (const l of [...which].reverse()) removed.push(...(await resetLesson(l, lab)));
  if (opts.all) {
    const fs = await import('node:fs');
    const custom = !!process.env.CONTAINER_LESSONS_ROOTFS;
    if (custom) removed.push(t`kept ${lab.rootfs}: it is your own root filesystem (CONTAINER_LESSONS_ROOTFS), not the workbook's`);
    // The capstone's lab holds an image made from the rootfs: it goes with it. The learner's
    // runtime (the lab's mydocker/) is their work: it stays.
    const { capstoneHome } = await import('./capstone/suite.js');
    // The one-file binary's copy of the package's files (src/sea-files.ts): its next run
    // writes them again.
    const { labPackagePaths } = await import('./sea-files.js');
    for (const p of [...(custom ? [lab.progressFile] : [lab.rootfs, capstoneHome(lab), lab.progressFile]), ...labPackagePaths(lab)]) {
      if (fs.existsSync(p)) {
        fs.rmSync(p, { recursive: true, force: true });
        removed.push(p);
      }
    }
  }
  out.write(removed.length ? `${t`removed:`}\n${removed.map((r) => `  ${r}`).join('\n')}\n` : `${t`nothing to remove`}\n`);
  return 0;
}

function cmdDoctor(opts: { json: boolean }, lab: Lab, out: Out): number {
  const report = doctor(lab);
  if (opts.json) {
    out.write(JSON.stringify(report, null, 2) + '\n');
    return report.ok ? 0 : 1;
  }
  const c = paint(out.color);
  for (const f of report.findings) {
    const mark = f.level === 'ok' ? c.green('✔') : f.level === 'warn' ? c.yellow('!') : c.red('✘');
    out.write(`${mark} ${f.name.padEnd(18)} ${f.detail}\n`);
    if (f.fix) out.write(`  ${' '.repeat(18)} ${c.yellow(label(t`fix:`))}${f.fix}\n`);
  }
  out.write(`\nlabRoot: ${report.labRoot}\ncgroup mode: ${report.cgroupMode}\n${report.ok ? c.green(t`ready for the lessons`) : c.red(t`not ready: see the fixes above`)}\n`);
  return report.ok ? 0 : 1;
}

/** `run`: the capstone's runtime interface (runtime.ts). It reads its own command line
 * (options end at IMAGE, so the command's own options are its own) and, as docker run does,
 * answers a bad one, and any failure before the command runs, with one line and exit 125. */
async function cmdRun(argv: string[], lab: Lab, out: Out): Promise<number> {
  const { parseRunArgs, runContainer, startFailureCode, saidByHelper, RunInputError } = await import('./runtime.js');
  const say = (message: string) => process.stderr.write(`container-lessons run: ${message.split('\n')[0]}\n`);
  try {
    const args = parseRunArgs(argv);
    if (args.help) {
      out.write(verbUsage(commandHelp('run')!));
      return 0;
    }
    // One line, as every answer of run before its command starts: the command that works.
    if (process.getuid?.() !== 0) throw new RunInputError(t`run needs root: it makes mounts, cgroups and namespaces; as root: ${sudoCommand(typed)}`);
    const { code, leftovers } = await runContainer(args, lab, { prepareLab: () => prepareLab(lab, 'run', out, { lock: false }) });
    reportLeftovers(leftovers);
    return code;
  } catch (err) {
    const e = err as Error & { leftovers?: string[] };
    if (!saidByHelper(err)) say(err instanceof RunInputError ? e.message : errorInfo(err).message);
    reportLeftovers(e.leftovers ?? []);
    return err instanceof RunInputError ? 125 : startFailureCode(err);
  }
}

async function cmdImport(args: string[], opts: { name?: string }, lab: Lab, out: Out): Promise<number> {
  if (!args[0]) throw new UsageError(t`import what? a docker save tarball, or an OCI image layout (a directory or a tar of one)`);
  requireRoot('import');
  await prepareLab(lab, 'import', out, { lock: true });
  const { importImage, LayerStore } = await import('./core/index.js');
  const { storePaths } = await import('./lessons/07-layers.js');
  const { layers } = storePaths(lab);
  const ledger = new Ledger(labJournal(lab));
  const view = progressView();
  process.stderr.write(`${t`importing ${args[0]} into ${layers}`}\n`);
  try {
    const img = await importImage(path.resolve(args[0]), new LayerStore(layers), { name: opts.name, ledger, onProgress: (p) => view.update(p) });
    view.end();
    out.write(`${img.layers.length === 1 ? t`imported ${img.name} (${img.format}, 1 layer) into ${layers}` : t`imported ${img.name} (${img.format}, ${img.layers.length} layers) into ${layers}`}\n`);
    for (const [i, l] of img.layers.entries()) out.write(`  ${t`layer ${i + 1}: ${l.id.slice(0, 12)}  ${l.reused ? t`already there` : t`unpacked`}  (diff ${l.diffId.slice(0, 19)}…)`}\n`);
    out.write(`${t`top layer: ${img.top}`}\n`);
    return 0;
  } finally {
    view.end();
    await ledger.cleanup(); // only half-made pieces of a failed import are in it
  }
}

async function cmdDemoImage(args: string[], opts: { format?: string }, lab: Lab, out: Out): Promise<number> {
  const format = opts.format ?? 'oci';
  if (format !== 'oci' && format !== 'docker-save') throw new UsageError(t`--format is oci or docker-save, not "${format}"`);
  requireRoot('demo-image');
  await prepareLab(lab, 'demo-image', out, { lock: true });
  const { writeDemoImage } = await import('./lessons/07-layers.js');
  const target = await writeDemoImage(lab, format, args[0] ? path.resolve(args[0]) : undefined);
  out.write(`${format === 'oci' ? t`wrote an OCI image layout: ${target}` : t`wrote a docker save tarball: ${target}`}\n${t`import it with: container-lessons import ${target}`}\n`);
  return 0;
}

/** stdout; on a terminal, one whose size the live output of `solve` follows. */
function defaultOut(): Out {
  const so = process.stdout;
  return {
    color: colorWanted(),
    write: (s) => so.write(s),
    live: so.isTTY
      ? {
          get columns() {
            return so.columns;
          },
          get rows() {
            return so.rows;
          },
        }
      : undefined,
  };
}

/** Speak the learner's language from here on: --lang (kept with the progress for the next
 * time), else the language kept, else the locale's. What is printed as JSON stays English
 * whatever the learner reads, so that an instructor's tools read every learner's alike.
 * Returns a note to show once, or ''. */
async function speak(flag: string | undefined, opts: { json: boolean; lab: Lab; keep?: boolean }): Promise<string> {
  let saved: ReturnType<typeof readProgress>['language'];
  try {
    saved = readProgress(opts.lab).language;
  } catch {
    saved = undefined; // an unreadable progress file is reported where it is read
  }
  const given = isLanguage(flag) ? flag : undefined;
  const choice = chooseLanguage({ flag: given, saved, env: process.env });
  await setLanguage(opts.json ? 'en' : choice.lang);
  if (flag !== undefined && !given) throw new UsageError(t`--lang is zh or en, not "${flag}"`, t`for example: container-lessons --lang zh (kept for the next time; the locale decides when it is not given)`);
  if (given && given !== saved && opts.keep !== false) {
    try {
      saveLanguage(opts.lab, given);
    } catch {
      /* not kept (a lab this user cannot write): it still holds for this run */
    }
  }
  if (opts.json) return '';
  if (choice.notUtf8) return t`the locale asks for Chinese, but its character set is not UTF-8: shown in English (a UTF-8 locale such as zh_CN.UTF-8, or --lang zh, shows Chinese)`;
  return choice.fallback ? t`the lessons are written in simplified Chinese; traditional characters are not available (--lang en for English)` : '';
}

/** The terms of the lessons in both languages, with the kernel's name for each. */
async function cmdGlossary(out: Out): Promise<number> {
  const { GLOSSARY } = await import('./i18n/glossary.js');
  const { visible } = await import('./ui/reflow.js');
  const c = paint(out.color);
  const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - visible(s)));
  const en = Math.max(...GLOSSARY.map((g) => visible(g.en)));
  const zh = Math.max(...GLOSSARY.map((g) => visible(g.zh)));
  out.write(`${c.bold(`${pad('English', en)}  ${pad('中文', zh)}  ${t`in the kernel`}`)}\n`);
  for (const g of GLOSSARY) out.write(`${pad(g.en, en)}  ${pad(g.zh, zh)}  ${c.dim(g.kernel)}\n`);
  return 0;
}

export async function main(argv: string[], out: Out = defaultOut()): Promise<number> {
  typed = argv;
  // run reads its own command line: everything after IMAGE belongs to the command.
  if (argv[0] === 'run') {
    const lab = labFor();
    await speak(undefined, { json: false, lab });
    return cmdRun(argv.slice(1), lab, out);
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
      name: { type: 'string' },
      rootfs: { type: 'string' },
      hostname: { type: 'string' },
      cpus: { type: 'string' },
      level: { type: 'string' },
      runtime: { type: 'string' },
      format: { type: 'string', default: 'oci' },
      keep: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      'unlock-all': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      version: { type: 'boolean', short: 'v', default: false },
      lang: { type: 'string' },
    },
  });
  const [verb, ...args] = positionals;
  const helping = values.help || verb === 'help';
  const lab = labFor();
  // Help reads no lab and keeps nothing: a --lang given with it holds for this run only.
  const languageNote = await speak(values.lang, { json: values.json, lab, keep: !helping });
  if (languageNote && verb !== undefined) process.stderr.write(`container-lessons: ${languageNote}\n`);
  if (helping) {
    // `--help` and `help`: every command; `solve --help` and `help solve`: one.
    const which = values.help ? verb : args[0];
    if (which === undefined) {
      out.write(usage());
      return 0;
    }
    const help = commandHelp(which);
    if (!help) throw unknownCommand(which);
    out.write(verbUsage(help));
    return 0;
  }
  if (values.version) {
    const { createRequire } = await import('node:module');
    out.write(createRequire(import.meta.url)('../package.json').version + '\n');
    return 0;
  }
  switch (verb) {
    case undefined: {
      // ink draws only a final frame when it thinks it runs in CI (CI=true, read when ink
      // is loaded). On a real terminal the learner needs every frame.
      if (process.stdin.isTTY && process.stdout.isTTY) {
        for (const v of ['CI', 'CONTINUOUS_INTEGRATION']) delete process.env[v];
        // Keys pressed while ink loads (half a second) would arrive line-buffered: an Enter
        // as "\n", which ink does not report as return. In raw mode it stays "\r".
        process.stdin.setRawMode(true);
      }
      await alignChalk(out.color);
      const { runTui } = await import('./ui/tui.js');
      const code = await runTui({ lab, unlockAll: values['unlock-all'], out, note: languageNote });
      // Quit from the "needs root" screen: the command to type, on the normal screen.
      if (code === 3 && process.getuid?.() !== 0) process.stderr.write(`${t`container-lessons: the workbook needs root: it makes mounts, cgroups and namespaces`}\n${label(t`hint:`)}${t`run it with sudo: ${sudoCommand(typed)}`}\n`);
      return code;
    }
    case 'list':
      return cmdList(values, lab, out);
    case 'glossary':
      return cmdGlossary(out);
    case 'show': {
      const lesson = lessonArg(args[0]);
      // marked-terminal brings a syntax highlighter: loaded only when a text is shown.
      const { lessonMarkdown, renderMarkdown } = await import('./render.js');
      await alignChalk(out.color);
      out.write(renderMarkdown(lessonMarkdown(lesson, lab), { color: out.color, width: Math.min(process.stdout.columns || 80, 100) }) + '\n');
      return 0;
    }
    case 'hint': {
      const lesson = lessonArg(args[0]);
      const tiers = lesson.hints(lab);
      const level = hintLevel(values.level, lesson, tiers.length);
      for (const [i, h] of tiers.entries()) if (level === 'all' || level === i + 1) out.write(`${t`Lesson ${lesson.number} hint ${i + 1} of ${tiers.length}: ${h}`}\n`);
      if (level !== 'all' && level < tiers.length) out.write(`${t`(more: container-lessons hint ${lesson.number} --level ${level + 1})`}\n`);
      return 0;
    }
    case 'solve':
      if (!args[0]) throw new UsageError(t`solve what? a lesson (1-${LESSONS.length} or its id) or all`);
      return cmdSolve(args, values, lab, out);
    case 'check':
      return cmdCheck(args, values, lab, out);
    case 'reset':
      return cmdReset(args, values, lab, out);
    case 'doctor':
      return cmdDoctor(values, lab, out);
    case 'picture':
      return cmdPicture(args, lab, out);
    case 'rootfs': {
      requireRoot('rootfs');
      await prepareLab(lab, 'rootfs', out, { lock: true });
      const view = progressView();
      const { marker, built } = await ensureRootfsAsync(lab.rootfs, new Ledger(labJournal(lab)), { build: !lab.customRootfs, onProgress: (p) => view.update(p) }).finally(() => view.end());
      out.write(`${built ? t`built: ${lab.rootfs}` : t`already there: ${lab.rootfs}`} (${marker.kind}${marker.tools ? `: ${marker.tools.join(' ')}` : ''})\n`);
      return 0;
    }
    case 'run':
      // Only as the first word (see above): after a global option, say where it goes.
      throw new UsageError(t`put run first: container-lessons run [OPTIONS] IMAGE CMD [ARG...]`);
    case 'import':
      return cmdImport(args, values, lab, out);
    case 'capstone':
      return cmdCapstone(args, lab, out);
    case 'demo-image':
      return cmdDemoImage(args, values, lab, out);
    case 'class': {
      // The instructor's side (classroom/): loaded only when asked for.
      const { classCommand } = await import('./classroom/report.js');
      return classCommand(args, { json: values.json }, { ...out, width: process.stdout.isTTY ? Math.max(60, process.stdout.columns) : undefined });
    }
    default:
      throw unknownCommand(verb);
  }
}

/** Entry point: turn every failure into a message and an exit code, never a stack trace. */
/** Say what a cleanup could not remove, and how to remove it. */
function reportLeftovers(errors: string[]): void {
  for (const e of errors) process.stderr.write(`${t`container-lessons: could not remove: ${e}`}\n`);
  if (errors.length) process.stderr.write(`${t`container-lessons: to remove what is left, run as root: container-lessons reset`}\n`);
}

export async function run(argv = process.argv.slice(2)): Promise<void> {
  // `show 2 | head` closes the pipe early: what is left to print is not wanted, but the
  // work (a solve and its cleanup) must still finish, so EPIPE is only ignored.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  let exiting = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (sig === 'SIGINT' && interruptsHeld()) return; // Ctrl-C meant for the learner's shell
    if (exiting) return;
    exiting = true;
    process.stderr.write(`\n${t`container-lessons: ${sig}: cleaning up before exit...`}\n`);
    void cleanupActive(`stopping for ${sig}`)
      .then(reportLeftovers, (err: unknown) => reportLeftovers([errorInfo(err).message]))
      .finally(() => process.exit(128 + os.constants.signals[sig]));
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  let code: number;
  try {
    code = await main(argv);
  } catch (err) {
    const e = err as Error & { exitCode?: number; code?: string };
    const info = errorInfo(err);
    const usage = ['ERR_PARSE_ARGS_UNKNOWN_OPTION', 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL', 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'];
    code = e.exitCode ?? (err instanceof LockBusyError ? 3 : usage.includes(e.code ?? '') ? 2 : 1);
    // A script that asked for JSON gets its failure as JSON too (in English, as all of it),
    // and nothing else on stdout.
    if (asksForJson(argv)) process.stdout.write(`${JSON.stringify({ error: info.message, hint: info.hint ?? null, exit: code })}\n`);
    else process.stderr.write(`container-lessons: ${info.message}\n${info.hint ? `${label(t`hint:`)}${info.hint}\n` : ''}`);
    if (process.env.CONTAINER_LESSONS_DEBUG) process.stderr.write(String(e.stack) + '\n');
    reportLeftovers(await cleanupActive());
  }
  process.exitCode = code;
}

/** --json among the workbook's own options (not after `--`, not in what `run` runs). */
function asksForJson(argv: readonly string[]): boolean {
  if (argv[0] === 'run') return false;
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}
