// Lesson 11, the capstone: the learner's own `docker run` (mydocker, in bash, C or Rust),
// written from the skeleton `capstone init` puts in the lab, and graded as a black box by the
// conformance suite (src/capstone/suite.ts): from outside, by what the kernel shows. The
// steps show the goal done by the workbook's own `run`, the suite's report on the skeleton
// as it is, and then the bash reference in the learner's place at work.
import fs from 'node:fs';
import path from 'node:path';
import type { Ledger } from '../core/index.js';
import { holdMachineName, type Lab } from '../lab.js';
import type { CheckResult } from '../checks/result.js';
import { CAPSTONE_IMAGE, CHECKS, PROBE_NAMES_LOCK, capstoneHome, ensureCapstoneImage, notStarted, runSuite } from '../capstone/suite.js';
import { STEP_NAMES, resetCapstone } from '../capstone/reset.js';
import { Probe, exitCode } from '../capstone/probe.js';
import { CAPSTONE_SOURCES, REFERENCE, gradedRuntime, initRuntimeDir, putReference, runtimeArgv } from '../capstone/workdir.js';
import { SELF_ARGV } from '../package-dir.js';
import { defineLesson, type LessonContext } from './types.js';
import { hostShell, lines } from './show.js';
import { drawRuntimeContainers } from '../pictures/runtime-containers.js';
import { t, tr } from '../i18n/messages.js';

/** Where the learner's runtime lives in the lab: what `capstone init` writes by default and
 * the check grades. Not a lab path of the lesson's (those a solve removes again): it holds the
 * learner's own work, which stays, as the capstone's lab keeps its image. */
export const mydockerDir = (lab: Lab) => path.join(lab.root, 'mydocker');
const [GOAL, HELLO] = STEP_NAMES;

/** What the goal's container shows of itself: its name, its PID, its root and its links. */
const INSIDE = 'echo "hostname $(hostname), pid $$, links" $(cut -s -d: -f1 /proc/net/dev); echo / holds $(ls /)';

/** `CONTAINER_LESSONS_HOME=<the capstone's lab> RUNTIME run OPTIONS capstone sh -c INSIDE`, as typed. */
const typed = (lab: Lab, runtime: string, options: string) => `sudo CONTAINER_LESSONS_HOME=${capstoneHome(lab)} ${runtime} run ${options} ${CAPSTONE_IMAGE} sh -c '${INSIDE}'`;

/** How long a step's container may take: its command ends at once. */
const RUN_MS = 60_000;

/** Run a runtime in the capstone's lab to its end, as the suite runs its probes: what it
 * printed, and its exit. Recorded in the ledger meanwhile; a runtime of the learner's still
 * running after a minute is stopped as the suite stops one (SIGTERM first). */
async function runRuntime(ledger: Ledger, lab: Lab, runtime: string[], options: string[]): Promise<string> {
  const p = new Probe({ runtime, options, image: CAPSTONE_IMAGE, script: INSIDE, env: { ...process.env, CONTAINER_LESSONS_HOME: capstoneHome(lab), NO_COLOR: '1' } });
  const entry = ledger.add(p.undo, () => p.kill());
  const ended = await p.end(RUN_MS);
  await p.kill();
  entry.drop();
  const out = `${p.stdout}${p.stderr}`.trimEnd();
  if (!ended) return `${out}\n${t`(stopped with SIGTERM: still running after ${RUN_MS / 1000} s)`}`;
  return exitCode(ended) ? `${out}\n${t`(exit ${exitCode(ended)})`}` : out;
}

