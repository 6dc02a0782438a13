import { describe, it, expect } from 'vitest';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { KmfitError } from '../../src/errors.js';
import { topEigenpairs, tridiagonalEigen, type Eigensystem } from '../../src/solver/eigensystem.js';
import { eigenvalueThreshold, setupEigenTolerance } from '../../src/solver/plan.js';

// ---------------------------------------------------------------------------------------------
// Test data, built independently of the code under test.

/** A small linear congruential generator, so that test data do not depend on the module's own. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

function randomPoints(count: number, dim: number, random: () => number): number[][] {
  return Array.from({ length: count }, () => Array.from({ length: dim }, () => random()));
}

/** exp(-‖x−z‖²/(2σ²)) as a row-major Float32Array. */
function gaussianKernel(points: number[][], sigma: number): Float32Array {
  const n = points.length;
  const k = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let t = 0; t < points[i].length; t++) d += (points[i][t] - points[j][t]) ** 2;
      k[i * n + j] = Math.exp(-d / (2 * sigma * sigma));
    }
  }
  return k;
}

interface Reference {
  values: number[];
  vector(j: number): number[];
}

/** ml-matrix's dense float64 decomposition of scale·A, values descending. */
function denseReference(a: Float32Array, n: number, scale = 1): Reference {
  const rows = Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n), (x) => x * scale));
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const raw = evd.realEigenvalues;
  const order = raw.map((_, i) => i).sort((i, j) => raw[j] - raw[i]);
  return { values: order.map((i) => raw[i]), vector: (j) => evd.eigenvectorMatrix.getColumn(order[j]) };
}

/** Q = H_1···H_r, a product of Householder reflections I − 2uuᵀ with random unit u. */
function randomOrthogonal(n: number, reflections: number, random: () => number): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let r = 0; r < reflections; r++) {
    const u = Array.from({ length: n }, () => random() - 0.5);
    const length = Math.hypot(...u);
    for (let i = 0; i < n; i++) u[i] /= length;
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let j = 0; j < n; j++) d += q[i * n + j] * u[j];
      for (let j = 0; j < n; j++) q[i * n + j] -= 2 * d * u[j];
    }
  }
  return q;
}

/** Q·diag(spectrum)·Qᵀ, symmetrized and rounded to float32. */
function withSpectrum(spectrum: number[], random: () => number): Float32Array {
  const n = spectrum.length;
  const q = randomOrthogonal(n, 4, random);
  const a = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * spectrum[k] * q[j * n + k];
      a[i * n + j] = s;
      a[j * n + i] = s;
    }
  }
  return a;
}

/** `copies` identical copies of the m×m block b on the diagonal, rows and columns shuffled:
 * every eigenvalue of b becomes an exact eigenvalue of multiplicity `copies`. */
function repeatedBlocks(b: Float32Array, m: number, copies: number, random: () => number): Float32Array {
  const n = m * copies;
  const place = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [place[i], place[j]] = [place[j], place[i]];
  }
  const a = new Float32Array(n * n);
  for (let c = 0; c < copies; c++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) a[place[c * m + i] * n + place[c * m + j]] = b[i * m + j];
    }
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// Checks.

function vectorOf(result: Eigensystem, j: number): Float64Array {
  return result.vectors.subarray(j * result.size, (j + 1) * result.size);
}

function dot(u: ArrayLike<number>, v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i] * v[i];
  return s;
}

/** ‖scale·A x − λ x‖, in float64. */
function residual(a: Float32Array, n: number, scale: number, x: ArrayLike<number>, lambda: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    let ax = 0;
    for (let j = 0; j < n; j++) ax += a[i * n + j] * x[j];
    s += (scale * ax - lambda * x[i]) ** 2;
  }
  return Math.sqrt(s);
}

function expectValuesClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  let worst = 0;
  for (let j = 0; j < actual.length; j++) worst = Math.max(worst, Math.abs(actual[j] - expected[j]));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

function expectOrthonormal(result: Eigensystem, tolerance: number): void {
  let worst = 0;
  for (let i = 0; i < result.count; i++) {
    for (let j = 0; j <= i; j++) {
      worst = Math.max(worst, Math.abs(dot(vectorOf(result, i), vectorOf(result, j)) - (i === j ? 1 : 0)));
    }
  }
  expect(worst).toBeLessThanOrEqual(tolerance);
}

