// Lesson 7 by hand (mkdir, echo, mount(8), rm through merged, as the steps spell it out),
// in wrong states that must fail with a hint, and the commit through the core. Nothing
// may be left behind.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { solveLesson } from '../../src/runner.js';
import { writeDemoImage, storePaths } from '../../src/lessons/07-layers.js';
import { ensureRootfs, LayerStore, importImage, createContainerLayers, commitContainer, mountOverlay, listWhiteouts, Ledger, isWhiteout } from '../../src/core/index.js';
import type { CheckResult } from '../../src/checks/result.js';
import { tempLab } from '../support/lab.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-layers-');
const lesson = findLesson('layers') as Lesson;
const paths = storePaths(lab);
const sh = (script: string, cwd?: string) => execFileSync('/bin/bash', ['-c', script], { cwd, encoding: 'utf8' });
const firstFail = (checks: CheckResult[]) => {
  const f = checks.find((c) => c.status === 'fail');
  if (!f) throw new Error(`expected a failing check, all passed: ${checks.map((c) => c.title).join(' | ')}`);
  return f;
};

let before: ReturnType<typeof snapshot>;
let top: string;
beforeAll(async () => {
  ensureRootfs(lab.rootfs);
  before = snapshot();
});
afterEach(async () => {
  await lesson.reset(lab);
});
afterAll(async () => {
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

async function imported(): Promise<string> {
  const src = await writeDemoImage(lab, 'oci');
  const img = await importImage(src, new LayerStore(paths.layers), { name: 'web' });
  top = img.top;
  return top;
}

/** The step's commands, typed as a learner would, with the image's order read from the store. */
function mountByHand(order: 'right' | 'swapped' | 'no-init') {
  const L = paths.layers;
  sh(`mkdir -p web1-init/diff/etc web1/diff web1/work web1/merged && echo web1 > web1-init/diff/etc/hostname`, L);
  const image = `$PWD/l/$(cat ${top}/link):$(sed "s#l/#$PWD/l/#g" ${top}/lower)`;
  const lower = order === 'right' ? `$PWD/web1-init/diff:${image}` : order === 'no-init' ? image : `$PWD/web1-init/diff:$(echo ${image} | tr ':' '\\n' | tac | paste -sd:)`;
  sh(`mount -t overlay overlay -o lowerdir=${lower},upperdir=$PWD/web1/diff,workdir=$PWD/web1/work $PWD/web1/merged`, L);
  return path.join(L, 'web1', 'merged');
}

describe('lesson 7 by hand', () => {
  it('import, then the init and upper layers and the mount with mount(8), then rm through merged: passes', async () => {
    await imported();
    let f = firstFail(await lesson.check(lab));
    expect(f.title).toBe('a container mounted from an image');
    expect(f.hint).toMatch(/make the web1-init and web1 layers/);
    const merged = mountByHand('right');
    // The image's own whiteout and opaque directory, seen through the mount.
    expect(fs.existsSync(path.join(merged, 'srv/www/old.html'))).toBe(false);
    expect(fs.readdirSync(path.join(merged, 'srv/data'))).toEqual(['b.txt']);
    expect(fs.readFileSync(path.join(merged, 'etc/hostname'), 'utf8')).toBe('web1\n');
    f = firstFail(await lesson.check(lab));
    expect(f.title).toBe('a deletion is a whiteout in upper');
    sh(`rm ${merged}/srv/www/index.html`);
    const checks = await lesson.check(lab);
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.map((c) => c.title)).toEqual(['a layer store laid out like overlay2', 'an image in the store', 'a container mounted from an image', 'merged shows what the layers say', 'a deletion is a whiteout in upper']);
    expect(checks[4]?.reason).toMatch(/srv\/www\/index\.html: character device 0\/0/);
  });

  it('the image below the init layer in the wrong order: fails and says top first', async () => {
    await imported();
    mountByHand('swapped');
    const f = firstFail(await lesson.check(lab));
    expect(f.title).toBe('a container mounted from an image');
    expect(f.reason).toMatch(/not an image's layers top first/);
    expect(f.hint).toMatch(/lists the top layer first/);
  });

  it('no init layer: fails', async () => {
    await imported();
    mountByHand('no-init');
    const f = firstFail(await lesson.check(lab));
    expect(f.reason).toMatch(/is not an init layer: it has no etc\/hostname/);
  });

  it('a broken short link in the store: fails with the layout to fix', async () => {
    await imported();
    const link = new LayerStore(paths.layers).info(top).link;
    fs.rmSync(path.join(paths.layers, 'l', link));
    const f = firstFail(await lesson.check(lab));
    expect(f.title).toBe('a layer store laid out like overlay2');
    expect(f.reason).toMatch(new RegExp(`l/${link} does not point at ${top}/diff`));
  });

  it('nothing imported: fails with the import command', async () => {
    const f = firstFail(await lesson.check(lab));
    expect(f.title).toBe('a layer store laid out like overlay2');
    expect(f.hint).toMatch(/container-lessons import/);
  });
});

describe('lesson 7 kept, then reset', () => {
  it('solve --keep leaves the container on merged running; reset finds it through /proc/<pid>/root and leaves nothing', async () => {
    const s0 = snapshot();
    const report = await solveLesson(lesson, lab, { keep: true });
    expect(report.passed).toBe(true);
    const removed = await lesson.reset(lab);
    expect(removed).toEqual(expect.arrayContaining([expect.stringMatching(/^process \d+ \(sh\)$/), expect.stringMatching(/^mount .*web1\/merged$/)]));
    expect(leaks(s0, snapshot())).toEqual({});
    expect(fs.existsSync(paths.layers)).toBe(false);
  });
});

describe("a container's layers through the core", () => {
  it('init and upper on the image; a commit holds upper alone, with its whiteout and owner, and no init files', async () => {
    await imported();
    const store = new LayerStore(paths.layers);
    const ledger = new Ledger();
    try {
      const c = await createContainerLayers(store, top, 'c1', { hostname: 'c1', ledger });
      expect(c.lowers[0]).toBe(path.join(paths.layers, 'l', store.info('c1-init').link));
      expect(store.info('c1').lower[0]).toBe(`l/${store.info('c1-init').link}`);
      mountOverlay({ lowers: c.lowers, upper: c.upper, work: c.work, merged: c.merged }, ledger);
      fs.writeFileSync(path.join(c.merged, 'srv/www/new.html'), 'new\n');
      fs.chownSync(path.join(c.merged, 'srv/www/new.html'), 1000, 1000);
      fs.rmSync(path.join(c.merged, 'srv/www/index.html'));
      const layer = await commitContainer(store, c, 'c1-commit');
      expect(layer.lower[0]).toBe(`l/${store.info(top).link}`);
      expect(fs.existsSync(path.join(layer.diff, 'etc/hostname'))).toBe(false);
      expect(fs.statSync(path.join(layer.diff, 'srv/www/new.html')).uid).toBe(1000);
      expect(isWhiteout(fs.lstatSync(path.join(layer.diff, 'srv/www/index.html')))).toBe(true);
      expect(listWhiteouts(layer.diff).map((w) => w.path)).toEqual(['srv/www/index.html']);
    } finally {
      expect(await ledger.cleanup()).toEqual([]);
    }
  });
});

describe("lesson 7's commands typed as shown", () => {
  const step = (start: string) => {
    const st = lesson.steps.find((x) => x.title.startsWith(start));
    if (!st) throw new Error(`no step "${start}"`);
    return st.commands(lab).join('\n');
  };

  it("step 3's demo-image and import: a docker save tarball whose layers are all shared", async () => {
    await imported();
    const out = sh(step('A second image').replaceAll('container-lessons ', `CONTAINER_LESSONS_HOME=${lab.root} ${process.execPath} ${new URL('../../bin/container-lessons.js', import.meta.url).pathname} `));
    expect(out).toMatch(/wrote a docker save tarball: .*web-debug\.tar/);
    expect(out.match(/already there/g)).toHaveLength(3);
  });

  it("step 7's commit: a layer the store accepts, on the image's top layer, holding upper alone", async () => {
    await imported();
    const store = new LayerStore(paths.layers);
    const ledger = new Ledger();
    try {
      const c = await createContainerLayers(store, top, 'web1', { hostname: 'web1', ledger });
      mountOverlay({ lowers: c.lowers, upper: c.upper, work: c.work, merged: c.merged }, ledger);
      fs.writeFileSync(path.join(c.merged, 'srv/www/new.html'), 'new\n');
      fs.rmSync(path.join(c.merged, 'srv/www/index.html'));
      const before = new Set(store.ids());
      const out = sh(step('Commit'));
      const [id, ...more] = store.ids().filter((x) => !before.has(x));
      expect(more).toEqual([]);
      const info = store.info(earlierId(id));
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(info.link).toMatch(/^[A-Z2-7]{26}$/);
      expect(store.resolveLink(`l/${info.link}`)).toBe(id);
      expect(info.lower).toEqual([`l/${store.info(top).link}`, ...store.info(top).lower]);
      expect(fs.existsSync(path.join(info.diff, 'etc/hostname'))).toBe(false);
      expect(listWhiteouts(info.diff).map((w) => w.path)).toEqual(['srv/www/index.html']);
      expect(fs.readdirSync(path.join(info.diff, 'srv/www')).sort()).toEqual(['index.html', 'new.html']);
      expect(out).toMatch(/new\.html/);
      expect((await lesson.check(lab))[0]?.status).toBe('pass');
    } finally {
      expect(await ledger.cleanup()).toEqual([]);
    }
  });
});

const earlierId = (id: string | undefined) => {
  if (!id) throw new Error('no new layer in the store');
  return id;
};

describe('import and demo-image on the command line', () => {
  const BIN = new URL('../../bin/container-lessons.js', import.meta.url).pathname;
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, CONTAINER_LESSONS_HOME: lab.root }, encoding: 'utf8' });

  it('writes the demo image in both forms and imports them; the second import shares the layers', () => {
    const oci = cli('demo-image');
    expect(oci.status, oci.stderr).toBe(0);
    expect(oci.stdout).toMatch(/wrote an OCI image layout: .*image-src\/web-oci/);
    const first = cli('import', path.join(paths.imageSrc, 'web-oci'));
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/imported web_1|imported web:1|imported web/);
    expect(first.stdout.match(/unpacked/g)).toHaveLength(3);
    const tarPath = path.join(lab.root, 'web.tar');
    expect(cli('demo-image', tarPath, '--format', 'docker-save').status).toBe(0);
    const second = cli('import', tarPath, '--name', 'again');
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout.match(/already there/g)).toHaveLength(3);
  });

  it('bad input: a missing file, a file that is no image, an unknown format: a message, no trace, nothing half-made', () => {
    const missing = cli('import', path.join(lab.root, 'nope.tar'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^container-lessons: .*nope\.tar/m);
    expect(missing.stderr).toMatch(/^hint: /m);
    const junk = path.join(lab.root, 'junk.tar');
    fs.writeFileSync(junk, 'this is not a tarball\n'.repeat(100));
    const notImage = cli('import', junk);
    expect(notImage.status).toBe(1);
    expect(notImage.stderr).toMatch(/^hint: /m);
    for (const r of [missing, notImage]) expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(fs.existsSync(paths.layers) ? fs.readdirSync(paths.layers).filter((n) => n.startsWith('.')) : []).toEqual([]);
    const fmt = cli('demo-image', '--format', 'zip');
    expect(fmt.status).toBe(2);
    expect(fmt.stderr).toMatch(/--format is oci or docker-save/);
  });
});
