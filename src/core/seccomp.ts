// The lesson's seccomp filter, as the kernel takes it: a classic BPF program over struct
// seccomp_data. This module builds it, encodes it to the bytes seccomp(SECCOMP_SET_MODE_FILTER)
// reads, prints it, and runs any program seccomp accepts, so that a learner (and a test) can
// ask "what does this filter answer for that syscall?" without loading it. Pure: no koffi; the
// runtime that installs a filter is confine.ts.
//
// Facts checked against the headers and the kernel source:
// - struct seccomp_data (<linux/seccomp.h>): int nr @0, __u32 arch @4, __u64
//   instruction_pointer @8, __u64 args[6] @16 + 8*i; 64 bytes, read in the CPU's byte order.
// - SECCOMP_RET_* (<linux/seccomp.h>): the action is the high 16 bits (SECCOMP_RET_ACTION_FULL
//   0xffff0000), the data (an errno for ERRNO) the low 16 (SECCOMP_RET_DATA).
// - Opcodes: <linux/bpf_common.h>, <linux/filter.h>. Which ones a seccomp filter may use:
//   kernel/seccomp.c seccomp_check_filter() after net/core/filter.c bpf_check_classic().
//   seccomp_check_filter lists no BPF_MOD: a filter with a modulo is refused (EINVAL) although
//   socket filters may use it.
import os from 'node:os';
import { HintedError } from './errors.js';
import { t } from '../i18n/messages.js';

/** struct sock_filter: one classic BPF instruction. */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}
export type Filter = Insn[];

/** The syscalls the lesson's filter refuses with EPERM by name. In Docker's default profile
 * (moby vendor/github.com/moby/profiles/seccomp/default.json) unshare, setns, mount and umount2
 * are allowed only to a container that keeps CAP_SYS_ADMIN; pivot_root, keyctl, add_key and
 * request_key are named nowhere in it, so its default action (SCMP_ACT_ERRNO, defaultErrnoRet 1:
 * EPERM) always refuses them. */