/** Eigenvectors of pairs separated from their neighbours by more than `gap` agree up to sign. */
function expectSeparatedVectorsMatch(result: Eigensystem, reference: Reference, gap: number): number {
  let checked = 0;
  for (let j = 0; j < result.count; j++) {
    const before = j > 0 ? reference.values[j - 1] - reference.values[j] : Infinity;
    const after = reference.values[j] - (reference.values[j + 1] ?? -Infinity);
    if (Math.min(before, after) <= gap) continue;
    expect(Math.abs(dot(vectorOf(result, j), reference.vector(j)))).toBeGreaterThanOrEqual(1 - 1e-6);
    checked++;
  }
  return checked;
}

// ---------------------------------------------------------------------------------------------

// Both implementations of the dense loops (src/solver/dense/): WebAssembly SIMD and JavaScript.
for (const kernels of ['wasm', 'js'] as const) {
  describe(`topEigenpairs against a dense float64 decomposition (ml-matrix), ${kernels} dense loops`, () => {
    const n = 400;
    const kernel = gaussianKernel(randomPoints(n, 4, lcg(1)), 0.4);
    const scale = 1 / n;
    const reference = denseReference(kernel, n, scale);
    const lambda1 = reference.values[0];

    it('count mode: top-q values within 1e-6·λ_1, separated eigenvectors up to sign', () => {
      const result = topEigenpairs(kernel, n, { kernels, scale, count: 60 });
      expect(result.count).toBe(60);
      expect(result.size).toBe(n);
      expectValuesClose(result.values, reference.values, 1e-6 * lambda1);
      expect(expectSeparatedVectorsMatch(result, reference, 1e-3 * lambda1)).toBeGreaterThan(20);
      expectOrthonormal(result, 1e-10);
    });

    it('above mode: every value above the threshold plus the next one', () => {
      const above = 1e-4 * lambda1;
      const result = topEigenpairs(kernel, n, { kernels, scale, above });
      const expected = reference.values.filter((v) => v > above).length + 1;
      expect(result.count).toBe(expected);
      expect(result.values[result.count - 2]).toBeGreaterThan(above);
      expect(result.values[result.count - 1]).toBeLessThanOrEqual(above);
      expectValuesClose(result.values, reference.values, 1e-6 * lambda1);
      expect(expectSeparatedVectorsMatch(result, reference, 1e-3 * lambda1)).toBeGreaterThan(20);
    });

    it("set-up's tolerance: every pair above the threshold within a thousandth of the threshold", () => {
      // As set-up asks: the pairs above eigenvalueThreshold(maxBatch), at setupEigenTolerance (β = 1 here).
      const threshold = eigenvalueThreshold(40);
      const tolerance = setupEigenTolerance(threshold, 1);
      expect(tolerance).toBeGreaterThan(1e-9); // looser than the default, or the test shows nothing
      const result = topEigenpairs(kernel, n, { kernels, scale, above: threshold, tolerance });
      expect(result.count).toBe(reference.values.filter((v) => v > threshold).length + 1);
      expectValuesClose(result.values, reference.values, 1e-3 * threshold);
      for (let j = 0; j < result.count; j++) {
        expect(residual(kernel, n, scale, vectorOf(result, j), result.values[j])).toBeLessThan(1e-3 * threshold);
      }
    });

    it('values come back in descending order with small residuals', () => {
      const result = topEigenpairs(kernel, n, { kernels, scale, count: 30 });
      for (let j = 1; j < result.count; j++) expect(result.values[j]).toBeLessThanOrEqual(result.values[j - 1]);
      for (let j = 0; j < result.count; j++) {
        expect(residual(kernel, n, scale, vectorOf(result, j), result.values[j])).toBeLessThan(1e-7 * lambda1);
      }
    });
  });

  describe(`topEigenpairs on a known spectrum, ${kernels} dense loops`, () => {
    it('finds clusters, repeats and zeros of Q·diag·Qᵀ', () => {
      const spectrum = [10, 10, 10, 9, 9 + 1e-9, 9 - 1e-7, 8, 5, 5, 2];
      for (let i = 0; spectrum.length < 90; i++) spectrum.push(1.5 * 0.93 ** i);
      while (spectrum.length < 120) spectrum.push(0);
      const a = withSpectrum(spectrum, lcg(2));
      const sorted = [...spectrum].sort((x, y) => y - x);

      const top = topEigenpairs(a, 120, { kernels, count: 12 });
      expectValuesClose(top.values, sorted, 1e-6 * 10);
      expectOrthonormal(top, 1e-10);

      const all = topEigenpairs(a, 120, { kernels, count: 100 });
      expectValuesClose(all.values, sorted, 1e-6 * 10);
      for (let j = 90; j < 100; j++) expect(Math.abs(all.values[j])).toBeLessThan(1e-5);

      // Nine values above 4 (10, 10, 10, 9, 9, 9, 8, 5, 5), then 2.
      const above = topEigenpairs(a, 120, { kernels, above: 4 });
      expect(above.count).toBe(10);
      expectValuesClose(above.values, sorted, 1e-6 * 10);
    });

    it('finds every copy of an exactly repeated eigenvalue', () => {
      // Three identical blocks: each eigenvalue of the block has multiplicity exactly 3, which a
      // single Lanczos start vector sees only once.
      const m = 50;
      const block = gaussianKernel(randomPoints(m, 3, lcg(3)), 0.5);
      const a = repeatedBlocks(block, m, 3, lcg(4));
      const blockValues = denseReference(block, m).values;
      const expected = blockValues.flatMap((v) => [v, v, v]);

      for (const count of [2, 3, 7, 20]) {
        const result = topEigenpairs(a, 3 * m, { kernels, count });
        expectValuesClose(result.values, expected, 1e-6 * expected[0]);
        expectOrthonormal(result, 1e-9);
        for (let j = 0; j < count; j++) {
          expect(residual(a, 3 * m, 1, vectorOf(result, j), result.values[j])).toBeLessThan(1e-7 * expected[0]);
        }
      }
      const above = topEigenpairs(a, 3 * m, { kernels, above: blockValues[4] * 1.0001 });
      expect(above.count).toBe(13);
      expectValuesClose(above.values, expected, 1e-6 * expected[0]);
    });
  });
}

