// Lesson 10's picture on the real kernel: nothing to draw (no rootfs, then no container),
// the lesson's own locked container (solve --keep), whose marks must be what
// /proc/<pid>/status says; then processes started by hand in it with other locks (nsenter
// and setpriv: fewer capabilities; no_new_privs without the rest) and a second container
// on the same rootfs, each of which must get its own row. Nothing may be left behind.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import stringWidth from 'string-width';
import { spawn, type ChildProcess } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { solveLesson, resetLesson } from '../../src/runner.js';
import { CAP_NAMES, DOCKER_DEFAULT_CAPS, ensureRootfs, parseProcSecurity, procfs, readMarker, type ProcSecurity } from '../../src/core/index.js';
import { drawCapabilities, shortCapName } from '../../src/pictures/capabilities.js';
import { ASCII_GLYPHS, UNICODE_GLYPHS, type Glyphs } from '../../src/pictures/glyphs.js';
import type { Picture } from '../../src/pictures/picture.js';
import { tempLab } from '../support/lab.js';
import { BOTH_GLYPHS, shown, shownInChinese } from '../support/picture.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-pic-caps-');
const lesson = findLesson('locking-root-in') as Lesson;
const status = (pid: number | 'self'): ProcSecurity => parseProcSecurity(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
const bit = (mask: bigint, n: number) => ((mask >> BigInt(n)) & 1n) === 1n;
const capCount = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')) + 1;

/** Draw with both glyph sets at 80 and 120 columns, each checked (support/picture.ts); the
 * 80-column Unicode drawing is returned. */
function drawAll(): { picture: Picture; text: string } {
  let first: { picture: Picture; text: string } | undefined;
  for (const glyphs of BOTH_GLYPHS) {
    for (const width of [80, 120]) {
      const { picture, text } = shown(drawCapabilities({ rootfs: lab.rootfs }, { width, glyphs }), width, glyphs);
      first ??= { picture, text };
    }
  }
  return first!;
}

/** The marks the grid gives each capability, by short name ("sys_admin" -> "✕"); a name the
 * grid cut is matched by what is left of it. */
function gridMarks(p: Picture, g: Glyphs): Map<string, string> {
  const marks = [g.on, g.off, g.cut, g.none].map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const cellRe = new RegExp(`(${marks.join('|')}) ([a-z_0-9]+)`, 'g');
  const found = new Map<string, string>();
  const names = Array.from({ length: capCount }, (_, n) => shortCapName(n));
  for (const l of p.lines) {
    if (!l.text.startsWith(`${g.on} `) && !l.text.startsWith(`${g.off} `) && !l.text.startsWith(`${g.cut} `) && !l.text.startsWith(`${g.none} `)) continue;
    for (const m of l.text.matchAll(cellRe)) {
      const shown = m[2]!;
      const name = names.includes(shown) ? shown : names.find((n) => n.startsWith(shown) && n.length > shown.length);
      if (name) found.set(name, m[1]!);
    }
  }
  return found;
}

/** The table's row for a pid: who, pid, five counts, NoNewPrivs, Seccomp, filters. */
function row(p: Picture, pid: number): string | undefined {
  return p.lines.map((l) => l.text).find((t) => new RegExp(`^.{10}\\s*${pid} `).test(t));
}
const expectedRow = (sec: ProcSecurity) => {
  const n = (m: bigint) => Array.from({ length: 64 }, (_, i) => bit(m, i)).filter(Boolean).length;
  const seccomp = ['0 off', '1 strict', '2 filter'][sec.seccomp]!;
  return new RegExp(`\\s${n(sec.bounding)}\\s+${n(sec.permitted)}\\s+${n(sec.effective)}\\s+${n(sec.inheritable)}\\s+${n(sec.ambient)}\\s+${sec.noNewPrivs ? '1 on' : '0 off'}\\s+${seccomp}\\s+${sec.seccompFilters}$`);
};

/** Commands started by hand, as a learner's second terminal would: each ended (with
 * everything it started) when the test is done. */
const started: ChildProcess[] = [];
function startByHand(file: string, args: string[]): ChildProcess {
  const child = spawn(file, args, { stdio: 'ignore' });
  started.push(child);
  return child;
}
function stopByHand(): void {
  for (const c of started.splice(0)) {
    if (c.pid === undefined) continue;
    for (const pid of [...procfs.descendants(c.pid), c.pid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}
/** Wait for a process whose root is the lab rootfs and for which `ready` holds. */
async function waitFor(ready: (pid: number) => boolean, what: string): Promise<number> {
  const id = readMarker(lab.rootfs)!.id;
  for (let i = 0; i < 500; i++) {
    const pid = procfs.listPids().find((p) => {
      try {
        return readMarker(`/proc/${p}/root`)?.id === id && ready(p);
      } catch {
        return false;
      }
    });
    if (pid !== undefined) return pid;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never appeared: ${what}`);
}

let before: ReturnType<typeof snapshot>;
beforeAll(() => {
  before = snapshot();
});
afterAll(async () => {
  try {
    stopByHand();
    await resetLesson(lesson, lab);
    expect(leaks(before, snapshot())).toEqual({});
  } finally {
    lab.dispose();
  }
});

describe("lesson 10's picture: root's locks", () => {
  it('says what is missing when there is no rootfs, then no container', () => {
    const none = drawAll();
    expect(none.text).toContain(`no root filesystem at ${lab.rootfs}`);
    expect(row(none.picture, process.pid)).toMatch(/^host root/);
    ensureRootfs(lab.rootfs);
    const empty = drawAll();
    expect(empty.text).toContain(`no process has ${lab.rootfs} as its root`);
    expect(empty.picture.lines.find((l) => l.text.includes('no process has'))?.dim).toBe(true);
  });

  it("marks each capability of the lesson's container as /proc/<pid>/status holds it", async () => {
    const report = await solveLesson(lesson, lab, { keep: true });
    expect(report.passed, JSON.stringify(report.checks.filter((c) => c.status !== 'pass'))).toBe(true);
    const { picture, text } = drawAll();
    const initPid = Number(/host pid (\d+)/.exec(picture.title)?.[1]);
    expect(initPid).toBeGreaterThan(0);
    // The process the check looks at: PID 1 of its own namespace, rooted in the rootfs.
    expect(procfs.parseNSpid(procfs.readStatus(initPid))?.at(-1)).toBe(1);
    const init = status(initPid);
    const host = status('self');

    // Each capability's mark is what the kernel says of the container and the host's root.
    const marks = gridMarks(picture, UNICODE_GLYPHS);
    expect(marks.size, text).toBe(capCount);
    for (let n = 0; n < capCount; n++) {
      const want = bit(init.effective, n) ? '●' : bit(init.bounding, n) ? '○' : bit(host.bounding, n) ? '✕' : '·';
      expect(marks.get(shortCapName(n)), `${shortCapName(n)} in:\n${text}`).toBe(want);
    }
    // Locked as Docker locks one: its 14 held, every other one gone.
    for (const c of DOCKER_DEFAULT_CAPS) expect(marks.get(c.slice(4).toLowerCase())).toBe('●');
    for (const c of CAP_NAMES.slice(0, capCount).filter((c) => !DOCKER_DEFAULT_CAPS.includes(c))) expect(['✕', '·']).toContain(marks.get(c.slice(4).toLowerCase()));
    expect(text).toContain("Docker's 14 (it keeps them): 14 held, 0 dropped");

    // The table: the host's root and the container, each as its status says.
    expect(init).toMatchObject({ noNewPrivs: true, seccomp: 2 });
    expect(row(picture, initPid)).toMatch(/^container/);
    expect(row(picture, initPid)).toMatch(expectedRow(init));
    expect(row(picture, process.pid)).toMatch(/^host root/);
    expect(row(picture, process.pid)).toMatch(expectedRow(host));
    // Its idle shell's sleep has the same locks: counted, not drawn.
    expect(text).toMatch(/\(1 more process with the same locks as pid 1 inside\)/);

    // The ASCII drawing carries the same marks.
    const ascii = drawCapabilities({ rootfs: lab.rootfs }, { width: 80, glyphs: ASCII_GLYPHS });
    const asciiMarks = gridMarks(ascii, ASCII_GLYPHS);
    const toAscii: Record<string, string> = { '●': '*', '○': 'o', '✕': 'x', '·': '.' };
    for (const [name, m] of marks) expect(asciiMarks.get(name), name).toBe(toAscii[m]);

    // In Chinese: the same table and grid, the words translated where the English ones
    // were, every line within its width (a Chinese character takes two columns).
    const zhRow = (p: Picture, pid: number) => p.lines.map((l) => l.text).find((t) => new RegExp(`^\\S+\\s+${pid} `).test(t));
    for (const width of [80, 60]) {
      const zh = await shownInChinese(async (opts) => drawCapabilities({ rootfs: lab.rootfs }, opts), width);
      expect(zh.picture.title).toContain(`容器（宿主机 pid ${initPid}）`);
      expect(zhRow(zh.picture, initPid), zh.text).toMatch(/^容器 /);
      expect(zhRow(zh.picture, process.pid), zh.text).toMatch(/^宿主机 /);
      expect(zh.text).toContain('Docker 的 14 个（它保留）：14 个持有，0 个已去掉');
      expect(zh.text).toContain('（还有 1 个进程的锁与里面的 pid 1 相同）');
      expect(gridMarks(zh.picture, UNICODE_GLYPHS)).toEqual(marks);
      if (width < 80) continue;
      // At 80 columns the row is whole, each value under its head as in English.
      const initRow = zhRow(zh.picture, initPid)!;
      expect(initRow).toMatch(/\s1 开启\s+2 过滤\s+\d+$/);
      const columnOf = (text: string, part: string) => stringWidth(text.slice(0, text.indexOf(part)));
      const head = zh.picture.lines[0]!.text;
      expect(columnOf(initRow, '1 开启')).toBe(head.indexOf('NoNewPrivs'));
      expect(columnOf(initRow, '2 过滤')).toBe(head.indexOf('Seccomp'));
      expect(stringWidth(initRow)).toBe(stringWidth(row(picture, initPid)!));
    }
  });

  it('gives a row to each process there whose locks differ: nsenter with setpriv, no_new_privs alone, a second container', async () => {
    const first = drawAll().picture;
    const initPid = Number(/host pid (\d+)/.exec(first.title)?.[1]);
    expect(initPid).toBeGreaterThan(0);

    // nsenter joins every namespace but takes none of the locks; setpriv cuts the bounding
    // set to two and execs sleep, which holds just those two.
    startByHand('nsenter', ['--target', String(initPid), '--all', 'setpriv', '--bounding-set', '-all,+chown,+kill', '--inh-caps', '-all', 'sleep', '300']);
    const fewer = await waitFor((p) => procfs.comm(p) === 'sleep' && status(p).bounding === 0b100001n, 'the sleep with two capabilities');
    let { picture, text } = drawAll();
    expect(row(picture, fewer), text).toMatch(/^→ sleep/);
    expect(row(picture, fewer)).toMatch(expectedRow(status(fewer)));
    expect(row(picture, fewer)).toMatch(/\s2\s+2\s+2\s+0\s+0\s+0 off\s+0 off\s+0$/);
    // nsenter's own process, left in the host's PID namespace, is named, not drawn.
    expect(text).toContain('nsenter: in its mount namespace, outside its PID namespace');
    expect(picture.lines.filter((l) => l.text.startsWith('→ nsenter'))).toEqual([]);
    // The container's own row and its grid have not changed.
    expect(row(picture, initPid)).toMatch(expectedRow(status(initPid)));
    expect(gridMarks(picture, UNICODE_GLYPHS).get('sys_admin')).toBe('✕');

    // no_new_privs alone: every capability of the host's root, the flag set.
    startByHand('nsenter', ['--target', String(initPid), '--all', 'setpriv', '--no-new-privs', 'sleep', '301']);
    const nnp = await waitFor((p) => procfs.comm(p) === 'sleep' && status(p).noNewPrivs && status(p).seccomp === 0, 'the sleep with no_new_privs only');
    ({ picture, text } = drawAll());
    expect(row(picture, nnp), text).toMatch(/^→ sleep/);
    expect(row(picture, nnp)).toMatch(expectedRow(status(nnp)));
    expect(row(picture, nnp)).toMatch(/\s1 on\s+0 off\s+0$/);
    expect(row(picture, fewer)).toMatch(/^→ sleep/);

    // A second container on the same rootfs: a mount namespace of its own, nothing locked.
    startByHand('unshare', ['--mount', '--pid', '--fork', 'chroot', lab.rootfs, 'sleep', '302']);
    const other = await waitFor((p) => procfs.comm(p) === 'sleep' && procfs.nsId(p, 'mnt') !== procfs.nsId(initPid, 'mnt'), 'the second container');
    ({ picture, text } = drawAll());
    expect(text).toContain('another container on the same rootfs');
    const lines = picture.lines.map((l) => l.text);
    const otherAt = lines.findIndex((l) => new RegExp(`^.{10}\\s*${other} `).test(l));
    expect(otherAt, text).toBeGreaterThan(lines.findIndex((l) => l.startsWith('another container')));
    expect(row(picture, other)).toMatch(expectedRow(status(other)));
    // Still the lesson's container in the grid and its row: the check's choice.
    expect(row(picture, initPid)).toMatch(/^container/);

    // Ended, their rows go.
    stopByHand();
    await procfs.waitExited([fewer, nnp, other], 3000);
    ({ picture, text } = drawAll());
    for (const pid of [fewer, nnp, other]) expect(row(picture, pid), text).toBeUndefined();
    expect(picture.lines.filter((l) => l.text.startsWith('→'))).toEqual([]);
    expect(text).not.toContain('nsenter');
    expect(text).toMatch(/\(1 more process with the same locks as pid 1 inside\)/);
  });
});
