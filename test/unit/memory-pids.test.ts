// Lesson 8's swap rule, as pure logic: with swap on, the group's swap must be held (v2
// memory.swap.max 0, v1 memory + swap equal to the limit), or the hog swaps instead of being
// killed. The real kernel's side is in test/integration/memory-pids-lesson.test.ts, which
// can put the group in this state only on a machine with swap.
import { describe, it, expect } from 'vitest';
import { swapVerdict, swapDevices, MEMORY_LIMIT } from '../../src/lessons/08-memory-pids.js';

const v2 = { version: 2 as const, swapFile: '/sys/fs/cgroup/container/memory.swap.max', memoryLimit: MEMORY_LIMIT };
const v1 = { version: 1 as const, swapFile: '/sys/fs/cgroup/memory/container/memory.memsw.limit_in_bytes', memoryLimit: MEMORY_LIMIT };

describe('swapDevices', () => {
  it('reads the devices under /proc/swaps header, and none from the header alone', () => {
    expect(swapDevices('Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n')).toEqual([]);
    expect(swapDevices('Filename\tType\tSize\tUsed\tPriority\n/swapfile                               file\t\t2097148\t\t0\t\t-2\n')).toEqual(['/swapfile']);
  });
});

describe('swapVerdict', () => {
  it('passes without swap, whatever the files say', () => {
    expect(swapVerdict({ ...v2, swaps: [], swapValue: 'max' }).ok).toBe(true);
    expect(swapVerdict({ ...v1, swaps: [], swapValue: null }).ok).toBe(true);
  });
  it('v2 with swap: 0 passes, max fails with the command', () => {
    expect(swapVerdict({ ...v2, swaps: ['/swapfile'], swapValue: '0\n' }).ok).toBe(true);
    const bad = swapVerdict({ ...v2, swaps: ['/swapfile'], swapValue: 'max\n' });
    expect(bad).toMatchObject({ ok: false, reason: 'swap is on (/swapfile); memory.swap.max is max' });
    expect(bad.hint).toBe(`swap is left unlimited, so the hog swaps instead of being killed: echo 0 > ${v2.swapFile}`);
  });
  it('v1 with swap: memory + swap equal to the limit passes; unlimited fails', () => {
    expect(swapVerdict({ ...v1, swaps: ['/dev/sda2'], swapValue: `${MEMORY_LIMIT}\n` }).ok).toBe(true);
    const bad = swapVerdict({ ...v1, swaps: ['/dev/sda2'], swapValue: '9223372036854771712\n' });
    expect(bad.ok).toBe(false);
    expect(bad.reason).toMatch(/memory\.memsw\.limit_in_bytes is unlimited, the memory limit 64 MiB/);
    expect(bad.hint).toMatch(/echo 64M > .*memory\.memsw\.limit_in_bytes$/);
  });
  it('with swap and no swap accounting (no file): fails, saying to turn swap off', () => {
    const bad = swapVerdict({ ...v2, swaps: ['/swapfile'], swapValue: null });
    expect(bad.ok).toBe(false);
    expect(bad.hint).toMatch(/swapoff -a/);
  });
});
