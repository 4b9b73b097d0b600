// Lessons 5 and 6's picture against the real kernel: the lessons' own steps (solve --keep),
// drawn; then the state changed by hand (an extra veth into a container's namespace, lo up
// and a ping inside it, a ping between the two containers on the bridge) and drawn again:
// the picture must show each change, and mark the links the ping crossed. Everything the
// test makes is removed, also when it fails; nothing may be left behind.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { findLesson, type Lesson } from '../../src/lessons/index.js';
import { networkPlan, BRIDGE } from '../../src/lessons/06-network.js';
import { solveLesson } from '../../src/runner.js';
import { Netlink, netOps, pingFrom, readMarker } from '../../src/core/index.js';
import { containerLeaders, findLabProcesses, hostNamespaces } from '../../src/checks/containers.js';
import type { Picture, PictureSource } from '../../src/pictures/picture.js';
import { ASCII_GLYPHS, UNICODE_GLYPHS } from '../../src/pictures/glyphs.js';
import { tempLab } from '../support/lab.js';
import { shown, shownInChinese } from '../support/picture.js';
import { snapshot, leaks } from '../support/kernel-state.mjs';

const lab = tempLab('cl-pic-wiring-');
const lesson5 = findLesson('network-namespace') as Lesson;
const lesson6 = findLesson('network') as Lesson;
const sh = (script: string) => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
/** The test's own links: the host end of its extra veth (the pair goes with it). */
const TEST_LINK = 'cl-pic0';
const TEST_PEER = 'cl-pic1';

function removeTestLink() {
  const nl = new Netlink();
  try {
    if (nl.links().some((l) => l.name === TEST_LINK)) nl.delete(TEST_LINK);
  } finally {
    nl.close();
  }
}

/** The lab's containers with a network namespace of their own: pid and IPv4 addresses. */
async function containers(): Promise<Array<{ pid: number; addrs: string[] }>> {
  const hostNet = hostNamespaces().net;
  const leaders = containerLeaders(findLabProcesses(readMarker(lab.rootfs)!.id)).filter((p) => p.ns.net !== hostNet);
  return Promise.all(leaders.map(async (p) => ({ pid: p.pid, addrs: (await netOps(p.pid, [])).addresses.map((a) => a.addr) })));
}

/** Run a lesson's own steps and its checks, then `body` while all they made is still there
 * (the hook the CLI's solve draws the picture in); solve removes it all afterwards, as well
 * as the bridge's name lock it holds (which a reset in this process could not take). */
async function whileSolved(lesson: Lesson, body: () => Promise<void>): Promise<void> {
  let failure: unknown = null;
  const stepErrors: string[] = [];
  const report = await solveLesson(lesson, lab, {
    hooks: {
      onStepDone: (_l, step) => {
        if (step.error) stepErrors.push(`${step.title}: ${step.error.message}`);
      },
      beforeEnd: async () => {
        try {
          if (stepErrors.length) throw new Error(`the lesson's steps failed: ${stepErrors.join('; ')}`);
          await body();
        } catch (err) {
          failure = err;
        } finally {
          removeTestLink();
        }
      },
    },
  });
  if (failure) throw failure;
  expect(report.steps.filter((s) => s.error)).toEqual([]);
}

/** The rows inside the box whose top edge holds `title`, trimmed (a mark stays). */
function boxRows(lines: string[], title: string): string[] {
  const at = lines.findIndex((l) => l.includes(title));
  if (at < 0) throw new Error(`no box "${title}" in:\n${lines.join('\n')}`);
  const top = lines[at]!;
  let col = Math.max(top.lastIndexOf('┌', top.indexOf(title)), top.lastIndexOf('+', top.indexOf(title)));
  while (col > 0 && top[col - 1] === '+') col--; // ASCII: the corner before a cable's tee
  const rows: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (!'│|┤├+'.includes(l[col] ?? 'x') || l[col + 1] === '─' || l[col + 1] === '-') break;
    const end = [...l].findIndex((c, k) => k > col && '│|┤├+'.includes(c));
    rows.push(l.slice(col + 1, end).trim());
  }
  return rows;
}

/** Draw at 80 and 120 columns with both glyph sets; each must fit its width, the ASCII one
 * must be plain ASCII. Returns the lines of each (and prints them). The 80-column UNICODE
 * drawing is the first: each draw moves the source's counters on, so marks of packets still
 * under way (an ARP probe after a ping) may differ in the three after it. */
