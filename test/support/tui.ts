// What the TUI tests share: waiting for a frame, and check results a fake lesson returns.
import type { CheckResult } from '../../src/checks/result.js';

export const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

/** Wait until `cond` holds (a frame shows something), or fail naming `what`. */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(10);
  }
}

export const PASS: CheckResult[] = [{ title: 'the thing is there', status: 'pass', reason: 'saw it in /proc/x', looked: ['/proc/x'] }];
export const FAIL: CheckResult[] = [{ title: 'the thing is there', status: 'fail', reason: 'nothing at /proc/x', hint: 'make the thing', looked: ['/proc/x'] }];