export const REFUSED = ['unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'keyctl', 'add_key', 'request_key'] as const;
export type Refused = (typeof REFUSED)[number];

export interface SeccompArch {
  /** os.arch(): 'x64' | 'arm64' | 'riscv64' | 'loong64' */
  node: string;
  /** As audit and libseccomp name it: 'x86_64' | 'aarch64' | 'riscv64' | 'loongarch64'. */
  name: string;
  /** AUDIT_ARCH_* (<linux/audit.h>): the value seccomp_data.arch holds for this ABI. */
  audit: number;
  /** Syscall numbers on that arch. */
  nr: Record<Refused | 'clone' | 'clone3', number>;
  /** x86_64: a number with bit 0x40000000 set is an x32-ABI call, under the same audit arch. */
  x32: boolean;
}

/** SECCOMP_RET_* (<linux/seccomp.h>). */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;
const RET_ACTION_FULL = 0xffff0000;
const RET_DATA = 0x0000ffff;

// The __AUDIT_ARCH_64BIT|__AUDIT_ARCH_LE bits over the ELF machine (<linux/elf-em.h>).
const AUDIT_ARCH_X86_64 = 0xc000003e; // EM_X86_64 62
const AUDIT_ARCH_AARCH64 = 0xc00000b7; // EM_AARCH64 183
const AUDIT_ARCH_RISCV64 = 0xc00000f3; // EM_RISCV 243
const AUDIT_ARCH_LOONGARCH64 = 0xc0000102; // EM_LOONGARCH 258
/** <asm/unistd.h> __X32_SYSCALL_BIT. */
const X32_SYSCALL_BIT = 0x40000000;

/** CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET (<linux/sched.h>) = 0x7E020000: the
 * mask Docker's profile tests clone's flags with (SCMP_CMP_MASKED_EQ, "value": 2114060288, in
 * moby vendor/github.com/moby/profiles/seccomp/default.json). CLONE_NEWTIME (0x80) is not in it:
 * clone() reads those low bits as the exit signal; only clone3() and unshare() take NEWTIME. */
export const CLONE_NEW_MASK = 0x7e020000;

const EPERM = 1;
const ENOSYS = 38;

// Numbers: x86_64 from <asm/unistd_64.h>; arm64, riscv64 and loongarch64 share the generic table
// <asm-generic/unistd.h>. The unit test cross-checks both headers where they are installed.
const GENERIC_NR = { unshare: 97, setns: 268, mount: 40, umount2: 39, pivot_root: 41, keyctl: 219, add_key: 217, request_key: 218, clone: 220, clone3: 435 };
const ARCHES: readonly SeccompArch[] = [
  {
    node: 'x64',
    name: 'x86_64',
    audit: AUDIT_ARCH_X86_64,
    nr: { unshare: 272, setns: 308, mount: 165, umount2: 166, pivot_root: 155, keyctl: 250, add_key: 248, request_key: 249, clone: 56, clone3: 435 },
    x32: true,
  },
  { node: 'arm64', name: 'aarch64', audit: AUDIT_ARCH_AARCH64, nr: GENERIC_NR, x32: false },
  { node: 'riscv64', name: 'riscv64', audit: AUDIT_ARCH_RISCV64, nr: GENERIC_NR, x32: false },
  { node: 'loong64', name: 'loongarch64', audit: AUDIT_ARCH_LOONGARCH64, nr: GENERIC_NR, x32: false },
];

/** Audit arch values a disassembly names (the 32-bit ones only to say what a filter refuses). */
const AUDIT_NAMES = new Map<number, string>([
  ...ARCHES.map((a) => [a.audit, a.name] as [number, string]),
  [0x40000003, 'i386'], // AUDIT_ARCH_I386: EM_386 3 | __AUDIT_ARCH_LE
  [0x40000028, 'arm'], // AUDIT_ARCH_ARM: EM_ARM 40 | __AUDIT_ARCH_LE
]);

/** The table for an architecture (default: this machine's). */
export function seccompArch(nodeArch: string = os.arch()): SeccompArch {
  const arch = ARCHES.find((a) => a.node === nodeArch || a.name === nodeArch);
  if (!arch) {
    throw new HintedError(t`seccomp: no syscall table for the architecture "${nodeArch}"`, t`The lesson's filter knows ${ARCHES.map((a) => `${a.name} (${a.node})`).join(', ')}.`);
  }
  return arch;
}

/** What syscall a number is, for the lesson's syscalls on that arch (for messages). */
export function syscallName(arch: SeccompArch, nr: number): string | undefined {
  for (const [name, n] of Object.entries(arch.nr)) if (n === nr) return name;
  return undefined;
}

// ---- opcodes (<linux/bpf_common.h>, <linux/filter.h>) ----
const BPF_LD = 0x00,
  BPF_LDX = 0x01,
  BPF_ST = 0x02,
  BPF_STX = 0x03,
  BPF_ALU = 0x04,
  BPF_JMP = 0x05,
  BPF_RET = 0x06,
  BPF_MISC = 0x07;
const BPF_W = 0x00;
const BPF_IMM = 0x00,
  BPF_ABS = 0x20,
  BPF_MEM = 0x60,
  BPF_LEN = 0x80;
const BPF_ADD = 0x00,
  BPF_SUB = 0x10,
  BPF_MUL = 0x20,
  BPF_DIV = 0x30,
  BPF_OR = 0x40,
  BPF_AND = 0x50,
  BPF_LSH = 0x60,
  BPF_RSH = 0x70,
  BPF_NEG = 0x80,
  BPF_MOD = 0x90,
  BPF_XOR = 0xa0;
const BPF_JA = 0x00,
  BPF_JEQ = 0x10,
  BPF_JGT = 0x20,
  BPF_JGE = 0x30,
  BPF_JSET = 0x40;
const BPF_K = 0x00,
  BPF_X = 0x08,
  BPF_A = 0x10; // BPF_RVAL: return the accumulator
const BPF_TAX = 0x00,
  BPF_TXA = 0x80;
const BPF_MAXINSNS = 4096;
const BPF_MEMWORDS = 16;
const SECCOMP_DATA_SIZE = 64;

const ALU_OPS: Record<number, string> = { [BPF_ADD]: 'add', [BPF_SUB]: 'sub', [BPF_MUL]: 'mul', [BPF_DIV]: 'div', [BPF_OR]: 'or', [BPF_AND]: 'and', [BPF_LSH]: 'lsh', [BPF_RSH]: 'rsh', [BPF_XOR]: 'xor' };
const JMP_OPS: Record<number, string> = { [BPF_JEQ]: 'jeq', [BPF_JGT]: 'jgt', [BPF_JGE]: 'jge', [BPF_JSET]: 'jset' };

/** Every opcode seccomp_check_filter lets through. */
const SECCOMP_CODES = new Set<number>([
  BPF_LD | BPF_W | BPF_ABS,
  BPF_LD | BPF_W | BPF_LEN,
  BPF_LDX | BPF_W | BPF_LEN,
  BPF_LD | BPF_IMM,
  BPF_LDX | BPF_IMM,
  BPF_LD | BPF_MEM,
  BPF_LDX | BPF_MEM,
  BPF_ST,
  BPF_STX,
  BPF_RET | BPF_K,
  BPF_RET | BPF_A,
  BPF_MISC | BPF_TAX,
  BPF_MISC | BPF_TXA,
  BPF_ALU | BPF_NEG,
  BPF_JMP | BPF_JA,
  ...Object.keys(ALU_OPS).flatMap((op) => [BPF_ALU | Number(op) | BPF_K, BPF_ALU | Number(op) | BPF_X]),
  ...Object.keys(JMP_OPS).flatMap((op) => [BPF_JMP | Number(op) | BPF_K, BPF_JMP | Number(op) | BPF_X]),
]);

function isCondJump(code: number): boolean {
  return (code & 0x07) === BPF_JMP && (code & 0xf0) !== BPF_JA;
}

function bad(pc: number | null, what: string): HintedError {
  const where = pc === null ? t`seccomp filter` : t`seccomp filter, instruction ${pc}`;
  return new HintedError(`${where}: ${what}`, t`The kernel would refuse this program with EINVAL (kernel/seccomp.c seccomp_check_filter, net/core/filter.c bpf_check_classic).`);
}

const hex = (n: number): string => '0x' + (n >>> 0).toString(16);

/** Throws, naming the instruction, what the kernel's checks would refuse: an opcode seccomp does
 * not accept, a load outside struct seccomp_data or unaligned, a constant division by zero or
 * shift by 32 or more, a scratch cell out of range or read before any path wrote it, a jump
 * past the end, a last instruction that is not a ret, no instruction or more than 4096. */
export function checkFilter(f: Filter): void {
  if (!Array.isArray(f) || f.length === 0) throw bad(null, t`it has no instruction`);
  if (f.length > BPF_MAXINSNS) throw bad(null, t`${f.length} instructions, more than BPF_MAXINSNS (${BPF_MAXINSNS})`);
  const flen = f.length;
  for (let pc = 0; pc < flen; pc++) {
    const insn = f[pc]!;
    checkFields(insn, pc);
    const { code, k, jt, jf } = insn;
    if (!SECCOMP_CODES.has(code)) {
      const op = hex(code);
      const mod = (code & 0x07) === BPF_ALU && (code & 0xf0) === BPF_MOD;
      throw bad(pc, mod ? t`opcode ${op} is not one a seccomp filter may use (BPF_MOD: socket filters may use it, seccomp_check_filter does not list it)` : t`opcode ${op} is not one a seccomp filter may use`);
    }
    if (code === (BPF_LD | BPF_W | BPF_ABS) && (k >= SECCOMP_DATA_SIZE || k % 4 !== 0)) throw bad(pc, t`ld [${k}] is outside struct seccomp_data (64 bytes) or not 4-byte aligned`);
    if (code === (BPF_ALU | BPF_DIV | BPF_K) && k === 0) throw bad(pc, t`division by the constant 0`);
    if ((code === (BPF_ALU | BPF_LSH | BPF_K) || code === (BPF_ALU | BPF_RSH | BPF_K)) && k >= 32) throw bad(pc, t`shift by ${k}, 32 or more`);
    if ((code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM) || code === BPF_ST || code === BPF_STX) && k >= BPF_MEMWORDS) throw bad(pc, t`scratch cell M[${k}] does not exist (there are ${BPF_MEMWORDS})`);
    if (code === (BPF_JMP | BPF_JA) && k >= flen - pc - 1) throw bad(pc, t`ja ${k} jumps past the last instruction`);
    if (isCondJump(code) && (pc + jt + 1 >= flen || pc + jf + 1 >= flen)) throw bad(pc, t`a branch (jt ${jt}, jf ${jf}) jumps past the last instruction`);
  }
  const last = f[flen - 1]!.code;
  if (last !== (BPF_RET | BPF_K) && last !== (BPF_RET | BPF_A)) throw bad(flen - 1, t`the last instruction is not a ret: the program could run off its end`);
  checkScratchReads(f);
}