async function drawAll(source: PictureSource, label: string): Promise<{ u80: string[]; u120: string[]; a80: string[]; picture80: Picture }> {
  const out: Record<string, string[]> = {};
  let picture80: Picture | undefined;
  for (const width of [80, 120])
    for (const g of [UNICODE_GLYPHS, ASCII_GLYPHS]) {
      const p = await source.draw({ width, glyphs: g });
      if (width === 80 && g.utf8) picture80 = p;
      const { lines } = shown(p, width, g);
      out[`${g.utf8 ? 'u' : 'a'}${width}`] = lines;
    }
  console.log(`${label} (80, UNICODE):\n${out.u80!.join('\n')}\n\n${label} (80, ASCII):\n${out.a80!.join('\n')}\n\n${label} (120, UNICODE):\n${out.u120!.join('\n')}`);
  return { u80: out.u80!, u120: out.u120!, a80: out.a80!, picture80: picture80! };
}

let before: ReturnType<typeof snapshot>;
beforeAll(() => {
  removeTestLink();
  before = snapshot();
});
afterAll(async () => {
  try {
    removeTestLink();
    await lesson6.reset(lab);
    await lesson5.reset(lab);
    expect(leaks(before, snapshot())).toEqual({});
  } finally {
    lab.dispose();
  }
});

const M = '[ ●]'; // a row's mark slot: the last packets crossed it, or not
const dots = (a: string) => a.replace(/\./g, '\\.');

describe("lesson 5's picture: the host's namespace beside the container's", () => {
  it('shows only lo inside, then an extra veth by hand as a cable, then lo carrying a ping', async () => {
    await whileSolved(lesson5, async () => {
      const source = lesson5.picture!(lab);
      try {
        const [c] = await containers();
        if (!c) throw new Error('lesson 5 left no container with a network namespace of its own');
        let d = await drawAll(source, 'lesson 5');
        // Side by side: one line holds the top edges of both boxes, the host's first.
        expect(d.u120.some((l) => new RegExp(`^┌─ host net:\\[\\d+\\] ─+┐ ┌─ container pid ${c.pid} net:\\[\\d+\\] ─+┐$`).test(l))).toBe(true);
        // Nothing but lo inside, down; the host's own links only named.
        expect(boxRows(d.u80, `container pid ${c.pid}`)).toEqual(['lo down']);
        expect(boxRows(d.u80, 'host net:')[0]).toMatch(/^its own links: lo /);
        expect(d.a80.some((l) => /^\+- host net:\[\d+\] -+\+ \+- container pid \d+/.test(l))).toBe(true);
        expect(boxRows(d.a80, `container pid ${c.pid}`)).toEqual(['lo down']);
        // In Chinese: the host's box and its words, the container's box beside it as before.
        const zh = await shownInChinese((opts) => source.draw(opts), 80);
        console.log(`lesson 5 (80, UNICODE, zh):\n${zh.text}`);
        expect(zh.text).toMatch(/^── 网络命名空间：里面是各自的网络接口，之间是 veth 网线 /);
        expect(zh.lines.some((l) => new RegExp(`^┌─ 宿主机 (net:\\[\\d+\\] )?─+┐ ┌─ container pid ${c.pid}`).test(l))).toBe(true);
        expect(zh.lines.some((l) => /^│ 自己的网络接口：lo .*│ │ lo down +│$/.test(l))).toBe(true);
        expect(zh.lines.at(-1)).toMatch(/^● 最近的数据包经过这里 {3}│ ─ veth 设备对（一根网线）/);

        // An extra veth, by hand: its peer lands in the container's namespace.
        sh(`ip link add ${TEST_LINK} type veth peer name ${TEST_PEER} netns ${c.pid}`);
        d = await drawAll(source, 'lesson 5 with an extra veth');
        // The host end on the host box's edge over a cable, the peer in the container's box.
        expect(d.u80.some((l) => new RegExp(`^└┬ ${TEST_LINK} down ─+┘$`).test(l))).toBe(true);
        expect(d.u80.some((l) => new RegExp(`^ │${M}veth$`).test(l))).toBe(true);
        expect(boxRows(d.u80, `container pid ${c.pid}`)).toEqual([expect.stringMatching(new RegExp(`^●?${TEST_PEER} down$`)), 'lo down']);
        expect(d.u80.some((l) => new RegExp(`^┌┴ container pid ${c.pid}`).test(l))).toBe(true);
        expect(d.a80.some((l) => new RegExp(`^\\+\\+ ${TEST_LINK} down -+\\+$`).test(l))).toBe(true);

        // lo up and a ping inside: lo carried the last packets, the veth did not.
        sh(`nsenter -t ${c.pid} -n ip link set lo up`);
        await source.draw({ width: 80, glyphs: UNICODE_GLYPHS });
        expect((await pingFrom(c.pid, '127.0.0.1', { count: 1, waitMs: 500 })).ok).toBe(true);
        d = await drawAll(source, 'lesson 5 after a ping on lo');
        expect(boxRows(d.u80, `container pid ${c.pid}`)).toEqual([`${TEST_PEER} down`, '●lo 127.0.0.1/8 up']);
        expect(d.picture80.lines.find((l) => l.text.includes('●lo'))).toMatchObject({ bold: true, color: 'green' });
        expect(boxRows(d.a80, `container pid ${c.pid}`)).toEqual([`${TEST_PEER} down`, '*lo 127.0.0.1/8 up']);

        removeTestLink();
        d = await drawAll(source, 'lesson 5 with the veth removed');
        expect(d.u80.filter((l) => l.includes('cl-pic'))).toEqual([]);
        expect(boxRows(d.u80, `container pid ${c.pid}`)).toEqual([expect.stringMatching(/^●?lo 127\.0\.0\.1\/8 up$/)]);
      } finally {
        source.close?.();
      }
    });
  });
});

