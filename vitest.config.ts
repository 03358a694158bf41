import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The Temporal native bridge crashes under the threads pool; each file gets its own process.
    pool: 'forks',
    globalSetup: ['test/setup/runtime.ts'],
    testTimeout: 90_000,
    hookTimeout: 240_000,
    // Two cores: more files at once only makes every sandbox slower and timeouts flakier.
    maxWorkers: 2,
  },
});
