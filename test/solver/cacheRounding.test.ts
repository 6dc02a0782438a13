/**
 * A kernel cache in reduced precision sets a floor under the residual: the iteration goes to the
 * interpolant of the rounded matrix K̃. The stepper measures the rounding's share of the residual,
 * ‖K̃α − Kα‖ / ‖y − Kα‖ (Stepper.checkCacheRounding), and from CACHE_ROUNDING_SHARE on goes on
 * with a float32 cache where one is given to it ('auto', where one fits), else with exact kernel
 * blocks. Checked here against float64 arithmetic with the kernel values rounded to float16 by
 * hand, through a step's own residuals, and in whole runs against float32's.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import { createBackend } from '../../src/backends/select.js';
import { fit } from '../../src/index.js';
import { takeRows, type Matrix } from '../../src/matrix.js';
import { CACHE_ROUNDING_SHARE, cacheRoundingShare, eigenPro2Stepper, type Preconditioning } from '../../src/solver/eigenpro.js';
import { KernelCache } from '../../src/solver/kernelCache.js';
import { loadModel } from '../../src/model/load.js';
import { lcg, randomPoints, squaredDistance } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';

/** x (in (0, 1]) rounded to the nearest float16: 11 significant bits. */
function toHalf(x: number): number {
  const ulp = 2 ** (Math.floor(Math.log2(x)) - 10);
  return Math.round(x / ulp) * ulp;
}

const n = 600;
const d = 3;
const sigma = 40; // values near 1, where float16's absolute steps are largest
const kernel = makeKernel(chooseKernel('laplacian'), sigma);
const points = randomPoints(n, d, 3);
const X: Matrix = { data: Float32Array.from(points.flat()), rows: n, cols: d };
const next = lcg(11);
const alpha = Float64Array.from({ length: n }, () => next() - 0.5);
/** The checked rows: the subsample's first 500 (all of these 500). */
const indices = Int32Array.from({ length: 500 }, (_, i) => i);
const value = (i: number, j: number) => kernel.value(squaredDistance(points[i], points[j]));
const exactAt = (i: number) => points.reduce((sum, _, j) => sum + value(i, j) * alpha[j], 0);
const roundedAt = (i: number) => points.reduce((sum, _, j) => sum + toHalf(Math.fround(value(i, j))) * alpha[j], 0);
const exact = Float64Array.from({ length: n }, (_, i) => exactAt(i));
const rounding = Float64Array.from({ length: n }, (_, i) => roundedAt(i) - exact[i]);
const roundingNorm = Math.sqrt(indices.reduce((sum, i) => sum + rounding[i] ** 2, 0));

/** Targets y = Kα + δ, δ a fixed pattern scaled so that ‖δ‖ over the checked rows is ‖(K̃ − K)α‖/share. */
function targetsFor(share: number): { Y: Matrix; delta: Float64Array } {
  const pattern = Float64Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + 0.3));
  const size = Math.sqrt(indices.reduce((sum, i) => sum + pattern[i] ** 2, 0));
  const delta = pattern.map((v) => (v * roundingNorm) / (share * size));
  return { Y: { data: Float32Array.from(exact, (f, i) => f + delta[i]), rows: n, cols: 1 }, delta };
}

async function cachedRun(share: number) {
  const backend = await createBackend('wasm');
  const centers = await backend.createCenterSet(kernel, X, 1);
  await centers.setWeights(Float32Array.from(alpha));
  const cache = new KernelCache(await backend.cacheEngine!('float16'), kernel, X, centers, n);
  const all = Int32Array.from({ length: n }, (_, i) => i);
  cache.beginEpoch(all);
  expect(await cache.predict(all, new Float32Array(n))).toBe(true); // filled
  const preconditioning: Preconditioning = { points: takeRows(X, indices), indices, vectors: new Float64Array(0), scales: new Float64Array(0) };
  const { Y, delta } = targetsFor(share);
  const context = { backend, kernel, X, Y, centers, preconditioning: undefined, cache };
  return { backend, centers, cache, preconditioning, Y, delta, context };
}

