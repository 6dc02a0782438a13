/**
 * The portable kernel-cache engine, for backends without their own (js, gpujs, webgpu): blocks
 * from the backend's kernelBlock rounded in JavaScript, products in plain JavaScript.
 */
import type { Kernel } from '../../kernels/kernel.js';
import type { Matrix } from '../matrix.js';
import type { Backend, CacheEngine, CachedValues, CachePrecision } from './backend.js';
import { decodingTable, roundToPrecision } from './halfPrecision.js';
import { checkCachedProduct } from './misuse.js';

/** A cache engine over any backend's kernelBlock. */
export function portableCacheEngine(backend: Backend, precision: CachePrecision): CacheEngine {
  return {
    precision,
    async block(kernel: Kernel, X: Matrix, Y: Matrix): Promise<CachedValues> {
      return roundToPrecision(await backend.kernelBlock(kernel, X, Y), precision);
    },
    async multiply(K, rows, cols, A, l, out): Promise<void> {
      checkCachedProduct(precision, K, rows, cols, A, l, out);
      multiplyCached(K, precision, rows, cols, A, l, out);
    },
    dispose(): void {},
  };
}

/**
 * out (rows × l) = K·A in JavaScript: each row of K is widened once into a float32 buffer (a table
 * look-up per value), then dotted with each column of A, which is transposed first so that both
 * sides are read contiguously. The sums run in float64 (JavaScript numbers), which only helps.
 */
export function multiplyCached(
  K: CachedValues,
  precision: CachePrecision,
  rows: number,
  cols: number,
  A: Float32Array,
  l: number,
  out: Float32Array,
): void {
  const columns = new Float32Array(l * cols);
  for (let j = 0; j < cols; j++) for (let c = 0; c < l; c++) columns[c * cols + j] = A[j * l + c];
  // checkCachedProduct has matched K's type to the precision.
  const table = precision === 'float32' ? new Float32Array(0) : decodingTable(precision);
  const row = new Float32Array(cols);
  for (let i = 0; i < rows; i++) {
    const start = i * cols;
    let values: Float32Array;
    if (K instanceof Float32Array) {
      values = K.subarray(start, start + cols);
    } else {
      for (let j = 0; j < cols; j++) row[j] = table[K[start + j]];
      values = row;
    }
    for (let c = 0; c < l; c++) out[i * l + c] = dot(values, columns, c * cols, cols);
  }
}

/** Σ_j x[j]·y[offset + j] with two accumulators (independent chains run twice as fast). */
function dot(x: Float32Array, y: Float32Array, offset: number, length: number): number {
  let even = 0;
  let odd = 0;
  let j = 0;
  for (; j + 1 < length; j += 2) {
    even += x[j] * y[offset + j];
    odd += x[j + 1] * y[offset + j + 1];
  }
  if (j < length) even += x[j] * y[offset + j];
  return even + odd;
}
