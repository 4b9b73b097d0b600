// The command line's help, kept as data, one entry per command: `help` lists every entry,
// `<command> --help` (and `help <command>`) shows one with its options explained and an
// example. The texts are English here (msg) and shown in the language in use (tr); what is
// typed (commands, options, paths) is never translated. Every line is wrapped to 80
// columns, wide characters counting two.
import { LESSONS } from './lessons/index.js';
import { msg, t, tr } from './i18n/messages.js';
import { reflow, visible } from './ui/reflow.js';

/** The width help is wrapped to: a terminal's classic width. */
const WIDTH = 80;
/** Where the list's descriptions start. */
const LIST_COLUMN = 36;

/** One way to call a command: the words after `container-lessons`, and what it does. */
interface Form {
  usage: string;
  summary: string;
}

export interface CommandHelp {
  verb: string;
  forms: Form[];
  /** Why it needs root (it is refused without); undefined: it runs as any user. */
  root?: string;
  /** The options and arguments worth explaining, as typed, with what each does. */
  options: Array<[string, string]>;
  /** One command as a learner would type it. */
  example: string;
}

const WHY_KERNEL = msg('it makes mounts, cgroups and namespaces');
const WHY_READ = msg("it reads other processes' namespaces, roots and cgroup files");
const JSON_OPTION = msg('print the result as JSON (always English), for scripts');

export const COMMANDS: CommandHelp[] = [
  {
    verb: 'list',
    forms: [{ usage: 'list [--json]', summary: msg('the lessons and your progress') }],
    options: [['--json', msg('each lesson, its state (passed, current, open) and when it was passed, as JSON')]],
    example: 'container-lessons list',
  },
  {
    verb: 'show',
    forms: [{ usage: 'show <lesson>', summary: msg("a lesson's text and its steps as commands") }],
    options: [['<lesson>', msg('a lesson, by number or id (container-lessons list shows them)')]],
    example: 'container-lessons show 1',
  },
  {
    verb: 'solve',
    forms: [{ usage: 'solve <lesson|all> [--json] [--keep]', summary: msg("run a lesson's steps for real, then its checks; everything is removed afterwards unless --keep") }],
    root: WHY_KERNEL,
    options: [
      ['<lesson|all>', msg('a lesson by number or id, or all of them in turn')],
      ['--keep', msg('leave what the lesson made, to look at and to check; reset removes it')],
      ['--json', JSON_OPTION],
    ],
    example: 'sudo container-lessons solve 1 --keep',
  },
  {
    verb: 'capstone',
    forms: [{ usage: 'capstone init [DIR]', summary: msg("the capstone's starting point: mydocker in bash, C and Rust with TODOs (DIR: ~/container-lessons/mydocker)") }],
    options: [['DIR', msg("where to write it (the lab's mydocker/ if not given); a file already there is never overwritten")]],
    example: 'container-lessons capstone init',
  },
  {
    verb: 'check',
    forms: [
      { usage: 'check <lesson> [--json] [--watch]', summary: msg('check what you built by hand (exit 0 pass, 1 fail)') },
      { usage: 'check capstone [--runtime R] [--json]', summary: msg('the capstone: your own runtime (capstone/INTERFACE.md) judged by a black-box conformance suite') },
    ],
    root: WHY_READ,
    options: [
      ['--watch', msg('look again every 2 s and print what changed; end on a pass (exit 0) or Ctrl-C (exit 130)')],
      ['--runtime R', msg("the runtime to judge; without it, mydocker (or mydocker.sh) in the lab's mydocker/")],
      ['--json', msg('print the checks as JSON (always English); with --watch, one line per change')],
    ],
    example: 'sudo container-lessons check 3 --watch',
  },
  {
    verb: 'hint',
    forms: [{ usage: 'hint <lesson> [--level 1|2|3|all]', summary: msg("a lesson's hints, from the idea to the exact commands") }],
    options: [['--level', msg('1 the idea (the default), 2 the file or syscall involved, 3 the exact commands; all: every tier')]],
    example: 'container-lessons hint 2 --level 2',
  },
  {
    verb: 'reset',
    forms: [{ usage: 'reset [lesson] [--all]', summary: msg('remove what a lesson left, made by solve or by hand (all lessons if none given; progress is kept)') }],
    root: msg('it unmounts, removes cgroups and ends container processes'),
    options: [['--all', msg("also remove your progress, the root filesystem, the capstone's image and the one-file binary's copy of the lessons' files (package/), never your mydocker/")]],
    example: 'sudo container-lessons reset 3',
  },
  {
    verb: 'rootfs',
    forms: [{ usage: 'rootfs', summary: msg('build the default root filesystem now') }],
    root: msg('the root filesystem belongs to root'),
    options: [['CONTAINER_LESSONS_ROOTFS', msg('(a variable) use this directory as the root filesystem instead: it is never built or removed')]],
    example: 'sudo container-lessons rootfs',
  },
  {
    verb: 'run',
    forms: [
      {
        usage: 'run [OPTIONS] IMAGE CMD [ARG...]',
        summary: msg('your own docker run: CMD as PID 1 in new mount, UTS, IPC, PID, network and cgroup namespaces, on an overlay of an imported IMAGE, in a cgroup of its own; exits with its code, 125 for bad input'),
      },
      { usage: 'run --rootfs DIR|lab [OPTIONS] CMD [ARG...]', summary: msg("the same on a directory (lab: the lab's own root filesystem)") },
    ],
    root: WHY_KERNEL,
    options: [
      ['--name N', msg("the container's name (default mydocker-<pid>), unique while it runs")],
      ['--hostname H', msg('its hostname (default: its name)')],
      ['--cpus C', msg('CPU quota: C CPUs (0.01 and up)')],
      ['--memory M', msg('memory limit in bytes, or with k, m, g (swap held to none)')],
      ['--pids P', msg('at most P processes')],
      ['--ip ADDR/PREFIX', msg('eth0 with this address, on the bridge $MYDOCKER_BRIDGE, default route via $MYDOCKER_GATEWAY (both set by the caller; without --ip: lo only)')],
    ],
    example: 'sudo container-lessons run --rootfs lab --cpus 0.5 /bin/sh',
  },
  {
    verb: 'import',
    forms: [{ usage: 'import <image> [--name N]', summary: msg("import a docker save tarball or an OCI image layout (a directory or its tar) into the lab's layer store") }],
    root: msg('the layer store keeps the files of a layer with their owners and modes'),
    options: [['--name N', msg("the image's name in the lab (default: the name the image carries)")]],
    example: 'sudo container-lessons import debian.tar --name debian',
  },
  {
    verb: 'demo-image',
    forms: [{ usage: 'demo-image [DIR] [--format oci|docker-save]', summary: msg("write the layers lesson's three-layer image, to import") }],
    root: msg('the image is made from the root filesystem, which belongs to root'),
    options: [
      ['DIR', msg("where to write it (default: in the lab's image sources)")],
      ['--format', msg('oci (the default): an OCI image layout; docker-save: a tarball as docker save writes it')],
    ],
    example: 'sudo container-lessons demo-image /tmp/web --format oci',
  },
  {
    verb: 'class',
    forms: [
      {
        usage: 'class report [--json] FILE|DIR...',
        summary: msg("for instructors: the class table from the files the classroom playbook collects (classroom/ansible): learners as rows, lessons as columns, the capstone's checks, the check each learner is stuck on"),
      },
    ],
    options: [
      ['FILE|DIR', msg('one file per VM, written by the collect play; a DIR: every *.json in it')],
      ['--json', msg('the table as JSON (always English)')],
    ],
    example: 'container-lessons class report results/',
  },
  {
    verb: 'picture',
    forms: [{ usage: 'picture <lesson>', summary: msg("the lesson's picture, drawn from the kernel's state now (what the Work pane shows at its end)") }],
    root: WHY_READ,
    options: [],
    example: 'sudo container-lessons picture 3',
  },
  {
    verb: 'doctor',
    forms: [{ usage: 'doctor [--json]', summary: msg('what this machine offers the lessons') }],
    options: [['--json', JSON_OPTION]],
    example: 'container-lessons doctor',
  },
  {
    verb: 'glossary',
    forms: [{ usage: 'glossary', summary: msg("the lessons' terms in English and Chinese, with the kernel's name for each") }],
    options: [],
    example: 'container-lessons glossary --lang zh',
  },
  {
    verb: 'help',
    forms: [{ usage: 'help [command]', summary: msg("this text, or a command's own help (as <command> --help)") }],
    options: [],
    example: 'container-lessons help solve',
  },
];

