/**
 * The conformance suite every backend runs: a naive float64 evaluation of the same kernel sums, on
 * awkward shapes and for every kernel. Each backend's test file calls describeConformance once; a
 * backend that cannot start is a failure there, not a skip.
 */
import { describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel, type KernelOption } from '../../kernels/index.js';
import type { Backend } from '../../src/backends/backend.js';
import { JsBackend } from '../../src/backends/js/index.js';
import { loadMnist } from '../../datasets/mnist.js';
import type { Matrix } from '../../src/matrix.js';

const KERNELS: KernelOption[] = [
  'laplacian',
  'gaussian',
  { name: 'exppower', gamma: 0.7 },
  'cauchy',
  { name: 'matern', nu: 0.5 },
  { name: 'matern', nu: 1.5 },
  { name: 'matern', nu: 2.5 },
  'exp(-sqrt(r) / sigma)',
];

// m, n, d, l: not multiples of any block size, d = 1, n smaller than a block, m = 1.
const SHAPES: [number, number, number, number][] = [
  [7, 13, 5, 3],
  [1, 1, 1, 1],
  [1, 300, 3, 2],
  [33, 517, 1, 10],
  [5, 3, 70, 1],
  [130, 260, 17, 4],
];

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  let state = seed;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    data[i] = state / 2 ** 32;
  }
  return { data, rows, cols };
}

function naiveKernel(value: (r2: number) => number, X: Matrix, Z: Matrix, i: number, j: number): number {
  let r2 = 0;
  for (let k = 0; k < X.cols; k++) r2 += (X.data[i * X.cols + k] - Z.data[j * Z.cols + k]) ** 2;
  return value(r2);
}

/** Tolerances: relative to Σ|terms| for the fused block, to |k| for materialized blocks. */
export function describeConformance(backendName: string, create: () => Backend | Promise<Backend>, tolerance = 1e-4): void {
  describe(`backend ${backendName}`, () => {
    for (const option of KERNELS) {
      const kernel = makeKernel(chooseKernel(option), 0.8);
      it(`fused block and kernel block agree with float64 for ${kernel.describe()}`, async () => {
        const backend = await create();
        for (const [m, n, d, l] of SHAPES) {
          const X = randomMatrix(m, d, m * 7 + d);
          const Z = randomMatrix(n, d, n * 13 + d);
          const alpha = randomMatrix(n, l, n + l).data.map((a) => a - 0.5);
          const centers = await backend.createCenterSet(kernel, Z, l);
          await centers.setWeights(alpha);
          const j0 = Math.min(n - 1, 5);
          const out = new Float32Array(m * l);
          await centers.predict(X, out, j0, n);
          for (let i = 0; i < m; i++) {
            for (let c = 0; c < l; c++) {
              let sum = 0;
              let scale = 0;
              for (let j = j0; j < n; j++) {
                const term = naiveKernel(kernel.value, X, Z, i, j) * alpha[j * l + c];
                sum += term;
                scale += Math.abs(term);
              }
              expect(Math.abs(out[i * l + c] - sum)).toBeLessThanOrEqual(tolerance * scale + 1e-7);
            }
          }
          const block = await backend.kernelBlock(kernel, X, Z);
          expect(block.length).toBe(m * n);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              const expected = naiveKernel(kernel.value, X, Z, i, j);
              expect(Math.abs(block[i * n + j] - expected)).toBeLessThanOrEqual(tolerance * Math.abs(expected) + 1e-6);
            }
          }
          centers.dispose();
        }
        await backend.dispose();
      });
    }

    it('agrees with the js backend on real data (MNIST rows, σ = 5 and 10)', async () => {
      const backend = await create();
      const reference = new JsBackend();
      const data = await loadMnist({ trainSize: 700, testSize: 37 });
      const centers = data.train.X;
      const X = data.test.X;
      const l = 10;
      const alpha = randomMatrix(centers.rows, l, 3).data.map((a) => a - 0.5);
      for (const [name, sigma] of [['gaussian', 5], ['laplacian', 10]] as const) {
        const kernel = makeKernel(chooseKernel(name), sigma);
        const outputs: Float32Array[] = [];
        for (const b of [backend, reference]) {
          const set = await b.createCenterSet(kernel, centers, l);
          await set.setWeights(alpha);
          const out = new Float32Array(X.rows * l);
          await set.predict(X, out);
          outputs.push(out);
          set.dispose();
        }
        let diff = 0;
        let norm = 0;
        for (let i = 0; i < outputs[0].length; i++) {
          diff += (outputs[0][i] - outputs[1][i]) ** 2;
          norm += outputs[1][i] ** 2;
        }
        expect(Math.sqrt(diff / norm)).toBeLessThan(tolerance);
      }
      await backend.dispose();
    });

    it('weights: setWeights, addToWeights with repeated rows, readWeights', async () => {
      const backend = await create();
      const kernel = makeKernel(chooseKernel('gaussian'), 1);
      const centers = await backend.createCenterSet(kernel, randomMatrix(6, 2, 1), 2);
      await centers.setWeights(Float32Array.from({ length: 12 }, (_, i) => i));
      await centers.addToWeights([1, 4, 1], Float64Array.from([10, 20, 30, 40, 50, 60]));
      expect(Array.from(await centers.readWeights())).toEqual([0, 1, 62, 83, 4, 5, 6, 7, 38, 49, 10, 11]);
      await backend.dispose();
    });
  });
}
