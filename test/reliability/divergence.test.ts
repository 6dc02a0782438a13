/**
 * The divergence guard: a step size far too large (an override 10× the analytic one) makes the
 * loss blow up; training must roll back, halve the step size, say so, record it, and still reach
 * the exact kernel interpolant (float64 Cholesky, ml-matrix) — while ordinary runs never trip it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel, type KernelOption } from '../../kernels/index.js';
import { fit, type DivergenceReport, type FitOptions } from '../../src/index.js';
import { MAX_HALVINGS } from '../../src/solver/divergence.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { CholeskyDecomposition, Matrix as DenseMatrix } from 'ml-matrix';
import { exactInterpolant, randomPoints, relativeError, squaredDistance } from '../helpers/data.js';
import { abortAfter, cutPoints, expectSameModel, regression } from './helpers/runs.js';
import { runKmfit } from './helpers/process.js';
import { encodeNpy } from '../../src/io/npy.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const { X, Y } = regression();
const Xnew = randomPoints(60, 4, 12);
const common: FitOptions = { task: 'regression', backend: 'js' };

/** Kernels, bandwidths and q where 10× the analytic step diverges within the first epoch. */
const DIVERGING: [KernelOption, number, number | undefined][] = [
  ['laplacian', 1, undefined],
  ['gaussian', 0.1, 0],
  ['cauchy', 0.15, undefined],
];

async function analyticStep(options: FitOptions): Promise<number> {
  return (await fit(X, Y, { ...options, epochs: 1 })).plan.stepSize;
}

describe('a step size 10× too large', () => {
  for (const [kernel, bandwidth, q] of DIVERGING) {
    const name = makeKernel(chooseKernel(kernel), bandwidth).describe();
    it(`${name}, q ${q ?? 'analytic'}: rolled back, halved, recorded once per halving, then converges to K⁻¹Y`, async () => {
      const options: FitOptions = { ...common, kernel, bandwidth, q };
      const given = 10 * (await analyticStep(options));
      const reports: DivergenceReport[] = [];
      const model = await fit(X, Y, { ...options, stepSize: given, epochs: 80, onDivergence: (r) => reports.push(r) });

      const halvings = model.plan.stepSizeHalvings ?? [];
      expect(halvings.length).toBeGreaterThanOrEqual(2);
      expect(halvings.length).toBeLessThanOrEqual(MAX_HALVINGS);
      expect(reports.map((r) => r.halvings)).toEqual(halvings.map((_, i) => i + 1));
      halvings.forEach((h, i) => {
        expect(h.from).toBe(given / 2 ** i);
        expect(h.to).toBe(h.from / 2);
      });
      expect(model.plan.stepSize).toBe(given); // the plan keeps what was asked for; the halvings say what ran
      const replayed = model.history.filter((h) => h.halvings !== undefined);
      expect(replayed.reduce((sum, h) => sum + h.halvings!, 0)).toBe(halvings.length);
      expect(replayed.at(-1)!.stepSize).toBe(halvings.at(-1)!.to);
      expect(model.history).toHaveLength(80);

      const k = makeKernel(chooseKernel(kernel), bandwidth);
      const exact = exactInterpolant(k.value, X, Y, Xnew).flat();
      expect(relativeError((await model.predictScores(Xnew)).data, exact)).toBeLessThan(1e-3);
    });
  }
});

describe('no false alarms', () => {
  const ORDINARY: [KernelOption, number][] = [
    ['laplacian', 1],
    ['gaussian', 0.1],
    ['cauchy', 0.15],
    [{ name: 'exppower', gamma: 1.5 }, 0.3],
    [{ name: 'matern', nu: 2.5 }, 0.2],
  ];
  it('ordinary runs, preconditioned and plain, regression and noisy classification, never halve', async () => {
    for (const [kernel, bandwidth] of ORDINARY) {
      for (const q of [undefined, 0]) {
        const model = await fit(X, Y, { ...common, kernel, bandwidth, q, epochs: 20 });
        expect(model.plan.stepSizeHalvings, `${JSON.stringify(kernel)} q ${q}`).toBeUndefined();
      }
    }
    const labels = X.map((x, i) => (i % 4 === 0 ? 1 : x[0] > 0.5 ? 1 : 0));
    const classifier = await fit(X, labels, { backend: 'js', kernel: 'gaussian', bandwidth: 0.1, epochs: 30 });
    expect(classifier.plan.stepSizeHalvings).toBeUndefined();
  });
});

describe('giving up', () => {
  it(`after ${MAX_HALVINGS} halvings: a DIVERGED error that names the step sizes and the remedy`, async () => {
    const options: FitOptions = { ...common, kernel: 'laplacian', bandwidth: 1 };
    const given = 1e6 * (await analyticStep(options));
    const reports: DivergenceReport[] = [];
    const message = await asyncErrorOf(fit(X, Y, { ...options, stepSize: given, onDivergence: (r) => reports.push(r) }), 'DIVERGED');
    expect(reports).toHaveLength(MAX_HALVINGS);
    expect(message).toContain(`halved ${MAX_HALVINGS} times`);
    expect(message).toContain(given.toPrecision(4));
    expect(message).toContain('stepSize override is far too large');
  });
});

