// The control group "container" that lessons 2 and 8 make, as Docker makes one group per
// container for all of its controllers. On cgroup v2 both lessons' groups are one
// directory (/sys/fs/cgroup/container), so both hold one machine-wide name for it.
import type { MachineName } from '../lab.js';

export const GROUP = 'container';
/** One name for the whole machine: one workbook uses the group at a time. */
export const GROUP_NAME: MachineName = { key: `cgroup-${GROUP}`, what: `the cgroup "${GROUP}"` };
