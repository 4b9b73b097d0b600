// The messages the code marks for translation (see src/i18n/messages.ts), read from the
// source as the compiler sees it: every t`...` template's key and every msg('...') string.
import fs from 'node:fs';
import path from 'node:path';
import { parseSync, Visitor } from 'rolldown/utils';
import { templateKey } from '../../src/i18n/messages.js';

export interface Marked {
  key: string;
  file: string;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return p.endsWith(`${path.sep}i18n${path.sep}zh`) ? [] : sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every marked message under `srcDir`, with the file it is in. */
export function markedMessages(srcDir: string): Marked[] {
  const found: Marked[] = [];
  for (const file of sourceFiles(srcDir)) {
    const source = fs.readFileSync(file, 'utf8');
    const { program, errors } = parseSync(file, source, { lang: file.endsWith('x') ? 'tsx' : 'ts' });
    if (errors.length) throw new Error(`${file}: ${errors[0]!.message}`);
    const rel = path.relative(srcDir, file);
    new Visitor({
      TaggedTemplateExpression(node) {
        if (node.tag.type === 'Identifier' && node.tag.name === 't') found.push({ key: templateKey(node.quasi.quasis.map((q) => q.value.cooked ?? q.value.raw)), file: rel });
      },
      CallExpression(node) {
        if (node.callee.type !== 'Identifier' || node.callee.name !== 'msg') return;
        const arg = node.arguments[0];
        if (arg?.type === 'Literal' && typeof arg.value === 'string') found.push({ key: arg.value, file: rel });
        else throw new Error(`${rel}: msg() takes one string literal`);
      },
    }).visit(program);
  }
  return found;
}

/** The values a message numbers: {0}, {1}, ... */
export function slots(text: string): string[] {
  return [...new Set([...text.matchAll(/\{(\d+)\}/g)].map((m) => m[1]!))].sort();
}
