import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // End-to-end suites spawn node processes: two at a time suits a 2-core machine.
    maxWorkers: 2,
  },
});
