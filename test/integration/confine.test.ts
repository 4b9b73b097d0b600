// Confinement against the real kernel: Docker's capabilities, no_new_privs and a seccomp
// filter on a container's PID 1, what `docker exec` copies from it, the filters read back
// through ptrace, and the chroot escape with and without what stops it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildHostRootfs,
  startContainer,
  prepareContainer,
  collect,
  execInContainer,
  readSeccompFilters,
  runEscape,
  DOCKER_DEFAULT_CAPS,
  encodeCaps,
  parseProcSecurity,
  Ledger,
  HintedError,
  ContainerError,
  ROOTFS_MARKER,
  procfs,
  type Confinement,
  type Namespace,
  type Running,
} from '../../src/core/index.js';
import { encodeFilter, lessonFilter, seccompArch, type Insn } from '../../src/core/seccomp.js';

let tmp: string;
let rootfs: string;
let marker: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-confine-'));
  rootfs = path.join(tmp, 'rootfs');
  buildHostRootfs(rootfs);
  // A host file the container must not reach: outside its root.
  marker = path.join(tmp, 'marker');
  fs.writeFileSync(marker, 'on the host\n');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A six-instruction filter, written out by hand: unshare() -> EPERM, all else allowed
 * (another arch than this one's: allowed too). */
const arch = seccompArch();
const refuseUnshare: Insn[] = [
  { code: 0x20, jt: 0, jf: 0, k: 4 }, // ld [4]: arch
  { code: 0x15, jt: 0, jf: 3, k: arch.audit }, // jeq this arch, else allow
  { code: 0x20, jt: 0, jf: 0, k: 0 }, // ld [0]: nr
  { code: 0x15, jt: 0, jf: 1, k: arch.nr.unshare }, // jeq unshare
  { code: 0x06, jt: 0, jf: 0, k: 0x00050001 }, // ret ERRNO(EPERM)
  { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }, // ret ALLOW
];

const DOCKER_MASK = encodeCaps(DOCKER_DEFAULT_CAPS);
const security = (pid: number) => parseProcSecurity(procfs.readStatus(pid));
const dockerLike = (): Confinement => ({ capabilities: [...DOCKER_DEFAULT_CAPS], noNewPrivs: true, seccomp: [lessonFilter()] });
const NS: Namespace[] = ['mnt', 'uts', 'pid', 'net'];

/** Start containers through one ledger, and undo it (killing them) whatever happened. */
async function withContainers(fn: (start: (opts: { namespaces: Namespace[]; confine?: Confinement }) => Promise<Running>) => Promise<void>): Promise<void> {
  const ledger = new Ledger();
  const started: Running[] = [];
  try {
    await fn(async (opts) => {
      const c = await startContainer({ rootfs, argv: ['/bin/sleep', '1000'], ...opts }, ledger);
      started.push(c);
      // Started resolves as PID 1 is about to execve: wait for the command itself, whose
      // privileges the kernel computed at the execve.
      for (let i = 0; i < 500 && procfs.cmdline(c.pid) !== '/bin/sleep 1000'; i++) await new Promise((r) => setTimeout(r, 10));
      expect(procfs.cmdline(c.pid)).toBe('/bin/sleep 1000');
      return c;
    });
  } finally {
    expect(await ledger.cleanup()).toEqual([]);
    for (const c of started) expect(procfs.pidAlive(c.pid)).toBe(false);
  }
}

describe('a confined container', () => {
  it("keeps Docker's 14 capabilities, no_new_privs and one seccomp filter in PID 1", async () => {
    await withContainers(async (start) => {
      const c = await start({ namespaces: NS, confine: dockerLike() });
      const s = security(c.pid);
      expect(s.bounding).toBe(DOCKER_MASK);
      expect(s.effective).toBe(DOCKER_MASK);
      expect(s.permitted).toBe(DOCKER_MASK);
      expect(s.inheritable).toBe(0n);
      expect(s.ambient).toBe(0n);
      expect(s.noNewPrivs).toBe(true);
      expect(s.seccomp).toBe(2);
      expect(s.seccompFilters).toBe(1);
      // The driver itself kept everything (nothing of this ran on its threads).
      expect(security(process.pid).seccomp).toBe(0);
      expect(security(process.pid).noNewPrivs).toBe(false);
    });
  });

  it('gets it also when started warm (applied after the wait, right before the exec)', async () => {
    const p = await prepareContainer({ rootfs, namespaces: ['mnt', 'pid'], confine: dockerLike() });
    try {
      expect(security(p.pid).seccomp).toBe(0); // still waiting, unconfined
      const r = await collect(await p.run(['/bin/grep', '-E', '^(CapEff|NoNewPrivs|Seccomp):', '/proc/self/status']));
      expect(r.code).toBe(0);
      expect(r.stdout.replace(/\s+/g, ' ').trim()).toBe('CapEff: 00000000a80425fb NoNewPrivs: 1 Seccomp: 2');
    } finally {
      await p.close();
    }
    expect(await procfs.waitReaped([p.pid], 3000)).toBe(true);
  });

  it('refuses an unknown capability or a broken filter before starting anything', async () => {
    const err = await startContainer({ rootfs, namespaces: ['mnt'], argv: ['/bin/true'], confine: { capabilities: ['CAP_SYS_ADNIM'] } }).catch((e) => e);
    // A HintedError of the check, not a ContainerError: no helper was started.
    expect(err).toBeInstanceOf(HintedError);
    expect(err).not.toBeInstanceOf(ContainerError);
    expect(err.message).toBe('unknown capability "CAP_SYS_ADNIM"');
    await expect(startContainer({ rootfs, namespaces: ['mnt'], argv: ['/bin/true'], confine: { seccomp: [[]] } })).rejects.toThrow('confine: filter 1 of 1: seccomp filter: it has no instruction');
    await expect(startContainer({ rootfs, namespaces: ['mnt'], argv: ['/bin/true'], confine: { seccomp: [refuseUnshare, [{ code: 6, jt: 0, jf: 0, k: -1 }]] } })).rejects.toThrow(
      /^confine: filter 2 of 2: seccomp filter, instruction 0: not a struct sock_filter/,
    );
    // One the kernel would refuse (EINVAL): it could run off its end.
    await expect(startContainer({ rootfs, namespaces: ['mnt'], argv: ['/bin/true'], confine: { seccomp: [[{ code: 0x20, jt: 0, jf: 0, k: 0 }]] } })).rejects.toThrow(/instruction 0: the last instruction is not a ret/);
  });
});

describe('docker exec: a command entered with confine "copy"', () => {
  const tries = {
    userns: 'unshare --user true',
    mount: 'mount -t tmpfs none /mnt && umount /mnt',
    // A bridge, not a dummy link: the dummy driver is a module that is not always there.
    link: 'ip link add x type bridge && ip link del x',
  };
  const exec = (pid: number, cmd: string, confine?: 'copy') => execInContainer(pid, NS, ['/bin/sh', '-c', cmd], { confine });

  it('gets the container confinement: user namespaces, mounts and links are refused; entered plainly, all three work', async () => {
    await withContainers(async (start) => {
      const c = await start({ namespaces: NS, confine: dockerLike() });
      const copied = await exec(c.pid, 'grep -E "^(CapBnd|CapEff|NoNewPrivs|Seccomp_filters):" /proc/self/status', 'copy');
      expect(copied.stdout.replace(/\s+/g, ' ').trim()).toBe('CapEff: 00000000a80425fb CapBnd: 00000000a80425fb NoNewPrivs: 1 Seccomp_filters: 1');
      for (const [what, cmd] of Object.entries(tries)) {
        const confined = await exec(c.pid, cmd, 'copy');
        expect(confined.code, `${what} confined`).not.toBe(0);
        expect(confined.stderr, what).toMatch(/Operation not permitted|permission denied/i);
        const plain = await exec(c.pid, cmd);
        expect(plain, `${what} as root of the host`).toMatchObject({ code: 0, stderr: '' });
      }
    });
  });

  it("with Docker's capabilities but no filter, unshare --user succeeds: it needs no capability; the filter is what refuses it", async () => {
    await withContainers(async (start) => {
      const c = await start({ namespaces: NS, confine: { capabilities: [...DOCKER_DEFAULT_CAPS] } });
      const caps = await exec(c.pid, 'grep ^CapEff: /proc/self/status', 'copy');
      expect(caps.stdout).toMatch(/00000000a80425fb/);
      expect(await exec(c.pid, tries.userns, 'copy')).toMatchObject({ code: 0, stderr: '' });
      expect((await exec(c.pid, tries.mount, 'copy')).code).not.toBe(0); // no CAP_SYS_ADMIN
      const filtered = await start({ namespaces: NS, confine: { capabilities: [...DOCKER_DEFAULT_CAPS], seccomp: [lessonFilter()] } });
      const r = await exec(filtered.pid, tries.userns, 'copy');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Operation not permitted/);
    });
  });
});

