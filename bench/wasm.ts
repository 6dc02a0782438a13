/**
 * The wasm backend against the js backend in one run: the fused block k(X, Z)·α (laplacian,
 * m = 1024, n = 8192, l = 10, d = 784 and 64) for both builds with 1 and 2 threads, kernelBlock
 * 2000 × 2000 × 784, packing 60 000 × 784 centers, and the cost of a tiny call (thread round trip).
 * GFLOP/s-equivalent = 2·m·n·d / seconds, median of the repetitions (the first call is a warm-up).
 *
 *   npx tsx bench/wasm.ts [repetitions = 7] [--no-js]
 *
 * The machine is shared and noisy: compare ratios within one run, and repeat a run whose numbers
 * look disturbed.
 */
import os from 'node:os';
import type { Backend } from '../src/backends/backend.js';
import { JsBackend } from '../src/backends/js/index.js';
import { createWasmBackend, type WasmBackendOptions } from '../src/backends/wasm/index.js';
import { benchFusedBlock, type BenchShape } from './fusedBlock.js';
import { benchKernel, timeKernelBlock, timeMedian, uniformMatrix as uniform } from './timing.js';

const args = process.argv.slice(2);
const repetitions = Math.max(1, Number(args.find((a) => /^\d+$/.test(a)) ?? 7));
const withJs = !args.includes('--no-js');

const SHAPES: BenchShape[] = [
  { m: 1024, n: 8192, d: 784, l: 10 },
  { m: 1024, n: 8192, d: 64, l: 10 },
];
const CONFIGS: { label: string; options: WasmBackendOptions }[] = [
  { label: 'wasm relaxed, 1 thread', options: { variant: 'relaxed', threads: 1 } },
  { label: 'wasm relaxed, 2 threads', options: { variant: 'relaxed', threads: 2 } },
  { label: 'wasm simd, 1 thread', options: { variant: 'simd', threads: 1 } },
  { label: 'wasm simd, 2 threads', options: { variant: 'simd', threads: 2 } },
];

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function shapeName(s: BenchShape): string {
  return `m=${s.m} n=${s.n} d=${s.d} l=${s.l}`;
}

async function main(): Promise<void> {
  console.log(`${os.cpus()[0]?.model ?? 'CPU'}, ${os.availableParallelism()} cores, Node ${process.versions.node}; median of ${repetitions}`);
  const fused = new Map<string, number>(); // `${label}|${d}` → GFLOP/s
  for (const shape of SHAPES) {
    console.log(`\nfused block k(X, Z)·α, laplacian, ${shapeName(shape)} (GFLOP/s = 2mnd/s)`);
    const rows: [string, number, number][] = [];
    for (const { label, options } of CONFIGS) {
      const backend = await createWasmBackend(options);
      const result = await benchFusedBlock(backend, shape, repetitions);
      await backend.dispose();
      rows.push([label, result.gflops, result.medianSeconds]);
      fused.set(`${label}|${shape.d}`, result.gflops);
    }
    if (withJs) {
      const result = await benchFusedBlock(new JsBackend(), shape, Math.min(repetitions, shape.d > 256 ? 5 : repetitions));
      rows.push(['js', result.gflops, result.medianSeconds]);
      fused.set(`js|${shape.d}`, result.gflops);
    }
    const js = fused.get(`js|${shape.d}`);
    for (const [label, gflops, seconds] of rows) {
      const ratio = js ? `${(gflops / js).toFixed(1)}× js` : '';
      console.log(`  ${pad(label, 26)} ${gflops.toFixed(1).padStart(6)} GFLOP/s ${(seconds * 1000).toFixed(1).padStart(8)} ms  ${ratio}`);
    }
  }

  const kb = { m: 2000, n: 2000, d: 784 };
  console.log(`\nkernelBlock ${kb.m} × ${kb.n} × ${kb.d}, laplacian (materialized, copied out)`);
  for (const { label, options } of CONFIGS) {
    const backend = await createWasmBackend(options);
    const seconds = await timeKernelBlock(backend, kb.m, kb.d, repetitions);
    await backend.dispose();
    console.log(`  ${pad(label, 26)} ${((2 * kb.m * kb.n * kb.d) / seconds / 1e9).toFixed(1).padStart(6)} GFLOP/s ${(seconds * 1000).toFixed(1).padStart(8)} ms`);
  }
  if (withJs) {
    const seconds = await timeKernelBlock(new JsBackend(), kb.m, kb.d, 3);
    console.log(`  ${pad('js', 26)} ${((2 * kb.m * kb.n * kb.d) / seconds / 1e9).toFixed(1).padStart(6)} GFLOP/s ${(seconds * 1000).toFixed(1).padStart(8)} ms`);
  }

  console.log('\nother costs (wasm relaxed, 2 threads)');
  const kernel = benchKernel(784);
  const backend: Backend = await createWasmBackend({ variant: 'relaxed', threads: 2 });
  const Z = uniform(60000, 784, 6);
  const packSeconds = await timeMedian(3, async () => (await backend.createCenterSet(kernel, Z, 10)).dispose());
  console.log(`  createCenterSet 60000 × 784, l = 10: ${(packSeconds * 1000).toFixed(1)} ms`);
  const tiny = await backend.createCenterSet(kernel, uniform(8, 4, 7), 1);
  const tinyX = uniform(1, 4, 8);
  const out = new Float32Array(1);
  const callSeconds = await timeMedian(200, () => tiny.predict(tinyX, out));
  console.log(`  predict 1 × 8 × 4 (dispatch + thread round trip): ${(callSeconds * 1e6).toFixed(0)} µs`);
  await backend.dispose();

  const at784 = fused.get('wasm relaxed, 2 threads|784') ?? 0;
  const at64 = fused.get('wasm relaxed, 2 threads|64') ?? 0;
  const js784 = fused.get('js|784');
  console.log('\nacceptance (wasm relaxed, 2 threads):');
  console.log(`  d = 784: ${at784.toFixed(1)} GFLOP/s (≥ 45: ${at784 >= 45 ? 'yes' : 'NO'})` +
    (js784 ? `, ${(at784 / js784).toFixed(1)}× js (≥ 12: ${at784 / js784 >= 12 ? 'yes' : 'NO'})` : ''));
  console.log(`  d = 64:  ${at64.toFixed(1)} GFLOP/s (≥ 20: ${at64 >= 20 ? 'yes' : 'NO'})`);
}

await main();
