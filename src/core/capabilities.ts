// Capabilities by name: the numbers the kernel uses, Docker's default set, and what
// /proc/<pid>/status says about a process's privileges. Pure: nothing here makes a call.
//
// Root's power is split into capabilities, one bit each; a process holds five sets of them
// (bounding, permitted, effective, inheritable, ambient), which /proc/<pid>/status shows as
// hex masks (CapBnd, CapPrm, CapEff, CapInh, CapAmb). A container "as root" keeps only a
// few: what it keeps is the lesson's subject (lesson 10).
import { HintedError } from './errors.js';
import { t } from '../i18n/messages.js';

/** Capability numbers, index = number, as <linux/capability.h> defines them (Linux 5.9
 * added 38-40; the running kernel's highest is /proc/sys/kernel/cap_last_cap). */
// biome-ignore format: one row per eight numbers
export const CAP_NAMES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** The capabilities a Docker container keeps by default, in moby's order:
 * daemon/pkg/oci/caps/defaults.go, DefaultCapabilities() (moby commit b985e2313a86). */
export const DOCKER_DEFAULT_CAPS: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** A capability's number from its name, spelled as the header, capsh or docker --cap-drop
 * do: 'CAP_SYS_ADMIN', 'cap_sys_admin', 'sys_admin' (and 'cap_41' for a bit without a name). */
export function capNumber(name: string): number {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : 'CAP_' + upper;
  const i = CAP_NAMES.indexOf(full);
  if (i >= 0) return i;
  const numbered = /^CAP_(\d+)$/.exec(full);
  if (numbered && Number(numbered[1]) < 64) return Number(numbered[1]);
  throw new HintedError(t`unknown capability "${name}"`, t`capabilities are named as in capabilities(7), e.g. CAP_NET_ADMIN or net_admin; known: ${CAP_NAMES.map((n) => n.slice(4).toLowerCase()).join(', ')}`);
}

/** The names of the bits set in a mask (a bigint, or hex as /proc/<pid>/status writes it),
 * lowest first; a bit this table does not name is 'cap_<n>'. */
export function decodeCaps(mask: bigint | string): string[] {
  let m: bigint;
  if (typeof mask === 'bigint') m = mask;
  else {
    const hex = mask.trim().replace(/^0x/i, '');
    if (!/^[0-9a-f]{1,16}$/i.test(hex)) throw new HintedError(t`not a capability mask: "${mask}"`, t`a mask is up to 16 hex digits, as in CapEff: 00000000a80425fb`);
    m = BigInt('0x' + hex);
  }
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) if ((m >> BigInt(bit)) & 1n) names.push(CAP_NAMES[bit] ?? `cap_${bit}`);
  return names;
}

/** The mask of a set of names (any spelling capNumber takes). */
export function encodeCaps(names: readonly string[]): bigint {
  let m = 0n;
  for (const n of names) m |= 1n << BigInt(capNumber(n));
  return m;
}

/** What /proc/<pid>/status says about a process's privileges. */
export interface ProcSecurity {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
  noNewPrivs: boolean;
  /** 0: no seccomp, 1: strict mode, 2: filters. */
  seccomp: number;
  /** How many filters the process has (Linux 5.9+; 0 when the kernel does not say). */
  seccompFilters: number;
  /** Real, effective, saved and filesystem uid (and gid). */
  uid: number[];
  gid: number[];
}

/** Read the privilege fields of a /proc/<pid>/status text; a field that is missing is an
 * error that names it (a kernel too old for it, or not a status file). */
export function parseProcSecurity(statusText: string): ProcSecurity {
  const fields = new Map<string, string>();
  for (const line of statusText.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const need = (key: string): string => {
    const v = fields.get(key);
    if (v === undefined) throw new HintedError(t`/proc/<pid>/status has no ${key}: line`, t`is it a status file? (NoNewPrivs needs Linux 4.10, CapAmb 4.3)`);
    return v;
  };
  const mask = (key: string) => {
    const v = need(key);
    if (!/^[0-9a-f]{1,16}$/i.test(v)) throw new HintedError(t`/proc/<pid>/status: ${key} is not a hex mask: "${v}"`);
    return BigInt('0x' + v);
  };
  const ids = (key: string) => need(key).split(/\s+/).map(Number);
  return {
    bounding: mask('CapBnd'),
    effective: mask('CapEff'),
    permitted: mask('CapPrm'),
    inheritable: mask('CapInh'),
    ambient: mask('CapAmb'),
    noNewPrivs: need('NoNewPrivs') === '1',
    seccomp: Number(need('Seccomp')),
    seccompFilters: Number(fields.get('Seccomp_filters') ?? 0),
    uid: ids('Uid'),
    gid: ids('Gid'),
  };
}
