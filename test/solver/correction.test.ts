/**
 * The preconditioner's correction V·diag(w)·Vᵀ·T (src/solver/dense/: CorrectionKernels, both
 * implementations) and preconditionerCorrection (src/solver/eigenpro.ts) against the textbook
 * float64 loops written out here, for r not a multiple of the 4-vector blocking, odd s and l, s
 * past the wasm loop's 128-entry tiles, a single column, and T given as rows of a larger matrix;
 * and the two implementations against each other.
 */
import { describe, expect, it } from 'vitest';
import { correctionKernels } from '../../src/solver/dense/choose.js';
import { preconditionerCorrection, type Preconditioning } from '../../src/solver/eigenpro.js';
import { SeededRandom } from '../../src/solver/random.js';

function randomArray(random: SeededRandom, length: number): Float64Array {
  const uniform = random.uniformStream();
  return Float64Array.from({ length }, () => uniform() - 0.5);
}

/** max |a − b| / max |b|: float64 sums of the same terms in another order agree to ~1e-15 of it. */
function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

const TOLERANCE = 1e-13;

/** V·diag(w)·Vᵀ·T (s×l, row-major) by the textbook loops, T s×l row-major, V column-major. */
function expectedCorrection(V: Float64Array, w: Float64Array, T: ArrayLike<number>, r: number, s: number, l: number): Float64Array {
  const u = new Float64Array(r * l); // Vᵀ·T
  for (let k = 0; k < r; k++) {
    for (let c = 0; c < l; c++) {
      let sum = 0;
      for (let i = 0; i < s; i++) sum += V[k * s + i] * T[i * l + c];
      u[k * l + c] = sum;
    }
  }
  const out = new Float64Array(s * l);
  for (let i = 0; i < s; i++) {
    for (let c = 0; c < l; c++) {
      let sum = 0;
      for (let k = 0; k < r; k++) sum += V[k * s + i] * w[k] * u[k * l + c];
      out[i * l + c] = sum;
    }
  }
  return out;
}

/** Random V (s×r), w (r) and T (s×l, float32), and T again as the rows `rows` of a 2s×l matrix. */
function problem(r: number, s: number, l: number, seed: number) {
  const random = new SeededRandom(seed);
  const V = randomArray(random, r * s);
  const w = randomArray(random, r);
  const big = Float32Array.from(randomArray(random, 2 * s * l));
  // Every other row, from the end: T's row i is big's row 2(s − 1 − i) + 1.
  const rows = Int32Array.from({ length: s }, (_, i) => 2 * (s - 1 - i) + 1);
  const T = new Float32Array(s * l);
  for (let i = 0; i < s; i++) T.set(big.subarray(rows[i] * l, rows[i] * l + l), i * l);
  return { V, w, T, big, rows };
}

const SHAPES = [
  [7, 13, 3],
  [1, 5, 1],
  [8, 40, 10],
  [4, 2, 2],
  [6, 1, 1],
  [9, 130, 1],
  [13, 257, 7],
  [5, 301, 26],
];

for (const engine of ['wasm', 'js'] as const) {
  describe(`${engine} correction kernels`, () => {
    for (const [r, s, l] of SHAPES) {
      it(`r = ${r}, s = ${s}, l = ${l}: V·diag(w)·Vᵀ·T agrees with the textbook loops, T whole or as rows`, () => {
        const { V, w, T, big, rows } = problem(r, s, l, r * 1000 + s * 10 + l);
        const kernels = correctionKernels(V, r, s, engine);
        expect(kernels.engine).toBe(engine);
        const expected = expectedCorrection(V, w, T, r, s, l);
        expect(relativeDifference(kernels.correction(T, l, w), expected)).toBeLessThan(TOLERANCE);
        expect(relativeDifference(kernels.correction(big, l, w, rows), expected)).toBeLessThan(TOLERANCE);
      });
    }

    it('serves T of different widths with the same V, narrower after wider', () => {
      const [r, s] = [6, 33];
      const { V } = problem(r, s, 1, 5);
      const kernels = correctionKernels(V, r, s, engine);
      for (const l of [1, 12, 3]) {
        const { w, T } = problem(r, s, l, 100 + l);
        expect(relativeDifference(kernels.correction(T, l, w), expectedCorrection(V, w, T, r, s, l))).toBeLessThan(TOLERANCE);
      }
    });
  });
}

describe('wasm and JavaScript correction kernels', () => {
  for (const [r, s, l] of [[37, 517, 26], [41, 300, 1]]) {
    it(`agree to 1e-12 relative at r = ${r}, s = ${s}, l = ${l}`, () => {
      const { V, w, T } = problem(r, s, l, 11);
      const wasm = correctionKernels(V, r, s, 'wasm').correction(T, l, w);
      const js = correctionKernels(V, r, s, 'js').correction(T, l, w);
      expect(relativeDifference(wasm, js)).toBeLessThan(1e-12);
    });
  }
});

describe('preconditionerCorrection', () => {
  it('is factor·V·diag(D)·Vᵀ·t, also on rows of a larger t, and again with the same preconditioner', () => {
    const [r, s, l] = [5, 17, 3];
    const { V, w: D, T, big, rows } = problem(r, s, l, 3);
    const p: Preconditioning = {
      points: { data: new Float32Array(s), rows: s, cols: 1 },
      indices: Int32Array.from({ length: s }, (_, i) => i),
      vectors: V,
      scales: D,
    };
    const factor = -0.75;
    const expected = expectedCorrection(V, D.map((d) => d * factor), T, r, s, l);
    expect(relativeDifference(preconditionerCorrection(p, big, l, factor, rows), expected)).toBeLessThan(TOLERANCE);
    expect(relativeDifference(preconditionerCorrection(p, T, l, factor), expected)).toBeLessThan(TOLERANCE);
    const twice = expectedCorrection(V, D.map((d) => d * 2 * factor), T, r, s, l);
    expect(relativeDifference(preconditionerCorrection(p, T, l, 2 * factor), twice)).toBeLessThan(TOLERANCE);
  });
});
