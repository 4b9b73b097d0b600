// A test that cannot run on this machine says why.
import type { TestContext } from 'vitest';

/** Skip the test with `reason`: a SKIP line on the console (CI's log keeps it), and the skip's note. */
export function skipBecause(ctx: TestContext, reason: string): never {
  console.log(`SKIP: ${ctx.task.name}: ${reason}`);
  return ctx.skip(reason);
}
