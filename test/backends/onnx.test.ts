/**
 * The onnx backend (onnxruntime-node): the conformance suite, the translation of kernel
 * expressions to ONNX operators, centers split into several sessions and batches into several
 * runs, weight ranges, calls on what was disposed, a clean exit after dispose, and what happens where
 * onnxruntime-node is not installed.
 *
 * onnxruntime-node is optional: without it the device tests are skipped with the reason, except
 * in CI (CI=true), where they run and fail on the backend's error.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel, type KernelOption } from '../../kernels/index.js';
import type { Kernel, KernelExpression } from '../../kernels/kernel.js';
import { byteBlock, byteColumns, byteColumnsOf, byteDivisorOf, byteRows, rowRangeWithByteForm, takeRowsWithByteForm, withByteForm } from '../../kernels/onnx/bytes.js';
import { onnxKernel } from '../../kernels/onnx/expression.js';
import { blockCenters, blockModel, distanceForm, fusedModel } from '../../kernels/onnx/models.js';
import type { Backend } from '../../src/backends/backend.js';
import { centerGroup } from '../../src/backends/centerGroup.js';
import { createOnnxBackend, onnxSupport } from '../../src/backends/onnx/index.js';
import { fit } from '../../src/index.js';
import { integerGemmIsExact } from '../../src/backends/onnx/integerGemm.js';
import { onnxRuntime, type OrtSessionOptions } from '../../src/backends/onnx/runtime.js';
import { createAutoCandidates, createBackend } from '../../src/backends/select.js';
import { rowSlice, takeRows, type Matrix } from '../../src/matrix.js';
import { KernelCache } from '../../src/solver/kernelCache.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { randomMatrix } from '../helpers/data.js';
import { BACKEND_LIFE_OUTPUT, backendLifeScript, moduleUrl, runChild } from '../helpers/child.js';
import { naiveKernel, pullBackDisagreements, TRANSLATED_KERNELS } from './agreement.js';
import { describeConformance } from './conformance.js';

const support = await onnxSupport();
const PROBE_OPTIONS: OrtSessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  enableCpuMemArena: false,
  enableMemPattern: false,
  logSeverityLevel: 3,
  extra: {},
};
const INTEGER_GEMM_EXACT = support.available ? await integerGemmIsExact(await onnxRuntime(), PROBE_OPTIONS) : false;
const IN_CI = process.env.CI === 'true';
/** In CI the device tests always run, so that a missing onnxruntime-node fails them instead of skipping. */
const RUN_DEVICE = support.available || IN_CI;
const SKIPPED = RUN_DEVICE ? '' : ` (skipped: ${support.reason})`;

describe('kernel expressions as ONNX graphs', () => {
  const REJECTED: [KernelExpression, RegExp][] = [
    [{ js: 'Math.foo(r)', constants: {} }, /Math\.foo is not supported/],
    [{ js: 'process.exit(1) + r', constants: {} }, /unknown function or object "process"/],
    [{ js: 'r2 + q', constants: { c: 1 } }, /unknown name "q"/],
    [{ js: 'Math.exp(c) * r', constants: { c: 1000 } }, /not a finite float32/],
    [{ js: 'Math.pow(2, 3)', constants: {} }, /does not depend on r/],
  ];
  for (const [expression, reason] of REJECTED) {
    it(`rejects ${JSON.stringify(expression.js)} with INVALID_KERNEL_FORMULA`, async () => {
      expect(await asyncErrorOf(blockModel(expression, 'gemm', 3), 'INVALID_KERNEL_FORMULA')).toMatch(reason);
      expect(await asyncErrorOf(blockModel(expression, 'gemm64', 3), 'INVALID_KERNEL_FORMULA')).toMatch(reason);
    });
  }

  it('moves a constant factor of r² into the distance GEMM, and nothing else', () => {
    const scaleOf = (option: KernelOption) => onnxKernel(makeKernel(chooseKernel(option), 2).expression).scale;
    expect(scaleOf('gaussian')).toBe(-1 / 8);
    expect(scaleOf('cauchy')).toBe(1 / 4);
    for (const option of ['laplacian', { name: 'matern', nu: 2.5 }, { name: 'exppower', gamma: 0.7 }] as KernelOption[]) {
      expect(scaleOf(option)).toBe(1);
    }
    // Two different factors of r², or r² on its own: nothing to move.
    expect(onnxKernel({ js: 'Math.exp(r2 * a) * (1 + b * r2)', constants: { a: -1, b: 0.5 } }).scale).toBe(1);
    expect(onnxKernel({ js: 'Math.exp(r2 * a) / (1 + r2)', constants: { a: -1 } }).scale).toBe(1);
    expect(onnxKernel({ js: 'Math.exp(a * r2) / (1 + r2 * a)', constants: { a: -1 } }).scale).toBe(-1);
  });

  it('clamps r² at 0 only for formulas that need it (r, sqrt, log, pow)', () => {
    const clampOf = (option: KernelOption) => onnxKernel(makeKernel(chooseKernel(option), 2).expression).clamp;
    expect(clampOf('gaussian')).toBe(false);
    expect(clampOf('cauchy')).toBe(false);
    for (const option of ['laplacian', { name: 'exppower', gamma: 0.7 }, 'exp(-sqrt(r) / sigma)', 'matern'] as KernelOption[]) {
      expect(clampOf(option)).toBe(true);
    }
    expect(onnxKernel({ js: 'Math.exp(r2 * c) * Math.log(2 + r2)', constants: { c: -1 } }).clamp).toBe(true);
  });

  it('splits centers into blocks of the graph, with the float64 distance GEMM for small d', async () => {
    const kernel = makeKernel(chooseKernel('gaussian'), 1).expression;
    expect(await fusedModel(kernel, randomMatrix(1300, 3, 1), 100, 1300, 3)).toMatchObject({ form: 'gemm64', blocks: [[100, 1300]] });
    expect(await fusedModel(kernel, randomMatrix(600, 17, 2), 0, 600, 1)).toMatchObject({ form: 'gemm', blocks: [[0, 600]] });
    // GEMM blocks of more than 32 MiB (glibc maps those apart and returns them on free), at least 2 048 centers.
    expect(blockCenters('gemm', 784)).toBe(11008);
    expect(blockCenters('gemm', 784) * 786 * 4).toBeGreaterThan(32 * 2 ** 20);
    expect(blockCenters('gemm', 100_000)).toBe(2048);
    expect(blockCenters('gemm64', 16) * 18 * 8).toBeGreaterThan(32 * 2 ** 20);
    expect(distanceForm(16)).toBe('gemm64');
    expect(distanceForm(17)).toBe('gemm');
  });
});

