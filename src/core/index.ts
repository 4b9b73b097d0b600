// The shared core: every syscall the lessons make goes through here.
export * from './errors.js';
export * as libc from './libc.js';
export { SyscallError, NAMESPACE_TYPES, NAMESPACES, type Namespace } from './libc.js';
export * from './ledger.js';
export * from './cgroup.js';
export * from './overlay.js';
export * from './container.js';
export { idleHelpers } from './helper-pool.js';
export * from './capabilities.js';
// Confinement types and the check of one; applying and reading one happen in helpers only.
export { checkConfinement } from './confine.js';
export * from './pty.js';
export * from './rootless.js';
export * from './rootfs.js';
export { findHostTool } from './host-tools.js';
export * as procfs from './procfs.js';
export * as seccomp from './seccomp.js';
export * from './journal.js';
export * from './undo.js';
export * from './locks.js';
export { Netlink, type Link, type Address } from './netlink.js';
export type { NetOp, TcpSpec, TcpResult } from './nsinit.js';
export type { PingResult } from './icmp.js';
export * as routes from './routes.js';
export * from './layers.js';
export * from './image.js';
export * from './layer-tar.js';
export * from './layer-compare.js';
