import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../helpers/errors.js';
import type { Matrix } from '../../src/matrix.js';
import {
  accuracy,
  argmaxRows,
  compareCodePoints,
  decodeScores,
  encodeScoreTargets,
  encodeTargets,
  meanSquaredError,
  r2Score,
  sortClasses,
  type LabelInput,
  type Task,
} from '../../src/data/labels.js';


/** Lets a test pass a value of the wrong type on purpose, as a JavaScript caller could. */
const loose = (v: unknown): LabelInput => v as LabelInput;
const looseTask = (v: unknown): Task => v as Task;

/** The names of fit()'s and score()'s arguments, as messages give them. */
const XY = { X: 'X', y: 'y' };

const rowsOf = (m: Matrix): number[][] =>
  Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));

const mat = (rows: number[][]): Matrix => ({
  data: Float32Array.from(rows.flat()),
  rows: rows.length,
  cols: rows[0].length,
});

describe('encodeTargets: task inference and encoding', () => {
  it('integer numbers → classification, classes sorted ascending, one-hot rows', () => {
    const t = encodeTargets([3, 1, 2, 1, -5], 5, undefined, XY);
    expect(t.task).toBe('classification');
    expect(t.classes).toEqual([-5, 1, 2, 3]);
    expect(rowsOf(t.values)).toEqual([
      [0, 0, 0, 1],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 1, 0, 0],
      [1, 0, 0, 0],
    ]);
  });

  it('numbers are sorted numerically, not as text (10 after 9)', () => {
    expect(encodeTargets([10, 9, 100], 3, undefined, XY).classes).toEqual([9, 10, 100]);
  });

  it('two classes still get two one-hot columns', () => {
    const t = encodeTargets([0, 1, 1], 3, undefined, XY);
    expect(t.values.cols).toBe(2);
    expect(rowsOf(t.values)).toEqual([
      [1, 0],
      [0, 1],
      [0, 1],
    ]);
  });

  it('typed arrays of integers, float arrays with integer values included → classification', () => {
    for (const y of [new Uint8Array([5, 0, 4]), new Int32Array([5, 0, 4]), new Float32Array([5, 0, 4]), new Float64Array([5, 0, 4])]) {
      const t = encodeTargets(y, 3, undefined, XY);
      expect(t.task).toBe('classification');
      expect(t.classes).toEqual([0, 4, 5]);
    }
  });

  it('strings → classification, sorted by code point', () => {
    const t = encodeTargets(['dog', 'cat', 'Zebra', 'cat', 'émeu'], 5, undefined, XY);
    expect(t.task).toBe('classification');
    // code points: 'Z' 0x5A < 'c' 0x63 < 'd' 0x64 < 'é' 0xE9
    expect(t.classes).toEqual(['Zebra', 'cat', 'dog', 'émeu']);
    expect(rowsOf(t.values)[0]).toEqual([0, 0, 1, 0]);
  });

  it('code-point order differs from UTF-16 order above the BMP', () => {
    // U+FF5E (fullwidth tilde) < U+1F600 (emoji) by code point, but its UTF-16 unit 0xFF5E > 0xD83D.
    const a = '\uFF5E';
    const b = '\u{1F600}';
    expect(compareCodePoints(a, b)).toBeLessThan(0);
    expect(sortClasses([b, a])).toEqual([a, b]);
    expect(compareCodePoints('ab', 'abc')).toBeLessThan(0);
    expect(compareCodePoints('b', 'abc')).toBeGreaterThan(0);
    expect(compareCodePoints('x', 'x')).toBe(0);
  });

  it('non-integer numbers → regression, n×1 values', () => {
    const t = encodeTargets([0.5, 1, -2.25], 3, undefined, XY);
    expect(t.task).toBe('regression');
    expect(t.classes).toBeUndefined();
    expect(t.values.cols).toBe(1);
    expect(Array.from(t.values.data)).toEqual([0.5, 1, -2.25]);
  });

  it('an n×l matrix → multi-output regression; n×1 → single-output', () => {
    const t = encodeTargets(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      3,
      undefined,
      XY,
    );
    expect(t.task).toBe('regression');
    expect(rowsOf(t.values)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    // { data, rows, cols }, the form X takes and the dataset loaders give, is the same matrix.
    const rowsCols = encodeTargets({ data: new Float64Array([1, 2, 3, 4, 5, 6]), rows: 3, cols: 2 }, 3, undefined, XY);
    expect(rowsCols.task).toBe('regression');
    expect(rowsOf(rowsCols.values)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    errorOf(() => encodeTargets({ data: new Float64Array(6), rows: 2, cols: 2 }, 2, undefined, XY), 'INVALID_SHAPE');
    // As an n×1 matrix, its column is the labels under task 'classification'.
    expect(encodeTargets({ data: [2, 1, 2], rows: 3, cols: 1 }, 3, 'classification', XY).classes).toEqual([1, 2]);
    const one = encodeTargets({ data: new Float64Array([1, 2, 3]), shape: [3, 1] }, 3, undefined, XY);
    expect(one.task).toBe('regression');
    expect(one.values.cols).toBe(1);
    const nd = encodeTargets(ndarray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]).transpose(1, 0), 3, undefined, XY);
    expect(rowsOf(nd.values)).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });

  it('1-D shaped input and 1-D ndarrays (with a stride) are label vectors', () => {
    expect(encodeTargets({ data: [2, 1, 2], shape: [3] }, 3, undefined, XY).classes).toEqual([1, 2]);
    // A shape beside rows and cols: they must agree (a 1-D shape [n] is n rows of one column).
    expect(encodeTargets(loose({ data: [2, 1, 2], shape: [3], rows: 3, cols: 1 }), 3, undefined, XY).classes).toEqual([1, 2]);
    expect(errorOf(() => encodeTargets(loose({ data: [2, 1, 2, 1], shape: [4], rows: 2, cols: 2 }), 4, undefined, XY), 'INVALID_SHAPE')).toContain(
      'y has shape [4] but rows 2 and cols 2, which disagree',
    );
    errorOf(() => encodeTargets(loose({ data: new Float64Array(6), shape: [3, 2], rows: 2, cols: 3 }), 3, undefined, XY), 'INVALID_SHAPE');
    // every other element of [7, 0, 8, 0, 7]: [7, 8, 7]
    const v = ndarray([7, 0, 8, 0, 7]).step(2);
    const t = encodeTargets(v, 3, undefined, XY);
    expect(t.classes).toEqual([7, 8]);
    expect(rowsOf(t.values)).toEqual([
      [1, 0],
      [0, 1],
      [1, 0],
    ]);
  });

  it("task 'regression' forces regression on integer labels", () => {
    const t = encodeTargets([1, 2, 3], 3, 'regression', XY);
    expect(t.task).toBe('regression');
    expect(Array.from(t.values.data)).toEqual([1, 2, 3]);
  });

  it("task 'classification' on an n×1 matrix uses its column as labels", () => {
    const t = encodeTargets([[2], [1], [2]], 3, 'classification', XY);
    expect(t.task).toBe('classification');
    expect(t.classes).toEqual([1, 2]);
  });
});

