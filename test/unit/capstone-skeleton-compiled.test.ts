// The capstone's C and Rust skeletons are made from their references by
// scripts/capstone-skeleton.mjs, as the bash one is: the committed skeletons must be exactly
// what the generator makes now, the references must have the bash reference's pieces, each
// described, and an open piece must become a call of todo() that still compiles.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REFERENCE, REFERENCES, blocksOf, piecesOf, openPieces, skeletonOf, styleOf, C, RUST } from '../../scripts/capstone-skeleton.mjs';
import { onPath } from '../support/on-path.js';

const bashPieces = piecesOf(fs.readFileSync(REFERENCE, 'utf8'));
const compiled = REFERENCES.filter((r) => r.reference !== REFERENCE);

/** Compile a source with the build command its style names; the compiler's result. */
function compile(source: string, file: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-skeleton-build-'));
  try {
    const src = path.join(dir, path.basename(file));
    fs.writeFileSync(src, source);
    const [cmd, ...args] = (styleOf(file).build ?? '').split(' ');
    return spawnSync(cmd!, args, { cwd: dir, encoding: 'utf8' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('the C and Rust skeletons', () => {
  it('are the references in capstone/c and capstone/rust, with a build command each', () => {
    expect(compiled.map((r) => path.relative(process.cwd(), r.reference))).toEqual([C.reference, RUST.reference]);
    expect(styleOf('x/mydocker.c')).toBe(C);
    expect(styleOf('x/mydocker.rs')).toBe(RUST);
    for (const { reference } of compiled) expect(fs.readFileSync(reference, 'utf8')).toContain(`//   ${styleOf(reference).build}\n`);
  });

  for (const { reference, skeleton } of compiled) {
    const name = path.relative(process.cwd(), reference);
    const text = fs.readFileSync(reference, 'utf8');
    const style = styleOf(reference);

    describe(name, () => {
      it('has its skeleton committed as the generator makes it', () => {
        expect(fs.readFileSync(skeleton, 'utf8')).toBe(skeletonOf(text, style));
      });

      it("has the bash reference's pieces, each open one saying what to do and where the kernel shows it done", () => {
        expect(piecesOf(text, style)).toEqual(bashPieces);
        const lines = text.split('\n');
        for (const b of blocksOf(text, style).filter((b) => b.lessons !== 'given')) {
          const doc = lines.slice(b.begin + 1, b.end).filter((l) => /^\s*\/\/ ##/.test(l));
          expect(doc.length, `${b.piece} at line ${b.begin + 1}`).toBeGreaterThan(1);
          expect(doc.join('\n'), `${b.piece} at line ${b.begin + 1}`).toMatch(/Done when:/);
        }
      });

      it('opens a piece by replacing its code with a call of todo(), and nothing else', () => {
        const partial = openPieces(text, ['network'], style);
        expect(partial).toContain('todo("network", "lesson 6");');
        expect(partial).not.toMatch(/"link", "add"/);
        expect(partial).not.toMatch(/todo\("(root|cgroup|namespaces|cleanup)"/);
        const block = blocksOf(text, style).find((b) => b.piece === 'network')!;
        const lines = text.split('\n');
        const out = partial.split('\n');
        for (const l of [...lines.slice(0, block.begin), ...lines.slice(block.end)]) expect(out).toContain(l);
        expect(openPieces(text, [], style)).toBe(text);
        expect(() => openPieces(text, ['args'], style)).toThrow(/args is given/);
      });

      it.skipIf(!onPath(name.endsWith('.rs') ? 'rustc' : 'cc'))(
        'compiles without a warning, the reference and the skeleton (skipped without the compiler)',
        () => {
          for (const source of [text, skeletonOf(text, style), openPieces(text, ['network', 'cleanup'], style)]) {
            const r = compile(source, reference);
            expect(r.stderr).toBe('');
            expect(r.status).toBe(0);
          }
        },
        60_000,
      );
    });
  }
});
