/**
 * A bandwidth search (src/search/) against independent answers: each candidate trained alone by
 * fit() with its bandwidth and the search's common batch size. Its held-out figures per epoch, q and
 * step size must be the solo run's (to float32 tolerance), the search's winner must be the solo run
 * with the lowest held-out error, and the model returned must predict as that solo model does.
 * Bad input gets a KmfitError that says what to change.
 */
import { describe, expect, it, vi } from 'vitest';
import { fit } from '../../src/fit.js';
import { Training } from '../../src/solver/training.js';
import type { FitOptions } from '../../src/options.js';
import path from 'node:path';
import { onnxSupport } from '../../src/backends/onnx/index.js';
import { loadModel } from '../../src/model/load.js';
import { temporaryDirectory } from '../helpers/temporary.js';
import { lcg } from '../helpers/data.js';

/** onnxruntime-node is optional: without it the onnx case is left out, except in CI, where it fails. */
const ONNX = (await onnxSupport()).available || process.env.CI === 'true';

/** Three classes of points in 20 dimensions around three centers, with noise. */
function blobs(n: number, seed: number): { X: number[][]; y: number[] } {
  const next = lcg(seed);
  const d = 20;
  const centers = [0, 1, 2].map((c) => Array.from({ length: d }, (_, k) => ((k * 7 + c * 13) % 5) / 2));
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    X.push(centers[c].map((v) => v + 1.6 * (next() - 0.5) * 2));
    y.push(c);
  }
  return { X, y };
}

const train = blobs(500, 1);
const validation = blobs(150, 2);
const common: FitOptions = { epochs: 2, subsampleSize: 150, deviceBatchLimit: 60, cache: 'off', seed: 3, validation };

function closeArrays(actual: readonly number[], expected: readonly number[], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i])).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected[i]))));
}

describe.each(['js', 'wasm', ...(ONNX ? (['onnx'] as const) : [])] as const)('bandwidth search on %s', (backend) => {
  it('each candidate trains as fit() alone with its bandwidth and the common batch; the winner has the lowest held-out error', async () => {
    const model = await fit(train.X, train.y, { ...common, backend, kernel: ['gaussian', 'laplacian'], bandwidth: [1.5, 3, 6] });
    const search = model.search!;
    expect(search.candidates.map((c) => `${c.name} ${c.bandwidth}`)).toEqual(['gaussian 1.5', 'gaussian 3', 'gaussian 6', 'laplacian 1.5', 'laplacian 3', 'laplacian 6']);
    expect(search.heldOut).toMatch(/validation data \(150 rows\)/);
    expect(search.sharesDistances).toBe(backend !== 'js');
    const m = model.plan.batchSize;
    const solos = [];
    for (const candidate of search.candidates) {
      const solo = await fit(train.X, train.y, { ...common, backend, kernel: candidate.name, bandwidth: candidate.bandwidth, batchSize: m });
      expect(candidate.status).toBe('trained');
      expect(candidate.q).toBe(solo.plan.q);
      expect(candidate.stepSize).toBeCloseTo(solo.plan.stepSize, 10);
      closeArrays(candidate.validationMse!, solo.history.map((h) => h.validationMse!), 1e-4);
      closeArrays(candidate.validationError!, solo.history.map((h) => h.validationError!), 0.01);
      solos.push(solo);
    }
    // The independent choice: the solo run with the lowest validation error after its last epoch (first on ties).
    const finals = solos.map((solo) => solo.history[solo.history.length - 1].validationError!);
    expect(new Set(finals).size).toBeGreaterThan(1); // the choice means something
    const expected = finals.indexOf(Math.min(...finals));
    expect(search.winner).toBe(expected);
    expect(model.kernel.bandwidth).toBe(search.candidates[expected].bandwidth);
    const mine = await model.predictScores(validation.X);
    const theirs = await solos[expected].predictScores(validation.X);
    closeArrays(Array.from(mine.data), Array.from(theirs.data), 1e-4);
    for (const solo of solos) await solo.dispose();
    await model.dispose();
  }, 120_000);
});

