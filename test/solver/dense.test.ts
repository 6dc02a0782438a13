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

describe('dense loop selection', () => {
  it("picks the WebAssembly loops in Node (SIMD and shared memory are there)", () => {
    expect(denseKernels(new Float32Array(1), 1).engine).toBe('wasm');
  });
});
