/**
 * Center groups (Backend.createCenterGroup, or the portable group of centerGroup.ts): several
 * kernels over one set of centers, each with its own weights, against float64 sums from the
 * coordinates — on every CPU backend, in the onnx backend's streamed and resident layouts and both
 * distance forms (float64 and float32 GEMM), with centers over several shards (below). A member left out of predictAll keeps its
 * output untouched, each member's own predict agrees with the group, weight updates are seen by
 * the next joint call, a disposed group refuses calls, and a member kept at disposal lives on.
 */
import { describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel, type KernelOption } from '../../kernels/index.js';
import type { Kernel } from '../../kernels/kernel.js';
import type { Backend } from '../../src/backends/backend.js';
import { centerGroup } from '../../src/backends/centerGroup.js';
import { JsBackend } from '../../src/backends/js/index.js';
import { createOnnxBackend, onnxSupport } from '../../src/backends/onnx/index.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import type { Matrix } from '../../src/matrix.js';
import { randomMatrix } from '../helpers/data.js';
import { naiveKernel } from './agreement.js';

const RUN_ONNX = (await onnxSupport()).available || process.env.CI === 'true';

/** Kernels scaled into the GEMM or not, clamped or not, a custom formula: every path of a group graph. */
const MEMBERS: [KernelOption, number][] = [
  ['gaussian', 0.7],
  ['gaussian', 2.1],
  ['laplacian', 1.3],
  ['cauchy', 0.9],
  [{ name: 'matern', nu: 2.5 }, 1.1],
  ['exp(-sqrt(r) / sigma)', 1.6],
];

/** Σ_j k(X[i], Z[j]) α[j, c] in float64, and Σ|terms| for the tolerance. */
function naiveProduct(kernel: Kernel, X: Matrix, Z: Matrix, alpha: Float32Array, l: number) {
  const sums = new Float64Array(X.rows * l);
  const sizes = new Float64Array(X.rows * l);
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < Z.rows; j++) {
      const k = naiveKernel(kernel.value, X, Z, i, j);
      for (let c = 0; c < l; c++) {
        sums[i * l + c] += k * alpha[j * l + c];
        sizes[i * l + c] += Math.abs(k * alpha[j * l + c]);
      }
    }
  }
  return { sums, sizes };
}

function misses(label: string, out: Float32Array, expected: { sums: Float64Array; sizes: Float64Array }): string[] {
  const found: string[] = [];
  for (let i = 0; i < out.length; i++) {
    if (!(Math.abs(out[i] - expected.sums[i]) <= 1e-4 * expected.sizes[i] + 1e-7)) found.push(`${label} [${i}]: ${out[i]} vs ${expected.sums[i]}`);
  }
  return found.slice(0, 3);
}

const CASES: { name: string; create: () => Promise<Backend>; shares: boolean; run?: boolean }[] = [
  { name: 'js (the portable group)', create: async () => new JsBackend(), shares: false },
  { name: 'wasm', create: () => createWasmBackend(), shares: true },
  { name: 'onnx, streamed', create: () => createOnnxBackend(), shares: true, run: RUN_ONNX },
  { name: 'onnx, resident', create: () => createOnnxBackend({ streamedBytes: 0 }), shares: true, run: RUN_ONNX },
];

// m, n, d, l: the float64 distance GEMM (d ≤ 16) and the float32 one.
const SHAPES: [number, number, number, number][] = [
  [37, 4500, 3, 2],
  [21, 260, 30, 3],
];

