/**
 * Kernel-cache products out = K·A (issue 18) for one batch of full MNIST: rows = 2000 cached rows
 * of cols = 60 000 float16 values (240 MB) times l = 10 weights, as an EigenPro epoch after the
 * first does 30 times. The wasm engine (default threads) beside the portable JavaScript engine, and
 * a baseline in the same run: a plain copy of the same bytes (TypedArray.set), the rate a product
 * that only read K once would reach. GB/s counts the bytes of K read; GFLOP/s-equivalent is
 * 2·rows·cols·l / seconds; the median of the repetitions after one warm-up call.
 *
 * Then blocks: a 2000 × 20 000 float16 block of 64 features (laplacian), rounded in SIMD by the
 * wasm engine, beside the portable engine over the same wasm backend (kernelBlock in float32, then
 * rounded in JavaScript) and kernelBlock alone.
 *
 *   npx tsx bench/cacheEngine.ts [repetitions = 5]
 *
 * The machine may be shared: compare figures within one run.
 */
import os from 'node:os';
import type { CacheEngine, CachePrecision } from '../src/backends/backend.js';
import { portableCacheEngine } from '../src/backends/cacheEngine.js';
import { JsBackend } from '../src/backends/js/index.js';
import { toBfloat16Bits, toFloat16Bits } from '../src/backends/halfPrecision.js';
import { createWasmBackend } from '../src/backends/wasm/index.js';
import type { Kernel } from '../kernels/kernel.js';
import type { Matrix } from '../src/matrix.js';
import { benchKernel, timeMedian, uniformMatrix } from './timing.js';

const repetitions = Math.max(1, Number(process.argv[2] ?? 5));
const rows = 2000;
const cols = 60_000;
const l = 10;
const flops = 2 * rows * cols * l;

/** Kernel-like values in [0, 1) as 16-bit patterns, through a table of 4096 rounded values (fast to fill). */
function cachedValues(precision: 'float16' | 'bfloat16'): Uint16Array {
  const round = precision === 'float16' ? toFloat16Bits : toBfloat16Bits;
  const table = Uint16Array.from({ length: 4096 }, (_, i) => round((i / 4096) ** 3));
  const values = new Uint16Array(rows * cols);
  let state = 7;
  for (let i = 0; i < values.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = table[state >>> 20];
  }
  return values;
}

function report(label: string, seconds: number, bytes: number): void {
  const ms = (seconds * 1000).toFixed(1).padStart(8);
  const gbs = (bytes / seconds / 1e9).toFixed(2).padStart(6);
  const gflops = (flops / seconds / 1e9).toFixed(2).padStart(6);
  console.log(`${label.padEnd(44)} ${ms} ms  ${gbs} GB/s of K  ${gflops} GFLOP/s-equivalent`);
}

const A = uniformMatrix(cols, l, 3).data;
const out = new Float32Array(rows * l);
console.log(`K·A: ${rows} × ${cols} cached values, l = ${l}; ${os.availableParallelism()} cores; median of ${repetitions}`);

const wasm = await createWasmBackend();
console.log(`wasm: ${wasm.describe().device}`);
const portable = portableCacheEngine(new JsBackend(), 'float16');
for (const precision of ['float16', 'bfloat16'] as const) {
  const K = cachedValues(precision);
  const copy = new Uint16Array(K.length);
  report(`memcpy of the same ${(K.byteLength / 1e6).toFixed(0)} MB (baseline)`, await timeMedian(repetitions, async () => copy.set(K)), K.byteLength);
  const engines: [string, CacheEngine][] = [[`wasm engine, ${precision}`, await wasm.cacheEngine!(precision as CachePrecision)]];
  if (precision === 'float16') engines.push(['portable engine (JavaScript), float16', portable]);
  for (const [label, engine] of engines) {
    const times = engine === portable ? Math.min(repetitions, 3) : repetitions;
    report(label, await timeMedian(times, () => engine.multiply(K, rows, cols, A, l, out)), K.byteLength);
    engine.dispose();
  }
}

const blockRows = 2000;
const blockCols = 20_000;
const d = 64;
const kernel = benchKernel(d);
const X = uniformMatrix(blockRows, d, 4);
const Y = uniformMatrix(blockCols, d, 5);
console.log(`blocks: ${blockRows} × ${blockCols}, d = ${d}, laplacian; median of ${Math.min(repetitions, 3)}`);
const rounded = new Uint16Array(blockRows * blockCols);
const simd = await wasm.cacheEngine!('float16');
const portableBlocks = portableCacheEngine(wasm, 'float16');
const blockEngines: [string, (kernel: Kernel, X: Matrix, Y: Matrix) => Promise<unknown>][] = [
  ['wasm kernelBlock, float32', (k, a, b) => wasm.kernelBlock(k, a, b)],
  ['wasm engine block, float16 (SIMD rounding)', (k, a, b) => simd.block(k, a, b, rounded, 0, blockCols)],
  ['portable engine over wasm, float16 (JS rounding)', (k, a, b) => portableBlocks.block(k, a, b, rounded, 0, blockCols)],
];
for (const [label, block] of blockEngines) {
  const seconds = await timeMedian(Math.min(repetitions, 3), () => block(kernel, X, Y));
  console.log(`${label.padEnd(52)} ${(seconds * 1000).toFixed(1).padStart(8)} ms`);
}
await wasm.dispose();
