// Lesson 1: an overlayfs union mount, the walkthrough's layout.
import fs from 'node:fs';
import path from 'node:path';
import { HintedError, mountOverlay, unmount, listWhiteouts, overlayCommand, isWhiteout, procfs } from '../core/index.js';
import { pass, fail, type CheckResult } from '../checks/result.js';
import type { Lab } from '../lab.js';
import { chownToInvoker } from '../lab.js';
import { defineLesson } from './types.js';
import { hostShell, lines } from './show.js';
import { stillPicture } from '../pictures/picture.js';
import { drawUnion } from '../pictures/union.js';
import { t } from '../i18n/messages.js';

/** The walkthrough's files: directory -> file -> content ("" = empty file). */
export const LAYOUT: Record<'lower1' | 'lower2' | 'upper' | 'work' | 'merged', Record<string, string>> = {
  lower1: { 'a.txt': '', 'n.txt': 'lower1\n' },
  lower2: { 'b.txt': '', 'n.txt': 'lower2\n', 'x.txt': 'lower\n' },
  upper: { 'c.txt': '', 'x.txt': 'upper\n' },
  work: {},
  merged: {},
};

/** The lab path the lesson keeps its union mount's directories in. */
const PATHS = { ufs: 'ufs' };
const ufs = (lab: Lab) => path.join(lab.root, PATHS.ufs);

export const dirs = (lab: Lab) => ({
  lower1: path.join(ufs(lab), 'lower1'),
  lower2: path.join(ufs(lab), 'lower2'),
  upper: path.join(ufs(lab), 'upper'),
  work: path.join(ufs(lab), 'work'),
  merged: path.join(ufs(lab), 'merged'),
});

const spec = (lab: Lab) => {
  const d = dirs(lab);
  return { lowers: [d.lower2, d.lower1], upper: d.upper, work: d.work, merged: d.merged };
};

/** Overlay mounts at merged, as the host sees them (a learner may have mounted twice). */
function mergedMounts(lab: Lab): procfs.MountInfo[] {
  const merged = dirs(lab).merged;
  return procfs.readMountinfo().filter((m) => m.mountPoint === merged);
}

function readText(p: string): string | null {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

function tree(root: string): string {
  const out: string[] = [path.basename(root) + '/'];
  for (const d of Object.keys(LAYOUT)) {
    out.push(`  ${d}/`);
    const dir = path.join(root, d);
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
      const text = readText(path.join(dir, f));
      out.push(`    ${f}${text ? `   "${text.trim()}"` : ''}`);
    }
  }
  return out.join('\n');
}

/** The checks, by the titles their results carry (the text lists each). */
const CHECKS = {
  mounted: 'merged is an overlay mount',
  everyLayer: 'merged shows every layer',
  upperWins: 'upper wins over the lowers',
  lowerOrder: 'lowerdir lists the top layer first',
  whiteout: 'a deletion leaves a whiteout',
  lowersUntouched: 'the lower layers are untouched',
} as const;

