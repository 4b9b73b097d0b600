// What a helper started ahead (helper-pool.ts) and nsinit's idle mode share: its job, and
// how it knows the workbook that started it is still its parent.

/** What an idle helper reads on fd 4: the mode and spec it would otherwise get as arguments. */
export interface HelperJob {
  mode: string;
  spec: unknown;
}

/** The pid of the workbook that started an idle helper, in the helper's environment. */
export const POOL_PARENT_VAR = 'CONTAINER_LESSONS_POOL_PARENT';

/** In the environment of a helper started for work no keypress waits for (a picture's
 * redraw: helper-pool.ts background): it took no helper started ahead. The bench's keypress
 * walk counts these apart. */
export const BACKGROUND_VAR = 'CONTAINER_LESSONS_BACKGROUND';
