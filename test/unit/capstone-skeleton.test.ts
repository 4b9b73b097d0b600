// The capstone's bash skeleton is made from the reference by scripts/capstone-skeleton.mjs:
// the committed skeleton must be exactly what the generator makes now, every piece of the
// reference must say what it does and where the kernel shows it done, and opening pieces
// must replace their code and nothing else.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { REFERENCE, SKELETON, blocksOf, piecesOf, openPieces, skeletonOf } from '../../scripts/capstone-skeleton.mjs';
import { onPath } from '../support/on-path.js';

const reference = fs.readFileSync(REFERENCE, 'utf8');

describe('the capstone skeleton', () => {
  it('is committed as the generator makes it from the reference (node scripts/capstone-skeleton.mjs)', () => {
    expect(fs.readFileSync(SKELETON, 'utf8')).toBe(skeletonOf(reference));
    expect(fs.statSync(SKELETON).mode & 0o111).not.toBe(0);
    expect(fs.statSync(REFERENCE).mode & 0o111).not.toBe(0);
  });

  it('has the pieces of the interface, args given and the others open', () => {
    expect(piecesOf(reference)).toEqual({ open: ['root', 'cgroup', 'namespaces', 'network', 'cleanup'], given: ['args'] });
  });

  it('describes every open piece: what to do, and where the kernel shows it done', () => {
    const lines = reference.split('\n');
    for (const b of blocksOf(reference).filter((b) => b.lessons !== 'given')) {
      const doc = lines.slice(b.begin + 1, b.end).filter((l) => /^\s*##/.test(l));
      expect(doc.length, `${b.piece} at line ${b.begin + 1}`).toBeGreaterThan(1);
      expect(doc.join('\n'), `${b.piece} at line ${b.begin + 1}`).toMatch(/Done when:/);
      expect(b.lessons).toMatch(/^lessons? \d/);
    }
  });

  it('opens a piece by replacing its code with a TODO, and nothing else', () => {
    const partial = openPieces(reference, ['network']);
    expect(partial).toContain("todo network 'lesson 6'");
    expect(partial).not.toContain('ip link add');
    expect(partial).not.toMatch(/todo (root|cgroup|namespaces|cleanup) /);
    // Outside the network block and the banner, every line of the reference is there.
    const block = blocksOf(reference).find((b) => b.piece === 'network')!;
    const lines = reference.split('\n');
    const kept = [...lines.slice(0, block.begin), ...lines.slice(block.end)];
    const out = partial.split('\n');
    for (const l of kept) expect(out).toContain(l);
    // Each block of a piece in several places (root: the host's part and the container's) is opened.
    const skeleton = skeletonOf(reference);
    expect(skeleton.match(/todo root 'lesson 7'/g)).toHaveLength(2);
    expect(skeleton.match(/todo cgroup /g)).toHaveLength(3); // make, join, and mydocker init back out
    expect(skeleton).toContain('mydocker: TODO: $piece');
    // Nothing open: the reference itself.
    expect(openPieces(reference, [])).toBe(reference);
  });

  it('refuses what it cannot do', () => {
    expect(() => openPieces(reference, ['args'])).toThrow(/args is given/);
    expect(() => openPieces(reference, ['netwrok'])).toThrow(/no piece named netwrok/);
    expect(() => blocksOf('# --- BEGIN a (lesson 1) ---\necho\n')).toThrow(/has no END/);
    expect(() => blocksOf('# --- END a ---\n')).toThrow(/without its BEGIN/);
    expect(() => blocksOf('# --- BEGIN a (lesson 1) ---\n# --- BEGIN b (lesson 2) ---\n')).toThrow(/inside a/);
    expect(() => blocksOf('  # --- BEGIN a ---\n')).toThrow(/not a marker/);
  });

  it('makes scripts bash can parse', () => {
    for (const text of [reference, skeletonOf(reference), openPieces(reference, ['network', 'cleanup'])]) {
      const r = spawnSync('bash', ['-n'], { input: text, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it.skipIf(!onPath('shellcheck'))('keeps shellcheck quiet on the reference and the skeleton (skipped without shellcheck)', () => {
    const r = spawnSync('shellcheck', [REFERENCE, SKELETON], { encoding: 'utf8' });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('checks from the command line whether the skeleton is up to date', () => {
    const r = spawnSync(process.execPath, ['scripts/capstone-skeleton.mjs', '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