describe.runIf(ONNX)('bandwidth search on onnx, byte data (the integer GEMM where it is exact)', () => {
  /** The blobs as an image's pixels: bytes ÷ 255. */
  const asBytes = (X: number[][]) => X.map((row) => row.map((v) => Math.min(255, Math.max(0, Math.round(((v + 2) / 6.5) * 255))) / 255));
  const bytes = { X: asBytes(train.X), y: train.y };
  const byteValidation = { X: asBytes(validation.X), y: validation.y };

  it('each candidate trains as fit() alone (whose centers take the same form) with its bandwidth and the common batch', async () => {
    const options: FitOptions = { ...common, validation: byteValidation, backend: 'onnx', kernel: 'gaussian', bandwidth: [0.2, 0.4, 0.8] };
    const model = await fit(bytes.X, bytes.y, options);
    for (const candidate of model.search!.candidates) {
      const solo = await fit(bytes.X, bytes.y, { ...options, bandwidth: candidate.bandwidth, batchSize: model.plan.batchSize });
      // The data are seen as bytes (the integer GEMM, or on a CPU where it is not exact the float one).
      expect(solo.plan.distances).toMatch(/^(integer|float) GEMM.*bytes ÷ 255/);
      expect(candidate.q).toBe(solo.plan.q);
      closeArrays(candidate.validationMse!, solo.history.map((h) => h.validationMse!), 1e-4);
      closeArrays(candidate.validationError!, solo.history.map((h) => h.validationError!), 0.01);
      await solo.dispose();
    }
    await model.dispose();
  }, 120_000);
});

describe.each(['wasm', ...(ONNX ? (['onnx'] as const) : [])] as const)('bandwidth search on %s, the last candidates with a kernel cache', (backend) => {
  it('once no more than two train, each goes on with a cache of its own and still trains as fit() alone (uncached) does', async () => {
    const { epochs: _given, cache: _off, ...unbounded } = common;
    const options: FitOptions = { ...unbounded, backend, kernel: 'gaussian', bandwidth: [0.8, 1.5, 3, 6] };
    const model = await fit(train.X, train.y, options);
    const search = model.search!;
    expect(search.lateCache?.precision).toBe('float32');
    // The cache is used only if two candidates train on after the others stopped: the data must show it.
    const lengths = search.candidates.map((c) => c.validationMse!.length);
    const [, second, third] = [...lengths].sort((a, b) => b - a);
    expect(second).toBeGreaterThan(third + 1);
    // The two that trained longest, and only they, have their cache from the epoch after the third stopped.
    expect(search.candidates.map((c, k) => c.cachedFrom ?? (lengths[k] > third ? 'missing' : 'none'))).toEqual(lengths.map((length) => (length > third ? third + 1 : 'none')));
    for (const candidate of search.candidates) {
      const solo = await fit(train.X, train.y, { ...options, cache: 'off', bandwidth: candidate.bandwidth, batchSize: model.plan.batchSize });
      closeArrays(candidate.validationMse!, solo.history.map((h) => h.validationMse!), 1e-4);
      closeArrays(candidate.validationError!, solo.history.map((h) => h.validationError!), 0.01);
      await solo.dispose();
    }
    await model.dispose();
  }, 120_000);
});

