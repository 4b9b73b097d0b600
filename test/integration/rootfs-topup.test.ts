// A lab's rootfs built by an earlier version of the workbook lacks the tools a later one
// added (setpriv and capsh for lesson 10): ensureRootfs copies them in, once, and leaves a
// rootfs that is not the workbook's own alone. Files only, in a temporary directory.
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildHostRootfs, ensureRootfs, readMarker, findHostTool, DEFAULT_TOOLS, ROOTFS_MARKER } from '../../src/core/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-topup-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const NEW = ['setpriv', 'capsh'].filter((t) => findHostTool(t));

describe('a rootfs from before the tool list grew', () => {
  it.skipIf(!NEW.length)('gets the missing tools and their libraries copied in once, named in its marker', () => {
    const root = path.join(dir, 'old');
    buildHostRootfs(
      root,
      undefined,
      DEFAULT_TOOLS.filter((t) => !NEW.includes(t)),
    );
    for (const t of NEW) expect(fs.existsSync(path.join(root, 'bin', t))).toBe(false);
    const first = ensureRootfs(root);
    expect(first.added).toEqual(NEW);
    for (const t of NEW) expect(fs.statSync(path.join(root, 'bin', t)).mode & 0o111).toBeTruthy();
    expect(readMarker(root)!.tools).toEqual(expect.arrayContaining(NEW));
    expect(ensureRootfs(root).added).toBeUndefined();
  });

  it("leaves a rootfs that is not the workbook's own (imported, or the learner's) as it is", () => {
    const root = path.join(dir, 'imported');
    buildHostRootfs(root, undefined, ['sh', 'ls', 'cat', 'ps', 'sleep', 'hostname', 'mount']);
    const marker = { ...readMarker(root)!, kind: 'docker-export' };
    fs.writeFileSync(path.join(root, ROOTFS_MARKER), JSON.stringify(marker));
    expect(ensureRootfs(root).added).toBeUndefined();
    expect(ensureRootfs(path.join(dir, 'old'), undefined, { build: false }).added).toBeUndefined();
    expect(fs.existsSync(path.join(root, 'bin', 'setpriv'))).toBe(false);
  });
});
