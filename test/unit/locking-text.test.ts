// Lesson 10's text shows the escape program as code: each of its lines that makes a call must
// be the core's own (src/core/escape.ts), so that the text cannot drift from what runs.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import { runcConfig } from '../../src/lessons/10-locking-root-in.js';
import { seccomp } from '../../src/core/index.js';

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

describe("lesson 10's by-hand files, as its text gives them", () => {
  const lab = { root: '/home/a-learner/container-lessons', rootfs: '/home/a-learner/container-lessons/rootfs' } as Parameters<typeof runcConfig>[0];
  it('the config.json has no line a 60-column pane must wrap, and no path of the machine', () => {
    const lines = JSON.stringify(runcConfig(lab), null, 2).split('\n');
    expect(lines.filter((l) => l.length > 50)).toEqual([]);
    expect(runcConfig(lab).root.path).toBe('../rootfs');
  });
  it('the base64 the text decodes is the filter the core builds', () => {
    const b64 = seccomp.encodeFilter(seccomp.lessonFilter()).toString('base64');
    expect(seccomp.decodeFilter(Buffer.from(b64, 'base64'))).toEqual(seccomp.lessonFilter());
    expect(text).toContain('echo {{filterBase64}} | base64 -d > {{filter}}');
  });
});
