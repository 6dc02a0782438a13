import { describe, expect, it } from 'vitest';
import {
  cachedPassCost,
  defaultProjectionInterval,
  analyticBatchSize,
  analyticStepSize,
  chooseQ,
  cachedBatchSize,
  criticalBatchSize,
  defaultSubsampleSize,
  designBatchSize,
  eigenvalueThreshold,
  memoryBatchLimit,
  preconditioner,
} from '../../src/solver/plan.js';

// Expected numbers were computed by hand (Python) from the formulas of eigenpro.md.
describe('EigenPro 2 analytic choices', () => {
  it('subsample size: min(n, 2000) below 100 000 points, else 12 000; min(n, 1 000) where the kernel cache holds the matrix', () => {
    expect(defaultSubsampleSize(500)).toBe(500);
    expect(defaultSubsampleSize(60_000)).toBe(2000);
    expect(defaultSubsampleSize(99_999)).toBe(2000);
    expect(defaultSubsampleSize(100_000)).toBe(12_000);
    expect(defaultSubsampleSize(500, true)).toBe(500);
    expect(defaultSubsampleSize(60_000, true)).toBe(1000);
    expect(defaultSubsampleSize(200_000, true)).toBe(1000);
  });

  it('device batch limit from the memory model ((d + 3l + m + 1)·n + 1000·s)·4 bytes', () => {
    // n = 1000, d = 10, l = 2, s = 100: 4·(1000·(17 + m) + 100 000) bytes ≤ 668 000 ⟺ m ≤ 50.
    expect(memoryBatchLimit(668_000, 1000, 10, 2, 100)).toBe(50);
    expect(memoryBatchLimit(667_999, 1000, 10, 2, 100)).toBe(49);
    expect(memoryBatchLimit(4e12, 1000, 10, 2, 100)).toBe(1000); // never more than n
    expect(memoryBatchLimit(1000, 1000, 10, 2, 100)).toBe(0); // nothing fits
  });

  it('design batch size min(max(s/5, m_G), s) and its eigenvalue threshold maxBatch^(−1/α)', () => {
    expect(designBatchSize(2000, 100)).toBe(400);
    expect(designBatchSize(2000, 1500)).toBe(1500);
    expect(designBatchSize(2000, 50_000)).toBe(2000);
    expect(eigenvalueThreshold(2000)).toBeCloseTo(0.00033514410400846666, 15);
    expect(eigenvalueThreshold(400)).toBeCloseTo(0.0018238515340851683, 15);
  });

  it('q counts eigenvalues above the threshold, minus one, and is at least 5', () => {
    const values = Float64Array.from([0.5, 0.1, 0.01, 0.005, 0.002, 0.0019, 0.0015, 0.001, 0.0009, 0.0008]);
    expect(chooseQ(values, 400)).toBe(5); // six above 0.00182 → q = 5
    expect(chooseQ(values, 2000)).toBe(9); // all ten above 0.000335 → q = 9
    expect(chooseQ(Float64Array.from([0.5, 0.1]), 2000)).toBe(5); // the floor of 5
  });

  it('preconditioner scales D_i = (1 − (λ_q/λ_i)^α)/λ_i and λ_new = λ_1^(1−α)·λ_q^α', () => {
    const p = preconditioner(Float64Array.from([0.5, 0.2, 0.1, 0.05, 0.01]), 4);
    expect(p.lambdaQ).toBe(0.05);
    expect(Array.from(p.scales)).toHaveLength(3);
    expect(p.scales[0]).toBeCloseTo(1.7755963091396072, 13);
    expect(p.scales[1]).toBeCloseTo(3.6602831718296334, 13);
    expect(p.scales[2]).toBeCloseTo(4.823675380793111, 13);
    expect(p.lambdaNew).toBeCloseTo(0.056100922715098187, 15);
  });

  it('critical batch m* = β/λ and batch size min(⌊β/λ + 1⌋, m_G), with β not assumed to be 1', () => {
    expect(criticalBatchSize(1, 0.01)).toBeCloseTo(100, 12);
    expect(criticalBatchSize(3, 0.01)).toBeCloseTo(300, 12);
    expect(analyticBatchSize(1, 0.01, 1e9)).toBe(101);
    expect(analyticBatchSize(3, 0.01, 1e9)).toBe(301);
    expect(analyticBatchSize(1, 0.01, 64)).toBe(64);
    expect(analyticBatchSize(1, 2, 1e9)).toBe(1); // λ > β still gives one point per batch
  });

  it('step size: m/β in the linear regime, 0.99·2m/(β + (m − 1)λ) in saturation', () => {
    expect(analyticStepSize(50, 1, 0.01)).toEqual({ eta: 50, regime: 'linear' });
    expect(analyticStepSize(50, 2, 0.01)).toEqual({ eta: 25, regime: 'linear' });
    expect(analyticStepSize(100, 1, 0.01)).toEqual({ eta: 100, regime: 'linear' }); // 100 < β/λ + 1 = 101
    const saturated = analyticStepSize(200, 1, 0.01);
    expect(saturated.regime).toBe('saturation');
    expect(saturated.eta).toBeCloseTo(132.44147157190633, 10);
    // Per-coefficient move η/m: 1/β in the linear regime, smaller in saturation.
    expect(saturated.eta / 200).toBeLessThan(1);
  });
});

