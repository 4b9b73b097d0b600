// Lesson 7's picture against the real kernel: the lesson solved and kept, drawn; then the
// state changed by hand (a second container mounted with mount(8) on the same image, one
// mounted with the image's layers in the wrong order, a file written through merged and one
// added to a layer's diff) and the picture must show each change; then nothing mounted, the
// store's images drawn as chains. Every drawing in both glyph sets at 80 and 120 columns.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { solveLesson, resetLesson } from '../../src/runner.js';
import { writeDemoImage, storePaths } from '../../src/lessons/07-layers.js';
import { ensureRootfs, LayerStore, importImage, procfs } from '../../src/core/index.js';
import { drawOnce, type DrawOptions } from '../../src/pictures/picture.js';
import { drawLayerChain } from '../../src/pictures/layer-chain.js';
import { ASCII_GLYPHS, UNICODE_GLYPHS } from '../../src/pictures/glyphs.js';
import { tempLab } from '../support/lab.js';
import { shown, shownInChinese } from '../support/picture.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-pic-layers-');
const lesson = findLesson('layers') as Lesson;
const L = storePaths(lab).layers;
const sh = (script: string) => execFileSync('/bin/bash', ['-c', script], { cwd: L, encoding: 'utf8' });

/** The picture as the TUI and `container-lessons picture` get it (through the lesson's
 * wiring), in every glyph set and width; each drawing checked for width and for ASCII. */
async function drawAll(): Promise<Record<'u80' | 'u120' | 'a80' | 'a120', string>> {
  const out: Record<string, string> = {};
  for (const [name, g] of [
    ['u', UNICODE_GLYPHS],
    ['a', ASCII_GLYPHS],
  ] as const) {
    for (const width of [80, 120]) {
      const { text } = shown(await drawOnce(lesson.picture!.bind(lesson), lab, { width, glyphs: g }), width, g);
      out[`${name}${width}`] = text;
    }
  }
  return out as Record<'u80' | 'u120' | 'a80' | 'a120', string>;
}

/** The rows of the box titled `title` (the box's inner lines, between its edges). */
function boxRows(text: string, title: string): string[] {
  const lines = text.split('\n');
  const top = lines.findIndex((l) => l.includes(`${UNICODE_GLYPHS.tl}${UNICODE_GLYPHS.h} ${title} `));
  if (top < 0) throw new Error(`no box "${title}" in:\n${text}`);
  const col = lines[top]!.indexOf(`${UNICODE_GLYPHS.tl}${UNICODE_GLYPHS.h} ${title} `);
  const width = lines[top]!.indexOf(UNICODE_GLYPHS.tr, col) - col + 1;
  const rows: string[] = [];
  for (const l of lines.slice(top + 1)) {
    const part = l.slice(col, col + width);
    if (part.startsWith(UNICODE_GLYPHS.bl)) break;
    rows.push(part.slice(1, -1).trim());
  }
  return rows;
}

/** The rows of the box titled `title` that starts a line (a Chinese drawing: its lines are
 * cut in columns, not characters, so only a box at the left edge is read here). */
function leftBoxRows(text: string, title: string): string[] {
  const lines = text.split('\n');
  const top = lines.findIndex((l) => l.startsWith(`${UNICODE_GLYPHS.tl}${UNICODE_GLYPHS.h} ${title} `));
  if (top < 0) throw new Error(`no box "${title}" at the left edge of:\n${text}`);
  const rows: string[] = [];
  for (const l of lines.slice(top + 1)) {
    if (l.startsWith(UNICODE_GLYPHS.bl)) break;
    rows.push(l.slice(1, l.indexOf(UNICODE_GLYPHS.v, 1)).trim());
  }
  return rows;
}

/** The lesson's picture drawn through its wiring, as shownInChinese draws it. */
const drawLesson = (opts: DrawOptions) => drawOnce(lesson.picture!.bind(lesson), lab, opts);

/** A row's fields: mark, role, id, (link), and what its diff holds. */
const fields = (row: string) => row.split(/\s+/);

/** The store's layers as the image record lists them, top first. */
const imageTopFirst = () => (JSON.parse(fs.readFileSync(path.join(storePaths(lab).images, 'web.json'), 'utf8')).layers as string[]).map((l) => l.slice(7)).reverse();

/** A container's layers made and mounted by hand, as the lesson's step spells it out;
 * `lowers` are the image's layers in the order to give the kernel. */
function mountByHand(name: string, lowers: string[]) {
  const image = lowers.map((id) => `$PWD/l/$(cat ${id}/link)`).join(':');
  sh(`mkdir -p ${name}-init/diff/etc ${name}/diff ${name}/work ${name}/merged && echo ${name} > ${name}-init/diff/etc/hostname`);
  sh(`mount -t overlay overlay -o lowerdir=$PWD/${name}-init/diff:${image},upperdir=$PWD/${name}/diff,workdir=$PWD/${name}/work $PWD/${name}/merged`);
}