export function commandHelp(verb: string): CommandHelp | undefined {
  return COMMANDS.find((c) => c.verb === verb);
}

/** A paragraph wrapped to the help's width behind an indent. */
function paragraph(text: string, indent = ''): string[] {
  return reflow(text, WIDTH, indent);
}

/** Term and description in two columns: the term alone on its line when it is too wide. */
function columns(term: string, description: string, at: number): string[] {
  const pad = ' '.repeat(at);
  if (visible(term) + 2 > at) return [term, ...reflow(description, WIDTH, pad)];
  return reflow(description, WIDTH, term + ' '.repeat(at - visible(term)), pad);
}

const lessonNames = () => LESSONS.map((l) => l.id).join(', ');

/** `help`: every command, in the language in use. */
export function usage(): string {
  const lines = [
    t`container-lessons: build a Linux container by hand, lesson by lesson

usage: sudo container-lessons [--unlock-all]      the workbook (a terminal UI)
       sudo container-lessons <command> [options]`,
    '',
    ...COMMANDS.flatMap((c) => c.forms.flatMap((f) => columns(`  ${f.usage}`, tr(f.summary), LIST_COLUMN))),
    '',
    ...paragraph(t`Options for every command: --lang zh|en, the language of the lessons and messages (kept for the next time; without it, the locale decides: LANG, LC_ALL). --json output is always English.`),
    ...paragraph(t`<command> --help (or help <command>): that command's options and an example.`),
    '',
    ...paragraph(t`A lesson is named by number (1-${LESSONS.length}) or id (${lessonNames()}).`),
    ...paragraph(t`The lab lives in ~/container-lessons of the invoking user (CONTAINER_LESSONS_HOME overrides).`),
  ];
  return `${lines.join('\n')}\n`;
}

/** `<command> --help`: its forms with what each does, why it needs root, its options and
 * an example, each under a heading. */
export function verbUsage(help: CommandHelp): string {
  const command = `${help.root ? 'sudo ' : ''}container-lessons`;
  const lines = [t`usage:`, ...help.forms.flatMap((f) => [`  ${command} ${f.usage}`, ...paragraph(tr(f.summary), '      ')])];
  if (help.root) lines.push('', ...paragraph(t`It needs root: ${tr(help.root)}.`));
  if (help.options.length) {
    const at = Math.min(2 + Math.max(...help.options.map(([o]) => visible(o))) + 2, 22);
    lines.push('', t`options:`, ...help.options.flatMap(([o, d]) => columns(`  ${o}`, tr(d), at)));
  }
  lines.push('', t`example:`, `  ${help.example}`);
  return `${lines.join('\n')}\n`;
}
