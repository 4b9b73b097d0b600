#!/usr/bin/env node
// `npm run test:vm`: every lesson on a cgroup v2-only machine, for real, in a QEMU guest.
//
// Boots Debian's cloud kernel (fetched with `apt-get download`, cached) under QEMU with an
// initramfs built here, each run, from: a root filesystem of this host's own tools (the
// project's buildHostRootfs, plus node and a few more tools), the project (bin/, bundle/, dist/,
// lessons/, package.json, the packages dist/ needs), a prebuilt lab rootfs, the kernel
// modules the lessons need, and the guest scripts init.sh + cases.sh next to this file.
// The guest prints one `VM-CASE ...` line per case and a `VM-VERDICT ...` line on its
// serial console, then powers off; the verdict is read from the serial log.
//
// Options: --cgroup v2|v1 (default v2: cgroup2 alone at /sys/fs/cgroup; v1: one v1
// hierarchy per controller), --timeout SECONDS (default 1500), --keep (keep the work dir).
// Exit codes: 0 VM-VERDICT PASS; 1 a failure (or no verdict: crash, timeout);
// 2 a usage error; 0 with a line starting "SKIP:" when QEMU, apt-get/dpkg-deb or the
// kernel package cannot be had (nothing was tested then).
// Cache: $XDG_CACHE_HOME/container-lessons-vm (default ~/.cache/...): the unpacked kernel
// package, busybox, and the last serial log. Nothing else stays behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const t0 = Date.now();
const secs = (/** @type {number} */ ms) => (ms / 1000).toFixed(1);

// ---- options ----
const opts = { cgroup: 'v2', timeout: 1500, keep: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === undefined) break;
  const val = () => {
    const [, v] = a.split('=');
    const value = v ?? argv[++i];
    if (value === undefined) usage(`${a} needs a value`);
    return value;
  };
  if (a === '--cgroup' || a.startsWith('--cgroup=')) opts.cgroup = val();
  else if (a === '--timeout' || a.startsWith('--timeout=')) opts.timeout = Number(val());
  else if (a === '--keep') opts.keep = true;
  else usage(`unknown option ${a}`);
}
if (!['v1', 'v2'].includes(opts.cgroup)) usage(`--cgroup must be v1 or v2, not ${opts.cgroup}`);
if (!(opts.timeout > 0)) usage('--timeout needs a number of seconds');
/** @param {string} msg @returns {never} */
function usage(msg) {
  console.error(`test:vm: ${msg}\nusage: npm run test:vm -- [--cgroup v2|v1] [--timeout SECONDS] [--keep]`);
  process.exit(2);
}

/** @param {string} why @returns {never} */
function skip(why) {
  console.log(`SKIP: test:vm did not run: ${why}`);
  process.exit(0);
}
const has = (/** @type {string} */ cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

if (process.platform !== 'linux' || process.arch !== 'x64') skip(`needs Linux on x86-64 (this is ${process.platform}/${process.arch})`);
if (!has('qemu-system-x86_64')) skip('qemu-system-x86_64 is not installed (Debian/Ubuntu: apt-get install qemu-system-x86)');
if (!fs.existsSync(path.join(REPO, 'dist/cli.js')) || !fs.existsSync(path.join(REPO, 'bundle/cli.js'))) {
  console.error('test:vm: dist/ or bundle/ is missing: run `npm run build` first (npm run test:vm does)');
  process.exit(1);
}

// ---- cache: the kernel package and busybox, unpacked ----
const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'container-lessons-vm');
fs.mkdirSync(CACHE, { recursive: true });

/** Unpack a Debian package into CACHE/<pkg> once; returns that directory, or why not.
 * @param {string} pkg */
