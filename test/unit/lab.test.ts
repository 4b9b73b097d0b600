import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { passwdEntry, invoker, labFor, parseProgress, readProgress, writeProgress, markPassed } from '../../src/lab.js';
import { parseLdd } from '../../src/core/rootfs.js';
import { findLesson, LESSONS } from '../../src/lessons/index.js';
import { allPassed, pass, fail, skip } from '../../src/checks/result.js';

describe('the invoking user', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n';
  it('reads passwd', () => {
    expect(passwdEntry(passwd, 'alice')).toEqual({ user: 'alice', uid: 1000, gid: 1000, home: '/home/alice' });
    expect(passwdEntry(passwd, 'bob')).toBeNull();
  });
  it('under sudo the lab belongs to SUDO_USER', () => {
    const who = invoker({ SUDO_USER: 'nosuchuser-xyz', SUDO_UID: '1234', SUDO_GID: '1235' });
    expect(who).toEqual({ user: 'nosuchuser-xyz', uid: 1234, gid: 1235, home: '/home/nosuchuser-xyz' });
    expect(labFor({ SUDO_USER: 'nosuchuser-xyz', SUDO_UID: '1234' }).root).toBe('/home/nosuchuser-xyz/container-lessons');
  });
  it('CONTAINER_LESSONS_HOME overrides the lab root', () => {
    expect(labFor({ CONTAINER_LESSONS_HOME: '/tmp/x' }).root).toBe('/tmp/x');
    expect(labFor({ CONTAINER_LESSONS_HOME: '/tmp/x', CONTAINER_LESSONS_ROOTFS: '/srv/r' }).rootfs).toBe('/srv/r');
  });
});

describe('progress', () => {
  it('is kept by lesson id, written atomically, and a corrupt file is reported, not overwritten', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-progress-'));
    try {
      const lab = labFor({ CONTAINER_LESSONS_HOME: dir });
      expect(readProgress(lab).passed).toEqual({});
      markPassed(lab, 'overlay');
      expect(Object.keys(readProgress(lab).passed)).toEqual(['overlay']);
      expect(fs.readdirSync(dir)).toEqual(['progress.json']);
      fs.writeFileSync(lab.progressFile, '{"version": 9}');
      expect(() => readProgress(lab)).toThrow(/unreadable.*left as it is/);
      expect(fs.readFileSync(lab.progressFile, 'utf8')).toBe('{"version": 9}');
      writeProgress(lab, { version: 1, passed: { 'pid-namespace': 'x' } });
      expect(readProgress(lab).passed).toEqual({ 'pid-namespace': 'x' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it('rejects foreign files', () => {
    expect(() => parseProgress('[]')).toThrow();
    expect(() => parseProgress('not json')).toThrow();
    expect(parseProgress('{"version":1,"passed":{"a":"t","b":3}}').passed).toEqual({ a: 't' });
  });
});

describe('lessons', () => {
  it('are found by number or id, in order', () => {
    expect(LESSONS.map((l) => l.number)).toEqual(LESSONS.map((_, i) => i + 1));
    const third = LESSONS[2]!;
    expect(findLesson('3')?.id).toBe(third.id);
    expect(findLesson(` ${third.id.toUpperCase()} `)?.number).toBe(3);
    expect(findLesson(String(LESSONS.length + 1))).toBeUndefined();
    expect(findLesson('0')).toBeUndefined();
    expect(new Set(LESSONS.map((l) => l.id)).size).toBe(LESSONS.length);
  });
  it('a lesson passes only with no failure and at least one pass', () => {
    expect(allPassed([pass('a', 'r', [])])).toBe(true);
    expect(allPassed([pass('a', 'r', []), fail('b', 'r', 'h', [])])).toBe(false);
    expect(allPassed([skip('a', 'r')])).toBe(false);
    expect(allPassed([])).toBe(false);
  });
});

describe('helpers', () => {
  it('parseLdd reads library paths', () => {
    const out = `\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n`;
    expect(parseLdd(out)).toEqual(['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  });
});
