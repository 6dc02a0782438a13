import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The solver tests are CPU-bound; two workers match this machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
    // Capacity calibrations taken under the test load must not land in the user's cache.
    env: { XDG_CACHE_HOME: mkdtempSync(path.join(os.tmpdir(), 'kmfit-test-cache-')) },
  },
});