function unpacked(pkg) {
  const dir = path.join(CACHE, pkg);
  if (fs.existsSync(path.join(dir, '.complete'))) return { dir };
  if (!has('apt-get') || !has('dpkg-deb')) return { why: 'apt-get/dpkg-deb not found (not a Debian-like host)' };
  const tmp = fs.mkdtempSync(path.join(CACHE, '.dl-'));
  try {
    fs.chmodSync(tmp, 0o777); // apt-get download drops to the _apt user when it can
    const dl = spawnSync('apt-get', ['download', pkg], { cwd: tmp, encoding: 'utf8' });
    const deb = fs.readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (dl.status !== 0 || !deb) return { why: `apt-get download ${pkg} failed: ${(dl.stderr || dl.stdout || '').trim().split('\n').pop()}` };
    fs.rmSync(dir, { recursive: true, force: true });
    execFileSync('dpkg-deb', ['-x', path.join(tmp, deb), dir]);
    fs.writeFileSync(path.join(dir, '.complete'), `${deb}\n`);
    return { dir };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function kernelPackage() {
  // The cloud kernel the metapackage points at today; offline, the newest one in the cache.
  const r = spawnSync('apt-cache', ['depends', 'linux-image-cloud-amd64'], { encoding: 'utf8' });
  const m = r.status === 0 && r.stdout.match(/Depends:\s*(linux-image-\S+-cloud-amd64)/);
  if (m) return m[1];
  const cached = fs.readdirSync(CACHE).filter((d) => /^linux-image-.*-cloud-amd64$/.test(d) && fs.existsSync(path.join(CACHE, d, '.complete')));
  return cached.sort().pop() ?? null;
}

const kpkg = kernelPackage();
if (!kpkg) skip('cannot name the cloud kernel package (`apt-cache depends linux-image-cloud-amd64` found nothing; run apt-get update?) and none is cached');
const kern = unpacked(kpkg);
if (!kern.dir) skip(`no kernel package: ${kern.why}`);
const bbox = unpacked('busybox-static');
if (!bbox.dir) skip(`no busybox-static: ${bbox.why}`);
const vmlinuz = fs.readdirSync(path.join(kern.dir, 'boot')).find((f) => f.startsWith('vmlinuz-'));
if (!vmlinuz) throw new Error(`${kpkg} has no boot/vmlinuz-*: ${kern.dir}`);
const KERNEL = path.join(kern.dir, 'boot', vmlinuz);
const BUSYBOX = path.join(bbox.dir, 'bin/busybox');
const kver = vmlinuz.slice('vmlinuz-'.length);
const modRoot = path.join(kern.dir, 'lib/modules', kver);

// ---- the modules the lessons need, with their dependencies, in load order ----
// zram and its default compressor (lzo-rle): a swap device in the guest's own memory, for
// lesson 8's cases with swap on (the guest has no disk).
const WANTED = ['overlay', 'veth', 'bridge', 'nf_tables', 'nft_chain_nat', 'nft_nat', 'nft_masq', 'zram', 'lzo_rle'];
/** @type {Map<string, string>} module name -> its .ko file */
const koFiles = new Map();
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) walk(path.join(d, e.name));
    else if (e.name.endsWith('.ko')) koFiles.set(e.name.slice(0, -3).replace(/-/g, '_'), path.join(d, e.name));
  }
})(modRoot);
/** `modinfo -F depends`, read from the .ko's .modinfo strings (modinfo is often not installed).
 * @param {string} file */
function depends(file) {
  const m = fs
    .readFileSync(file)
    .toString('latin1')
    .match(/\0depends=([^\0]*)\0/);
  const deps = m?.[1];
  return deps ? deps.split(',').map((s) => s.replace(/-/g, '_')) : [];
}
/** @type {Map<string, string>} module -> .ko file, in load order */
const order = new Map();
/** @param {string} mod @param {string[]} chain */
function need(mod, chain = []) {
  if (order.has(mod) || chain.includes(mod)) return;
  const file = koFiles.get(mod);
  if (!file) return; // built in (or absent: doctor and the cases will say so)
  for (const d of depends(file)) need(d, [...chain, mod]);
  order.set(mod, file);
}
for (const m of WANTED) need(m);
const modules = [...order.keys()];

// ---- the initramfs ----
/** @type {typeof import('../../src/core/rootfs.js')} (built: dist/) */
const { buildHostRootfs, DEFAULT_TOOLS, parseLdd } = await import(path.join(REPO, 'dist/core/rootfs.js'));
/** @type {typeof import('../../src/core/rootfs-marker.js')} */
const { ROOTFS_MARKER } = await import(path.join(REPO, 'dist/core/rootfs-marker.js'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-vm-'));
/** @type {import('node:child_process').ChildProcess | null} */
let qemu = null;
function cleanup() {
  if (qemu && qemu.exitCode === null) qemu.kill('SIGKILL');
  if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    cleanup();
    process.exit(1);
  });
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  console.error(`test:vm: ${(err instanceof Error && err.stack) || err}`);
} finally {
  cleanup();
  if (opts.keep) console.log(`(kept ${work})`);
}
process.exit(exitCode);

