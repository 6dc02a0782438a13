/**
 * The stopping rule of a run whose epochs are left out (src/solver/convergence.ts): it stops where
 * its definition says, the model it stops at answers as the float64 exact interpolant K⁻¹Y does,
 * and an explicit epochs is an exact count, as before the rule.
 */
import { describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import { fit } from '../../src/index.js';
import { MAX_EPOCHS_UNTIL_CONVERGED, CENTERS_DEFAULT_EPOCHS, epochPlan, hasConverged, relativeResidual, targetSpread } from '../../src/solver/convergence.js';
import { exactInterpolant, randomPoints, relativeError } from '../helpers/data.js';

describe('the rule on hand-computed figures', () => {
  it('targetSpread is the outputs’ variance, averaged over them', () => {
    // Columns (0, 2, 4) and (1, 1, 7): variances 8/3 and 8, average 16/3.
    const Y = { data: Float32Array.from([0, 1, 2, 1, 4, 7]), rows: 3, cols: 2 };
    expect(targetSpread(Y)).toBeCloseTo(16 / 3, 12);
  });

  it('relativeResidual is √(mse / spread); constant targets count as converged only when fitted', () => {
    expect(relativeResidual(0.0025 * 4, 4)).toBeCloseTo(0.05, 12);
    expect(relativeResidual(0, 0)).toBe(0);
    expect(relativeResidual(1e-9, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('stops at the first epoch of a hand-built history whose residual is at most the rule’s', () => {
    const spread = 1 / 26; // one-hot targets of 26 balanced classes, nearly
    const mses = [3.3e-3, 1.5e-3, 2.9e-4, 1.2e-4, 9.6e-5, 7.8e-5];
    const rule = { residual: 0.05 };
    // √(mse·26): 0.29, 0.20, 0.087, 0.056, 0.04996, 0.045: the fifth epoch (index 4) is the first within 5 %
    const stop = mses.findIndex((mse) => hasConverged(relativeResidual(mse, spread), rule));
    expect(stop).toBe(4);
  });

  it('epochs given: exactly that count, no rule; left out: the rule, or a fixed count for separate centers', () => {
    expect(epochPlan(7, false, 'classification')).toEqual({ epochs: 7 });
    expect(epochPlan(7, true, 'regression')).toEqual({ epochs: 7 });
    expect(epochPlan(undefined, false, 'classification')).toEqual({ epochs: MAX_EPOCHS_UNTIL_CONVERGED, stopping: { residual: 0.05 } });
    expect(epochPlan(undefined, false, 'regression')).toEqual({ epochs: MAX_EPOCHS_UNTIL_CONVERGED, stopping: { residual: 0.01 } });
    expect(epochPlan(undefined, true, 'classification')).toEqual({ epochs: CENTERS_DEFAULT_EPOCHS });
  });
});

// A small three-class problem: the classes split by smooth boundaries, with points near them.
const d = 4;
const X = randomPoints(600, d, 31);
const Xtest = randomPoints(600, d, 32);
const classOf = (x: number[]) => (Math.sin(4 * x[0]) + x[1] > 0.9 ? 0 : x[2] + 0.5 * x[3] > 0.7 ? 1 : 2);
const labels = X.map(classOf);
const testLabels = Xtest.map(classOf);
const oneHot = labels.map((c) => [0, 1, 2].map((k) => (k === c ? 1 : 0)));
const bandwidth = 0.5;
const backend = 'js'; // the memory-model batch limit: the same plan on every machine

function argmaxError(scores: ArrayLike<number>, truth: readonly number[]): number {
  let wrong = 0;
  for (let i = 0; i < truth.length; i++) {
    const row = [scores[3 * i], scores[3 * i + 1], scores[3 * i + 2]];
    if (row.indexOf(Math.max(...row)) !== truth[i]) wrong++;
  }
  return wrong / truth.length;
}

describe('a run with its epochs left out', () => {
  it('stops at the first epoch whose residual, recomputed from its train mse and the one-hot targets, is within the rule', async () => {
    const model = await fit(X, labels, { kernel: 'laplacian', bandwidth, backend });
    expect(model.plan.stopping).toEqual({ residual: 0.05 });
    expect(model.stoppedBy).toBe('converged');
    // All 600 points are monitored: the spread is that of the one-hot targets, computed here.
    const counts = [0, 1, 2].map((k) => labels.filter((c) => c === k).length / labels.length);
    const spread = counts.reduce((sum, p) => sum + p * (1 - p), 0) / 3;
    const residuals = model.history.map((h) => Math.sqrt(h.trainMse / spread));
    model.history.forEach((h, i) => expect(h.residual).toBeCloseTo(residuals[i], 6));
    expect(residuals[residuals.length - 1]).toBeLessThanOrEqual(0.05);
    for (const r of residuals.slice(0, -1)) expect(r).toBeGreaterThan(0.05);
    expect(model.history.length).toBeGreaterThan(1);
    await model.dispose();
  });

  it('answers as the float64 exact interpolant does: test error within one test point, scores within the residual', async () => {
    const model = await fit(X, labels, { kernel: 'laplacian', bandwidth, backend });
    const kernel = makeKernel(chooseKernel('laplacian'), bandwidth);
    const exact = exactInterpolant(kernel.value, X, oneHot, Xtest).flat();
    const scores = (await model.predictScores(Xtest)).data;
    expect(Math.abs(argmaxError(scores, testLabels) - argmaxError(exact, testLabels))).toBeLessThanOrEqual(1 / Xtest.length);
    expect(relativeError(scores, exact)).toBeLessThan(0.05);
    await model.dispose();
  });

  it('regression: test R² within 0.001 of the exact interpolant’s', async () => {
    const y = X.map((x) => Math.sin(3 * x[0]) + x[1] * x[2] + 0.3 * Math.abs(x[3] - 0.5));
    const ytest = Xtest.map((x) => Math.sin(3 * x[0]) + x[1] * x[2] + 0.3 * Math.abs(x[3] - 0.5));
    const model = await fit(X, y, { kernel: 'laplacian', bandwidth: 1, backend, task: 'regression' });
    expect(model.stoppedBy).toBe('converged');
    const kernel = makeKernel(chooseKernel('laplacian'), 1);
    const exact = exactInterpolant(kernel.value, X, y.map((v) => [v]), Xtest).flat();
    const mean = ytest.reduce((a, b) => a + b, 0) / ytest.length;
    const variance = ytest.reduce((a, b) => a + (b - mean) ** 2, 0);
    const r2 = (pred: ArrayLike<number>) => 1 - ytest.reduce((a, b, i) => a + (b - pred[i]) ** 2, 0) / variance;
    expect(Math.abs(r2((await model.predictScores(Xtest)).data) - r2(exact))).toBeLessThan(1e-3);
    await model.dispose();
  });
});

describe('epochs given', () => {
  it('is an exact count: the same weights as the converged run when it is that run’s count, and all of them when more', async () => {
    const converged = await fit(X, labels, { kernel: 'laplacian', bandwidth, backend });
    const k = converged.history.length;
    const counted = await fit(X, labels, { kernel: 'laplacian', bandwidth, backend, epochs: k });
    expect(counted.stoppedBy).toBe('epochs');
    expect(counted.plan.stopping).toBeUndefined();
    expect(counted.history.every((h) => h.residual === undefined)).toBe(true);
    expect(counted.history.map((h) => h.trainMse)).toEqual(converged.history.map((h) => h.trainMse));
    expect((await counted.predictScores(Xtest)).data).toEqual((await converged.predictScores(Xtest)).data);
    const more = await fit(X, labels, { kernel: 'laplacian', bandwidth, backend, epochs: k + 2 });
    expect(more.history.length).toBe(k + 2);
    expect(more.stoppedBy).toBe('epochs');
    for (const model of [converged, counted, more]) await model.dispose();
  });
});
