/**
 * The portable kernel-cache engine, for backends without their own (js, gpujs, webgpu): blocks
 * from the backend's kernelBlock rounded in JavaScript, products in plain JavaScript.
 */
import type { Kernel } from '../../kernels/kernel.js';
import type { Matrix } from '../matrix.js';
import type { Backend, CacheEngine, CachedValues, CachePrecision } from './backend.js';
import { decodingTable, roundToPrecision } from './halfPrecision.js';
import { checkBlockOutput, checkCachedProduct } from './misuse.js';

/** A cache engine over any backend's kernelBlock. */
export function portableCacheEngine(backend: Backend, precision: CachePrecision): CacheEngine {
  return {
    precision,
    async block(kernel: Kernel, X: Matrix, Y: Matrix, out: CachedValues, offset: number, stride: number): Promise<void> {
      checkBlockOutput(precision, out, X.rows, Y.rows, offset, stride);
      const n = Y.rows;
      const values = roundToPrecision(await backend.kernelBlock(kernel, X, Y), precision);
      for (let i = 0; i < X.rows; i++) out.set(values.subarray(i * n, (i + 1) * n), offset + i * stride);
    },
    async multiply(K, rows, cols, A, l, out): Promise<void> {
      checkCachedProduct(precision, K, rows, cols, A, l, out);
      multiplyCached(K, precision, rows, cols, A, l, out);
    },
    dispose(): void {},
  };
}

/** Rows of K multiplied together (the four sums below), each value of A loaded once for them. */
const ROWS_AT_ONCE = 4;

/**
 * out (rows × l) = K·A in JavaScript: four rows of K at a time are widened into float32 buffers (a
 * table look-up per value), then dotted with each column of A, which is transposed first so that
 * both sides are read contiguously and each value of A is loaded once for the four rows. The sums
 * run in float64 (JavaScript numbers), which only helps.
 */
function multiplyCached(
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
  const buffers = Array.from({ length: ROWS_AT_ONCE }, () => new Float32Array(cols));
  const zeros = new Float32Array(cols);
  for (let i = 0; i < rows; i += ROWS_AT_ONCE) {
    // Missing rows of the last group read zeros, and their sums are not stored.
    const [r0, r1, r2, r3] = buffers.map((buffer, r) => {
      if (i + r >= rows) return zeros;
      const start = (i + r) * cols;
      if (K instanceof Float32Array) return K.subarray(start, start + cols);
      for (let j = 0; j < cols; j++) buffer[j] = table[K[start + j]];
      return buffer;
    });
    for (let c = 0; c < l; c++) {
      const offset = c * cols;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < cols; j++) {
        const a = columns[offset + j];
        s0 += r0[j] * a;
        s1 += r1[j] * a;
        s2 += r2[j] * a;
        s3 += r3[j] * a;
      }
      const sums = [s0, s1, s2, s3];
      for (let r = 0; r < ROWS_AT_ONCE && i + r < rows; r++) out[(i + r) * l + c] = sums[r];
    }
  }
}

/** The backend's own cache engine, or the portable one. */
export function cacheEngineOf(backend: Backend, precision: CachePrecision): Promise<CacheEngine> {
  return backend.cacheEngine ? backend.cacheEngine(precision) : Promise.resolve(portableCacheEngine(backend, precision));
}
