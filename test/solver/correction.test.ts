/**
 * The preconditioner's products with V (src/solver/dense/: VectorProducts, both implementations)
 * and the whole correction (src/solver/eigenpro.ts) against the textbook float64 triple loops
 * written out here, for r not a multiple of the 4-vector blocking, odd s and l, s past the wasm
 * loop's 128-entry tiles, and a single column; and the two implementations against each other.
 */
import { describe, expect, it } from 'vitest';
import { vectorProducts } from '../../src/solver/dense/choose.js';
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

/** Vᵀ·B (r×l, row-major) by the triple loop, B s×l row-major. */
function projected(V: Float64Array, B: Float64Array, r: number, s: number, l: number): Float64Array {
  const out = new Float64Array(r * l);
  for (let k = 0; k < r; k++) {
    for (let c = 0; c < l; c++) {
      let sum = 0;
      for (let i = 0; i < s; i++) sum += V[k * s + i] * B[i * l + c];
      out[k * l + c] = sum;
    }
  }
  return out;
}

/** V·U (s×l by columns: column c at c·s) by the triple loop. */
function combined(V: Float64Array, U: Float64Array, r: number, s: number, l: number): Float64Array {
  const out = new Float64Array(l * s);
  for (let i = 0; i < s; i++) {
    for (let c = 0; c < l; c++) {
      let sum = 0;
      for (let k = 0; k < r; k++) sum += V[k * s + i] * U[k * l + c];
      out[c * s + i] = sum;
    }
  }
  return out;
}

for (const engine of ['wasm', 'js'] as const) {
  describe(`${engine} products with V (s×r, column-major)`, () => {
    for (const [r, s, l] of SHAPES) {
      it(`r = ${r}, s = ${s}, l = ${l}: Vᵀ·B and V·U agree with the triple loops`, () => {
        const random = new SeededRandom(r * 1000 + s * 10 + l);
        const V = randomArray(random, r * s);
        const B = randomArray(random, s * l); // s×l row-major
        const U = randomArray(random, r * l); // r×l row-major
        const columns = new Float64Array(l * s);
        for (let i = 0; i < s; i++) for (let c = 0; c < l; c++) columns[c * s + i] = B[i * l + c];

        const products = vectorProducts(V, r, s, engine);
        expect(products.engine).toBe(engine);
        expect(relativeDifference(products.project(columns, l), projected(V, B, r, s, l))).toBeLessThan(TOLERANCE);
        expect(relativeDifference(products.combine(U, l), combined(V, U, r, s, l))).toBeLessThan(TOLERANCE);
      });
    }

    it('serves operands of different widths with the same V, narrower after wider', () => {
      const [r, s] = [6, 33];
      const random = new SeededRandom(7);
      const V = randomArray(random, r * s);
      const products = vectorProducts(V, r, s, engine);
      for (const l of [1, 12, 3]) {
        const B = randomArray(random, s * l);
        const columns = new Float64Array(l * s);
        for (let i = 0; i < s; i++) for (let c = 0; c < l; c++) columns[c * s + i] = B[i * l + c];
        const U = randomArray(random, r * l);
        expect(relativeDifference(products.project(columns, l), projected(V, B, r, s, l))).toBeLessThan(TOLERANCE);
        expect(relativeDifference(products.combine(U, l), combined(V, U, r, s, l))).toBeLessThan(TOLERANCE);
      }
    });
  });
}

describe('wasm and JavaScript products', () => {
  it('agree to 1e-12 relative at a training-sized shape (r = 37, s = 517, l = 26)', () => {
    const [r, s, l] = [37, 517, 26];
    const random = new SeededRandom(11);
    const V = randomArray(random, r * s);
    const columns = randomArray(random, l * s);
    const U = randomArray(random, r * l);
    const wasm = vectorProducts(V, r, s, 'wasm');
    const js = vectorProducts(V, r, s, 'js');
    expect(relativeDifference(wasm.project(columns, l), js.project(columns, l))).toBeLessThan(1e-12);
    expect(relativeDifference(wasm.combine(U, l), js.combine(U, l))).toBeLessThan(1e-12);
  });
});

describe('preconditionerCorrection', () => {
  for (const [r, s, l] of [[5, 17, 3], [9, 130, 1]]) {
    it(`r = ${r}, s = ${s}, l = ${l}: factor·V·diag(D)·Vᵀ·t, also on rows of a larger t`, () => {
      const random = new SeededRandom(r + s + l);
      const V = randomArray(random, r * s);
      const D = randomArray(random, r);
      const p: Preconditioning = {
        points: { data: new Float32Array(s), rows: s, cols: 1 },
        indices: Int32Array.from({ length: s }, (_, i) => i),
        vectors: V,
        scales: D,
      };
      // t as the rows `rows` (every other one, from the end) of a larger 2s×l matrix.
      const big = Float32Array.from(randomArray(random, 2 * s * l));
      const rows = Int32Array.from({ length: s }, (_, i) => 2 * (s - 1 - i) + 1);
      const t = new Float64Array(s * l);
      for (let i = 0; i < s; i++) for (let c = 0; c < l; c++) t[i * l + c] = big[rows[i] * l + c];
      const factor = -0.75;

      const expected = new Float64Array(s * l);
      for (let i = 0; i < s; i++) {
        for (let c = 0; c < l; c++) {
          let sum = 0;
          for (let k = 0; k < r; k++) {
            let inner = 0;
            for (let j = 0; j < s; j++) inner += V[k * s + j] * t[j * l + c];
            sum += V[k * s + i] * D[k] * inner;
          }
          expected[i * l + c] = factor * sum;
        }
      }
      expect(relativeDifference(preconditionerCorrection(p, big, l, factor, rows), expected)).toBeLessThan(TOLERANCE);
      expect(relativeDifference(preconditionerCorrection(p, Float32Array.from(t), l, factor), expected)).toBeLessThan(TOLERANCE);
    });
  }
});