function checkFields(insn: Insn, pc: number): void {
  const ok = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
  if (insn === null || typeof insn !== 'object' || !ok(insn.code, 0xffff) || !ok(insn.jt, 0xff) || !ok(insn.jf, 0xff) || !ok(insn.k, 0xffffffff)) {
    throw bad(pc, t`not a struct sock_filter (code u16, jt u8, jf u8, k u32): ${JSON.stringify(insn)}`);
  }
}

/** net/core/filter.c check_load_and_stores(): the scratch memory is not cleared between runs, so
 * a cell may be read only where every path to the read has written it. */
function checkScratchReads(f: Filter): void {
  const masks = new Array<number>(f.length).fill(0xffff);
  let valid = 0;
  for (let pc = 0; pc < f.length; pc++) {
    const { code, k, jt, jf } = f[pc]!;
    valid &= masks[pc]!;
    if (code === BPF_ST || code === BPF_STX) valid |= 1 << k;
    else if (code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM)) {
      if (!(valid & (1 << k))) throw bad(pc, t`reads M[${k}] where a path reaches it without a store to it`);
    } else if (code === (BPF_JMP | BPF_JA)) {
      masks[pc + 1 + k]! &= valid;
      valid = 0xffff;
    } else if (isCondJump(code)) {
      masks[pc + 1 + jt]! &= valid;
      masks[pc + 1 + jf]! &= valid;
      valid = 0xffff;
    }
  }
}

