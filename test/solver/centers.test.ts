/**
 * EigenPro 3 (fit(X, y, { centers })): a model on p centers Z trained on the n data points. Its
 * fixed point is the least-squares fit over the centers' span, K_ZX·(K_XZ·α − Y) = 0; the tests
 * check it against that solution in float64 (ml-matrix), and against the exact interpolant K⁻¹Y
 * when the centers are all of X.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CholeskyDecomposition, Matrix as DenseMatrix } from 'ml-matrix';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import { fit, loadModel, type FitOptions } from '../../src/index.js';
import { defaultProjectionInterval, PROJECTION_PASSES } from '../../src/solver/plan.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { exactInterpolant, lcg, randomPoints, relativeError, squaredDistance } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';
import { abortAfter } from '../reliability/helpers/runs.js';

// The data of convergence.test.ts: two outputs, a smooth function and a rough one.
const n = 300;
const X = randomPoints(n, 4, 11);
const Xnew = randomPoints(60, 4, 12);
const Y = X.map((x) => [Math.sin(3 * x[0]) + x[1] * x[2], Math.abs(x[3] - 0.5)]);
// The reference backend: its batch limit comes from the memory model, so the plan is the same on every run.
const backend = 'js';
const bandwidth = 1;
const kernel = makeKernel(chooseKernel('laplacian'), bandwidth);
const base: FitOptions = { kernel: 'laplacian', bandwidth, task: 'regression', backend };

const gram = (A: number[][], B: number[][]) => new DenseMatrix(A.map((a) => B.map((b) => kernel.value(squaredDistance(a, b)))));

async function scores(model: { predictScores(X: number[][]): Promise<{ data: Float32Array }> }, at: number[][]): Promise<Float32Array> {
  return (await model.predictScores(at)).data;
}

describe('EigenPro 3: a model on centers apart from the data', () => {
  it('centers = all points reaches the interpolant that EigenPro 2 reaches', async () => {
    const exactNew = exactInterpolant(kernel.value, X, Y, Xnew).flat();
    // Measured: 60 epochs with the default 2 passes per projection give 1.3e-3, 4 passes 7.4e-4,
    // 6 passes 4.6e-4 (the projection's error enters every step).
    const model = await fit(X, Y, { ...base, epochs: 60, centers: n, projectionPasses: 6 });
    const reference = await fit(X, Y, { ...base, epochs: 60 });
    expect(model.plan.centers?.count).toBe(n);
    expect(model.plan.centers?.source).toContain(`all ${n} training points`);
    // The interpolant leaves no noise to average: the last weights are the model.
    expect(model.plan.centers?.averaging).toBe(false);
    expect(model.plan.centers?.averagingSource).toBe('all points are centers');
    const predicted = await scores(model, Xnew);
    const byEigenPro2 = await scores(reference, Xnew);
    expect(relativeError(byEigenPro2, exactNew)).toBeLessThan(1e-3);
    expect(relativeError(predicted, exactNew)).toBeLessThan(1e-3);
    expect(relativeError(predicted, byEigenPro2)).toBeLessThan(1e-3);
    // At the training points the interpolant is Y itself (measured: 1.6e-3; EigenPro 2 is within 1e-3).
    expect(relativeError(await scores(model, X), Y.flat())).toBeLessThan(3e-3);
  });

  describe('p < n converges to the least-squares solution over the centers’ span', () => {
    const p = 20;
    const Z = X.slice(0, p);
    // The normal equations (K_ZX·K_XZ)·A = K_ZX·Y in float64, and the fit k(·, Z)·A.
    const KXZ = gram(X, Z);
    const A = new CholeskyDecomposition(KXZ.transpose().mmul(KXZ)).solve(KXZ.transpose().mmul(new DenseMatrix(Y)));
    const leastSquaresNew = gram(Xnew, Z).mmul(A).to2DArray().flat();
    const leastSquaresTrain = KXZ.mmul(A).to2DArray().flat();
    const errors = async (options: FitOptions) => {
      const model = await fit(X, Y, { ...base, centers: Z, projectionPasses: 20, ...options });
      expect(model.plan.centers?.count).toBe(p);
      return {
        model,
        atNew: relativeError(await scores(model, Xnew), leastSquaresNew),
        atTrain: relativeError(await scores(model, X), leastSquaresTrain),
      };
    };

    it('full batch: the error falls with the epochs, to well below 5e-3', async () => {
      // With small batches SGD has a noise floor (p < n: the residuals at the optimum are not 0).
      // Measured: 2.4e-2 after 50 epochs, 2.8e-3 after 200, 3.7e-4 after 400 (new and training points alike).
      const early = await errors({ batchSize: n, epochs: 50 });
      const late = await errors({ batchSize: n, epochs: 400 });
      expect(late.model.plan.batchSize).toBe(n);
      // The analytic full-batch step (42.3) overshoots once and the divergence guard halves it, in
      // the first epoch; the fixed point does not depend on the step.
      expect(late.atNew).toBeLessThan(2e-3);
      expect(late.atTrain).toBeLessThan(2e-3);
      expect(early.atNew).toBeGreaterThan(10 * late.atNew);
      // The least-squares fit is not the interpolant: the model does not pass through Y.
      expect(relativeError(await scores(late.model, X), Y.flat())).toBeGreaterThan(1e-2);
    });

    it('a backend without the fused step (wasm: the block computed twice) reaches the same solution', async () => {
      // js (above) computes the residual and its pull-back to the centers from one kernel block
      // (CenterSet.predictAndPullBack); wasm leaves it out, and the solver computes the block twice.
      const { atNew, atTrain } = await errors({ backend: 'wasm', threads: 1, batchSize: n, epochs: 400 });
      expect(atNew).toBeLessThan(2e-3);
      expect(atTrain).toBeLessThan(2e-3);
    });

    it('with K_ZZ cached for the projection, in float16 or float32, it reaches the same solution', async () => {
      // The projection's error, here the rounding of K_ZZ, slows the steps but does not move their
      // fixed point (eigenpro3.ts): the float16 run converges to the same least-squares solution.
      for (const cache of ['float16', 'float32'] as const) {
        const cached = await errors({ batchSize: n, epochs: 400, cache });
        expect(cached.model.plan.cache?.precision).toBe(cache);
        expect(cached.model.plan.cache?.reason).toContain(`K_ZZ of the ${p} centers`);
        expect(cached.atNew).toBeLessThan(2e-3);
        expect(cached.atTrain).toBeLessThan(2e-3);
      }
      // The projection did read the cache: after a few epochs the float16 model is not the uncached one.
      const early = async (cache: 'off' | 'float16') => scores(await fit(X, Y, { ...base, centers: Z, projectionPasses: 20, batchSize: n, epochs: 3, cache }), Xnew);
      const [off, rounded] = [await early('off'), await early('float16')];
      expect(relativeError(rounded, off)).toBeGreaterThan(1e-6);
      expect(relativeError(rounded, off)).toBeLessThan(1e-2);
    });

    it("averaging the weights at an epoch's projections goes below small batches' noise floor", async () => {
      // Batches of 20 (15 an epoch), a projection after each, the analytic step (20): the last
      // weights stay in a band of noise around the fit, as many epochs as they train. Measured, at
      // new points: 5.8e-2 after 50 epochs and 6.3e-2 after 200 without averaging; 1.5e-2 and
      // 2.2e-2 with (the mean of 15 weights an epoch keeps some of the noise).
      const small = { batchSize: 20, projectionInterval: 1, epochs: 60 };
      const last = await errors({ ...small, averaging: false });
      const mean = await errors(small);
      expect(mean.model.plan.centers?.averaging).toBe(true);
      expect(mean.model.plan.centers?.averagingSource).toBe('fewer centers than points');
      expect(last.model.plan.centers?.averaging).toBe(false);
      expect(last.model.plan.centers?.averagingSource).toBe('given');
      expect(last.atNew).toBeGreaterThan(3e-2);
      expect(mean.atNew).toBeLessThan(last.atNew / 2.5);
      expect(mean.atTrain).toBeLessThan(last.atTrain / 2.5);
    });

    it("an epoch's model is the mean of the weights at its projections, also when aborted inside one", async () => {
      // Batches of 60 (5 an epoch), a projection after each. Averaging does not change the
      // iteration, so runs without it, stopped after k batches, give its weights after each.
      const options: FitOptions = { ...base, centers: Z, batchSize: 60, projectionInterval: 1, epochs: 2 };
      const iterates: Float32Array[] = [];
      for (let k = 1; k <= 7; k++) iterates.push((await fit(X, Y, { ...options, averaging: false, ...abortAfter(k) })).parts.weights);
      const mean = (from: number, to: number) => {
        const sum = new Float64Array(iterates[0].length);
        for (let k = from; k <= to; k++) iterates[k - 1].forEach((w, i) => (sum[i] += w));
        return Array.from(sum, (s) => s / (to - from + 1));
      };
      // Epoch 1's model: the mean of its 5 weights; 2 batches into epoch 2, aborted: the mean of those 2.
      const afterEpoch = await fit(X, Y, { ...options, epochs: 1 });
      expect(afterEpoch.keptEpoch).toBe(1);
      expect(relativeError(afterEpoch.parts.weights, mean(1, 5))).toBeLessThan(1e-6);
      expect(relativeError(afterEpoch.parts.weights, Array.from(iterates[4]))).toBeGreaterThan(1e-3);
      const aborted = await fit(X, Y, { ...options, ...abortAfter(7) });
      expect(aborted.stoppedBy).toBe('aborted');
      expect(relativeError(aborted.parts.weights, mean(6, 7))).toBeLessThan(1e-6);
    });

    it('with the delayed projection (every 3 batches of 100) it reaches the same solution', async () => {
      // Batches of 100 leave SGD's noise, in proportion to the step size: measured after 400 epochs,
      // 3.6e-2 at the analytic step (37), 1.2e-2 at 10, 4.9e-3 at 4 (2.3e-3 after 800 epochs).
      const delayed = await errors({ batchSize: 100, projectionInterval: 3, stepSize: 4, epochs: 400 });
      expect(delayed.model.plan.centers?.projection.interval).toBe(3);
      expect(delayed.model.plan.centers?.projection.intervalSource).toBe('given');
      expect(delayed.model.plan.stepSizeHalvings).toBeUndefined();
      expect(delayed.atNew).toBeLessThan(1e-2);
      expect(delayed.atTrain).toBeLessThan(1e-2);
    });
  });

  it('has p centers and p×l weights, a sane plan, and saves and loads with identical predictions', async () => {
    const p = 40;
    const model = await fit(X, Y, { ...base, epochs: 3, centers: p });
    const { plan } = model;
    const centers = plan.centers!;
    expect(centers.count).toBe(p);
    expect(model.parts.centers.rows).toBe(p);
    expect(model.parts.centers.cols).toBe(4);
    expect(model.parts.weights.length).toBe(p * 2);
    expect(plan.n).toBe(n);
    // The data level's subsample is drawn from the centers.
    expect(plan.subsampleSize).toBeLessThanOrEqual(p);
    const projection = centers.projection;
    expect(projection.q).toBeGreaterThanOrEqual(1);
    expect(projection.subsampleSize).toBeLessThanOrEqual(p);
    expect(projection.batchSize).toBeGreaterThanOrEqual(1);
    expect(projection.batchSize).toBeLessThanOrEqual(p);
    expect(projection.stepSize).toBeGreaterThan(0);
    expect(projection.passes).toBe(PROJECTION_PASSES);
    expect(projection.iterations).toBe(Math.ceil((PROJECTION_PASSES * p) / projection.batchSize));
    expect(projection.interval).toBe(defaultProjectionInterval(p, plan.batchSize));
    expect(projection.intervalSource).toBe('analytic');
    expect(centers.memoryBytes).toBeGreaterThan(0);
    expect(model.history).toHaveLength(3);

    const file = path.join(temporaryDirectory('centers'), 'centers.kmfit');
    await model.save(file);
    const again = await loadModel(file);
    expect(again.plan).toEqual(plan);
    expect(again.parts.centers.rows).toBe(p);
    expect(Array.from(await scores(again, Xnew))).toEqual(Array.from(await scores(model, Xnew)));

    // A given interval and pass count are the plan's.
    const given = await fit(X, Y, { ...base, epochs: 1, centers: p, projectionInterval: 5, projectionPasses: 3 });
    expect(given.plan.centers!.projection.interval).toBe(5);
    expect(given.plan.centers!.projection.intervalSource).toBe('given');
    expect(given.plan.centers!.projection.passes).toBe(3);
    expect(given.plan.centers!.projection.iterations).toBe(Math.ceil((3 * p) / given.plan.centers!.projection.batchSize));
  });

  it('a count draws a seeded subset of X', async () => {
    const p = 30;
    const run = (seed: number) => fit(X, Y, { ...base, epochs: 2, centers: p, seed });
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    expect(Array.from(await scores(b, Xnew))).toEqual(Array.from(await scores(a, Xnew)));
    expect(Array.from(b.parts.centers.data)).toEqual(Array.from(a.parts.centers.data));
    expect(a.plan.centers!.source).toContain('seeded random subset');
    // The centers are rows of X (scale 'none': the features as given), all different.
    const rowsOf = (m: typeof a) =>
      Array.from({ length: p }, (_, i) => Array.from(m.parts.centers.data.subarray(i * 4, i * 4 + 4)).join(','));
    const training = new Set(X.map((x) => Array.from(Float32Array.from(x)).join(',')));
    for (const row of rowsOf(a)) expect(training.has(row)).toBe(true);
    expect(new Set(rowsOf(a)).size).toBe(p);
    // Another seed, other centers.
    expect(rowsOf(c)).not.toEqual(rowsOf(a));
    expect(new Set(rowsOf(c)).size).toBe(p);
    // A count of n or more: all of X, in order.
    const all = await fit(X, Y, { ...base, epochs: 1, centers: 2 * n });
    expect(all.plan.centers!.count).toBe(n);
    expect(all.plan.centers!.source).toContain(`(${2 * n} asked for)`);
    expect(Array.from(all.parts.centers.data)).toEqual(Array.from(Float32Array.from(X.flat())));
  });

  it('refuses bad options with one KmfitError naming the option', async () => {
    const refusal = (options: FitOptions, code: string) => asyncErrorOf(fit(X, Y, { ...base, epochs: 1, ...options }), code);
    for (const bad of [0, -3, 2.5, 'many']) {
      const message = await refusal({ centers: bad as number }, 'INVALID_OPTION');
      expect(message).toContain("'centers'");
    }
    expect(await refusal({ projectionInterval: 2 }, 'INVALID_OPTION')).toContain("'projectionInterval'");
    expect(await refusal({ projectionPasses: 2 }, 'INVALID_OPTION')).toContain("'projectionPasses'");
    expect(await refusal({ averaging: true }, 'INVALID_OPTION')).toContain("'averaging'");
    expect(await refusal({ centers: 10, averaging: 'yes' as unknown as boolean }, 'INVALID_OPTION')).toContain('averaging');
    expect(await refusal({ centers: 10, projectionPasses: 0 }, 'INVALID_OPTION')).toContain('projectionPasses');
    expect(await refusal({ centers: 10, projectionInterval: 0 }, 'INVALID_OPTION')).toContain('projectionInterval');
    const wrongColumns = await refusal({ centers: X.slice(0, 5).map((x) => x.slice(0, 3)) }, 'FEATURE_MISMATCH');
    expect(wrongColumns).toContain('centers');
    expect(wrongColumns).toContain('3');
    expect(await refusal({ centers: { data: new Float32Array(0), rows: 0, cols: 4 } }, 'EMPTY_DATA')).toContain('centers');
  });

  it('classifies: three Gaussian blobs, 60 centers, as well as EigenPro 2', async () => {
    const next = lcg(21);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    const means = [[0, 0], [3, 0], [1.5, 2.6]];
    const blobs = (count: number) => {
      const points: number[][] = [];
      const labels: string[] = [];
      for (let i = 0; i < count; i++) {
        const c = i % 3;
        points.push([means[c][0] + gaussian(), means[c][1] + gaussian()]);
        labels.push(['a', 'b', 'c'][c]);
      }
      return { points, labels };
    };
    const train = blobs(300);
    const test = blobs(300);
    const options: FitOptions = { kernel: 'laplacian', backend, epochs: 10 };
    const model = await fit(train.points, train.labels, { ...options, centers: 60 });
    const reference = await fit(train.points, train.labels, options);
    expect(model.task).toBe('classification');
    expect(model.classes).toEqual(['a', 'b', 'c']);
    expect(model.parts.weights.length).toBe(60 * 3);
    const accuracy = { train: await model.score(train.points, train.labels), test: await model.score(test.points, test.labels) };
    const byEigenPro2 = { train: await reference.score(train.points, train.labels), test: await reference.score(test.points, test.labels) };
    // The Bayes classifier of these blobs (equal covariances, equal priors): the nearest mean.
    const bayes = (set: { points: number[][]; labels: string[] }) =>
      set.points.filter((x, i) => {
        const distances = means.map((m) => squaredDistance(x, m));
        return ['a', 'b', 'c'][distances.indexOf(Math.min(...distances))] === set.labels[i];
      }).length / set.points.length;
    // Measured: accuracy 0.92 on the training blobs (EigenPro 2: 0.98, the nearest mean 0.913), 0.877 on
    // new ones (EigenPro 2: 0.87, the nearest mean 0.877). 60 centers cannot interpolate 300 points:
    // their training accuracy is about Bayes's, EigenPro 2's above it; on new points both are Bayes's.
    for (const result of [accuracy, byEigenPro2]) {
      expect(result.train).toBeGreaterThan(bayes(train) - 0.03);
      expect(result.test).toBeGreaterThan(bayes(test) - 0.03);
    }
    expect(Math.abs(accuracy.test - byEigenPro2.test)).toBeLessThan(0.03);
    expect(model.history.at(-1)!.trainError).toBeLessThan(1 - bayes(train) + 0.03);
  });
});
