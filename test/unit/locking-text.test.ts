// Lesson 10's text shows the escape program as code: each of its lines that makes a call must
// be the core's own (src/core/escape.ts), so that the text cannot drift from what runs.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';

const text = fs.readFileSync('lessons/10-locking-root-in.md', 'utf8');
const source = fs.readFileSync('src/core/escape.ts', 'utf8');

describe("lesson 10's escape, as its text shows it", () => {
  const block = /```ts\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
  const calls = block
    .split('\n')
    .map((l) => l.replace(/\/\/.*$/, '').trim())
    .filter((l) => /libc\.|fs\./.test(l) && !l.includes('{{'));

  it('has the calls of the escape', () => {
    expect(calls.map((l) => /(libc\.\w+|fs\.\w+)\('?([^')]*)/.exec(l)?.slice(1, 3).join(' '))).toEqual(['libc.chroot tmp', 'fs.statSync .', 'libc.chdir ..', 'fs.statSync .', 'libc.chroot .']);
  });
  it.each(['libc.chroot(dir)', "libc.chdir('..')", "fs.statSync('.')", "libc.chroot('.')", 'a.dev === b.dev && a.ino === b.ino', "dirs.includes('tmp') ? 'tmp'"])('escape.ts does %s', (code) => {
    expect(source).toContain(code);
  });
});
