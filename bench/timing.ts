/** Shared by the benchmarks: deterministic inputs and the median of timed repetitions. */
import { chooseKernel, makeKernel } from '../kernels/index.js';
import type { Backend } from '../src/backends/backend.js';
import type { Matrix } from '../src/matrix.js';

/** Deterministic uniform [0, 1) data, so every backend and the baseline see the same kind of input. */
export function uniformMatrix(rows: number, cols: number, seed: number): Matrix {
  let state = seed >>> 0;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state / 2 ** 32;
  }
  return { data, rows, cols };
}

/** uniformMatrix's values rounded to bytes ÷ 255, as images are (the onnx backend's byte form: kernels/onnx/bytes.ts). */
export function byteMatrix(rows: number, cols: number, seed: number): Matrix {
  const { data } = uniformMatrix(rows, cols, seed);
  return { data: data.map((u) => Math.floor(u * 256) / 255), rows, cols };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median seconds of `repetitions` calls, after one warm-up call (compilation, allocation). */
export async function timeMedian(repetitions: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  const seconds: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    const started = performance.now();
    await run();
    seconds.push((performance.now() - started) / 1000);
  }
  return median(seconds);
}

/** The laplacian with σ = √(d/6), the typical distance of uniform data: realistic transform inputs. */
export function benchKernel(d: number) {
  return makeKernel(chooseKernel('laplacian'), Math.sqrt(d / 6));
}

/** Median seconds of the materialized block k(X, Y), size × size in d dimensions. */
export function timeKernelBlock(backend: Backend, size: number, d: number, repetitions: number): Promise<number> {
  const kernel = benchKernel(d);
  const X = uniformMatrix(size, d, 4);
  const Y = uniformMatrix(size, d, 5);
  return timeMedian(repetitions, () => backend.kernelBlock(kernel, X, Y));
}
