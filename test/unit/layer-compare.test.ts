// compareLayerTrees on plain files (whiteouts and opaque directories, which need root and
// overlayfs, are in test/integration/layers-lesson.test.ts).
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareLayerTrees } from '../../src/core/layer-compare.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Two trees with the same files: srv/www/index.html, srv/www/link -> index.html, etc/. */
function twoTrees(): [string, string] {
  const trees = [0, 1].map(() => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-compare-'));
    made.push(d);
    fs.mkdirSync(path.join(d, 'srv/www'), { recursive: true });
    fs.mkdirSync(path.join(d, 'etc'));
    fs.writeFileSync(path.join(d, 'srv/www/index.html'), 'hello\n');
    fs.symlinkSync('index.html', path.join(d, 'srv/www/link'));
    return d;
  });
  return [trees[0]!, trees[1]!];
}
const compare = (a: string, b: string, limit?: number) => compareLayerTrees(a, b, ['upper', 'diff'], limit).map((d) => `${d.kind} ${d.path}: ${d.detail}`);

describe('compareLayerTrees', () => {
  it('finds nothing between equal trees', () => {
    const [a, b] = twoTrees();
    expect(compare(a, b)).toEqual([]);
  });

  it('names what is missing, extra, changed, of another kind, another mode or link target, in path order', () => {
    const [a, b] = twoTrees();
    fs.rmSync(path.join(b, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(b, 'extra.txt'), 'x');
    fs.writeFileSync(path.join(b, 'srv/www/index.html'), 'hellO\n');
    fs.chmodSync(path.join(b, 'srv/www/index.html'), 0o600);
    fs.rmSync(path.join(b, 'srv/www/link'));
    fs.symlinkSync('other.html', path.join(b, 'srv/www/link'));
    fs.mkdirSync(path.join(a, 'srv/data'));
    fs.writeFileSync(path.join(b, 'srv/data'), 'a file where upper has a directory');
    expect(compare(a, b)).toEqual([
      'missing etc: a directory in upper, not in diff',
      'extra extra.txt: in diff, not in upper',
      'type srv/data: a directory in upper, a regular file in diff',
      'content srv/www/index.html: its contents differ (6 bytes in upper, 6 in diff)',
      'mode srv/www/index.html: mode 644 in upper, 600 in diff',
      'symlink srv/www/link: points at index.html in upper, at other.html in diff',
    ]);
  });

  it('stops at the limit', () => {
    const [a, b] = twoTrees();
    for (const n of ['1', '2', '3', '4']) fs.writeFileSync(path.join(a, n), n);
    expect(compare(a, b, 2)).toEqual(['missing 1: a regular file in upper, not in diff', 'missing 2: a regular file in upper, not in diff']);
  });
});