describe("a reduced-precision kernel cache's rounding", () => {
  for (const share of [0.4, 2]) {
    it(`its share of the residual (${share}) as float64 arithmetic on float16-rounded values gives it`, async () => {
      const run = await cachedRun(share);
      const measured = await cacheRoundingShare(run.context, run.cache, run.preconditioning);
      expect(measured).toBeGreaterThan(share * 0.98);
      expect(measured).toBeLessThan(share * 1.02);
      run.cache.dispose();
      await run.backend.dispose();
    });
  }

  it(`below ${CACHE_ROUNDING_SHARE} the stepper keeps its cache; above, it steps from exact kernel blocks`, async () => {
    // A batch's mse before its update: from the cache (K̃α − y = (K̃ − K)α − δ), or exact (−δ).
    const batch = Int32Array.from({ length: 100 }, (_, i) => 3 * i);
    const mean = (values: (i: number) => number) => Array.from(batch, (i) => values(i) ** 2).reduce((a, b) => a + b, 0) / batch.length;
    for (const [share, left] of [[0.4, false], [2, true]] as const) {
      const run = await cachedRun(share);
      const stepper = eigenPro2Stepper({ ...run.context, preconditioning: run.preconditioning });
      const decision = await stepper.checkCacheRounding!();
      if (left) {
        expect(decision?.precision).toBe('float16');
        expect(decision!.share).toBeGreaterThan(share * 0.98);
      } else {
        expect(decision).toBeUndefined();
      }
      // The step's mse (rate 0: the weights stay); the correction on the subsample has no vectors.
      const mse = await stepper.step(batch, 0);
      const expected = left ? mean((i) => run.delta[i]) : mean((i) => rounding[i] - run.delta[i]);
      expect(Math.abs(mse - expected)).toBeLessThan(0.02 * expected);
      stepper.dispose?.();
      run.centers.dispose();
      await run.backend.dispose();
    }
  });

  it('where a float32 cache is given to take its place, the stepper fills that one over the next epoch and steps from it', async () => {
    const run = await cachedRun(2);
    let made: KernelCache | undefined;
    const exactCache = async () => (made = new KernelCache(await run.backend.cacheEngine!('float32'), kernel, X, run.centers, n));
    const stepper = eigenPro2Stepper({ ...run.context, preconditioning: run.preconditioning, exactCache });
    const monitored = Int32Array.of(3, 1, 4);
    const predicted = new Float32Array(monitored.length);
    // A float16 cache's values are its rounded matrix's: the monitored rows are not predicted from it.
    expect(await stepper.predictTrainingRows!(monitored, predicted)).toBe(false);
    expect(await stepper.checkCacheRounding!()).toMatchObject({ precision: 'float16', refilled: 'float32' });
    expect(made?.precision).toBe('float32');
    expect(await stepper.predictTrainingRows!(monitored, predicted)).toBe(false); // not filled yet
    // The next epoch (one batch of all n rows, as cachedRun's cache) fills the float32 cache, and its
    // predictions are the exact ones: the step's mse is δ's, not the rounding's.
    stepper.beginEpoch!(Int32Array.from({ length: n }, (_, i) => i));
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const mse = await stepper.step(all, 0);
    expect(made!.complete).toBe(true);
    const expected = Array.from(all, (i) => run.delta[i] ** 2).reduce((a, b) => a + b, 0) / n;
    expect(Math.abs(mse - expected)).toBeLessThan(1e-3 * expected);
    // The refilled float32 cache now predicts the monitored rows: the model's exact values (float64 Kα).
    expect(await stepper.predictTrainingRows!(monitored, predicted)).toBe(true);
    monitored.forEach((row, i) => expect(Math.abs(predicted[i] - exact[row])).toBeLessThan(1e-4 * Math.max(1, Math.abs(exact[row]))));
    stepper.dispose?.();
    run.centers.dispose();
    await run.backend.dispose();
  });

  it('in a whole run: a float16 cache that would hold the residual up is left, and the run ends where float32 ends', async () => {
    const next = lcg(7);
    const rows = Array.from({ length: 3000 }, () => Array.from({ length: 3 }, () => next() * 2 - 1));
    const y = rows.map((r) => Math.sin(2 * r[0]) + r[1] * r[2]);
    const options = { task: 'regression', kernel: 'laplacian', bandwidth: 40, backend: 'wasm', seed: 1, subsampleSize: 400, epochs: 60 } as const;
    const half = await fit(rows, y, { ...options, cache: 'float16' });
    const full = await fit(rows, y, { ...options, cache: 'float32' });
    const left = half.history.filter((h) => h.cacheLeft);
    expect(left).toHaveLength(1);
    expect(left[0].cacheLeft!.share).toBeGreaterThanOrEqual(CACHE_ROUNDING_SHARE);
    // The precision was the user's: no float32 cache takes its place ('auto' would, where it fits).
    expect(left[0].cacheLeft!.refilled).toBeUndefined();
    expect(full.history.some((h) => h.cacheLeft)).toBe(false);
    const last = (model: typeof half) => model.history[model.history.length - 1].trainMse;
    expect(Math.abs(last(half) - last(full))).toBeLessThan(0.03 * last(full));
    // The model file keeps it.
    const file = path.join(temporaryDirectory('kmfit-cache-rounding-'), 'half.kmfit');
    await half.save(file);
    const loaded = await loadModel(file);
    expect(loaded.history.find((h) => h.cacheLeft)).toEqual(left[0]);
    await loaded.dispose();
    await half.dispose();
    await full.dispose();
  }, 60_000);
});