// ---- encoding: struct sock_filter, 8 bytes ----
// The kernel reads the array in the CPU's byte order; every arch seccompArch() knows is
// little-endian, and so is every machine this runs on that can load the filter.

export function encodeFilter(f: Filter): Buffer {
  const b = Buffer.alloc(f.length * 8);
  f.forEach((insn, pc) => {
    checkFields(insn, pc);
    b.writeUInt16LE(insn.code, pc * 8);
    b.writeUInt8(insn.jt, pc * 8 + 2);
    b.writeUInt8(insn.jf, pc * 8 + 3);
    b.writeUInt32LE(insn.k, pc * 8 + 4);
  });
  return b;
}

export function decodeFilter(b: Buffer): Filter {
  if (b.length % 8 !== 0) throw new HintedError(t`a seccomp filter is 8 bytes per instruction (struct sock_filter); ${b.length} bytes is not a multiple of 8`);
  const f: Filter = [];
  for (let o = 0; o < b.length; o += 8) f.push({ code: b.readUInt16LE(o), jt: b.readUInt8(o + 2), jf: b.readUInt8(o + 3), k: b.readUInt32LE(o + 4) });
  return f;
}

// ---- the lesson's filter ----

/** An instruction whose jumps name labels, resolved by assemble(). */
type Asm = { code: number; k: number; jt?: string; jf?: string } | { label: string };

