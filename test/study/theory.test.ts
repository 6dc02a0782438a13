/**
 * The scaling study's arithmetic against hand-computed values: the convergence rate of the slow
 * directions, the knee of a curve, the predicted knee.
 */
import { describe, expect, it } from 'vitest';
import { KNEE_RISE, kneeOf, predictedKnee, predictedShape, progressRate } from '../../src/study/scaling.js';

describe('progressRate: 2η − η²β/m', () => {
  it('is m/β with the linear-regime step η = m/β', () => {
    for (const [m, beta] of [[1, 1], [8, 2], [100, 0.5]]) {
      // 2m/β − (m/β)²·β/m = 2m/β − m/β.
      expect(progressRate(m, m / beta, beta)).toBeCloseTo(m / beta, 12);
    }
  });

  it('matches a hand-computed saturation value', () => {
    // m = 16, β = 1, η = 9: 18 − 81/16 = 12.9375.
    expect(progressRate(16, 9, 1)).toBeCloseTo(12.9375, 12);
  });
});

describe('predictedShape', () => {
  const setting = { beta: 1, lambda: 0.1 }; // m* = 10
  it('falls as 1/m in the linear regime (m < β/λ + 1)', () => {
    expect(predictedShape(1, setting) / predictedShape(4, setting)).toBeCloseTo(4, 10);
  });

  it('at m = 100 uses the saturation step 0.99·2m/(β + (m − 1)λ)', () => {
    const eta = (0.99 * 2 * 100) / (1 + 99 * 0.1); // 18.165…
    expect(predictedShape(100, setting)).toBeCloseTo(1 / (2 * eta - (eta * eta) / 100), 12);
  });
});

describe('kneeOf: where m × iterations rises 25 % above its small-batch value', () => {
  it('interpolates in log m between the bracketing batch sizes', () => {
    // m × I: 100, 100, 110, 200 at m = 1, 2, 4, 8; the rise crosses 1.25 between 4 (1.1) and 8 (2):
    // log-fraction log(1.25/1.1)/log(2/1.1), so m = 4 · 2^fraction.
    const points = [1, 2, 4, 8].map((m, i) => ({ m, iterations: [100, 50, 27.5, 25][i] }));
    const fraction = Math.log(KNEE_RISE / 1.1) / Math.log(2 / 1.1);
    expect(kneeOf(points, 100)).toBeCloseTo(4 * 2 ** fraction, 10);
  });

  it('is undefined when the curve stays on slope −1', () => {
    expect(kneeOf([1, 2, 4].map((m) => ({ m, iterations: 64 / m })), 64)).toBeUndefined();
  });
});

describe('predictedKnee', () => {
  it('lies between m* and 4m* for the analytic step size, whatever the scale of m*', () => {
    // The rate stays at m/β up to m* and at m = 2m* is still within 10 % of it (the saturation
    // step keeps growing towards 2/λ), so the 25 % rise comes between 2m* and 4m*.
    for (const mStar of [5, 60, 1500]) {
      const knee = predictedKnee({ beta: 1, lambda: 1 / mStar, mStar })!;
      expect(knee / mStar).toBeGreaterThan(2);
      expect(knee / mStar).toBeLessThan(4);
    }
  });
});
