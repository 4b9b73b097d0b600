import { defineConfig } from 'vitest/config';

// Tests run as root against the real kernel. They share global kernel names (the cgroup
// "container", lesson containers), so files run one after another, and each file is
// checked for kernel state it left behind (test/support/leak-guard.ts).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ['test/support/leak-guard.ts'],
  },
});