describe('bandwidth search: the default grid and the held-out split', () => {
  it("'search' trains 5 bandwidths around the median heuristic and judges them on a seeded split", async () => {
    const plans: unknown[] = [];
    const model = await fit(train.X, train.y, { epochs: 1, subsampleSize: 150, deviceBatchLimit: 60, backend: 'js', kernel: 'gaussian', bandwidth: 'search', holdout: 0.25, onPlan: (plan) => plans.push(plan) });
    const search = model.search!;
    expect(search.candidates).toHaveLength(5);
    const widths = search.candidates.map((c) => c.bandwidth);
    // A geometric grid ×2 apart, with the median heuristic (the default σ) in the middle.
    for (let i = 1; i < 5; i++) expect(widths[i] / widths[i - 1]).toBeCloseTo(2, 12);
    const alone = await fit(train.X, train.y, { epochs: 1, backend: 'js', kernel: 'gaussian', subsampleSize: 150, deviceBatchLimit: 60 });
    expect(widths[2]).toBeCloseTo(alone.kernel.bandwidth, 10);
    expect(search.heldOut).toMatch(/125 of 500 rows/);
    const scores = search.candidates.map((c) => c.score!);
    expect(scores[search.winner!]).toBe(Math.min(...scores));
    // The model returned is the kept candidate trained again on all 500 rows, as fit() alone with
    // its bandwidth trains it: the search's plan first, then the refit's, which holds the search.
    expect(search.refit).toMatch(/trained again on all 500 rows/);
    expect(model.plan.n).toBe(500);
    expect(plans.map((plan) => (plan as { search?: { refit?: string } }).search?.refit)).toEqual([undefined, search.refit]);
    const kept = search.candidates[search.winner!];
    const refit = await fit(train.X, train.y, { epochs: 1, backend: 'js', kernel: 'gaussian', bandwidth: kept.bandwidth, subsampleSize: 150, deviceBatchLimit: 60 });
    expect(model.kernel.bandwidth).toBe(kept.bandwidth);
    expect(Array.from((await model.predictScores(train.X)).data)).toEqual(Array.from((await refit.predictScores(train.X)).data));
    await refit.dispose();
    await alone.dispose();
    await model.dispose();
  }, 60_000);

  it("reports each candidate's iterations to onIteration, and an abort there stops the search within one round", async () => {
    // Validation data judges: no holdout, no refit, so every report is the search's own.
    const options: FitOptions = { ...common, backend: 'js', kernel: 'gaussian', bandwidth: [1.5, 3], batchSize: 100 };
    const reports: string[] = [];
    const model = await fit(train.X, train.y, { ...options, onIteration: (r) => reports.push(`${r.candidate} ${r.epoch}.${r.iteration}/${r.iterationsPerEpoch}`) });
    // 500 rows in batches of 100: 5 iterations an epoch, 2 epochs, for each of the 2 candidates.
    const expected = [0, 1].flatMap((c) => [1, 2].flatMap((e) => [1, 2, 3, 4, 5].map((i) => `${c} ${e}.${i}/5`)));
    expect([...reports].sort()).toEqual([...expected].sort());
    await model.dispose();

    const controller = new AbortController();
    let seen = 0;
    const aborted = await fit(train.X, train.y, {
      ...options,
      signal: controller.signal,
      onIteration: (r) => {
        seen++;
        if (r.candidate === 1 && r.epoch === 2 && r.iteration === 2) controller.abort();
      },
    });
    // The candidates step in lock step: a first epoch of 5 rounds of two, two more rounds, then the abort is seen.
    expect(seen).toBe(14);
    expect(aborted.stoppedBy).toBe('aborted');
    expect(aborted.history).toHaveLength(1);
    await aborted.dispose();

    // Aborted before any candidate finished an epoch, none was judged and none diverged: ABORTED.
    const early = new AbortController();
    const stopped = fit(train.X, train.y, { ...options, signal: early.signal, onIteration: (r) => (r.iteration === 2 ? early.abort() : undefined) });
    await expect(stopped).rejects.toMatchObject({ code: 'ABORTED', message: expect.stringMatching(/before any candidate finished its first epoch/) });
  }, 60_000);

  it('with refit off, the model is the kept candidate as trained on the rows not held out', async () => {
    const options = { epochs: 1, subsampleSize: 150, deviceBatchLimit: 60, backend: 'js', kernel: 'gaussian', bandwidth: [1.5, 3], holdout: 0.25, seed: 5 } as const;
    const model = await fit(train.X, train.y, { ...options, refit: false });
    expect(model.plan.n).toBe(375);
    expect(model.search!.refit).toBeUndefined();
    const refitted = await fit(train.X, train.y, options);
    expect(refitted.plan.n).toBe(500);
    // Both judged the same candidates on the same held-out rows.
    expect(refitted.search!.candidates).toEqual(model.search!.candidates);
    await refitted.dispose();
    await model.dispose();
  }, 60_000);
});

describe('bandwidth search: early stopping and model files', () => {
  it('earlyStopping stops each candidate as fit() alone stops it, and keeps its best epoch', async () => {
    const options: FitOptions = { ...common, epochs: 6, earlyStopping: 1, backend: 'js', kernel: 'gaussian', bandwidth: [0.8, 3] };
    const model = await fit(train.X, train.y, options);
    const search = model.search!;
    for (const candidate of search.candidates) {
      const solo = await fit(train.X, train.y, { ...options, bandwidth: candidate.bandwidth, batchSize: model.plan.batchSize });
      // Epochs run = the solo run's (it stopped early, or ran them all), each figure the solo's.
      closeArrays(candidate.validationMse!, solo.history.map((h) => h.validationMse!), 1e-4);
      if (search.candidates[search.winner!] === candidate) {
        expect([model.stoppedBy, model.keptEpoch]).toEqual([solo.stoppedBy, solo.keptEpoch]);
        expect(candidate.score).toBe(solo.history[solo.keptEpoch - 1].validationError);
      }
      await solo.dispose();
    }
    // The test means something: some candidate stopped before the last epoch.
    expect(Math.min(...search.candidates.map((c) => c.validationMse!.length))).toBeLessThan(6);
    await model.dispose();
  }, 60_000);

  it('with epochs left out, each candidate stops by the convergence rule where fit() alone stops', async () => {
    const { epochs: _given, ...unbounded } = common;
    const options: FitOptions = { ...unbounded, backend: 'js', kernel: 'gaussian', bandwidth: [0.8, 3] };
    const model = await fit(train.X, train.y, options);
    expect(model.plan.stopping).toBeDefined();
    for (const candidate of model.search!.candidates) {
      const solo = await fit(train.X, train.y, { ...options, bandwidth: candidate.bandwidth, batchSize: model.plan.batchSize });
      expect(solo.stoppedBy).toBe('converged');
      closeArrays(candidate.validationMse!, solo.history.map((h) => h.validationMse!), 1e-4);
      if (model.search!.candidates[model.search!.winner!] === candidate) expect([model.stoppedBy, model.keptEpoch]).toEqual([solo.stoppedBy, solo.keptEpoch]);
      await solo.dispose();
    }
    await model.dispose();
  }, 60_000);

  it('a search model saved and loaded predicts as before and keeps its search', async () => {
    const model = await fit(train.X, train.y, { ...common, backend: 'js', kernel: 'gaussian', bandwidth: [1.5, 3] });
    const file = path.join(temporaryDirectory('kmfit-search-'), 'search.kmfit');
    await model.save(file);
    const loaded = await loadModel(file);
    expect(loaded.kernel.bandwidth).toBe(model.kernel.bandwidth);
    expect(loaded.search).toEqual(model.search);
    expect(Array.from((await loaded.predictScores(validation.X)).data)).toEqual(Array.from((await model.predictScores(validation.X)).data));
    await loaded.dispose();
    await model.dispose();
  }, 60_000);
});

