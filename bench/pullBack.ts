/**
 * EigenPro 3's step on one batch, with and without the fused step (CenterSet.predictAndPullBack):
 * the residual k(X_B, Z)·α + offset and its values at the centers k(Z, X_B)·g, from one kernel
 * block, against the two blocks the solver computes otherwise (predict, then the batch as a center
 * set predicting at Z). Side by side, in one run, median of --reps:
 *
 *   npx tsx bench/pullBack.ts [--backend onnx] [--m 2000] [--p 10000,20000] [--d 784] [--l 10] [--reps 5]
 *
 * Prints per p: seconds for each way, their ratio, and the fused step's rate in GFLOP/s of one
 * block (m·p·d·2), beside the plain fused block's (predict alone) — the yardstick `kmfit bench` uses.
 */
import { createBackend, type BackendName } from '../src/backends/select.js';
import { benchKernel, median, uniformMatrix } from './timing.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const backendName = arg('backend', 'onnx') as BackendName;
const m = Number(arg('m', '2000'));
const d = Number(arg('d', '784'));
const l = Number(arg('l', '10'));
const reps = Number(arg('reps', '5'));
const ps = arg('p', '10000,20000').split(',').map(Number);

const backend = await createBackend(backendName);
const kernel = benchKernel(d);
console.log(`${backend.describe().device}; m = ${m}, d = ${d}, l = ${l}, median of ${reps}`);
console.log('p\tpredict\tpredict + pull-back as a set\tfused step\ttwo ways ÷ fused\tfused step GFLOP/s (one block)');
for (const p of ps) {
  const Z = uniformMatrix(p, d, 1);
  const X = uniformMatrix(m, d, 2);
  const centers = await backend.createCenterSet(kernel, Z, l);
  if (!centers.predictAndPullBack) {
    console.log(`${p}\tthe ${backend.name} backend has no fused step`);
    centers.dispose();
    continue;
  }
  await centers.setWeights(uniformMatrix(p, l, 3).data);
  const residual = new Float32Array(m * l);
  const pulled = new Float32Array(p * l);
  const offset = uniformMatrix(m, l, 4).data;
  const predict = () => centers.predict(X, residual);
  const twoBlocks = async () => {
    await centers.predict(X, residual);
    const batch = await backend.createCenterSet(kernel, X, l);
    await batch.setWeights(residual);
    await batch.predict(Z, pulled);
    batch.dispose();
  };
  const fused = () => centers.predictAndPullBack!(X, offset, -0.5, residual, pulled);
  const times: Record<'predict' | 'two' | 'fused', number[]> = { predict: [], two: [], fused: [] };
  // Warm-up (the step's graph is made on its first call), then the three ways in turn, rep by rep.
  await predict();
  await twoBlocks();
  await fused();
  for (let rep = 0; rep < reps; rep++) {
    for (const [name, run] of [['predict', predict], ['two', twoBlocks], ['fused', fused]] as const) {
      const started = performance.now();
      await run();
      times[name].push((performance.now() - started) / 1000);
    }
  }
  const [a, b, c] = [median(times.predict), median(times.two), median(times.fused)];
  const gflops = (m * p * d * 2) / c / 1e9;
  console.log(`${p}\t${a.toFixed(3)} s\t${b.toFixed(3)} s\t${c.toFixed(3)} s\t${(b / c).toFixed(2)}\t${gflops.toFixed(0)} (predict alone: ${((m * p * d * 2) / a / 1e9).toFixed(0)})`);
  centers.dispose();
}
await backend.dispose();