describe('byte-valued data (kernels/onnx/bytes.ts)', () => {
  it('recognizes bytes, raw or ÷ 255 in float32, and nothing else', () => {
    const over255 = Float32Array.from([0, 1, 37, 254, 255], (k) => k / 255);
    expect(byteDivisorOf(Float32Array.of(0, 1, 37, 255))).toBe(1);
    expect(byteDivisorOf(over255)).toBe(255);
    expect(byteDivisorOf(new Float32Array(4))).toBe(1); // zeros are bytes over either divisor
    for (const stray of [256, -1, 0.5, NaN, Infinity, 0.3]) {
      expect(byteDivisorOf(Float32Array.of(0, 3, stray)), String(stray)).toBeUndefined();
      expect(byteDivisorOf(Float32Array.of(...over255, stray)), `÷255 with ${stray}`).toBeUndefined();
    }
    // A value one float32 step off k/255 is not k/255.
    const next = new Float32Array(Float32Array.of(37 / 255).buffer.slice(0));
    new Uint32Array(next.buffer)[0] += 1;
    expect(byteDivisorOf(Float32Array.of(0, next[0]))).toBeUndefined();
  });

  it("gives each row's bytes and ‖k‖² − 256·Σk, and the centers' k − 128 transposed with ‖k‖²", () => {
    const X: Matrix = { data: Float32Array.from([1, 2, 3, 250, 0, 7], (k) => k / 255), rows: 2, cols: 3 };
    expect(byteRows(X, 255)).toEqual({ values: Uint8Array.of(1, 2, 3, 250, 0, 7), terms: Int32Array.of(14 - 256 * 6, 62549 - 256 * 257) });
    expect(byteRows(X, 1)).toBeUndefined();
    const block = byteBlock(X, 255, 0, 2);
    expect(Array.from(block.values)).toEqual([1 - 128, 250 - 128, 2 - 128, 0 - 128, 3 - 128, 7 - 128]);
    expect(Array.from(block.norms)).toEqual([14, 62549]);
  });

  it('keeps the byte form of prepared rows per divisor, made once', () => {
    const X: Matrix = { data: Float32Array.from([1, 2, 3, 250, 0, 7], (k) => k / 255), rows: 2, cols: 3 };
    const prepared = withByteForm(X);
    const first = byteRows(prepared, 255);
    expect(first).toEqual(byteRows(X, 255));
    expect(byteRows(prepared, 255)).toBe(first); // the same object: not converted again
    expect(byteRows(prepared, 1)).toBeUndefined();
    expect(byteRows(prepared, 1)).toBeUndefined();
    // Plain rows are converted on every call.
    expect(byteRows(X, 255)).not.toBe(byteRows(X, 255));
  });

  it('reads the centers once for their divisor and columns, the divisor the one byteDivisorOf finds', () => {
    const raw: Matrix = { data: Float32Array.of(1, 2, 3, 250, 0, 7), rows: 2, cols: 3 };
    expect(byteColumnsOf(raw)).toEqual({ divisor: 1, values: Int8Array.of(1 - 128, 2 - 128, 3 - 128, 250 - 128, -128, 7 - 128), norms: Int32Array.of(14, 62549) });
    const over255: Matrix = { data: raw.data.map((k) => k / 255), rows: 2, cols: 3 };
    expect(byteColumnsOf(over255)).toEqual({ ...byteColumnsOf(raw)!, divisor: 255 });
    // Zeros are bytes over either divisor: the first, as byteDivisorOf says.
    const zeros: Matrix = { data: new Float32Array(6), rows: 2, cols: 3 };
    expect(byteColumnsOf(zeros)?.divisor).toBe(byteDivisorOf(zeros.data));
    for (const stray of [256, 0.5, NaN]) expect(byteColumnsOf({ data: Float32Array.of(0, 3, stray), rows: 1, cols: 3 }), String(stray)).toBeUndefined();
    // A value that is no byte over 255 in the last row: the reading over 255 fails there too.
    expect(byteColumnsOf({ data: Float32Array.of(...over255.data, 0.3, 0, 0), rows: 3, cols: 3 })).toBeUndefined();
    // Prepared rows keep what they read: the same columns object on a second call.
    const prepared = withByteForm(over255);
    expect(byteColumnsOf(prepared)).toBe(byteColumnsOf(prepared));
  });

  it('gives k − 128 for every byte, whatever the length (words of four, then the rest)', () => {
    for (const length of [1, 4, 7, 256 + 3]) {
      const data = Float32Array.from({ length }, (_, i) => (i * 37 + 11) % 256);
      const columns = byteColumns({ data, rows: 1, cols: length }, 1)!;
      expect(Array.from(columns.values), String(length)).toEqual(Array.from(data, (k) => k - 128));
    }
  });

  it("rows taken from prepared rows, or a run of them, carry the bytes already read: the same as a fresh reading, without one", () => {
    const n = 40;
    const d = 5;
    const data = Float32Array.from({ length: n * d }, (_, i) => ((i * 53) % 256) / 255);
    const prepared = withByteForm({ data, rows: n, cols: d });
    const read = byteRows(prepared, 255)!;
    const order = Int32Array.from({ length: n }, (_, i) => (i * 17) % n);
    const taken = takeRowsWithByteForm(prepared, order);
    expect(taken.data).toEqual(takeRows(prepared, order).data);
    const fresh = byteRows(takeRows(prepared, order), 255)!;
    // Scribbling on the copy's floats does not change its bytes: they were gathered, not read from it.
    taken.data.fill(0.5);
    expect(byteRows(taken, 255)).toEqual(fresh);
    const range = rowRangeWithByteForm(prepared, 7, 19);
    expect(range.data).toEqual(rowSlice(prepared, 7, 19).data);
    expect(byteRows(range, 255)).toEqual(byteRows(rowSlice(prepared, 7, 19), 255));
    expect(byteRows(range, 255)!.values.buffer).toBe(read.values.buffer); // a view of the prepared bytes
    // Rows that are no bytes over a divisor: a copy of some of them is read afresh, and may be.
    const mixed = withByteForm({ data: Float32Array.of(1, 2, 0.5, 3), rows: 2, cols: 2 });
    expect(byteRows(mixed, 1)).toBeUndefined();
    expect(byteRows(takeRowsWithByteForm(mixed, Int32Array.of(0)), 1)?.values).toEqual(Uint8Array.of(1, 2));
  });
});

