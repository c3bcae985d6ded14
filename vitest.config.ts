import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The shared test harness is a path alias rather than a package dependency, so packages
    // do not depend on the test workspace that depends on them.
    alias: [
      {
        find: /^@outbound\/test\/(.*)$/,
        replacement: fileURLToPath(new URL('./test/support/$1.ts', import.meta.url)),
      },
      {
        find: /^@outbound\/fakes\/(.*)$/,
        replacement: fileURLToPath(new URL('./test/fakes/$1.ts', import.meta.url)),
      },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Every test file gets its own database and Redis prefix, so files run in parallel safely.
    pool: 'forks',
    // Vitest's default is one worker per core but one; the files here mostly wait on Postgres,
    // Redis and child processes, so three run side by side even on two cores.
    maxWorkers: 3,
    testTimeout: 20_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
});
