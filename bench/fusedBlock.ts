/**
 * `kmfit bench`: times the fused block out = k(X, Z)·α on each backend for fixed shapes, reported
 * as GFLOP/s-equivalent (2·m·n·d / seconds) so that backends and the numpy/OpenBLAS baseline
 * compare side by side in one run. The repetitions are interleaved — each round times one call of
 * every contender, in a rotating order, right after an untimed call that brings its data back
 * into the caches — so that a machine whose load changes during the run slows all of them alike
 * and the ratios stay put; each figure is the median over the rounds.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import type { Backend, CenterSet } from '../src/backends/backend.js';
import type { Matrix } from '../src/matrix.js';
import { benchKernel, byteMatrix, median, uniformMatrix } from './timing.js';

export interface BenchShape {
  readonly m: number;
  readonly n: number;
  readonly d: number;
  readonly l: number;
  /** Rows and centers of bytes ÷ 255 (byteMatrix) instead of uniform values. */
  readonly bytes?: boolean;
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

/** One contender, ready for a shape: each call of `time` runs the fused block once. */
export interface TimedBlock {
  readonly backend: string;
  readonly threads: number | null;
  /** Seconds of one call. */
  time(): Promise<number>;
  dispose(): void;
}

/**
 * The laplacian fused block on `backend` (σ = √(d/6), the typical distance of uniform data, so the
 * transform sees realistic values), after one warm-up call.
 */
export async function backendBlock(backend: Backend, shape: BenchShape): Promise<TimedBlock> {
  const { m, n, d, l } = shape;
  const points = shape.bytes ? byteMatrix : uniformMatrix;
  const centers = await backend.createCenterSet(benchKernel(d), points(n, d, 1), l);
  await centers.setWeights(uniformMatrix(n, l, 2).data.map((a) => a - 0.5));
  return timedPredict(backend.name, backend, centers, points(m, d, 3));
}

/** Times centers.predict(X) (after one warm-up call), as `name`; disposing it disposes the centers. */
export async function timedPredict(name: string, backend: Backend, centers: CenterSet, X: Matrix): Promise<TimedBlock> {
  const out = new Float32Array(X.rows * centers.outputs);
  await centers.predict(X, out);
  return {
    backend: name,
    threads: backend.describe().threads ?? null,
    async time() {
      const started = performance.now();
      await centers.predict(X, out);
      return (performance.now() - started) / 1000;
    },
    dispose: () => centers.dispose(),
  };
}

/** `repetitions` rounds over `blocks`, each starting one contender further on; medians per contender. */
export async function benchInterleaved(blocks: readonly TimedBlock[], shape: BenchShape, repetitions: number): Promise<BenchResult[]> {
  const seconds = blocks.map((): number[] => []);
  for (let round = 0; round < repetitions; round++) {
    for (let k = 0; k < blocks.length; k++) {
      const which = (round + k) % blocks.length;
      await blocks[which].time(); // untimed: brings the contender's data back into the caches
      seconds[which].push(await blocks[which].time());
    }
  }
  return blocks.map((block, i) => {
    const medianSeconds = median(seconds[i]);
    const { m, n, d } = shape;
    return { backend: block.backend, kernel: 'laplacian', ...shape, threads: block.threads, gflops: (2 * m * n * d) / medianSeconds / 1e9, medianSeconds };
  });
}

/** The fused block on one backend alone: the median of `repetitions` calls. */
export async function benchFusedBlock(backend: Backend, shape: BenchShape, repetitions: number): Promise<BenchResult> {
  const block = await backendBlock(backend, shape);
  try {
    return (await benchInterleaved([block], shape, repetitions))[0];
  } finally {
    block.dispose();
  }
}

export const BASELINE_PYTHON = '/usr/bin/python3';

/**
 * The numpy/OpenBLAS baseline, when Debian's numpy is installed: a Python process that serves
 * timed calls (bench/openblas_fused.py). OPENBLAS_CORETYPE=SkylakeX: Debian's OpenBLAS 0.3.21
 * misdetects this CPU family and runs ≈5× slower without it.
 */
export class OpenBlasBaseline {
  private readonly answers: AsyncIterator<string>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  /** The baseline, or why there is none. */
  static start(script: string): OpenBlasBaseline | string {
    if (!existsSync(BASELINE_PYTHON) || spawnSync(BASELINE_PYTHON, ['-c', 'import numpy']).status !== 0) {
      return `no baseline: ${BASELINE_PYTHON} has no numpy (apt-get install python3-numpy)`;
    }
    const child = spawn(BASELINE_PYTHON, [script], {
      env: { ...process.env, OPENBLAS_CORETYPE: 'SkylakeX', OPENBLAS_NUM_THREADS: String(os.availableParallelism()) },
    });
    return new OpenBlasBaseline(child);
  }

  /** The fused block of `shape` in numpy, after one warm-up call. */
  async block(shape: BenchShape): Promise<TimedBlock> {
    const call = async (): Promise<number> => {
      this.child.stdin.write(`${shape.m},${shape.n},${shape.d},${shape.l}\n`);
      const answer = await this.answers.next();
      if (answer.done) throw new Error(`the OpenBLAS baseline stopped (exit ${this.child.exitCode ?? 'unknown'})`);
      return (JSON.parse(answer.value) as { seconds: number }).seconds;
    };
    await call();
    return { backend: 'openblas', threads: os.availableParallelism(), time: call, dispose: () => {} };
  }

  close(): void {
    this.child.stdin.end();
  }
}
