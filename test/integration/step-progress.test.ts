// Long work says how far it is while it runs (src/progress.ts): a step's command output a line
// at a time, through the runner, on the host and inside a container; the rootfs build and an
// image import through their progress callbacks; `import` on the command line without a
// terminal (plain lines). Real kernel, real commands.
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { LessonSession, resetLesson } from '../../src/runner.js';
import { hostShell, inContainer } from '../../src/lessons/show.js';
import { withWorkSink, type WorkProgress } from '../../src/progress.js';
import { buildHostRootfs, ensureRootfsAsync, importImage, writeImage, LayerStore, Ledger, startContainer, type RootfsProgress } from '../../src/core/index.js';
import type { ImportProgress } from '../../src/core/image-import.js';
import { tempLab } from '../support/lab.js';

const lab = tempLab('cl-progress-');
afterAll(() => lab.dispose());

/** A command that prints a line, then waits until the test has seen that line (it makes
 * `flag` then) before it prints the next: it can only end if its output arrived while it
 * ran. A bounded wait: were the output held back to the end, it prints "gave up" and ends. */
const handshake = (flag: string) => `echo first; i=0; while [ ! -e ${flag} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; [ -e ${flag} ] && echo second || echo gave up`;

describe('step output streams a line at a time', () => {
  it('hostShell: a line reaches the sink while its command still runs', async () => {
    const flag = path.join(lab.root, 'seen-first');
    const seen: string[] = [];
    const out = await withWorkSink(
      {
        line: (l) => {
          seen.push(l);
          if (l === 'first') fs.writeFileSync(flag, '');
        },
      },
      () => hostShell(handshake(flag)),
    );
    expect(seen).toEqual([`$ ${handshake(flag)}`, 'first', 'second']);
    expect(out).toBe(`$ ${handshake(flag)}\nfirst\nsecond`);
  });

  it('inContainer: the same, from a command inside a running container', async () => {
    await ensureRootfsAsync(lab.rootfs);
    const ledger = new Ledger();
    const flag = path.join(lab.rootfs, 'seen-first');
    try {
      const c = await startContainer({ rootfs: lab.rootfs, namespaces: ['mnt', 'uts', 'pid'], argv: ['/bin/sh', '-c', 'while : ; do sleep 3600; done'] }, ledger);
      const seen: string[] = [];
      const out = await withWorkSink(
        {
          line: (l) => {
            seen.push(l);
            if (l === 'first') fs.writeFileSync(flag, '');
          },
        },
        () => inContainer(c, ['mnt', 'uts', 'pid'], handshake('/seen-first')),
      );
      expect(seen).toEqual([`[container]# ${handshake('/seen-first')}`, 'first', 'second']);
      expect(out).toBe(`[container]# ${handshake('/seen-first')}\nfirst\nsecond`);
    } finally {
      fs.rmSync(flag, { force: true });
      expect(await ledger.cleanup()).toEqual([]);
    }
  });

  it("through the runner: a lesson step's lines arrive in pieces before the step ends, and its report keeps them all", async () => {
    const overlay = findLesson('overlay') as Lesson;
    await resetLesson(overlay, lab);
    const session = new LessonSession(overlay, lab);
    try {
      expect((await session.runStep(0)).error).toBeUndefined();
      let ended = false;
      const heard: Array<{ line: string; ended: boolean }> = [];
      const running = session.runStep(1, { line: (line) => heard.push({ line, ended }) });
      const report = await running.finally(() => (ended = true));
      expect(report.error).toBeUndefined();
      expect(heard.length).toBeGreaterThan(1);
      expect(heard.every((h) => !h.ended)).toBe(true);
      expect(heard.map((h) => h.line)).toContain('$ ls -l merged');
      expect(heard.map((h) => h.line)).toContain('$ cat merged/x.txt merged/n.txt');
      // Every line heard is in the whole output, in the order heard.
      const whole = report.output!.split('\n');
      let at = 0;
      for (const h of heard) {
        at = whole.indexOf(h.line, at);
        expect(at, h.line).toBeGreaterThanOrEqual(0);
      }
    } finally {
      expect((await session.end()).errors).toEqual([]);
      await resetLesson(overlay, lab);
    }
  });
});

