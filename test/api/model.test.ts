import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fit, KmfitError, loadModel, type Plan } from '../../src/index.js';
import { planRows } from '../../src/model/summary.js';
import { writeModelFile } from '../../src/io/modelFile.js';
import { randomPoints } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const dir = temporaryDirectory('model');
const X = randomPoints(200, 3, 5);
const Xtest = randomPoints(50, 3, 6);
const names = ['setosa', 'versicolor', 'virginica'];
const label = (x: number[]) => (x[0] + x[1] < 0.7 ? 0 : x[0] + x[1] < 1.3 ? 1 : 2);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KmfitError);
    return (error as KmfitError).code;
  }
  throw new Error('expected a KmfitError');
}

describe('the trained model', () => {
  it('predicts string labels of the same type, and scores accuracy', async () => {
    const y = X.map((x) => names[label(x)]);
    const model = await fit(X, y, { kernel: 'laplacian', epochs: 3 });
    expect(model.task).toBe('classification');
    expect(model.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    const predicted = await model.predict(Xtest);
    expect(predicted).toHaveLength(50);
    for (const p of predicted as string[]) expect(names).toContain(p);
    const truth = Xtest.map((x) => names[label(x)]);
    const right = (predicted as string[]).filter((p, i) => p === truth[i]).length;
    expect(await model.score(Xtest, truth)).toBeCloseTo(right / 50, 12);
    expect(right / 50).toBeGreaterThan(0.8);
  });

  it('does multi-output regression and scores R²', async () => {
    const Y = X.map((x) => [Math.sin(4 * x[0]), x[1] * x[2] + 0.5]);
    const model = await fit(X, Y, { epochs: 10 });
    expect(model.task).toBe('regression');
    const predicted = (await model.predict(Xtest)) as number[][];
    expect(predicted).toHaveLength(50);
    expect(predicted[0]).toHaveLength(2);
    const truth = Xtest.map((x) => [Math.sin(4 * x[0]), x[1] * x[2] + 0.5]);
    // R² by hand: 1 − SS_res/SS_tot per output, averaged.
    let r2 = 0;
    for (const c of [0, 1]) {
      const mean = truth.reduce((s, t) => s + t[c], 0) / 50;
      const res = truth.reduce((s, t, i) => s + (t[c] - predicted[i][c]) ** 2, 0);
      const tot = truth.reduce((s, t) => s + (t[c] - mean) ** 2, 0);
      r2 += (1 - res / tot) / 2;
    }
    expect(await model.score(Xtest, truth)).toBeCloseTo(r2, 5);
    expect(r2).toBeGreaterThan(0.9);
  });

  it('stores its scaling and applies it in predict', async () => {
    const shifted = X.map((x) => [x[0] * 1000 + 5, x[1] - 3, x[2]]);
    const y = X.map(label);
    const scaled = await fit(shifted, y, { scale: 'minmax', epochs: 2 });
    const plain = await fit(X, y, { scale: 'minmax', epochs: 2 });
    expect(Array.from(scaled.scaling.factor)[0]).toBeCloseTo(plain.scaling.factor[0] / 1000, 6);
    const a = await scaled.predict(Xtest.map((x) => [x[0] * 1000 + 5, x[1] - 3, x[2]]));
    const b = await plain.predict(Xtest);
    expect(a).toEqual(b);
  });

  it('saves and loads with identical predictions, plan and history', async () => {
    const y = X.map((x) => names[label(x)]);
    const model = await fit(X, y, { kernel: { name: 'matern', nu: 2.5 }, scale: 'standard', epochs: 2 });
    const file = path.join(dir, 'roundtrip.kmfit');
    await model.save(file);
    const again = await loadModel(file);
    expect(again.classes).toEqual(model.classes);
    expect(again.kernel).toEqual(model.kernel);
    expect(again.plan).toEqual(model.plan);
    expect(again.history).toEqual(model.history);
    expect(Array.from((await again.predictScores(Xtest)).data)).toEqual(Array.from((await model.predictScores(Xtest)).data));
    expect(await again.predict(Xtest)).toEqual(await model.predict(Xtest));
  });

  it('round-trips a custom formula kernel and numeric labels', async () => {
    const y = X.map(label).map((c) => c * 10 + 1);
    const model = await fit(X, y, { kernel: { formula: 'exp(-r^1.3 / sigma)' }, epochs: 2 });
    const file = path.join(dir, 'custom.kmfit');
    await model.save(file);
    const again = await loadModel(file);
    expect(again.kernel.formula).toBe('exp(-r^1.3 / sigma)');
    expect(await again.predict(Xtest)).toEqual(await model.predict(Xtest));
    for (const p of (await again.predict(Xtest)) as number[]) expect([1, 11, 21]).toContain(p);
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const y = X.map(label);
    const scores = async (seed: number) =>
      Array.from((await (await fit(X, y, { seed, epochs: 2, batchSize: 16 })).predictScores(Xtest)).data);
    const a = await scores(7);
    expect(await scores(7)).toEqual(a);
    expect(await scores(8)).not.toEqual(a);
  });

  it('reports the plan before training and each iteration and epoch', async () => {
    const events: string[] = [];
    const model = await fit(X, X.map(label), {
      epochs: 2,
      batchSize: 64,
      onPlan: (plan) => events.push(`plan ${plan.batchSize}`),
      onIteration: (r) => events.push(`it ${r.epoch}.${r.iteration}/${r.iterationsPerEpoch}`),
      onEpoch: (r) => events.push(`epoch ${r.epoch}/${r.epochs}`),
    });
    expect(events).toEqual([
      'plan 64', 'it 1.1/4', 'it 1.2/4', 'it 1.3/4', 'it 1.4/4', 'epoch 1/2',
      'it 2.1/4', 'it 2.2/4', 'it 2.3/4', 'it 2.4/4', 'epoch 2/2',
    ]);
    expect(model.plan.batchSizeSource).toBe('given');
    expect(model.history).toHaveLength(2);
  });

  it('awaits async callbacks, and a callback that throws or rejects ends fit() with its own error', async () => {
    // Each async onEpoch finishes (after a timer) before the next epoch starts and before fit() returns.
    const finished: number[] = [];
    await fit(X, X.map(label), {
      epochs: 2,
      onEpoch: async (r) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        finished.push(r.epoch);
      },
    });
    expect(finished).toEqual([1, 2]);
    // A rejection is fit()'s rejection, not an unhandled one that ends the process.
    for (const name of ['onPlan', 'onIteration', 'onEpoch'] as const) {
      const mine = new Error(`rejected in ${name}`);
      await expect(fit(X, X.map(label), { epochs: 1, [name]: async () => Promise.reject(mine) })).rejects.toBe(mine);
      await expect(fit(X, X.map(label), { epochs: 1, [name]: () => { throw mine; } })).rejects.toBe(mine);
    }
  });

  it('stops on an AbortSignal within one iteration and keeps the model', async () => {
    const controller = new AbortController();
    let iterations = 0;
    const model = await fit(X, X.map(label), {
      epochs: 5,
      batchSize: 10,
      signal: controller.signal,
      onIteration: (r) => {
        iterations++;
        if (r.epoch === 2 && r.iteration === 3) controller.abort();
      },
    });
    expect(iterations).toBe(23);
    expect(model.stoppedBy).toBe('aborted');
    expect(model.history).toHaveLength(1);
    expect(await model.predict(Xtest)).toHaveLength(50);
    const aborted = new AbortController();
    aborted.abort();
    expect(await codeOf(fit(X, X.map(label), { signal: aborted.signal }))).toBe('ABORTED');
  });

  it('stops early when validation stops improving and keeps the best epoch', async () => {
    // Noisy labels: interpolating them makes validation worse after the first epochs.
    const noisy = X.map((x, i) => (i % 3 === 0 ? (label(x) + 1) % 3 : label(x)));
    const validation = { X: Xtest, y: Xtest.map(label) };
    const model = await fit(X, noisy, { epochs: 40, validation, earlyStopping: 2, kernel: 'gaussian', bandwidth: 0.1 });
    const errors = model.history.map((h) => h.validationError!);
    const best = Math.min(...errors);
    expect(model.stoppedBy).toBe('early-stopping');
    expect(model.history.length).toBeLessThan(40);
    expect(errors[model.keptEpoch - 1]).toBe(best);
    expect(model.history.length - model.keptEpoch).toBe(2);
    expect(1 - (await model.score(validation.X, validation.y))).toBeCloseTo(best, 12);
  });

  it('without early stopping, validation only reports: the model is the last epoch, even a worse one', async () => {
    const noisy = X.map((x, i) => (i % 3 === 0 ? (label(x) + 1) % 3 : label(x)));
    const validation = { X: Xtest, y: Xtest.map(label) };
    const model = await fit(X, noisy, { epochs: 20, validation, kernel: 'gaussian', bandwidth: 0.1 });
    const errors = model.history.map((h) => h.validationError!);
    expect(Math.min(...errors)).toBeLessThan(errors[19]); // a worse last epoch, as in the test above
    expect(model.keptEpoch).toBe(20);
    expect(1 - (await model.score(validation.X, validation.y))).toBeCloseTo(errors[19], 12);
  });

  it("says in its plan which validation labels are no training class, before training, and keeps that in its file", async () => {
    // Training labels 0–2; the validation labels shifted by one: every 2 becomes a 3, no class.
    const shifted = Xtest.map((x) => label(x) + 1);
    const plans: Plan[] = [];
    const model = await fit(X, X.map(label), { epochs: 1, validation: { X: Xtest, y: shifted }, onPlan: (plan) => void plans.push(plan) });
    const count = shifted.filter((k) => k === 3).length;
    const row = shifted.indexOf(3);
    expect(count).toBeGreaterThan(0);
    const unseen = { count, rows: Xtest.length, row, label: 3 };
    expect(plans[0].unseenValidationLabels).toEqual(unseen);
    expect(model.plan.unseenValidationLabels).toEqual(unseen);
    expect(planRows(model.plan).find((r) => r.name === 'validation labels')).toEqual({
      name: 'validation labels',
      value: `${count} of the ${Xtest.length} validation labels ${count === 1 ? 'is' : 'are'} not among the training classes, the first 3 at row ${row} (0-based)`,
      why: 'each counts as an error',
    });
    expect((await loadModel(model.toBytes())).plan.unseenValidationLabels).toEqual(unseen);
    // Text labels; and none where every label is a class, or for regression.
    const named = await fit(X, X.map((x) => names[label(x)]), { epochs: 1, validation: { X: Xtest.slice(0, 3), y: ['setosa', 'rose', 'tulip'] } });
    expect(named.plan.unseenValidationLabels).toEqual({ count: 2, rows: 3, row: 1, label: 'rose' });
    const matching = await fit(X, X.map(label), { epochs: 1, validation: { X: Xtest, y: Xtest.map(label) } });
    const regression = await fit(X, X.map((x) => x[0]), { epochs: 1, validation: { X: Xtest, y: Xtest.map((x) => x[0] + 7) } });
    expect([matching.plan.unseenValidationLabels, regression.plan.unseenValidationLabels]).toEqual([undefined, undefined]);
    for (const m of [model, named, matching, regression]) await m.dispose();
  });
});

describe('loadModel() rejects files it cannot use', () => {
  it('a missing file', async () => {
    expect(await codeOf(loadModel(path.join(dir, 'nope.kmfit')))).toBe('FILE_NOT_FOUND');
  });

  it('a foreign file', async () => {
    const file = path.join(dir, 'notes.txt');
    writeFileSync(file, 'hello, not a model\n');
    expect(await codeOf(loadModel(file))).toBe('MODEL_FILE_FOREIGN');
  });

  it('a truncated model', async () => {
    const model = await fit(X, X.map(label), { epochs: 1 });
    const file = path.join(dir, 'whole.kmfit');
    await model.save(file);
    const bytes = readFileSync(file);
    const cut = path.join(dir, 'cut.kmfit');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    expect(['MODEL_FILE_TRUNCATED', 'MODEL_FILE_FOREIGN']).toContain(await codeOf(loadModel(cut)));
  });

  it('a kmfit container whose header is not a model', async () => {
    const file = path.join(dir, 'other.kmfit');
    await writeModelFile(file, { header: { something: 'else' }, arrays: {} });
    expect(await codeOf(loadModel(file))).toBe('MODEL_FILE_FOREIGN');
  });
});
