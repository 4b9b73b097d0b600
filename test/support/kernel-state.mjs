// A snapshot of the kernel state a lesson (or a test) could leave behind, and the difference
// of two snapshots. One module for the test suite's leak guard, the fault test and test:vm's
// guest (which runs it with plain node: hence JavaScript, typed with JSDoc).
//
// What it holds, each as sorted lines (compared as multisets):
//   mounts          mount point, type, source, options and propagation (shared:N, master:N)
//   cgroups         every directory of every cgroup hierarchy, at any depth, the roots'
//                   children included (v2 puts a lesson's group there)
//   subtreeControl  cgroup.subtree_control of every cgroup2 directory that has one set
//   processes       in another PID namespace, rooted in a lab rootfs (its marker file), or
//                   tagged by the project (TAG_VAR in the environment, or an init helper)
//   links           each link with its state, master and addresses (ip -j addr)
//   routes          every route of every table (ip -j route show table all, v4 and v6)
//   netns           named network namespaces (/run/netns)
//   sysctls         the network's forwarding and bridge-netfilter switches, per link too
//   nft             the nf_tables ruleset (nft -j list ruleset), when nft is installed
// The network parts are read in a given network namespace (the host's by default), so the
// guard's self-test can change them in a namespace of its own.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The project's process tag and the lab rootfs's marker: the same values as
 * src/core/journal.ts TAG_VAR and src/core/rootfs-marker.ts ROOTFS_MARKER (a unit test
 * keeps them equal; the guest runs this file without the sources). */
export const TAG_VAR = 'CONTAINER_LESSONS_TAG';
export const ROOTFS_MARKER = '.container-lessons-rootfs';

/** @typedef {'mounts' | 'cgroups' | 'subtreeControl' | 'processes' | 'links' | 'routes' | 'netns' | 'sysctls' | 'nft'} Kind */
/** @typedef {Record<Kind, string[]>} KernelState */
/** @typedef {{ netns?: string }} SnapshotOptions  netns: a /run/netns name to read the network parts in */

