/**
 * Checkpoints and resume, in-process: a run interrupted at any iteration (by an abort, which
 * writes a final checkpoint, or by a "kill" — resuming an earlier periodic checkpoint, as a
 * SIGKILL leaves it) and resumed ends with the model of the uninterrupted run with the same seed:
 * bit for bit on the js backend and single-threaded wasm, within 1e-6 with two wasm threads.
 * The answer each resumed run is checked against is that uninterrupted run, never a stored output.
 */
import { copyFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fit, type FitOptions, type KernelModel } from '../../src/index.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { abortAfter, cutPoints, expectSameModel, relativeDifference, threeClasses, weightsOf, withoutTimes } from './helpers/runs.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const dir = temporaryDirectory('resume');
const { X, y, Xv, yv } = threeClasses();
// 240 points in batches of 16: 15 iterations per epoch, 60 in all.
const base: FitOptions = { backend: 'js', kernel: 'laplacian', bandwidth: 1, epochs: 4, batchSize: 16, q: 12, seed: 7 };
const PER_EPOCH = 15;
const TOTAL = 60;

let file = 0;
const next = () => path.join(dir, `run-${++file}.checkpoint`);

/** Interrupts `options` after `cut` iterations, then resumes the checkpoint it wrote. */
async function interruptAndResume(options: FitOptions, cut: number, resume: FitOptions = {}): Promise<KernelModel> {
  const checkpoint = next();
  const interrupted = await fit(X, y, { ...options, ...abortAfter(cut), checkpoint: { path: checkpoint, everyIterations: 7 } });
  expect(interrupted.stoppedBy).toBe('aborted');
  await interrupted.dispose();
  const validation = options.validation ? { validation: options.validation } : {};
  // The cache is not kept in a checkpoint (it does not change what is trained): given again, as the CLI's resume does.
  return fit(X, y, { resumeFrom: checkpoint, backend: options.backend, threads: options.threads, cache: options.cache, ...validation, ...resume });
}

describe('resume after an abort', () => {
  it('gives the uninterrupted model bit for bit at every cut (js)', async () => {
    const reference = await fit(X, y, base);
    const cuts = cutPoints(TOTAL, PER_EPOCH, 24, 1);
    for (const cut of cuts) expectSameModel(await interruptAndResume(base, cut), reference);
    expect(cuts.length).toBe(24);
  });

  it('with validation and early stopping: the same kept epoch and weights', async () => {
    const noisy = y.map((label, i) => (i % 3 === 0 ? (label + 1) % 3 : label));
    const options: FitOptions = { ...base, kernel: 'gaussian', bandwidth: 0.3, epochs: 12, validation: { X: Xv, y: yv }, earlyStopping: 2 };
    const reference = await fit(X, noisy, options);
    const total = reference.history.length * PER_EPOCH;
    for (const cut of cutPoints(total, PER_EPOCH, 8, 2)) {
      const checkpoint = next();
      await fit(X, noisy, { ...options, ...abortAfter(cut), checkpoint: { path: checkpoint } });
      expectSameModel(await fit(X, noisy, { resumeFrom: checkpoint, backend: 'js', validation: options.validation }), reference);
    }
  });

  it('twice in a row, and a finished run resumed for more epochs, equal one longer run', async () => {
    const longer = await fit(X, y, { ...base, epochs: 6 });
    const first = next();
    await fit(X, y, { ...base, ...abortAfter(20), checkpoint: { path: first } });
    const second = next();
    await fit(X, y, { resumeFrom: first, backend: 'js', ...abortAfter(17), checkpoint: { path: second } });
    const finished = await fit(X, y, { resumeFrom: second, backend: 'js', checkpoint: { path: second } });
    expect(finished.history).toHaveLength(4);
    expectSameModel(await fit(X, y, { resumeFrom: second, backend: 'js', epochs: 6 }), longer);
  });
});

