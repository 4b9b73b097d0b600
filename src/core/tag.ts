/** The environment variable that marks every process of a container or helper with its tag:
 * a recovery finds them by it (journal.ts, undo.ts), even those whose pids it never learnt.
 * A module of its own so that `run`'s early start (run-early.ts) loads no more than it. */
export const TAG_VAR = 'CONTAINER_LESSONS_TAG';