describe('tridiagonalEigen', () => {
  it('solves 2×2 matrices in closed form', () => {
    for (const [a, b, c] of [
      [1, 0.5, 1],
      [3, -2, -1],
      [0, 1e-8, 0],
      [2, 0, 5],
    ]) {
      const mean = (a + c) / 2;
      const radius = Math.hypot((a - c) / 2, b);
      const t = tridiagonalEigen([a, c], [b]);
      expect(t.values[0]).toBeCloseTo(mean + radius, 14);
      expect(t.values[1]).toBeCloseTo(mean - radius, 14);
      for (let j = 0; j < 2; j++) {
        const [x, y] = [t.vectors[2 * j], t.vectors[2 * j + 1]];
        expect(Math.hypot(x, y)).toBeCloseTo(1, 14);
        expect(a * x + b * y).toBeCloseTo(t.values[j] * x, 13);
        expect(b * x + c * y).toBeCloseTo(t.values[j] * y, 13);
      }
    }
  });

  it('matches the known spectrum 2 − 2cos(kπ/(n+1)) and eigenvectors of [2,−1;−1,2]', () => {
    for (const n of [1, 3, 10, 57]) {
      const t = tridiagonalEigen(new Array(n).fill(2), new Array(n - 1).fill(-1));
      expect(t.rowCount).toBe(n);
      expect(t.columnCount).toBe(n);
      for (let j = 0; j < n; j++) {
        const k = n - j; // descending
        expect(t.values[j]).toBeCloseTo(2 - 2 * Math.cos((k * Math.PI) / (n + 1)), 13);
        // Eigenvector k: sin(i·kπ/(n+1)), i = 1..n, normalized by sqrt(2/(n+1)).
        const expected = Array.from({ length: n }, (_, i) => Math.sqrt(2 / (n + 1)) * Math.sin(((i + 1) * k * Math.PI) / (n + 1)));
        const column = t.vectors.subarray(j * n, (j + 1) * n);
        expect(Math.abs(dot(column, expected))).toBeCloseTo(1, 12);
      }
    }
  });

  it('returns the last row, or the leading columns only, consistently with the full matrix', () => {
    const random = lcg(5);
    const n = 40;
    const diag = Array.from({ length: n }, () => random() - 0.5);
    const off = Array.from({ length: n - 1 }, (_, i) => (i % 9 === 4 ? 0 : random()));
    const full = tridiagonalEigen(diag, off, 'all');
    const last = tridiagonalEigen(diag, off, 'last');
    const leading = tridiagonalEigen(diag, off, 'all', 6);
    const none = tridiagonalEigen(diag, off, 'none');
    expect(last.rowCount).toBe(1);
    expect(leading.columnCount).toBe(6);
    expect(none.vectors.length).toBe(0);
    expect(Array.from(none.values)).toEqual(Array.from(full.values));
    for (let j = 0; j < n; j++) {
      expect(Math.abs(last.vectors[j])).toBeCloseTo(Math.abs(full.vectors[j * n + n - 1]), 13);
      // T z = λ z, row by row.
      const z = full.vectors.subarray(j * n, (j + 1) * n);
      for (let i = 0; i < n; i++) {
        const tz = diag[i] * z[i] + (i > 0 ? off[i - 1] * z[i - 1] : 0) + (i < n - 1 ? off[i] * z[i + 1] : 0);
        expect(tz).toBeCloseTo(full.values[j] * z[i], 13);
      }
    }
    expect(Array.from(leading.vectors)).toEqual(Array.from(full.vectors.subarray(0, 6 * n)));
  });

  /** T's eigenpairs from a dense float64 decomposition (ml-matrix) of the full n×n matrix. */
  function denseTridiagonal(diag: number[], off: number[]): Reference {
    const n = diag.length;
    const rows = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => (i === j ? diag[i] : Math.abs(i - j) === 1 ? off[Math.min(i, j)] : 0)),
    );
    const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
    const raw = evd.realEigenvalues;
    const order = raw.map((_, i) => i).sort((i, j) => raw[j] - raw[i]);
    return { values: order.map((i) => raw[i]), vector: (j) => evd.eigenvectorMatrix.getColumn(order[j]) };
  }

  /** max |zᵢ·zⱼ − δᵢⱼ| and max ‖T z − λ z‖ over the returned columns. */
  function quality(diag: number[], off: number[], t: ReturnType<typeof tridiagonalEigen>): { orthogonality: number; residual: number } {
    const n = diag.length;
    let orthogonality = 0;
    let residual = 0;
    for (let a = 0; a < t.columnCount; a++) {
      const za = t.vectors.subarray(a * n, (a + 1) * n);
      for (let b = a; b < t.columnCount; b++) {
        orthogonality = Math.max(orthogonality, Math.abs(dot(za, t.vectors.subarray(b * n, (b + 1) * n)) - (a === b ? 1 : 0)));
      }
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const tz = diag[i] * za[i] + (i > 0 ? off[i - 1] * za[i - 1] : 0) + (i < n - 1 ? off[i] * za[i + 1] : 0);
        sum += (tz - t.values[a] * za[i]) ** 2;
      }
      residual = Math.max(residual, Math.sqrt(sum));
    }
    return { orthogonality, residual };
  }

  it('eigenvectors (by inverse iteration) match a dense float64 decomposition, up to sign', () => {
    const random = lcg(11);
    const n = 300;
    // A kernel-like spectrum: decaying diagonal, couplings of the same order.
    const diag = Array.from({ length: n }, (_, i) => Math.exp(-i / 40) + 0.01 * random());
    const off = Array.from({ length: n - 1 }, () => 0.05 * random());
    const t = tridiagonalEigen(diag, off, 'all', 120);
    const reference = denseTridiagonal(diag, off);
    for (let j = 0; j < 120; j++) {
      expect(Math.abs(t.values[j] - reference.values[j])).toBeLessThan(1e-13);
      expect(Math.abs(dot(t.vectors.subarray(j * n, (j + 1) * n), reference.vector(j)))).toBeCloseTo(1, 10);
    }
    const { orthogonality, residual } = quality(diag, off, t);
    expect(orthogonality).toBeLessThan(1e-12);
    expect(residual).toBeLessThan(1e-13);
  });

  it('keeps the vectors of nearly equal values orthogonal: Wilkinson W21+, and clusters small and large', () => {
    // W21+: d = |10 − i|, e = 1; its top values come in pairs equal to about 1e-14.
    const wDiag = Array.from({ length: 21 }, (_, i) => Math.abs(10 - i));
    const wOff = new Array(20).fill(1);
    const w = tridiagonalEigen(wDiag, wOff);
    expect(w.values[0] - w.values[1]).toBeLessThan(1e-12);
    const wQuality = quality(wDiag, wOff, w);
    // Values further apart than the cluster gap (1e-6·‖T‖) are solved independently, orthogonal to
    // about ε‖T‖/gap ≤ 2.2e-10 (W21+'s lower pairs are 1e-5 to 1e-2 apart).
    expect(wQuality.orthogonality).toBeLessThan(2.2e-10);
    expect(wQuality.residual).toBeLessThan(1e-12);
    // Values all within 1e-8 of 1, with couplings far from negligible: one cluster of n. At 40 it
    // is orthogonalized as it goes; at 100 it is too large for that and QL's rotations take over.
    for (const n of [40, 100]) {
      const diag = Array.from({ length: n }, (_, i) => 1 + 1e-10 * i);
      const off = Array.from({ length: n - 1 }, (_, i) => 1e-9 * (1 + (i % 3)));
      const t = tridiagonalEigen(diag, off);
      const { orthogonality, residual } = quality(diag, off, t);
      expect(orthogonality).toBeLessThan(1e-12);
      expect(residual).toBeLessThan(1e-14);
    }
  });

  it('a value repeated in separate blocks gets one vector in each block', () => {
    // Three identical 3×3 blocks (zero couplings between them) and a 1×1 block.
    const diag = [2, 1, 3, 2, 1, 3, 2, 1, 3, 5];
    const off = [0.5, 0.25, 0, 0.5, 0.25, 0, 0.5, 0.25, 0];
    const t = tridiagonalEigen(diag, off, 'all', 4);
    expect(t.values[0]).toBe(5);
    expect(Array.from(t.vectors.subarray(0, 10))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    for (let j = 1; j < 4; j++) {
      const z = Array.from(t.vectors.subarray(j * 10, (j + 1) * 10));
      // Supported on exactly one block, block j − 1 (ties keep block order).
      z.forEach((x, i) => (Math.floor(i / 3) === j - 1 ? expect(Math.abs(x)).toBeGreaterThan(0) : expect(x).toBe(0)));
    }
    const { orthogonality, residual } = quality(diag, off, t);
    expect(orthogonality).toBeLessThan(1e-14);
    expect(residual).toBeLessThan(1e-14);
  });

  it('handles an empty, a 1×1 and a diagonal matrix', () => {
    expect(tridiagonalEigen([], []).values.length).toBe(0);
    const one = tridiagonalEigen([4], []);
    expect(Array.from(one.values)).toEqual([4]);
    expect(Array.from(one.vectors)).toEqual([1]);
    const diagonal = tridiagonalEigen([1, 3, 2], [0, 0]);
    expect(Array.from(diagonal.values)).toEqual([3, 2, 1]);
    expect(Array.from(diagonal.vectors)).toEqual([0, 1, 0, 0, 0, 1, 1, 0, 0]);
  });
});