describe('bandwidth search: a candidate that diverges', () => {
  it('leaves the search, and keeps the held-out figures of the epochs it finished (an undisturbed search\'s)', async () => {
    const options = { ...common, epochs: 3, backend: 'js', kernel: 'gaussian', bandwidth: [1.5, 3, 6] } as const;
    const undisturbed = (await fit(train.X, train.y, options)).search!;
    // The third candidate's training halves its step size once it has finished 2 epochs, as a
    // divergence would have it do (the search then drops it).
    const runs: Training[] = [];
    const original = Training.start.bind(Training);
    const start = vi.spyOn(Training, 'start').mockImplementation((...args) => {
      const run = original(...args);
      runs.push(run);
      return run;
    });
    const halvings = vi.spyOn(Training.prototype, 'halvingCount', 'get').mockImplementation(function (this: Training) {
      return this === runs[2] && this.completedEpochs >= 2 ? 1 : 0;
    });
    try {
      const search = (await fit(train.X, train.y, options)).search!;
      expect(search.candidates.map((c) => c.status)).toEqual(['trained', 'trained', 'diverged']);
      expect(search.candidates[2].validationError).toEqual(undisturbed.candidates[2].validationError!.slice(0, 2));
      expect(search.candidates[2].validationMse).toEqual(undisturbed.candidates[2].validationMse!.slice(0, 2));
      expect(search.candidates[0].validationError).toEqual(undisturbed.candidates[0].validationError);
    } finally {
      start.mockRestore();
      halvings.mockRestore();
    }
  });
});

describe('bandwidth search: bad input', () => {
  const cases: [string, FitOptions, RegExp][] = [
    ['an empty bandwidth list', { bandwidth: [] }, /empty list/],
    ['a non-positive bandwidth', { bandwidth: [1, -2] }, /entry 1 is -2/],
    ['an empty kernel list', { kernel: [], bandwidth: [1, 2] }, /'kernel' option is an empty list/],
    ['a formula without sigma', { kernel: 'exp(-r)', bandwidth: [1, 2] }, /does not use sigma/],
    ['a kernel with its own bandwidth', { kernel: [{ name: 'gaussian', bandwidth: 2 }], bandwidth: [1, 2] }, /remove bandwidth 2/],
    ['holdout without a search', { bandwidth: 2, holdout: 0.2 }, /'holdout' option is for a bandwidth search/],
    ['refit without a search', { bandwidth: 2, refit: false }, /'refit' option is for a bandwidth search/],
    ['holdout beside validation data', { bandwidth: [1, 2], holdout: 0.2, validation }, /leave one of them out/],
    ['a search with centers', { bandwidth: [1, 2], centers: 50 }, /'centers' option does not go with a bandwidth search/],
    ['a search with a checkpoint', { bandwidth: 'search', checkpoint: { path: '/tmp/x.checkpoint' } }, /'checkpoint' option does not go with/],
    ['a search with a cache precision', { bandwidth: [1, 2], cache: 'float16' }, /does not keep \(each candidate's kernel values differ/],
    ['a bandwidth that is a word', { bandwidth: 'grid' as never }, /a number > 0, a list of them, or 'search'/],
  ];
  for (const [what, options, message] of cases) {
    it(`${what}: INVALID_OPTION`, async () => {
      await expect(fit(train.X, train.y, { backend: 'js', epochs: 1, ...options })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringMatching(message) });
    });
  }
});
