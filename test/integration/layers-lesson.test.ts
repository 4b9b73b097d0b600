// Lesson 7 by hand (mkdir, echo, mount(8), rm through merged, as the steps spell it out; the
// container's shell and the commit as the text writes them, run as typed), in wrong states
// that must fail with a hint, and the commit through the core. Nothing may be left behind.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { solveLesson } from '../../src/runner.js';
import { writeDemoImage, storePaths } from '../../src/lessons/07-layers.js';
import { ensureRootfs, LayerStore, importImage, createContainerLayers, commitContainer, mountOverlay, listWhiteouts, Ledger, isWhiteout, chainIdOf, diffIdOf, libc, OPAQUE_XATTR } from '../../src/core/index.js';
import { fill, lessonSource, placeholders } from '../../src/render.js';
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

/** A shell block of the lesson's text, paths filled in, found by its first line. */
function textBlock(firstLine: string): string[] {
  const values = placeholders(lesson, lab);
  const text = fill(lessonSource(lesson) ?? '', values);
  const block = [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).find((b) => b.startsWith(fill(firstLine, values)));
  if (!block) throw new Error(`no block starting "${firstLine}" in the text`);
  return block.trimEnd().split('\n');
}

/** The text's commit block as typed, the final `sudo container-lessons check 7` left to the
 * test; `edit` changes it the way a learner's slip would. */
function commitByHand(edit: (block: string) => string = (b) => b): string {
  const block = textBlock('cd {{layers}}\nTOP=')
    .filter((l) => !l.includes('container-lessons check'))
    .join('\n');
  return sh(edit(block));
}

/** The commit the text's block made: the store's one layer in no image and not web1's. */
function committed(): { id: string; short: string; dir: string } {
  const images = new Set(fs.readFileSync(path.join(paths.images, 'web.json'), 'utf8').match(/[0-9a-f]{64}/g));
  const [id, ...more] = fs.readdirSync(paths.layers).filter((n) => /^[0-9a-f]{64}$/.test(n) && !images.has(n));
  expect(more).toEqual([]);
  if (!id) throw new Error('no commit in the store');
  const dir = path.join(paths.layers, id);
  return { id, short: fs.readFileSync(path.join(dir, 'link'), 'utf8'), dir };
}

const COMMIT = 'a commit is a layer of upper alone, named by its chain id';

/** Imported, mounted by hand, a file deleted and one written through merged. */
async function changedByHand(): Promise<string> {
  await imported();
  const merged = mountByHand('right');
  sh(`rm ${merged}/srv/www/index.html; echo 'made in the container' > ${merged}/srv/www/new.html`);
  return merged;
}