async function main() {
  const tb = Date.now();
  const stage = path.join(work, 'initramfs');
  const R = path.join(stage, 'r'); // the guest's real root; stage 1 (/init) moves it over /
  fs.mkdirSync(stage);
  // The guest's root: the host's tools, as for the lessons, plus what the cases and init use.
  const EXTRA = ['chroot', 'pivot_root', 'lsns', 'awk', 'timeout', 'mkfifo', 'tac', 'paste', 'ldd', 'setsid', 'mountpoint', 'sysctl', 'nft', 'tar', 'sha256sum', 'setpriv', 'ipcmk', 'ipcs', 'runc', 'mknod'];
  buildHostRootfs(R, undefined, [...DEFAULT_TOOLS, ...EXTRA.filter((t) => !DEFAULT_TOOLS.includes(t))]);
  fs.rmSync(path.join(R, ROOTFS_MARKER)); // the guest's own / must not look like a lesson's container
  copyWithLibs(R, fs.realpathSync(process.execPath), '/bin/node');
  // The project, as `npm install -g` would lay it out, and the command on PATH.
  const app = path.join(R, 'opt/container-lessons');
  for (const p of ['bin', 'bundle', 'dist', 'bench', 'lessons', 'capstone', 'scripts', 'package.json']) fs.cpSync(path.join(REPO, p), path.join(app, p), { recursive: true });
  // bin/ runs bundle/, which needs koffi alone (the published package depends on nothing
  // else); bench/window.mjs, run in the guest, imports dist/, which needs these and what
  // they depend on.
  const DIST_PACKAGES = ['koffi', 'ink', 'marked', 'marked-terminal', 'react', 'tar'];
  const sel = `:is(${DIST_PACKAGES.map((n) => `#${n}`).join(',')})`;
  const q = spawnSync('npm', ['query', `${sel}, ${sel} *`], { cwd: REPO, encoding: 'utf8' });
  /** @type {string[]} */
  let pkgs = [];
  try {
    /** @type {Array<{ path: string }>} */
    const found = JSON.parse(q.stdout);
    pkgs = [...new Set(found.map((n) => n.path))].filter((p) => p.startsWith(path.join(REPO, 'node_modules') + '/'));
  } catch {
    /* reported below */
  }
  if (pkgs.length < DIST_PACKAGES.length) throw new Error(`npm query found ${pkgs.length} of the packages dist/ needs (run npm ci): ${q.stderr}`);
  for (const p of pkgs) {
    fs.cpSync(p, path.join(app, path.relative(REPO, p)), { recursive: true, filter: (src) => !src.startsWith(path.join(p, 'node_modules')) });
  }
  fs.symlinkSync('/opt/container-lessons/bin/container-lessons.js', path.join(R, 'bin/container-lessons'));
  // The lab's root filesystem for lessons 3-7, prebuilt; init copies it into the lab's tmpfs.
  buildHostRootfs(path.join(R, 'lab-seed/rootfs'));
  // Kernel modules, busybox (insmod, poweroff), the guest scripts and their settings.
  const vm = path.join(R, 'vm');
  fs.mkdirSync(path.join(vm, 'modules'), { recursive: true });
  for (const [m, file] of order) fs.copyFileSync(file, path.join(vm, 'modules', `${m}.ko`));
  fs.writeFileSync(path.join(vm, 'modules.order'), modules.join('\n') + '\n');
  fs.copyFileSync(BUSYBOX, path.join(vm, 'busybox'));
  for (const f of ['init.sh', 'cases.sh']) fs.copyFileSync(path.join(HERE, f), path.join(vm, f));
  // The test suite's leak guard, run by cases.sh before and after the cases.
  fs.copyFileSync(path.join(REPO, 'test/support/kernel-state.mjs'), path.join(vm, 'kernel-state.mjs'));
  fs.writeFileSync(path.join(vm, 'cgroup'), `${opts.cgroup}\n`);
  fs.writeFileSync(path.join(vm, 'kernel'), `${kpkg}\n`);
  // Stage 1: pivot_root(2) refuses a root on the initial rootfs, and lesson 3 (and every
  // container of the workbook) pivots. So the real root is /r, bind-mounted onto itself and
  // moved over / as switch_root does, without deleting anything.
  // (busybox picks its applet from argv[0] unless that is "busybox": keep the name.)
  fs.copyFileSync(BUSYBOX, path.join(stage, 'busybox'));
  fs.writeFileSync(
    path.join(stage, 'init'),
    '#!/busybox sh\nB=/busybox\n$B mount -o bind /r /r && cd /r && $B mount -o move . / && exec $B chroot . /bin/bash /vm/init.sh\necho "VM-VERDICT FAIL stage 1 could not move /r over /"\n$B poweroff -f\n',
    { mode: 0o755 },
  );
  const initrd = path.join(work, 'initrd.cpio');
  const size = writeCpio(stage, initrd, [
    { name: 'dev', mode: 0o40755 },
    { name: 'dev/console', mode: 0o20600, rdev: [5, 1] },
  ]);
  fs.rmSync(stage, { recursive: true, force: true });
  console.log(`test:vm: ${kpkg}, cgroup ${opts.cgroup}, modules: ${modules.join(' ') || '(all built in)'}`);
  // KVM only when the CPU offers it: with a /dev/kvm but no vmx/svm flag (a VM without
  // nested virtualisation), accel=kvm:tcg hangs forever with an empty serial log.
  const kvm = /\b(vmx|svm)\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8')) && canOpen('/dev/kvm');
  console.log(`test:vm: initramfs ${(size / 2 ** 20).toFixed(0)} MiB built in ${secs(Date.now() - tb)}s; booting QEMU (${kvm ? 'KVM' : 'TCG: software emulation'}), timeout ${opts.timeout}s`);

  // ---- boot ----
  const log = path.join(work, 'serial.log');
  const tq = Date.now();
  // biome-ignore format: QEMU's options in option-value pairs
  const guest = spawn(
    'qemu-system-x86_64',
    [
      '-machine', `q35,accel=${kvm ? 'kvm' : 'tcg'}`, '-cpu', 'max', '-m', '2048', '-smp', '2',
      '-nic', 'none', '-display', 'none', '-monitor', 'none', '-no-reboot',
      '-serial', `file:${log}`,
      '-kernel', KERNEL, '-initrd', initrd,
      '-append', 'console=ttyS0 panic=-1 rdinit=/init quiet loglevel=3',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  qemu = guest; // for cleanup()
  let qemuErr = '';
  guest.stderr.on('data', (d) => (qemuErr += d));
  const exited = new Promise((resolve) => guest.on('exit', resolve));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    guest.kill('SIGKILL');
  }, opts.timeout * 1000);

  // Follow the serial log: print the guest's own lines as they come.
  let shown = 0;
  /** @type {number | null} */
  let firstLine = null;
  const clean = () => {
    let text = '';
    try {
      text = fs.readFileSync(log, 'utf8');
    } catch {
      /* not yet */
    }
    return text
      .replace(/\r/g, '')
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      .replace(/\x1b[()][A-Za-z0-9]/g, '');
  };
  const follow = (/** @type {boolean} */ final) => {
    const lines = clean().split('\n');
    const done = final ? lines : lines.slice(0, -1); // the last one may be half-written
    const start = done.findIndex((l) => l.startsWith('VM-START'));
    if (start >= 0 && firstLine === null) firstLine = Date.now();
    for (let i = Math.max(shown, start); start >= 0 && i < done.length; i++) console.log(`  ${done[i]}`);
    if (start >= 0) shown = Math.max(shown, done.length);
  };
  const poll = setInterval(() => follow(false), 500);
  const code = await exited;
  clearInterval(poll);
  clearTimeout(timer);
  follow(true);
  const text = clean();
  fs.writeFileSync(path.join(CACHE, 'last-serial.log'), text);
  const tend = Date.now();

  const verdict = text
    .split('\n')
    .filter((l) => l.startsWith('VM-VERDICT'))
    .pop();
  console.log(`VM-TIME host: initramfs ${secs(tq - tb)}s, QEMU start to guest userspace output ${firstLine ? secs(firstLine - tq) + 's' : 'never'}, QEMU total ${secs(tend - tq)}s, whole run ${secs(tend - t0)}s`);
  if (verdict === 'VM-VERDICT PASS' && !timedOut) {
    console.log('test:vm: PASS');
    return 0;
  }
  if (timedOut) console.log(`test:vm: FAIL: no verdict within ${opts.timeout}s; QEMU killed`);
  else if (!verdict) console.log(`test:vm: FAIL: the guest gave no verdict (QEMU exit ${code}${qemuErr ? `: ${qemuErr.trim()}` : ''})`);
  else console.log(`test:vm: FAIL: ${verdict}`);
  if (shown === 0) {
    console.log('--- the last 40 lines of the serial log ---');
    console.log(text.trimEnd().split('\n').slice(-40).join('\n'));
  }
  console.log(`(serial log: ${path.join(CACHE, 'last-serial.log')})`);
  return 1;
}

