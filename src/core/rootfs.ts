// The default root filesystem: the host's own small tools (sh, ls, ps, cat, mount, ip,
// hostname, sleep, ...) and the shared libraries they load, copied into a directory.
// No network, no Docker: files are only copied. busybox is added when the host has it.
// rootfs-scripts/ builds fuller ones (debootstrap, `docker export`); they all carry the
// same marker file, which is how checks recognise a lesson's container.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { ROOTFS_MARKER } from './rootfs-marker.js';
import { findHostTool } from './host-tools.js';
import type { Ledger } from './ledger.js';
import { HintedError } from './errors.js';
import { t } from '../i18n/messages.js';
import { workProgress, type WorkProgress } from '../progress.js';

export { ROOTFS_MARKER };

// biome-ignore format: a list of words, kept in lines
export const DEFAULT_TOOLS = [
  'sh', 'bash', 'ls', 'ps', 'cat', 'echo', 'mount', 'umount', 'ip', 'hostname', 'sleep',
  'mkdir', 'rm', 'rmdir', 'touch', 'id', 'env', 'uname', 'grep', 'head', 'tail', 'readlink',
  'stat', 'kill', 'true', 'false', 'pwd', 'wc', 'ln', 'cp', 'mv', 'df', 'tr', 'sort', 'find',
  'chmod', 'date', 'whoami', 'dirname', 'basename', 'busybox', 'nproc', 'seq', 'yes', 'less',
  'cut', 'sed', 'uniq', 'xargs', 'tee', 'printf', 'ping', 'nsenter', 'unshare', 'top', 'free',
  'tty', 'stty', 'setpriv', 'capsh',
];
const TERMINALS = ['xterm', 'xterm-256color', 'xterm-color', 'screen', 'screen-256color', 'tmux', 'tmux-256color', 'linux', 'vt100', 'vt220', 'dumb', 'rxvt', 'alacritty'];

/** Without these the lessons cannot run; the rest are a comfort. */
export const REQUIRED_TOOLS = ['sh', 'ls', 'cat', 'ps', 'sleep', 'hostname', 'mount'];

export interface RootfsMarker {
  id: string;
  kind: string;
  created: string;
  tools?: string[];
}

export class RootfsError extends HintedError {
  /** Always given: the constructor requires it (a type-only narrowing of HintedError's). */
  declare readonly hint: string;
  constructor(message: string, hint: string) {
    super(message, hint);
  }
}

/** Pure: the library paths in `ldd` output ("libc.so.6 => /lib/.../libc.so.6 (0x..)", "/lib64/ld-linux-x86-64.so.2 (0x..)"). */
export function parseLdd(text: string): string[] {
  const libs: string[] = [];
  for (const line of text.split('\n')) {
    const lib = (line.match(/=>\s*(\/\S+)/) ?? line.match(/^\s*(\/\S+)\s+\(/))?.[1];
    if (lib) libs.push(lib);
  }
  return libs;
}

function sharedLibraries(binary: string): string[] {
  try {
    return parseLdd(execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return []; // static binary ("not a dynamic executable") or no ldd
  }
}

function copyFileInto(root: string, hostPath: string, asPath = hostPath): void {
  const dest = path.join(root, asPath);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  if (fs.existsSync(dest)) return;
  fs.copyFileSync(fs.realpathSync(hostPath), dest);
  fs.chmodSync(dest, fs.statSync(hostPath).mode & 0o7777);
}

/** How far a build of the default rootfs is (see progress.ts). */
export type RootfsProgress = Extract<WorkProgress, { kind: 'rootfs' }>;

/** Ask `ldd` for a binary's shared libraries, without blocking (the TUI keeps drawing). */
function sharedLibrariesAsync(binary: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('ldd', [binary], { encoding: 'utf8' }, (err, stdout) => resolve(err ? [] : parseLdd(stdout)));
  });
}