function assemble(prog: Asm[]): Filter {
  const at = new Map<string, number>();
  let pc = 0;
  for (const a of prog) {
    if ('label' in a) at.set(a.label, pc);
    else pc++;
  }
  const out: Filter = [];
  for (const a of prog) {
    if ('label' in a) continue;
    const here = out.length;
    const offset = (label: string | undefined): number => {
      if (label === undefined) return 0;
      const d = at.get(label)! - here - 1;
      if (d < 0 || d > 255) throw new Error(`seccomp: jump from ${here} to ${label} does not fit a u8`);
      return d;
    };
    out.push({ code: a.code, jt: offset(a.jt), jf: offset(a.jf), k: a.k >>> 0 });
  }
  return out;
}

/** Offsets in struct seccomp_data (the low 32 bits of a u64 come first: little-endian). */
const OFF_NR = 0;
const OFF_ARCH = 4;
const offArgLow = (i: number) => 16 + 8 * i;

/** The lesson's filter: arch != this one -> KILL_PROCESS; (x86_64) nr >= 0x40000000 (x32) ->
 * KILL_PROCESS; each refused syscall -> ERRNO(EPERM); clone with any CLONE_NEW* flag in args[0]
 * (mask 0x7E020000, what Docker's profile tests) -> ERRNO(EPERM); clone3 -> ERRNO(ENOSYS), as
 * Docker's profile answers ("errnoRet": 38): its flags sit in a struct in memory a filter cannot
 * read, and glibc falls back to clone() on ENOSYS, where they can be checked; everything else
 * ALLOW. The arch test comes first because syscall numbers mean different calls under another ABI
 * (i386 via int 0x80 on x86_64, x32 with the high bit). */
export function lessonFilter(arch: SeccompArch = seccompArch(), refused: readonly Refused[] = REFUSED): Filter {
  for (const name of refused) {
    if (!(REFUSED as readonly string[]).includes(name)) throw new HintedError(t`seccomp: "${name}" is not one of the syscalls the lesson's filter can refuse`, t`Choose from ${REFUSED.join(', ')}.`);
  }
  const prog: Asm[] = [
    { code: BPF_LD | BPF_W | BPF_ABS, k: OFF_ARCH },
    { code: BPF_JMP | BPF_JEQ | BPF_K, k: arch.audit, jf: 'kill' },
    { code: BPF_LD | BPF_W | BPF_ABS, k: OFF_NR },
  ];
  if (arch.x32) prog.push({ code: BPF_JMP | BPF_JGE | BPF_K, k: X32_SYSCALL_BIT, jt: 'kill' });
  for (const name of new Set(refused)) prog.push({ code: BPF_JMP | BPF_JEQ | BPF_K, k: arch.nr[name], jt: 'eperm' });
  prog.push(
    { code: BPF_JMP | BPF_JEQ | BPF_K, k: arch.nr.clone3, jt: 'enosys' },
    { code: BPF_JMP | BPF_JEQ | BPF_K, k: arch.nr.clone, jf: 'allow' },
    // The mask has no bit in the high half of args[0], so its low 32 bits decide.
    { code: BPF_LD | BPF_W | BPF_ABS, k: offArgLow(0) },
    { code: BPF_JMP | BPF_JSET | BPF_K, k: CLONE_NEW_MASK, jt: 'eperm' },
    { label: 'allow' },
    { code: BPF_RET | BPF_K, k: SECCOMP_RET.ALLOW },
    { label: 'kill' },
    { code: BPF_RET | BPF_K, k: SECCOMP_RET.KILL_PROCESS },
    { label: 'eperm' },
    { code: BPF_RET | BPF_K, k: SECCOMP_RET.ERRNO | EPERM },
    { label: 'enosys' },
    { code: BPF_RET | BPF_K, k: SECCOMP_RET.ERRNO | ENOSYS },
  );
  return assemble(prog);
}

// ---- return values ----

const ERRNO_NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(os.constants.errno)) if (!ERRNO_NAMES.has(n)) ERRNO_NAMES.set(n, name);

/** 'ALLOW', 'ERRNO(EPERM)', 'KILL_PROCESS', 'TRACE(7)', ... An action the kernel does not know
 * kills the process (kernel/seccomp.c __seccomp_filter, its default case). */
