// The leak guard's pure part: what counts as a leak, and its constants kept equal to the
// sources it cannot import in test:vm's guest.
import { describe, it, expect } from 'vitest';
import { leaks, TAG_VAR as GUARD_TAG, ROOTFS_MARKER as GUARD_MARKER, type KernelState } from '../support/kernel-state.mjs';
import { TAG_VAR } from '../../src/core/journal.js';
import { ROOTFS_MARKER } from '../../src/core/rootfs-marker.js';

const empty = (): KernelState => ({ mounts: [], cgroups: [], subtreeControl: [], processes: [], links: [], routes: [], netns: [], sysctls: [], nft: [] });

describe('the leak guard', () => {
  it('knows the project by the same tag and rootfs marker as the sources', () => {
    expect(GUARD_TAG).toBe(TAG_VAR);
    expect(GUARD_MARKER).toBe(ROOTFS_MARKER);
  });
  it('reports what appeared, per kind, as a multiset', () => {
    const before = { ...empty(), mounts: ['/ ext4'], links: ['lo up 127.0.0.1/8', 'eth0 up'] };
    expect(leaks(before, before)).toEqual({});
    expect(leaks(before, { ...before, mounts: ['/ ext4', '/x overlay'], cgroups: ['/sys/fs/cgroup/container'] })).toEqual({ mounts: ['+ /x overlay'], cgroups: ['+ /sys/fs/cgroup/container'] });
    expect(leaks(before, { ...before, mounts: ['/ ext4', '/ ext4'] })).toEqual({ mounts: ['+ / ext4'] });
  });
  it("reports what went where going is damage too (a mount, a link's address, a setting), not where it is not (a process, a group)", () => {
    const before = { ...empty(), mounts: ['/ ext4 shared:1'], links: ['eth0 up 10.0.0.2/24'], processes: ['12 sh'], cgroups: ['/sys/fs/cgroup/x'], sysctls: ['ipv4/ip_forward:0'] };
    const after = { ...before, mounts: ['/ ext4 private'], links: ['eth0 up'], processes: [], cgroups: [], sysctls: ['ipv4/ip_forward:1'] };
    expect(leaks(before, after)).toEqual({
      mounts: ['+ / ext4 private', '- / ext4 shared:1'],
      links: ['+ eth0 up', '- eth0 up 10.0.0.2/24'],
      sysctls: ['+ ipv4/ip_forward:1', '- ipv4/ip_forward:0'],
    });
  });
});
