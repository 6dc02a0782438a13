import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Tests that compare timings of their own (plain against preconditioned training in one study):
 * they run last, one file at a time, with nothing else on the machine.
 */
const TIMED = ['test/study/scaling.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The solver tests are CPU-bound; two workers match this machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
    // Capacity calibrations taken under the test load must not land in the user's cache.
    env: { XDG_CACHE_HOME: mkdtempSync(path.join(os.tmpdir(), 'kmfit-test-cache-')) },
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: TIMED, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'timed', include: TIMED, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
