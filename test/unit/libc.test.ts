import { describe, it, expect } from 'vitest';
import { namespaceFlags, flagNames, mountFlagNames, errnoName, SyscallError, syscallNumbers, CLONE, MS, makedev } from '../../src/core/libc.js';
import { HintedError } from '../../src/core/errors.js';

describe('flag tables', () => {
  it('namespace names map to CLONE_NEW* bits and back', () => {
    const f = namespaceFlags(['mnt', 'pid', 'net']);
    expect(f).toBe(CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWNET);
    expect(flagNames(f)).toBe('CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWPID');
    expect(flagNames(CLONE.FS)).toBe('CLONE_FS');
    expect(flagNames(0)).toBe('0');
  });
  it('rejects unknown namespace types', () => {
    expect(() => namespaceFlags(['mnt', 'bogus' as never])).toThrow(/unknown namespace type "bogus"/);
  });
  it('mount flags', () => {
    expect(mountFlagNames(MS.REC | MS.PRIVATE)).toBe('MS_REC|MS_PRIVATE');
  });
  it('makedev matches the kernel encoding', () => {
    expect(makedev(1, 3)).toBe(0x103);
    expect(makedev(5, 0)).toBe(0x500);
  });
});

describe('errors', () => {
  it('name the call, its arguments and the errno', () => {
    const e = new SyscallError('mount', ['overlay', '/x/merged', 'overlay', 0, null], 22);
    expect(errnoName(22)).toBe('EINVAL');
    expect(e.message).toBe('mount("overlay", "/x/merged", "overlay", 0, NULL): EINVAL (Invalid argument)');
    expect(e.code).toBe('EINVAL');
    expect(e).toBeInstanceOf(HintedError);
    expect(e.name).toBe('SyscallError');
    expect(e.toJSON()).toEqual({ call: 'mount', args: ['"overlay"', '"/x/merged"', '"overlay"', '0', 'NULL'], errno: 22, code: 'EINVAL', message: e.message });
  });
  it('a hinted error is named after its class and keeps its hint and cause', () => {
    class SomeError extends HintedError {}
    const cause = new Error('below');
    const e = new SomeError('it failed', 'do this', { cause });
    expect([e.name, e.message, e.hint, e.cause]).toEqual(['SomeError', 'it failed', 'do this', cause]);
    expect(new HintedError('plain').hint).toBeUndefined();
  });
  it('syscall numbers per architecture', () => {
    expect(syscallNumbers('x64').pivot_root).toBe(155);
    expect(syscallNumbers('arm64').pivot_root).toBe(41);
    expect(() => syscallNumbers('sparc')).toThrow(/does not know the syscall numbers for sparc/);
  });
});
