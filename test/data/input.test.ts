import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../helpers/errors.js';
import { toMatrix, type MatrixInput } from '../../src/data/input.js';


/** Lets a test pass a value of the wrong type on purpose, as a JavaScript caller could. */
const loose = (v: unknown): MatrixInput => v as MatrixInput;

const rows = (m: { data: Float32Array; rows: number; cols: number }): number[][] =>
  Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));

describe('toMatrix: accepted forms', () => {
  it('number[][]', () => {
    const m = toMatrix([
      [1, 2, 3],
      [4, 5, 6],
    ], 'X');
    expect(m.rows).toBe(2);
    expect(m.cols).toBe(3);
    expect(m.data).toBeInstanceOf(Float32Array);
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('an array of typed arrays (mixed kinds)', () => {
    const m = toMatrix([new Float64Array([0.5, -1]), new Uint8Array([7, 255]), new Int16Array([-3, 4])], 'X');
    expect(rows(m)).toEqual([
      [0.5, -1],
      [7, 255],
      [-3, 4],
    ]);
  });

  it('copies: later changes to the input do not show', () => {
    const src = [[1, 2]];
    const m = toMatrix(src, 'X');
    src[0][0] = 99;
    expect(m.data[0]).toBe(1);
  });

  it('{ data, shape } with a plain array, Float64Array, Float32Array and Uint8Array', () => {
    const want = [
      [1, 2],
      [3, 4],
      [5, 6],
    ];
    for (const data of [[1, 2, 3, 4, 5, 6], new Float64Array([1, 2, 3, 4, 5, 6]), new Float32Array([1, 2, 3, 4, 5, 6]), new Uint8Array([1, 2, 3, 4, 5, 6])]) {
      const m = toMatrix({ data, shape: [3, 2] }, 'X');
      expect(rows(m)).toEqual(want);
    }
  });

  it('{ data, rows, cols }, as loadMnist returns its images; a wrong count is INVALID_SHAPE', () => {
    const m = toMatrix({ data: new Float32Array([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 }, 'X');
    expect(rows(m)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(() => toMatrix({ data: [1, 2, 3], rows: 2, cols: 2 }, 'X')).toThrow(
      expect.objectContaining({ code: 'INVALID_SHAPE' }),
    );
  });

  it('shape beside rows and cols: used when they agree, INVALID_SHAPE naming both when they do not', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    expect(toMatrix(loose({ data, shape: [2, 3], rows: 2, cols: 3 }), 'X')).toMatchObject({ rows: 2, cols: 3 });
    expect(errorOf(() => toMatrix(loose({ data, shape: [2, 3], rows: 3, cols: 2 }), 'X'), 'INVALID_SHAPE')).toBe(
      'X has shape [2, 3] but rows 3 and cols 2, which disagree; give either shape or rows and cols, not both.',
    );
    expect(errorOf(() => toMatrix(loose({ data, shape: [2, 3], cols: 2 }), 'validation.X'), 'INVALID_SHAPE')).toContain('validation.X has shape [2, 3] but cols 2');
    const nd = Object.assign(ndarray(data, [2, 3]), { rows: 3 });
    expect(errorOf(() => toMatrix(loose(nd), 'X'), 'INVALID_SHAPE')).toContain('X has shape [2, 3] but rows 3');
  });

  it('{ data, shape } copies a Float32Array rather than sharing it', () => {
    const data = new Float32Array([1, 2]);
    const m = toMatrix({ data, shape: [1, 2] }, 'X');
    expect(m.data).not.toBe(data);
    data[0] = 7;
    expect(m.data[0]).toBe(1);
  });

  it('with copy: false shares a Float32Array but still checks it, and converts other arrays', () => {
    const data = new Float32Array([1, 2, 3, 4]);
    expect(toMatrix({ data, rows: 2, cols: 2 }, 'X', { copy: false }).data).toBe(data);
    expect(toMatrix({ data, shape: [2, 2] }, 'X', { copy: false }).data).toBe(data);
    const doubles = new Float64Array([0.1, 2]);
    expect(toMatrix({ data: doubles, shape: [1, 2] }, 'X', { copy: false }).data).toEqual(new Float32Array([0.1, 2]));
    expect(() => toMatrix({ data: new Float32Array([1, NaN]), shape: [1, 2] }, 'X', { copy: false })).toThrow(
      expect.objectContaining({ code: 'NON_FINITE' }),
    );
  });

  it('float64 values are rounded to float32', () => {
    const m = toMatrix([[0.1]], 'X');
    expect(m.data[0]).toBe(Math.fround(0.1));
  });

  it('a contiguous ndarray', () => {
    const a = ndarray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(rows(toMatrix(a, 'X'))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('a transposed ndarray view', () => {
    // data as a 3×2 matrix is [[1,2],[3,4],[5,6]]; its transpose is [[1,3,5],[2,4,6]].
    const t = ndarray(new Float64Array([1, 2, 3, 4, 5, 6]), [3, 2]).transpose(1, 0);
    const m = toMatrix(t, 'X');
    expect(m.rows).toBe(2);
    expect(m.cols).toBe(3);
    expect(rows(m)).toEqual([
      [1, 3, 5],
      [2, 4, 6],
    ]);
  });

  it('ndarray views with an offset, a step and negative strides', () => {
    // 3×3 of 0..8: rows [0,1,2],[3,4,5],[6,7,8]
    const a = ndarray([0, 1, 2, 3, 4, 5, 6, 7, 8], [3, 3]);
    // lo(1,1) → [[4,5],[7,8]] (offset 4)
    expect(rows(toMatrix(a.lo(1, 1), 'X'))).toEqual([
      [4, 5],
      [7, 8],
    ]);
    // step(-1, 2) → rows reversed, every other column: [[6,8],[3,5],[0,2]]
    expect(rows(toMatrix(a.step(-1, 2), 'X'))).toEqual([
      [6, 8],
      [3, 5],
      [0, 2],
    ]);
  });

  it('an ndarray over a Uint8Array', () => {
    const a = ndarray(new Uint8Array([9, 8, 7, 6]), [2, 2]).transpose(1, 0);
    expect(rows(toMatrix(a, 'X'))).toEqual([
      [9, 7],
      [8, 6],
    ]);
  });
});

describe('toMatrix: errors', () => {
  it('a value of no accepted form → INVALID_SHAPE listing the forms', () => {
    const msg = errorOf(() => toMatrix(loose(42), 'X'), 'INVALID_SHAPE');
    expect(msg).toContain('X is 42');
    expect(msg).toContain('number[][]');
    expect(msg).toContain('ndarray');
    errorOf(() => toMatrix(loose({ foo: 1 }), 'X'), 'INVALID_SHAPE');
    errorOf(() => toMatrix(loose(['a', 'b']), 'X'), 'INVALID_SHAPE');
  });

  it('a 1-D array → INVALID_SHAPE with the [[x1],[x2],…] hint', () => {
    for (const input of [[1, 2, 3], new Float32Array([1, 2, 3]), { data: [1, 2, 3], shape: [3] }, ndarray([1, 2, 3])]) {
      const msg = errorOf(() => toMatrix(loose(input), 'X'), 'INVALID_SHAPE');
      expect(msg).toContain('X must be 2-D (n×d)');
      expect(msg).toContain('[[x1],[x2],…]');
      expect(msg).toContain('[n, 1]');
    }
    expect(errorOf(() => toMatrix(loose(new Float64Array(6)), 'X'), 'INVALID_SHAPE')).toContain('it is a flat Float64Array of 6 numbers;');
  });

  it('rank 3 → INVALID_SHAPE', () => {
    const msg = errorOf(() => toMatrix({ data: new Float32Array(8), shape: [2, 2, 2] }, 'X'), 'INVALID_SHAPE');
    expect(msg).toContain('[2, 2, 2]');
    expect(msg).toContain('rank 3');
  });

  it('0 rows or 0 columns → EMPTY_DATA', () => {
    expect(errorOf(() => toMatrix([], 'X'), 'EMPTY_DATA')).toContain('X is empty');
    expect(errorOf(() => toMatrix([[], []], 'X'), 'EMPTY_DATA')).toContain('0 columns');
    expect(errorOf(() => toMatrix({ data: [], shape: [0, 4] }, 'X'), 'EMPTY_DATA')).toContain('0 rows');
    errorOf(() => toMatrix({ data: new Float64Array(0), shape: [5, 0] }, 'X'), 'EMPTY_DATA');
    errorOf(() => toMatrix(ndarray(new Float64Array(0), [0, 3]), 'X'), 'EMPTY_DATA');
  });

  it('ragged rows → INVALID_SHAPE naming the row and both lengths', () => {
    const X = [
      [1, 2, 3, 4, 5],
      [1, 2, 3, 4, 5],
      [1, 2, 3, 4, 5],
      [1, 2, 3, 4],
    ];
    const msg = errorOf(() => toMatrix(X, 'X'), 'INVALID_SHAPE');
    expect(msg).toContain('row 3 has 4 values, row 0 has 5');
  });

  it('shape product ≠ data.length → INVALID_SHAPE', () => {
    const msg = errorOf(() => toMatrix({ data: new Float64Array(5), shape: [2, 3] }, 'Xtest'), 'INVALID_SHAPE');
    expect(msg).toContain('Xtest has shape [2, 3] (6 values)');
    expect(msg).toContain('5 values');
  });

  it('a negative or fractional shape entry → INVALID_SHAPE', () => {
    errorOf(() => toMatrix({ data: [1, 2], shape: [-1, -2] }, 'X'), 'INVALID_SHAPE');
    errorOf(() => toMatrix({ data: [1, 2], shape: [0.5, 4] }, 'X'), 'INVALID_SHAPE');
  });

  it('an ndarray whose strides reach outside its data → INVALID_SHAPE', () => {
    const bad = { data: new Float64Array(4), shape: [2, 2], stride: [2, 1], offset: 1 };
    expect(errorOf(() => toMatrix(bad, 'X'), 'INVALID_SHAPE')).toContain('outside its data');
  });

  it('a non-number entry → INVALID_SHAPE with row and column', () => {
    const msg = errorOf(() => toMatrix(loose([[1, 2], [3, 'x']]), 'X'), 'INVALID_SHAPE');
    expect(msg).toContain('row 1, column 1');
    expect(msg).toContain('"x"');
  });

  it('NaN → NON_FINITE naming the first offending row and column (0-based) and the value', () => {
    const X = [
      [1, 2, 3],
      [4, 5, NaN],
      [NaN, 8, 9],
    ];
    const msg = errorOf(() => toMatrix(X, 'X'), 'NON_FINITE');
    expect(msg).toContain('row 1, column 2 (0-based)');
    expect(msg).toContain('NaN');
    expect(msg).toMatch(/remove or impute/);
  });

  it('±Infinity in every form → NON_FINITE with its position', () => {
    // position (2, 0) in a 3×2 matrix: flat index 4
    const flat = [0, 1, 2, 3, -Infinity, 5];
    const forms: MatrixInput[] = [
      [
        [0, 1],
        [2, 3],
        [-Infinity, 5],
      ],
      [new Float64Array([0, 1]), new Float64Array([2, 3]), new Float64Array([-Infinity, 5])],
      { data: flat, shape: [3, 2] },
      { data: Float64Array.from(flat), shape: [3, 2] },
      { data: Float32Array.from(flat), shape: [3, 2] },
      ndarray(Float64Array.from(flat), [3, 2]),
    ];
    for (const input of forms) {
      const msg = errorOf(() => toMatrix(input, 'validation.X'), 'NON_FINITE');
      expect(msg).toContain('validation.X');
      expect(msg).toContain('row 2, column 0 (0-based)');
      expect(msg).toContain('-Infinity');
    }
  });

  it('NON_FINITE in a transposed ndarray is reported at its position in the view', () => {
    // data as 3×2: [[1,2],[3,NaN],[5,6]]; transposed view: [[1,3,5],[2,NaN,6]] → row 1, column 1
    const t = ndarray(new Float64Array([1, 2, 3, NaN, 5, 6]), [3, 2]).transpose(1, 0);
    expect(errorOf(() => toMatrix(t, 'X'), 'NON_FINITE')).toContain('row 1, column 1');
  });

  it('a value beyond float32 range is non-finite after conversion', () => {
    const msg = errorOf(() => toMatrix([[1, 2], [3, 1e39]], 'X'), 'NON_FINITE');
    expect(msg).toContain('row 1, column 1');
    expect(msg).toContain('1e+39');
    expect(msg).toContain('float32');
    const msg2 = errorOf(() => toMatrix({ data: new Float64Array([-4e38, 0]), shape: [1, 2] }, 'X'), 'NON_FINITE');
    expect(msg2).toContain('row 0, column 0');
    // the largest float32 itself is fine
    expect(toMatrix([[3.4028234663852886e38]], 'X').data[0]).toBe(3.4028234663852886e38);
  });
});
