// The filters core/seccomp.ts builds, loaded by the real kernel. Each load happens in a child
// `node` (a filter stays on a task for life, so it never lands on the test runner): the child
// sets no_new_privs, installs the programs it is given with seccomp(SECCOMP_SET_MODE_FILTER)
// on its main thread, makes a few syscalls through koffi and prints what they returned.
// Needs no root; as root the control run shows that unshare() succeeds without the filter.
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { seccompArch, lessonFilter, encodeFilter, checkFilter, runFilter, actionName, SECCOMP_RET, type Filter, type Insn } from '../../src/core/seccomp.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const arch = seccompArch();
// <asm/unistd_64.h> (x86_64) and <asm-generic/unistd.h> (arm64, riscv64, loongarch64).
const NR = arch.name === 'x86_64' ? { seccomp: 317, getpid: 39 } : { seccomp: 277, getpid: 172 };
const EPERM = 1,
  EFAULT = 14,
  EINVAL = 22,
  ENOSYS = 38;
const CLONE_NEWUTS = 0x04000000;

/** What the child runs: `node -e CHILD <spec JSON>`. */
const CHILD = `
const koffi = require('koffi');
const fs = require('node:fs');
const spec = JSON.parse(process.argv[1]);
const lib = koffi.load('libc.so.6');
const prctl = lib.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)');
koffi.struct('sock_fprog', { len: 'uint16_t', filter: 'uint8_t *' });
const syscall = lib.func('long syscall(long nr, ...)');
const unshare = lib.func('int unshare(int flags)');
const getpid = lib.func('int getpid(void)');
const err = (r) => (Number(r) === -1 ? koffi.errno() : 0);
const out = { installed: [] };
out.noNewPrivs = err(prctl(38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0));
for (const hex of spec.programs) {
  const filter = Buffer.from(hex, 'hex');
  out.installed.push(err(syscall(spec.nr.seccomp, 'unsigned int', 1 /* SECCOMP_SET_MODE_FILTER */, 'unsigned int', 0, 'sock_fprog *', { len: filter.length / 8, filter })));
}
const status = fs.readFileSync('/proc/thread-self/status', 'utf8');
out.seccomp = Number(/^Seccomp:\\s+(\\d+)/m.exec(status)?.[1]);
out.filters = Number(/^Seccomp_filters:\\s+(\\d+)/m.exec(status)?.[1]);
out.unshare = err(unshare(spec.cloneNewUts));
out.clone3 = err(syscall(spec.nr.clone3, 'void *', null, 'size_t', 0));
const pid = Number(getpid());
out.getpid = pid === process.pid ? 0 : pid === -1 ? koffi.errno() : -pid;
process.stdout.write(JSON.stringify(out) + '\\n');
if (spec.x32) syscall(0x40000000 | spec.nr.getpid);
`;

interface ChildResult {
  noNewPrivs: number;
  installed: number[];
  seccomp: number;
  filters: number;
  unshare: number;
  clone3: number;
  getpid: number;
}

function inChild(programs: Filter[], opts: { x32?: boolean } = {}): { result: ChildResult | null; signal: NodeJS.Signals | null; stderr: string } {
  const spec = { programs: programs.map((p) => encodeFilter(p).toString('hex')), nr: { ...NR, clone3: arch.nr.clone3 }, cloneNewUts: CLONE_NEWUTS, x32: opts.x32 ?? false };
  // ulimit -c 0: a process seccomp kills may dump core; none is wanted in the tree.
  const r = spawnSync('sh', ['-c', 'ulimit -c 0; exec "$0" -e "$1" "$2"', process.execPath, CHILD, JSON.stringify(spec)], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  return { result: line ? (JSON.parse(line) as ChildResult) : null, signal: r.signal, stderr: r.stderr };
}

const isRoot = process.getuid?.() === 0;

describe('the lesson filter in the real kernel', () => {
  it('is accepted, refuses unshare(CLONE_NEWUTS) with EPERM and clone3 with ENOSYS, lets getpid through', () => {
    const { result, stderr } = inChild([lessonFilter(arch)]);
    expect(result, stderr).not.toBeNull();
    expect(result).toEqual({ noNewPrivs: 0, installed: [0], seccomp: 2, filters: 1, unshare: EPERM, clone3: ENOSYS, getpid: 0 });
  });
  it('control: without a filter, clone3(NULL, 0) is EINVAL, and (as root) unshare succeeds', () => {
    const { result, stderr } = inChild([]);
    expect(result, stderr).not.toBeNull();
    expect(result!.seccomp).toBe(0);
    expect(result!.clone3).toBe(EINVAL);
    if (isRoot) expect(result!.unshare).toBe(0);
  });
  it.runIf(arch.x32)('kills the process for an x32 syscall (SIGSYS)', () => {
    const { result, signal, stderr } = inChild([lessonFilter(arch)], { x32: true });
    expect(result?.installed, stderr).toEqual([0]);
    expect(signal).toBe('SIGSYS');
  });
});

// Hand-assembled programs (opcodes from <linux/bpf_common.h>).
const I = (code: number, k = 0, jt = 0, jf = 0): Insn => ({ code, jt, jf, k });
const LD_ABS = 0x20,
  LD_IMM = 0x00,
  LDX_IMM = 0x01,
  LDX_MEM = 0x61,
  ST = 0x02,
  RET_K = 0x06,
  RET_A = 0x16,
  JEQ_K = 0x15,
  ADD_X = 0x0c,
  LSH_K = 0x64,
  OR_X = 0x4c,
  MOD_K = 0x94;

describe('the kernel and checkFilter refuse the same programs', () => {
  const bad: [string, Filter][] = [
    ['BPF_MOD', [I(LD_IMM, 7), I(MOD_K, 3), I(RET_K, SECCOMP_RET.ALLOW)]],
    ['an unaligned load', [I(LD_ABS, 2), I(RET_K, SECCOMP_RET.ALLOW)]],
    ['no final ret', [I(LD_ABS, 0)]],
    ['a scratch read before any store', [I(LDX_MEM, 0), I(RET_K, SECCOMP_RET.ALLOW)]],
    ['a jump past the end', [I(JEQ_K, 0, 5, 0), I(RET_K, SECCOMP_RET.ALLOW)]],
  ];
  // getpid -> A = ERRNO | ((4 + 3) << 1): EFAULT, built with ALU, X and scratch memory; else ALLOW.
  const computed: Filter = [I(LD_ABS, 0), I(JEQ_K, NR.getpid, 0, 9), I(LD_IMM, SECCOMP_RET.ERRNO), I(ST, 0), I(LDX_IMM, 3), I(LD_IMM, 4), I(ADD_X), I(LSH_K, 1), I(LDX_MEM, 0), I(OR_X), I(RET_A), I(RET_K, SECCOMP_RET.ALLOW)];
  it('each bad program: EINVAL from the kernel, an error from checkFilter; a computed verdict agrees', () => {
    for (const [what, f] of bad) expect(() => checkFilter(f), what).toThrow(/seccomp filter/);
    expect(actionName(runFilter(computed, { nr: NR.getpid, arch: arch.audit }))).toBe('ERRNO(EFAULT)');
    const { result, stderr } = inChild([...bad.map(([, f]) => f), computed]);
    expect(result, stderr).not.toBeNull();
    expect(result!.installed).toEqual([...bad.map(() => EINVAL), 0]);
    expect(result!.filters).toBe(1);
    expect(result!.getpid).toBe(EFAULT);
    expect(result!.unshare).toBe(isRoot ? 0 : EPERM);
  });
});