describe('readSeccompFilters', () => {
  it('gives back the installed programs byte for byte, oldest first; none for a process without', async () => {
    const allowAll: Insn[] = [{ code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }];
    await withContainers(async (start) => {
      const one = await start({ namespaces: ['mnt', 'pid'], confine: dockerLike() });
      const [filter, ...rest] = await readSeccompFilters(one.pid);
      expect(rest).toEqual([]);
      expect(encodeFilter(filter!).equals(encodeFilter(lessonFilter()))).toBe(true);
      const two = await start({ namespaces: ['mnt', 'pid'], confine: { noNewPrivs: true, seccomp: [refuseUnshare, allowAll] } });
      expect(security(two.pid).seccompFilters).toBe(2);
      expect(await readSeccompFilters(two.pid)).toEqual([refuseUnshare, allowAll]);
      const none = await start({ namespaces: ['mnt', 'pid'] });
      expect(await readSeccompFilters(none.pid)).toEqual([]);
      // It stopped the process only for the reading: it runs on, untraced.
      expect(procfs.statusField(procfs.readStatus(one.pid), 'TracerPid')).toBe('0');
      expect(procfs.statusField(procfs.readStatus(one.pid), 'State')).toMatch(/^S/);
    });
  });

  it('names a process that is gone', async () => {
    const c = await startContainer({ rootfs, namespaces: ['mnt', 'pid'], argv: ['/bin/true'] });
    const pid = c.pid;
    await c.exited;
    await procfs.waitReaped([pid], 3000);
    await expect(readSeccompFilters(pid)).rejects.toThrow(/is gone/);
  });
});

