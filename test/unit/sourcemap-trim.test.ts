// The bundle's maps keep the project's own positions only (scripts/sourcemap-trim.mjs).
// Read back with Node's own source map reader (node:module SourceMap), the one that maps
// the stacks: a position in a dropped source must come out unmapped, not as the position
// of the segment before it, and every kept position must come out unchanged.
import { describe, it, expect } from 'vitest';
import { SourceMap } from 'node:module';
import { keepPositions } from '../../scripts/sourcemap-trim.mjs';

// One generated line: src/a.ts (name f) at 0, a dependency at 10 (name g) and 20, src/a.ts
// again at 30 (name f), on a second line src/a.ts at 0 and the dependency at 5 (and an empty
// third line: Node's reader takes a segment at the very end of the mappings for a longer one).
const MAP = { version: 3, sources: ['../src/a.ts', '../node_modules/x/i.js'], names: ['f', 'g'], mappings: 'AAAAA,UCKAC,UACA,UDEAD;AACA,KCCA;' };
const own = (source: string) => !source.split('/').includes('node_modules');

const at = (map: object, line: number, column: number) => {
  const e = new SourceMap(map as ConstructorParameters<typeof SourceMap>[0]).findEntry(line, column) as { originalSource?: string; originalLine?: number; originalColumn?: number; name?: string };
  return e.originalSource === undefined ? 'unmapped' : `${e.originalSource}:${e.originalLine}:${e.originalColumn}${e.name ? ` ${e.name}` : ''}`;
};

describe('keepPositions', () => {
  it('reads the fixture as written (the reader and the fixture agree)', () => {
    expect([0, 10, 25, 30].map((c) => at(MAP, 0, c))).toEqual(['../src/a.ts:0:0 f', '../node_modules/x/i.js:5:0 g', '../node_modules/x/i.js:6:0', '../src/a.ts:8:0 f']);
    expect([0, 7].map((c) => at(MAP, 1, c))).toEqual(['../src/a.ts:9:0', '../node_modules/x/i.js:10:0']);
  });

  it('keeps the own positions, makes the others unmapped, and keeps only the names still used', () => {
    const trimmed = keepPositions(MAP, own);
    expect([0, 9, 10, 15, 25, 30, 99].map((c) => at(trimmed, 0, c))).toEqual(['../src/a.ts:0:0 f', '../src/a.ts:0:0 f', 'unmapped', 'unmapped', 'unmapped', '../src/a.ts:8:0 f', '../src/a.ts:8:0 f']);
    expect([0, 4, 5, 50].map((c) => at(trimmed, 1, c))).toEqual(['../src/a.ts:9:0', '../src/a.ts:9:0', 'unmapped', 'unmapped']);
    expect(trimmed.names).toEqual(['f']);
    expect(trimmed.sources).toEqual(MAP.sources);
    // Without the fixture's empty last line, the unmapped segment is the very last one.
    const endsInDependency = keepPositions({ ...MAP, mappings: MAP.mappings.slice(0, -1) }, own);
    expect([0, 5, 50].map((c) => at(endsInDependency, 1, c))).toEqual(['../src/a.ts:9:0', 'unmapped', 'unmapped']);
  });

  it('changes nothing when every source is kept', () => {
    const all = keepPositions(MAP, () => true);
    for (const [line, column] of [
      [0, 0],
      [0, 12],
      [0, 22],
      [0, 31],
      [1, 1],
      [1, 6],
    ] as const)
      expect(at(all, line, column)).toBe(at(MAP, line, column));
  });
});