describe('divergence and checkpoints', () => {
  it('a run resumed around its rollbacks replays them exactly', async () => {
    const dir = temporaryDirectory('divergence');
    const options: FitOptions = { ...common, kernel: 'laplacian', bandwidth: 1, batchSize: 30, epochs: 3 };
    const given = 10 * (await analyticStep(options));
    const diverging = { ...options, stepSize: given };
    let total = 0; // replayed iterations included
    const reference = await fit(X, Y, { ...diverging, onIteration: () => total++ });
    expect(reference.plan.stepSizeHalvings?.length).toBeGreaterThanOrEqual(1);
    const first = reference.plan.stepSizeHalvings![0].iteration;
    for (const cut of [...new Set([first - 1, first, first + 1, ...cutPoints(total, 10, 8, 3)])]) {
      const checkpoint = path.join(dir, `cut-${cut}.checkpoint`);
      await fit(X, Y, { ...diverging, ...abortAfter(cut), checkpoint: { path: checkpoint } });
      const resumed = await fit(X, Y, { resumeFrom: checkpoint, backend: 'js' });
      expectSameModel(resumed, reference);
      expect(resumed.plan.stepSizeHalvings).toEqual(reference.plan.stepSizeHalvings);
    }
  });
});

describe('the command line', () => {
  it('warns once, says how often the step size was halved, and kmfit info lists it', async () => {
    const dir = temporaryDirectory('divergence-cli');
    // One regression target in the last column.
    const table = Float32Array.from(X.flatMap((x, i) => [...x, Y[i][0]]));
    writeFileSync(path.join(dir, 'data.npy'), encodeNpy({ data: table, shape: [X.length, 5] }));
    const options: FitOptions = { ...common, kernel: 'laplacian', bandwidth: 1 };
    const given = 10 * (await fit(X, Y.map((y) => y[0]), { ...options, epochs: 1 })).plan.stepSize;
    const out = runKmfit(dir, ['data.npy', '--backend', 'js', '--bandwidth', '1', '--epochs', '3', '--step-size', String(given)]);
    expect(out.status).toBe(0);
    const warnings = out.stderr.split('\n').filter((line) => line.startsWith('kmfit: warning: training diverged'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('halved to');
    expect(out.stdout).toMatch(/step size halved [2-5] times/);
    const info = runKmfit(dir, ['info', 'data.kmfit']);
    expect(info.stdout).toMatch(/η halved\s+[2-5] times/);
  });
});

describe('EigenPro 3 (centers apart from the data)', () => {
  it('a step size 10× too large with an update pending: rolled back, halved, and still at the interpolant', async () => {
    // centers = all points, a projection every 3 batches: a rollback must drop the pending update too.
    const options: FitOptions = { ...common, kernel: 'laplacian', bandwidth: 1, centers: X.length, projectionInterval: 3, projectionPasses: 6 };
    const given = 10 * (await analyticStep(options));
    const reports: DivergenceReport[] = [];
    const model = await fit(X, Y, { ...options, stepSize: given, epochs: 80, onDivergence: (r) => reports.push(r) });
    const halvings = model.plan.stepSizeHalvings ?? [];
    expect(halvings.length).toBeGreaterThanOrEqual(2);
    expect(reports).toHaveLength(halvings.length);
    const k = makeKernel(chooseKernel('laplacian'), 1);
    const exact = exactInterpolant(k.value, X, Y, Xnew).flat();
    expect(relativeError((await model.predictScores(Xnew)).data, exact)).toBeLessThan(3e-3);
  });

  it('with averaging (p < n): a rollback drops the epoch’s sum too, and the run still reaches the least-squares fit', async () => {
    const Z = X.slice(0, 30);
    const k = makeKernel(chooseKernel('laplacian'), 1);
    const gram = (A: number[][], B: number[][]) => new DenseMatrix(A.map((a) => B.map((b) => k.value(squaredDistance(a, b)))));
    // The least-squares fit over the centers' span, from the normal equations in float64.
    const KXZ = gram(X, Z);
    const A = new CholeskyDecomposition(KXZ.transpose().mmul(KXZ)).solve(KXZ.transpose().mmul(new DenseMatrix(Y)));
    const leastSquares = gram(Xnew, Z).mmul(A).to2DArray().flat();
    const options: FitOptions = { ...common, kernel: 'laplacian', bandwidth: 1, centers: Z, batchSize: 50, projectionInterval: 1, projectionPasses: 20 };
    const given = 10 * (await analyticStep(options));
    const model = await fit(X, Y, { ...options, stepSize: given, epochs: 200 });
    expect(model.plan.centers?.averaging).toBe(true);
    expect(model.plan.stepSizeHalvings?.length).toBeGreaterThanOrEqual(2);
    // Measured: 3.7e-2 (3 halvings; the noise of batches of 50 that averaging leaves at that step).
    // Diverged weights left in the epoch's sum would put the model far off.
    expect(relativeError((await model.predictScores(Xnew)).data, leastSquares)).toBeLessThan(6e-2);
    // Averaging does not change the iteration, rollbacks included: the first epoch's halvings, for
    // diverging batches, are those of the run without it. (A rollback that kept the epoch's sum gave
    // a mean of diverged weights at the epoch's end, and a fourth halving for it.)
    const halvingsOf = async (averaging: boolean) => (await fit(X, Y, { ...options, averaging, stepSize: given, epochs: 1 })).plan.stepSizeHalvings;
    const withMean = await halvingsOf(true);
    expect(withMean?.length).toBeGreaterThanOrEqual(2);
    expect(withMean).toEqual(await halvingsOf(false));
  });
});
