import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// GPU tests share one lavapipe device per worker; two workers match the 2-core CI machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Kernel choices are timed and remembered per run of the suite, never in the user's cache.
    env: { RHIZOCT_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rhizoct-test-cache-')) },
    maxWorkers: 2,
    // The viewer is built once, before any browser test serves it.
    globalSetup: ['test/helpers/build-viewer.ts'],
  },
});
