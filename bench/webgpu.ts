/**
 * Benchmark of the webgpu backend: the fused block out = k(X, Z)·α (laplacian, l = 10) at
 * m = 1024, n = 8192, d = 784 and 64, median of 5 repetitions after a warm-up, as
 * GFLOP/s = 2·m·n·d / seconds (upload of X and read-back of out included, as in training); then
 * the materialized block k(X, Y) at 2000 × 2000, d = 784.
 *
 *   npx tsx bench/webgpu.ts                         the shapes above
 *   npx tsx bench/webgpu.ts --reps 9 --shape 4096,60000,784,10
 *   npx tsx bench/webgpu.ts --js                    the js backend too, as a baseline (slow)
 *
 * A software adapter (lavapipe) is accepted and labelled: it gives 2–6 GFLOP/s, a correctness
 * path only. Without a GPU set XDG_RUNTIME_DIR (e.g. /tmp).
 */
import type { Backend } from '../src/backends/backend.js';
import { JsBackend } from '../src/backends/js/index.js';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import { benchFusedBlock, DEFAULT_SHAPES, type BenchShape } from './fusedBlock.js';
import { timeKernelBlock } from './timing.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function parseShape(text: string): BenchShape {
  const [m, n, d, l] = text.split(',').map(Number);
  if (![m, n, d, l].every((v) => Number.isInteger(v) && v > 0)) throw new Error(`--shape wants m,n,d,l; got ${text}`);
  return { m, n, d, l };
}

async function main(): Promise<void> {
  const reps = Number(option('--reps') ?? 5);
  const shapeText = option('--shape');
  const shapes = shapeText ? [parseShape(shapeText)] : DEFAULT_SHAPES;
  const backends: Backend[] = [await createWebGpuBackend({ allowSoftware: true })];
  if (process.argv.includes('--js')) backends.push(new JsBackend());
  const info = backends[0].describe();
  console.log(`webgpu device: ${info.device}${info.software ? ' — a software renderer: correctness path, not a speed path' : ''}`);
  console.log(`memory budget: ${backends[0].memoryBudget().source}`);
  console.log(`fused block, laplacian, median of ${reps} repetitions, GFLOP/s = 2·m·n·d / s`);
  for (const shape of shapes) {
    for (const backend of backends) {
      const r = await benchFusedBlock(backend, shape, reps);
      console.log(
        `  ${backend.name.padEnd(7)} m=${r.m} n=${r.n} d=${r.d} l=${r.l}: ${(r.medianSeconds * 1000).toFixed(1)} ms, ${r.gflops.toFixed(2)} GFLOP/s`,
      );
    }
  }
  if (!shapeText) {
    const [size, d] = [2000, 784];
    const seconds = await timeKernelBlock(backends[0], size, d, reps);
    console.log(
      `kernel block k(X, Y), ${size}×${size}, d=${d}: ${(seconds * 1000).toFixed(1)} ms, ${((2 * size * size * d) / seconds / 1e9).toFixed(2)} GFLOP/s`,
    );
  }
  for (const backend of backends) await backend.dispose();
}

await main();