describe('the chroot escape', () => {
  const stepCalls = (steps: { call: string; ok: boolean }[]) => steps.map((s) => `${s.call.replace(/x \d+$/, 'x N')} ${s.ok ? 'ok' : 'failed'}`);

  it('leaves a plain chroot as root: the host root, the marker read', async () => {
    await withContainers(async (start) => {
      const c = await start({ namespaces: [] }); // stage A chroots: no namespace of its own
      expect(fs.readlinkSync(`/proc/${c.pid}/ns/mnt`)).toBe(fs.readlinkSync('/proc/self/ns/mnt'));
      const r = await runEscape(c.pid, marker);
      expect(stepCalls(r.steps)).toEqual(['chroot("tmp") ok', 'chdir("..") x N ok', 'chroot(".") ok']);
      // rootfs is <tmp>/rootfs: its depth below "/" is how many steps up.
      expect(r.steps[1]!.call).toBe(`chdir("..") x ${rootfs.split('/').length - 1}`);
      expect(r.reachedHostRoot).toBe(true);
      expect(r.marker).toBe('on the host\n');
      expect(r.rootEntries).toEqual(fs.readdirSync('/').sort().slice(0, r.rootEntries.length));
    });
  });

  it('stays inside a container that pivot_root-ed in a mount namespace of its own', async () => {
    await withContainers(async (start) => {
      const c = await start({ namespaces: ['mnt', 'pid'] });
      const r = await runEscape(c.pid, marker);
      expect(stepCalls(r.steps)).toEqual(['chroot("tmp") ok', 'chdir("..") x N ok', 'chroot(".") ok']);
      expect(r.steps[1]!.call).toBe('chdir("..") x 0'); // the container's "/" is the top
      expect(r.reachedHostRoot).toBe(false);
      expect(r.marker).toBeNull();
      expect(r.rootEntries).toContain(ROOTFS_MARKER); // the container's own root
    });
  });

  it("leaves a plain chroot also with Docker's confinement: its capabilities keep CAP_SYS_CHROOT, its filter allows chroot", async () => {
    await withContainers(async (start) => {
      const c = await start({ namespaces: [], confine: dockerLike() });
      const r = await runEscape(c.pid, marker);
      expect(r.reachedHostRoot).toBe(true);
      expect(r.marker).toBe('on the host\n');
    });
  });

  it("fails at the first chroot without CAP_SYS_CHROOT (Docker's set less that one); as host root it succeeds", async () => {
    await withContainers(async (start) => {
      const c = await start({ namespaces: [], confine: { capabilities: DOCKER_DEFAULT_CAPS.filter((n) => n !== 'CAP_SYS_CHROOT') } });
      const r = await runEscape(c.pid, marker);
      expect(r.steps).toEqual([{ call: 'chroot("tmp")', ok: false, error: 'EPERM' }]);
      expect(r.reachedHostRoot).toBe(false);
      expect(r.marker).toBeNull();
      const root = await runEscape(c.pid, marker, { asHostRoot: true });
      expect(root.reachedHostRoot).toBe(true);
      expect(root.marker).toBe('on the host\n');
    });
  });
});
