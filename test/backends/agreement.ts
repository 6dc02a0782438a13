/**
 * The heart of the conformance suite, free of vitest so that a browser page can run it too: every
 * kernel, on awkward shapes, against a naive float64 evaluation of the same sums.
 */
import { chooseKernel, makeKernel, type KernelOption } from '../../kernels/index.js';
import type { Kernel } from '../../kernels/kernel.js';
import type { Backend, CenterSet } from '../../src/backends/backend.js';
import { uniformMatrix as randomMatrix } from '../../bench/timing.js';
import type { Matrix } from '../../src/matrix.js';

export const KERNELS: KernelOption[] = [
  'laplacian',
  'gaussian',
  { name: 'exppower', gamma: 0.7 },
  'cauchy',
  { name: 'matern', nu: 0.5 },
  { name: 'matern', nu: 1.5 },
  { name: 'matern', nu: 2.5 },
  'exp(-sqrt(r) / sigma)',
];

/**
 * Every built-in kernel and custom formulas over the whole vocabulary of kernel expressions, for
 * the tests of the translations into device code (WGSL, ONNX operators).
 */
export const TRANSLATED_KERNELS: KernelOption[] = [
  ...KERNELS,
  { name: 'exppower', gamma: 2 },
  'exp(-r^1.5 / sigma)',
  { formula: '1 / (1 + (r / sigma)^2)^beta', params: { beta: 1.5 } },
  'max(0, 1 - r / sigma)^2',
  '1 - tanh(r / sigma)',
  'pi * exp(-abs(r) / sigma) + e * exp(-r^2 / sigma)',
  'exp(-r / sigma) + cos(r) * sin(r) / 10',
  'min(exp(-r), 1 / cosh(r), 1 / (1 + sinh(r)^2)) + log(1 + 1 / (1 + r))',
];

/**
 * The suite's bandwidth. Other backend tests use it too where any bandwidth would do: a software
 * GPU driver (lavapipe) takes 10–20 s to compile a kernel's shader, whose text holds the
 * bandwidth, and compiles each text only once a run thanks to Mesa's shader cache.
 */
export const SUITE_BANDWIDTH = 0.8;

/** The kernels above at the suite's bandwidth. */
export function conformanceKernels(): Kernel[] {
  return KERNELS.map((option) => makeKernel(chooseKernel(option), SUITE_BANDWIDTH));
}

// m, n, d, l: not multiples of any block size, d = 1, n smaller than a block, m = 1, and centers
// in several of the wasm backend's tiles.
export const SHAPES: [number, number, number, number][] = [
  [9, 4500, 3, 2],
  [7, 13, 5, 3],
  [1, 1, 1, 1],
  [1, 300, 3, 2],
  [33, 517, 1, 10],
  [5, 3, 70, 1],
  [130, 260, 17, 4],
];

/** k(X[i], Z[j]) in float64, from the coordinates. */
export function naiveKernel(value: (r2: number) => number, X: Matrix, Z: Matrix, i: number, j: number): number {
  let r2 = 0;
  for (let k = 0; k < X.cols; k++) r2 += (X.data[i * X.cols + k] - Z.data[j * Z.cols + k]) ** 2;
  return value(r2);
}

/**
 * Where predictAndPullBack's residual k(X, Z)·α + offset and pulled k(Z, X)·(scale·residual)
 * differ from float64 by more than `tolerance` relative to Σ|terms|.
 */