describe("lesson 6's picture: the bridge and its cables, the NAT world and its rules", () => {
  it('shows the wiring, an extra veth by hand, and the path of a ping between the containers', async () => {
    const plan = networkPlan();
    await whileSolved(lesson6, async () => {
      const source = lesson6.picture!(lab);
      try {
        const all = await containers();
        const a = all.find((x) => x.addrs.includes(plan.address(1)));
        const b = all.find((x) => x.addrs.includes(plan.address(2)));
        const router = all.find((x) => x.addrs.includes('198.51.100.1'));
        if (!a || !b || !router) throw new Error(`lesson 6 did not leave its containers: ${JSON.stringify(all)}`);

        let d = await drawAll(source, 'lesson 6');
        const u = d.u80.join('\n');
        // The host: the bridge, a switch with its address; its two ports on its edge, a
        // cable down from each into a container's box with eth0 and its address, and lo.
        expect(boxRows(d.u80, 'host net:')).toEqual([expect.stringMatching(new RegExp(`^●?${BRIDGE} bridge \\(a switch\\) ${dots(plan.gateway)}/${plan.prefix} up$`))]);
        expect(d.u80.some((l) => /^└┬ clveth0 up ─+┬ clveth1 up ─+┘$/.test(l))).toBe(true);
        expect(d.u80.some((l) => new RegExp(`^ │${M}veth +│${M}veth$`).test(l))).toBe(true);
        expect(d.u80.some((l) => new RegExp(`^┌┴ container pid ${a.pid} ─*┐ ┌┴ container2 pid ${b.pid} ─*┐$`).test(l))).toBe(true);
        expect(boxRows(d.u80, `container pid ${a.pid}`)).toEqual([expect.stringMatching(new RegExp(`^●?eth0 ${dots(plan.address(1))}/${plan.prefix} up$`)), expect.stringMatching(/^●?lo 127\.0\.0\.1\/8 up$/)]);
        expect(boxRows(d.u80, `container2 pid ${b.pid}`)).toEqual([expect.stringMatching(new RegExp(`^●?eth0 ${dots(plan.address(2))}/${plan.prefix} up$`)), expect.stringMatching(/^●?lo 127\.0\.0\.1\/8 up$/)]);
        // The NAT world: app, router, outside in a row, each cable at the row of its ends.
        expect(u).toMatch(/┌─ app pid \d+ ─+┐ {3}┌─ router pid \d+ ─+┐ {3}┌─ outside pid \d+/);
        expect(u).toMatch(new RegExp(`│${M}eth0 10\\.0\\.0\\.2/24 up├[─●]{3}┤${M}in0 10\\.0\\.0\\.1/24 up`));
        expect(u).toMatch(new RegExp(`│${M}out0 198\\.51\\.100\\.1/24 up├[─●]{3}┤${M}eth0 198\\.51\\.100\\.2/24 up│`));
        // Its NAT rules, read inside the router's namespace, with the addresses they rewrite.
        expect(u).toContain('router masquerade: 10.0.0.0/24 → 198.51.100.1 leaving by out0');
        expect(u).toContain('router dnat: 198.51.100.1:8080 → 10.0.0.2:80 arriving by out0 (-p 8080:80)');
        expect(d.a80.join('\n')).toContain('router masquerade: 10.0.0.0/24 -> 198.51.100.1 leaving by out0');
        expect(d.a80.join('\n')).toMatch(/\|[ *]eth0 10\.0\.0\.2\/24 up\+(---|-\*-)\+[ *]in0 10\.0\.0\.1\/24 up/);
        // What conntrack saw rewritten (while the step's connections are still tracked), at 120.
        if (/src=10\.0\.0\.2 dst=198\.51\.100\.2 /.test(sh(`cat /proc/${router.pid}/net/nf_conntrack`))) {
          expect(d.u120.join('\n')).toMatch(/leaving by out0; seen 10\.0\.0\.2:\d+ as 198\.51\.100\.1:\d+/);
        }
        // The Work pane at 80x24: the whole picture, title and legend, in 18 lines.
        expect(d.u80.length).toBeLessThanOrEqual(18);
        expect(d.u120.length).toBeLessThanOrEqual(d.u80.length);
        // In Chinese, at 80 and 60: the host's bridge and the NAT rules in words, the cables
        // still under the host's ports and between the NAT world's boxes (widths in columns).
        const zh = await shownInChinese((opts) => source.draw(opts), 80);
        console.log(`lesson 6 (80, UNICODE, zh):\n${zh.text}`);
        expect(zh.text).toMatch(new RegExp(`│${M}${BRIDGE} 网桥（交换机） ${dots(plan.gateway)}/${plan.prefix} up +│`));
        expect(zh.lines.some((l) => /^└┬ clveth0 up ─+┬ clveth1 up ─+┘$/.test(l))).toBe(true);
        expect(zh.text).toMatch(new RegExp(`│${M}eth0 10\\.0\\.0\\.2/24 up├[─●]{3}┤${M}in0 10\\.0\\.0\\.1/24 up`));
        expect(zh.text).toContain('router masquerade：10.0.0.0/24 → 198.51.100.1，从 out0 出去');
        expect(zh.text).toContain('router dnat：198.51.100.1:8080 → 10.0.0.2:80，从 out0 进来（-p 8080:80）');
        expect(zh.lines.length).toBeLessThanOrEqual(18);
        const zh60 = await shownInChinese((opts) => source.draw(opts), 60);
        console.log(`lesson 6 (60, UNICODE, zh):\n${zh60.text}`);
        expect(zh60.text).toMatch(new RegExp(`${BRIDGE} 网桥（交换机）`));
        expect(zh60.text).toContain('router masquerade：');

        // An extra veth by hand into the first container: a second cable from the host.
        sh(`ip link add ${TEST_LINK} type veth peer name ${TEST_PEER} netns ${a.pid}`);
        d = await drawAll(source, 'lesson 6 with an extra veth');
        expect(boxRows(d.u80, `container pid ${a.pid}`)).toContain(`${TEST_PEER} down`);
        expect(d.u80).toContain(`${TEST_LINK} ── veth ── container:${TEST_PEER}`);
        removeTestLink();
        d = await drawAll(source, 'lesson 6 with the veth removed');
        expect(d.u80.filter((l) => l.includes('cl-pic'))).toEqual([]);

        // A ping from the second container to the first: its path is marked, lo is not.
        await source.draw({ width: 80, glyphs: UNICODE_GLYPHS });
        expect((await pingFrom(b.pid, plan.address(1), { count: 2, waitMs: 500 })).ok).toBe(true);
        d = await drawAll(source, 'lesson 6 after a ping from container2 to container');
        expect(d.u80.some((l) => /^ │●veth +│●veth$/.test(l))).toBe(true);
        expect(boxRows(d.u80, `container pid ${a.pid}`)).toEqual([`●eth0 ${plan.address(1)}/${plan.prefix} up`, 'lo 127.0.0.1/8 up']);
        expect(boxRows(d.u80, `container2 pid ${b.pid}`)).toEqual([`●eth0 ${plan.address(2)}/${plan.prefix} up`, 'lo 127.0.0.1/8 up']);
        expect(d.picture80.lines.find((l) => l.text.includes('●veth'))).toMatchObject({ bold: true, color: 'green' });
        expect(d.a80.some((l) => /^ \|[* ]veth +\|[* ]veth$/.test(l))).toBe(true);
        expect(d.a80.at(-1)).toMatch(/^\* carried the last packets/);
        expect(boxRows(d.a80, `container pid ${a.pid}`)).toEqual([expect.stringMatching(new RegExp(`^\\*?eth0 ${dots(plan.address(1))}/${plan.prefix} up$`)), 'lo 127.0.0.1/8 up']);
      } finally {
        source.close?.();
      }
    });
  });
});
