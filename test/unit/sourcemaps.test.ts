// bundle/ ships with source maps that lead through dist/ back to src/*.ts. With
// CONTAINER_LESSONS_DEBUG the command enables them (bin/container-lessons.js) and a failure's
// stack names the line in src/ that threw, not a column of the minified bundle/cli.js.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT, ensureBuilt } from '../support/bundle.js';

const BIN = path.join(PACKAGE_ROOT, 'bin/container-lessons.js');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-sourcemaps-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
beforeAll(ensureBuilt, 300_000);

/** An unknown lesson: a usage error (exit 2) that needs neither root nor a kernel. */
function unknownLesson(debug: boolean) {
  const env: NodeJS.ProcessEnv = { ...process.env, CONTAINER_LESSONS_HOME: home, NO_COLOR: '1', LANG: 'C' };
  delete env.CONTAINER_LESSONS_DEBUG;
  if (debug) env.CONTAINER_LESSONS_DEBUG = '1';
  return spawnSync(process.execPath, [BIN, 'hint', 'no-such-lesson', '--lang', 'en'], { env, encoding: 'utf8' });
}

describe('source maps', () => {
  it('under CONTAINER_LESSONS_DEBUG, the stack names the line in src/ that threw', () => {
    const run = unknownLesson(true);
    expect(run.status, run.stderr).toBe(2);
    const frames = run.stderr.split('\n').filter((l) => /^\s+at /.test(l));
    expect(frames.length, run.stderr).toBeGreaterThan(0);
    expect(
      frames.filter((l) => /bundle\/[^:]+\.js:\d+:\d+/.test(l)),
      'frames left in the minified bundle',
    ).toEqual([]);
    // The top frame is the throw for an unknown lesson, at its line and column in src/cli.ts.
    const top = /\((\/[^:]+\/src\/cli\.ts):(\d+):(\d+)\)$/.exec(frames[0]!);
    expect(top, frames[0]).not.toBeNull();
    expect(top![1]).toBe(path.join(PACKAGE_ROOT, 'src/cli.ts'));
    const line = fs.readFileSync(top![1]!, 'utf8').split('\n')[Number(top![2]) - 1]!;
    expect(line.slice(Number(top![3]) - 1)).toMatch(/^new \w*Error\(/);
    expect(line).toContain('there is no lesson');
  });

  it('without it, no stack at all', () => {
    const run = unknownLesson(false);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('there is no lesson "no-such-lesson"');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});