export async function pullBackDisagreements(
  centers: CenterSet,
  kernel: Kernel,
  X: Matrix,
  Z: Matrix,
  alpha: Float32Array,
  tolerance: number,
  label: string,
): Promise<string[]> {
  const { rows: m } = X;
  const { rows: n } = Z;
  const l = centers.outputs;
  const offset = randomMatrix(m, l, m + 2 * l).data.map((a) => a - 0.5);
  const scale = -0.7;
  const residual = new Float32Array(m * l).fill(NaN);
  const pulled = new Float32Array(n * l).fill(NaN);
  await centers.predictAndPullBack!(X, offset, scale, residual, pulled);
  const found: string[] = [];
  const K = Array.from({ length: m }, (_, i) => Array.from({ length: n }, (_, j) => naiveKernel(kernel.value, X, Z, i, j)));
  const expected = new Float64Array(m * l);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < l; c++) {
      let sum = offset[i * l + c];
      let size = Math.abs(sum);
      for (let j = 0; j < n; j++) {
        sum += K[i][j] * alpha[j * l + c];
        size += Math.abs(K[i][j] * alpha[j * l + c]);
      }
      expected[i * l + c] = sum;
      if (!(Math.abs(residual[i * l + c] - sum) <= tolerance * size + 1e-7)) found.push(`${label} residual [${i}, ${c}]: ${residual[i * l + c]} vs ${sum}`);
    }
  }
  for (let j = 0; j < n; j++) {
    for (let c = 0; c < l; c++) {
      let sum = 0;
      let size = 0;
      for (let i = 0; i < m; i++) {
        sum += K[i][j] * scale * expected[i * l + c];
        size += Math.abs(K[i][j] * scale * expected[i * l + c]);
      }
      if (!(Math.abs(pulled[j * l + c] - sum) <= tolerance * size + 1e-7)) found.push(`${label} pulled [${j}, ${c}]: ${pulled[j * l + c]} vs ${sum}`);
    }
  }
  return found;
}

/**
 * Entries where `backend` and float64 differ by more than `tolerance`, relative to Σ|terms| for the
 * fused block (over centers j0…n) and to |k| for the materialized block; empty when they agree.
 * A backend with predictAndPullBack has it checked too.
 */
export async function disagreements(backend: Backend, kernel: Kernel, tolerance: number): Promise<string[]> {
  const found: string[] = [];
  for (const [m, n, d, l] of SHAPES) {
    const shape = `m=${m} n=${n} d=${d} l=${l}`;
    const X = randomMatrix(m, d, m * 7 + d);
    const Z = randomMatrix(n, d, n * 13 + d);
    const alpha = randomMatrix(n, l, n + l).data.map((a) => a - 0.5);
    const centers = await backend.createCenterSet(kernel, Z, l);
    await centers.setWeights(alpha);
    const j0 = Math.min(n - 1, 5);
    const out = new Float32Array(m * l);
    await centers.predict(X, out, j0, n);
    if (centers.predictAndPullBack) found.push(...(await pullBackDisagreements(centers, kernel, X, Z, alpha, tolerance, `${kernel.describe()} ${shape}`)));
    centers.dispose();
    for (let i = 0; i < m; i++) {
      for (let c = 0; c < l; c++) {
        let sum = 0;
        let scale = 0;
        for (let j = j0; j < n; j++) {
          const term = naiveKernel(kernel.value, X, Z, i, j) * alpha[j * l + c];
          sum += term;
          scale += Math.abs(term);
        }
        if (!(Math.abs(out[i * l + c] - sum) <= tolerance * scale + 1e-7)) {
          found.push(`${kernel.describe()} fused ${shape} [${i}, ${c}]: ${out[i * l + c]} vs ${sum}`);
        }
      }
    }
    const block = await backend.kernelBlock(kernel, X, Z);
    if (block.length !== m * n) found.push(`${kernel.describe()} block ${shape}: ${block.length} entries, not ${m * n}`);
    for (let i = 0; i < m && block.length === m * n; i++) {
      for (let j = 0; j < n; j++) {
        const expected = naiveKernel(kernel.value, X, Z, i, j);
        if (!(Math.abs(block[i * n + j] - expected) <= tolerance * Math.abs(expected) + 1e-6)) {
          found.push(`${kernel.describe()} block ${shape} [${i}, ${j}]: ${block[i * n + j]} vs ${expected}`);
        }
      }
    }
  }
  return found.slice(0, 10);
}