const overlay = defineLesson({
  id: 'overlay',
  title: 'A union mount with overlayfs',
  text: '01-overlay.md',
  labPaths: PATHS,
  needs: { filesystems: ['overlay'] },
  newState: () => ({}),
  checks: Object.values(CHECKS),
  steps: [
    {
      title: 'Lay out two lower layers, an upper layer and a work directory',
      commands: (lab) => [
        `mkdir -p ${ufs(lab)} && cd ${ufs(lab)}`,
        'mkdir lower1 lower2 upper work merged',
        'touch lower1/a.txt lower2/b.txt upper/c.txt',
        'echo lower1 > lower1/n.txt; echo lower2 > lower2/n.txt',
        'echo lower > lower2/x.txt; echo upper > upper/x.txt',
      ],
      async run(ctx) {
        const { lab, ledger } = ctx;
        if (fs.existsSync(ufs(lab))) {
          throw new HintedError(t`${ufs(lab)} already exists`, t`\`container-lessons reset overlay\` removes it (and unmounts merged)`);
        }
        ledger.add({ kind: 'file', path: ufs(lab) });
        fs.mkdirSync(ufs(lab), { recursive: true });
        for (const [d, files] of Object.entries(LAYOUT)) {
          fs.mkdirSync(path.join(ufs(lab), d));
          for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(ufs(lab), d, f), text);
        }
        chownToInvoker(lab, ufs(lab));
        return tree(ufs(lab));
      },
    },
    {
      title: 'Mount them as one: lowerdir=lower2:lower1 (top first), upperdir, workdir',
      commands: (lab) => [`cd ${ufs(lab)}`, 'mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged'],
      async run(ctx) {
        const s = spec(ctx.lab);
        mountOverlay(s, ctx.ledger);
        const m = mergedMounts(ctx.lab).at(-1);
        return lines(
          `mount("overlay", "${s.merged}", "overlay", 0, "lowerdir=...")  # = ${overlayCommand(s)}`,
          await hostShell('ls -l merged', ufs(ctx.lab)),
          await hostShell('cat merged/x.txt merged/n.txt', ufs(ctx.lab)),
          m ? `# /proc/self/mountinfo: ${m.mountPoint} ${m.fstype} ${m.superOptions}` : '',
        );
      },
    },
    {
      title: 'Delete a lower file through merged: the upper layer records a whiteout',
      commands: (lab) => [`cd ${ufs(lab)}`, 'rm merged/a.txt', 'ls -l upper lower1'],
      async run(ctx) {
        const d = dirs(ctx.lab);
        fs.unlinkSync(path.join(d.merged, 'a.txt'));
        return lines(
          await hostShell('ls -l upper lower1 merged', ufs(ctx.lab)),
          t`# whiteouts in upper: ${listWhiteouts(d.upper)
            .map((w) => w.path)
            .join(', ')}`,
        );
      },
    },
  ],

  async check(lab) {
    const d = dirs(lab);
    const results: CheckResult[] = [];
    const mi = '/proc/self/mountinfo';
    const mounts = mergedMounts(lab);
    const top = mounts.at(-1);
    if (top?.fstype !== 'overlay') {
      results.push(
        fail(
          CHECKS.mounted,
          top ? t`${d.merged} is a ${top.fstype} mount, not overlay` : t`nothing is mounted at ${d.merged}`,
          t`mount the layers: cd ${ufs(lab)} && mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged`,
          [mi],
        ),
      );
      return results;
    }
    if (mounts.length > 1) {
      // Mounted more than once: the mounts stack, each hiding the one below, and a single
      // umount leaves the rest (rm -rf then fails with EBUSY).
      results.push(
        fail(
          CHECKS.mounted,
          t`${mounts.length} mounts are stacked at ${d.merged} (${mounts.map((m) => m.fstype).join(', ')}, the last one on top): it was mounted ${mounts.length} times`,
          t`unmount until nothing is left (cd ${ufs(lab)} && while mountpoint -q merged; do umount merged; done), then mount once: mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged`,
          [mi],
        ),
      );
      return results;
    }
    results.push(
      pass(
        CHECKS.mounted,
        `${d.merged}: overlay (${top.superOptions
          .split(',')
          .filter((o) => /^(lower|upper|work)dir=/.test(o))
          .join(', ')})`,
        [mi],
      ),
    );

    const names = fs.readdirSync(d.merged).sort();
    const whiteA = (() => {
      try {
        return isWhiteout(fs.lstatSync(path.join(d.upper, 'a.txt')));
      } catch {
        return false;
      }
    })();
    const expected = ['b.txt', 'c.txt', 'n.txt', 'x.txt', ...(whiteA ? [] : ['a.txt'])].sort();
    const missing = expected.filter((n) => !names.includes(n));
    results.push(
      missing.length
        ? fail(
            CHECKS.everyLayer,
            names.length ? t`merged lists ${names.join(' ')}; missing ${missing.join(' ')}` : t`merged lists nothing; missing ${missing.join(' ')}`,
            t`a missing name means a layer is not in the mount: lowerdir needs both lower2 and lower1, upperdir needs upper`,
            [d.merged],
          )
        : pass(CHECKS.everyLayer, whiteA ? t`merged lists ${names.join(' ')}: b from lower2, c from upper (a, deleted, is hidden)` : t`merged lists ${names.join(' ')}: a from lower1, b from lower2, c from upper`, [d.merged]),
    );

    const x = readText(path.join(d.merged, 'x.txt'))?.trim();
    results.push(
      x === 'upper'
        ? pass(CHECKS.upperWins, t`merged/x.txt reads "upper"`, [path.join(d.merged, 'x.txt')])
        : fail(CHECKS.upperWins, t`merged/x.txt reads "${x ?? t`(missing)`}", expected "upper"`, t`upper/x.txt must exist and upperdir must be ./upper: the upper layer always sits on top`, [path.join(d.merged, 'x.txt')]),
    );

    const n = readText(path.join(d.merged, 'n.txt'))?.trim();
    results.push(
      n === 'lower2'
        ? pass(CHECKS.lowerOrder, t`merged/n.txt reads "lower2": lower2 lies above lower1`, [path.join(d.merged, 'n.txt')])
        : fail(
            CHECKS.lowerOrder,
            t`merged/n.txt reads "${n ?? t`(missing)`}", expected "lower2"`,
            n === 'lower1' ? t`the lowerdir order is swapped: the first directory in lowerdir= is the top one, so use lowerdir=./lower2:./lower1` : t`lower2/n.txt should hold "lower2" and lower1/n.txt "lower1"`,
            [path.join(d.merged, 'n.txt')],
          ),
    );

    const aUpper = path.join(d.upper, 'a.txt');
    let st: fs.Stats | null = null;
    try {
      st = fs.lstatSync(aUpper);
    } catch {
      st = null;
    }
    if (st && isWhiteout(st) && !names.includes('a.txt')) {
      results.push(pass(CHECKS.whiteout, t`upper/a.txt is a character device 0/0 and merged no longer shows a.txt`, [aUpper, d.merged]));
    } else {
      results.push(
        fail(
          CHECKS.whiteout,
          st ? t`upper/a.txt is there but not a 0/0 character device (mode ${st.mode.toString(8)}, rdev ${st.rdev})` : names.includes('a.txt') ? t`merged still shows a.txt` : t`a.txt is gone from merged but upper holds no whiteout for it`,
          st ? t`a whiteout is made by the kernel when you delete through merged; do not create upper/a.txt by hand` : t`delete it through the union: rm ${path.join(d.merged, 'a.txt')} (never in lower1 directly)`,
          [aUpper, d.merged],
        ),
      );
    }

    const changed: string[] = [];
    for (const layer of ['lower1', 'lower2'] as const) {
      for (const [f, text] of Object.entries(LAYOUT[layer])) {
        const got = readText(path.join(d[layer], f));
        if (got === null || got.trim() !== text.trim()) changed.push(`${layer}/${f}`);
      }
      const extra = fs.existsSync(d[layer]) ? fs.readdirSync(d[layer]).filter((f) => !(f in LAYOUT[layer])) : [];
      changed.push(...extra.map((f) => t`${layer}/${f} (new)`));
    }
    results.push(
      changed.length
        ? fail(CHECKS.lowersUntouched, t`changed: ${changed.join(', ')}`, t`all writes through merged must land in upper; were files edited in lower1/lower2 directly? \`container-lessons reset overlay\` starts over`, [d.lower1, d.lower2])
        : pass(CHECKS.lowersUntouched, t`lower1 and lower2 hold exactly their original files; every change went to upper`, [d.lower1, d.lower2]),
    );
    return results;
  },

  hints: (lab) => [
    t`overlayfs shows several directories as one: the lower layers are read-only and stacked, the upper layer takes every write (a lower file is copied up before it changes), and deleting a file that lives in a lower layer leaves a whiteout in upper that hides it. Here lower2 lies above lower1, and upper above both.`,
    t`It is one mount(2) of type overlay with the options lowerdir= (a colon-separated list, the top layer first), upperdir= and workdir= (an empty directory on the same filesystem as upper), in ${ufs(lab)}. The mount shows in /proc/self/mountinfo; a whiteout is a character device 0/0 in upper (ls -l shows "c ... 0, 0").`,
    t`Mount with the top lower layer first, once (a second mount stacks on the first): cd ${ufs(lab)} && mount -t overlay overlay -o lowerdir=./lower2:./lower1,upperdir=./upper,workdir=./work ./merged ; then rm merged/a.txt and look at upper with ls -l.`,
  ],

  picture: stillPicture((lab, opts) => {
    const d = dirs(lab);
    return drawUnion({ base: ufs(lab), merged: d.merged, upper: d.upper, lowers: [d.lower2, d.lower1] }, opts);
  }),

  async shell(ctx) {
    const cwd = fs.existsSync(ufs(ctx.lab)) ? ufs(ctx.lab) : ctx.lab.root;
    return { kind: 'host', cwd, title: t`a shell on the host in ${cwd}` };
  },

  async reset(lab) {
    const removed: string[] = [];
    const merged = dirs(lab).merged;
    // A learner may have mounted more than once: peel every layer off, and say how many.
    let peeled = 0;
    for (let i = 0; i < 16 && mergedMounts(lab).length; i++) {
      unmount(merged);
      peeled++;
    }
    if (peeled === 1) removed.push(t`mount ${merged}`);
    else if (peeled > 1) removed.push(t`mount ${merged}: ${peeled} mounts stacked there, every one unmounted`);
    if (fs.existsSync(ufs(lab))) {
      fs.rmSync(ufs(lab), { recursive: true, force: true });
      removed.push(ufs(lab));
    }
    return removed;
  },
});

export default overlay;
