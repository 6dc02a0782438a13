/** Small deterministic data sets and independent float64 answers for the solver tests. */
import { CholeskyDecomposition, Matrix as DenseMatrix } from 'ml-matrix';

/** A linear congruential generator: test data that does not depend on the library's RNG. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export function randomPoints(n: number, d: number, seed: number): number[][] {
  const next = lcg(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, next));
}

export function squaredDistance(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += (a[k] - b[k]) ** 2;
  return sum;
}

/**
 * The exact kernel interpolant through (X, Y), evaluated at `at`: k(at, X)·K⁻¹Y with a float64
 * Cholesky solve.
 */
export function exactInterpolant(
  value: (r2: number) => number,
  X: number[][],
  Y: number[][],
  at: number[][],
): number[][] {
  const K = new DenseMatrix(X.map((a) => X.map((b) => value(squaredDistance(a, b)))));
  const alpha = new CholeskyDecomposition(K).solve(new DenseMatrix(Y));
  const Kat = new DenseMatrix(at.map((a) => X.map((b) => value(squaredDistance(a, b)))));
  return Kat.mmul(alpha).to2DArray();
}

/** ‖a − b‖_F / ‖b‖_F over all entries. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

/** A rows × cols Float32 matrix of deterministic uniform [0, 1) values. */
export { uniformMatrix as randomMatrix } from '../../bench/timing.js';
