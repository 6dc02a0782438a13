import { describe, expect, it } from 'vitest';
import { KmfitError } from '../../src/errors.js';
import type { Matrix } from '../../src/matrix.js';
import { applyScaling, fitScaling, type ScaleKind } from '../../src/data/scaling.js';

const mat = (rows: number[][]): Matrix => ({
  data: Float32Array.from(rows.flat()),
  rows: rows.length,
  cols: rows[0].length,
});
const rowsOf = (m: Matrix): number[][] =>
  Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));

// Column 0: 1, 3, 5, 7 (min 1, max 7, mean 4, population variance (9+1+1+9)/4 = 5).
// Column 1: constant 2.
// Column 2: −2, 0, 0, 2 (min −2, max 2, mean 0, population variance (4+0+0+4)/4 = 2).
const X = mat([
  [1, 2, -2],
  [3, 2, 0],
  [5, 2, 0],
  [7, 2, 2],
]);

describe('fitScaling / applyScaling (hand-computed)', () => {
  it("'minmax': offset = min, factor = 1/(max − min); constant column gets factor 1", () => {
    const s = fitScaling(X, 'minmax');
    expect(s.kind).toBe('minmax');
    expect(Array.from(s.offset)).toEqual([1, 2, -2]);
    expect(Array.from(s.factor)).toEqual([Math.fround(1 / 6), 1, 0.25]);
    const Y = applyScaling(X, s);
    const want = [
      [0, 0, 0],
      [1 / 3, 0, 0.5],
      [2 / 3, 0, 0.5],
      [1, 0, 1],
    ];
    const got = rowsOf(Y);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) expect(got[i][j]).toBeCloseTo(want[i][j], 6);
  });

  it("'standard': offset = mean, factor = 1/population std; constant column → 0", () => {
    const s = fitScaling(X, 'standard');
    expect(s.offset[0]).toBe(4);
    expect(s.offset[1]).toBe(2);
    expect(s.offset[2]).toBe(0);
    expect(s.factor[0]).toBeCloseTo(1 / Math.sqrt(5), 6);
    expect(s.factor[1]).toBe(1);
    expect(s.factor[2]).toBeCloseTo(1 / Math.sqrt(2), 6);
    const got = rowsOf(applyScaling(X, s));
    const r5 = Math.sqrt(5);
    const r2 = Math.sqrt(2);
    const want = [
      [-3 / r5, 0, -2 / r2],
      [-1 / r5, 0, 0],
      [1 / r5, 0, 0],
      [3 / r5, 0, 2 / r2],
    ];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) expect(got[i][j]).toBeCloseTo(want[i][j], 6);
    // mean 0 and population std 1 per non-constant column
    for (const j of [0, 2]) {
      const col = got.map((r) => r[j]);
      const mean = col.reduce((a, b) => a + b, 0) / 4;
      const varp = col.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      expect(mean).toBeCloseTo(0, 6);
      expect(varp).toBeCloseTo(1, 6);
    }
  });

  it('applies training statistics to new data (values may leave [0, 1])', () => {
    const s = fitScaling(X, 'minmax');
    expect(rowsOf(applyScaling(mat([[13, 5, 6]]), s))[0]).toEqual([2, 3, 2]);
  });

  it("'none': identity scaling; applyScaling returns the input itself", () => {
    const s = fitScaling(X, 'none');
    expect(Array.from(s.offset)).toEqual([0, 0, 0]);
    expect(Array.from(s.factor)).toEqual([1, 1, 1]);
    expect(applyScaling(X, s)).toBe(X);
  });

  it('does not modify its input', () => {
    const before = Array.from(X.data);
    applyScaling(X, fitScaling(X, 'standard'));
    expect(Array.from(X.data)).toEqual(before);
  });

  it('a single row: every column is constant and maps to 0', () => {
    const one = mat([[3, -1]]);
    for (const kind of ['minmax', 'standard'] as const) {
      expect(Array.from(applyScaling(one, fitScaling(one, kind)).data)).toEqual([0, 0]);
    }
  });

  it('errors: a different feature count → FEATURE_MISMATCH; an unknown kind → INVALID_OPTION', () => {
    const s = fitScaling(X, 'minmax');
    try {
      applyScaling(mat([[1, 2]]), s);
      throw new Error('not thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(KmfitError);
      expect(err instanceof KmfitError && err.code).toBe('FEATURE_MISMATCH');
      expect(String(err)).toContain('X has 2 features');
    }
    const bogus = (v: unknown): ScaleKind => v as ScaleKind;
    expect(() => fitScaling(X, bogus('zscore'))).toThrow(/'minmax', 'standard' or 'none'/);
  });
});