export function actionName(ret: number): string {
  const action = (ret & RET_ACTION_FULL) >>> 0;
  const data = ret & RET_DATA;
  const withData = (name: string) => (data ? `${name}(${data})` : name);
  switch (action) {
    case SECCOMP_RET.KILL_PROCESS:
      return 'KILL_PROCESS';
    case SECCOMP_RET.KILL_THREAD:
      return 'KILL_THREAD';
    case SECCOMP_RET.TRAP:
      return withData('TRAP');
    case SECCOMP_RET.ERRNO:
      return `ERRNO(${ERRNO_NAMES.get(data) ?? data})`;
    case SECCOMP_RET.USER_NOTIF:
      return 'USER_NOTIF';
    case SECCOMP_RET.TRACE:
      return withData('TRACE');
    case SECCOMP_RET.LOG:
      return 'LOG';
    case SECCOMP_RET.ALLOW:
      return 'ALLOW';
    default:
      return `KILL_PROCESS (unknown action ${hex(action)})`;
  }
}

// ---- the interpreter ----

export interface SeccompData {
  nr: number;
  arch: number;
  ip?: bigint;
  args?: bigint[];
}

function seccompDataBytes(d: SeccompData): Buffer {
  const b = Buffer.alloc(SECCOMP_DATA_SIZE);
  b.writeInt32LE(d.nr | 0, 0);
  b.writeUInt32LE(d.arch >>> 0, 4);
  b.writeBigUInt64LE(BigInt.asUintN(64, d.ip ?? 0n), 8);
  const args = d.args ?? [];
  if (args.length > 6) throw new HintedError(t`seccomp_data has 6 arguments, not ${args.length}`);
  args.forEach((a, i) => {
    b.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i);
  });
  return b;
}

/** Runs a classic-BPF seccomp program (any program seccomp_check_filter accepts) on one syscall and
 * returns the 32-bit SECCOMP_RET_* value it gives. Throws on a program the kernel would refuse. */
export function runFilter(f: Filter, data: SeccompData): number {
  checkFilter(f);
  const mem = seccompDataBytes(data);
  const M = new Uint32Array(BPF_MEMWORDS);
  let A = 0;
  let X = 0;
  // Jumps only go forward, so this ends.
  for (let pc = 0; pc < f.length; pc++) {
    const { code, k, jt, jf } = f[pc]!;
    const cls = code & 0x07;
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        const mode = code & 0xe0;
        const v = mode === BPF_ABS ? mem.readUInt32LE(k) : mode === BPF_LEN ? SECCOMP_DATA_SIZE : mode === BPF_MEM ? M[k]! : k;
        if (cls === BPF_LD) A = v;
        else X = v;
        break;
      }
      case BPF_ST:
        M[k] = A;
        break;
      case BPF_STX:
        M[k] = X;
        break;
      case BPF_ALU: {
        const op = code & 0xf0;
        if (op === BPF_NEG) {
          A = -A >>> 0;
          break;
        }
        const v = (code & BPF_X ? X : k) >>> 0;
        // A division by X == 0 ends the program with 0 (classic BPF; the eBPF the kernel converts
        // to keeps that): for seccomp, KILL_THREAD.
        if (op === BPF_DIV && v === 0) return 0;
        A = alu(op, A, v);
        break;
      }
      case BPF_JMP: {
        const op = code & 0xf0;
        if (op === BPF_JA) {
          pc += k;
          break;
        }
        const v = (code & BPF_X ? X : k) >>> 0;
        const taken = op === BPF_JEQ ? A === v : op === BPF_JGT ? A > v : op === BPF_JGE ? A >= v : (A & v) !== 0;
        pc += taken ? jt : jf;
        break;
      }
      case BPF_RET:
        return ((code & 0x18) === BPF_A ? A : k) >>> 0;
      case BPF_MISC:
        if ((code & 0xf8) === BPF_TAX) X = A;
        else A = X;
        break;
    }
  }
  // checkFilter makes the last instruction a ret.
  throw bad(null, t`ran off its end`);
}

