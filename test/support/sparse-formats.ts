// The four ways GNU tar --sparse writes a sparse file: its --format, and the options after it.
export const GNU_SPARSE_FORMATS = [
  ['posix', []],
  ['posix', ['--sparse-version=0.0']],
  ['posix', ['--sparse-version=0.1']],
  ['gnu', []],
] as const;
