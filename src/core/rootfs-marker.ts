/** A file at the top of every root filesystem the project builds or imports. Checks find
 * a lesson's container by looking for it through /proc/<pid>/root. */
export const ROOTFS_MARKER = '.container-lessons-rootfs';
