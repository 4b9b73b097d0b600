import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import { CAP_NAMES, DOCKER_DEFAULT_CAPS, capNumber, decodeCaps, encodeCaps, parseProcSecurity } from '../../src/core/capabilities.js';

// A status file of a process in a Docker container with the default profile (Linux 6.x).
const DOCKER_STATUS = `Name:\tsh
Umask:\t0022
State:\tS (sleeping)
Uid:\t0\t0\t0\t0
Gid:\t0\t0\t0\t0
NoNewPrivs:\t0
CapInh:\t0000000000000000
CapPrm:\t00000000a80425fb
CapEff:\t00000000a80425fb
CapBnd:\t00000000a80425fb
CapAmb:\t0000000000000000
Seccomp:\t2
Seccomp_filters:\t1
Speculation_Store_Bypass:\tthread force mitigated
`;

describe('capability names', () => {
  const header = '/usr/include/linux/capability.h';
  it.runIf(fs.existsSync(header))('are numbered as <linux/capability.h> numbers them', () => {
    const defined = new Map<string, number>();
    for (const m of fs.readFileSync(header, 'utf8').matchAll(/^#define\s+(CAP_[A-Z_]+)\s+(\d+)\s*$/gm)) defined.set(m[1]!, Number(m[2]));
    expect(defined.size).toBeGreaterThanOrEqual(38);
    for (const [name, nr] of defined) if (nr < CAP_NAMES.length) expect(CAP_NAMES[nr], name).toBe(name);
    expect(CAP_NAMES).toHaveLength(41);
  });
  it('name each number once', () => {
    expect(new Set(CAP_NAMES).size).toBe(CAP_NAMES.length);
    expect(CAP_NAMES[21]).toBe('CAP_SYS_ADMIN');
    expect(CAP_NAMES[40]).toBe('CAP_CHECKPOINT_RESTORE');
  });
  it("Docker's default set is 14 known capabilities, without CAP_SYS_ADMIN or CAP_NET_ADMIN", () => {
    expect(DOCKER_DEFAULT_CAPS).toHaveLength(14);
    for (const n of DOCKER_DEFAULT_CAPS) expect(CAP_NAMES).toContain(n);
    expect(DOCKER_DEFAULT_CAPS).not.toContain('CAP_SYS_ADMIN');
    expect(DOCKER_DEFAULT_CAPS).not.toContain('CAP_NET_ADMIN');
    // What `docker run alpine grep Cap /proc/self/status` shows.
    expect(encodeCaps(DOCKER_DEFAULT_CAPS)).toBe(0xa80425fbn);
  });
});

describe('capNumber', () => {
  it('takes every common spelling', () => {
    for (const s of ['CAP_SYS_ADMIN', 'cap_sys_admin', 'sys_admin', 'SYS_ADMIN', ' Cap_Sys_Admin ']) expect(capNumber(s)).toBe(21);
    expect(capNumber('cap_41')).toBe(41);
  });
  it('refuses an unknown name with a hint that lists the known ones', () => {
    expect(() => capNumber('sys_adnim')).toThrow('unknown capability "sys_adnim"');
    const err = (() => {
      try {
        capNumber('nope');
      } catch (e) {
        return e as { hint?: string };
      }
    })();
    expect(err?.hint).toMatch(/known: chown, dac_override, .*net_admin/);
    expect(() => capNumber('cap_64')).toThrow(/unknown capability/);
  });
});

describe('decodeCaps / encodeCaps', () => {
  it('decode a status mask into names, lowest bit first', () => {
    expect(decodeCaps('00000000a80425fb')).toEqual(DOCKER_DEFAULT_CAPS.slice().sort((a, b) => capNumber(a) - capNumber(b)));
    expect(decodeCaps('0000000000000000')).toEqual([]);
    expect(decodeCaps(1n << 21n)).toEqual(['CAP_SYS_ADMIN']);
  });
  it('name a bit beyond the table by its number', () => {
    expect(decodeCaps((1n << 41n) | 1n)).toEqual(['CAP_CHOWN', 'cap_41']);
    expect(encodeCaps(decodeCaps((1n << 41n) | 1n))).toBe((1n << 41n) | 1n);
  });
  it('round-trip the full set of this header', () => {
    const all = (1n << 41n) - 1n;
    expect(decodeCaps(all)).toEqual(CAP_NAMES);
    expect(encodeCaps(CAP_NAMES)).toBe(all);
    expect(decodeCaps('000001ffffffffff')).toEqual(CAP_NAMES);
  });
  it('refuse text that is not a mask', () => {
    expect(() => decodeCaps('xyz')).toThrow('not a capability mask: "xyz"');
    expect(() => decodeCaps('')).toThrow(/not a capability mask/);
  });
});

describe('parseProcSecurity', () => {
  it("reads a Docker container's status", () => {
    expect(parseProcSecurity(DOCKER_STATUS)).toEqual({
      bounding: 0xa80425fbn,
      effective: 0xa80425fbn,
      permitted: 0xa80425fbn,
      inheritable: 0n,
      ambient: 0n,
      noNewPrivs: false,
      seccomp: 2,
      seccompFilters: 1,
      uid: [0, 0, 0, 0],
      gid: [0, 0, 0, 0],
    });
  });
  it('reads this process (a real status file)', () => {
    const s = parseProcSecurity(fs.readFileSync('/proc/self/status', 'utf8'));
    expect(s.uid).toHaveLength(4);
    expect(s.uid[0]).toBe(process.getuid!());
    expect([0, 1, 2]).toContain(s.seccomp);
  });
  it('counts no filters when the kernel has no Seccomp_filters line (before 5.9)', () => {
    expect(parseProcSecurity(DOCKER_STATUS.replace(/^Seccomp_filters.*\n/m, '')).seccompFilters).toBe(0);
  });
  it('names a missing or broken field', () => {
    expect(() => parseProcSecurity(DOCKER_STATUS.replace(/^CapAmb.*\n/m, ''))).toThrow('/proc/<pid>/status has no CapAmb: line');
    expect(() => parseProcSecurity(DOCKER_STATUS.replace('CapEff:\t00000000a80425fb', 'CapEff:\tzz'))).toThrow('CapEff is not a hex mask: "zz"');
    expect(() => parseProcSecurity('')).toThrow(/has no CapBnd/);
  });
});