describe.each(CASES.filter((c) => c.run !== false))('center group on $name', ({ create, shares }) => {
  for (const [m, n, d, l] of SHAPES) {
    it(`m=${m} n=${n} d=${d} l=${l}: every member's k(X, Z)·α against float64, members left out untouched`, async () => {
      const backend = await create();
      const kernels = MEMBERS.map(([option, sigma]) => makeKernel(chooseKernel(option), sigma));
      const X = randomMatrix(m, d, m + d);
      const Z = randomMatrix(n, d, n + d);
      const group = await centerGroup(backend, kernels, Z, l);
      // The custom formula sends wasm to the portable group (its transforms are compiled one at a time).
      if (backend.name !== 'wasm') expect(group.sharesDistances).toBe(shares);
      const alphas = kernels.map((_, k) => randomMatrix(n, l, 100 + k).data.map((a) => a - 0.5));
      for (let k = 0; k < kernels.length; k++) await group.members[k].setWeights(alphas[k]);
      const found: string[] = [];
      const outs = kernels.map((_, k) => (k === 2 ? undefined : new Float32Array(m * l).fill(NaN)));
      await group.predictAll(X, outs);
      kernels.forEach((kernel, k) => {
        if (outs[k]) found.push(...misses(kernel.describe(), outs[k]!, naiveProduct(kernel, X, Z, alphas[k], l)));
      });
      // A member's own predict, and a weight update seen by the next joint call.
      const own = new Float32Array(m * l);
      await group.members[2].predict(X, own);
      found.push(...misses(`${kernels[2].describe()} alone`, own, naiveProduct(kernels[2], X, Z, alphas[2], l)));
      const rows = [0, n - 1];
      const deltas = Float32Array.from({ length: 2 * l }, (_, i) => 0.25 * (i + 1));
      await group.members[4].addToWeights(rows, deltas);
      rows.forEach((row, r) => {
        for (let c = 0; c < l; c++) alphas[4][row * l + c] += deltas[r * l + c];
      });
      const kept = new Float32Array(m * l).fill(7);
      const updated = new Float32Array(m * l);
      await group.predictAll(X, [kept, undefined, undefined, undefined, updated]);
      found.push(...misses(`${kernels[4].describe()} updated`, updated, naiveProduct(kernels[4], X, Z, alphas[4], l)));
      found.push(...misses(`${kernels[0].describe()} again`, kept, naiveProduct(kernels[0], X, Z, alphas[0], l)));
      expect(found).toEqual([]);
      expect(Array.from(await group.members[4].readWeights())).toEqual(Array.from(alphas[4]));
      group.dispose();
      await expect(group.predictAll(X, [new Float32Array(m * l)])).rejects.toThrow(/disposed/);
      await backend.dispose();
    }, 60_000);
  }

  it("dispose(keep): the kept member predicts alone with its weights after the group and the others are gone", async () => {
    const backend = await create();
    const [m, n, d, l] = [9, 700, 30, 2];
    const kernels = MEMBERS.slice(0, 3).map(([option, sigma]) => makeKernel(chooseKernel(option), sigma * 2));
    const X = randomMatrix(m, d, 11);
    const Z = randomMatrix(n, d, 12);
    const group = await centerGroup(backend, kernels, Z, l);
    const alphas = kernels.map((_, k) => randomMatrix(n, l, 300 + k).data.map((a) => a - 0.5));
    for (let k = 0; k < kernels.length; k++) await group.members[k].setWeights(alphas[k]);
    const keep = group.members[1];
    group.dispose(keep);
    await expect(group.predictAll(X, [new Float32Array(m * l)])).rejects.toThrow(/disposed/);
    const out = new Float32Array(m * l);
    await keep.predict(X, out);
    expect(misses(`${kernels[1].describe()} kept`, out, naiveProduct(kernels[1], X, Z, alphas[1], l))).toEqual([]);
    expect(Array.from(await keep.readWeights())).toEqual(Array.from(alphas[1]));
    keep.dispose();
    await backend.dispose();
  }, 60_000);
});

describe.runIf(RUN_ONNX)('onnx center group, resident GEMM form over two shards', () => {
  it('d = 784, 11 100 centers (one GEMM block holds 11 008): every member against float64', async () => {
    const backend = await createOnnxBackend({ streamedBytes: 0 });
    const [m, n, d, l] = [4, 11_100, 784, 2];
    const kernels = MEMBERS.slice(0, 4).map(([option, sigma]) => makeKernel(chooseKernel(option), sigma * 8));
    const X = randomMatrix(m, d, 5);
    const Z = randomMatrix(n, d, 6);
    const group = await centerGroup(backend, kernels, Z, l);
    expect(group.sharesDistances).toBe(true);
    const alphas = kernels.map((_, k) => randomMatrix(n, l, 200 + k).data.map((a) => a - 0.5));
    for (let k = 0; k < kernels.length; k++) await group.members[k].setWeights(alphas[k]);
    const outs = kernels.map(() => new Float32Array(m * l));
    await group.predictAll(X, outs);
    expect(kernels.flatMap((kernel, k) => misses(kernel.describe(), outs[k], naiveProduct(kernel, X, Z, alphas[k], l)))).toEqual([]);
    group.dispose();
    await backend.dispose();
  }, 120_000);
});
