/**
 * The linear-scaling claim, measured on real digits (MNIST, 1 500 training images, gaussian σ = 5,
 * subsample 500) with the wasm backend: the figures of docs/scaling.md on a sample small enough
 * for CI. Each check is one of the criteria, or — where the theory itself says the
 * criterion cannot hold for the analytic step size (see docs/scaling.md) — the theory's own
 * prediction, which is independent of the runs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../datasets/mnist.js';
import { predictedShape, scalingStudy, type ScalingReport, type ScalingRun, type ScalingSetting } from '../../src/study/scaling.js';

let report: ScalingReport;

beforeAll(async () => {
  const { train } = await loadMnist({ trainSize: 1500 });
  report = await scalingStudy(train.X, train.y, {
    kernel: 'gaussian',
    bandwidth: 5,
    subsampleSize: 500,
    // m_G = s, as a GPU would have it: the plan (and so q) does not depend on a calibration of
    // this machine, whose timings scatter; the study's own timings are what the test compares.
    deviceBatchLimit: 500,
    backend: 'wasm',
    batchSizes: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    maxSeconds: 90, // a safety net: every run reaches the target well within it (≈ 30 s at most here)
  });
}, 600_000);

const reached = (setting: ScalingSetting): ScalingRun[] => setting.runs.filter((r) => r.reached);
const nearest = (runs: readonly ScalingRun[], m: number): ScalingRun =>
  runs.reduce((a, b) => (Math.abs(Math.log(b.m / m)) < Math.abs(Math.log(a.m / m)) ? b : a));
const spread = (values: readonly number[]): number => Math.max(...values) / Math.min(...values);

describe('scaling study on 1 500 MNIST digits', () => {
  it('moves m* = β/λ out by at least 50× with the preconditioner', () => {
    const [plain, preconditioned] = report.settings;
    expect(plain.q).toBe(0);
    expect(plain.mStar).toBeGreaterThan(2); // ≈ 6 on MNIST at σ = 5 (eigenpro.md)
    expect(plain.mStar).toBeLessThan(15);
    expect(preconditioned.mStar / plain.mStar).toBeGreaterThanOrEqual(50);
  });

  it('reaches the target at every batch size with the analytic step size', () => {
    for (const setting of report.settings) {
      expect(setting.runs.map((r) => r.m)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
      expect(setting.runs.filter((r) => !r.reached).map((r) => `${setting.name} m = ${r.m}: ${r.stoppedBy}`)).toEqual([]);
    }
  });

  it('keeps m × iterations constant within ±25 % for m ≤ m*/2 (slope −1)', () => {
    for (const setting of report.settings) {
      const linear = reached(setting).filter((r) => r.m <= setting.mStar / 2);
      expect(linear.length, setting.name).toBeGreaterThanOrEqual(2);
      // ±25 % around a common value: largest / smallest ≤ 1.25 / 0.75.
      expect(spread(linear.map((r) => r.m * r.iterations)), setting.name).toBeLessThanOrEqual(1.25 / 0.75);
    }
  });

  it('beyond 4m* follows the predicted curve within ±30 % (where it still falls: the saturation step keeps growing)', () => {
    for (const setting of report.settings) {
      // Up to n/4: larger batches leave an epoch of fewer than 4 iterations and a ragged last batch.
      const beyond = reached(setting).filter((r) => r.m >= 4 * setting.mStar && r.m <= report.n / 4);
      if (setting.name === 'plain') expect(beyond.length).toBeGreaterThanOrEqual(3);
      for (const run of beyond) {
        const predicted = setting.theoryScale! * predictedShape(run.m, setting);
        // ±30 %: the target is checked every ⌈4 000/m⌉ iterations (63 at m = 64, in a run of ≈ 220)
        // and the crossing interpolated between checks, so a few runs here are resolved to ≈ 15 %.
        expect(run.iterations / predicted, `${setting.name} m = ${run.m}`).toBeGreaterThan(0.7);
        expect(run.iterations / predicted, `${setting.name} m = ${run.m}`).toBeLessThan(1.3);
      }
    }
  });

  it('leaves slope −1 within a factor 2 of m*, for both settings', () => {
    for (const setting of report.settings) {
      expect(setting.knee, setting.name).toBeDefined();
      expect(setting.knee! / setting.mStar, setting.name).toBeGreaterThan(1 / 2);
      expect(setting.knee! / setting.mStar, setting.name).toBeLessThan(2);
    }
  });

  it('needs ≥ 50× fewer iterations preconditioned at its batch size than plain at m*, and ≥ 10× less time than plain at that batch size', () => {
    const [plain, preconditioned] = report.settings;
    const chosen = Math.min(Math.floor(preconditioned.mStar + 1), report.mG);
    const atChosen = nearest(reached(preconditioned), chosen);
    const atPlainStar = nearest(reached(plain), plain.mStar);
    expect(atPlainStar.iterations / atChosen.iterations).toBeGreaterThanOrEqual(50);
    // On a CPU a step costs time ∝ m, so the plain kernel's best time, at m ≈ m*, is not beaten
    // by the iterations saved alone (docs/scaling.md measures and explains the ratio); at the batch
    // size that keeps the device busy, the preconditioner's iterations saved are time saved.
    const plainThere = plain.runs.find((r) => r.m === atChosen.m)!;
    console.log(
      `m = ${atChosen.m}: ${(atPlainStar.iterations / atChosen.iterations).toFixed(0)}× fewer iterations than plain at m*; ` +
        `time to target ${atChosen.timeToTarget.toFixed(3)} s (${atChosen.iterations.toFixed(1)} × ${(atChosen.secondsPerIteration * 1000).toFixed(1)} ms) ` +
        `against plain's ${plainThere.timeToTarget.toFixed(3)} s (${plainThere.iterations.toFixed(1)} × ${(plainThere.secondsPerIteration * 1000).toFixed(1)} ms) ` +
        `at the same m: ${(plainThere.timeToTarget / atChosen.timeToTarget).toFixed(1)}×`,
    );
    expect(atChosen.timeToTarget * 10).toBeLessThan(plainThere.timeToTarget);
  });
});
