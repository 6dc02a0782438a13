/** Picks the dense kernels (./kernels.ts) for this engine: WebAssembly SIMD where it runs, else JavaScript. */
import { jsDenseKernels, jsCorrectionKernels } from './js.js';
import type { DenseKernels, CorrectionKernels } from './kernels.js';
import { wasmDenseKernels, wasmCorrectionKernels } from './wasm.js';

/** `engine` forces one implementation (tests and benchmarks compare them); by default the fastest this engine runs. */
type Engine = 'wasm' | 'js';

/** What `wasm` makes, unless `engine` is 'js' or it makes nothing (this engine cannot run it): then what `js` makes. */
function pick<T>(engine: Engine | undefined, wasm: () => T | undefined, js: () => T, what: string): T {
  if (engine !== 'js') {
    const made = wasm();
    if (made) return made;
    if (engine === 'wasm') throw new Error(`the WebAssembly ${what} do not run in this engine`);
  }
  return js();
}

/**
 * The fastest kernels this engine runs for the row-major n×n float32 matrix, on up to `threads`
 * threads (the wasm ones; default 1).
 */
export function denseKernels(matrix: Float32Array, n: number, engine?: Engine, threads = 1): DenseKernels {
  return pick(engine, () => wasmDenseKernels(matrix, n, threads), () => jsDenseKernels(matrix, n), 'dense kernels');
}

/** The preconditioner's correction with V (s×r, column-major), in the fastest implementation this engine runs. */
export function correctionKernels(vectors: Float64Array, r: number, s: number, engine?: Engine): CorrectionKernels {
  return pick(engine, () => wasmCorrectionKernels(vectors, r, s), () => jsCorrectionKernels(vectors, r, s), 'correction kernels');
}
