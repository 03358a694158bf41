import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The Temporal native bridge crashes under the threads pool; each file gets its own process.
    pool: 'forks',
    // scratch.ts gives the run its own TMPDIR, removed at the end (first, so the dev server inherits it too);
    // runtime.ts builds the sandbox runtimes; global-setup.ts starts ONE Temporal dev server for the run
    // (inject('temporalAddress')).
    globalSetup: ['test/setup/scratch.ts', 'test/setup/runtime.ts', 'test/global-setup.ts'],
    testTimeout: 90_000,
    hookTimeout: 240_000,
    // Two cores: more files at once only makes every sandbox slower and timeouts flakier.
    maxWorkers: 2,
    // `capsule exec` in a test runs in its own process: a resident exec server would outlive the test and serve the
    // next file's calls. test/cli/exec-server.test.ts turns it on, in a directory of its own.
    env: { CAPSULE_EXEC_SERVER: 'off' },
  },
});