describe('resume of a run that stops by itself (epochs left out)', () => {
  const untilConverged: FitOptions = { ...base, epochs: undefined };

  it('interrupted, it resumes to the uninterrupted converged model; converged, it stays so unless given epochs', async () => {
    const reference = await fit(X, y, untilConverged);
    expect(reference.stoppedBy).toBe('converged');
    const k = reference.history.length;
    const cut = Math.floor((k * PER_EPOCH) / 2) + 3; // inside an epoch, before the rule stops the run
    expectSameModel(await interruptAndResume(untilConverged, cut), reference);

    const checkpoint = next();
    await fit(X, y, { ...untilConverged, checkpoint: { path: checkpoint } });
    const again = await fit(X, y, { resumeFrom: checkpoint, backend: 'js' });
    expect(again.stoppedBy).toBe('converged');
    expectSameModel(again, reference);
    // Epochs given on resume are a count: the run goes on to it, as an uninterrupted run of that count.
    const longer = await fit(X, y, { resumeFrom: checkpoint, backend: 'js', epochs: k + 2 });
    expect(longer.stoppedBy).toBe('epochs');
    expect(longer.plan.stopping).toBeUndefined();
    expect(weightsOf(longer)).toEqual(weightsOf(await fit(X, y, { ...base, epochs: k + 2 })));
  });
});

describe('resume after a kill (an earlier periodic checkpoint)', () => {
  it('every checkpoint of a run continues to the same model', async () => {
    const reference = await fit(X, y, base);
    const copies: string[] = [];
    const checkpoint = next();
    await fit(X, y, {
      ...base,
      checkpoint: { path: checkpoint, everyIterations: 4 },
      onCheckpoint: (report) => {
        if (report.final) return;
        const copy = `${checkpoint}.${report.totalIterations}`;
        copyFileSync(report.path, copy); // what a SIGKILL right after this write would leave
        copies.push(copy);
      },
    });
    expect(copies).toHaveLength(TOTAL / 4); // the last one is the finished run
    for (const copy of copies) expectSameModel(await fit(X, y, { resumeFrom: copy, backend: 'js' }), reference);
  });
});

describe('resume on the wasm backend', () => {
  // Without the kernel cache: a run resumed inside an epoch computes the rest of it uncached (below).
  const wasm: FitOptions = { ...base, backend: 'wasm', deviceBatchLimit: 64, cache: 'off' };

  it('single-threaded: bit for bit', async () => {
    const options = { ...wasm, threads: 1 };
    const reference = await fit(X, y, options);
    for (const cut of [3, PER_EPOCH, 41]) expectSameModel(await interruptAndResume(options, cut), reference);
    await reference.dispose();
  });

  it('two threads: within 1e-6 of the uninterrupted run', async () => {
    const options = { ...wasm, threads: 2 };
    const reference = await fit(X, y, options);
    for (const cut of [5, 33]) {
      const resumed = await interruptAndResume(options, cut);
      expect(relativeDifference(weightsOf(resumed), weightsOf(reference))).toBeLessThanOrEqual(1e-6);
      expect(withoutTimes(resumed).map((h) => Object.keys(h))).toEqual(withoutTimes(reference).map((h) => Object.keys(h)));
      await resumed.dispose();
    }
    await reference.dispose();
  });

  it('with the kernel cache (never in a checkpoint): the resumed run fills it again and ends within float32 rounding', async () => {
    const options: FitOptions = { ...wasm, threads: 1, cache: 'float32' };
    const reference = await fit(X, y, options);
    expect(reference.plan.cache?.precision).toBe('float32');
    // Inside the filling epoch, at an epoch's end, inside a later epoch.
    for (const cut of [6, PER_EPOCH, 41]) {
      const resumed = await interruptAndResume(options, cut);
      expect(resumed.plan.cache?.precision).toBe('float32');
      expect(relativeDifference(weightsOf(resumed), weightsOf(reference))).toBeLessThanOrEqual(1e-5);
      await resumed.dispose();
    }
    await reference.dispose();
  });
});