describe('EigenPro 3: how often the projection comes', () => {
  it('about √(2·passes)·p pending centers; fewer where K_ZZ is cached (hand-computed)', () => {
    // 20 000 centers, batches of 2 000: √2·10 = 14.1 batches.
    expect(defaultProjectionInterval(20_000, 2000)).toBe(14);
    expect(defaultProjectionInterval(20_000, 2000, 2)).toBe(20);
    // d = 784: 360 / 1 568 = 0.2296; √(2·0.2296)·10 = 6.78 batches.
    const cost = cachedPassCost(784);
    expect(cost).toBeCloseTo(360 / 1568, 12);
    expect(defaultProjectionInterval(20_000, 2000, 1, cost)).toBe(7);
    // Where a value costs less to compute than to read (d = 16), nothing is assumed gained.
    expect(cachedPassCost(16)).toBe(1);
    expect(defaultProjectionInterval(4, 100)).toBe(1);
  });
});

describe('a given q that the subsample caps: the plan says so', () => {
  it('q 500 on 200 points is at most s − 1 = 199; a q the subsample allows is given as is', async () => {
    const { fit } = await import('../../src/index.js');
    const { planRows } = await import('../../src/model/summary.js');
    const { randomPoints } = await import('../helpers/data.js');
    const X = randomPoints(200, 3, 5);
    const y = X.map((row) => (row[0] > 0.5 ? 1 : 0));
    const capped = await fit(X, y, { q: 500, epochs: 1, backend: 'js' });
    expect(capped.plan.q).toBe(199);
    expect(capped.plan.qSource).toBe('given 500, capped at 199: at most s − 1 and 1000');
    const rows = planRows(capped.plan);
    expect(rows.find((row) => row.name === 'q')?.why).toBe('given 500, capped at 199: at most s − 1 and 1000');
    expect(rows.find((row) => row.name === 'subsample s')).toMatchObject({ value: '200', why: 'all the training points' });
    const kept = await fit(X, y, { q: 20, epochs: 1, backend: 'js', subsampleSize: 100 });
    expect([kept.plan.q, kept.plan.qSource]).toEqual([20, 'given']);
    expect(planRows(kept.plan).find((row) => row.name === 'subsample s')?.why).toBeUndefined();
    await Promise.all([capped.dispose(), kept.dispose()]);
  });
});

describe('the subsample and the batch of a run whose kernel cache holds the matrix', () => {
  it('the batch: 0.7 of m* = β/λ_new, at most the device limit, at least 1', () => {
    expect(cachedBatchSize(1, 1 / 1096, Number.POSITIVE_INFINITY)).toBe(767); // MNIST 10 000's m*
    expect(cachedBatchSize(2, 1 / 1000, 1000)).toBe(1000); // 0.7·2000 = 1400, past the limit
    expect(cachedBatchSize(1, 0.9, 100)).toBe(1); // 0.7·1.11 rounds down to 0
  });

  it('is the smaller default, and the plan says why; without the cache, or given, it is not', async () => {
    const { fit } = await import('../../src/index.js');
    const { planRows } = await import('../../src/model/summary.js');
    const { randomPoints } = await import('../helpers/data.js');
    const X = randomPoints(2400, 3, 6);
    const y = X.map((row) => Math.sin(4 * row[0]) + row[1]);
    const options = { kernel: 'laplacian', bandwidth: 1, epochs: 1, backend: 'wasm', task: 'regression' } as const;
    const cached = await fit(X, y, options);
    expect(cached.plan.cache?.precision).toBe('float32');
    expect(cached.plan.subsampleSize).toBe(1000);
    // m = ⌊0.7·m*⌋ (below the device limit, s): the plan's own m*, and it says so.
    expect(cached.plan.batchSize).toBe(Math.floor(0.7 * cached.plan.criticalBatch));
    expect(cached.plan.batchSizeSource).toBe('analytic, below m* with the kernel cache');
    expect(planRows(cached.plan).find((row) => row.name === 'subsample s')?.why).toMatch(/^smaller while the kernel cache holds the matrix/);
    const uncached = await fit(X, y, { ...options, cache: 'off' });
    expect([uncached.plan.subsampleSize, uncached.plan.subsampleSource]).toEqual([2000, undefined]);
    expect(uncached.plan.batchSizeSource).not.toBe('analytic, below m* with the kernel cache');
    const given = await fit(X, y, { ...options, subsampleSize: 1500 });
    expect([given.plan.subsampleSize, given.plan.subsampleSource]).toEqual([1500, undefined]);
    await Promise.all([cached.dispose(), uncached.dispose(), given.dispose()]);
  });
});
