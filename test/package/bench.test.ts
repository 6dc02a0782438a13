/** `kmfit bench` on a small shape: JSON of the documented form, the baseline present where numpy is. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUN_NUMPY_TESTS } from '../helpers/numpy.js';

const cli = path.resolve(__dirname, '../../dist/cli/main.js');

describe('kmfit bench', () => {
  it('prints { backend, kernel, m, n, d, l, threads, gflops, medianSeconds } per backend and shape', () => {
    const run = spawnSync(process.execPath, [cli, 'bench', '--backends', 'js', '--reps', '2', '--shape', '64,300,33,3', '--json'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    const results = JSON.parse(run.stdout) as Record<string, unknown>[];
    const js = results.find((r) => r.backend === 'js')!;
    expect(js).toMatchObject({ kernel: 'laplacian', m: 64, n: 300, d: 33, l: 3, threads: 1 });
    expect(js.gflops as number).toBeGreaterThan(0);
    // GFLOP/s-equivalent is 2·m·n·d / seconds.
    expect(js.gflops as number).toBeCloseTo((2 * 64 * 300 * 33) / (js.medianSeconds as number) / 1e9, 6);
    if (RUN_NUMPY_TESTS) expect(results.map((r) => r.backend)).toContain('openblas');
  });

  it('rejects a malformed shape', () => {
    const run = spawnSync(process.execPath, [cli, 'bench', '--shape', '1,2,3'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--shape must be four positive integers');
  });
});