describe(`onnx runtime${SKIPPED}`, () => {
  it.runIf(IN_CI)('loads in CI (onnxruntime-node is a devDependency)', () => {
    expect(support.reason).toBeUndefined();
    expect(support.available).toBe(true);
  });
});

/** The fused block in float64 from the coordinates: Σ_{j0 ≤ j < j1} k(X[i], Z[j]) α[j, c]. */
function naiveFused(kernel: Kernel, X: Matrix, Z: Matrix, alpha: Float32Array, l: number, j0: number, j1: number) {
  const sums = new Float64Array(X.rows * l);
  const scales = new Float64Array(X.rows * l);
  for (let i = 0; i < X.rows; i++) {
    for (let j = j0; j < j1; j++) {
      const k = naiveKernel(kernel.value, X, Z, i, j);
      for (let c = 0; c < l; c++) {
        sums[i * l + c] += k * alpha[j * l + c];
        scales[i * l + c] += Math.abs(k * alpha[j * l + c]);
      }
    }
  }
  return { sums, scales };
}

/** Entries of `out` farther than 1e-4 · Σ|terms| from the float64 sums. */
function fusedMisses(out: Float32Array, expected: { sums: Float64Array; scales: Float64Array }): string[] {
  const misses: string[] = [];
  for (let i = 0; i < out.length; i++) {
    if (!(Math.abs(out[i] - expected.sums[i]) <= 1e-4 * expected.scales[i] + 1e-7)) misses.push(`[${i}] ${out[i]} vs ${expected.sums[i]}`);
  }
  return misses.slice(0, 5);
}

