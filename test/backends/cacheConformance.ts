/**
 * The cases every kernel-cache engine (CacheEngine, src/backends/backend.ts) passes, against
 * independent float64 answers: blocks are the float64 kernel values rounded to the precision, and
 * products are the float64 products of the decoded values, within the float32 summation bound.
 */
import { describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import type { Backend, CacheEngine, CachePrecision, CachedValues } from '../../src/backends/backend.js';
import { roundToPrecision } from '../../src/backends/halfPrecision.js';
import { lcg, randomMatrix } from '../helpers/data.js';
import { naiveKernel, SUITE_BANDWIDTH } from './agreement.js';

export const PRECISIONS: readonly CachePrecision[] = ['float16', 'bfloat16', 'float32'];

/** Mantissa bits (without the implicit one), exponent bias and largest exponent field of each format. */
const FORMATS = { float16: { mantissa: 10, bias: 15, top: 30 }, bfloat16: { mantissa: 7, bias: 127, top: 254 } } as const;

/** The value of a non-negative finite bit pattern, computed from the format's definition. */
function patternValue(h: number, precision: 'float16' | 'bfloat16'): number {
  const { mantissa, bias } = FORMATS[precision];
  const exponent = h >>> mantissa;
  const fraction = h & ((1 << mantissa) - 1);
  if (exponent === 0) return fraction * 2 ** (1 - bias - mantissa);
  return (1 + fraction / 2 ** mantissa) * 2 ** (exponent - bias);
}

/**
 * The bits of the value of `precision` nearest to x, ties to the even pattern, found by a binary
 * search over the ordered non-negative patterns in float64 (no bit tricks): the reference for
 * halfPrecision.ts.
 */
export function nearestHalfBits(x: number, precision: 'float16' | 'bfloat16'): number {
  const { mantissa, top } = FORMATS[precision];
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const inf = (top + 1) << mantissa;
  const largest = inf - 1;
  const magnitude = Math.abs(x);
  const largestValue = patternValue(largest, precision);
  const halfUlpThere = 2 ** (top - FORMATS[precision].bias - mantissa - 1);
  if (magnitude >= largestValue + halfUlpThere) return sign | inf;
  if (magnitude >= largestValue) return sign | largest;
  let low = 0; // patternValue(low) ≤ magnitude < patternValue(high)
  let high = largest;
  while (high - low > 1) {
    const middle = (low + high) >>> 1;
    if (patternValue(middle, precision) <= magnitude) low = middle;
    else high = middle;
  }
  const below = magnitude - patternValue(low, precision);
  const above = patternValue(high, precision) - magnitude;
  return sign | (below < above || (below === above && low % 2 === 0) ? low : high);
}

/** Half the distance between neighbouring values of `precision` around the magnitude v. */
function halfUlp(v: number, precision: CachePrecision): number {
  const { mantissa, bias } = precision === 'float32' ? { mantissa: 23, bias: 127 } : FORMATS[precision];
  const exponent = Math.max(1 - bias, Math.floor(Math.log2(Math.abs(v) || 2 ** -1000)));
  return 2 ** (exponent - mantissa - 1);
}

/** Cached values as numbers, decoded from the format's definition. */
function decode(values: CachedValues, precision: CachePrecision): Float64Array {
  if (precision === 'float32') return Float64Array.from(values);
  return Float64Array.from(values, (h) => (h & 0x8000 ? -1 : 1) * patternValue(h & 0x7fff, precision));
}

/** Kernel-like test values in [−1, 1]: many tiny (float16 subnormals), a few exact zeros. */
function cachedValues(count: number, precision: CachePrecision, seed: number): CachedValues {
  const next = lcg(seed);
  const values = Float32Array.from({ length: count }, () => {
    const u = next();
    if (u < 0.05) return 0;
    const magnitude = u < 0.3 ? next() * 1e-5 : next();
    return next() < 0.2 ? -magnitude : magnitude;
  });
  return roundToPrecision(values, precision);
}

/**
 * out[i·l + c] (i < rows, c < l) against the float64 sum of term(i, c, j) over j < count: any order
 * of float32 sums of `count` products errs by at most (count + 1)·u·Σ|terms|.
 */
function expectFloat32Sums(out: Float32Array, rows: number, l: number, count: number, term: (i: number, c: number, j: number) => number, shape: string): void {
  const u = 2 ** -24;
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < l; c++) {
      let sum = 0;
      let size = 0;
      for (let j = 0; j < count; j++) {
        const t = term(i, c, j);
        sum += t;
        size += Math.abs(t);
      }
      const bound = (count + 1) * u * size * 1.01 + 1e-30;
      if (!(Math.abs(out[i * l + c] - sum) <= bound)) expect.fail(`${shape} [${i}, ${c}]: ${out[i * l + c]} vs ${sum}`);
    }
  }
}

/**
 * rows × cols × l: rows not a multiple of 4 or of the threads' shares, cols not of 4 or 8, l = 1
 * and 10; and cols multiples of 8 (rows a transposed product reads in place, wasm: l ≤ 4) with l
 * of 3 (the 2- and 1-output loops, odd rows), 4 and 26.
 */