/** 32-bit unsigned ALU. A shift by X takes X mod 32, as the kernel's eBPF interpreter and x86's
 * shift instructions do for a 32-bit shift. */
function alu(op: number, a: number, v: number): number {
  switch (op) {
    case BPF_ADD:
      return (a + v) >>> 0;
    case BPF_SUB:
      return (a - v) >>> 0;
    case BPF_MUL:
      return Math.imul(a, v) >>> 0;
    case BPF_DIV:
      return Math.floor(a / v) >>> 0;
    case BPF_OR:
      return (a | v) >>> 0;
    case BPF_AND:
      return (a & v) >>> 0;
    case BPF_XOR:
      return (a ^ v) >>> 0;
    case BPF_LSH:
      return (a << (v & 31)) >>> 0;
    case BPF_RSH:
      return a >>> (v & 31);
  }
  throw new Error(`unreachable ALU op ${hex(op)}`);
}

/** Several filters on one task (in the order installed): the kernel runs them all, newest first,
 * and keeps the return value whose action, read as a signed 32-bit number, is lowest — so
 * KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW (seccomp(2);
 * kernel/seccomp.c seccomp_run_filters). Of two equal actions the newer filter's data wins. */
export function verdict(filters: Filter[], data: SeccompData): number {
  let ret: number = SECCOMP_RET.ALLOW;
  for (let i = filters.length - 1; i >= 0; i--) {
    const cur = runFilter(filters[i]!, data);
    // JavaScript's & yields a signed 32-bit number: the kernel's ACTION_ONLY() (s32) compare.
    if ((cur & RET_ACTION_FULL) < (ret & RET_ACTION_FULL)) ret = cur;
  }
  return ret >>> 0;
}

// ---- the disassembler ----

const FIELD_NAMES: Record<number, string> = {
  0: 'seccomp_data.nr',
  4: 'seccomp_data.arch',
  8: 'instruction_pointer (low 32 bits)',
  12: 'instruction_pointer (high 32 bits)',
};
for (let i = 0; i < 6; i++) {
  FIELD_NAMES[16 + 8 * i] = `args[${i}] (low 32 bits)`;
  FIELD_NAMES[20 + 8 * i] = `args[${i}] (high 32 bits)`;
}

/** One line per instruction, numbered, with a comment that says what it means, e.g.
 *  "  0: ld  [4]                  ; A = seccomp_data.arch",
 *  "  1: jeq #0xc000003e, 0, 15   ; x86_64? else -> 17 KILL_PROCESS",
 *  "  4: jeq #272, 13, 0          ; unshare (272)? -> 18 ERRNO(EPERM)",
 *  " 18: ret #0x50001             ; ERRNO(EPERM)".
 * Jump operands are the raw offsets (jt, jf count from the next instruction); the comment gives
 * the absolute target. Syscall numbers are named for `arch` (default: this machine's). */