describe('topEigenpairs edge cases', () => {
  it('size 1', () => {
    const result = topEigenpairs(Float32Array.of(0.75), 1, { scale: 2 });
    expect(result.count).toBe(1);
    expect(result.values[0]).toBeCloseTo(1.5, 15);
    expect(Array.from(result.vectors)).toEqual([1]);
  });

  it('size 2: both pairs on request, one by default (maxCount = size − 1)', () => {
    const a = Float32Array.of(1, 0.5, 0.5, 1);
    const both = topEigenpairs(a, 2, { count: 2 });
    expectValuesClose(both.values, [1.5, 0.5], 1e-14);
    expect(Math.abs(both.vectors[0])).toBeCloseTo(Math.SQRT1_2, 14);
    expect(both.vectors[0] * both.vectors[1]).toBeCloseTo(0.5, 14);
    expect(both.vectors[2] * both.vectors[3]).toBeCloseTo(-0.5, 14);
    expect(topEigenpairs(a, 2).count).toBe(1);
  });

  it('size 3, with and without a zero eigenvalue', () => {
    const a = Float32Array.of(2, -1, 0, -1, 2, -1, 0, -1, 2);
    const result = topEigenpairs(a, 3, { count: 3 });
    expectValuesClose(result.values, [2 + Math.SQRT2, 2, 2 - Math.SQRT2], 1e-14);
    const singular = Float32Array.of(1, 1, 0, 1, 1, 0, 0, 0, 0);
    expectValuesClose(topEigenpairs(singular, 3, { count: 3 }).values, [2, 0, 0], 1e-14);
  });

  it('rank-deficient matrices: duplicate points and low rank', () => {
    const base = randomPoints(60, 3, lcg(6));
    const points = [...base, ...base.slice(0, 40)]; // 40 duplicates: K has 40 zero eigenvalues
    const kernel = gaussianKernel(points, 0.3);
    const reference = denseReference(kernel, 100, 0.01);
    const result = topEigenpairs(kernel, 100, { scale: 0.01, count: 80 });
    expectValuesClose(result.values, reference.values, 1e-6 * reference.values[0]);
    expectOrthonormal(result, 1e-9);

    // Rank 5: X·Xᵀ; asking for 12 pairs crosses into the null space (breakdown and restarts).
    const x = randomPoints(70, 5, lcg(7));
    const gram = new Float32Array(70 * 70);
    for (let i = 0; i < 70; i++) for (let j = 0; j < 70; j++) gram[i * 70 + j] = dot(x[i], x[j]);
    const lowRank = topEigenpairs(gram, 70, { count: 12 });
    const gramReference = denseReference(gram, 70);
    expectValuesClose(lowRank.values, gramReference.values, 1e-6 * gramReference.values[0]);
    expectOrthonormal(lowRank, 1e-9);
  });

  it('the zero matrix', () => {
    const result = topEigenpairs(new Float32Array(25), 5, { count: 3 });
    expect(Array.from(result.values)).toEqual([0, 0, 0]);
    expectOrthonormal(result, 1e-12);
  });

  it('honours maxCount, by default and when given', () => {
    const n = 150;
    const kernel = gaussianKernel(randomPoints(n, 6, lcg(8)), 1);
    expect(topEigenpairs(kernel, n, { above: -1 }).count).toBe(n - 1);
    expect(topEigenpairs(kernel, n, { above: 0, maxCount: 25 }).count).toBe(25);
    expect(topEigenpairs(kernel, n, { maxCount: 7 }).count).toBe(7);
    expect(topEigenpairs(kernel, n, { count: 40, maxCount: 10 }).count).toBe(10);
    expect(topEigenpairs(kernel, n, { count: 1000 }).count).toBe(n);
  });

  it('is deterministic: same seed, identical arrays; other seeds, the same values', () => {
    const n = 200;
    const kernel = gaussianKernel(randomPoints(n, 5, lcg(9)), 0.5);
    const options = { scale: 1 / n, above: 1e-4 };
    const first = topEigenpairs(kernel, n, options);
    const second = topEigenpairs(kernel, n, options);
    expect(Array.from(second.values)).toEqual(Array.from(first.values));
    expect(Array.from(second.vectors)).toEqual(Array.from(first.vectors));
    expect(second.lanczosSteps).toBe(first.lanczosSteps);

    const seeded = topEigenpairs(kernel, n, { ...options, random: lcg(123) });
    const again = topEigenpairs(kernel, n, { ...options, random: lcg(123) });
    expect(Array.from(again.vectors)).toEqual(Array.from(seeded.vectors));
    expect(seeded.count).toBe(first.count);
    expectValuesClose(seeded.values, first.values, 1e-9 * first.values[0]);
  });

  it('copes with a degenerate random source', () => {
    const kernel = gaussianKernel(randomPoints(30, 2, lcg(10)), 0.5);
    const result = topEigenpairs(kernel, 30, { count: 10, random: () => 0.5 });
    expectValuesClose(result.values, denseReference(kernel, 30).values, 1e-9);
  });

  it('rejects bad arguments (a bug in the caller: RangeError) and a non-finite matrix (the data: NON_FINITE)', () => {
    const a = new Float32Array(4);
    expect(() => topEigenpairs(a, 3)).toThrow(RangeError);
    expect(() => topEigenpairs(a, 0)).toThrow(RangeError);
    expect(() => topEigenpairs(a, 2, { count: 0 })).toThrow(RangeError);
    expect(() => topEigenpairs(a, 2, { maxCount: 1.5 })).toThrow(RangeError);
    expect(() => topEigenpairs(a, 2, { tolerance: 0 })).toThrow(RangeError);
    expect(() => topEigenpairs(a, 2, { scale: Number.NaN })).toThrow(RangeError);
    expect(() => topEigenpairs(Float32Array.of(1, Number.NaN, Number.NaN, 1), 2)).toThrow(/NaN/);
    expect(() => topEigenpairs(Float32Array.of(1, Number.NaN, Number.NaN, 1), 2)).toThrow(KmfitError);
  });
});
