import { defineConfig } from 'vitest/config';

// GPU tests share one lavapipe device per worker; two workers match the 2-core CI machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // The viewer is built once, before any browser test serves it.
    globalSetup: ['test/helpers/build-viewer.ts'],
  },
});
