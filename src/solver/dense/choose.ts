/** Picks the dense kernels (./kernels.ts) for this engine: WebAssembly SIMD where it runs, else JavaScript. */
import { jsDenseKernels } from './js.js';
import type { DenseKernels } from './kernels.js';
import { wasmDenseKernels } from './wasm.js';

/**
 * The fastest kernels this engine runs for the row-major n×n float32 matrix, on up to `threads`
 * threads (the wasm ones; default 1); `engine` forces one (tests and benchmarks compare them).
 */
export function denseKernels(matrix: Float32Array, n: number, engine?: 'wasm' | 'js', threads = 1): DenseKernels {
  if (engine !== 'js') {
    const wasm = wasmDenseKernels(matrix, n, threads);
    if (wasm) return wasm;
    if (engine === 'wasm') throw new Error('the WebAssembly dense kernels do not run in this engine');
  }
  return jsDenseKernels(matrix, n);
}