describe('encodeTargets: errors', () => {
  it('integers that look like a quantity (more than 10 classes of fewer than 5 rows on average) → INVALID_LABELS asking for the task', () => {
    // 24 labels 100…123: 24 classes of one row each.
    const prices = Array.from({ length: 24 }, (_, i) => 100 + i);
    const msg = errorOf(() => encodeTargets(prices, 24, undefined, XY), 'INVALID_LABELS');
    expect(msg).toContain('y holds 24 distinct integers among 24 labels (1.0 of each on average)');
    expect(msg).toContain("task 'regression'");
    expect(msg).toContain('--task regression');
    expect(msg).toContain("task 'classification' to train 24 classes");
    // Either task, given, is taken.
    expect(encodeTargets(prices, 24, 'regression', XY).task).toBe('regression');
    expect(encodeTargets(prices, 24, 'classification', XY).classes).toHaveLength(24);
    // At the rule's edges: 11 classes of 5 rows each (55 rows), 10 classes of one row each, and
    // strings (names, not a quantity) are classes.
    expect(encodeTargets(Array.from({ length: 55 }, (_, i) => i % 11), 55, undefined, XY).classes).toHaveLength(11);
    expect(encodeTargets(Array.from({ length: 10 }, (_, i) => i), 10, undefined, XY).classes).toHaveLength(10);
    errorOf(() => encodeTargets(Array.from({ length: 54 }, (_, i) => i % 11), 54, undefined, XY), 'INVALID_LABELS');
    expect(encodeTargets(prices.map(String), 24, undefined, XY).classes).toHaveLength(24);
  });

  it("task 'classification' with non-integer numbers → INVALID_LABELS", () => {
    const msg = errorOf(() => encodeTargets([1, 2.5, 3], 3, 'classification', XY), 'INVALID_LABELS');
    expect(msg).toContain('y[1] is 2.5');
    expect(msg).toContain('not an integer');
    expect(msg).toContain("task 'regression'");
  });

  it("task 'regression' with strings → INVALID_LABELS", () => {
    const msg = errorOf(() => encodeTargets(['a', 'b'], 2, 'regression', XY), 'INVALID_LABELS');
    expect(msg).toContain('y[0] is "a"');
    expect(msg).toContain('numeric');
  });

  it("task 'classification' with an n×l matrix, l > 1 → INVALID_LABELS", () => {
    errorOf(() => encodeTargets([[1, 2], [3, 4]], 2, 'classification', XY), 'INVALID_LABELS');
  });

  it('mixed strings and numbers → INVALID_LABELS naming both', () => {
    const msg = errorOf(() => encodeTargets(loose([1, 2, 'cat', 3]), 4, undefined, XY), 'INVALID_LABELS');
    expect(msg).toContain('mixes strings and numbers');
    expect(msg).toContain('y[2] is "cat"');
    expect(msg).toContain('y[0] is 1');
  });

  it('other value types → INVALID_LABELS', () => {
    expect(errorOf(() => encodeTargets(loose([1, null, 2]), 3, undefined, XY), 'INVALID_LABELS')).toContain('y[1]');
    errorOf(() => encodeTargets(loose([true, false]), 2, undefined, XY), 'INVALID_LABELS');
    errorOf(() => encodeTargets(loose(7), 1, undefined, XY), 'INVALID_LABELS');
  });

  it('length ≠ n → LENGTH_MISMATCH', () => {
    const y = Array.from({ length: 99 }, (_, i) => i % 2);
    const msg = errorOf(() => encodeTargets(y, 100, undefined, XY), 'LENGTH_MISMATCH');
    expect(msg).toContain('X has 100 rows, y has 99 labels');
    const msg2 = errorOf(() => encodeTargets([[1, 2]], 2, undefined, XY), 'LENGTH_MISMATCH');
    expect(msg2).toContain('X has 2 rows, y has 1 rows');
  });

  it('NaN / Infinity → NON_FINITE with the index', () => {
    expect(errorOf(() => encodeTargets([0, 1, NaN, 1], 4, undefined, XY), 'NON_FINITE')).toContain('y[2] (0-based) is NaN');
    expect(errorOf(() => encodeTargets(new Float64Array([0.5, Infinity]), 2, undefined, XY), 'NON_FINITE')).toContain(
      'y[1] (0-based) is Infinity',
    );
    expect(errorOf(() => encodeTargets([[1], [NaN]], 2, undefined, XY), 'NON_FINITE')).toContain('row 1, column 0');
    expect(errorOf(() => encodeTargets([0.5, 1e39], 2, undefined, XY), 'NON_FINITE')).toContain('y[1]');
  });

  it('one distinct class → SINGLE_CLASS naming it', () => {
    const msg = errorOf(() => encodeTargets([3, 3, 3], 3, undefined, XY), 'SINGLE_CLASS');
    // The label is named as a class, not read as a count ('found only 1 in all 1 labels').
    expect(msg).toContain('needs at least two classes; found only the class 3 in all 3 labels');
    expect(errorOf(() => encodeTargets(['a', 'a'], 2, undefined, XY), 'SINGLE_CLASS')).toContain('found only the class "a"');
  });

  it('empty → EMPTY_DATA', () => {
    errorOf(() => encodeTargets([], 3, undefined, XY), 'EMPTY_DATA');
    errorOf(() => encodeTargets(new Int32Array(0), 0, undefined, XY), 'EMPTY_DATA');
  });

  it('y of rank 3 → INVALID_SHAPE; an unknown task → INVALID_OPTION', () => {
    errorOf(() => encodeTargets({ data: new Float32Array(8), shape: [2, 2, 2] }, 2, undefined, XY), 'INVALID_SHAPE');
    errorOf(() => encodeTargets([1, 2], 2, looseTask('clustering'), XY), 'INVALID_OPTION');
  });
});