const PRODUCT_SHAPES: [number, number, number][] = [
  [33, 64, 3],
  [130, 512, 4],
  [130, 512, 26],
  [1, 1, 1],
  [3, 5, 10],
  [7, 13, 1],
  [4, 8, 2],
  [9, 1031, 10],
  [13, 37, 3],
  [130, 517, 10],
  [66, 2053, 1],
];

/**
 * The suite for one engine: `engine(precision)` returns a fresh engine over a backend that
 * `start` created (disposed after each test).
 */
/** The rows × cols values with their rows in reverse order. */
function inReverse<T extends CachedValues>(K: T, rows: number, cols: number): T {
  const out = K.slice() as T;
  for (let i = 0; i < rows; i++) out.set(K.subarray(i * cols, (i + 1) * cols), (rows - 1 - i) * cols);
  return out;
}

export function describeCacheEngine(
  name: string,
  start: () => Backend | Promise<Backend>,
  engineOf: (backend: Backend, precision: CachePrecision) => CacheEngine | Promise<CacheEngine>,
): void {
  describe(`cache engine ${name}`, () => {
    for (const precision of PRECISIONS) {
      it(`${precision}: blocks are the float64 kernel values rounded, and kernelBlock's values rounded exactly`, async () => {
        const backend = await start();
        try {
          const engine = await engineOf(backend, precision);
          expect(engine.precision).toBe(precision);
          for (const kernelName of ['gaussian', 'laplacian'] as const) {
            const kernel = makeKernel(chooseKernel(kernelName), SUITE_BANDWIDTH);
            for (const [m, n, d] of [[1, 1, 1], [7, 13, 5], [33, 517, 3]]) {
              const X = randomMatrix(m, d, m + d);
              const Y = randomMatrix(n, d, 3 * n + d);
              const expected = roundToPrecision(await backend.kernelBlock(kernel, X, Y), precision);
              // Written into a larger array, at an offset and a stride, as the cache lays out rows;
              // and as whole rows (which an engine may have written in place), in plain and in shared memory.
              for (const { offset, stride, shared } of [
                { offset: 3, stride: n + 5, shared: false },
                { offset: 2, stride: n, shared: false },
                { offset: 0, stride: n, shared: true },
              ]) {
                const bytes = (offset + m * stride) * (precision === 'float32' ? 4 : 2);
                const memory = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
                const padded = precision === 'float32' ? new Float32Array(memory).fill(-1) : new Uint16Array(memory).fill(0xffff);
                await engine.block(kernel, X, Y, padded, offset, stride);
                const block = precision === 'float32' ? new Float32Array(m * n) : new Uint16Array(m * n);
                for (let i = 0; i < m; i++) block.set(padded.subarray(offset + i * stride, offset + i * stride + n), i * n);
                const untouched = Array.from(padded).filter((_, k) => k < offset || (k - offset) % stride >= n);
                expect(untouched.every((v) => v === (precision === 'float32' ? -1 : 0xffff)), `${m}×${n} at stride ${stride}: values outside the block`).toBe(true);
                expect(block, `${m}×${n} at stride ${stride}${shared ? ', shared' : ''}`).toEqual(expected);
              }
              const values = decode(expected, precision);
              for (let i = 0; i < m; i++) {
                for (let j = 0; j < n; j++) {
                  const exact = naiveKernel(kernel.value, X, Y, i, j);
                  // Half an ulp of the precision, plus the float32 evaluation's error.
                  const bound = halfUlp(exact * (1 + 1e-5), precision) + 1e-5 * Math.abs(exact) + 1e-7;
                  if (!(Math.abs(values[i * n + j] - exact) <= bound)) expect.fail(`${kernelName} ${m}×${n} [${i}, ${j}]: ${values[i * n + j]} vs ${exact}`);
                }
              }
            }
          }
          engine.dispose();
        } finally {
          await backend.dispose();
        }
      });

      it(`${precision}: products are the float64 products of the cached values within the float32 summation bound`, async () => {
        const backend = await start();
        try {
          const engine = await engineOf(backend, precision);
          for (const [rows, cols, l] of PRODUCT_SHAPES) {
            const K = cachedValues(rows * cols, precision, rows * 31 + cols);
            const A = randomMatrix(cols, l, cols + l).data.map((a) => 2 * a - 1);
            const out = new Float32Array(rows * l).fill(NaN);
            await engine.multiply(K, rows, cols, A, l, out);
            const values = decode(K, precision);
            expectFloat32Sums(out, rows, l, cols, (i, c, j) => values[i * cols + j] * A[j * l + c], `${rows}×${cols}×${l}`);
            if (engine.multiplyRows) {
              // The same rows kept in reverse order and given one by one: the same sums, bit for bit.
              const reversed = inReverse(K, rows, cols);
              const written = new Float32Array(rows * l).fill(NaN);
              const asked = new Set<number>();
              await engine.multiplyRows(rows, cols, (i) => {
                asked.add(i);
                return reversed.subarray((rows - 1 - i) * cols, (rows - i) * cols);
              }, A, l, written);
              expect([...asked].sort((a, b) => a - b)).toEqual(Array.from({ length: rows }, (_, i) => i));
              expect(written).toEqual(out);
              // A gathered row: one buffer the source fills anew for every row.
              const buffer = K.slice(0, cols);
              const gathered = new Float32Array(rows * l).fill(NaN);
              await engine.multiplyRows(rows, cols, (i) => {
                buffer.set(K.subarray(i * cols, (i + 1) * cols));
                return buffer;
              }, A, l, gathered);
              expect(gathered).toEqual(out);
            }
            const kept = engine.allocate?.(rows * cols);
            if (kept) {
              // The values kept in the engine's own memory, read in place: row by row in reverse
              // order, and whole (read in one pass, so summed in another order than in chunks).
              kept.set(inReverse(K, rows, cols));
              const inPlace = new Float32Array(rows * l).fill(NaN);
              await engine.multiplyRows!(rows, cols, (i) => kept.subarray((rows - 1 - i) * cols, (rows - i) * cols), A, l, inPlace);
              expectFloat32Sums(inPlace, rows, l, cols, (i, c, j) => values[i * cols + j] * A[j * l + c], `in place, by rows, ${rows}×${cols}×${l}`);
              kept.set(K);
              inPlace.fill(NaN);
              await engine.multiply(kept, rows, cols, A, l, inPlace);
              expectFloat32Sums(inPlace, rows, l, cols, (i, c, j) => values[i * cols + j] * A[j * l + c], `in place, whole, ${rows}×${cols}×${l}`);
              engine.free!(kept);
            }
          }
          if (engine.multiplyTransposedRows) {
            // Kᵀ·A for float32 rows: out (cols × l) against float64 sums, within the same bound.
            for (const [rows, cols, l] of PRODUCT_SHAPES) {
              const K = Float32Array.from(decode(cachedValues(rows * cols, 'float32', rows + 7 * cols), 'float32'));
              const A = randomMatrix(rows, l, rows + 2 * l).data.map((a) => 2 * a - 1);
              const out = new Float32Array(cols * l).fill(NaN);
              await engine.multiplyTransposedRows(rows, cols, (i) => K.subarray(i * cols, (i + 1) * cols), A, l, out);
              expectFloat32Sums(out, cols, l, rows, (j, c, i) => K[i * cols + j] * A[i * l + c], `transposed ${rows}×${cols}×${l}`);
              const kept = engine.allocate?.(rows * cols, true);
              if (kept) {
                // Rows kept in the engine's memory, given in reverse order.
                kept.set(inReverse(K, rows, cols));
                const inPlace = new Float32Array(cols * l).fill(NaN);
                await engine.multiplyTransposedRows(rows, cols, (i) => kept.subarray((rows - 1 - i) * cols, (rows - i) * cols) as Float32Array, A, l, inPlace);
                expectFloat32Sums(inPlace, cols, l, rows, (j, c, i) => K[i * cols + j] * A[i * l + c], `transposed in place ${rows}×${cols}×${l}`);
                engine.free!(kept);
              }
            }
            const none = Float32Array.of(NaN, NaN);
            await engine.multiplyTransposedRows(0, 1, () => expect.fail('no rows to write'), new Float32Array(0), 2, none);
            expect(Array.from(none)).toEqual([0, 0]);
          }
          // Empty products, and cached values of the wrong type.
          const out = Float32Array.of(NaN, NaN);
          await engine.multiply(precision === 'float32' ? new Float32Array(0) : new Uint16Array(0), 1, 0, new Float32Array(0), 2, out);
          expect(Array.from(out)).toEqual([0, 0]);
          const wrong = precision === 'float32' ? new Uint16Array(4) : new Float32Array(4);
          await expect(engine.multiply(wrong, 2, 2, new Float32Array(2), 1, new Float32Array(2))).rejects.toThrow(RangeError);
          engine.dispose();
        } finally {
          await backend.dispose();
        }
      });
    }

    it('float16 products read Inf and NaN as such', async () => {
      const backend = await start();
      try {
        const engine = await engineOf(backend, 'float16');
        // Rows: [1, Inf], [−Inf, 1], [NaN, 0], padded to 9 columns so that the SIMD loop sees them.
        const K = new Uint16Array(3 * 9);
        K.set([0x3c00, 0x7c00], 0);
        K.set([0xfc00, 0x3c00], 9);
        K.set([0x7e00, 0], 18);
        const A = new Float32Array(9).fill(0);
        A[0] = 1;
        A[1] = 1;
        const out = new Float32Array(3);
        await engine.multiply(K, 3, 9, A, 1, out);
        expect(Array.from(out)).toEqual([Infinity, -Infinity, NaN]);
      } finally {
        await backend.dispose();
      }
    });
  });
}