describe.runIf(RUN_DEVICE)('onnx backend', () => {
  // The suite's sets are small, hence streamed; 0 bytes makes them resident (initializers).
  describeConformance('onnx', () => createOnnxBackend());
  describeConformance('onnx, resident centers', () => createOnnxBackend({ streamedBytes: 0 }));
  describeConformance('onnx, one thread', () => createOnnxBackend({ threads: 1 }));

  it('reports its device, threads and memory budget', async () => {
    const backend = await createOnnxBackend({ threads: 1 });
    expect(backend.name).toBe('onnx');
    const info = backend.describe();
    expect(info.device).toContain(`onnxruntime-node ${support.version}`);
    expect(info).toMatchObject({ threads: 1, parallel: true });
    expect(backend.memoryBudget().bytes).toBeGreaterThan(0);
    await backend.dispose();
    await expect(createOnnxBackend({ threads: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(createOnnxBackend({ streamedBytes: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it("is one of the CPU backends 'auto' times, and createBackend('onnx') names it", async () => {
    const candidates = await createAutoCandidates({ threads: 1 });
    // A hardware GPU comes first (alone); there is none on this project's machines.
    if (candidates[0].name !== 'webgpu') expect(candidates.map((b) => b.name)).toContain('onnx');
    await Promise.all(candidates.map((b) => b.dispose()));
    const backend = await createBackend('onnx', { threads: 1 });
    expect(backend.name).toBe('onnx');
    await backend.dispose();
  });

  it("cache blocks wider than a run's whole rows: in place over several runs of whole rows, else in strips of columns", async () => {
    const backend = await createOnnxBackend();
    const engine = await backend.cacheEngine!('float32');
    const kernel = makeKernel(chooseKernel('laplacian'), 3);
    // d = 20 takes the float32 distance GEMM: 512 whole rows of 16 384 fill a run's 32 MiB, so 520
    // rows take two runs, written in place; 16 400 columns leave room for 511 rows, so strips.
    const X = randomMatrix(520, 20, 5);
    for (const n of [16_384, 16_400]) {
      const Y = randomMatrix(n, 20, n);
      const out = new Float32Array(X.rows * n).fill(NaN);
      await engine.block(kernel, X, Y, out, 0, n);
      for (let k = 0; k < out.length; k += 97) {
        const i = Math.floor(k / n);
        const exact = naiveKernel(kernel.value, X, Y, i, k - i * n);
        if (!(Math.abs(out[k] - exact) <= 1e-5 * exact + 1e-6)) expect.fail(`${n} columns, [${i}, ${k - i * n}]: ${out[k]} vs ${exact}`);
      }
      expect(out.every(Number.isFinite)).toBe(true);
    }
    engine.dispose();
    await backend.dispose();
  });

  for (const option of TRANSLATED_KERNELS) {
    const kernel = makeKernel(chooseKernel(option), 1.7);
    it(`translates ${kernel.describe()} faithfully, in both distance forms`, async () => {
      const backend = await createOnnxBackend({ threads: 1 });
      // Points on a line at distances r from the origin, embedded in d = 1 (direct) and d = 20 (GEMM).
      const distances = [0, 1e-3, 0.3, 1, 2.5, 9];
      for (const d of [1, 20]) {
        const origin: Matrix = { data: new Float32Array(d), rows: 1, cols: d };
        const points = new Float32Array(distances.length * d);
        distances.forEach((r, j) => (points[j * d] = r));
        const block = await backend.kernelBlock(kernel, origin, { data: points, rows: distances.length, cols: d });
        distances.forEach((r, j) => {
          const expected = kernel.value(Math.fround(r) ** 2);
          expect(Math.abs(block[j] - expected), `d=${d} r=${r}`).toBeLessThanOrEqual(1e-5 * Math.abs(expected) + 1e-6);
        });
      }
      await backend.dispose();
    });
  }

  it('gives k(0) up to float32 rounding for duplicate points in the GEMM form, clamped or not', async () => {
    const backend = await createOnnxBackend({ threads: 1 });
    // Rows with ‖x‖² ≈ 260, each row also a center: r² is 0 up to the rounding of ‖x‖² + ‖z‖² − 2x·z
    // (≈1e-4 here), which the unclamped formulas (gaussian, cauchy) take as it is.
    const X = randomMatrix(40, 784, 5);
    const cases: [KernelOption, number][] = [['gaussian', 1e-5], ['cauchy', 1e-5], ['laplacian', 1e-2], [{ name: 'matern', nu: 2.5 }, 1e-4]];
    for (const [option, tolerance] of cases) {
      const kernel = makeKernel(chooseKernel(option), 5);
      const block = await backend.kernelBlock(kernel, X, X);
      const set = await backend.createCenterSet(kernel, X, 1);
      await set.setWeights(Float32Array.from({ length: 40 }, (_, j) => (j === 7 ? 1 : 0)));
      const out = new Float32Array(40);
      await set.predict(X, out);
      set.dispose();
      for (const k of [out[7], ...Array.from({ length: 40 }, (_, i) => block[i * 40 + i])]) {
        expect(Math.abs(k - kernel.diagonal), kernel.describe()).toBeLessThanOrEqual(tolerance);
      }
    }
    await backend.dispose();
  });

  it('keeps the distance of close points far from the origin at small d (the float64 GEMM)', async () => {
    const backend = await createOnnxBackend({ threads: 1 });
    const d = 16;
    // Points at 100 in every coordinate (‖x‖² = 160 000), 0 to 0.01 apart: in a float32 GEMM,
    // ‖x‖² + ‖z‖² − 2x·z would round r² by ≈0.02, more than the distances themselves.
    const offsets = [0, 1e-4, 1e-3, 3e-3, 0.01];
    const points = new Float32Array(offsets.length * d).fill(100);
    offsets.forEach((t, j) => (points[j * d + 3] = Math.fround(100 + t)));
    const P: Matrix = { data: points, rows: offsets.length, cols: d };
    const kernel = makeKernel(chooseKernel('laplacian'), 0.01);
    const block = await backend.kernelBlock(kernel, P, P);
    for (const streamedBytes of [0, Infinity]) {
      const held = await createOnnxBackend({ threads: 1, streamedBytes });
      const set = await held.createCenterSet(kernel, P, offsets.length);
      await set.setWeights(Float32Array.from({ length: offsets.length ** 2 }, (_, k) => (k % (offsets.length + 1) === 0 ? 1 : 0))); // α = I
      const out = new Float32Array(offsets.length ** 2);
      await set.predict(P, out);
      for (let i = 0; i < offsets.length; i++) {
        for (let j = 0; j < offsets.length; j++) {
          const expected = naiveKernel(kernel.value, P, P, i, j);
          expect(Math.abs(block[i * offsets.length + j] - expected), `block ${i},${j}`).toBeLessThanOrEqual(1e-5);
          expect(Math.abs(out[i * offsets.length + j] - expected), `streamedBytes ${streamedBytes}: ${i},${j}`).toBeLessThanOrEqual(1e-5);
        }
      }
      set.dispose();
      await held.dispose();
    }
    await backend.dispose();
  });

  it('computes k(0) exactly where r² = 0, for kernels with pow and sqrt', async () => {
    const backend = await createOnnxBackend({ threads: 1 });
    for (const d of [4, 30]) {
      const zeros: Matrix = { data: new Float32Array(3 * d), rows: 3, cols: d };
      for (const option of [{ name: 'exppower', gamma: 0.7 }, 'exp(-sqrt(r) / sigma)', 'exp(-(r / sigma)^1.5)', 'matern'] as KernelOption[]) {
        const kernel = makeKernel(chooseKernel(option), 1);
        expect(Array.from(await backend.kernelBlock(kernel, zeros, zeros))).toEqual(new Array(9).fill(kernel.diagonal));
      }
    }
    await backend.dispose();
  });

  // Sizes past one session of resident centers (11 008 at d = 784), one run of streamed centers
  // (8 192), one run of rows (190 at d = 784, 116 at d = 2, resident) and one run of kernel-block
  // columns (4 096 at d = 784, 2 048 at d = 2): every split is crossed, in both ways.
  const SPLITS: { d: number; n: number; m: number; ranges: [number, number][] }[] = [
    { d: 2, n: 9000, m: 2050, ranges: [[0, 9000], [2000, 2100], [2047, 2049], [8191, 8193], [8900, 9000], [100, 8300]] },
    { d: 784, n: 11100, m: 200, ranges: [[0, 11100], [11000, 11100], [8191, 8193], [11007, 11009], [3, 5]] },
  ];
  for (const { d, n, m, ranges } of SPLITS) {
    for (const [held, streamedBytes] of [['resident', 0], ['streamed', Infinity]] as const) {
      it(`d=${d}, ${held}: centers in several sessions or runs, rows in several runs, ranges across them`, async () => {
        const backend = await createOnnxBackend({ streamedBytes });
        const l = 3;
        const kernel = makeKernel(chooseKernel('laplacian'), 0.5 * Math.sqrt(d));
        const Z = randomMatrix(n, d, 31);
        const X = randomMatrix(m, d, 32);
        const alpha = randomMatrix(n, l, 33).data.map((a) => a - 0.5);
        const set = await backend.createCenterSet(kernel, Z, l);
        await set.setWeights(alpha);
        for (const [j0, j1] of ranges) {
          // Few rows per range (the float64 reference is slow), then all rows once.
          const rows = j0 === 0 && j1 === n ? X : { data: X.data.subarray(0, 5 * d), rows: 5, cols: d };
          const out = new Float32Array(rows.rows * l).fill(7);
          await set.predict(rows, out, j0, j1);
          expect(fusedMisses(out, naiveFused(kernel, rows, Z, alpha, l, j0, j1)), `[${j0}, ${j1})`).toEqual([]);
        }
        set.dispose();
        await backend.dispose();
      });
    }
    it(`d=${d}: kernel blocks in several runs of rows and columns`, async () => {
      const backend = await createOnnxBackend();
      const kernel = makeKernel(chooseKernel('laplacian'), 0.5 * Math.sqrt(d));
      const [xRows, yRows] = d === 2 ? [600, 2100] : [300, 8200];
      const X = randomMatrix(xRows, d, 34);
      const Y = randomMatrix(yRows, d, 35);
      const block = await backend.kernelBlock(kernel, X, Y);
      // Entries on both sides of each split of rows (256, 512) and columns (2 048, 8 192).
      for (const [i, j] of [[0, 0], [xRows - 1, yRows - 1], [255, 2047], [256, 2048], [511, 8191], [512, 8192], [1, 4097]]) {
        if (i < xRows && j < yRows) expect(block[i * yRows + j]).toBeCloseTo(naiveKernel(kernel.value, X, Y, i, j), 5);
      }
      await backend.dispose();
    });
  }

  describe('byte-valued data: distances from the integer GEMM (kernels/onnx/bytes.ts)', () => {
    // The byte form runs only where onnxruntime's integer GEMM is exact (src/backends/onnx/integerGemm.ts);
    // elsewhere byte data takes the float form, which the other tests cover.
    const exact = INTEGER_GEMM_EXACT;

    it('finds the integer GEMM exact on a CPU with integer dot products (VNNI), as MLAS runs it there', () => {
      const flags = readFileSync('/proc/cpuinfo', 'utf8');
      if (/\b(avx512_vnni|avx_vnni)\b/.test(flags)) expect(exact).toBe(true);
      else expect(typeof exact).toBe('boolean');
    });

    it("the plan's distances row and kmfit devices say which form byte data take here, and float data none", async () => {
      const bytes = byteMatrix(300, 30, 50, 255);
      const y = Array.from({ length: 300 }, (_, i) => i % 3);
      const plain = randomMatrix(300, 30, 51);
      const options = { backend: 'onnx', kernel: 'gaussian', bandwidth: 3, epochs: 1 } as const;
      const [onBytes, onFloats] = [await fit(bytes, y, options), await fit(plain, y, options)];
      expect(onBytes.plan.distances).toBe(
        exact
          ? 'integer GEMM, exact: the centers are bytes ÷ 255, and so are the rows that come in that form'
          : "float GEMM: the centers are bytes ÷ 255, but this CPU's integer GEMM is not exact (kmfit devices)",
      );
      expect(onFloats.plan.distances).toBeUndefined();
      const backend = await createOnnxBackend();
      expect((await backend.dataForms!())[0]).toContain(exact ? 'exact on this CPU' : 'the float form');
      await backend.dispose();
    });

    it("a kernel cache over prepared byte rows fills in its epoch's order from their bytes, and agrees with float64", async () => {
      const backend = await createOnnxBackend();
      const [n, d, l, m] = [240, 60, 2, 70];
      const Z = backend.prepareRows!(byteMatrix(n, d, 61, 255));
      const kernel = makeKernel(chooseKernel('laplacian'), 4);
      const centers = await backend.createCenterSet(kernel, Z, l);
      const alpha = randomMatrix(n, l, 62).data.map((a) => a - 0.5);
      await centers.setWeights(alpha);
      const cache = new KernelCache(await backend.cacheEngine!('float32'), kernel, Z, centers, m);
      const order = Int32Array.from({ length: n }, (_, i) => (i * 97) % n);
      cache.beginEpoch(order);
      const out = new Float32Array(m * l);
      for (const pass of ['filling', 'filled']) {
        for (let start = 0; start < n; start += m) {
          const batch = order.subarray(start, Math.min(start + m, n));
          const part = out.subarray(0, batch.length * l);
          expect(await cache.predict(batch, part)).toBe(true);
          expect(fusedMisses(part, naiveFused(kernel, takeRows(Z, batch), Z, alpha, l, 0, n)), `${pass}, rows from ${start}`).toEqual([]);
        }
      }
      cache.dispose();
      centers.dispose();
      await backend.dispose();
    });

    /** n × d bytes over `divisor` (k/divisor in float32), most of them 0 as in images. */
    function byteMatrix(n: number, d: number, seed: number, divisor: number): Matrix {
      const random = randomMatrix(n, d, seed).data;
      const data = random.map((u) => Math.fround((u < 0.6 ? 0 : Math.min(255, Math.floor(((u - 0.6) / 0.4) * 256))) / divisor));
      return { data, rows: n, cols: d };
    }

    for (const [divisor, held, streamedBytes] of [[1, 'resident', 0], [255, 'resident', 0], [1, 'streamed', Infinity], [255, 'streamed', Infinity]] as const) {
      it(`bytes over ${divisor}, ${held}: the fused block, the step and rows of other kinds agree with float64`, async () => {
        const backend = await createOnnxBackend({ streamedBytes });
        const d = 100;
        const n = 300;
        const l = 3;
        const Z = byteMatrix(n, d, 41, divisor);
        const alpha = randomMatrix(n, l, 42).data.map((a) => a - 0.5);
        const sigma = (divisor === 1 ? 255 : 1) * 4;
        for (const option of ['gaussian', 'laplacian', { name: 'matern', nu: 1.5 }] as KernelOption[]) {
          const kernel = makeKernel(chooseKernel(option), sigma);
          const set = await backend.createCenterSet(kernel, Z, l);
          await set.setWeights(alpha);
          // Bytes over the same divisor (the byte form), floats and bytes over the other divisor (the float form's shards).
          const rowsOf: [string, Matrix][] = [
            ['bytes', byteMatrix(20, d, 43, divisor)],
            ['floats', { ...randomMatrix(20, d, 44), data: randomMatrix(20, d, 44).data.map((u) => u / (divisor === 1 ? 1 / 255 : 1)) }],
            ['bytes over the other divisor', byteMatrix(20, d, 45, divisor === 1 ? 255 : 1)],
            ['bytes', Z],
            // Rows with their byte form kept (a training step's batch): taken twice, converted once.
            ['prepared bytes', backend.prepareRows!(byteMatrix(20, d, 48, divisor))],
            ['prepared floats', backend.prepareRows!(randomMatrix(20, d, 49))],
          ];
          for (const [label, X] of [...rowsOf, ...rowsOf.slice(-2)]) {
            const out = new Float32Array(X.rows * l);
            await set.predict(X, out);
            expect(fusedMisses(out, naiveFused(kernel, X, Z, alpha, l, 0, n)), `${kernel.describe()}, ${label}`).toEqual([]);
          }
          expect(await pullBackDisagreements(set, kernel, byteMatrix(30, d, 46, divisor), Z, alpha, 1e-4, kernel.describe())).toEqual([]);
          expect(await pullBackDisagreements(set, kernel, randomMatrix(30, d, 47), Z, alpha, 1e-4, `${kernel.describe()}, floats`)).toEqual([]);
          set.dispose();
        }
        await backend.dispose();
      });
    }

    for (const [divisor, held, streamedBytes] of [[1, 'resident', 0], [255, 'resident', 0], [255, 'streamed', Infinity]] as const) {
      it(`a center group (a bandwidth search's) over bytes over ${divisor}, ${held}: every member on rows of each kind agrees with float64`, async () => {
        const backend = await createOnnxBackend({ streamedBytes });
        const [n, d, l] = [300, 100, 2];
        const Z = byteMatrix(n, d, 51, divisor);
        const sigma = (divisor === 1 ? 255 : 1) * 4;
        const kernels = (['gaussian', 'laplacian', { name: 'matern', nu: 1.5 }] as KernelOption[]).map((option, k) => makeKernel(chooseKernel(option), sigma * (k + 1)));
        const group = await centerGroup(backend, kernels, Z, l);
        expect(group.sharesDistances).toBe(true);
        const alphas = kernels.map((_, k) => randomMatrix(n, l, 52 + k).data.map((a) => a - 0.5));
        for (let k = 0; k < kernels.length; k++) await group.members[k].setWeights(alphas[k]);
        const rowsOf: [string, Matrix][] = [
          ['bytes', byteMatrix(20, d, 55, divisor)],
          ['prepared bytes', backend.prepareRows!(byteMatrix(20, d, 56, divisor))],
          ['floats', randomMatrix(20, d, 57)],
          ['bytes over the other divisor', byteMatrix(20, d, 58, divisor === 1 ? 255 : 1)],
        ];
        for (const [label, X] of [...rowsOf, ...rowsOf]) {
          const outs = kernels.map(() => new Float32Array(X.rows * l));
          await group.predictAll(X, outs);
          kernels.forEach((kernel, k) => expect(fusedMisses(outs[k], naiveFused(kernel, X, Z, alphas[k], l, 0, n)), `${kernel.describe()}, ${label}`).toEqual([]));
          const own = new Float32Array(X.rows * l);
          await group.members[1].predict(X, own);
          expect(fusedMisses(own, naiveFused(kernels[1], X, Z, alphas[1], l, 0, n)), `member ${kernels[1].describe()} alone, ${label}`).toEqual([]);
        }
        group.dispose();
        await backend.dispose();
      });
    }

    it.runIf(exact)('gets the distance of bright images a few grey levels apart exactly, where the float32 GEMM cannot', async () => {
      // Raw bytes of 250 in all 784 features: ‖x‖² ≈ 4.9e7, whose float32 rounding (±4) is more than
      // the r² = j² between image 0 and image j, which is one pixel j grey levels darker.
      const d = 784;
      const n = 5;
      const Z: Matrix = { data: new Float32Array(n * d).fill(250), rows: n, cols: d };
      for (let j = 1; j < n; j++) Z.data[j * d + j] = 250 - j;
      const kernel = makeKernel(chooseKernel('gaussian'), 1);
      for (const streamedBytes of [0, Infinity]) {
        const backend = await createOnnxBackend({ streamedBytes });
        const set = await backend.createCenterSet(kernel, Z, n);
        await set.setWeights(Float32Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0))); // α = I
        const out = new Float32Array(n * n);
        await set.predict(Z, out);
        const block = await backend.kernelBlock(kernel, Z, Z);
        // A bandwidth search's group of this kernel and a wider one.
        const group = await centerGroup(backend, [kernel, makeKernel(chooseKernel('gaussian'), 2)], Z, n);
        for (const member of group.members) await member.setWeights(Float32Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0)));
        const grouped = [new Float32Array(n * n), new Float32Array(n * n)];
        await group.predictAll(Z, grouped);
        for (let j = 0; j < n; j++) {
          expect(out[j], `fused k(image 0, image ${j}), streamedBytes ${streamedBytes}`).toBeCloseTo(Math.exp(-(j * j) / 2), 6);
          expect(block[j], `block k(image 0, image ${j})`).toBeCloseTo(Math.exp(-(j * j) / 2), 6);
          expect(grouped[0][j], `group's σ = 1, k(image 0, image ${j})`).toBeCloseTo(Math.exp(-(j * j) / 2), 6);
          expect(grouped[1][j], `group's σ = 2, k(image 0, image ${j})`).toBeCloseTo(Math.exp(-(j * j) / 8), 6);
        }
        group.dispose();
        set.dispose();
        await backend.dispose();
      }
    });

    it("kernel blocks and a cache's blocks of bytes, suffixes of its matrix included, agree with float64", async () => {
      const backend = await createOnnxBackend();
      const d = 100;
      const engine = await backend.cacheEngine!('float32');
      for (const divisor of [1, 255]) {
        const kernel = makeKernel(chooseKernel('laplacian'), (divisor === 1 ? 255 : 1) * 3);
        const Y = byteMatrix(600, d, 51, divisor);
        const suffix: Matrix = { data: Y.data.subarray(100 * d), rows: 500, cols: d };
        const cases: [string, Matrix, Matrix, Float32Array][] = [];
        for (const [label, X] of [['bytes', byteMatrix(50, d, 52, divisor)], ['floats', randomMatrix(50, d, 53)]] as const) {
          cases.push([`kernelBlock, ${label}`, X, Y, await backend.kernelBlock(kernel, X, Y)]);
          for (const columns of [Y, suffix]) {
            const out = new Float32Array(X.rows * columns.rows);
            await engine.block(kernel, X, columns, out, 0, columns.rows);
            cases.push([`cache block, ${label}, ${columns.rows} columns`, X, columns, out]);
          }
        }
        for (const [label, X, columns, block] of cases) {
          const misses: string[] = [];
          for (let i = 0; i < X.rows; i++) {
            for (let j = 0; j < columns.rows; j++) {
              const expected = naiveKernel(kernel.value, X, columns, i, j);
              if (!(Math.abs(block[i * columns.rows + j] - expected) <= 1e-5 * expected + 1e-6)) misses.push(`${i},${j}: ${block[i * columns.rows + j]} vs ${expected}`);
            }
          }
          expect(misses.slice(0, 3), `over ${divisor}: ${label}`).toEqual([]);
        }
      }
      engine.dispose();
      await backend.dispose();
    });
  });

  it('rejects a row outside the centers, and calls on a disposed set or backend', async () => {
    const backend: Backend = await createOnnxBackend();
    const kernel = makeKernel(chooseKernel('gaussian'), 1);
    const Z = randomMatrix(40, 3, 21);
    const small = randomMatrix(3, 3, 22);
    const set = await backend.createCenterSet(kernel, Z, 1);
    await expect(set.addToWeights([40], new Float32Array(1))).rejects.toThrow(/not a center index/);
    set.dispose();
    await expect(set.predict(small, new Float32Array(3))).rejects.toThrow(/disposed/);
    await backend.dispose();
    await expect(backend.kernelBlock(kernel, small, Z)).rejects.toThrow(/disposed/);
  });

  it('lets a Node process exit after dispose', () => {
    const child = runChild(backendLifeScript('src/backends/onnx/index.ts', 'createOnnxBackend', 'createOnnxBackend()'));
    expect(child.stdout).toContain(BACKEND_LIFE_OUTPUT);
    expect(child.status).toBe(0);
  });
});

// Whether or not onnxruntime-node is installed here: a Node where it cannot be resolved.
describe('onnx backend without onnxruntime-node', () => {
  it("throws UNKNOWN_BACKEND saying how to install it, and 'auto' falls back to wasm", () => {
    const child = runChild(`
      import { register } from 'node:module';
      const hooks = 'export async function resolve(specifier, context, next) {' +
        ' if (specifier === "onnxruntime-node") { const e = new Error("Cannot find package onnxruntime-node"); e.code = "ERR_MODULE_NOT_FOUND"; throw e; }' +
        ' return next(specifier, context); }';
      register('data:text/javascript,' + encodeURIComponent(hooks));
      const { createOnnxBackend, onnxSupport } = await import(${moduleUrl('src/backends/onnx/index.ts')});
      const { createBackend } = await import(${moduleUrl('src/backends/select.ts')});
      const support = await onnxSupport();
      const auto = await createBackend('auto', { threads: 1 });
      const fallback = auto.name;
      await auto.dispose();
      try {
        await createOnnxBackend();
        console.log('created');
      } catch (error) {
        console.log(JSON.stringify({ code: error.code, name: error.name, message: error.message, support, fallback }));
      }
    `);
    expect(child.status).toBe(0);
    const report = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}');
    expect(report).toMatchObject({ code: 'UNKNOWN_BACKEND', name: 'KmfitError', support: { available: false } });
    expect(report.message).toContain('npm install onnxruntime-node --onnxruntime-node-install=skip');
    expect(report.message).toContain("backend: 'wasm'");
    expect(report.support.reason).toBe("the optional package onnxruntime-node is not installed; install it with `npm install onnxruntime-node --onnxruntime-node-install=skip`");
    expect(['webgpu', 'wasm']).toContain(report.fallback);
  });
});
