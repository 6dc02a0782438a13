/**
 * The EigenPro 2 preconditioner's correction per step, V·diag(w)·Vᵀ·t in float64
 * (src/solver/dense/: CorrectionKernels), in JavaScript and in WebAssembly SIMD side by side, at the shapes of a 16 000 × 16 table
 * with 26 classes (s = 2 000, r = q − 1 = 279, l = 26) and of MNIST (s = 2 000, r = 500, l = 10).
 * The repetitions are interleaved — each round times one correction of each, in a rotating
 * order — so that a machine whose load changes slows both alike; each figure is the median over
 * the rounds, after one untimed call of each.
 *
 *   npx tsx bench/correction.ts [repetitions = 15]
 *
 * The machine may be shared: compare figures within one run.
 */
import os from 'node:os';
import { correctionKernels } from '../src/solver/dense/choose.js';
import { median, uniformMatrix } from './timing.js';

const repetitions = Math.max(1, Number(process.argv[2] ?? 15));
const SHAPES = [
  { s: 2000, r: 279, l: 26 },
  { s: 2000, r: 500, l: 10 },
];

console.log(`preconditioner correction, float64; ${os.availableParallelism()} cores; median of ${repetitions} interleaved rounds`);
console.log('   s     r    l   multiply-adds      js ms    wasm ms   js/wasm   largest |wasm − js| / largest |js|');
for (const { s, r, l } of SHAPES) {
  const vectors = Float64Array.from(uniformMatrix(r, s, 1).data, (v) => (v - 0.5) / Math.sqrt(s));
  const weights = Float64Array.from({ length: r }, (_, k) => 0.01 * (1 - k / r));
  const t = uniformMatrix(s, l, 2).data.map((v) => v - 0.5);
  const engines = (['js', 'wasm'] as const).map((engine) => ({ kernels: correctionKernels(vectors, r, s, engine), seconds: [] as number[] }));
  const results = engines.map(({ kernels }) => kernels.correction(t, l, weights)); // warm-up
  for (let round = 0; round < repetitions; round++) {
    for (let j = 0; j < engines.length; j++) {
      const e = engines[(round + j) % engines.length];
      const started = performance.now();
      e.kernels.correction(t, l, weights);
      e.seconds.push((performance.now() - started) / 1000);
    }
  }
  let difference = 0;
  let largest = 0;
  for (let i = 0; i < results[0].length; i++) {
    difference = Math.max(difference, Math.abs(results[1][i] - results[0][i]));
    largest = Math.max(largest, Math.abs(results[0][i]));
  }
  const [js, wasm] = engines.map((e) => median(e.seconds) * 1000);
  console.log(
    `${String(s).padStart(5)} ${String(r).padStart(5)} ${String(l).padStart(4)} ${(2 * r * s * l / 1e6).toFixed(1).padStart(12)} M ` +
      `${js.toFixed(2).padStart(10)} ${wasm.toFixed(2).padStart(10)} ${(js / wasm).toFixed(2).padStart(9)}   ${(difference / largest).toExponential(1)}`,
  );
}
