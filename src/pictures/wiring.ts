// Lessons 5 and 6's picture: the wiring. Each network namespace a lab container is in is a
// box holding its links (read with rtnetlink inside it, the way lesson 6's check reads
// them), the host is a box with only what the lessons made there (the bridge, a switch,
// and the host end of each cable), and each veth pair is a cable between two boxes, found
// the way the kernel links them: IFLA_LINK of each end names the other end's ifindex. The
// links that carried the last packets are marked: the source remembers every link's packet
// counters (/proc/<pid>/net/dev) and marks those that grew. Lesson 6's NAT world, the
// namespaces wired only to each other, is drawn as a row of boxes with its nf_tables NAT
// rules read inside the namespace that holds them, and the addresses they rewrite.
import fs from 'node:fs';
import { Netlink, netOps, probeNamespaces, readMarker, routes as rt, type Address, type Link } from '../core/index.js';
import type { NetState } from '../core/init-protocol.js';
import { containerLeaders, findLabProcesses, hostNamespaces, type LabProcess } from '../checks/containers.js';
import type { Lab } from '../lab.js';
import { padColumns, visible } from '../columns.js';
import { t } from '../i18n/messages.js';
import type { Glyphs } from './glyphs.js';
import { besidesWith, box, clip, line, REDRAW_MS, type DrawOptions, type Picture, type PictureLine, type PictureSource } from './picture.js';

export interface WiringOptions {
  /** The bridge the lesson makes on the host (lesson 6); drawn with its ports. */
  bridge?: string;
}

/** A link as the picture shows it: its rtnetlink dump, its IPv4 addresses, its counters. */
interface Iface {
  link: Link;
  addrs: string[];
  /** rx + tx packets, from /proc/<pid>/net/dev; null when it was not listed there. */
  packets: number | null;
}

/** One network namespace: the host's, or a lab container's. */
interface Space {
  /** "net:[4026531840]": the kernel's name of the namespace. */
  ns: string;
  host: boolean;
  pid: number;
  /** The container's hostname (its UTS namespace), or its command. */
  label: string;
  ifaces: Iface[];
  /** Its nf_tables tables of family ip (containers only; undefined: not read). */
  tables?: Array<{ name: string; rules: string[] }>;
  /** /proc/<pid>/net/nf_conntrack: connections the namespace tracks (for NAT seen at work). */
  conntrack: string[];
}

/** One end of a cable: a link in a namespace. */
interface End {
  space: Space;
  iface: Iface;
}

interface Wiring {
  host: Space;
  /** Container namespaces, the host's excluded, first process's pid order. */
  spaces: Space[];
  cables: Array<[End, End]>;
  bridge: Iface | null;
  /** Lab containers in the host's network namespace. */
  sharing: LabProcess[];
  /** Why there is nothing to look at, if so. */
  missing?: string;
  counters: Map<string, number>;
}

const counterKey = (ns: string, name: string) => `${ns}|${name}`;

/** rx and tx packets per interface, from /proc/<pid>/net/dev (the namespace that process
 * is in): "  eth0: rxbytes rxpackets ... (8 rx fields) txbytes txpackets ...". */
