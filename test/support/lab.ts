// A throwaway lab per test file: its own directory, rootfs and progress.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labFor, type Lab } from '../../src/lab.js';

export function tempLab(prefix = 'cl-test-'): Lab & { dispose: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  // mkdtemp makes it 0700; a learner's lab in their home can be searched by its owner, whom
  // a rootless container runs as (src/core/rootless.ts): open it as a home is.
  fs.chmodSync(dir, 0o755);
  const lab = labFor({ CONTAINER_LESSONS_HOME: dir, HOME: dir });
  return { ...lab, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
