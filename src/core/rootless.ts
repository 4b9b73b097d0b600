// A rootless container's first stage. unshare(CLONE_NEWUSER) fails with EINVAL in a
// multithreaded process (kernel/fork.c: a new user namespace needs a single-threaded
// caller), and every Node process has several threads from its start: neither the driver
// nor nsinit can make or join a user namespace. runc meets the same wall with Go and
// solves it with nsexec, C code that runs in the process before the Go runtime starts its
// threads. Here the first stage is a chain of two single-threaded C programs from
// util-linux that each exec the next:
//   setpriv --reuid U --regid G --clear-groups   drop the host's root: become uid U
//   unshare --user --map-root-user               new user namespace, uid_map "0 U 1",
//                                                gid_map "0 G 1", setgroups "deny"
//   node nsinit.js run ...                       the core's helper, root inside only
// U needs no passwd entry (setpriv takes a number), so no user is made on the host.
import fs from 'node:fs';
import path from 'node:path';
import { HintedError } from './errors.js';
import { t } from '../i18n/messages.js';
import { findHostTool } from './host-tools.js';

/** The unprivileged uid and gid a rootless container runs as (root inside maps to them). */
export interface Rootless {
  uid: number;
  gid: number;
}

/** The first stage's command: `file` and its arguments, ending in `argv`. */
export function rootlessCommand(user: Rootless, argv: string[]): [string, string[]] {
  const setpriv = findHostTool('setpriv');
  const unshare = findHostTool('unshare');
  if (!setpriv || !unshare) {
    throw new HintedError(t`a rootless container needs util-linux's ${setpriv ? 'unshare' : 'setpriv'}, which this machine lacks`, t`install util-linux (apt-get install util-linux; it is on every distribution)`);
  }
  // biome-ignore format: option-value pairs
  return [setpriv, ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', '--', unshare, '--user', '--map-root-user', '--', ...argv]];
}

/** Pure: can `who` search (x) a directory, or read and run (r, x) a file, with this mode
 * and owner? Root inside a user namespace has no power over the host's files: only these
 * permission bits count. */
export function permits(st: { mode: number; uid: number; gid: number }, who: Rootless, bits: number): boolean {
  const shift = st.uid === who.uid ? 6 : st.gid === who.gid ? 3 : 0;
  return ((st.mode >> shift) & bits) === bits;
}

/** The first directory on the way to `target` that uid `who` cannot search, or null. */
export function blockingDirectory(target: string, who: Rootless, stat: (p: string) => { mode: number; uid: number; gid: number } = fs.statSync): string | null {
  const parts = path.resolve(target).split('/').filter(Boolean);
  let dir = '/';
  for (let i = 0; i < parts.length; i++) {
    if (!permits(stat(dir), who, 1)) return dir;
    dir = path.join(dir, parts[i]!);
  }
  return null;
}

/** Every file the first stage runs as the unprivileged uid must be within its reach (node,
 * nsinit.js, the rootfs): refuse with what blocks it rather than fail in the helper. */
export function checkRootlessReach(who: Rootless, targets: string[]): void {
  for (const target of targets) {
    const blocking = blockingDirectory(target, who);
    if (blocking) {
      const st = fs.statSync(blocking);
      throw new HintedError(
        t`a rootless container runs as uid ${who.uid}, which cannot reach ${target}: ${blocking} is mode ${(st.mode & 0o777).toString(8)}, owned by uid ${st.uid}`,
        t`keep the lab where that user can reach it: run the workbook with sudo from your own account (the lab is then in your home), or set CONTAINER_LESSONS_HOME to a directory like /var/tmp/container-lessons`,
      );
    }
  }
}

/** Pure: an id for the lesson when there is no ordinary user: the first from `from` up that
 * is neither a uid in passwd nor a gid in group, used as both uid and gid. The same on
 * every call, so that the text's commands and the workbook's container agree. */
export function unusedUid(passwd: string, group: string, from = 20000): number {
  const third = (text: string) => text.split('\n').map((l) => Number(l.split(':')[2]));
  const taken = new Set([...third(passwd), ...third(group)]);
  let uid = from;
  while (taken.has(uid)) uid++;
  return uid;
}

/** What this kernel says about user namespaces made by an unprivileged user. */
export interface UsernsSettings {
  /** /proc/self/ns/user exists. */
  supported: boolean;
  /** kernel.unprivileged_userns_clone (Debian and Ubuntu kernels before 6.x; null: absent). */
  unprivilegedClone: string | null;
  /** user.max_user_namespaces (0 forbids every new one). */
  maxUserNamespaces: string | null;
  /** kernel.apparmor_restrict_unprivileged_userns (Ubuntu 23.10+; null: absent). */
  apparmorRestrict: string | null;
}

const readSetting = (file: string): string | null => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
};

export function usernsSettings(): UsernsSettings {
  return {
    supported: fs.existsSync('/proc/self/ns/user'),
    unprivilegedClone: readSetting('/proc/sys/kernel/unprivileged_userns_clone'),
    maxUserNamespaces: readSetting('/proc/sys/user/max_user_namespaces'),
    apparmorRestrict: readSetting('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
  };
}

/** Pure: the settings as read, for a report: "user.max_user_namespaces = 15000, ...". */
export function describeUserns(s: UsernsSettings): string {
  const shown = (name: string, v: string | null) => (v === null ? t`${name} absent` : `${name} = ${v}`);
  return [shown('user.max_user_namespaces', s.maxUserNamespaces), shown('kernel.unprivileged_userns_clone', s.unprivilegedClone), shown('kernel.apparmor_restrict_unprivileged_userns', s.apparmorRestrict)].join(', ');
}

/** Pure: why an unprivileged user cannot make a user namespace here, with the fix; null
 * when it can. */
export function usernsBlocked(s: UsernsSettings): { reason: string; fix: string } | null {
  if (!s.supported) return { reason: t`the kernel has no user namespaces`, fix: t`use a kernel built with CONFIG_USER_NS (every distribution kernel is)` };
  if (s.maxUserNamespaces === '0') return { reason: t`user.max_user_namespaces is 0`, fix: t`sysctl -w user.max_user_namespaces=15000 (for the lesson; set it back afterwards)` };
  if (s.unprivilegedClone === '0') return { reason: t`kernel.unprivileged_userns_clone is 0: only root may make user namespaces`, fix: t`sysctl -w kernel.unprivileged_userns_clone=1 (for the lesson; set it back to 0 afterwards)` };
  if (s.apparmorRestrict === '1') {
    return {
      reason: t`AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1, Ubuntu 24.04's default): the user namespace is made, but without capabilities in it`,
      fix: t`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 for the lesson, and set it back to 1 afterwards`,
    };
  }
  return null;
}
