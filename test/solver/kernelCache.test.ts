/**
 * The kernel cache (src/solver/kernelCache.ts): the plan's decision; each batch's prediction from
 * the cache against float64 K·α within the precision's rounding bound, while it fills and after;
 * the filling epoch's kernel evaluations (about half of n²); and whole runs with and without a
 * cache against each other and the exact interpolant (float64 Cholesky).
 */
import { EigenvalueDecomposition, Matrix as DenseMatrix } from 'ml-matrix';
import { describe, expect, it, vi } from 'vitest';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import type { Backend, CacheEngine, CachedValues, CachePrecision } from '../../src/backends/backend.js';
import { onnxSupport } from '../../src/backends/onnx/index.js';
import { createBackend, type BackendName } from '../../src/backends/select.js';
import { fit, loadModel } from '../../src/index.js';
import { AUTO_FLOAT32_BYTES, CACHE_SHARE, KernelCache, SCORING_BLOCK_MAX_OUTPUTS, SCORING_BLOCK_MIN_FEATURES, cacheBytes, planCache, type CacheContext } from '../../src/solver/kernelCache.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { exactInterpolant, lcg, randomPoints, relativeError, squaredDistance } from '../helpers/data.js';
import { rowSlice } from '../../src/matrix.js';

const GIB = 2 ** 30;
/** Half an ulp, relative: the rounding of one cached value. */
const ROUNDING: Record<CachePrecision, number> = { float16: 2 ** -11, bfloat16: 2 ** -8, float32: 2 ** -24 };
const PRECISIONS: CachePrecision[] = ['float16', 'bfloat16', 'float32'];

const onnx = await onnxSupport();
const IN_CI = process.env.CI === 'true';
/** Backends with their own cache engine; onnx only where it is installed (always in CI). */
const ENGINE_BACKENDS: BackendName[] = ['wasm', ...(onnx.available || IN_CI ? (['onnx'] as const) : [])];

