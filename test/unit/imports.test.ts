// No import cycle among src/ files. A cycle makes the order modules initialise in depend on
// which one is loaded first (a value read during another's initialisation can be
// undefined), and it usually means a lower layer knows a higher one (issue 13: the journal
// imported the resources it undoes).
//
// The graph holds the imports that exist at run time: `import ... from` and `export ... from`
// with a relative specifier. Type-only imports (`import type`, `export type`, or braces that
// hold nothing but `type` names) are erased by tsc and cannot form a cycle at run time;
// dynamic `import()` runs later, when it is called, and is not followed either.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.tsx?$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

const IMPORT = /^import\s+(?:(type)\s+)?(?:([\w$]+)\s*,?\s*)?(\{[^}]*\}|\*\s*as\s+[\w$]+)?\s*from\s*(['"])([^'"]+)\4/gm;
const SIDE_EFFECT = /^import\s*(['"])([^'"]+)\1/gm;
const EXPORT_FROM = /^export\s+(?:(type)\s+)?(\*(?:\s*as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(['"])([^'"]+)\3/gm;

/** `{ type A, type B }`: every name is a type, so tsc erases the whole statement. */
const onlyTypes = (braces: string | undefined): boolean => {
  if (!braces?.startsWith('{')) return false;
  const names = braces
    .slice(1, -1)
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  return names.length > 0 && names.every((n) => /^type\s/.test(n));
};

/** The relative specifiers a file imports or re-exports at run time, in the order written.
 * Statements start a line (this code base's style), so commented-out ones are not read. */
function runtimeImports(text: string): string[] {
  const found: Array<{ at: number; spec: string }> = [];
  for (const m of text.matchAll(IMPORT)) {
    const [, typeOnly, defaultName, braces, , spec] = m;
    if (typeOnly || (!defaultName && onlyTypes(braces))) continue;
    found.push({ at: m.index, spec: spec! });
  }
  for (const m of text.matchAll(SIDE_EFFECT)) found.push({ at: m.index, spec: m[2]! });
  for (const m of text.matchAll(EXPORT_FROM)) {
    const [, typeOnly, what, , spec] = m;
    if (typeOnly || onlyTypes(what)) continue;
    found.push({ at: m.index, spec: spec! });
  }
  return found
    .sort((a, b) => a.at - b.at)
    .map((f) => f.spec)
    .filter((s) => s.startsWith('./') || s.startsWith('../'));
}

/** The file a relative specifier names: './x.js' is x.ts or x.tsx, as tsc resolves it. */
function resolve(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  const stem = base.replace(/\.(js|jsx|mjs)$/, '');
  for (const c of [base, `${stem}.ts`, `${stem}.tsx`, path.join(base, 'index.ts'), path.join(base, 'index.tsx')]) {
    if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  }
  return null;
}

/** Strongly connected components with more than one file (or a file importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/** One concrete loop through a component, for the message: a -> b -> ... -> a. */
function loopThrough(graph: Map<string, string[]>, scc: string[]): string[] {
  const members = new Set(scc);
  const start = [...scc].sort()[0]!;
  // Breadth-first from start, inside the component, back to start.
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const loop = [start];
        for (let x: string | undefined = v; x !== undefined && x !== start; x = prev.get(x)) loop.splice(1, 0, x);
        return [...loop, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...scc, scc[0]!];
}

describe('imports among src/', () => {
  it('reads run-time imports and skips type-only ones', () => {
    const text = [
      "import fs from 'node:fs';",
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      "import { type C, type D } from './c.js';",
      "import { type E, e } from './e.js';",
      "import {\n  m1,\n  type M2,\n} from './multi.js';",
      "import d, { type D2 } from './d.js';",
      "// import { gone } from './commented.js';",
      "import './side.js';",
      "export * from './f.js';",
      "export type { G } from './g.js';",
      "export { h } from '../h.js';",
      'const later = () => import("./lazy.js");',
    ].join('\n');
    expect(runtimeImports(text)).toEqual(['./a.js', './e.js', './multi.js', './d.js', './side.js', './f.js', '../h.js']);
  });

  it('finds a cycle when there is one', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(cycles(g).map((c) => c.sort())).toEqual([['a', 'b', 'c']]);
    expect(loopThrough(g, ['c', 'b', 'a'])).toEqual(['a', 'b', 'c', 'a']);
  });

  it('has no cycle', () => {
    const graph = new Map<string, string[]>();
    const unresolved: string[] = [];
    for (const f of sourceFiles(SRC)) {
      const deps: string[] = [];
      for (const spec of runtimeImports(fs.readFileSync(f, 'utf8'))) {
        const target = resolve(f, spec);
        if (target) deps.push(target);
        else unresolved.push(`${path.relative(SRC, f)}: ${spec}`);
      }
      graph.set(f, deps);
    }
    expect(graph.size).toBeGreaterThan(10);
    expect(unresolved, 'relative imports that name no file').toEqual([]);
    const loops = cycles(graph).map((scc) =>
      loopThrough(graph, scc)
        .map((f) => path.relative(SRC, f))
        .join(' -> '),
    );
    expect(loops, 'import cycles in src/ (a -> b means a imports b)').toEqual([]);
  });
});