describe('decodeScores', () => {
  it('round trip: one-hot targets decode to the original labels (numbers and strings)', () => {
    const labels = [3, 1, 2, 1, -5];
    const t = encodeTargets(labels, 5, undefined, XY);
    expect(decodeScores(t.values, t)).toEqual(labels);
    const words = ['dog', 'cat', 'emu', 'cat'];
    const w = encodeTargets(words, 4, undefined, XY);
    expect(decodeScores(w.values, w)).toEqual(words);
  });

  it('argmax picks the largest score; ties go to the lowest column; NaN never wins', () => {
    const scores = mat([
      [0.1, 0.7, 0.2],
      [0.5, 0.5, 0.1],
      [NaN, -1, -3],
      [NaN, NaN, NaN],
    ]);
    expect(Array.from(argmaxRows(scores))).toEqual([1, 0, 1, 0]);
    expect(decodeScores(scores, { task: 'classification', classes: ['a', 'b', 'c'] })).toEqual(['b', 'a', 'b', 'a']);
  });

  it('regression: one output → Float64Array, several → number[][] rows', () => {
    const one = decodeScores(mat([[1.5], [-2]]), { task: 'regression' });
    expect(one).toBeInstanceOf(Float64Array);
    expect(Array.from(one as Float64Array)).toEqual([1.5, -2]);
    expect(decodeScores(mat([[1, 2], [3, 4]]), { task: 'regression' })).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('classes that do not match the score columns → INVALID_SHAPE', () => {
    errorOf(() => decodeScores(mat([[1, 2]]), { task: 'classification', classes: [0, 1, 2] }), 'INVALID_SHAPE');
  });
});

describe('encodeScoreTargets', () => {
  const model = { task: 'classification' as const, classes: [1, 2, 3], outputs: 3 };

  it('maps labels to class indices; unseen labels get -1 and count as errors in accuracy', () => {
    const s = encodeScoreTargets([2, 9, 1, 3], 4, model, XY);
    if (s.task !== 'classification') throw new Error('expected classification');
    expect(Array.from(s.classIndex)).toEqual([1, -1, 0, 2]);
    expect(s.unseen).toBe(1);
    // predictions (as class indices) right on rows 0, 2, 3; row 1 has an unseen label: 3/4
    expect(accuracy(s.classIndex, new Int32Array([1, 0, 0, 2]))).toBe(0.75);
  });

  it('labels of the other type than the classes → INVALID_LABELS', () => {
    const msg = errorOf(() => encodeScoreTargets(['1', '2'], 2, model, XY), 'INVALID_LABELS');
    expect(msg).toContain("model's classes are numbers");
    expect(msg).toContain('y[0] is "1"');
    // Strings that spell numbers, and one that does not (what makes a CSV column text): that one is named.
    expect(errorOf(() => encodeScoreTargets(['1', '2', ' ', 'cat'], 4, model, XY), 'INVALID_LABELS')).toContain('y[2] is " "');
    expect(errorOf(() => encodeScoreTargets(['1', '2', 'cat'], 3, model, XY), 'INVALID_LABELS')).toMatch(/^y\[2\] is "cat", but the model's classes are numbers \(1, 2, 3\)/);
    // Against string classes, the first number.
    const strings = { task: 'classification' as const, classes: ['a', 'b'], outputs: 2 };
    expect(errorOf(() => encodeScoreTargets(['a', 3, 'b'], 3, strings, XY), 'INVALID_LABELS')).toContain('y[1] is 3');
  });

  it('length, emptiness and non-finite checks', () => {
    errorOf(() => encodeScoreTargets([1, 2], 3, model, XY), 'LENGTH_MISMATCH');
    // Validation labels are counted against validation.X's rows, and the message says so.
    const validation = { X: 'validation.X', y: 'validation.y' };
    const msg = errorOf(() => encodeScoreTargets([1, 2], 3, model, validation), 'LENGTH_MISMATCH');
    expect(msg).toBe('validation.X has 3 rows, validation.y has 2 labels; pass exactly one label per row of validation.X.');
    expect(errorOf(() => encodeScoreTargets([], 3, model, validation), 'EMPTY_DATA')).toContain('pass one label per row of validation.X (3 rows)');
    // The caller names both: the features' name is not derived from the labels'.
    const named = errorOf(() => encodeTargets([[1], [2]], 3, undefined, { X: 'features', y: 'targets' }), 'LENGTH_MISMATCH');
    expect(named).toBe('features has 3 rows, targets has 2 rows; pass exactly one row per row of features.');
    errorOf(() => encodeScoreTargets([], 3, model, XY), 'EMPTY_DATA');
    errorOf(() => encodeScoreTargets([1, NaN], 2, model, XY), 'NON_FINITE');
  });

  it('regression: checks the number of outputs', () => {
    const reg = { task: 'regression' as const, outputs: 2 };
    const s = encodeScoreTargets([[1, 2], [3, 4]], 2, reg, XY);
    expect(s.task).toBe('regression');
    expect(errorOf(() => encodeScoreTargets([1, 2], 2, reg, XY), 'INVALID_SHAPE')).toContain('predicts 2 outputs');
    errorOf(() => encodeScoreTargets(['a', 'b'], 2, { task: 'regression', outputs: 1 }, XY), 'INVALID_LABELS');
  });
});

describe('metrics (hand-computed)', () => {
  it('accuracy', () => {
    expect(accuracy(['a', 'b', 'c', 'a'], ['a', 'c', 'c', 'b'])).toBe(0.5);
    expect(accuracy([1, 2, 3], [1, 2, 3])).toBe(1);
    errorOf(() => accuracy([1], [1, 2]), 'LENGTH_MISMATCH');
    errorOf(() => accuracy([], []), 'EMPTY_DATA');
  });

  it('r2Score, one output', () => {
    // y = [1,2,3,4], mean 2.5, SS_tot = 2.25+0.25+0.25+2.25 = 5
    // p = [1,2,3,5]: SS_res = 1 → R² = 1 − 1/5 = 0.8
    expect(r2Score([1, 2, 3, 4], [1, 2, 3, 5])).toBeCloseTo(0.8, 12);
    // predicting the mean gives 0; perfect gives 1
    expect(r2Score([1, 2, 3, 4], [2.5, 2.5, 2.5, 2.5])).toBe(0);
    expect(r2Score([1, 2, 3, 4], [1, 2, 3, 4])).toBe(1);
    // worse than the mean is negative: p = [4,3,2,1], SS_res = 9+1+1+9 = 20 → 1 − 4 = −3
    expect(r2Score([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-3, 12);
  });

  it('r2Score, two outputs, uniform average', () => {
    // output 0 as above: 0.8. output 1: y = [0,0,2,2], mean 1, SS_tot = 4; p = [0,1,2,2], SS_res = 1 → 0.75
    const truth = [
      [1, 0],
      [2, 0],
      [3, 2],
      [4, 2],
    ];
    const pred = [
      [1, 0],
      [2, 1],
      [3, 2],
      [5, 2],
    ];
    expect(r2Score(truth, pred)).toBeCloseTo((0.8 + 0.75) / 2, 12);
    expect(r2Score(mat(truth), mat(pred))).toBeCloseTo(0.775, 6);
  });

  it('r2Score with a constant truth: 1 if exact, else 0', () => {
    expect(r2Score([2, 2, 2], [2, 2, 2])).toBe(1);
    expect(r2Score([2, 2, 2], [2, 2, 3])).toBe(0);
  });

  it('meanSquaredError', () => {
    // residuals 0,0,0,−1 → 1/4
    expect(meanSquaredError([1, 2, 3, 4], [1, 2, 3, 5])).toBe(0.25);
    // two outputs: residuals² 0,0 / 0,1 / 0,0 / 1,0 → 2/8
    expect(
      meanSquaredError(
        [
          [1, 0],
          [2, 0],
          [3, 2],
          [4, 2],
        ],
        [
          [1, 0],
          [2, 1],
          [3, 2],
          [5, 2],
        ],
      ),
    ).toBe(0.25);
    errorOf(() => meanSquaredError([1, 2], [1]), 'LENGTH_MISMATCH');
    errorOf(() => meanSquaredError([[1, 2]], [[1]]), 'INVALID_SHAPE');
  });
});