describe('the plan of the cache', () => {
  const context: CacheContext = {
    n: 60_000,
    d: 784,
    batchSize: 2000,
    backend: 'onnx',
    engine: true,
    available: { bytes: 20 * GIB, source: 'the 20.0 GiB of available system memory' },
    otherBytes: 1 * GIB,
  };
  const float16 = cacheBytes(60_000, 784, 2000, 'float16');

  it('auto caches full MNIST in float16 when it fits the stated share of what is left', () => {
    // The matrix, a 32 MiB run of gathered rows, the points in fill order.
    expect(float16).toBe(60_000 * 60_000 * 2 + 32 * 2 ** 20 + 60_000 * 784 * 4);
    const plan = planCache('auto', context);
    expect(plan).toEqual({ precision: 'float16', bytes: float16, reason: expect.stringContaining(`${CACHE_SHARE * 100} % of the 19.0 GiB left`) });
  });

  it('auto keeps float32 for a small matrix, and caches nothing where the matrix does not fit', () => {
    const n = Math.floor(Math.sqrt(AUTO_FLOAT32_BYTES / 4));
    expect(planCache('auto', { ...context, n, batchSize: 100 }).precision).toBe('float32');
    expect(planCache('auto', { ...context, n: n + 1, batchSize: 100 }).precision).toBe('float16');
    const tight = planCache('auto', { ...context, available: { bytes: 12 * GIB, source: 'x' } });
    expect(tight.precision).toBeUndefined();
    expect(tight.reason).toMatch(/needs 6\.9 GiB in float16.*more than 60 % of the 11\.0 GiB left/);
  });

  it("auto for exact values (a reduced precision's rounding held the residual up): float32 within the same share, or nothing", () => {
    // n = 30 000: 3.5 GiB in float32 within 60 % of the 19.0 GiB left; full MNIST's 13.6 GiB is not.
    const half = { ...context, n: 30_000 };
    expect(planCache('auto', half).precision).toBe('float16');
    expect(planCache('auto', { ...half, exact: true })).toMatchObject({ precision: 'float32', bytes: cacheBytes(30_000, 784, 2000, 'float32') });
    const full = planCache('auto', { ...context, exact: true });
    expect(full.precision).toBeUndefined();
    expect(full.reason).toMatch(/needs 13\.6 GiB in float32.*more than 60 % of the 19\.0 GiB left/);
  });

  it('a precision caches up to all that is left, and bytes bound it', () => {
    expect(planCache('float32', { ...context, available: { bytes: 12 * GIB, source: 'x' } }).precision).toBeUndefined();
    expect(planCache('float16', { ...context, available: { bytes: 12 * GIB, source: 'x' } }).precision).toBe('float16');
    expect(planCache({ bytes: 6 * GIB }, context).precision).toBeUndefined();
    expect(planCache({ bytes: 8 * GIB }, context)).toMatchObject({ precision: 'float16', bytes: float16 });
  });

  it("keeps the subsample's columns in float32 beside the matrix where they fit, before the validation rows' block", () => {
    const panel = 60_000 * 2000 * 4;
    const plan = planCache('auto', { ...context, subsample: 2000 });
    expect(plan).toMatchObject({ precision: 'float16', bytes: float16 + panel, subsampleColumns: 2000 });
    expect(plan.reason).toMatch(/with its 2000 subsample columns in float32 \(0\.4 GiB\)/);
    // 60 % of 12.4 GiB holds the matrix (6.9 GiB) and the panel (0.4 GiB) but not a 2.2 GiB block besides.
    const tight = planCache('auto', { ...context, subsample: 2000, scoredRows: 10_000, available: { bytes: 13.4 * GIB, source: 'x' } });
    expect(tight).toMatchObject({ bytes: float16 + panel, subsampleColumns: 2000 });
    expect(tight.scoredRows).toBeUndefined();
    expect(planCache('auto', context).subsampleColumns).toBeUndefined();
  });

  it('off, a run that cannot use it, and a backend without an engine', () => {
    expect(planCache('off', context)).toEqual({ bytes: 0, reason: "cache: 'off'" });
    expect(planCache('auto', { ...context, unsupported: 'a model on separate centers' })).toEqual({ bytes: 0, reason: 'a model on separate centers' });
    expect(planCache('auto', { ...context, engine: false, backend: 'webgpu' }).reason).toMatch(/webgpu backend has no cache engine/);
    expect(planCache('bfloat16', { ...context, engine: false, backend: 'webgpu' }).precision).toBe('bfloat16');
  });

  it('keeps the validation rows\' block beside the matrix where both fit, and only then', () => {
    const block = 10_000 * 60_000 * 4;
    const both = planCache('auto', { ...context, scoredRows: 10_000 });
    expect(both).toMatchObject({ precision: 'float16', bytes: float16 + block, scoredRows: 10_000 });
    expect(both.reason).toMatch(/with k\(V, X\) of the 10000 validation rows in float32 \(2\.2 GiB\)/);
    // 60 % of 14 GiB holds the matrix (6.9 GiB) but not the block (2.2 GiB) besides.
    const matrixOnly = planCache('auto', { ...context, scoredRows: 10_000, available: { bytes: 14 * GIB, source: 'x' } });
    expect(matrixOnly).toEqual({ precision: 'float16', bytes: float16, reason: expect.not.stringMatching(/validation/) });
    expect(planCache('off', { ...context, scoredRows: 10_000 }).scoredRows).toBeUndefined();
    // Below SCORING_BLOCK_MIN_FEATURES the block is not kept however much memory there is, unless
    // the rows have at most SCORING_BLOCK_MAX_OUTPUTS scores (a regression, two classes).
    const narrow = { ...context, d: SCORING_BLOCK_MIN_FEATURES - 1, scoredRows: 10_000 };
    expect(planCache('auto', narrow).scoredRows).toBeUndefined();
    expect(planCache('auto', { ...narrow, outputs: SCORING_BLOCK_MAX_OUTPUTS + 1 }).scoredRows).toBeUndefined();
    expect(planCache('auto', { ...narrow, outputs: SCORING_BLOCK_MAX_OUTPUTS }).scoredRows).toBe(10_000);
    expect(planCache('auto', { ...narrow, outputs: 1 }).scoredRows).toBe(10_000);
    expect(planCache('auto', { ...context, d: SCORING_BLOCK_MIN_FEATURES, scoredRows: 10_000, outputs: 26 }).scoredRows).toBe(10_000);
  });

  it('refuses bytes beyond the memory left, naming both', () => {
    expect(() => planCache({ bytes: 30 * GIB }, context)).toThrow(/cache\.bytes is 30\.0 GiB, more than the 19\.0 GiB left/);
  });
});