describe('a resume is refused when it would not continue the same training', () => {
  const checkpoint = path.join(dir, 'refusals.checkpoint');
  // Two epochs and five iterations done.
  const ready = fit(X, y, { ...base, validation: { X: Xv, y: yv }, ...abortAfter(35), checkpoint: { path: checkpoint } });
  const validation = { X: Xv, y: yv };

  it('other features or labels', async () => {
    await ready;
    const moved = X.map((row, i) => (i === 17 ? row.map((v) => v + 1e-3) : row));
    expect(await asyncErrorOf(fit(moved, y, { resumeFrom: checkpoint, validation }), 'CHECKPOINT_MISMATCH')).toContain('features differ');
    const relabelled = y.map((label, i) => (i === 3 ? (label + 1) % 3 : label));
    expect(await asyncErrorOf(fit(X, relabelled, { resumeFrom: checkpoint, validation }), 'CHECKPOINT_MISMATCH')).toContain('labels differ');
    expect(await asyncErrorOf(fit(X.slice(1), y.slice(1), { resumeFrom: checkpoint, validation }), 'CHECKPOINT_MISMATCH')).toContain('240 points');
  });

  it('another training option, fewer epochs than done, missing validation', async () => {
    await ready;
    const message = await asyncErrorOf(fit(X, y, { resumeFrom: checkpoint, validation, kernel: 'gaussian' }), 'CHECKPOINT_MISMATCH');
    expect(message).toContain('kernel "laplacian"');
    expect(message).toContain('Leave kernel out');
    expect(await asyncErrorOf(fit(X, y, { resumeFrom: checkpoint, validation, seed: 8 }), 'CHECKPOINT_MISMATCH')).toContain('seed');
    expect(await asyncErrorOf(fit(X, y, { resumeFrom: checkpoint, validation, epochs: 1 }), 'CHECKPOINT_MISMATCH')).toContain('already done 2 epochs');
    expect(await asyncErrorOf(fit(X, y, { resumeFrom: checkpoint }), 'CHECKPOINT_MISMATCH')).toContain('validation');
    // The same values as the checkpoint's are accepted.
    const resumed = await fit(X, y, { resumeFrom: checkpoint, validation, kernel: 'laplacian', seed: 7, ...abortAfter(1) });
    expect(resumed.history).toHaveLength(2);
  });

  it('a model file or a missing file instead of a checkpoint', async () => {
    const model = await fit(X, y, { ...base, epochs: 1 });
    const saved = path.join(dir, 'model.kmfit');
    await model.save(saved);
    expect(await asyncErrorOf(fit(X, y, { resumeFrom: saved }), 'MODEL_FILE_FOREIGN')).toContain('it is a trained kmfit model');
    expect(await asyncErrorOf(fit(X, y, { resumeFrom: path.join(dir, 'none.checkpoint') }), 'FILE_NOT_FOUND')).toContain('checkpoints are written by');
  });

  it('bad checkpoint options', async () => {
    expect(await asyncErrorOf(fit(X, y, { checkpoint: { path: '' } }), 'INVALID_OPTION')).toContain('path');
    expect(await asyncErrorOf(fit(X, y, { checkpoint: { path: 'a', everyIterations: 0 } }), 'INVALID_OPTION')).toContain('everyIterations');
    expect(await asyncErrorOf(fit(X, y, { checkpoint: { path: 'a', every: 3 } as never }), 'INVALID_OPTION')).toContain("'every'");
    expect(await asyncErrorOf(fit(X, y, { resumeFrom: 3 as never }), 'INVALID_OPTION')).toContain('resumeFrom');
  });

  it('a checkpoint in a folder that does not exist, or under a file, is refused before any work', async () => {
    let planned = false;
    const missing = path.join(dir, 'no such folder', 'run.checkpoint');
    expect(await asyncErrorOf(fit(X, y, { checkpoint: { path: missing }, onPlan: () => void (planned = true) }), 'FILE_NOT_FOUND')).toContain(path.join(dir, 'no such folder'));
    const file = path.join(dir, 'a file');
    await writeFile(file, 'x');
    expect(await asyncErrorOf(fit(X, y, { checkpoint: { path: path.join(file, 'run.checkpoint') }, onPlan: () => void (planned = true) }), 'IO_ERROR')).toContain('is not a directory');
    expect(planned).toBe(false);
  });
});