const lesson = defineLesson<Record<string, never>>({
  id: 'capstone',
  title: 'The capstone: your own docker run',
  text: '11-capstone.md',
  placeholders: (lab) => ({
    mydocker: mydockerDir(lab),
    capstoneLab: capstoneHome(lab),
    sources: CAPSTONE_SOURCES,
    goal: typed(lab, 'container-lessons', `--name ${GOAL} --hostname ${GOAL} --cpus 0.2 --memory 64m --pids 32`),
    hello: typed(lab, `${mydockerDir(lab)}/mydocker.sh`, `--name ${HELLO} --hostname ${HELLO}`),
  }),
  machineNames: [PROBE_NAMES_LOCK],
  needs: {
    filesystems: ['overlay'],
    cgroupControllers: ['cpu', 'memory', 'pids'],
    namespaces: ['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup'],
    // --ip: a veth pair to lesson 6's bridge.
    kernelModules: [
      { name: 'veth', symbol: 'veth_newlink' },
      { name: 'bridge', symbol: 'br_dev_xmit' },
    ],
    compilers: true,
  },
  newState: () => ({}),
  checks: Object.values(CHECKS),
  steps: [
    {
      title: 'Your starting point: the skeleton in bash, C and Rust',
      commands: (lab) => [`container-lessons capstone init ${mydockerDir(lab)}`, `ls -l ${mydockerDir(lab)}`],
      async run(ctx) {
        const dir = mydockerDir(ctx.lab);
        return lines(...initRuntimeDir(dir, ctx.lab), '', await hostShell(`ls -l ${dir}`));
      },
    },
    {
      title: "The image your runtime is given, in the capstone's own lab",
      commands: (lab) => [`grep '"top"' ${capstoneHome(lab)}/images/${CAPSTONE_IMAGE}.json`, `find ${capstoneHome(lab)}/layers/l -type l -printf '%f -> %l\\n'`],
      async run(ctx) {
        const image = await ensureCapstoneImage(ctx.lab);
        const home = capstoneHome(ctx.lab);
        return lines(
          await hostShell(`grep '"top"' ${home}/images/${CAPSTONE_IMAGE}.json`),
          await hostShell(`find ${home}/layers/l -type l -printf '%f -> %l\\n'`),
          t`# one layer: the lab's root filesystem. lowerdir= gets the image's layers, top first:`,
          `# ${image.layers.join(':')}`,
        );
      },
    },
    {
      title: 'The goal, done by the workbook: container-lessons run',
      commands: (lab) => [typed(lab, 'container-lessons', `--name ${GOAL} --hostname ${GOAL} --cpus 0.2 --memory 64m --pids 32`)],
      async run(ctx) {
        await ensureCapstoneImage(ctx.lab);
        const out = await withNames(ctx, () => runRuntime(ctx.ledger, ctx.lab, SELF_ARGV, ['--name', GOAL, '--hostname', GOAL, '--cpus', '0.2', '--memory', '64m', '--pids', '32']));
        return out;
      },
    },
    {
      title: 'What the suite says of the skeleton as it is',
      commands: (lab) => [`sudo container-lessons check capstone --runtime ${mydockerDir(lab)}/mydocker.sh`],
      async run(ctx) {
        const skeleton = path.join(CAPSTONE_SOURCES, 'skeleton', 'mydocker.sh');
        const checks = await runSuite({ lab: ctx.lab, runtime: ['bash', skeleton], ledger: ctx.ledger, lockWaitMs: ctx.lockWaitMs, note: ctx.note });
        return lines(t`# the suite on the skeleton (${skeleton}), every piece still a TODO:`, ...checks.slice(0, 2).map(resultLine), t`... and ${checks.length - 2} more not checked: the main container never started`);
      },
    },
    {
      title: 'The answer: the reference, every piece written, as your mydocker.sh',
      commands: (lab) => [`cp ${REFERENCE} ${mydockerDir(lab)}/mydocker.sh`, `grep -- '--- BEGIN' ${mydockerDir(lab)}/mydocker.sh`],
      async run(ctx) {
        return lines(...putReference(mydockerDir(ctx.lab), ctx.lab), '', await hostShell(`grep -- '--- BEGIN' ${mydockerDir(ctx.lab)}/mydocker.sh`));
      },
    },
    {
      title: 'Your runtime at work',
      commands: (lab) => [typed(lab, `${mydockerDir(lab)}/mydocker.sh`, `--name ${HELLO} --hostname ${HELLO}`)],
      async run(ctx) {
        const file = gradedRuntime(mydockerDir(ctx.lab));
        const argv = file ? runtimeArgv(file) : null;
        if (!file || !argv) return t`# no runtime to run in ${mydockerDir(ctx.lab)}: the steps before this one write it`;
        await ensureCapstoneImage(ctx.lab);
        const out = await withNames(ctx, () => runRuntime(ctx.ledger, ctx.lab, argv, ['--name', HELLO, '--hostname', HELLO]));
        return file.endsWith('/mydocker') ? `${t`# ${file} (the check grades it before mydocker.sh)`}\n${out}` : out;
      },
    },
  ],

  // The suite's looks into its containers' namespaces (links, addresses, pings), some at once.
  checkHelpers: 7,
  async check(lab, opts) {
    const dir = mydockerDir(lab);
    const file = gradedRuntime(dir);
    if (!file) {
      return notStarted(t`no runtime in ${dir}: neither mydocker nor mydocker.sh is there`, t`write the starting point: container-lessons capstone init ${dir} (the lesson's first step), then fill in its TODOs`, [dir]);
    }
    const argv = runtimeArgv(file);
    if (!argv) return notStarted(t`${file} is not executable`, t`chmod +x ${file}, or build it again (cc -O2 -Wall -o mydocker mydocker.c)`, [file]);
    opts?.note?.(t`grading ${file}`);
    const checks = await runSuite({ lab, runtime: argv, note: opts?.note });
    // Which runtime was graded, said in the first result.
    const first = checks[0]!;
    checks[0] = { ...first, reason: `${file}: ${first.reason}` };
    return checks;
  },

  hints: (lab) => [
    t`Your runtime puts together what each lesson built on its own: an overlay of the image's layers (1, 7), a cgroup with the limits (2, 8), new namespaces with pivot_root and a fresh /proc (3, 4, 9), a veth to the bridge (6), and a clean exit that removes it all. Each failing check names the lesson of the piece it looks at: open that piece's TODO.`,
    t`Work on one piece at a time in ${mydockerDir(lab)}/mydocker.sh (or the C or Rust file, built to ${mydockerDir(lab)}/mydocker): the check grades mydocker when it is there, else mydocker.sh. Try a container by hand with CONTAINER_LESSONS_HOME=${capstoneHome(lab)} (the image ${CAPSTONE_IMAGE} is there), and read what it left with mount | grep ${capstoneHome(lab)}, ls /sys/fs/cgroup/*/ and ip link.`,
    t`The reference has every piece written: ${REFERENCE} (the C and Rust ones beside it in ${CAPSTONE_SOURCES}/c and /rust). Read the piece you are on there, or take it whole: cp ${REFERENCE} ${mydockerDir(lab)}/mydocker.sh`,
  ],

  // Every half second: the suite's containers live a second or two each while it checks.
  picture: (lab) => ({
    everyMs: 500,
    draw: async (opts) =>
      drawRuntimeContainers(
        { layers: path.join(capstoneHome(lab), 'layers'), startHint: `sudo CONTAINER_LESSONS_HOME=${capstoneHome(lab)} ${mydockerDir(lab)}/mydocker.sh run --name demo --cpus 0.5 --pids 64 ${CAPSTONE_IMAGE} sleep 300` },
        opts,
      ),
  }),

  async reset(lab) {
    return resetCapstone(lab);
  },

  async shell(ctx) {
    const dir = mydockerDir(ctx.lab);
    if (!fs.existsSync(dir)) initRuntimeDir(dir, ctx.lab);
    return { kind: 'host', cwd: dir, title: t`your runtime's directory, ${dir}` };
  },
});

/** A check's result on a line or two, as the step shows it. */
const resultLine = (r: CheckResult) => `${r.status === 'pass' ? '✔' : r.status === 'fail' ? '✘' : '–'} ${tr(r.title)}\n  ${r.reason}${r.hint ? `\n  ${t`hint: ${r.hint}`}` : ''}`;

/** Hold the capstone's container names while a step's runtime uses one (another learner's
 * suite on this machine may be using them). */
async function withNames<T>(ctx: LessonContext, fn: () => Promise<T>): Promise<T> {
  const release = await holdMachineName(PROBE_NAMES_LOCK, { waitMs: ctx.lockWaitMs, onWait: (who) => ctx.note?.(t`waiting: ${who} is using the capstone's container names`) });
  try {
    return await fn();
  } finally {
    release();
  }
}

export default lesson;