/** @param {string} dir */
function list(dir) {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** @param {string} file */
function read(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** The mount table, one line per mount: where, what, from where, how, and propagation.
 * @returns {Array<{ mountPoint: string, fstype: string, superOptions: string, line: string }>} */
function mountTable() {
  return (read('/proc/self/mountinfo') ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [left, right] = l.split(' - ');
      if (left === undefined || right === undefined) throw new Error(`not a mountinfo line: ${l}`);
      // id parent major:minor root mount-point options optional...
      const [, , , root, mountPoint, options, ...optional] = left.split(' ');
      const [fstype, source, superOptions = ''] = right.split(' ');
      if (mountPoint === undefined || fstype === undefined) throw new Error(`not a mountinfo line: ${l}`);
      return { mountPoint, fstype, superOptions, line: `${mountPoint} ${fstype} ${source} root=${root} ${options} ${optional.join(' ') || 'private'}` };
    });
}

/** This process's cgroup in each hierarchy ("" for v2): what started the tests keeps
 * other groups beside it (a session's scopes, a sandbox's per-command groups), which come
 * and go without us. @returns {Map<string, string>} controllers -> path */
function ownCgroups() {
  /** @type {Map<string, string>} */
  const own = new Map();
  for (const line of (read('/proc/self/cgroup') ?? '').split('\n').filter(Boolean)) {
    const [, controllers = '', p = '/'] = line.split(':');
    own.set(controllers.replace(/^name=/, ''), p);
  }
  return own;
}

/** Every cgroup directory, at every depth, of every hierarchy mounted; and each cgroup2
 * directory's subtree_control that enables something. Groups beside this process's own
 * (its parent's other children) are the supervisor's, not anything the project makes. */
function cgroups() {
  const own = ownCgroups();
  /** @type {string[]} */ const dirs = [];
  /** @type {string[]} */ const control = [];
  const seen = new Set();
  for (const m of mountTable()) {
    if (m.fstype !== 'cgroup' && m.fstype !== 'cgroup2') continue;
    if (seen.has(m.mountPoint)) continue;
    seen.add(m.mountPoint);
    const opts = m.superOptions.split(',');
    const key = m.fstype === 'cgroup2' ? '' : [...own.keys()].find((k) => k !== '' && k.split(',').every((c) => opts.includes(c) || opts.includes(`name=${c}`)));
    const mine = key === undefined ? '/' : (own.get(key) ?? '/');
    const supervisor = mine === '/' ? null : path.join(m.mountPoint, path.dirname(mine));
    const ownDir = path.join(m.mountPoint, mine);
    // Kept: anything outside the supervisor's directory, our own group with its ancestors,
    // and anything inside our own group.
    const keep = (/** @type {string} */ dir) => supervisor === null || !dir.startsWith(`${supervisor}/`) || ownDir.startsWith(dir) || dir.startsWith(`${ownDir}/`);
    /** @param {string} dir @param {number} depth */
    const walk = (dir, depth) => {
      if (m.fstype === 'cgroup2') {
        const sc = read(path.join(dir, 'cgroup.subtree_control'))?.trim();
        if (sc) control.push(`${dir}: ${sc}`);
      }
      if (depth > 12) return;
      for (const e of list(dir)) {
        const full = path.join(dir, e);
        let isDir = false;
        try {
          isDir = fs.lstatSync(full).isDirectory();
        } catch {
          /* gone */
        }
        if (!isDir || !keep(full)) continue;
        dirs.push(full);
        walk(full, depth + 1);
      }
    };
    walk(m.mountPoint, 0);
  }
  return { dirs, control };
}

/** A zombie has exited and holds nothing but its pid, which its parent clears: for an
 * orphan that is the host's init, and some inits reap only every second or so.
 * @param {string} p */
function isZombie(p) {
  const st = read(`/proc/${p}/stat`);
  return st !== null && st[st.lastIndexOf(')') + 2] === 'Z';
}

/** Processes the project could leave: in another PID namespace, with a lab rootfs as root
 * (what cases.sh and the checks look for), or tagged by the project. */
function processes() {
  const mine = fs.readlinkSync('/proc/self/ns/pid');
  /** @type {string[]} */ const out = [];
  for (const p of list('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(p) === process.pid || isZombie(p)) continue;
    try {
      const why = [];
      if (fs.readlinkSync(`/proc/${p}/ns/pid`) !== mine) why.push('other pid namespace');
      if (fs.existsSync(`/proc/${p}/root/${ROOTFS_MARKER}`)) why.push('rooted in a lab rootfs');
      const cmd = (read(`/proc/${p}/cmdline`) ?? '').replace(/\0/g, ' ').trim();
      const env = read(`/proc/${p}/environ`) ?? '';
      if (env.split('\0').some((v) => v.startsWith(`${TAG_VAR}=`)) || /nsinit\.js/.test(cmd)) why.push("the project's");
      if (why.length) out.push(`${p} ${(read(`/proc/${p}/comm`) ?? '?').trim()} (${why.join(', ')}): ${cmd.slice(0, 60)}`);
    } catch {
      /* gone, or a kernel thread */
    }
  }
  return out;
}

/** A command's output, run in the named network namespace when one is given (null when the
 * command is not installed). @param {string[]} argv @param {SnapshotOptions} opts */
function inNet(argv, opts) {
  const full = opts.netns ? ['nsenter', `--net=/run/netns/${opts.netns}`, '--', ...argv] : argv;
  try {
    return execFileSync(/** @type {string} */ (full[0]), full.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = /** @type {NodeJS.ErrnoException} */ (err);
    if (e.code === 'ENOENT') return null;
    throw err;
  }
}

/** @param {SnapshotOptions} opts */
function links(opts) {
  const out = inNet(['ip', '-j', 'addr'], opts);
  if (out === null) return ['(ip is not installed: links not compared)'];
  /** @type {Array<{ ifname: string, operstate?: string, flags?: string[], master?: string, addr_info?: Array<{ local: string, prefixlen: number }> }>} */
  const parsed = JSON.parse(out);
  return parsed.map((l) => `${l.ifname} ${(l.flags ?? []).includes('UP') ? 'up' : 'down'}${l.master ? ` master ${l.master}` : ''} ${(l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).join(' ')}`.trim());
}

/** @param {SnapshotOptions} opts */
function routes(opts) {
  /** @type {string[]} */ const out = [];
  for (const family of ['-4', '-6']) {
    const text = inNet(['ip', '-j', family, 'route', 'show', 'table', 'all'], opts);
    if (text === null) return ['(ip is not installed: routes not compared)'];
    /** @type {Array<Record<string, unknown>>} */
    const parsed = JSON.parse(text);
    // Without the kernel's own bookkeeping that changes by itself (expiry, cache entries).
    for (const r of parsed) out.push(`${family} ${r.table ?? 'main'} ${r.type ?? 'unicast'} ${r.dst} ${r.gateway ? `via ${r.gateway} ` : ''}dev ${r.dev ?? '-'}${r.prefsrc ? ` src ${r.prefsrc}` : ''}`);
  }
  return out;
}

/** The switches a network lesson could flip: forwarding (all, default and per link) and
 * whether bridged packets meet the firewall. @param {SnapshotOptions} opts */
function sysctls(opts) {
  const out = inNet(['sh', '-c', 'cd /proc/sys/net && grep -H . ipv4/ip_forward ipv4/conf/*/forwarding ipv6/conf/*/forwarding bridge/bridge-nf-call-* 2>/dev/null; true'], opts);
  return (out ?? '').split('\n').filter(Boolean);
}

/** @param {SnapshotOptions} opts */
function nft(opts) {
  const out = inNet(['nft', '-j', 'list', 'ruleset'], opts);
  if (out === null) return ['(nft is not installed: the ruleset is not compared)'];
  /** @type {{ nftables?: Array<Record<string, Record<string, unknown>>> }} */
  const parsed = JSON.parse(out);
  // One line per table, chain, set and rule; handles stay (a new rule gets a new one).
  return (parsed.nftables ?? []).filter((o) => !o.metainfo).map((o) => JSON.stringify(o));
}

/** What the kernel holds now. @param {SnapshotOptions} [opts] @returns {KernelState} */
export function snapshot(opts = {}) {
  const cg = cgroups();
  return {
    mounts: mountTable()
      .map((m) => m.line)
      .sort(),
    cgroups: cg.dirs.sort(),
    subtreeControl: cg.control.sort(),
    processes: processes().sort(),
    links: links(opts).sort(),
    routes: routes(opts).sort(),
    netns: list('/run/netns').sort(),
    sysctls: sysctls(opts).sort(),
    nft: nft(opts).sort(),
  };
}

/** What changed from `before` to `after`, per kind: lines that appeared (`+ ...`) and,
 * for the kinds where a disappearance is damage too (a mount unmounted, a route or a
 * setting gone), lines that went (`- ...`). Processes and cgroups that went are fine.
 * @param {KernelState} before @param {KernelState} after
 * @returns {Partial<Record<Kind, string[]>>} */
export function leaks(before, after) {
  /** @type {Partial<Record<Kind, string[]>>} */
  const out = {};
  const goneMatters = new Set(['mounts', 'subtreeControl', 'links', 'routes', 'sysctls', 'nft']);
  for (const k of /** @type {Kind[]} */ (Object.keys(before))) {
    const added = difference(after[k] ?? [], before[k] ?? []).map((x) => `+ ${x}`);
    const gone = goneMatters.has(k) ? difference(before[k] ?? [], after[k] ?? []).map((x) => `- ${x}`) : [];
    if (added.length || gone.length) out[k] = [...added, ...gone];
  }
  return out;
}

/** Multiset a - b. @param {string[]} a @param {string[]} b */
function difference(a, b) {
  /** @type {Map<string, number>} */
  const seen = new Map();
  for (const x of b) seen.set(x, (seen.get(x) ?? 0) + 1);
  /** @type {string[]} */ const out = [];
  for (const x of a) {
    const n = seen.get(x) ?? 0;
    if (n > 0) seen.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

/** @param {Partial<Record<Kind, string[]>>} l */
export function describeLeaks(l) {
  return Object.entries(l)
    .map(([k, v]) => `${k}:\n  ${(v ?? []).join('\n  ')}`)
    .join('\n');
}

// Run as a script (test:vm's guest): `node kernel-state.mjs save FILE` writes a snapshot,
// `node kernel-state.mjs diff FILE` prints what changed since and exits 1 if anything did.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const [verb, file] = process.argv.slice(2);
  if (verb === 'save' && file) fs.writeFileSync(file, JSON.stringify(snapshot()));
  else if (verb === 'diff' && file) {
    const found = leaks(JSON.parse(fs.readFileSync(file, 'utf8')), snapshot());
    process.stdout.write(Object.keys(found).length ? `${describeLeaks(found)}\n` : 'nothing\n');
    process.exitCode = Object.keys(found).length ? 1 : 0;
  } else {
    process.stderr.write('usage: node kernel-state.mjs save FILE | diff FILE\n');
    process.exitCode = 2;
  }
}