describe('lesson 7 by hand', () => {
  it("the text's demo-image and import, then the init and upper layers and the mount with mount(8), rm through merged, then the container shell and the commit as the text writes them: passes", async () => {
    const cli = `CONTAINER_LESSONS_HOME=${lab.root} ${process.execPath} ${new URL('../../bin/container-lessons.js', import.meta.url).pathname} `;
    sh(textBlock('container-lessons demo-image').join('\n').replaceAll('container-lessons ', cli));
    top = JSON.parse(fs.readFileSync(path.join(paths.images, 'web.json'), 'utf8')).top;
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
    f = firstFail(await lesson.check(lab));
    expect(f.title).toBe(COMMIT);
    expect(f.reason).toMatch(/^no commit yet/);
    expect(f.hint).toMatch(/commit web1\/diff as step 7 shows/);
    // The container's shell as the text starts it, fed what a learner types inside.
    const [first, second, ...inside] = textBlock('unshare --mount --uts');
    const hostname = os.hostname();
    const out = execFileSync('/bin/bash', ['-c', `${first!.replace(/\\$/, '')} ${second}`], { input: `${inside.join('\n')}\n`, encoding: 'utf8' });
    expect(out.split('\n').slice(0, 2)).toEqual(['web1', 'web1']);
    expect(os.hostname()).toBe(hostname);
    expect(fs.readFileSync(path.join(paths.layers, 'web1/diff/srv/www/new.html'), 'utf8')).toBe('made in the container\n');
    // The commit, as the text writes it.
    const listed = commitByHand();
    expect(listed).toMatch(/c--------- \d+ root root 0, 0 .* index\.html/);
    expect(listed).toMatch(/new\.html/);
    const c = committed();
    expect(c.short).toMatch(/^[A-Z2-7]{26}$/);
    const t = new LayerStore(paths.layers).info(top);
    expect(fs.readFileSync(path.join(c.dir, 'lower'), 'utf8')).toBe([`l/${t.link}`, ...t.lower].join(':'));
    expect(`sha256:${c.id}`).toBe(chainIdOf(`sha256:${top}`, await diffIdOf(path.join(paths.layers, 'web1/diff'))));
    expect(fs.existsSync(path.join(paths.layers, 'web1.tar'))).toBe(false);
    const checks = await lesson.check(lab);
    expect(checks.filter((x) => x.status === 'fail')).toEqual([]);
    expect(checks.map((x) => x.title)).toEqual(['a layer store laid out like overlay2', 'an image in the store', 'a container mounted from an image', 'merged shows what the layers say', 'a deletion is a whiteout in upper', COMMIT]);
    expect(checks[4]?.reason).toMatch(/srv\/www\/index\.html: character device 0\/0/);
    expect(checks[5]?.reason).toMatch(new RegExp(`^${c.id.slice(0, 12)}… = chain id of diff id .* diff holds exactly upper \\(whiteouts included: 1\\)`));
  });

  it('a directory replaced in the container is opaque in upper and in the commit; a commit whose tars left out xattrs fails and names the opaque mark', async () => {
    const merged = await changedByHand();
    sh(`rm -r ${merged}/srv/data && mkdir ${merged}/srv/data && echo c > ${merged}/srv/data/c.txt`);
    expect(libc.lgetxattr(path.join(paths.layers, 'web1/diff/srv/data'), OPAQUE_XATTR)?.toString()).toBe('y');
    // The text's two tar lines, without their xattr options.
    commitByHand((b) => {
      const edited = b.replace(/ --xattrs \\\n +--xattrs-include=\S+ --xattrs-include=\S+/g, '');
      expect(b.length - edited.length).toBeGreaterThan(2 * ' --xattrs --xattrs-include=trusted.overlay.opaque'.length);
      return edited;
    });
    const f = firstFail(await lesson.check(lab));
    expect(f.title).toBe(COMMIT);
    expect(f.reason).toMatch(/its diff is not upper: srv\/data: opaque in upper \(trusted\.overlay\.opaque=y\), not in diff/);
    expect(f.hint).toMatch(/opaque directory is marked by an xattr: tar needs --xattrs --xattrs-include=trusted\.overlay\.opaque --xattrs-include=security\.capability when/);
    const wrong = committed();
    sh(`rm -rf ${wrong.dir} ${paths.layers}/l/${wrong.short}`);
    commitByHand();
    expect(libc.lgetxattr(path.join(committed().dir, 'diff/srv/data'), OPAQUE_XATTR)?.toString()).toBe('y');
    expect((await lesson.check(lab)).filter((x) => x.status === 'fail')).toEqual([]);
    // The same upper committed again, through the core: the same layer, already there.
    const again = await commitContainer(new LayerStore(paths.layers), { upper: path.join(paths.layers, 'web1/diff'), image: top });
    expect(again.id).toBe(committed().id);
    expect(again.reused).toBe(true);
  });

  // Each slip a learner can make in a commit, made after the text's commit: the commit check
  // fails, says what is wrong, and its hint names the fix.
  const slips: Array<{ name: string; slip: (c: ReturnType<typeof committed>) => string; reason: RegExp; hint: RegExp }> = [
    {
      name: 'a whiteout copied as a regular file',
      slip: (c) => `rm ${c.dir}/diff/srv/www/index.html && touch ${c.dir}/diff/srv/www/index.html`,
      reason: /its diff is not upper: srv\/www\/index\.html: a whiteout in upper, a regular file in diff/,
      hint: /a deletion is a whiteout, a character device 0\/0, and stays one/,
    },
    {
      name: 'a whiteout lost',
      slip: (c) => `rm ${c.dir}/diff/srv/www/index.html`,
      reason: /srv\/www\/index\.html: a whiteout in upper, not in diff/,
      hint: /a deletion is a whiteout/,
    },
    {
      name: 'a file of upper missing from diff',
      slip: (c) => `rm ${c.dir}/diff/srv/www/new.html`,
      reason: /srv\/www\/new\.html: a regular file in upper, not in diff/,
      hint: /the commit lacks what web1\/diff holds/,
    },
    {
      name: 'upper changed after the commit',
      slip: () => `echo later > ${paths.layers}/web1/merged/srv/www/later.html`,
      reason: /srv\/www\/later\.html: a regular file in upper, not in diff/,
      hint: /a change made after a commit needs a commit of its own/,
    },
    {
      name: "the init layer's files in it",
      slip: (c) => `cp -a ${paths.layers}/web1-init/diff/etc ${c.dir}/diff/`,
      reason: /etc: in diff, not in upper/,
      hint: /a commit holds upper alone .*not the init layer/,
    },
    {
      name: 'lower in the wrong order',
      slip: (c) => `cd ${c.dir} && { cat lower; echo; } | tr ':' '\\n' | tac | paste -sd: > lower.new && mv lower.new lower`,
      reason: /its lower lists .*: the image's links in the wrong order; on [0-9a-f]{12}… it is/,
      hint: /its lower is that layer's link, then that layer's own lower/,
    },
    {
      name: 'lower missing a link',
      slip: (c) => `cd ${c.dir} && cut -d: -f1,2 lower > lower.new && mv lower.new lower`,
      reason: /1 of the image's links missing/,
      hint: /its lower is that layer's link/,
    },
    {
      name: 'no lower file',
      slip: (c) => `rm ${c.dir}/lower`,
      reason: /it has no lower file/,
      hint: /printf %s "l\/\$\(cat \$TOP\/link\):\$\(cat \$TOP\/lower\)" > \$NEW\/lower/,
    },
    {
      name: 'its l/ link dangling (a typo in the target)',
      slip: (c) => `cd ${paths.layers} && ln -sfn ../${c.id}/dif l/${c.short}`,
      reason: /l\/[A-Z2-7]{26} points at \.\.\/[0-9a-f]{64}\/dif, which does not exist \(a dangling link\)/,
      hint: /ln -sfn \.\.\/[0-9a-f]{64}\/diff l\/[A-Z2-7]{26}/,
    },
    {
      name: 'no l/ link',
      slip: (c) => `rm ${paths.layers}/l/${c.short}`,
      reason: /l\/[A-Z2-7]{26} is missing/,
      hint: /ln -sfn/,
    },
    {
      name: 'a name that is not the chain id',
      slip: (c) => `cd ${paths.layers} && mv ${c.id} my-commit && ln -sfn ../my-commit/diff l/${c.short}`,
      reason: /^my-commit: its name is not its chain id: its diff id is sha256:[0-9a-f]{12}…, which on the image's top layer [0-9a-f]{12}… gives/,
      hint: /name the layer by its chain id: DIFFID=.*NEW=\$\(printf 'sha256:%s %s' \$TOP \$DIFFID/,
    },
    {
      name: "diff's times changed after it was unpacked",
      slip: (c) => `touch ${c.dir}/diff/srv/www`,
      reason: /its name is the chain id of upper's tar, but the tar of its diff differs/,
      hint: /unpack upper's tar again/,
    },
  ];
  for (const { name, slip, reason, hint } of slips) {
    it(`a commit by hand, then ${name}: fails and says so`, async () => {
      await changedByHand();
      commitByHand();
      expect((await lesson.check(lab)).filter((x) => x.status === 'fail')).toEqual([]);
      sh(slip(committed()));
      const f = firstFail(await lesson.check(lab));
      expect(f.title).toBe(COMMIT);
      expect(f.reason).toMatch(reason);
      expect(f.hint).toMatch(hint);
    });
  }

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
    expect(report.checks.at(-1)).toMatchObject({ title: COMMIT, status: 'pass' });
    expect(leaks(s0, snapshot())).toEqual({});
    expect(fs.existsSync(paths.layers)).toBe(false);
  });
});