function packetCounts(pid: number | 'self'): Map<string, number> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/net/dev`, 'utf8');
  } catch {
    return out;
  }
  for (const l of text.split('\n').slice(2)) {
    const colon = l.indexOf(':');
    if (colon < 0) continue;
    const f = l
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length >= 10) out.set(l.slice(0, colon).trim(), (f[1] ?? 0) + (f[9] ?? 0));
  }
  return out;
}

/** The first process of each container that has a network namespace of its own, one per
 * namespace, and the containers that share the host's. */
function labNamespaces(rootfs: string): { own: LabProcess[]; sharing: LabProcess[]; missing?: string } {
  const marker = readMarker(rootfs);
  if (!marker) return { own: [], sharing: [], missing: t`no root filesystem yet: no container to look into` };
  const hostNet = hostNamespaces().net;
  const leaders = containerLeaders(findLabProcesses(marker.id));
  const seen = new Set<string>();
  const own = leaders.filter((p) => p.ns.net && p.ns.net !== hostNet && !seen.has(p.ns.net) && seen.add(p.ns.net));
  const sharing = leaders.filter((p) => p.ns.net === hostNet);
  return { own, sharing, missing: leaders.length ? undefined : t`no container is running on the lab root filesystem` };
}

/** Counters of the host's links and of every lab namespace's, keyed by namespace and name. */
function readCounters(host: string, own: Array<{ ns: string; pid: number }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, n] of packetCounts('self')) out.set(counterKey(host, name), n);
  for (const s of own) for (const [name, n] of packetCounts(s.pid)) out.set(counterKey(s.ns, name), n);
  return out;
}

/** Reading nf_tables in a namespace would make a modular kernel load nf_tables if it is not
 * loaded yet: a picture must change nothing. Not loaded means no namespace has a table. */
function nftablesPresent(): boolean {
  return fs.existsSync('/sys/module/nf_tables') || !fs.existsSync('/proc/modules');
}

function ifacesOf(state: { links: Link[]; addresses: Address[] }, counts: Map<string, number>): Iface[] {
  return state.links.map((link) => ({
    link,
    addrs: state.addresses.filter((a) => a.index === link.index).map((a) => `${a.addr}/${a.prefix}`),
    packets: counts.get(link.name) ?? null,
  }));
}

function readFile(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** A container's namespace, read by a helper that joins it (netOps); null if it ended. */
/** What a namespace held when a helper last read it, and the signature it had then. */
interface Known {
  signature: string;
  at: number;
  state: NetState;
}

/** How long a namespace's links, addresses and rules read by a helper are trusted while its
 * signature stays the same (a link set up or down, a rule added, change no /proc file). */
const TRUST_MS = 30_000;

/** What of a namespace's network shows in /proc without joining it: its links, its local
 * addresses and its routes. When it changes, the namespace is read again. */
function signature(pid: number): string {
  // net/dev without its counters (they move with every packet): the links' names.
  const links = readFile(`/proc/${pid}/net/dev`).flatMap((l) => (l.includes(':') ? [l.split(':')[0]!.trim()] : []));
  return [links, ...['fib_trie', 'route', 'if_inet6'].map((f) => readFile(`/proc/${pid}/net/${f}`))].map((x) => x.join('\n')).join('\n--\n');
}

/** A namespace's links, addresses and (withTables) nf_tables rules. Reading them takes a
 * helper process that joins the namespace (netOps): a picture drawn every second reads
 * them again only when the namespace's signature changed, or after TRUST_MS. */
async function namespaceState(pid: number, ns: string, withTables: boolean, cache: Map<string, Known>): Promise<NetState> {
  const key = `${pid}|${ns}|${withTables}`;
  const sig = signature(pid);
  const known = cache.get(key);
  if (known && known.signature === sig && Date.now() - known.at < TRUST_MS) return known.state;
  const state = (await netOps(pid, withTables ? [{ op: 'readTables' }] : [])) as NetState;
  cache.set(key, { signature: sig, at: Date.now(), state });
  return state;
}

async function readSpace(p: LabProcess, hostUts: string | null, withTables: boolean, names: Map<string, string>, cache: Map<string, Known>): Promise<Space | null> {
  const ns = p.ns.net!;
  try {
    const nameKey = `${p.pid}|${p.ns.uts}`;
    const hostname = async () => {
      // A container without a UTS namespace of its own has the host's name: its command says more.
      if (!p.ns.uts || p.ns.uts === hostUts) return p.comm;
      const known = names.get(nameKey);
      if (known) return known;
      const name = (await probeNamespaces(p.pid).catch(() => null))?.hostname ?? p.comm;
      names.set(nameKey, name);
      return name;
    };
    const [state, label] = await Promise.all([namespaceState(p.pid, ns, withTables, cache), hostname()]);
    return { ns, host: false, pid: p.pid, label, ifaces: ifacesOf(state, packetCounts(p.pid)), tables: state.tables, conntrack: state.tables?.length ? readFile(`/proc/${p.pid}/net/nf_conntrack`) : [] };
  } catch {
    return null; // it ended while we looked
  }
}

function readHost(ns: string): Space {
  const nl = new Netlink();
  try {
    return { ns, host: true, pid: process.pid, label: 'host', ifaces: ifacesOf({ links: nl.links(), addresses: nl.addresses() }, packetCounts('self')), conntrack: [] };
  } finally {
    nl.close();
  }
}

/** Pair veth ends: each end's IFLA_LINK is the other's ifindex (in the other's namespace).
 * The host's ends first (ifindexes are unique there); then between containers, where small
 * ifindexes repeat from one namespace to the next, each end is used once. */
function findCables(host: Space, spaces: Space[]): Array<[End, End]> {
  const cables: Array<[End, End]> = [];
  const used = new Set<Iface>();
  const veths = (s: Space) => s.ifaces.filter((i) => i.link.kind === 'veth' && i.link.peer !== null);
  const pairs = (a: Iface, b: Iface) => a.link.peer === b.link.index && b.link.peer === a.link.index;
  for (const s of spaces)
    for (const inner of veths(s)) {
      const outer = veths(host).find((h) => !used.has(h) && pairs(h, inner));
      if (!outer) continue;
      used.add(outer).add(inner);
      cables.push([
        { space: host, iface: outer },
        { space: s, iface: inner },
      ]);
    }
  spaces.forEach((s, i) => {
    for (const a of veths(s)) {
      if (used.has(a)) continue;
      for (const other of spaces.slice(i + 1)) {
        const b = veths(other).find((x) => !used.has(x) && pairs(a, x));
        if (!b) continue;
        used.add(a).add(b);
        cables.push([
          { space: s, iface: a },
          { space: other, iface: b },
        ]);
        break;
      }
    }
  });
  return cables;
}

async function readWiring(rootfs: string, o: WiringOptions, names: Map<string, string>, cache: Map<string, Known>): Promise<Wiring> {
  const hostNs = hostNamespaces();
  const hostNet = hostNs.net ?? 'net:[?]';
  const { own, sharing, missing } = labNamespaces(rootfs);
  const withTables = nftablesPresent();
  const [host, ...read] = await Promise.all([readHost(hostNet), ...own.map((p) => readSpace(p, hostNs.uts ?? null, withTables, names, cache))]);
  const spaces = read.filter((s): s is Space => s !== null);
  const bridgeLink = o.bridge ? host!.ifaces.find((i) => i.link.name === o.bridge) : undefined;
  const cables = findCables(host!, spaces);
  // Only the links drawn count: the host's own traffic (its uplink, Docker's) must not
  // take the mark from the path of the lesson's last ping.
  const hostDrawn = host!.ifaces.filter((i) => i === bridgeLink || (bridgeLink && i.link.master === bridgeLink.link.index) || cables.some(([a]) => a.iface === i));
  const counters = new Map<string, number>();
  for (const [s, ifaces] of [[host!, hostDrawn] as const, ...spaces.map((x) => [x, x.ifaces] as const)]) for (const i of ifaces) if (i.packets !== null) counters.set(counterKey(s.ns, i.link.name), i.packets);
  return { host: host!, spaces, cables, bridge: bridgeLink ?? null, sharing, missing, counters };
}

/** The picture's source: it remembers the counters of the draw before, so that it can mark
 * the links packets crossed since (the last ping's path). Counters are first read when the
 * lesson is opened, so the first picture after a step already shows that step's packets. */
export function wiringPicture(o: WiringOptions = {}): (lab: Lab) => PictureSource {
  return (lab) => {
    let before: Map<string, number> | null = null;
    let lastActive = new Set<string>();
    const names = new Map<string, string>();
    const cache = new Map<string, Known>();
    try {
      const { own } = labNamespaces(lab.rootfs);
      before = readCounters(
        hostNamespaces().net ?? 'net:[?]',
        own.map((p) => ({ ns: p.ns.net!, pid: p.pid })),
      );
    } catch {
      before = null;
    }
    return {
      everyMs: REDRAW_MS,
      async draw(opts) {
        const w = await readWiring(lab.rootfs, o, names, cache);
        const grown = new Set<string>();
        if (before) for (const [k, n] of w.counters) if (n > (before.get(k) ?? n)) grown.add(k);
        // Nothing moved since the picture before (a redraw for a resize, a step that sent
        // nothing): the last packets seen are still the last ones.
        if (grown.size) lastActive = grown;
        else lastActive = new Set([...lastActive].filter((k) => w.counters.has(k)));
        before = w.counters;
        return drawWiring(w, lastActive, o, opts);
      },
    };
  };
}

// ---- drawing ----

const state = (l: Link) => (l.up ? 'up' : 'down');

/** A cable's end in words: a host link by name, a container's as label:name. */
const endName = (e: End) => (e.space.host ? e.iface.link.name : `${e.space.label}:${e.iface.link.name}`);

/** lo first (lessons 5 and 6 are about it), then the links in the order the kernel made them. */
const loFirst = (a: Iface, b: Iface) => (a.link.name === 'lo' ? -1 : b.link.name === 'lo' ? 1 : a.link.index - b.link.index);

/** Network address of an address/prefix: 10.0.0.2/24 -> 10.0.0.0/24. */
function networkOf(cidr: string): string {
  const [addr = '', p = '32'] = cidr.split('/');
  const prefix = Number(p);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `${rt.fromInt(rt.toInt(addr) & mask)}/${prefix}`;
}

interface Row {
  text: string;
  /** It shows the mark of the last packets: drawn bold and coloured too. */
  hot: boolean;
}

/** Lines, and which of them show the mark of the last packets. */
interface Drawn {
  lines: string[];
  hot: boolean[];
}

/** A box: its lines (all of one width) and which carry the mark. */
interface Boxed extends Drawn {
  width: number;
}

/** A box around rows, under the first of the titles (longest first) that fits in max. */
function makeBox(titles: string[], rows: Row[], g: Glyphs, o: { min?: number; max: number }): Boxed {
  const rowsW = Math.max(0, ...rows.map((r) => visible(r.text))) + 2;
  const base = Math.max(o.min ?? 0, rowsW);
  // box() draws a title as corner, edge, space, title, space; then at least one edge here.
  const title = titles.find((x) => visible(x) + 6 <= o.max) ?? titles.at(-1) ?? '';
  const width = Math.min(o.max, Math.max(base, visible(title) + 6));
  return {
    lines: box(
      title,
      rows.map((r) => r.text),
      g,
      width,
    ),
    hot: [false, ...rows.map((r) => r.hot), false],
    width,
  };
}

/** Boxes side by side as besides() packs them, keeping which lines carry the mark. */
function sideBySide(boxes: Boxed[], width: number): Drawn {
  const laid = besidesWith(boxes, width, { lines: (b) => b.lines, width: (b) => b.width });
  return { lines: laid.map((l) => l.text), hot: laid.map((l) => l.row.some((b) => b.hot[l.line])) };
}

/** Write text over a string at a column (padding it with spaces to get there), in
 * terminal columns: a wide character the text covers even in part gives way, and the
 * columns of it the text leaves uncovered become spaces. */
function put(s: string, at: number, text: string): string {
  const end = at + visible(text);
  let before = '';
  let after = '';
  let afterAt = end; // the column where `after` starts
  let col = 0;
  for (const ch of s) {
    const w = visible(ch);
    if (col + w <= at) before += ch;
    else if (col >= end) {
      if (!after) afterAt = col;
      after += ch;
    }
    col += w;
  }
  return padColumns(before, at) + text + ' '.repeat(after ? afterAt - end : 0) + after;
}

const rowWidth = (bs: Boxed[], gap: number) => bs.reduce((n, b) => n + b.width, 0) + gap * Math.max(0, bs.length - 1);

/** A row of boxes whose titles say as much as the width allows: the namespace and the pid,
 * the pid, or the name alone. */
function titledRow(build: (level: number) => Boxed[], gap: number, width: number): Boxed[] {
  let boxes: Boxed[] = [];
  for (let level = 0; level < 3; level++) {
    boxes = build(level);
    if (rowWidth(boxes, gap) <= width) break;
  }
  return boxes;
}

function drawWiring(w: Wiring, active: Set<string>, o: WiringOptions, { width, glyphs: g }: DrawOptions): Picture {
  const isHot = (s: Space, i: Iface) => active.has(counterKey(s.ns, i.link.name));
  const mark = (s: Space, i: Iface) => (isHot(s, i) ? g.on : ' ');
  const row = (s: Space, i: Iface): Row => ({ text: `${mark(s, i)}${i.link.name} ${i.addrs.join(' ')}${i.addrs.length ? ' ' : ''}${state(i.link)}`, hot: isHot(s, i) });
  const cableHot = ([a, b]: [End, End]) => isHot(a.space, a.iface) || isHot(b.space, b.iface);
  const titles = (s: Space) => [`${s.label} pid ${s.pid} ${s.ns}`, `${s.label} pid ${s.pid}`, s.label];
  const out: PictureLine[] = [];
  const emit = (d: Drawn) => {
    for (const [i, l] of d.lines.entries()) out.push(line(clip(l.trimEnd(), width, g), d.hot[i] ? { bold: true, color: 'green' } : {}));
  };
  const cableWords = (c: [End, End]) => line(clip(`${endName(c[0])} ${g.h}${g.h} veth ${g.h}${g.h} ${endName(c[1])}${cableHot(c) ? ` ${g.on}` : ''}`, width, g), cableHot(c) ? { bold: true, color: 'green' } : {});

  // Which namespaces hang from the host (a cable to it), which are wired only to each other
  // (lesson 6's NAT world), which have no cable at all (lesson 5's).
  const toHost = w.cables.filter(([a]) => a.space.host);
  const between = w.cables.filter(([a]) => !a.space.host);
  const hung = w.spaces.filter((s) => toHost.some(([, b]) => b.space === s));
  const linked = w.spaces.filter((s) => !hung.includes(s) && between.some(([a, b]) => a.space === s || b.space === s));
  const alone = w.spaces.filter((s) => !hung.includes(s) && !linked.includes(s));

  // ---- the host: the bridge, the host end of each cable, the rest only counted ----
  const host = w.host;
  const hostEnds = toHost.map(([a]) => a.iface);
  const ports = w.bridge ? host.ifaces.filter((i) => i.link.master === w.bridge!.link.index) : [];
  const strayPorts = ports.filter((p) => !hostEnds.includes(p));
  const hostRows: Row[] = [];
  if (w.bridge) {
    const b = w.bridge;
    const what = b.link.kind === 'bridge' ? t`bridge (a switch)` : b.link.kind ? t`a ${b.link.kind} link, no bridge` : t`a plain link, no bridge`;
    hostRows.push({ text: `${mark(host, b)}${b.link.name} ${what} ${b.addrs.join(' ') || t`no address`} ${state(b.link)}`, hot: isHot(host, b) });
  } else if (o.bridge) hostRows.push({ text: ` ${t`no ${o.bridge} yet`}`, hot: false });
  if (strayPorts.length) {
    const stray = strayPorts.map((p) => p.link.name).join(' ');
    hostRows.push({ text: ` ${t`ports to no container: ${stray}`}`, hot: false });
  }
  if (!w.bridge) {
    // Lesson 5's point: the host's links stay with the host. Named, not drawn.
    const names = host.ifaces.filter((i) => !hostEnds.includes(i)).map((i) => i.link.name);
    const listed = `${names.slice(0, 4).join(' ')}${names.length > 4 ? ` +${names.length - 4}` : ''}`;
    hostRows.push({ text: ` ${t`its own links: ${listed}`}`, hot: false });
  }
  // A space after each: the host's rows do not run into its right edge.
  for (const r of hostRows) r.text += ' ';
  const hostTitles = [t`host ${host.ns}`, t`host`];

  // ---- the containers cabled to the host hang under it, each cable going up ----
  const under = [...hung, ...alone];
  const ends = (s: Space) => toHost.filter(([, b]) => b.space === s).map(([, b]) => b.iface);
  const rowsOf = (s: Space, first: Iface[]) => [...first, ...s.ifaces.filter((i) => !first.includes(i)).sort(loFirst)].map((i) => row(s, i));
  const gap = 1;
  const boxes = titledRow((level) => under.map((s) => makeBox(titles(s).slice(level), rowsOf(s, ends(s)), g, { max: width })), gap, width);

  if (!hung.length) {
    // No cable to the host: its namespace and each container's side by side (lesson 5).
    emit(sideBySide([makeBox(hostTitles, hostRows, g, { max: width }), ...boxes], width));
  } else if (rowWidth(boxes, gap) <= width) {
    // The host on top. Each cable leaves its bottom edge above its container's box; the
    // host end's name sits on that edge beside it, like a port on a switch's front.
    const xs: number[] = [];
    boxes.reduce((x, b) => (xs.push(x), x + b.width + gap), 0);
    const cableAt = (i: number) => xs[i]! + 1;
    const hostW = Math.min(width, Math.max(rowWidth(boxes, gap), ...hostRows.map((r) => visible(r.text) + 2), visible(host.ns) + 10));
    const hostBox = makeBox(hostTitles, hostRows, g, { min: hostW, max: hostW });
    const lines = hostBox.lines.slice(0, -1);
    const hot = hostBox.hot.slice(0, -1);
    let bottom = hostBox.lines.at(-1)!;
    let cables = '';
    let cablesHot = false;
    under.forEach((s, i) => {
      const mine = toHost.filter(([, b]) => b.space === s);
      const c = mine[0];
      if (!c) return;
      const h = mine.some(cableHot);
      cablesHot ||= h;
      // The port's name runs along the edge up to the next cable (or the corner).
      const room = Math.max(0, (xs[i + 1] ?? hostW - 1) - cableAt(i) - 2);
      const port = room > 2 ? ` ${clip(`${c[0].iface.link.name} ${state(c[0].iface.link)}`, room - 2, g)} ` : '';
      bottom = put(bottom, cableAt(i), g.teeDown + port);
      cables = put(cables, cableAt(i), g.v + (h ? g.on : ' ') + (room > 6 ? 'veth' : ''));
      boxes[i]!.lines[0] = put(boxes[i]!.lines[0]!, 1, g.teeUp);
    });
    // A container with two cables to the host: the others in words.
    const extra = under.flatMap((s) => toHost.filter(([, b]) => b.space === s).slice(1));
    lines.push(bottom, cables);
    hot.push(false, cablesHot);
    const row0 = sideBySide(boxes, width);
    emit({ lines: [...lines, ...row0.lines], hot: [...hot, ...row0.hot] });
    for (const c of extra) out.push(cableWords(c));
  } else {
    // Too many to hang in one row: the boxes wrap, the cables are said in words.
    emit(makeBox(hostTitles, hostRows, g, { max: width }));
    for (const c of toHost) out.push(cableWords(c));
    emit(sideBySide(boxes, width));
  }

  // ---- the namespaces wired only to each other: a row of boxes, cables between ----
  for (const group of components(linked, between)) {
    const chain = drawChain(group, between, row, titles, cableHot, width, g);
    if (chain) emit(chain);
    else {
      emit(
        sideBySide(
          group.map((s) => makeBox(titles(s).slice(1), rowsOf(s, []), g, { max: width })),
          width,
        ),
      );
      for (const c of between.filter(([a, b]) => group.includes(a.space) && group.includes(b.space))) out.push(cableWords(c));
    }
  }
  // A cable between two containers drawn elsewhere (one of them also cabled to the host).
  for (const c of between.filter(([a, b]) => !linked.includes(a.space) || !linked.includes(b.space))) out.push(cableWords(c));

  // ---- NAT: each namespace's rules, with the addresses they rewrite ----
  for (const s of w.spaces) for (const l of natLines(s, g, width)) out.push(line(clip(l, width, g), { color: 'magenta' }));

  for (const p of w.sharing) out.push(line(clip(t`pid ${p.pid} ${p.comm} shares the host's network namespace: it sees the host's links`, width, g), { color: 'yellow' }));
  if (w.missing) out.push(line(clip(t`(${w.missing})`, width, g), { dim: true }));
  else if (!w.spaces.length && !w.sharing.length) out.push(line(clip(t`(no container has a network namespace of its own)`, width, g), { dim: true }));

  return {
    title: t`network namespaces: their links inside, veth cables between`,
    lines: out,
    legend: [t`${g.on} carried the last packets`, t`${g.v} ${g.h} a veth pair (a cable)`, t`up/down: link state`],
  };
}

/** Groups of namespaces joined by cables. */
function components(spaces: Space[], cables: Array<[End, End]>): Space[][] {
  const left = new Set(spaces);
  const out: Space[][] = [];
  for (const s of spaces) {
    if (!left.has(s)) continue;
    const group = [s];
    left.delete(s);
    for (let i = 0; i < group.length; i++)
      for (const [a, b] of cables) {
        const other = a.space === group[i] ? b.space : b.space === group[i] ? a.space : null;
        if (other && left.has(other)) {
          left.delete(other);
          group.push(other);
        }
      }
    out.push(group);
  }
  return out;
}

/** An IPv4 address (with or without its prefix length) in RFC 1918's private ranges. */
function isPrivateV4(addr: string): boolean {
  const [a, b] = addr.split('/')[0]!.split('.').map(Number);
  return a === 10 || (a === 172 && b !== undefined && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** A group of namespaces as a chain of boxes, left to right, each cable a line between two
 * neighbours at the row of its two ends (app -- router -- outside). Null when the group is
 * no chain (a namespace with three neighbours, a ring) or the chain is wider than `width`. */
function drawChain(group: Space[], all: Array<[End, End]>, row: (s: Space, i: Iface) => Row, titles: (s: Space) => string[], cableHot: (c: [End, End]) => boolean, width: number, g: Glyphs): Drawn | null {
  const cables = all.filter(([a, b]) => group.includes(a.space) && group.includes(b.space));
  const degree = (s: Space) => cables.filter(([a, b]) => a.space === s || b.space === s).length;
  if (cables.length !== group.length - 1 || group.some((s) => degree(s) > 2)) return null;
  // From an end of the chain: the inside, the one with a private address (lesson 6: app,
  // behind the router's NAT); of two alike, the one started first. Not by start order
  // alone: the lesson starts its three at once.
  const order: Space[] = [];
  const links: Array<[End, End]> = []; // links[i]: order[i]'s end, then order[i + 1]'s
  const inside = (s: Space) => (s.ifaces.some((i) => i.addrs.some(isPrivateV4)) ? 0 : 1);
  let cur = group.filter((s) => degree(s) <= 1).sort((a, b) => inside(a) - inside(b) || a.pid - b.pid)[0] ?? group[0]!;
  for (;;) {
    order.push(cur);
    const here = cur;
    const c = cables.find((x) => !links.some((l) => l[0] === x[0] || l[1] === x[0]) && (x[0].space === here || x[1].space === here));
    if (!c) break;
    const pair: [End, End] = c[0].space === here ? c : [c[1], c[0]];
    links.push(pair);
    cur = pair[1].space;
  }
  const gapW = 3;
  const build = (level: number) =>
    order.map((s, i) => {
      // Box i: the end of the cable to its left on row i - 1, the end to its right on row i,
      // so that both ends of a cable sit on one line. Its other links fill the other rows.
      const leftEnd = links[i - 1]?.[1].iface;
      const rightEnd = links[i]?.[0].iface;
      const fill = s.ifaces
        .filter((x) => x !== leftEnd && x !== rightEnd)
        .sort(loFirst)
        .map((x) => row(s, x));
      const last = rightEnd ? i : leftEnd ? i - 1 : -1;
      const n = Math.max(last + 1, fill.length + (leftEnd ? 1 : 0) + (rightEnd ? 1 : 0));
      const rows: Row[] = [];
      for (let r = 0; r < n; r++) {
        if (leftEnd && r === i - 1) rows.push(row(s, leftEnd));
        else if (rightEnd && r === i) rows.push(row(s, rightEnd));
        else rows.push(fill.shift() ?? { text: '', hot: false });
      }
      return makeBox(titles(s).slice(level), rows, g, { max: width });
    });
  const boxes = titledRow(build, gapW, width);
  if (rowWidth(boxes, gapW) > width) return null;
  const h = Math.max(...boxes.map((b) => b.lines.length));
  const out: Drawn = { lines: [], hot: [] };
  for (let r = 0; r < h; r++) {
    let text = '';
    let hot = false;
    boxes.forEach((b, i) => {
      let piece = padColumns(b.lines[r] ?? '', b.width);
      hot ||= b.hot[r] ?? false;
      // The cable between box i - 1 and box i is on line i (line 0 is the top edges).
      if (i > 0) {
        const c = links[i - 1]!;
        if (r === i) {
          piece = g.teeLeft + piece.slice(1);
          text += cableHot(c) ? g.h + g.on + g.h : g.h.repeat(gapW);
          hot ||= cableHot(c);
        } else text += ' '.repeat(gapW);
      }
      if (i < boxes.length - 1 && r === i + 1) piece = piece.slice(0, -1) + g.teeRight;
      text += piece;
    });
    out.lines.push(text);
    out.hot.push(hot);
  }
  return out;
}

/** One conntrack line's two directions: the original and the reply, as src/dst/ports. */
interface Tracked {
  src: string;
  dst: string;
  sport?: string;
  dport?: string;
  rsrc: string;
  rdst: string;
  rsport?: string;
  rdport?: string;
}

function parseConntrack(l: string): Tracked | null {
  const all = (k: string) => [...l.matchAll(new RegExp(`\\b${k}=(\\S+)`, 'g'))].map((m) => m[1]!);
  const [src, rsrc] = all('src');
  const [dst, rdst] = all('dst');
  const [sport, rsport] = all('sport');
  const [dport, rdport] = all('dport');
  if (!src || !dst || !rsrc || !rdst) return null;
  return { src, dst, sport, dport, rsrc, rdst, rsport, rdport };
}

const hp = (a: string, p?: string) => (p ? `${a}:${p}` : a);

/** A namespace's NAT rules in words: who is rewritten to what. For rules the lesson's
 * nf_tables code writes (masquerade out of a link, a published port in by one); any other
 * rule is shown as nft prints it. A connection conntrack saw rewritten is added when seen. */
function natLines(s: Space, g: Glyphs, width: number): string[] {
  const out: string[] = [];
  // What conntrack saw is added where it fits: the rule is the line's point.
  const rule = (text: string, seen?: string | false) => {
    const both = seen ? t`${text}; ${seen}` : '';
    out.push(both && visible(both) <= width ? both : text);
  };
  const addrOf = (name: string) => s.ifaces.find((i) => i.link.name === name)?.addrs[0]?.split('/')[0];
  const tracked = s.conntrack.map(parseConntrack).filter((c): c is Tracked => c !== null);
  for (const table of s.tables ?? []) {
    for (const r of table.rules) {
      const masq = /^\w+: oifname "([^"]+)" masquerade$/.exec(r);
      const dnat = /^\w+: iifname "([^"]+)" (tcp|udp) dport (\d+) dnat to ([\d.]+):(\d+)$/.exec(r);
      if (masq) {
        const out0 = masq[1]!;
        const as = addrOf(out0);
        const inside = [...new Set(s.ifaces.filter((i) => i.link.name !== out0 && i.link.name !== 'lo').flatMap((i) => i.addrs.map(networkOf)))];
        // Seen: a connection whose answers come back to another address than it left from.
        const seen = tracked.find((c) => c.rdst !== c.src && (!as || c.rdst === as));
        rule(t`${s.label} masquerade: ${inside.join(' ') || t`any source`} ${g.arrow} ${as ?? t`${out0}'s address`} leaving by ${out0}`, seen && t`seen ${hp(seen.src, seen.sport)} as ${hp(seen.rdst, seen.rdport)}`);
      } else if (dnat) {
        const [, inIf, , port, to, toPort] = dnat;
        const at = addrOf(inIf!) ?? t`${inIf}'s address`;
        const seen = tracked.find((c) => c.rsrc === to && c.dst !== to && c.dport === port);
        rule(t`${s.label} dnat: ${at}:${port} ${g.arrow} ${to}:${toPort} arriving by ${inIf} (-p ${port}:${toPort})`, seen && t`seen from ${hp(seen.src, seen.sport)}`);
      } else rule(`${s.label} nft ${table.name}: ${r}`);
    }
  }
  return out;
}