export function disassemble(f: Filter, arch?: SeccompArch): string[] {
  const forArch = arch ?? ARCHES.find((a) => a.node === os.arch());
  // What A holds, followed linearly: enough to name the constants it is compared with.
  let holds: 'nr' | 'arch' | 'clone-flags' | 'other' = 'other';
  const lines: string[] = [];
  const target = (to: number): string => {
    const t = f[to];
    return t && t.code === (BPF_RET | BPF_K) ? `${to} ${actionName(t.k)}` : String(to);
  };
  f.forEach((insn, pc) => {
    const { code, jt, jf, k } = insn;
    const cls = code & 0x07;
    const op = code & 0xf0;
    const src = code & BPF_X ? 'x' : `#${hex(k)}`;
    let text: string;
    let note: string;
    if (!SECCOMP_CODES.has(code)) {
      text = `.insn ${hex(code)}, ${jt}, ${jf}, ${hex(k)}`;
      note = 'not an instruction seccomp accepts';
    } else if (code === (BPF_LD | BPF_W | BPF_ABS)) {
      text = `ld  [${k}]`;
      note = `A = ${FIELD_NAMES[k] ?? `seccomp_data byte ${k}`}`;
      holds = k === OFF_NR ? 'nr' : k === OFF_ARCH ? 'arch' : k === offArgLow(0) ? 'clone-flags' : 'other';
    } else if (cls === BPF_LD || cls === BPF_LDX) {
      const reg = cls === BPF_LD ? 'A' : 'X';
      const mode = code & 0xe0;
      const operand = mode === BPF_LEN ? '#len' : mode === BPF_MEM ? `M[${k}]` : `#${hex(k)}`;
      text = `${cls === BPF_LD ? 'ld ' : 'ldx'} ${operand}`;
      note = `${reg} = ${mode === BPF_LEN ? 'sizeof(seccomp_data) (64)' : mode === BPF_MEM ? `M[${k}]` : hex(k)}`;
      if (cls === BPF_LD) holds = 'other';
    } else if (cls === BPF_ST || cls === BPF_STX) {
      text = `${cls === BPF_ST ? 'st ' : 'stx'} M[${k}]`;
      note = `M[${k}] = ${cls === BPF_ST ? 'A' : 'X'}`;
    } else if (cls === BPF_ALU) {
      if (op === BPF_NEG) {
        text = 'neg';
        note = 'A = -A';
      } else {
        const name = ALU_OPS[op]!;
        const sym = { add: '+', sub: '-', mul: '*', div: '/', or: '|', and: '&', xor: '^', lsh: '<<', rsh: '>>' }[name];
        text = `${name.padEnd(3)} ${src}`;
        note = `A ${sym}= ${code & BPF_X ? 'X' : hex(k)}`;
      }
      holds = 'other';
    } else if (code === (BPF_JMP | BPF_JA)) {
      text = `ja  ${k}`;
      note = `-> ${target(pc + 1 + k)}`;
    } else if (cls === BPF_JMP) {
      // Syscall numbers in decimal, as <asm/unistd.h> writes them.
      const operand = holds === 'nr' && !(code & BPF_X) && k < X32_SYSCALL_BIT ? `#${k}` : src;
      text = `${JMP_OPS[op]!.padEnd(3)} ${operand}, ${jt}, ${jf}`;
      const question = describeTest(op, code & BPF_X ? null : k, holds, forArch);
      const t = target(pc + 1 + jt);
      const e = target(pc + 1 + jf);
      note = jt === 0 ? `${question} else -> ${e}` : jf === 0 ? `${question} -> ${t}` : `${question} -> ${t}, else -> ${e}`;
    } else if (cls === BPF_RET) {
      text = code === (BPF_RET | BPF_A) ? 'ret a' : `ret #${hex(k)}`;
      note = code === (BPF_RET | BPF_A) ? 'return A' : actionName(k);
    } else {
      text = (code & 0xf8) === BPF_TAX ? 'tax' : 'txa';
      note = (code & 0xf8) === BPF_TAX ? 'X = A' : 'A = X';
      if (text === 'txa') holds = 'other';
    }
    lines.push(`${String(pc).padStart(3)}: ${text.padEnd(24)} ; ${note}`);
  });
  return lines;
}

function describeTest(op: number, k: number | null, holds: string, arch: SeccompArch | undefined): string {
  const rhs = k === null ? 'X' : hex(k);
  if (op === BPF_JSET) return holds === 'clone-flags' && k === CLONE_NEW_MASK ? 'any CLONE_NEW* flag?' : `A & ${rhs}?`;
  if (op === BPF_JEQ && k !== null) {
    if (holds === 'arch') return `${AUDIT_NAMES.get(k) ?? `arch ${hex(k)}`}?`;
    if (holds === 'nr') {
      const name = arch && syscallName(arch, k);
      return name ? `${name} (${k})?` : `nr == ${k}?`;
    }
  }
  const sym = op === BPF_JEQ ? '==' : op === BPF_JGT ? '>' : '>=';
  if (holds === 'nr' && op === BPF_JGE && k === X32_SYSCALL_BIT) return 'nr >= 0x40000000 (x32 ABI)?';
  return `${holds === 'nr' ? 'nr' : 'A'} ${sym} ${rhs}?`;
}
