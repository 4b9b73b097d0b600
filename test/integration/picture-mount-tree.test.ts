// Lesson 3's picture on the real kernel: a container built by hand line by line in a
// learner's second terminal (unshare, bind, pivot_root, proc, umount -l), drawn after each
// line from /proc/<pid>/mountinfo; mounts added by hand inside it; a chroot mistaken for
// pivot_root; and the workbook's own container. Nothing may be left behind.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { solveLesson } from '../../src/runner.js';
import { ensureRootfs, readMarker } from '../../src/core/index.js';
import { findLabProcesses, containerLeaders } from '../../src/checks/containers.js';
import { mountTreePicture } from '../../src/pictures/mount-tree.js';
import { drawOnce, pictureLines, type PictureSource } from '../../src/pictures/picture.js';
import { UNICODE_GLYPHS } from '../../src/pictures/glyphs.js';
import { tempLab } from '../support/lab.js';
import { BOTH_GLYPHS, shown, shownInChinese } from '../support/picture.js';
import { ByHand } from '../support/by-hand.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-mount-tree-');
const lesson = findLesson('mount-namespace') as Lesson;
const R = lab.rootfs;

/** Draw with both glyph sets at 80 and 120 columns; every line within its width, the ASCII
 * drawing plain ASCII. Returns the 80-column UNICODE drawing, whole (title, legend). */
async function drawn(source: PictureSource): Promise<string[]> {
  let text: string[] = [];
  for (const glyphs of BOTH_GLYPHS) {
    for (const width of [80, 120]) {
      const { lines } = shown(await source.draw({ width, glyphs }), width, glyphs);
      if (glyphs.utf8 && width === 80) text = lines;
    }
  }
  return text;
}

const once = async () => pictureLines(await drawOnce(lesson.picture!, lab, { width: 80, glyphs: UNICODE_GLYPHS }), 80, UNICODE_GLYPHS).map((l) => l.text);

/** A learner's second terminal: a root shell in new mount and UTS namespaces, typed into
 * line by line as the lesson's text does (each line waits for the shell to finish it). */
class Terminal {
  private child: ChildProcess;
  private out = '';
  private err = '';
  private n = 0;
  constructor(argv: string[]) {
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => (this.out += d));
    this.child.stderr!.on('data', (d) => (this.err += d));
  }
  async type(line: string): Promise<void> {
    const done = `__typed_${++this.n}__`;
    this.child.stdin!.write(`${line}; echo ${done}\n`);
    for (let i = 0; i < 500 && !this.out.includes(done); i++) await new Promise((r) => setTimeout(r, 10));
    if (!this.out.includes(done)) throw new Error(`the shell did not finish: ${line}: ${this.err}`);
  }
  /** The first process of its namespaces (unshare, which forked the shell). */
  get pid(): number {
    return this.child.pid!;
  }
  errors(): string {
    return this.err;
  }
  stop(): void {
    this.child.stdin?.end();
    this.child.kill('SIGKILL');
  }
}

const terminals: Terminal[] = [];
const openTerminal = (argv: string[]) => {
  const t = new Terminal(argv);
  terminals.push(t);
  return t;
};
const learners = new ByHand();

/** The mount points in a process's mountinfo (relative to its root). */
const mountPoints = (pid: number) =>
  fs
    .readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]!);

let before: ReturnType<typeof snapshot>;
beforeAll(() => {
  ensureRootfs(R);
  before = snapshot();
});
afterEach(async () => {
  for (const t of terminals.splice(0)) t.stop();
  learners.stopAll();
  await lesson.reset(lab);
});
afterAll(async () => {
  for (const t of terminals.splice(0)) t.stop();
  learners.stopAll();
  await lesson.reset(lab);
  expect(leaks(before, snapshot())).toEqual({});
  lab.dispose();
});