/** What a build copies: each tool the host has, and where. */
function toolsToCopy(tools: string[]): Array<{ tool: string; host: string }> {
  return tools.flatMap((tool) => {
    const host = findHostTool(tool);
    return host ? [{ tool, host }] : [];
  });
}

/** The build itself, for both drivers below: it yields each tool to copy and is sent back
 * that tool's shared libraries (ldd, which is most of a build's time: the synchronous
 * driver asks it tool by tool, the asynchronous one several at once). */
function* buildSteps(dir: string, ledger: Ledger | undefined, copy: Array<{ tool: string; host: string }>): Generator<{ tool: string; host: string }, RootfsMarker, string[]> {
  if (fs.existsSync(dir)) throw new RootfsError(t`${dir} already exists`, t`remove it, or \`container-lessons reset --all\`, to build it anew`);
  const missing = REQUIRED_TOOLS.filter((t) => !findHostTool(t));
  if (missing.length) {
    throw new RootfsError(t`the host has no ${missing.join(', ')} to copy into the default root filesystem`, t`install them (Debian/Ubuntu: apt-get install procps iproute2 coreutils), or build one with rootfs-scripts/debootstrap.sh`);
  }
  const tmp = `${dir}.building-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  // Built aside and renamed into place: a crash leaves only the temporary tree, which the
  // journal knows about.
  const entry = ledger?.add({ kind: 'file', path: tmp });
  let placed = false;
  try {
    for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'root', 'run', 'var/tmp', 'home', 'mnt', 'usr']) fs.mkdirSync(path.join(tmp, d), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'tmp'), { mode: 0o1777 });
    fs.chmodSync(path.join(tmp, 'tmp'), 0o1777);
    fs.chmodSync(path.join(tmp, 'root'), 0o700);
    // One bin directory; the usual other names point at it.
    const links = { sbin: 'bin', 'usr/bin': '../bin', 'usr/sbin': '../bin' };
    for (const [link, target] of Object.entries(links)) fs.symlinkSync(target, path.join(tmp, link));
    const copied: string[] = [];
    for (const c of copy) {
      const libs = yield c;
      copyFileInto(tmp, c.host, path.join('/bin', c.tool));
      for (const lib of libs) copyFileInto(tmp, lib);
      copied.push(c.tool);
    }
    // Terminal descriptions, so that top, less and the shell's line editing work.
    for (const base of ['/lib/terminfo', '/usr/share/terminfo', '/etc/terminfo']) {
      for (const t of TERMINALS) {
        const p = path.join(base, t.charAt(0), t);
        if (fs.existsSync(p)) copyFileInto(tmp, p);
      }
    }
    // Name-service files: ps and id show names instead of numbers.
    const etc = (name: string, text: string) => fs.writeFileSync(path.join(tmp, 'etc', name), text);
    etc('passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    etc('group', 'root:x:0:\nnogroup:x:65534:\n');
    etc('hostname', 'container\n');
    etc('hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost\n');
    etc('profile', 'export PS1="[container] \\w # "\nexport PATH=/bin:/sbin:/usr/bin:/usr/sbin\n');
    etc('os-release', 'NAME="container-lessons host tools"\nID=container-lessons\n');
    const marker: RootfsMarker = { id: crypto.randomUUID(), kind: 'host-tools', created: new Date().toISOString(), tools: copied };
    fs.writeFileSync(path.join(tmp, ROOTFS_MARKER), JSON.stringify(marker, null, 2) + '\n');
    fs.renameSync(tmp, dir);
    placed = true;
    entry?.drop();
    return marker;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new RootfsError(t`no space left to build the root filesystem at ${dir} (it needs about 20 MiB)`, t`free some space, or set CONTAINER_LESSONS_HOME to a roomier place`);
    if (code === 'EROFS' || code === 'EACCES') throw new RootfsError(t`cannot write the root filesystem at ${dir} (${code})`, t`set CONTAINER_LESSONS_HOME to a writable directory`);
    throw err;
  } finally {
    // Also when a driver stops the build early (steps.return()): nothing half-built stays.
    if (!placed) {
      fs.rmSync(tmp, { recursive: true, force: true });
      entry?.drop();
    }
  }
}

/** Progress after each tool copied: to `onProgress`, else to the open work sink. */
function reporter(total: number, onProgress?: (p: RootfsProgress) => void): (copied: number, tool: string) => void {
  const report = onProgress ?? workProgress;
  return (copied, tool) => report({ kind: 'rootfs', copied, total, tool, done: copied === total });
}

/** Build the default root filesystem at `dir` (which must not exist yet). Synchronous: the
 * TUI cannot draw while it runs; buildHostRootfsAsync is the same build, drawn. */
export function buildHostRootfs(dir: string, ledger?: Ledger, tools = DEFAULT_TOOLS, onProgress?: (p: RootfsProgress) => void): RootfsMarker {
  const copy = toolsToCopy(tools);
  const report = reporter(copy.length, onProgress);
  const steps = buildSteps(dir, ledger, copy);
  let copied = 0;
  let next = steps.next();
  try {
    while (!next.done) {
      const c = next.value;
      next = steps.next(sharedLibraries(c.host));
      report(++copied, c.tool);
    }
  } finally {
    if (!next.done) steps.return(undefined as never); // a report threw: the build stops clean
  }
  return next.value;
}

/** How many ldd run at once: enough to keep two cores busy while files are copied. */
const LDD_AT_ONCE = 4;

/** Builds under way in this process, by directory: a second caller waits for the first. */
const building = new Map<string, Promise<RootfsMarker>>();

/** buildHostRootfs without blocking: the libraries of several tools are asked for at once,
 * and progress is reported after each tool copied. */
export function buildHostRootfsAsync(dir: string, ledger?: Ledger, tools = DEFAULT_TOOLS, onProgress?: (p: RootfsProgress) => void): Promise<RootfsMarker> {
  const under = building.get(dir);
  if (under) return under;
  const build = (async () => {
    const copy = toolsToCopy(tools);
    const report = reporter(copy.length, onProgress);
    // Asked ahead, a few at a time, answered in order.
    const asked: Array<Promise<string[]>> = [];
    const ask = (i: number) => {
      const c = copy[i];
      if (c && !asked[i]) asked[i] = sharedLibrariesAsync(c.host);
    };
    for (let i = 0; i < LDD_AT_ONCE; i++) ask(i);
    const steps = buildSteps(dir, ledger, copy);
    let copied = 0;
    let next = steps.next();
    try {
      while (!next.done) {
        const c = next.value;
        const libs = await asked[copied]!;
        ask(copied + LDD_AT_ONCE);
        next = steps.next(libs);
        report(++copied, c.tool);
      }
    } finally {
      if (!next.done) steps.return(undefined as never); // a report threw: the build stops clean
    }
    return next.value;
  })();
  building.set(dir, build);
  return build.finally(() => building.delete(dir));
}

export function readMarker(dir: string): RootfsMarker | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, ROOTFS_MARKER), 'utf8'));
  } catch {
    return null;
  }
}

/** Follow a path inside a root filesystem as a process chrooted there would: absolute
 * symlinks (Alpine's /bin/sh -> /bin/busybox) point into the rootfs, never at the host.
 * Returns the host path of what it names, or null if it does not exist. */
export function resolveInRoot(root: string, p: string): string | null {
  const parts = p.split('/').filter(Boolean);
  let cur: string[] = [];
  for (let hops = 0; parts.length; ) {
    const name = parts.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      cur.pop();
      continue;
    }
    const host = path.join(root, ...cur, name);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(host);
    } catch {
      return null;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return null;
      const target = fs.readlinkSync(host);
      if (target.startsWith('/')) cur = [];
      parts.unshift(...target.split('/').filter(Boolean));
    } else cur.push(name);
  }
  return path.join(root, ...cur);
}

/** What is wrong with a root filesystem, or null if the lessons can use it. */
export function rootfsProblem(dir: string): RootfsError | null {
  if (!fs.existsSync(dir)) return new RootfsError(t`no root filesystem at ${dir}`, t`run \`container-lessons rootfs\` to build the default one (no network needed)`);
  if (!readMarker(dir)) {
    return new RootfsError(
      t`${dir} has no ${ROOTFS_MARKER} marker`,
      t`import it with rootfs-scripts/docker-export.sh or rootfs-scripts/debootstrap.sh, which add the marker, or create it: echo '{"id":"my-rootfs","kind":"manual"}' > ${path.join(dir, ROOTFS_MARKER)}`,
    );
  }
  for (const need of ['bin/sh', 'proc', 'dev']) {
    if (!resolveInRoot(dir, need)) return new RootfsError(t`${dir} is broken: it has no /${need}`, t`remove it and build it again (\`container-lessons reset --all\`, then run a lesson)`);
  }
  return null;
}

