// The lesson's seccomp filter and the classic-BPF interpreter that answers for it, checked
// against the kernel's headers (where installed), hand-written programs, and a program
// libseccomp compiles from Docker's default profile (where libseccomp is installed).
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import koffi from 'koffi';
import {
  REFUSED,
  SECCOMP_RET,
  CLONE_NEW_MASK,
  seccompArch,
  lessonFilter,
  encodeFilter,
  decodeFilter,
  disassemble,
  runFilter,
  verdict,
  actionName,
  checkFilter,
  syscallName,
  type Filter,
  type Insn,
  type SeccompArch,
  type Refused,
} from '../../src/core/seccomp.js';
import { HintedError } from '../../src/core/errors.js';

// ---- reading the installed headers ----

/** `#define NAME value` lines of a header, value as written (null when the header is absent). */
function defines(file: string): Map<string, string> | null {
  if (!fs.existsSync(file)) return null;
  const out = new Map<string, string>();
  for (const m of fs.readFileSync(file, 'utf8').matchAll(/^#define[ \t]+(\w+)[ \t]+(.+?)[ \t]*(?:\/\*.*)?$/gm)) out.set(m[1]!, m[2]!.trim());
  return out;
}

/** Evaluates a define made of numbers, other defines and `|` / `+`, e.g. AUDIT_ARCH_X86_64. */
function evalDefine(name: string, tables: Map<string, string>[]): number {
  const raw = tables.map((t) => t.get(name)).find((v) => v !== undefined);
  if (raw === undefined) throw new Error(`no #define ${name}`);
  const expr = raw.replace(/[()\\]/g, ' ').replace(/\bU\b|(?<=[0-9a-fA-F])U\b/g, '');
  let value = 0;
  for (const term of expr.split('|')) {
    let sum = 0;
    for (const part of term.split('+').map((p) => p.trim())) sum += /^(0x[0-9a-f]+|\d+)$/i.test(part) ? Number(part) : evalDefine(part, tables);
    value = (value | sum) >>> 0;
  }
  return value >>> 0;
}

const UNISTD_X86_64 = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
const UNISTD_GENERIC = '/usr/include/asm-generic/unistd.h';

// Numbers the tests use beyond the filter's own, per arch (cross-checked below).
const OTHER_NR: Record<string, Record<'read' | 'write' | 'execve' | 'chroot' | 'getpid', number>> = {
  x86_64: { read: 0, write: 1, execve: 59, chroot: 161, getpid: 39 },
  generic: { read: 63, write: 64, execve: 221, chroot: 51, getpid: 172 },
};
const ARCH_NAMES = ['x64', 'arm64', 'riscv64', 'loong64'];
const otherNr = (a: SeccompArch) => OTHER_NR[a.name === 'x86_64' ? 'x86_64' : 'generic']!;

describe('syscall numbers and constants match the installed headers', () => {
  const x86 = defines(UNISTD_X86_64);
  const generic = defines(UNISTD_GENERIC);
  it.skipIf(!x86)(`x86_64 numbers match ${UNISTD_X86_64} (skipped where the header is absent)`, () => {
    const a = seccompArch('x64');
    for (const [name, nr] of Object.entries({ ...a.nr, ...OTHER_NR.x86_64 })) expect([name, Number(x86!.get(`__NR_${name}`))]).toEqual([name, nr]);
  });
  it.skipIf(!generic)(`arm64, riscv64 and loongarch64 numbers match the generic table ${UNISTD_GENERIC} (skipped where the header is absent)`, () => {
    for (const node of ['arm64', 'riscv64', 'loong64']) {
      const a = seccompArch(node);
      for (const [name, nr] of Object.entries({ ...a.nr, ...OTHER_NR.generic })) expect([node, name, Number(generic!.get(`__NR_${name}`))]).toEqual([node, name, nr]);
    }
  });
  const audit = defines('/usr/include/linux/audit.h');
  const elf = defines('/usr/include/linux/elf-em.h');
  it.skipIf(!audit || !elf)('AUDIT_ARCH_* values match <linux/audit.h> (skipped where the header is absent)', () => {
    const want: Record<string, string> = { x64: 'AUDIT_ARCH_X86_64', arm64: 'AUDIT_ARCH_AARCH64', riscv64: 'AUDIT_ARCH_RISCV64', loong64: 'AUDIT_ARCH_LOONGARCH64' };
    for (const [node, macro] of Object.entries(want)) expect([node, hex(evalDefine(macro, [audit!, elf!]))]).toEqual([node, hex(seccompArch(node).audit)]);
  });
  const seccompH = defines('/usr/include/linux/seccomp.h');
  it.skipIf(!seccompH)('SECCOMP_RET_* match <linux/seccomp.h> (skipped where the header is absent)', () => {
    for (const [name, value] of Object.entries(SECCOMP_RET)) expect([name, evalDefine(`SECCOMP_RET_${name}`, [seccompH!])]).toEqual([name, value]);
  });
  const sched = defines('/usr/include/linux/sched.h');
  it.skipIf(!sched)('the clone mask is the CLONE_NEW* flags clone() takes, per <linux/sched.h> (skipped where the header is absent)', () => {
    const flags = ['NS', 'CGROUP', 'UTS', 'IPC', 'USER', 'PID', 'NET'].map((n) => evalDefine(`CLONE_NEW${n}`, [sched!]));
    expect(hex(flags.reduce((a, b) => (a | b) >>> 0, 0))).toBe(hex(CLONE_NEW_MASK));
    expect(CLONE_NEW_MASK).toBe(2114060288); // Docker's "value" in default.json
  });
});

const hex = (n: number) => '0x' + (n >>> 0).toString(16);
const name = (f: Filter, arch: SeccompArch, nr: number, args: bigint[] = []) => actionName(runFilter(f, { nr, arch: arch.audit, args }));

describe('the lesson filter', () => {
  const CLONE_NEW: Record<string, bigint> = { NS: 0x20000n, CGROUP: 0x02000000n, UTS: 0x04000000n, IPC: 0x08000000n, USER: 0x10000000n, PID: 0x20000000n, NET: 0x40000000n };
  // What glibc's fork() passes to clone: CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD.
  const FORK_FLAGS = 0x01200011n;
  for (const node of ARCH_NAMES) {
    describe(node, () => {
      const arch = seccompArch(node);
      const f = lessonFilter(arch);
      it('refuses each REFUSED syscall with EPERM', () => {
        for (const r of REFUSED) expect([r, name(f, arch, arch.nr[r])]).toEqual([r, 'ERRNO(EPERM)']);
      });
      it('refuses clone with any CLONE_NEW* flag, alone or with fork flags, and allows a plain clone', () => {
        for (const [flag, bit] of Object.entries(CLONE_NEW)) {
          expect([flag, name(f, arch, arch.nr.clone, [bit])]).toEqual([flag, 'ERRNO(EPERM)']);
          expect([flag, name(f, arch, arch.nr.clone, [bit | FORK_FLAGS])]).toEqual([flag, 'ERRNO(EPERM)']);
        }
        expect(name(f, arch, arch.nr.clone, [FORK_FLAGS])).toBe('ALLOW');
        // Thread creation: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID.
        expect(name(f, arch, arch.nr.clone, [0x3d0f00n])).toBe('ALLOW');
        // Bits above 32 are not CLONE_NEW* flags: the filter reads the low half only.
        expect(name(f, arch, arch.nr.clone, [0x7e020000n << 32n])).toBe('ALLOW');
      });
      it('answers clone3 with ENOSYS, so that libc falls back to clone', () => {
        expect(name(f, arch, arch.nr.clone3)).toBe('ERRNO(ENOSYS)');
      });
      it('allows read, write, execve, chroot, getpid', () => {
        for (const [call, nr] of Object.entries(otherNr(arch))) expect([call, name(f, arch, nr)]).toEqual([call, 'ALLOW']);
      });
      it('kills the process for another arch', () => {
        const others = [0x40000003 /* i386 */, ...ARCH_NAMES.map((n) => seccompArch(n).audit).filter((a) => a !== arch.audit)];
        for (const other of others) expect(actionName(runFilter(f, { nr: otherNr(arch).read, arch: other }))).toBe('KILL_PROCESS');
      });
      it.runIf(arch.x32)('kills the process for an x32 number (0x40000000 | nr)', () => {
        expect(name(f, arch, 0x40000000 | 0)).toBe('KILL_PROCESS');
        expect(name(f, arch, 0x40000000 | 272)).toBe('KILL_PROCESS');
      });
      it.runIf(!arch.x32)('has no x32 ABI: bit 0x40000000 is just an unknown number', () => {
        expect(name(f, arch, 0x40000000 | arch.nr.unshare)).toBe('ALLOW');
      });
      it('passes the kernel checks and round-trips through its encoding', () => {
        expect(() => checkFilter(f)).not.toThrow();
        const bytes = encodeFilter(f);
        expect(bytes.length).toBe(f.length * 8);
        expect(decodeFilter(bytes)).toEqual(f);
      });
    });
  }
  it('takes a subset of REFUSED, and refuses an unknown name clearly', () => {
    const arch = seccompArch('x64');
    const f = lessonFilter(arch, ['mount']);
    expect(name(f, arch, arch.nr.mount)).toBe('ERRNO(EPERM)');
    expect(name(f, arch, arch.nr.unshare)).toBe('ALLOW');
    expect(name(f, arch, arch.nr.clone, [0x10000000n])).toBe('ERRNO(EPERM)');
    expect(() => lessonFilter(arch, ['reboot' as Refused])).toThrow(/"reboot" is not one of the syscalls/);
  });
  it('names an unknown arch with a hint', () => {
    const e = (() => {
      try {
        seccompArch('s390x');
      } catch (err) {
        return err as HintedError;
      }
    })();
    expect(e).toBeInstanceOf(HintedError);
    expect(e!.message).toBe('seccomp: no syscall table for the architecture "s390x"');
    expect(e!.hint).toMatch(/x86_64 \(x64\), aarch64 \(arm64\)/);
    expect(seccompArch('aarch64').node).toBe('arm64');
    expect(seccompArch().node).toBe(os.arch());
  });
  it('syscallName names the lesson syscalls', () => {
    const a = seccompArch('x64');
    expect(syscallName(a, 272)).toBe('unshare');
    expect(syscallName(a, 435)).toBe('clone3');
    expect(syscallName(seccompArch('arm64'), 97)).toBe('unshare');
    expect(syscallName(a, 0)).toBeUndefined();
  });
});

describe('encoding', () => {
  it('is struct sock_filter: u16 code, u8 jt, u8 jf, u32 k, little-endian', () => {
    const b = encodeFilter([{ code: 0x15, jt: 1, jf: 2, k: 0xc000003e }]);
    expect(b.toString('hex')).toBe('150001023e0000c0');
  });
  it('rejects a length that is not a multiple of 8, and fields out of range', () => {
    expect(() => decodeFilter(Buffer.alloc(12))).toThrow(/12 bytes is not a multiple of 8/);
    expect(() => encodeFilter([{ code: 0x10000, jt: 0, jf: 0, k: 0 }])).toThrow(/instruction 0: not a struct sock_filter/);
    expect(() => encodeFilter([{ code: 6, jt: 256, jf: 0, k: 0 }])).toThrow(/not a struct sock_filter/);
    expect(() => encodeFilter([{ code: 6, jt: 0, jf: 0, k: -1 }])).toThrow(/not a struct sock_filter/);
  });
});

describe('disassemble', () => {
  it('names each line of the lesson filter', () => {
    const arch = seccompArch('x64');
    const f = lessonFilter(arch);
    const lines = disassemble(f, arch);
    expect(lines).toHaveLength(f.length);
    for (const [i, l] of lines.entries()) expect(l).toMatch(new RegExp(`^ *${i}: \\S.* ; \\S`));
    expect(lines[0]).toBe('  0: ld  [4]                  ; A = seccomp_data.arch');
    expect(lines[1]).toMatch(/^ {2}1: jeq #0xc000003e, 0, \d+ +; x86_64\? else -> \d+ KILL_PROCESS$/);
    expect(lines.join('\n')).toMatch(/jeq #272, \d+, 0 +; unshare \(272\)\? -> \d+ ERRNO\(EPERM\)/);
    expect(lines.join('\n')).toMatch(/nr >= 0x40000000 \(x32 ABI\)\? -> \d+ KILL_PROCESS/);
    expect(lines.join('\n')).toMatch(/jset #0x7e020000, \d+, 0 +; any CLONE_NEW\* flag\? -> \d+ ERRNO\(EPERM\)/);
    expect(lines.join('\n')).toMatch(/ret #0x50026 +; ERRNO\(ENOSYS\)/);
  });
  it('names the generic instructions too, and marks one seccomp refuses', () => {
    const lines = disassemble([
      { code: 0x00, jt: 0, jf: 0, k: 5 }, // ld #5
      { code: 0x02, jt: 0, jf: 0, k: 3 }, // st M[3]
      { code: 0x07, jt: 0, jf: 0, k: 0 }, // tax
      { code: 0x0c, jt: 0, jf: 0, k: 0 }, // add x
      { code: 0x94, jt: 0, jf: 0, k: 7 }, // mod #7
      { code: 0x16, jt: 0, jf: 0, k: 0 }, // ret a
    ]);
    expect(lines).toEqual([
      '  0: ld  #0x5                 ; A = 0x5',
      '  1: st  M[3]                 ; M[3] = A',
      '  2: tax                      ; X = A',
      '  3: add x                    ; A += X',
      '  4: .insn 0x94, 0, 0, 0x7    ; not an instruction seccomp accepts',
      '  5: ret a                    ; return A',
    ]);
  });
});

// Hand-assembled programs for the interpreter.
const I = (code: number, k = 0, jt = 0, jf = 0): Insn => ({ code, jt, jf, k });
const LD_ABS = 0x20,
  LD_IMM = 0x00,
  LDX_IMM = 0x01,
  LD_MEM = 0x60,
  LDX_MEM = 0x61,
  LD_LEN = 0x80,
  ST = 0x02,
  STX = 0x03,
  TAX = 0x07,
  TXA = 0x87,
  RET_K = 0x06,
  RET_A = 0x16,
  JA = 0x05,
  JEQ_K = 0x15,
  JEQ_X = 0x1d,
  JGT_K = 0x25,
  JGE_X = 0x3d,
  JSET_K = 0x45,
  JSET_X = 0x4d;
const ALU = { ADD: 0x04, SUB: 0x14, MUL: 0x24, DIV: 0x34, OR: 0x44, AND: 0x54, LSH: 0x64, RSH: 0x74, NEG: 0x84, MOD: 0x94, XOR: 0xa4 };
const X = 0x08;
const run = (f: Filter, nr = 0, args: bigint[] = [], ip = 0n) => runFilter(f, { nr, arch: 0xc000003e, args, ip });

describe('runFilter on hand-written programs', () => {
  it('returns A: each ALU operation, with K and with X', () => {
    const calc = (op: number, a: number, b: number, viaX: boolean) => run(viaX ? [I(LD_IMM, a), I(LDX_IMM, b), I(op | X), I(RET_A)] : [I(LD_IMM, a), I(op, b), I(RET_A)]);
    for (const viaX of [false, true]) {
      expect(calc(ALU.ADD, 0xffffffff, 2, viaX)).toBe(1); // wraps at 32 bits
      expect(calc(ALU.SUB, 1, 2, viaX)).toBe(0xffffffff);
      expect(calc(ALU.MUL, 0x10000, 0x10001, viaX)).toBe(0x10000); // low 32 bits of 0x100010000
      expect(calc(ALU.DIV, 7, 2, viaX)).toBe(3);
      expect(calc(ALU.OR, 0xf0, 0x0f, viaX)).toBe(0xff);
      expect(calc(ALU.AND, 0xf0, 0x3c, viaX)).toBe(0x30);
      expect(calc(ALU.XOR, 0xff, 0x0f, viaX)).toBe(0xf0);
      expect(calc(ALU.LSH, 0x80000001, 1, viaX)).toBe(2);
      expect(calc(ALU.RSH, 0x80000000, 31, viaX)).toBe(1);
    }
    expect(run([I(LD_IMM, 1), I(ALU.NEG), I(RET_A)])).toBe(0xffffffff);
    // A division by X == 0 ends the program with 0: KILL_THREAD.
    expect(run([I(LD_IMM, 1), I(LDX_IMM, 0), I(ALU.DIV | X), I(RET_K, SECCOMP_RET.ALLOW)])).toBe(SECCOMP_RET.KILL_THREAD);
  });
  it('reads seccomp_data: nr, arch, both halves of args and ip, and its length', () => {
    expect(run([I(LD_ABS, 0), I(RET_A)], 435)).toBe(435);
    expect(run([I(LD_ABS, 4), I(RET_A)])).toBe(0xc000003e);
    expect(run([I(LD_ABS, 16 + 8 * 5), I(RET_A)], 0, [0n, 0n, 0n, 0n, 0n, 0x1122334455667788n])).toBe(0x55667788);
    expect(run([I(LD_ABS, 20 + 8 * 5), I(RET_A)], 0, [0n, 0n, 0n, 0n, 0n, 0x1122334455667788n])).toBe(0x11223344);
    expect(run([I(LD_ABS, 12), I(RET_A)], 0, [], 0xdeadbeef00000000n)).toBe(0xdeadbeef);
    expect(run([I(LD_ABS, 0), I(RET_A)], -1)).toBe(0xffffffff); // nr is an int
    expect(run([I(LD_LEN), I(RET_A)])).toBe(64);
  });
  it('uses the X register and scratch memory', () => {
    // M[0] = nr; M[1] = args[0]; A = M[0] + M[1]; X = A; A = X
    const f = [I(LD_ABS, 0), I(ST, 0), I(LDX_IMM, 5), I(LD_ABS, 16), I(STX, 1), I(ST, 2), I(LD_MEM, 0), I(LDX_MEM, 2), I(ALU.ADD | X), I(TAX), I(LD_IMM, 0), I(TXA), I(RET_A)];
    expect(run(f, 10, [32n])).toBe(42);
    expect(run([I(LD_IMM, 9), I(ST, 15), I(LDX_MEM, 15), I(TXA), I(RET_A)])).toBe(9);
  });
  it('jumps: ja, jeq/jgt/jge/jset with K and X', () => {
    const ALLOW = SECCOMP_RET.ALLOW;
    const DENY = SECCOMP_RET.ERRNO | 1;
    // if (args[0] & 4) deny else allow
    const jset = [I(LD_ABS, 16), I(JSET_K, 4, 0, 1), I(RET_K, DENY), I(RET_K, ALLOW)];
    expect(run(jset, 0, [6n])).toBe(DENY);
    expect(run(jset, 0, [3n])).toBe(ALLOW);
    // if (args[0] & args[1]) deny else allow, via X
    const jsetX = [I(LD_ABS, 24), I(TAX), I(LD_ABS, 16), I(JSET_X, 0, 0, 1), I(RET_K, DENY), I(RET_K, ALLOW)];
    expect(run(jsetX, 0, [1n, 3n])).toBe(DENY);
    expect(run(jsetX, 0, [4n, 3n])).toBe(ALLOW);
    // nr > 100 deny; unsigned: -1 is 0xffffffff, greater
    const jgt = [I(LD_ABS, 0), I(JGT_K, 100, 0, 1), I(RET_K, DENY), I(RET_K, ALLOW)];
    expect([run(jgt, 101), run(jgt, 100), run(jgt, -1)]).toEqual([DENY, ALLOW, DENY]);
    // nr >= args[0] via X
    const jge = [I(LD_ABS, 16), I(TAX), I(LD_ABS, 0), I(JGE_X, 0, 0, 1), I(RET_K, DENY), I(RET_K, ALLOW)];
    expect([run(jge, 5, [5n]), run(jge, 4, [5n])]).toEqual([DENY, ALLOW]);
    const jeqX = [I(LDX_IMM, 7), I(LD_ABS, 0), I(JEQ_X, 0, 1, 0), I(RET_K, ALLOW), I(RET_K, DENY)];
    expect([run(jeqX, 7), run(jeqX, 8)]).toEqual([DENY, ALLOW]);
    // ja skips over a ret
    expect(run([I(JA, 1), I(RET_K, DENY), I(JEQ_K, 0, 0, 0), I(RET_K, ALLOW)])).toBe(ALLOW);
  });
});

describe('verdict across several filters', () => {
  const ret = (k: number): Filter => [I(RET_K, k)];
  const d = { nr: 0, arch: 0xc000003e };
  it('takes the action of highest precedence, whatever the order', () => {
    const order = ['KILL_PROCESS', 'KILL_THREAD', 'TRAP', 'ERRNO', 'USER_NOTIF', 'TRACE', 'LOG', 'ALLOW'] as const;
    for (let i = 0; i < order.length; i++) {
      for (let j = i; j < order.length; j++) {
        const hi = SECCOMP_RET[order[i]!];
        const lo = SECCOMP_RET[order[j]!];
        expect(verdict([ret(hi), ret(lo)], d)).toBe(hi);
        expect(verdict([ret(lo), ret(hi)], d)).toBe(hi);
      }
    }
  });
  it('of two equal actions keeps the newer filter data; none is ALLOW', () => {
    expect(verdict([ret(SECCOMP_RET.ERRNO | 1), ret(SECCOMP_RET.ERRNO | 38)], d)).toBe(SECCOMP_RET.ERRNO | 38);
    expect(verdict([], d)).toBe(SECCOMP_RET.ALLOW);
  });
  it('the lesson filter under an allow-all filter still refuses unshare', () => {
    const arch = seccompArch('x64');
    expect(actionName(verdict([ret(SECCOMP_RET.ALLOW), lessonFilter(arch)], { nr: arch.nr.unshare, arch: arch.audit }))).toBe('ERRNO(EPERM)');
    expect(actionName(verdict([lessonFilter(arch), ret(SECCOMP_RET.LOG)], { nr: 0, arch: arch.audit }))).toBe('LOG');
  });
});

describe('actionName', () => {
  it('names actions and their data', () => {
    expect(actionName(SECCOMP_RET.ERRNO | 1)).toBe('ERRNO(EPERM)');
    expect(actionName(SECCOMP_RET.ERRNO | 38)).toBe('ERRNO(ENOSYS)');
    expect(actionName(SECCOMP_RET.ERRNO | 4000)).toBe('ERRNO(4000)');
    expect(actionName(SECCOMP_RET.TRAP)).toBe('TRAP');
    expect(actionName(SECCOMP_RET.TRACE | 7)).toBe('TRACE(7)');
    expect(actionName(SECCOMP_RET.KILL_THREAD)).toBe('KILL_THREAD');
    expect(actionName(SECCOMP_RET.USER_NOTIF)).toBe('USER_NOTIF');
    expect(actionName(SECCOMP_RET.LOG)).toBe('LOG');
    expect(actionName(0x00010000)).toBe('KILL_PROCESS (unknown action 0x10000)');
  });
});

describe('bad programs are refused as the kernel would', () => {
  const cases: [string, Filter, RegExp][] = [
    ['empty', [], /has no instruction/],
    ['too long', Array.from({ length: 4097 }, () => I(RET_K, 0)), /4097 instructions, more than BPF_MAXINSNS/],
    ['no final ret', [I(LD_ABS, 0)], /instruction 0: the last instruction is not a ret/],
    ['modulo (socket filters only)', [I(LD_IMM, 1), I(ALU.MOD, 3), I(RET_A)], /instruction 1: opcode 0x94 .*BPF_MOD/],
    ['ldh (a packet load)', [I(0x28, 0), I(RET_A)], /opcode 0x28 is not one a seccomp filter may use/],
    ['unaligned load', [I(LD_ABS, 2), I(RET_A)], /ld \[2\] is outside struct seccomp_data/],
    ['load past the struct', [I(LD_ABS, 64), I(RET_A)], /ld \[64\]/],
    ['division by constant 0', [I(ALU.DIV, 0), I(RET_A)], /division by the constant 0/],
    ['shift by 32', [I(ALU.LSH, 32), I(RET_A)], /shift by 32/],
    ['scratch cell 16', [I(ST, 16), I(RET_A)], /M\[16\] does not exist/],
    ['scratch read before a store', [I(LD_MEM, 0), I(RET_A)], /instruction 0: reads M\[0\]/],
    ['scratch read of a cell other than the one stored', [I(ST, 1), I(LDX_MEM, 0), I(RET_A)], /instruction 1: reads M\[0\]/],
    ['scratch stored on one path only', [I(LD_ABS, 0), I(JEQ_K, 1, 0, 1), I(ST, 0), I(LD_MEM, 0), I(RET_A)], /instruction 3: reads M\[0\] where a path reaches it without a store/],
    ['jump out of range', [I(JEQ_K, 0, 5, 0), I(RET_A)], /a branch \(jt 5, jf 0\) jumps past the last instruction/],
    ['ja out of range', [I(JA, 1), I(RET_A)], /ja 1 jumps past/],
    ['not an instruction', [{ code: 6, jt: 0, jf: 0 } as Insn], /not a struct sock_filter/],
  ];
  for (const [what, f, message] of cases) {
    it(what, () => {
      let err: unknown;
      try {
        runFilter(f, { nr: 0, arch: 0 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(HintedError);
      expect((err as HintedError).message).toMatch(message);
      expect((err as HintedError).hint).toMatch(/EINVAL/);
    });
  }
  it('a scratch cell stored on every path may be read', () => {
    const f = [I(LD_ABS, 0), I(JEQ_K, 1, 0, 2), I(ST, 0), I(JA, 1), I(ST, 0), I(LD_MEM, 0), I(RET_A)];
    expect(run(f, 1)).toBe(1);
    expect(run(f, 2)).toBe(2);
  });
});

// ---- a program libseccomp compiles: Docker's default profile, the part that decides the
// lesson's syscalls. seccomp_export_bpf() writes the BPF to a file without loading it.
const LIBSECCOMP = ['/usr/lib/x86_64-linux-gnu/libseccomp.so.2', '/usr/lib/aarch64-linux-gnu/libseccomp.so.2', '/usr/lib64/libseccomp.so.2', '/usr/lib/libseccomp.so.2'].find((p) => fs.existsSync(p));

describe.skipIf(!LIBSECCOMP || !['x64', 'arm64'].includes(os.arch()))('a filter libseccomp builds from Docker-like rules (skipped where libseccomp.so.2 is absent)', () => {
  // <seccomp.h> (libseccomp 2.5): SCMP_ACT_ERRNO(x) = 0x00050000 | x, SCMP_ACT_ALLOW = 0x7fff0000,
  // SCMP_CMP_MASKED_EQ = 7 (datum_a the mask, datum_b the value), arch tokens are AUDIT_ARCH_*.
  const SCMP_CMP_MASKED_EQ = 7;
  const SCMP_ARCH_X86 = 0x40000003;
  const SCMP_ARCH_X32 = 0x4000003e;
  /** rules: [syscall name, action, mask tested equal to 0 on args[0]?]; x86_64 also gets Docker's
   * sub-architectures x86 and x32. */
  let bound: ReturnType<typeof bind> | undefined;
  function bind() {
    const lib = koffi.load(LIBSECCOMP!);
    koffi.struct('scmp_arg_cmp', { arg: 'unsigned int', op: 'int', datum_a: 'uint64_t', datum_b: 'uint64_t' });
    return {
      init: lib.func('void *seccomp_init(uint32_t def_action)'),
      archAdd: lib.func('int seccomp_arch_add(void *ctx, uint32_t arch_token)'),
      resolve: lib.func('int seccomp_syscall_resolve_name(const char *name)'),
      resolveNum: lib.func('void *seccomp_syscall_resolve_num_arch(uint32_t arch_token, int num)'),
      ruleAdd: lib.func('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int arg_cnt, const scmp_arg_cmp *arg_array)'),
      exportBpf: lib.func('int seccomp_export_bpf(void *ctx, int fd)'),
      release: lib.func('void seccomp_release(void *ctx)'),
      free: koffi.load('libc.so.6').func('void free(void *ptr)'),
    };
  }
  const libseccomp = () => (bound ??= bind());
  /** rules: [syscall name, action, mask tested equal to 0 on args[0]?]; x86_64 also gets Docker's
   * sub-architectures x86 and x32. */
  function compile(rules: [string, number, number?][]): Filter {
    const { init, archAdd, resolve, ruleAdd, exportBpf, release } = libseccomp();
    // Docker's default action (default.json: SCMP_ACT_ERRNO, defaultErrnoRet 1).
    const ctx = init(SECCOMP_RET.ERRNO | 1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seccomp-bpf-'));
    try {
      if (os.arch() === 'x64') {
        expect(archAdd(ctx, SCMP_ARCH_X86)).toBe(0);
        expect(archAdd(ctx, SCMP_ARCH_X32)).toBe(0);
      }
      for (const [call, action, mask] of rules) {
        const args = mask === undefined ? null : [{ arg: 0, op: SCMP_CMP_MASKED_EQ, datum_a: BigInt(mask), datum_b: 0n }];
        expect([call, ruleAdd(ctx, action, resolve(call), args ? 1 : 0, args)]).toEqual([call, 0]);
      }
      const file = path.join(dir, 'filter.bpf');
      const fd = fs.openSync(file, 'w');
      try {
        expect(exportBpf(ctx, fd)).toBe(0);
      } finally {
        fs.closeSync(fd);
      }
      return decodeFilter(fs.readFileSync(file));
    } finally {
      release(ctx);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  // A few of the profile's unconditional allows, then its clone and clone3 rules.
  const CLONE_RULES: [string, number, number?][] = [
    ['clone', SECCOMP_RET.ALLOW, CLONE_NEW_MASK],
    ['clone3', SECCOMP_RET.ERRNO | 38],
  ];
  const docker = compile([...['read', 'write', 'execve', 'chroot', 'getpid', 'openat', 'close', 'exit_group'].map((c): [string, number] => [c, SECCOMP_RET.ALLOW]), ...CLONE_RULES]);
  const arch = seccompArch();
  const lesson = lessonFilter(arch);
  it('passes the same checks the kernel makes', () => {
    expect(docker.length).toBeGreaterThan(10);
    expect(() => checkFilter(docker)).not.toThrow();
    expect(disassemble(docker, arch)).toHaveLength(docker.length);
  });
  it('gives the lesson filter answer for every syscall the lesson is about', () => {
    const cases: [string, number, bigint[]][] = [
      ...REFUSED.map((r): [string, number, bigint[]] => [r, arch.nr[r], []]),
      ['clone NEWUSER', arch.nr.clone, [0x10000000n | 0x11n]],
      ['clone NEWNS', arch.nr.clone, [0x20000n]],
      ['clone (fork)', arch.nr.clone, [0x01200011n]],
      ['clone3', arch.nr.clone3, []],
      ...Object.entries(otherNr(arch)).map(([call, nr]): [string, number, bigint[]] => [call, nr, []]),
    ];
    for (const [what, nr, args] of cases) {
      const data = { nr, arch: arch.audit, args };
      expect([what, actionName(runFilter(docker, data))]).toEqual([what, actionName(runFilter(lesson, data))]);
    }
  });
  it('runs a large libseccomp program (every other named syscall allowed) and agrees with the lesson filter on each', () => {
    const { resolveNum, free } = libseccomp();
    const named = new Map<number, string>();
    for (let nr = 0; nr < 512; nr++) {
      const p = resolveNum(0 /* SCMP_ARCH_NATIVE */, nr);
      if (!p) continue;
      named.set(nr, koffi.decode(p, 'char', -1) as string);
      free(p);
    }
    const lessonCalls = new Set<string>(Object.keys(arch.nr));
    const big = compile([...[...named.values()].filter((n) => !lessonCalls.has(n)).map((n): [string, number] => [n, SECCOMP_RET.ALLOW]), ...CLONE_RULES]);
    expect(named.size).toBeGreaterThan(250);
    expect(big.length).toBeGreaterThan(named.size);
    // Its far targets are reached through ja: the interpreter follows them.
    expect(big.some((insn) => insn.code === 0x05)).toBe(true);
    for (const nr of named.keys()) {
      for (const args of [[], [0x01200011n], [0x20000n]]) {
        const data = { nr, arch: arch.audit, args };
        expect([named.get(nr), args, actionName(runFilter(big, data))]).toEqual([named.get(nr), args, actionName(runFilter(lesson, data))]);
      }
    }
  });
  it.runIf(os.arch() === 'x64')('differs where Docker admits x32 and i386 calls, which the lesson filter kills', () => {
    expect(actionName(runFilter(docker, { nr: 0x40000000 | 0, arch: arch.audit }))).toBe('ALLOW'); // x32 read
    expect(actionName(runFilter(docker, { nr: 3, arch: 0x40000003 }))).toBe('ALLOW'); // i386 read
    expect(actionName(runFilter(lesson, { nr: 3, arch: 0x40000003 }))).toBe('KILL_PROCESS');
  });
});
