/**
 * `kmfit bench`: times the fused block out = k(X, Z)·α on each backend for fixed shapes, median of
 * several repetitions, reported as GFLOP/s-equivalent (2·m·n·d / seconds) so that backends and the
 * numpy/OpenBLAS baseline compare side by side in one run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import type { Backend } from '../backends/backend.js';
import { benchKernel, timeMedian, uniformMatrix } from './timing.js';

export interface BenchShape {
  readonly m: number;
  readonly n: number;
  readonly d: number;
  readonly l: number;
}

export interface BenchResult extends BenchShape {
  readonly backend: string;
  readonly kernel: string;
  readonly threads: number | null;
  readonly gflops: number;
  readonly medianSeconds: number;
}

export const DEFAULT_SHAPES: readonly BenchShape[] = [
  { m: 1024, n: 8192, d: 784, l: 10 },
  { m: 1024, n: 8192, d: 64, l: 10 },
];

/**
 * Times the laplacian fused block on `backend` (σ = √(d/6), the typical distance of uniform data,
 * so the transform sees realistic values). The first call is a warm-up.
 */
export async function benchFusedBlock(backend: Backend, shape: BenchShape, repetitions: number): Promise<BenchResult> {
  const { m, n, d, l } = shape;
  const kernel = benchKernel(d);
  const centers = await backend.createCenterSet(kernel, uniformMatrix(n, d, 1), l);
  try {
    await centers.setWeights(uniformMatrix(n, l, 2).data.map((a) => a - 0.5));
    const X = uniformMatrix(m, d, 3);
    const out = new Float32Array(m * l);
    const medianSeconds = await timeMedian(repetitions, () => centers.predict(X, out));
    return {
      backend: backend.name,
      kernel: 'laplacian',
      ...shape,
      threads: backend.describe().threads ?? null,
      gflops: (2 * m * n * d) / medianSeconds / 1e9,
      medianSeconds,
    };
  } finally {
    centers.dispose();
  }
}

export const BASELINE_PYTHON = '/usr/bin/python3';

/**
 * The numpy/OpenBLAS baseline, when Debian's numpy is installed. OPENBLAS_CORETYPE=SkylakeX: Debian's
 * OpenBLAS 0.3.21 misdetects this CPU family and runs ≈5× slower without it.
 */
export function benchOpenBlas(script: string, shapes: readonly BenchShape[], repetitions: number): BenchResult[] | string {
  if (!existsSync(BASELINE_PYTHON) || spawnSync(BASELINE_PYTHON, ['-c', 'import numpy']).status !== 0) {
    return `no baseline: ${BASELINE_PYTHON} has no numpy (apt-get install python3-numpy)`;
  }
  const args = [script, String(repetitions), ...shapes.map((s) => `${s.m},${s.n},${s.d},${s.l}`)];
  const result = spawnSync(BASELINE_PYTHON, args, {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_CORETYPE: 'SkylakeX', OPENBLAS_NUM_THREADS: String(os.availableParallelism()) },
  });
  if (result.status !== 0) return `the baseline failed: ${result.stderr.trim().split('\n').at(-1)}`;
  return result.stdout.trim().split('\n').map((line) => JSON.parse(line) as BenchResult);
}