const n = 300;
const d = 4;
const l = 3;
const m = 64;
const points = randomPoints(n, d, 21);
const X = { data: Float32Array.from(points.flat()), rows: n, cols: d };
const kernel = makeKernel(chooseKernel('gaussian'), 0.4);
const K64 = points.map((a) => points.map((b) => kernel.value(squaredDistance(a, b))));

/** A permutation of 0…n−1 from a seed (a plain LCG shuffle). */
function permutation(seed: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  let state = seed;
  for (let i = n - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** The engine, counting the kernel values it evaluates. */
function counting(engine: CacheEngine): CacheEngine & { evaluated: number } {
  const counted = {
    ...engine,
    evaluated: 0,
    block: (...args: Parameters<CacheEngine['block']>) => {
      counted.evaluated += args[1].rows * args[2].rows;
      return engine.block(...args);
    },
  };
  return counted;
}

/** Checks out = K64[batch]·α within the rounding bound of the precision and float32 sums. */
function expectProduct(out: Float32Array, batch: Int32Array, alpha: Float32Array, precision: CachePrecision): void {
  const perTerm = ROUNDING[precision] + (n + 8) * 2 ** -24;
  batch.forEach((row, i) => {
    for (let c = 0; c < l; c++) {
      let exact = 0;
      let magnitude = 0;
      for (let j = 0; j < n; j++) {
        exact += K64[row][j] * alpha[j * l + c];
        magnitude += Math.abs(K64[row][j] * alpha[j * l + c]);
      }
      expect(Math.abs(out[i * l + c] - exact)).toBeLessThanOrEqual(perTerm * magnitude + 1e-12);
    }
  });
}

/** Checks out = K64[subsample, batch]·G (float16 values) within the rounding bound of float16 and float32 sums. */
function expectCorrection(out: Float32Array, subsample: Int32Array, batch: Int32Array, G: Float32Array): void {
  subsample.forEach((row, i) => {
    for (let c = 0; c < l; c++) {
      let exact = 0;
      let magnitude = 0;
      batch.forEach((column, j) => {
        exact += K64[row][column] * G[j * l + c];
        magnitude += Math.abs(K64[row][column] * G[j * l + c]);
      });
      expect(Math.abs(out[i * l + c] - exact)).toBeLessThanOrEqual((ROUNDING.float16 + (m + 8) * 2 ** -24) * magnitude + 1e-12);
    }
  });
}

async function withBackend<T>(name: BackendName, use: (backend: Backend) => Promise<T>): Promise<T> {
  const backend = await createBackend(name);
  try {
    return await use(backend);
  } finally {
    await backend.dispose();
  }
}

describe.each(ENGINE_BACKENDS)('the cache on the %s engine', (backendName) => {
  for (const precision of PRECISIONS) {
    it(`${precision}: each batch's k(X_B, X)·α while it fills and after, from about half the kernel evaluations`, async () => {
      await withBackend(backendName, async (backend) => {
        const centers = await backend.createCenterSet(kernel, X, l);
        const alpha = Float32Array.from({ length: n * l }, (_, i) => Math.sin(i * 0.37));
        await centers.setWeights(alpha);
        const engine = counting(await backend.cacheEngine!(precision));
        const cache = new KernelCache(engine, kernel, X, centers, m);
        const out = new Float32Array(m * l);
        const first = permutation(5);
        cache.beginEpoch(first);
        // Out of fill order: the cache cannot answer yet.
        expect(await cache.predict(first.subarray(m, 2 * m), out)).toBe(false);
        for (let start = 0; start < n; start += m) {
          const batch = first.subarray(start, Math.min(start + m, n));
          expect(await cache.predict(batch, out)).toBe(true);
          expectProduct(out, batch, alpha, precision);
        }
        expect(cache.complete).toBe(true);
        let expected = 0;
        for (let start = 0; start < n; start += m) expected += Math.min(m, n - start) * (n - start);
        expect(engine.evaluated).toBe(expected);
        expect(engine.evaluated).toBeLessThan(0.61 * n * n);
        // A later epoch: any rows, gathered; nothing evaluated.
        const later = permutation(9);
        cache.beginEpoch(later);
        for (let start = 0; start < n; start += m) {
          const batch = later.subarray(start, Math.min(start + m, n));
          expect(await cache.predict(batch, out)).toBe(true);
          expectProduct(out, batch, alpha, precision);
        }
        expect(engine.evaluated).toBe(expected);
        cache.dispose();
        centers.dispose();
      });
    });
  }

  it('fillWhole computes the whole matrix at once, from about half the kernel evaluations (EigenPro 3’s K_ZZ)', async () => {
    await withBackend(backendName, async (backend) => {
      const centers = await backend.createCenterSet(kernel, X, l);
      const alpha = Float32Array.from({ length: n * l }, (_, i) => Math.cos(i * 0.21));
      await centers.setWeights(alpha);
      const engine = counting(await backend.cacheEngine!('float32'));
      const cache = new KernelCache(engine, kernel, X, centers, m);
      await cache.fillWhole();
      expect(cache.complete).toBe(true);
      let expected = 0;
      for (let start = 0; start < n; start += m) expected += Math.min(m, n - start) * (n - start);
      expect(engine.evaluated).toBe(expected);
      // Any rows, in any order, without an epoch's permutation.
      const out = new Float32Array(m * l);
      const batch = permutation(3).subarray(0, m);
      expect(await cache.predict(batch, out)).toBe(true);
      expectProduct(out, batch, alpha, 'float32');
      await cache.fillWhole();
      expect(engine.evaluated).toBe(expected);
      cache.dispose();
      centers.dispose();
    });
  });

  it('fillWhole with rows in front: a product with their columns reads runs of the rows (EigenPro 3’s K_ZQ·c), and the rest is as before', async () => {
    await withBackend(backendName, async (backend) => {
      const centers = await backend.createCenterSet(kernel, X, l);
      const alpha = Float32Array.from({ length: n * l }, (_, i) => Math.cos(i * 0.13));
      await centers.setWeights(alpha);
      const cache = new KernelCache(await backend.cacheEngine!('float16'), kernel, X, centers, m);
      const front = Int32Array.from(permutation(11).subarray(0, 40));
      await cache.fillWhole(front);
      const all = Int32Array.from({ length: n }, (_, i) => i);
      const c = Float32Array.from({ length: front.length * l }, (_, i) => Math.sin(i * 0.7));
      const out = new Float32Array(n * l);
      expect(await cache.subsampleProduct(all, front, c, out)).toBe(true);
      expectCorrection(out, all, front, c);
      // Columns not at consecutive positions (the front rows reversed) are gathered, with the same answer.
      const reversed = front.slice().reverse();
      const reversedC = new Float32Array(c.length);
      for (let j = 0; j < front.length; j++) reversedC.set(c.subarray(j * l, (j + 1) * l), (front.length - 1 - j) * l);
      expect(await cache.subsampleProduct(all, reversed, reversedC, out)).toBe(true);
      expectCorrection(out, all, reversed, reversedC);
      // Predictions take the weights in the cache's column order.
      const batch = permutation(12).subarray(0, m);
      const predicted = new Float32Array(m * l);
      expect(await cache.predict(batch, predicted)).toBe(true);
      expectProduct(predicted, batch, alpha, 'float16');
      cache.dispose();
      centers.dispose();
    });
  });

  it('the correction product k(X_S, X_B)·G from the subsample’s cached rows, once they are all cached', async () => {
    await withBackend(backendName, async (backend) => {
      const centers = await backend.createCenterSet(kernel, X, l);
      const cache = new KernelCache(await backend.cacheEngine!('float16'), kernel, X, centers, m);
      const order = permutation(7);
      const subsample = Int32Array.from(order.subarray(m, m + 40)); // rows of the second batch
      const batch = permutation(8).subarray(0, m);
      const G = Float32Array.from({ length: m * l }, (_, i) => Math.sin(i * 0.7));
      const out = new Float32Array(subsample.length * l);
      cache.beginEpoch(order);
      await cache.predict(order.subarray(0, m), new Float32Array(m * l));
      // The subsample's rows are not filled yet: the caller computes the block.
      expect(await cache.subsampleProduct(subsample, batch, G, out)).toBe(false);
      await cache.predict(order.subarray(m, 2 * m), new Float32Array(m * l));
      expect(await cache.subsampleProduct(subsample, batch, G, out)).toBe(true);
      expectCorrection(out, subsample, batch, G);
      cache.dispose();
      centers.dispose();
    });
  });

  it("the correction product from the subsample's float32 panel once the matrix is complete, where the engine multiplies transposed rows", async () => {
    await withBackend(backendName, async (backend) => {
      const centers = await backend.createCenterSet(kernel, X, l);
      const engine = await backend.cacheEngine!('float16');
      const order = permutation(9);
      const subsample = Int32Array.from(permutation(10).subarray(0, 45));
      const cache = new KernelCache(engine, kernel, X, centers, m, subsample);
      const G = Float32Array.from({ length: m * l }, (_, i) => Math.cos(i * 0.3));
      const out = new Float32Array(subsample.length * l);
      cache.beginEpoch(order);
      for (let start = 0; start < n; start += m) await cache.predict(order.subarray(start, start + m), new Float32Array(Math.min(m, n - start) * l));
      // Two batches: the panel is built at the first and read again at the second.
      for (const seed of [11, 12]) {
        const batch = permutation(seed).subarray(0, m);
        out.fill(NaN);
        expect(await cache.subsampleProduct(subsample, batch, G, out)).toBe(true);
        expectCorrection(out, subsample, batch, G);
      }
      cache.dispose();
      centers.dispose();
    });
  });

  it('an epoch that begins before the cache is full starts the fill again in its own order', async () => {
    await withBackend(backendName, async (backend) => {
      const centers = await backend.createCenterSet(kernel, X, l);
      const cache = new KernelCache(await backend.cacheEngine!('float32'), kernel, X, centers, m);
      const out = new Float32Array(m * l);
      const first = permutation(1);
      cache.beginEpoch(first);
      expect(await cache.predict(first.subarray(0, m), out)).toBe(true);
      const second = permutation(2);
      cache.beginEpoch(second);
      expect(await cache.predict(first.subarray(0, m), out)).toBe(false);
      expect(await cache.predict(second.subarray(0, m), out)).toBe(true);
      cache.dispose();
      centers.dispose();
    });
  });
});

describe("the cache in the wasm engine's memory", () => {
  it('keeps all of its rows there or none (a failed allocation gives back the ones taken), with the same products either way', async () => {
    await withBackend('wasm', async (backend) => {
      const centers = await backend.createCenterSet(kernel, X, l);
      const alpha = Float32Array.from({ length: n * l }, (_, i) => Math.sin(i * 0.29));
      await centers.setWeights(alpha);
      const blocks = Math.ceil(n / m);
      // The engine's allocations succeed `room` times, then fail (a heap past its share).
      for (const room of [blocks, 2]) {
        const engine = await backend.cacheEngine!('float32');
        const taken: CachedValues[] = [];
        const freed: CachedValues[] = [];
        const limited: CacheEngine = {
          ...engine,
          allocate: (length, float32) => {
            if (taken.length >= room) return undefined;
            const values = engine.allocate!(length, float32)!;
            taken.push(values);
            return values;
          },
          free: (values) => {
            freed.push(values);
            engine.free!(values);
          },
        };
        const cache = new KernelCache(limited, kernel, X, centers, m);
        const out = new Float32Array(m * l);
        for (const seed of [5, 9]) {
          // The filling epoch, then a later one reading rows scattered over the cache.
          const order = permutation(seed);
          cache.beginEpoch(order);
          for (let start = 0; start < n; start += m) {
            const batch = order.subarray(start, Math.min(start + m, n));
            expect(await cache.predict(batch, out)).toBe(true);
            expectProduct(out, batch, alpha, 'float32');
          }
        }
        // All blocks kept there, none given back while in use; or the two taken given back at once.
        expect(taken).toHaveLength(room);
        expect(freed).toEqual(room === blocks ? [] : taken);
        cache.dispose();
        expect(freed).toEqual(taken);
      }
      centers.dispose();
    });
  });
});

describe("a model after a cache in the wasm engine's memory", () => {
  it('does not keep a backend whose memory the cache left idle beyond 256 MiB: it predicts on a fresh one, as another backend does', async () => {
    // 8 192² float32 values (256 MiB) and the subsample's panel: freed at the end of training,
    // still part of the WebAssembly memory, which never shrinks.
    const rows = 8192;
    const next = lcg(41);
    const big = { data: Float32Array.from({ length: rows * 4 }, next), rows, cols: 4 };
    const targets = Array.from({ length: rows }, (_, i) => Math.sin(4 * big.data[i * 4]) + big.data[i * 4 + 1]);
    const model = await fit(big, targets, { kernel: 'gaussian', bandwidth: 0.5, epochs: 1, backend: 'wasm', cache: 'float32', task: 'regression' });
    try {
      expect(model.plan.cache?.precision).toBe('float32');
      expect((model as unknown as { backend?: unknown }).backend).toBeUndefined();
      const probe = rowSlice(big, 0, 50);
      const scores = (await model.predictScores(probe)).data;
      const copy = await loadModel(model.toBytes());
      await copy.useBackend('js');
      const reference = (await copy.predictScores(probe)).data;
      expect(relativeError(scores, reference)).toBeLessThan(1e-4);
      await copy.dispose();
    } finally {
      await model.dispose();
    }
  });
});

describe('training with a cache', () => {
  const Xnew = randomPoints(60, d, 22);
  const Y = points.map((x) => [Math.sin(3 * x[0]) + x[1] * x[2], Math.abs(x[3] - 0.5)]);
  const bandwidth = 1;
  const laplacian = makeKernel(chooseKernel('laplacian'), bandwidth);
  const exact = exactInterpolant(laplacian.value, points, Y, Xnew).flat();
  const K = new DenseMatrix(points.map((a) => points.map((b) => laplacian.value(squaredDistance(a, b)))));
  const eigenvalues = new EigenvalueDecomposition(K, { assumeSymmetric: true }).realEigenvalues;
  const condition = Math.max(...eigenvalues) / Math.min(...eigenvalues);
  const base = { kernel: 'laplacian', bandwidth, epochs: 60, task: 'regression', batchSize: 64, seed: 4 } as const;

  for (const backend of ['js', ...ENGINE_BACKENDS] as BackendName[]) {
    it(`${backend}: float32 and float16 caches reach the uncached run's model, within the precision's bound`, async () => {
      const off = await fit(points, Y, { ...base, backend, cache: 'off' });
      const predicted = async (cache: 'float32' | 'float16') => {
        const model = await fit(points, Y, { ...base, backend, cache });
        expect(model.plan.cache?.precision).toBe(cache);
        const scores = (await model.predictScores(Xnew)).data;
        await model.dispose();
        return scores;
      };
      const uncached = (await off.predictScores(Xnew)).data;
      expect(off.plan.cache).toEqual({ bytes: 0, reason: "cache: 'off'" });
      await off.dispose();
      expect(relativeError(uncached, exact)).toBeLessThan(1e-3);
      expect(relativeError(await predicted('float32'), uncached)).toBeLessThan(1e-3);
      // The cached run converges to the interpolant of the rounded matrix: its distance from the
      // exact one is at most about κ(K)·u.
      expect(relativeError(await predicted('float16'), uncached)).toBeLessThan(condition * ROUNDING.float16 + 1e-3);
    });
  }

  it('reports each epoch with the wall time since the run started', async () => {
    const model = await fit(points, Y, { ...base, epochs: 3, backend: 'wasm' });
    const elapsed = model.history.map((h) => h.elapsedSeconds!);
    expect(elapsed.every((s, i) => s > 0 && (i === 0 || s > elapsed[i - 1]))).toBe(true);
    expect(elapsed[2]).toBeGreaterThanOrEqual(model.history.reduce((sum, h) => sum + h.seconds, 0));
    expect(model.plan.cache?.precision).toBe('float32');
    await model.dispose();
  });

  it("scores the validation rows from their kept block (d ≥ SCORING_BLOCK_MIN_FEATURES, or few scores per row): the model's own figures, up to float32 sums", async () => {
    // Points with as many features as the block needs to be kept; the targets from their first four.
    const wide = randomPoints(n, SCORING_BLOCK_MIN_FEATURES, 23);
    const wideNew = randomPoints(60, SCORING_BLOCK_MIN_FEATURES, 24);
    const target = (x: number[]) => [Math.sin(3 * x[0]) + x[1] * x[2], Math.abs(x[3] - 0.5)];
    const validation = { X: wideNew, y: wideNew.map(target) };
    const options = { ...base, bandwidth: 4, epochs: 4, validation };
    // The backends with a cache engine, where 'auto' caches.
    for (const backend of ENGINE_BACKENDS as BackendName[]) {
      const model = await fit(wide, wide.map(target), { ...options, backend });
      expect(model.plan.cache?.scoredRows).toBe(60);
      // The last epoch's figure against the model's own predictions, in float64.
      const scores = (await model.predictScores(wideNew)).data;
      const truth = validation.y.flat();
      const mse = scores.reduce((sum, v, i) => sum + (v - truth[i]) ** 2, 0) / scores.length;
      expect(Math.abs(model.history[3].validationMse! - mse) / mse).toBeLessThan(1e-4);
      await model.dispose();
    }
    // With fewer features the block is kept only for at most SCORING_BLOCK_MAX_OUTPUTS scores per
    // row (two here); with three a fused block scores them as fast. The figures are the same.
    const three = (x: number[]) => [...target(x), x[0] * x[1]];
    for (const [outputsOf, kept] of [[target, true], [three, false]] as const) {
      const narrow = await fit(points, points.map(outputsOf), { ...base, epochs: 4, backend: 'wasm', validation: { X: Xnew, y: Xnew.map(outputsOf) } });
      expect(narrow.plan.cache?.precision).toBe('float32');
      expect(narrow.plan.cache?.scoredRows).toBe(kept ? Xnew.length : undefined);
      const scores = (await narrow.predictScores(Xnew)).data;
      const truth = Xnew.map(outputsOf).flat();
      const mse = scores.reduce((sum, v, i) => sum + (v - truth[i]) ** 2, 0) / scores.length;
      expect(Math.abs(narrow.history[3].validationMse! - mse) / mse).toBeLessThan(1e-4);
      await narrow.dispose();
    }
  });

  it("scores the monitored training rows from a full float32 cache at any d (the model's own figures, up to float32 sums); from kernel blocks beside a float16 one", async () => {
    // n is below MONITOR_POINTS.least: every training row is monitored.
    const monitored = (calls: unknown[][]) => calls.filter(([rows]) => (rows as Int32Array).length === n).length;
    const truth = Y.flat();
    const wide = randomPoints(n, SCORING_BLOCK_MIN_FEATURES, 23);
    for (const backend of ENGINE_BACKENDS as BackendName[]) {
      for (const [X, cache, fromCache] of [[wide, 'float32', true], [wide, 'float16', false], [points, 'float32', true]] as const) {
        const predict = vi.spyOn(KernelCache.prototype, 'predict');
        try {
          const model = await fit(X, Y, { ...base, bandwidth: X === wide ? 4 : bandwidth, epochs: 4, backend, cache });
          // After each of the 4 epochs: from the cache in float32 (it is full from the first epoch's
          // end), at d = 64 and at the small d of `points`; never in float16, whose rounding the
          // stepper's check must see in exact figures.
          expect(monitored(predict.mock.calls)).toBe(fromCache ? 4 : 0);
          const scores = (await model.predictScores(X)).data;
          const mse = scores.reduce((sum, v, i) => sum + (v - truth[i]) ** 2, 0) / scores.length;
          expect(Math.abs(model.history[3].trainMse - mse) / mse).toBeLessThan(1e-4);
          await model.dispose();
        } finally {
          predict.mockRestore();
        }
      }
    }
  });

  it("refuses a cache option it does not know, naming what it takes", async () => {
    const message = await asyncErrorOf(fit(points, Y, { ...base, cache: 'float8' as never }), 'INVALID_OPTION');
    expect(message).toMatch(/'cache' option must be 'auto', 'off', 'float16', 'bfloat16', 'float32' or \{ precision\?, bytes\? \}; got "float8"/);
  });
});
