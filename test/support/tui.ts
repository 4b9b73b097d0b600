// What the TUI tests share: waiting for a frame, and check results a fake lesson returns.
import { EventEmitter } from 'node:events';
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

/** A terminal of a given size for ink's render (ink-testing-library's is always 100
 * columns): it keeps every frame written. */
export class Term extends EventEmitter {
  frames: string[] = [];
  isTTY = false;
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  write = (s: string) => (this.frames.push(s), true);
}

/** Keys for ink's render: a stdin that is a terminal but sends nothing by itself. */
export class Keys extends EventEmitter {
  isTTY = true;
  setRawMode() {}
  setEncoding() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
  read() {
    return null;
  }
}
