// The command line of `container-lessons run`, the capstone's runtime interface (issue 19):
//
//   run [--name N] [--hostname H] [--cpus C] [--memory M] [--pids P] [--ip ADDR/PREFIX] IMAGE CMD [ARG...]
//   run --rootfs DIR|lab [same options] CMD [ARG...]
//
// Pure: argv in, a RunArgs or a RunInputError out. Options end at the first word that is not
// one (or at `--`), as `docker run` reads them: `run img sh -c 'exit 7'` hands `-c` to sh.
// With --rootfs there is no IMAGE: every word after the options is the command; `lab` names
// the lab's own root filesystem (a directory called lab is `./lab`).

import { t } from './i18n/messages.js';

/** A bad command line: one line for the user, exit 125 (as `docker run` gives). */
export class RunInputError extends Error {}

export interface RunArgs {
  /** The image's name in the lab's store, or null with --rootfs. */
  image: string | null;
  /** --rootfs: a directory, or 'lab' for the lab's own. */
  rootfs: string | null;
  name: string | null;
  hostname: string | null;
  /** CPUs: quota = cpus x period. */
  cpus: number | null;
  memoryBytes: number | null;
  pids: number | null;
  /** --ip: the container's address on the bridge. */
  ip: { address: string; prefix: number } | null;
  argv: string[];
  help: boolean;
}

const VALUE_OPTIONS = ['name', 'hostname', 'cpus', 'memory', 'pids', 'ip', 'rootfs'] as const;
type ValueOption = (typeof VALUE_OPTIONS)[number];

/** Docker's rule for container names. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** The kernel's limit on a hostname (HOST_NAME_MAX). */
const HOSTNAME_MAX = 64;
/** The smallest CFS quota the kernel takes: 1 ms of a 100 ms period. */
export const CPU_PERIOD_US = 100000;
const MIN_QUOTA_US = 1000;

/** Pure: "0.5" -> 0.5 CPUs; at least 0.01 (the kernel's smallest quota at a 100 ms period). */
export function parseCpus(text: string): number {
  const n = /^(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : Number.NaN;
  if (!(n > 0) || !Number.isFinite(n)) throw new RunInputError(t`--cpus is a number of CPUs such as 0.5, not "${text}"`);
  if (Math.round(n * CPU_PERIOD_US) < MIN_QUOTA_US) throw new RunInputError(t`--cpus ${text} is less than the smallest quota the kernel takes (0.01)`);
  return n;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Pure: "64m" -> 67108864 (bytes, or with b, k, m, g as docker reads them: powers of 1024). */
export function parseMemory(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)$/i.exec(text);
  const bytes = m ? Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!) : Number.NaN;
  if (!(bytes > 0) || !Number.isSafeInteger(bytes)) throw new RunInputError(t`--memory is an amount such as 64m (bytes, or with k, m, g), not "${text}"`);
  return bytes;
}

/** Pure: "32" -> 32; a whole number of processes, 1 and up. */
export function parsePids(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1) || !Number.isSafeInteger(n)) throw new RunInputError(t`--pids is a number of processes such as 32, not "${text}"`);
  return n;
}

/** Pure: "10.88.0.2/24" -> its address and prefix. */
export function parseIpv4Cidr(text: string, what = '--ip'): { address: string; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix < 1 || prefix > 32) throw new RunInputError(t`${what} is an IPv4 address with its prefix such as 10.88.0.2/24, not "${text}"`);
  return { address: octets.join('.'), prefix };
}

/** Pure: the command line after `run`. */
export function parseRunArgs(argv: string[]): RunArgs {
  const values: Partial<Record<ValueOption, string>> = {};
  let help = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      i++;
      break;
    }
    if (word === '-h' || word === '--help') {
      help = true;
      continue;
    }
    if (!word.startsWith('-') || word === '-') break;
    const eq = word.indexOf('=');
    const key = (eq > 0 ? word.slice(2, eq) : word.slice(2)) as ValueOption;
    if (!word.startsWith('--') || !VALUE_OPTIONS.includes(key)) throw new RunInputError(t`unknown option ${word} (run --help lists them)`);
    let value: string | undefined;
    if (eq > 0) value = word.slice(eq + 1);
    else {
      value = argv[++i];
      if (value === undefined) throw new RunInputError(t`${word} needs a value`);
    }
    if (values[key] !== undefined) throw new RunInputError(t`--${key} is given twice`);
    values[key] = value;
  }
  const rest = argv.slice(i);
  const args: RunArgs = { image: null, rootfs: values.rootfs ?? null, name: null, hostname: null, cpus: null, memoryBytes: null, pids: null, ip: null, argv: [], help };
  if (help) return args;
  if (values.rootfs === '') throw new RunInputError(t`--rootfs needs a directory (or lab, for the lab's own)`);
  if (args.rootfs === null) {
    args.image = rest[0] ?? null;
    if (!args.image) throw new RunInputError(t`run which image? container-lessons run [OPTIONS] IMAGE CMD [ARG...] (or --rootfs DIR|lab CMD)`);
    args.argv = rest.slice(1);
  } else args.argv = rest;
  if (!args.argv.length) throw new RunInputError(t`no command given: container-lessons run [OPTIONS] ${args.image ?? `--rootfs ${args.rootfs}`} CMD [ARG...]`);
  if (values.name !== undefined) {
    if (!NAME.test(values.name) || values.name.length > 64) throw new RunInputError(t`--name is letters, digits and _ . - (not first), at most 64, not "${values.name}"`);
    args.name = values.name;
  }
  if (values.hostname !== undefined) {
    if (!values.hostname || values.hostname.length > HOSTNAME_MAX) throw new RunInputError(t`--hostname is 1 to ${HOSTNAME_MAX} characters, not "${values.hostname}"`);
    args.hostname = values.hostname;
  }
  if (values.cpus !== undefined) args.cpus = parseCpus(values.cpus);
  if (values.memory !== undefined) args.memoryBytes = parseMemory(values.memory);
  if (values.pids !== undefined) args.pids = parsePids(values.pids);
  if (values.ip !== undefined) args.ip = parseIpv4Cidr(values.ip);
  return args;
}