let before: ReturnType<typeof snapshot>;
beforeAll(() => {
  ensureRootfs(lab.rootfs);
  before = snapshot();
});
afterAll(async () => {
  try {
    await resetLesson(lesson, lab);
    expect(leaks(before, snapshot())).toEqual({});
  } finally {
    lab.dispose();
  }
});

describe("lesson 7's picture: the layer chains", () => {
  it('says so when the store holds no layer', async () => {
    const p = await drawAll();
    expect(p.u80).toMatch(/holds no layer yet/);
  });

  it('solved and kept: web1 as the kernel stacked it, the image layers shared, the commit; then a second container, a wrong order and new files show', async () => {
    const report = await solveLesson(lesson, lab, { keep: true });
    expect(report.passed).toBe(true);
    const top = imageTopFirst();
    const store = new LayerStore(L);
    const commit = store.ids().find((id) => /^[0-9a-f]{64}$/.test(id) && !top.includes(id));
    expect(commit).toBeTruthy();

    let p = await drawAll();
    // One box: upper, init, then the image top first, as mountinfo's lowerdir has them.
    let rows = boxRows(p.u120, 'web1 on web, web-debug').map(fields);
    expect(rows.map((r) => [r[1], r[2]])).toEqual([['upper', 'web1'], ['init', 'web1-init'], ...top.map((id) => ['image', id.slice(0, 12)])]);
    const mi = procfs.readMountinfo().find((m) => m.mountPoint === path.join(L, 'web1', 'merged'));
    const kernelLinks = /lowerdir=([^,]*)/
      .exec(mi!.superOptions)![1]!
      .split(':')
      .map((d) => `l/${path.basename(d).slice(0, 7)}`);
    expect(rows.slice(1).map((r) => r[3])).toEqual(kernelLinks);
    // Only the image's layers are shared: by web and web-debug, web1 and the commit.
    expect(rows.map((r) => r[0])).toEqual(['○', '○', '●4', '●4', '●4']);
    // web1's upper holds new.html and the whiteout of index.html; the init layer its files.
    expect(rows[0]!.slice(4).join(' ')).toMatch(/^1 file ✕1 \d+B$/);
    expect(p.u80).toContain('●4: images web, web-debug; container web1; commit ');
    expect(p.u80).toMatch(new RegExp(`commit ${commit!.slice(0, 12)}: 1 file ✕1 \\d+B, on top of web, web-debug`));
    expect(p.a80).toContain('*4 image ');
    expect(p.u80).not.toMatch(/no container is mounted/);

    // In Chinese: the same chain, its words translated where the English ones were, the
    // columns lined up in terminal columns (a Chinese character takes two).
    for (const width of [80, 60]) {
      const zh = await shownInChinese(drawLesson, width);
      const zhRows = leftBoxRows(zh.text, 'web1 基于 web, web-debug').map(fields);
      expect(zhRows.map((r) => [r[0], r[1], r[2]])).toEqual([['○', '上层', 'web1'], ['○', 'init', 'web1-init'], ...top.map((id) => ['●4', '镜像', id.slice(0, 12)])]);
      expect(zhRows[0]!.slice(3).join(' ')).toMatch(/1 个文件 ✕1/);
      expect(zh.text).toContain('●4：镜像 web, web-debug；容器 web1；提交 ');
      expect(zh.text).toContain('层链，顶层在前，按 mountinfo 里 lowerdir 的顺序');
    }
    const zh80 = (await shownInChinese(drawLesson, 80)).text;
    expect(zh80).toMatch(new RegExp(`提交 ${commit!.slice(0, 12)}：1 个文件 ✕1 \\d+B，位于 web, web-debug 的顶层之上`));
    expect(zh80).toContain('上层：可读写，其余只读');

    // A second container on the same image, mounted by hand: side by side at 80 columns,
    // and every image layer has one user more.
    mountByHand('web2', top);
    p = await drawAll();
    const pair = p.u80.split('\n').find((l) => l.includes('web1 on web') && l.includes('web2 on web'));
    expect(pair).toBeTruthy();
    for (const text of [p.u80, p.u120]) {
      rows = boxRows(text, 'web2 on web, web-debug').map(fields);
      expect(rows.map((r) => [r[0], r[1], r[2]])).toEqual([['○', 'upper', 'web2'], ['○', 'init', 'web2-init'], ...top.map((id) => ['●5', 'image', id.slice(0, 12)])]);
      expect(boxRows(text, 'web1 on web, web-debug').map((r) => fields(r)[0])).toEqual(['○', '○', '●5', '●5', '●5']);
    }
    expect(fields(boxRows(p.u80, 'web2 on web, web-debug')[0]!).slice(-2).join(' ')).toBe('0 files');
    expect(p.u80).toContain('containers web1, web2;');
    // Two boxes with Chinese in them still stand side by side within 80 columns.
    const zhPair = await shownInChinese(drawLesson, 80);
    expect(zhPair.lines.find((l) => l.includes('web1 基于 web') && l.includes('web2 基于 web'))).toBeTruthy();
    expect(zhPair.text).toContain('容器 web1, web2；');

    // A file written through web2's merged lands in its upper; one put into the top image
    // layer's diff shows in every chain that has the layer.
    fs.writeFileSync(path.join(L, 'web2', 'merged', 'hello.txt'), 'hello\n');
    const [topId] = top;
    const topCount = (text: string, title: string) => boxRows(text, title).find((r) => r.includes(topId!.slice(0, 12)))!;
    expect(topCount(p.u80, 'web1 on web, web-debug')).toMatch(/ 2 files ✕1$/);
    fs.writeFileSync(path.join(L, topId!, 'diff', 'extra.txt'), 'added by hand\n');
    p = await drawAll();
    expect(fields(boxRows(p.u80, 'web2 on web, web-debug')[0]!).slice(-2).join(' ')).toBe('1 file');
    expect(topCount(p.u80, 'web1 on web, web-debug')).toMatch(/ 3 files ✕1$/);
    expect(topCount(p.u80, 'web2 on web, web-debug')).toMatch(/ 3 files ✕1$/);

    // The image's layers given in the wrong order: the chain is the kernel's order, and it is
    // no image's (the title names none).
    mountByHand('web3', [...top].reverse());
    p = await drawAll();
    rows = boxRows(p.u120, 'web3: no image has this order').map(fields);
    expect(rows.map((r) => r[2])).toEqual(['web3', 'web3-init', ...[...top].reverse().map((id) => id.slice(0, 12))]);
    expect(p.u80).toContain('containers web1, web2, web3;');
    // Three boxes: side by side at 120 only as fits; no line wider than the width (drawAll).
    expect(p.a120).toContain('+- web3: no image has this order -');
  });

  it('nothing mounted: the images as one chain with both names, and a dim line saying no container is mounted', async () => {
    await resetLesson(lesson, lab);
    const store = new LayerStore(L);
    await importImage(await writeDemoImage(lab, 'oci'), store, { name: 'web' });
    await importImage(await writeDemoImage(lab, 'docker-save', path.join(storePaths(lab).imageSrc, 'web.tar')), store, { name: 'web-debug' });
    const p = await drawAll();
    const rows = boxRows(p.u80, 'web, web-debug').map(fields);
    expect(rows.map((r) => [r[0], r[1], r[2]])).toEqual(imageTopFirst().map((id) => ['●2', 'image', id.slice(0, 12)]));
    expect(p.u80).toContain('no container is mounted');
    expect(p.u80).toContain('●2: images web, web-debug (3 layers)');
    const source = lesson.picture!(lab);
    const pic = await source.draw({ width: 80, glyphs: UNICODE_GLYPHS });
    expect(pic.lines.find((l) => l.text.startsWith('no container is mounted'))?.dim).toBe(true);
    // And the base layer's count comes from its diff: one file more, one more counted.
    const base = imageTopFirst().at(-1)!;
    const count = (text: string) => Number(/ (\d+) files/.exec(boxRows(text, 'web, web-debug').at(-1)!)![1]);
    const n = count(p.u80);
    fs.writeFileSync(path.join(L, base, 'diff', 'one-more'), '');
    expect(count((await drawAll()).u80)).toBe(n + 1);
    for (const l of drawLayerChain(L, { width: 40, glyphs: ASCII_GLYPHS }).lines) expect(l.text.length).toBeLessThanOrEqual(40);
    // In Chinese, at 80 and 40 columns: the chain of both images, and the same dim line.
    const zh = await shownInChinese(async (opts) => drawLayerChain(L, opts), 80);
    expect(leftBoxRows(zh.text, 'web, web-debug').map((r) => fields(r).slice(0, 3))).toEqual(imageTopFirst().map((id) => ['●2', '镜像', id.slice(0, 12)]));
    expect(zh.text).toContain('没有已挂载的容器');
    expect(zh.text).toContain('●2：镜像 web, web-debug（3 个层）');
    expect(zh.picture.title).toBe('层链：存储中的镜像，顶层在前');
    await shownInChinese(async (opts) => drawLayerChain(L, opts), 40);
  });
});
