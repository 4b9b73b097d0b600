// The control group "container" that lessons 2 and 8 make, as Docker makes one group per
// container for all of its controllers. On cgroup v2 both lessons' groups are one
// directory (/sys/fs/cgroup/container), so both hold one machine-wide name for it.
import { LockBusyError, describeHolder } from '../core/index.js';
import { holdMachineName, type MachineName } from '../lab.js';
import type { LessonContext } from './types.js';
import { msg, t } from '../i18n/messages.js';

export const GROUP = 'container';
/** One name for the whole machine: one workbook uses the group at a time. (`what` names GROUP;
 * a msg, translated where it is shown.) */
export const GROUP_NAME: MachineName = { key: `cgroup-${GROUP}`, what: msg('the cgroup "container"') };

/** The shells a learner types in: in the group by mistake, they are moved out, not killed. */
export const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'fish', 'ash', 'ksh', 'mksh', 'busybox']);

/** A step that makes the group takes its name until the lesson ends: a second learner's
 * workbook on this machine waits (or is told who has it). */
export async function holdGroupForLesson(ctx: LessonContext): Promise<void> {
  const release = await holdMachineName(GROUP_NAME, { waitMs: ctx.lockWaitMs, onWait: (who) => ctx.note?.(t`waiting for the cgroup "${GROUP}": ${who} is using it`) });
  ctx.ledger.defer(`release the lock on the cgroup name "${GROUP}"`, release);
}

/** A reset of the group, with its name held; when another workbook is using the group,
 * it is not ours to remove, and the reset says so instead. */
export async function resetWithGroupHeld(dir: string, reset: () => Promise<string[]>): Promise<string[]> {
  let release: () => void;
  try {
    release = await holdMachineName(GROUP_NAME);
  } catch (err) {
    if (err instanceof LockBusyError) return [t`left ${dir} alone: ${describeHolder(err.holder)} is using it`];
    throw err;
  }
  try {
    return await reset();
  } finally {
    release();
  }
}
