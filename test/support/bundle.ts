// The built package (bundle/, its maps and THIRD-PARTY-NOTICES) for tests that read it
// without a kernel. `npm test` builds before vitest runs; a single test file run on its own
// (npx vitest run FILE) on a fresh clone builds here first.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const PACKAGE_ROOT = path.resolve(import.meta.dirname, '../..');
export const BUNDLE = path.join(PACKAGE_ROOT, 'bundle');
export const NOTICES = path.join(PACKAGE_ROOT, 'THIRD-PARTY-NOTICES');

export function ensureBuilt(): void {
  // nsinit.js has code of its own, so a map; cli.js only names the start chunk (no map).
  if (fs.existsSync(path.join(BUNDLE, 'nsinit.js.map')) && fs.existsSync(NOTICES)) return;
  execFileSync('npm', ['run', 'build'], { cwd: PACKAGE_ROOT, stdio: 'pipe' });
}