describe('checkpoint schedule', () => {
  it('every N iterations, after each epoch by default, and a final one when stopped', async () => {
    const counted = async (checkpoint: FitOptions['checkpoint'], extra: FitOptions = {}) => {
      const reports: [number, boolean][] = [];
      await fit(X, y, { ...base, ...extra, checkpoint, onCheckpoint: (r) => reports.push([r.totalIterations, r.final]) });
      return reports;
    };
    expect(await counted({ path: next(), everyIterations: 25 })).toEqual([[25, false], [50, false], [60, true]]);
    expect(await counted({ path: next() })).toEqual([[15, false], [30, false], [45, false], [60, false]]);
    expect(await counted({ path: next() }, abortAfter(20))).toEqual([[15, false], [20, true]]);
    expect((await counted({ path: next(), everySeconds: 1e-9 })).length).toBe(TOTAL);
  });
});

describe('resume of an EigenPro 3 run (centers apart from the data)', () => {
  // 40 centers, a projection every 4 batches: most cuts fall with an update pending, which the
  // checkpoint keeps, so that the resumed run projects when the uninterrupted one does.
  const centers: FitOptions = { ...base, centers: 40, projectionInterval: 4 };

  it('gives the uninterrupted model bit for bit at every cut (js)', async () => {
    const reference = await fit(X, y, centers);
    expect(reference.plan.centers?.count).toBe(40);
    for (const cut of cutPoints(TOTAL, PER_EPOCH, 10, 1)) expectSameModel(await interruptAndResume(centers, cut), reference);
  });

  it('with K_ZZ in the kernel cache (never in a checkpoint): refilled on resume, the same model bit for bit (js)', async () => {
    const options: FitOptions = { ...centers, cache: 'float32' };
    const reference = await fit(X, y, options);
    expect(reference.plan.cache?.precision).toBe('float32');
    expect(reference.plan.cache?.reason).toContain('K_ZZ of the 40 centers');
    for (const cut of cutPoints(TOTAL, PER_EPOCH, 4, 1)) expectSameModel(await interruptAndResume(options, cut), reference);
  });

  it('from every periodic checkpoint of a run, centers given as a matrix', async () => {
    const options: FitOptions = { ...centers, centers: X.slice(0, 30) };
    const reference = await fit(X, y, options);
    const checkpoint = next();
    const copies: string[] = [];
    await fit(X, y, {
      ...options,
      checkpoint: { path: checkpoint, everyIterations: 9 },
      onCheckpoint: (report) => {
        if (report.final || report.error) return;
        const copy = `${checkpoint}.${report.totalIterations}`;
        copyFileSync(checkpoint, copy);
        copies.push(copy);
      },
    });
    expect(copies.length).toBeGreaterThanOrEqual(5);
    for (const copy of copies) expectSameModel(await fit(X, y, { resumeFrom: copy, backend: 'js', centers: X.slice(0, 30) }), reference);
    // Other centers are another model: refused, naming the option (a count, or one moved value).
    const moved = X.slice(0, 30).map((row, i) => (i === 7 ? row.map((v, k) => (k === 0 ? v + 1e-3 : v)) : row));
    for (const other of [30, moved]) {
      const message = await asyncErrorOf(fit(X, y, { resumeFrom: copies[0], backend: 'js', centers: other }), 'CHECKPOINT_MISMATCH');
      expect(message).toMatch(/it was trained with centers "a 30×\d+ matrix, CRC-32 [0-9a-f]{8}"/);
    }
  });
});
