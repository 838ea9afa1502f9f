import * as path from 'path';
import { defineConfig } from 'vitest/config';

/**
 * Every package's vitest settings: tests beside the code (src/**\/*.test.ts), one process per test file (tfjs
 * backends never mix in one process), and one temporary folder per run (vitest-tmpdir.ts). A package's own
 * vitest.config.ts names its time limit for one test.
 */
export const packageTestConfig = (testTimeout: number) => defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: [path.join(__dirname, 'vitest-tmpdir.ts')],
    pool: 'forks',
    testTimeout,
    hookTimeout: 60_000,
  },
});
