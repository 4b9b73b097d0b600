// The rootless first stage's pure parts: who can reach a path, an unused uid, and what the
// kernel's settings say about unprivileged user namespaces.
import { describe, it, expect } from 'vitest';
import { permits, blockingDirectory, unusedUid, usernsBlocked, rootlessCommand, type UsernsSettings } from '../../src/core/rootless.js';

const who = { uid: 20000, gid: 20000 };

describe('permits', () => {
  it('reads the owner, group or other bits, whichever applies', () => {
    expect(permits({ mode: 0o700, uid: 0, gid: 0 }, who, 1)).toBe(false);
    expect(permits({ mode: 0o701, uid: 0, gid: 0 }, who, 1)).toBe(true);
    expect(permits({ mode: 0o710, uid: 0, gid: 20000 }, who, 1)).toBe(true);
    expect(permits({ mode: 0o070, uid: 20000, gid: 20000 }, who, 1)).toBe(false); // the owner's bits, not the group's
    expect(permits({ mode: 0o755, uid: 0, gid: 0 }, who, 5)).toBe(true);
    expect(permits({ mode: 0o751, uid: 0, gid: 0 }, who, 5)).toBe(false);
  });
});

describe('blockingDirectory', () => {
  const tree: Record<string, { mode: number; uid: number; gid: number }> = {
    '/': { mode: 0o755, uid: 0, gid: 0 },
    '/root': { mode: 0o700, uid: 0, gid: 0 },
    '/root/lab': { mode: 0o755, uid: 0, gid: 0 },
    '/var': { mode: 0o755, uid: 0, gid: 0 },
    '/var/tmp': { mode: 0o1777, uid: 0, gid: 0 },
  };
  const stat = (p: string) => tree[p] ?? { mode: 0o755, uid: 0, gid: 0 };
  it('names the first directory the uid cannot search', () => {
    expect(blockingDirectory('/root/lab/rootfs', who, stat)).toBe('/root');
    expect(blockingDirectory('/var/tmp/lab/rootfs', who, stat)).toBeNull();
  });
});

describe('unusedUid', () => {
  it('skips uids in passwd and gids in group', () => {
    const passwd = 'root:x:0:0::/root:/bin/sh\nsomeone:x:20000:20000::/home/someone:/bin/sh\n';
    expect(unusedUid(passwd, 'staff:x:20001:\n')).toBe(20002);
    expect(unusedUid('', '')).toBe(20000);
  });
});

describe('usernsBlocked', () => {
  const open: UsernsSettings = { supported: true, unprivilegedClone: null, maxUserNamespaces: '15000', apparmorRestrict: null };
  it('nothing when an unprivileged user may make one', () => {
    expect(usernsBlocked(open)).toBeNull();
    expect(usernsBlocked({ ...open, unprivilegedClone: '1', apparmorRestrict: '0' })).toBeNull();
  });
  it('each setting that forbids it, with the sysctl that allows it', () => {
    expect(usernsBlocked({ ...open, supported: false })?.fix).toMatch(/CONFIG_USER_NS/);
    expect(usernsBlocked({ ...open, maxUserNamespaces: '0' })?.fix).toMatch(/user\.max_user_namespaces=/);
    expect(usernsBlocked({ ...open, unprivilegedClone: '0' })?.fix).toMatch(/kernel\.unprivileged_userns_clone=1/);
    expect(usernsBlocked({ ...open, apparmorRestrict: '1' })?.fix).toMatch(/apparmor_restrict_unprivileged_userns=0/);
  });
});

describe('rootlessCommand', () => {
  it('drops to the uid with setpriv, then makes the user namespace with unshare, then runs argv', () => {
    const [file, args] = rootlessCommand(who, ['/usr/bin/node', 'nsinit.js', 'run', '{}']);
    expect(file).toMatch(/setpriv$/);
    expect(args.slice(0, 6)).toEqual(['--reuid', '20000', '--regid', '20000', '--clear-groups', '--']);
    expect(args[6]).toMatch(/unshare$/);
    expect(args.slice(7)).toEqual(['--user', '--map-root-user', '--', '/usr/bin/node', 'nsinit.js', 'run', '{}']);
  });
});