describe("a container's layers through the core", () => {
  it('init and upper on the image; a commit holds upper alone, with its whiteout, owner, hard link and capability, and no init files', async () => {
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
      fs.linkSync(path.join(c.merged, 'srv/www/new.html'), path.join(c.merged, 'srv/www/same.html'));
      // A capability (set after the chown, which clears it) is kept, as Docker's commit keeps
      // it; a user xattr is not, as in Docker's.
      sh(`setcap cap_net_raw=ep ${c.merged}/srv/www/new.html`);
      libc.lsetxattr(path.join(c.merged, 'srv/www/new.html'), 'user.note', 'not committed');
      const layer = await commitContainer(store, c, ledger);
      // Named as the text says: the chain id, on the image's top layer, of upper's tar.
      expect(layer.diffId).toBe(await diffIdOf(c.upper));
      expect(layer.chainId).toBe(chainIdOf(`sha256:${top}`, layer.diffId));
      expect(layer.id).toBe(layer.chainId.slice('sha256:'.length));
      expect(await diffIdOf(layer.diff)).toBe(layer.diffId);
      expect(layer.reused).toBe(false);
      expect(fs.readdirSync(paths.layers).filter((n) => n.startsWith('.'))).toEqual([]);
      expect(fs.statSync(path.join(layer.diff, 'srv/www/same.html')).ino).toBe(fs.statSync(path.join(layer.diff, 'srv/www/new.html')).ino);
      expect(layer.lower[0]).toBe(`l/${store.info(top).link}`);
      expect(fs.existsSync(path.join(layer.diff, 'etc/hostname'))).toBe(false);
      expect(fs.statSync(path.join(layer.diff, 'srv/www/new.html')).uid).toBe(1000);
      expect(sh(`getcap ${layer.diff}/srv/www/new.html`)).toMatch(/cap_net_raw=ep/);
      expect(libc.lgetxattr(path.join(layer.diff, 'srv/www/new.html'), 'user.note')).toBeNull();
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
      expect(`sha256:${id}`).toBe(chainIdOf(`sha256:${top}`, await diffIdOf(c.upper)));
      expect(info.link).toMatch(/^[A-Z2-7]{26}$/);
      expect(store.resolveLink(`l/${info.link}`)).toBe(id);
      expect(info.lower).toEqual([`l/${store.info(top).link}`, ...store.info(top).lower]);
      expect(fs.existsSync(path.join(info.diff, 'etc/hostname'))).toBe(false);
      expect(listWhiteouts(info.diff).map((w) => w.path)).toEqual(['srv/www/index.html']);
      expect(fs.readdirSync(path.join(info.diff, 'srv/www')).sort()).toEqual(['index.html', 'new.html']);
      expect(out).toMatch(/new\.html/);
      const checks = await lesson.check(lab);
      expect(checks.filter((x) => x.status === 'fail')).toEqual([]);
      expect(checks.at(-1)?.title).toBe(COMMIT);
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
