import { defineConfig } from 'vitest/config';

// Tests run as root against the real kernel. They share global kernel names (the cgroup
// "container", lesson containers), so files run one after another. The global setup
// compares the machine's kernel state before and after the whole run.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: ['test/support/global-leaks.ts'],
  },
});