describe("lesson 3's mount tree", () => {
  it('says in one dim line that no container runs, and how to start one', async () => {
    expect(lesson.picture).toBe(mountTreePicture);
    const text = await drawn(lesson.picture!(lab));
    expect(text).toHaveLength(2);
    expect(text[1]).toMatch(/^no container runs on the rootfs yet: run the steps, or build one by hand/);
  });

  it('follows a container built by hand: before pivot_root, the old root attached, then detached', async () => {
    const source = lesson.picture!(lab);
    const t = openTerminal(['unshare', '--mount', '--uts', '--fork', 'sh']);
    await t.type('mount --make-rprivate /');
    await t.type('hostname container');
    // A mount namespace of its own, but nothing in it ties it to this lab yet.
    expect((await drawn(source))[1]).toMatch(/^no container runs on the rootfs/);

    await t.type(`mount --bind ${R} ${R}`);
    const pid = t.pid;
    let text = await drawn(source);
    expect(text[0]).toContain(`the mount tree of pid ${pid} (unshare) before pivot_root`);
    expect(text[1]).toBe('● unshare --mount → ● bind → ○ pivot_root → ○ proc → ○ umount -l');
    expect(text[2]).toBe("○ /  ext4  the host's root, still / here");
    expect(text).toContain(`├─ ● ${R}  ext4  bound on itself, / after pivot_root`);
    // The host's mounts are drawn as the host's: the first ones named, the rest counted in
    // "+N more" when this host has more than fit.
    expect(text.join('\n')).toMatch(/○ \+\d+ more mounts of the host|[├└]─ ○ \/proc {2}proc/);
    expect(text.length).toBeLessThanOrEqual(16);

    await t.type(`cd ${R}; mkdir -p .old_root`);
    await t.type('pivot_root . .old_root');
    // pivot_root moved the root of every process of the namespace: the check finds it now.
    expect(containerLeaders(findLabProcesses(readMarker(R)!.id))[0]?.pid).toBe(pid);
    text = await drawn(source);
    expect(text[0]).toContain(`the mount tree of pid ${pid} (unshare) after pivot_root`);
    expect(text[1]).toBe('● unshare --mount → ● bind → ● pivot_root → ○ proc → ○ umount -l');
    expect(text[2]).toBe('● /  ext4  the new root: the rootfs, bind-mounted');
    const underOld = () => mountPoints(pid).filter((m) => m === '/.old_root' || m.startsWith('/.old_root/')).length;
    const hostMounts = underOld();
    expect(hostMounts).toBeGreaterThan(5);
    expect(text).toContain(`└─ ✕ /.old_root  ext4  the old root, the host's /: ${hostMounts} mounts`);
    // Under the old root, the host's mounts: named, or folded into "+N more" on a host with
    // more than fit (a fresh VM has four or five under /).
    expect(text.join('\n')).toMatch(/ {3}└─ ✕ \+\d+ more mounts of the host| {3}[├└]─ ✕ \/\.old_root\/proc {2}proc/);
    expect(text.length).toBeLessThanOrEqual(16);

    await t.type('mount -t proc proc /proc');
    text = await drawn(source);
    expect(text[1]).toBe('● unshare --mount → ● bind → ● pivot_root → ● proc → ○ umount -l');
    expect(text).toContain("├─ ● /proc  proc  the container's own proc");

    // By hand: a tmpfs of the container's own, and one more mount under the old root (on
    // the host's path to this lab: the namespace is private, the host never sees it).
    await t.type('mount -t tmpfs tmpfs /tmp');
    await t.type(`mount -t tmpfs tmpfs /.old_root${lab.root}`);
    expect(underOld()).toBe(hostMounts + 1);
    // And the host's /sys with all under it, a copy of the container's own: folded.
    await t.type('mount --rbind /.old_root/sys /sys');
    text = await drawn(source);
    expect(text).toContain('├─ ● /tmp  tmpfs');
    expect(text.join('\n')).toMatch(/├─ ● \/sys  sysfs  \+\d+ under it/);
    expect(text).toContain(`└─ ✕ /.old_root  ext4  the old root, the host's /: ${hostMounts + 1} mounts`);
    expect(text.length).toBeLessThanOrEqual(16);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${lab.root} `);
    // In Chinese: the same tree, the notes and the folded lines translated.
    const zhOld = await shownInChinese((opts) => source.draw(opts), 80);
    expect(zhOld.lines[0]).toContain(`pid ${pid} (unshare) 在 pivot_root 之后的挂载树`);
    expect(zhOld.lines).toContain(`└─ ✕ /.old_root  ext4  旧根，即宿主机的 /：${hostMounts + 1} 个挂载`);
    expect(zhOld.text).toMatch(/├─ ● \/sys  sysfs  其下有 \d+ 个挂载/);
    expect(zhOld.text).toMatch(/ {3}└─ ✕ 另有 \d+ 个宿主机的挂载/);

    await t.type('umount -l /.old_root');
    await t.type('rmdir /.old_root');
    expect(underOld()).toBe(0);
    text = await drawn(source);
    expect(text[1]).toBe('● unshare --mount → ● bind → ● pivot_root → ● proc → ● umount -l');
    expect(text.join('\n')).not.toContain('.old_root/');
    // The source saw the old root before: it says what went with it.
    expect(text).toContain(`└─ ✕ /.old_root  detached by umount -l: its ${hostMounts + 1} mounts went with it`);
    // A picture drawn afresh (container-lessons picture 3) never saw it.
    expect(await once()).toContain("└─ ✕ the old root  detached: no path inside leads to the host's files");
    expect(t.errors()).toBe('');
  });

  it('tells a chroot from pivot_root, with and without a mount namespace', async () => {
    // unshare --mount and chroot: the unshare parent still sees the namespace's root.
    await learners.start(`unshare --mount --fork chroot ${R} sh`);
    let text = await drawn(lesson.picture!(lab));
    expect(text[0]).toMatch(/before pivot_root/);
    expect(text[1]).toBe('● unshare --mount → ○ bind → ○ pivot_root → ○ proc → ○ umount -l');
    expect(text[2]).toMatch(/^pid \d+ \(sh\) is in a chroot; the namespace's root is still the host's$/);
    learners.stopAll();
    await lesson.reset(lab);

    // Bound and chrooted, the unshare gone: every process sees the rootfs as / and only
    // the namespace's own root (entered by a helper) says it is no pivot_root.
    await learners.start(`unshare --mount sh -c 'mount --bind ${R} ${R}; exec chroot ${R} sh'`);
    text = await drawn(lesson.picture!(lab));
    expect(text[0]).toMatch(/before pivot_root/);
    expect(text[2]).toMatch(/is in a chroot/);
    expect(text[3]).toBe("● /  ext4  the chroot's root (the namespace's is out of its view)");
    learners.stopAll();
    await lesson.reset(lab);

    // chroot alone: the host's own mount table.
    await learners.start(`chroot ${R} sh`);
    text = await drawn(lesson.picture!(lab));
    expect(text[1]).toBe('○ unshare --mount');
    expect(text[2]).toMatch(/^pid \d+ \(sh\): chroot alone, in the host's mount namespace$/);
  });

  it("draws the workbook's own container, and a mount made in it by hand", async () => {
    const report = await solveLesson(lesson, lab, { keep: true });
    expect(report.passed, JSON.stringify([report.steps, report.checks], null, 1)).toBe(true);
    const leader = containerLeaders(findLabProcesses(readMarker(R)!.id))[0]!;
    let text = await drawn(lesson.picture!(lab));
    expect(text[0]).toContain(`the mount tree of pid ${leader.pid} (${leader.comm}) after pivot_root`);
    expect(text.slice(1, 8)).toEqual([
      '● unshare --mount → ● bind → ● pivot_root → ● proc → ● umount -l',
      '● /  ext4  the new root: the rootfs, bind-mounted',
      "├─ ● /proc  proc  the container's own proc",
      '├─ ● /dev  tmpfs',
      '│  └─ ● /dev/pts  devpts',
      "└─ ✕ the old root  detached: no path inside leads to the host's files",
      expect.stringMatching(/^● the container's own {3}○ a copy of the host's/),
    ]);

    // The same picture in Chinese: the notes where the English ones were, names and commands as they are.
    const zh = await shownInChinese((opts) => lesson.picture!(lab).draw(opts), 80);
    expect(zh.lines[0]).toContain(`pid ${leader.pid} (${leader.comm}) 在 pivot_root 之后的挂载树`);
    expect(zh.lines.slice(1, 8)).toEqual([
      '● unshare --mount → ● bind → ● pivot_root → ● proc → ● umount -l',
      '● /  ext4  新的根：绑定挂载的 rootfs',
      '├─ ● /proc  proc  容器自己的 proc',
      '├─ ● /dev  tmpfs',
      '│  └─ ● /dev/pts  devpts',
      '└─ ✕ 旧根  已分离：里面没有任何路径能通到宿主机的文件',
      expect.stringMatching(/^● 容器自己的挂载 {3}○ 宿主机挂载的副本/),
    ]);

    execFileSync('nsenter', ['--target', String(leader.pid), '--mount', 'mount', '-t', 'tmpfs', 'tmpfs', '/tmp']);
    text = await drawn(lesson.picture!(lab));
    expect(text).toContain('├─ ● /tmp  tmpfs');
  });
});