describe('the rootfs build reports how far it is', () => {
  it('a progress report after each program copied, the last one done, as many as it copied', async () => {
    const dir = path.join(lab.root, 'rootfs-async');
    const heard: RootfsProgress[] = [];
    const { marker, built } = await ensureRootfsAsync(dir, undefined, { onProgress: (p) => heard.push(p) });
    expect(built).toBe(true);
    expect(heard.map((p) => p.copied)).toEqual(marker.tools!.map((_, i) => i + 1));
    expect(heard.map((p) => p.tool)).toEqual(marker.tools);
    expect(heard.every((p) => p.total === marker.tools!.length)).toBe(true);
    expect(heard.filter((p) => p.done)).toEqual([heard.at(-1)]);
    // The synchronous build reports the same way, to the open sink when given no callback.
    const sync: WorkProgress[] = [];
    const again = path.join(lab.root, 'rootfs-sync');
    const m2 = await withWorkSink({ progress: (p) => sync.push(p) }, async () => buildHostRootfs(again));
    expect(sync.length).toBe(m2.tools!.length);
    expect(fs.readdirSync(lab.root).filter((n) => n.includes('.building-'))).toEqual([]);
  });
});

describe('an import reports how far it is', () => {
  const src = path.join(lab.root, 'image-trees');
  const trees = ['base', 'top'].map((n) => path.join(src, n));
  const file = path.join(lab.root, 'two-layers.tar');

  it('the archive, then each layer: bytes and files rising to the whole, one done per phase; reused layers say so', async () => {
    for (const [i, d] of trees.entries()) {
      fs.mkdirSync(path.join(d, 'etc'), { recursive: true });
      for (let f = 0; f < 40; f++) fs.writeFileSync(path.join(d, 'etc', `file-${i}-${f}`), `${'x'.repeat(4000 * (f + 1))}\n`);
    }
    await writeImage(file, trees, { format: 'docker-save', name: 'two:1', gzip: true });
    const store = new LayerStore(path.join(lab.root, 'store', 'layers'));
    const heard: ImportProgress[] = [];
    const img = await importImage(file, store, { onProgress: (p) => heard.push(p) });

    const archive = heard.filter((p) => p.kind === 'archive');
    expect(archive.at(-1)).toMatchObject({ done: true, bytes: fs.statSync(file).size });
    expect(archive.filter((p) => p.done)).toHaveLength(1);
    for (const n of [1, 2]) {
      const layer = heard.filter((p): p is Extract<ImportProgress, { kind: 'layer' }> => p.kind === 'layer' && p.layer === n);
      expect(layer.length).toBeGreaterThan(1);
      const bytes = layer.map((p) => p.bytes);
      expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
      const end = layer.at(-1)!;
      expect(end).toMatchObject({ done: true, reused: false, layers: 2, diffId: img.layers[n - 1]!.diffId });
      expect(end.bytes).toBe(end.totalBytes);
      // The layer's tar: etc/ and its 40 files.
      expect(end.files).toBeGreaterThanOrEqual(41);
    }
    // The archive comes first, then layer 1, then layer 2.
    const order = heard.map((p) => (p.kind === 'layer' ? p.layer : 0));
    expect(order).toEqual([...order].sort((a, b) => a - b));

    const again: ImportProgress[] = [];
    await importImage(file, store, { name: 'again', onProgress: (p) => again.push(p) });
    expect(again.filter((p) => p.kind === 'layer')).toEqual([expect.objectContaining({ layer: 1, done: true, reused: true }), expect.objectContaining({ layer: 2, done: true, reused: true })]);
  });

  it('`import` without a terminal: plain lines on stderr, a line per layer, no bar', () => {
    const BIN = new URL('../../bin/container-lessons.js', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [BIN, 'import', file, '--name', 'cli'], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/imported cli \(docker-save, 2 layers\)/);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^importing .*two-layers\.tar into /);
    expect(lines).toContainEqual(expect.stringMatching(/^archive unpacked: [\d.]+ kB, [\d,]+ files$/));
    expect(lines).toContainEqual(expect.stringMatching(/^layer 1 of 2: unpacked [\d.]+ kB, [\d,]+ files$/));
    expect(lines).toContainEqual(expect.stringMatching(/^layer 2 of 2: unpacked [\d.]+ kB, [\d,]+ files$/));
    expect(r.stderr).not.toMatch(/\r|\x1b\[/);
    spawnSync(process.execPath, [BIN, 'reset', '--all'], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root } });
  });
});
