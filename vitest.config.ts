import { defineConfig } from 'vitest/config';

/**
 * Tests that compare timings of their own (plain against preconditioned training in one study) or
 * bound a duration (the demo page's longest main-thread task during training): they run last, one
 * file at a time, with nothing else on the machine.
 */
const TIMED = ['test/study/scaling.test.ts', 'test/browser/demo.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The solver tests are CPU-bound; two workers match this machine's two cores.
    pool: 'forks',
    maxWorkers: 2,
    // The suite's own TMPDIR and cache, checked for leftovers at the end.
    globalSetup: ['test/globalSetup.ts'],
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: TIMED, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'timed', include: TIMED, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