/** @param {string} file */
function canOpen(file) {
  try {
    fs.closeSync(fs.openSync(file, 'r+'));
    return true;
  } catch {
    return false;
  }
}

/** Copy a host binary and the shared libraries it loads (ldd) into `root`.
 * @param {string} root @param {string} hostPath @param {string} asPath */
function copyWithLibs(root, hostPath, asPath) {
  const put = (/** @type {string} */ from, /** @type {string} */ to) => {
    const dest = path.join(root, to);
    if (fs.existsSync(dest)) return;
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(fs.realpathSync(from), dest);
    fs.chmodSync(dest, fs.statSync(from).mode & 0o7777);
  };
  put(hostPath, asPath);
  const out = spawnSync('ldd', [hostPath], { encoding: 'utf8' }).stdout ?? '';
  for (const lib of parseLdd(out)) put(lib, lib);
}

/** Write `dir` (plus `extra` entries such as device nodes) as an uncompressed newc cpio
 * archive: the kernel unpacks it into its rootfs. Returns its size.
 * @param {string} dir @param {string} file
 * @param {Array<{ name: string, mode: number, rdev?: [major: number, minor: number] }>} extra */
function writeCpio(dir, file, extra) {
  const fd = fs.openSync(file, 'w');
  let ino = 1;
  let size = 0;
  const write = (/** @type {Buffer} */ buf) => {
    fs.writeSync(fd, buf);
    size += buf.length;
  };
  const pad = () => {
    if (size % 4) write(Buffer.alloc(4 - (size % 4)));
  };
  /** @param {string} name @param {number} mode @param {Buffer} [data] @param {[major: number, minor: number]} [rdev] @param {number} [mtime] */
  const entry = (name, mode, data = Buffer.alloc(0), rdev = [0, 0], mtime = 0) => {
    const hex = (/** @type {number} */ n) => n.toString(16).padStart(8, '0');
    const fields = [ino++, mode, 0, 0, mode & 0o40000 ? 2 : 1, mtime, data.length, 0, 0, rdev[0], rdev[1], Buffer.byteLength(name) + 1, 0];
    write(Buffer.from('070701' + fields.map(hex).join('') + name + '\0', 'latin1'));
    pad();
    if (data.length) write(data);
    pad();
  };
  for (const e of extra) entry(e.name, e.mode, undefined, e.rdev);
  (function walk(/** @type {string} */ rel) {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(dir, r);
      const st = fs.lstatSync(p);
      const mtime = Math.floor(st.mtimeMs / 1000);
      if (st.isDirectory()) {
        entry(r, st.mode, undefined, undefined, mtime);
        walk(r);
      } else if (st.isSymbolicLink()) entry(r, st.mode, Buffer.from(fs.readlinkSync(p)), undefined, mtime);
      else if (st.isFile()) entry(r, st.mode, fs.readFileSync(p), undefined, mtime);
    }
  })('');
  entry('TRAILER!!!', 0);
  fs.closeSync(fd);
  return size;
}
