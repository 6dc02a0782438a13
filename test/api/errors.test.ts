/** Each bad input gives one KmfitError with its code and a message that says what to do. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { fit, KmfitError, loadModel, type KmfitErrorCode } from '../../src/index.js';
import { randomPoints } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const X = randomPoints(40, 3, 1);
const y = X.map((x) => (x[0] > 0.5 ? 1 : 0));

async function failure(promise: Promise<unknown>): Promise<KmfitError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KmfitError);
    return error as KmfitError;
  }
  throw new Error('expected fit() to fail');
}

async function expectError(promise: Promise<unknown>, code: KmfitErrorCode, ...fragments: string[]) {
  const error = await failure(promise);
  expect(error.code).toBe(code);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
}

describe('fit() rejects bad input with a clear KmfitError', () => {
  it('mismatched X and y lengths', () => expectError(fit(X, y.slice(1)), 'LENGTH_MISMATCH', '40', '39'));

  it('ragged rows', () => {
    const ragged = X.map((x, i) => (i === 3 ? x.slice(0, 2) : x));
    return expectError(fit(ragged, y), 'INVALID_SHAPE', 'row 3');
  });

  it('NaN in X, naming the first row and column', () => {
    const bad = X.map((x) => [...x]);
    bad[7][2] = Number.NaN;
    bad[9][0] = Number.NaN;
    return expectError(fit(bad, y), 'NON_FINITE', 'row 7', 'column 2');
  });

  it('±Inf in a typed array with a shape', () => {
    const data = new Float64Array(40 * 3).fill(0.5);
    data[5 * 3 + 1] = Number.NEGATIVE_INFINITY;
    return expectError(fit({ data, shape: [40, 3] }, y), 'NON_FINITE', 'row 5', 'column 1');
  });

  it('a shape that disagrees with rows and cols, naming both', () => {
    const data = new Float64Array(40 * 3).fill(0.5);
    return expectError(fit({ data, shape: [40, 3], rows: 3, cols: 40 } as never, y), 'INVALID_SHAPE', 'X has shape [40, 3] but rows 3 and cols 40');
  });

  it('NaN in y', () => {
    const yy: number[] = y.map((v) => v + 0.5);
    yy[4] = Number.NaN;
    return expectError(fit(X, yy), 'NON_FINITE', '4');
  });

  it('empty data', () => expectError(fit([], []), 'EMPTY_DATA'));

  it('a single class', () => expectError(fit(X, y.map(() => 3)), 'SINGLE_CLASS'));

  it('bandwidth ≤ 0', () => expectError(fit(X, y, { bandwidth: 0 }), 'INVALID_OPTION', 'bandwidth'));

  it('an unknown kernel lists the known ones', () =>
    expectError(fit(X, y, { kernel: 'gausian' }), 'UNKNOWN_KERNEL', 'laplacian', 'gaussian', 'cauchy', 'matern'));

  it('epochs < 1', () => expectError(fit(X, y, { epochs: 0 }), 'INVALID_OPTION', "'epochs'", 'integer ≥ 1', 'got 0'));

  it('an unknown option, with a suggestion', () =>
    expectError(fit(X, y, { epoch: 3 } as never), 'UNKNOWN_OPTION', "'epoch'", "Did you mean 'epochs'?"));

  it('an unknown backend', () => expectError(fit(X, y, { backend: 'cuda' } as never), 'INVALID_OPTION', "'backend'"));

  it('earlyStopping without validation data', () =>
    expectError(fit(X, y, { earlyStopping: 2 }), 'INVALID_OPTION', 'validation'));

  it('validation data with other columns', () =>
    expectError(fit(X, y, { validation: { X: [[1, 2]], y: [0] } }), 'FEATURE_MISMATCH', 'validation.X'));

  it("validation data named by its name option, which must be a non-empty string", async () => {
    await expectError(fit(X, y, { validation: { X: [[1, 2]], y: [0], name: 'holdout.csv' } }), 'FEATURE_MISMATCH', 'holdout.csv has 2 features');
    await expectError(fit(X, y, { validation: { X: [[1, 2, 3]], y: ['a'], name: 'holdout.csv' } }), 'INVALID_LABELS', `holdout.csv's labels[0] is "a"`);
    await expectError(fit(X, y, { validation: { X: [[1, 2, 3]], y: [0], name: 3 } } as never), 'INVALID_OPTION', "validation' option's name", 'got 3');
  });

  it('a 1-D X', () => expectError(fit([1, 2, 3] as never, [0, 1, 0]), 'INVALID_SHAPE', '2-D'));

  it('a predict input with the wrong number of features', async () => {
    const model = await fit(X, y, { epochs: 1 });
    await expectError(model.predict([[1, 2]]), 'FEATURE_MISMATCH', '2 features', 'trained on 3');
    await expectError(model.predict([[1, Number.NaN, 2]]), 'NON_FINITE', 'row 0', 'column 1');
  });

  it('a file path that is not a non-empty string: model.save(), loadModel()', async () => {
    const model = await fit(X, y, { epochs: 1 });
    for (const bad of [undefined, 5, '', new URL('file:///tmp/model.kmfit')]) {
      await expectError(model.save(bad as never), 'INVALID_OPTION', 'model.save(path) takes a file path');
    }
    await expectError(loadModel(''), 'INVALID_OPTION', 'loadModel(path) takes a file path');
    await model.dispose();
  });

  it('nothing is written when saving fails', async () => {
    const dir = temporaryDirectory('errors');
    const model = await fit(X, y, { epochs: 1 });
    const target = path.join(dir, 'missing-dir', 'model.kmfit');
    const error = await failure(model.save(target));
    expect(error.code).toBe('FILE_NOT_FOUND');
    expect(error.message).toContain('missing-dir');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('fit() accepts every input form', () => {
  it('number[][], { data, shape } and ndarray (also a transposed view) give the same model', async () => {
    const flat = Float32Array.from(X.flat());
    const transposed = ndarray(Float32Array.from({ length: 120 }, (_, k) => X[k % 40][Math.floor(k / 40)]), [3, 40]).transpose(1, 0);
    const forms = [X, { data: flat, shape: [40, 3] as [number, number] }, ndarray(flat, [40, 3]), transposed];
    const scores = [];
    for (const form of forms) {
      const model = await fit(form, y, { epochs: 2 });
      scores.push(Array.from((await model.predictScores(X)).data));
    }
    for (const s of scores.slice(1)) expect(s).toEqual(scores[0]);
  });
});