/** The default rootfs at `dir`: built if missing, checked if present. A build reports its
 * progress to `onProgress`, else to the open work sink (progress.ts). */
export function ensureRootfs(dir: string, ledger?: Ledger, opts: { build?: boolean; onProgress?: (p: RootfsProgress) => void } = {}): { marker: RootfsMarker; built: boolean; added?: string[] } {
  if (!fs.existsSync(dir) && opts.build !== false) {
    const marker = buildHostRootfs(dir, ledger, DEFAULT_TOOLS, opts.onProgress);
    return { marker, built: true };
  }
  return checkRootfs(dir, opts);
}

/** ensureRootfs without blocking while it builds (the TUI draws the progress meanwhile). */
export async function ensureRootfsAsync(dir: string, ledger?: Ledger, opts: { build?: boolean; onProgress?: (p: RootfsProgress) => void } = {}): Promise<{ marker: RootfsMarker; built: boolean; added?: string[] }> {
  if (!fs.existsSync(dir) && opts.build !== false) {
    const marker = await buildHostRootfsAsync(dir, ledger, DEFAULT_TOOLS, opts.onProgress);
    return { marker, built: true };
  }
  return checkRootfs(dir, opts);
}

/** A rootfs that is there: usable, and topped up if the workbook built it. */
function checkRootfs(dir: string, opts: { build?: boolean }): { marker: RootfsMarker; built: boolean; added?: string[] } {
  const problem = rootfsProblem(dir);
  if (problem) throw problem;
  const marker = readMarker(dir)!;
  const added = opts.build !== false ? topUpHostRootfs(dir, marker) : [];
  return { marker, built: false, ...(added.length ? { added } : {}) };
}

/** A rootfs the workbook built from the host's tools, before a later version added tools
 * to DEFAULT_TOOLS (setpriv and capsh for lesson 10, tty and stty for the shell's
 * terminal): the missing ones, and their libraries, are copied in and the marker lists
 * them, so that a learner keeps their lab and progress. Only for kind host-tools: an
 * imported rootfs is the learner's own. Returns the tools added. */
function topUpHostRootfs(dir: string, marker: RootfsMarker): string[] {
  if (marker.kind !== 'host-tools' || !marker.tools) return [];
  const missing = DEFAULT_TOOLS.filter((t) => !marker.tools!.includes(t)).flatMap((t) => {
    const host = findHostTool(t);
    return host ? [{ tool: t, host }] : [];
  });
  if (!missing.length) return [];
  for (const { tool, host } of missing) {
    copyFileInto(dir, host, path.join('/bin', tool));
    for (const lib of sharedLibraries(host)) copyFileInto(dir, lib);
  }
  marker.tools = [...marker.tools, ...missing.map((m) => m.tool)];
  fs.writeFileSync(path.join(dir, ROOTFS_MARKER), JSON.stringify(marker, null, 2) + '\n');
  return missing.map((m) => m.tool);
}
