/**
 * The eigensolver's dense loops (src/solver/dense/), both implementations, against the textbook
 * float64 formulas written out here, on sizes that are not multiples of any block (odd n, row
 * counts not a multiple of 4), and through a basis that grows.
 */
import { describe, expect, it } from 'vitest';
import { denseKernels } from '../../src/solver/dense/choose.js';
import type { RotationSweeps } from '../../src/solver/dense/kernels.js';
import { lcg } from '../helpers/data.js';

function randomArray<T extends Float32Array | Float64Array>(make: new (n: number) => T, length: number, seed: number): T {
  const next = lcg(seed);
  const out = new make(length);
  for (let i = 0; i < length; i++) out[i] = next() - 0.5;
  return out;
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** In float64 sums, the results agree to rounding: 1e-12 of entries of size ≈ √n. */
const TOLERANCE = 1e-12;

for (const engine of ['wasm', 'js'] as const) {
  describe(`${engine} dense loops`, () => {
    for (const n of [1, 2, 5, 33, 130]) {
      it(`multiply, projectOut, combineRows at n = ${n}`, () => {
        const a = randomArray(Float32Array, n * n, n);
        const kernels = denseKernels(a, n, engine);
        expect(kernels.engine).toBe(engine);

        const x = randomArray(Float64Array, n, 100 + n);
        const y = new Float64Array(n);
        kernels.multiply(x, y, 0.25);
        const expected = Array.from({ length: n }, (_, i) => {
          let s = 0;
          for (let j = 0; j < n; j++) s += a[i * n + j] * x[j];
          return 0.25 * s;
        });
        expect(maxDifference(y, expected)).toBeLessThan(TOLERANCE);

        // A basis of 3 rows, grown to 7 rows: the first rows survive the growth.
        let basis = kernels.newBasis(3);
        expect(Array.from(basis).every((v) => v === 0)).toBe(true);
        basis.set(randomArray(Float64Array, 3 * n, 200 + n));
        const firstRows = basis.slice(0, 3 * n);
        basis = kernels.growBasis(basis, 7);
        expect(basis.length).toBeGreaterThanOrEqual(7 * n);
        expect(Array.from(basis.subarray(0, 3 * n))).toEqual(Array.from(firstRows));
        basis.set(randomArray(Float64Array, 4 * n, 300 + n), 3 * n);

        for (const rows of [1, 4, 6, 7]) {
          const w = randomArray(Float64Array, n, 400 + rows);
          const coefficients = new Float64Array(rows);
          const c = Array.from({ length: rows }, (_, i) => {
            let s = 0;
            for (let j = 0; j < n; j++) s += basis[i * n + j] * w[j];
            return s;
          });
          const projected = Array.from(w, (v, j) => v - c.reduce((sum, ci, i) => sum + ci * basis[i * n + j], 0));
          kernels.projectOut(basis, rows, w, coefficients);
          expect(maxDifference(coefficients, c)).toBeLessThan(TOLERANCE);
          expect(maxDifference(w, projected)).toBeLessThan(TOLERANCE);
        }

        for (const [skip, k, count] of [[0, 7, 5], [2, 5, 1], [1, 3, 4], [3, 4, 9]]) {
          const coefficients = randomArray(Float64Array, k * count, 500 + k + count);
          const combined = kernels.combineRows(basis, skip, k, coefficients, count);
          const reference = new Float64Array(count * n);
          for (let j = 0; j < count; j++) {
            for (let i = 0; i < k; i++) {
              for (let r = 0; r < n; r++) reference[j * n + r] += coefficients[j * k + i] * basis[(skip + i) * n + r];
            }
          }
          expect(maxDifference(combined, reference)).toBeLessThan(TOLERANCE);
        }
      });
    }

    it('rotateRows applies the sweeps last first, each in ascending i', () => {
      const n = 9;
      const count = 5;
      const angle = (k: number) => 0.3 + 0.7 * k;
      // Two sweeps: rotations 2…7 (stored 7 down to 2) and 0…3.
      const sweeps: RotationSweeps = {
        cos: Float64Array.from({ length: 10 }, (_, k) => Math.cos(angle(k))),
        sin: Float64Array.from({ length: 10 }, (_, k) => Math.sin(angle(k))),
        used: 10,
        lows: [2, 0],
        highs: [8, 4],
        starts: [0, 6],
      };
      const z = randomArray(Float64Array, n * count, 7);
      const reference = z.slice();
      for (let t = sweeps.lows.length - 1; t >= 0; t--) {
        for (let i = sweeps.lows[t]; i < sweeps.highs[t]; i++) {
          const k = sweeps.starts[t] + sweeps.highs[t] - 1 - i;
          const [c, s] = [sweeps.cos[k], sweeps.sin[k]];
          for (let col = 0; col < count; col++) {
            const [p, q] = [reference[i * count + col], reference[(i + 1) * count + col]];
            reference[i * count + col] = c * p + s * q;
            reference[(i + 1) * count + col] = c * q - s * p;
          }
        }
      }
      const kernels = denseKernels(new Float32Array(4), 2, engine);
      kernels.rotateRows(z, count, sweeps);
      expect(maxDifference(z, reference)).toBeLessThan(TOLERANCE);
    });
  });
}

describe('the wasm loops shared among threads', () => {
  // Large enough for helpers (MINIMUM_SHARED_SIZE) and that every call splits, odd so
  // that the tails (rows not a multiple of 4, an odd last entry) are in the last share.
  const n = 1025;
  it('give the same bits as one thread, call by call', async () => {
    const a = randomArray(Float32Array, n * n, 11);
    const alone = denseKernels(a, n, 'wasm', 1);
    const shared = denseKernels(a, n, 'wasm', 3);
    await shared.ready;
    try {
      expect(alone.threads()).toBe(1);
      expect(shared.threads()).toBe(3);
      const x = randomArray(Float64Array, n, 12);
      const [y1, y2] = [new Float64Array(n), new Float64Array(n)];
      alone.multiply(x, y1, 0.5);
      shared.multiply(x, y2, 0.5);
      expect(Array.from(y2)).toEqual(Array.from(y1));

      const rows = 203;
      const content = randomArray(Float64Array, rows * n, 13);
      const b1 = alone.newBasis(rows);
      const b2 = shared.newBasis(rows);
      b1.set(content);
      b2.set(content);
      const [w1, w2] = [randomArray(Float64Array, n, 14), randomArray(Float64Array, n, 14)];
      const [c1, c2] = [new Float64Array(rows), new Float64Array(rows)];
      alone.projectOut(b1, rows, w1, c1);
      shared.projectOut(b2, rows, w2, c2);
      expect(Array.from(c2)).toEqual(Array.from(c1));
      expect(Array.from(w2)).toEqual(Array.from(w1));

      const [k, count] = [150, 97];
      const weights = randomArray(Float64Array, k * count, 15);
      expect(Array.from(shared.combineRows(b2, 3, k, weights, count))).toEqual(Array.from(alone.combineRows(b1, 3, k, weights, count)));

      // Nine sweeps over 150 rows of z (count columns): enough rotations (≈ 1 200) that the columns split.
      const lows = Array.from({ length: 9 }, (_, t) => t % 5);
      const highs = Array.from({ length: 9 }, (_, t) => 149 - 2 * t);
      const starts = lows.map((_, t) => lows.slice(0, t).reduce((sum, low, u) => sum + highs[u] - low, 0));
      const used = starts[8] + highs[8] - lows[8];
      const sweeps: RotationSweeps = {
        cos: Float64Array.from({ length: used }, (_, i) => Math.cos(0.1 + i)),
        sin: Float64Array.from({ length: used }, (_, i) => Math.sin(0.1 + i)),
        used,
        lows,
        highs,
        starts,
      };
      const z1 = randomArray(Float64Array, 150 * count, 16);
      const z2 = z1.slice();
      alone.rotateRows(z1, count, sweeps);
      shared.rotateRows(z2, count, sweeps);
      expect(Array.from(z2)).toEqual(Array.from(z1));
    } finally {
      shared.release();
    }
    // Released, the kernels still compute, on the calling thread.
    expect(shared.threads()).toBe(1);
  });
});

describe('dense loop selection', () => {
  it("picks the WebAssembly loops in Node (SIMD and shared memory are there)", () => {
    expect(denseKernels(new Float32Array(1), 1).engine).toBe('wasm');
  });
});
