/**
 * A bandwidth search's cost and worth (docs/benchmarks.md, "Bandwidth search"):
 *
 * 1. Cost: on MNIST's first 10 000 training points (d = 784), fit() with 5 gaussian bandwidths in
 *    one pass against fit() with one, side by side per backend, the median of --reps runs each;
 *    both with the kernel cache off (the search does not cache), the same validation data, batch
 *    size and epochs, so that the ratio is the price of the 4 extra candidates.
 * 2. Worth: on the diamonds sample (standardized, 3 000 training rows, the rest to test), the
 *    search's test R² and mse against each grid bandwidth trained alone on all training rows, the
 *    median heuristic (the grid's middle) among them.
 *
 *   npx tsx bench/search.ts [--reps 3] [--backends wasm,onnx] [--epochs 1] [--rows 10000] [--threads 2] [--batch-size M]
 *
 * --batch-size fixes the common batch (else the search's own, which follows the device limit the
 * capacity calibration measures, and so can differ between runs and machines).
 */
import path from 'node:path';
import { fit, loadDiamonds, openNpy } from '../src/index.js';
import { median } from './timing.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const reps = Number(option('reps', '3'));
const backends = option('backends', 'wasm,onnx').split(',') as ('wasm' | 'onnx')[];
const epochs = Number(option('epochs', '1'));
const rows = Number(option('rows', '10000'));
const threads = Number(option('threads', '2'));
const fixedBatch = args.includes('--batch-size') ? Number(option('batch-size', '')) : undefined;
const root = path.resolve(import.meta.dirname, '..');

function mnist(file: string, count: number) {
  const npy = openNpy(path.join(root, 'datasets', file)).firstRows(count);
  return { X: npy.columns(0, 784).readRange(0, count), y: Array.from(npy.columns(784, 785).readColumnFloat64()) };
}

async function cost(): Promise<void> {
  const train = mnist('mnist.npy', rows);
  const test = mnist('mnist-test.npy', 2000);
  const X = { data: train.X, shape: [rows, 784] as [number, number] };
  const validation = { X: { data: test.X, shape: [2000, 784] as [number, number] }, y: test.y };
  const widths = [2.5, 3.5, 5, 7, 10];
  console.log(`MNIST ${rows} × 784, gaussian, ${epochs} epoch(s), validation 2 000 test digits, cache off, ${threads} threads; median of ${reps}`);
  console.log('backend  one σ = 5: wall, training (s)  5 σ in one pass: wall, training (s)  ratio wall  ratio training  shares distances  batch  per-candidate test error');
  for (const backend of backends) {
    // The search's common batch size, given to both, so that both run the same iterations.
    const base = { kernel: 'gaussian', epochs, validation, cache: 'off' as const, backend, threads, seed: 0 };
    const probe = await fit(X, train.y, { ...base, bandwidth: widths, epochs: 1, ...(fixedBatch ? { batchSize: fixedBatch, deviceBatchLimit: fixedBatch } : {}) });
    const batchSize = probe.plan.batchSize;
    const deviceBatchLimit = probe.plan.deviceBatchLimit;
    await probe.dispose();
    const one: number[] = [];
    const five: number[] = [];
    // Training: the wall time after set-up (the iterations and the scoring after each epoch).
    const oneTraining: number[] = [];
    const fiveTraining: number[] = [];
    let errors = '';
    let shares = false;
    for (let r = 0; r < reps; r++) {
      let started = performance.now();
      const single = await fit(X, train.y, { ...base, bandwidth: 5, batchSize, deviceBatchLimit });
      one.push((performance.now() - started) / 1000);
      oneTraining.push(one.at(-1)! - single.plan.setupSeconds);
      await single.dispose();
      started = performance.now();
      const search = await fit(X, train.y, { ...base, bandwidth: widths, batchSize, deviceBatchLimit });
      five.push((performance.now() - started) / 1000);
      fiveTraining.push(five.at(-1)! - search.plan.setupSeconds);
      shares = search.search!.sharesDistances;
      errors = search.search!.candidates.map((c) => `${c.bandwidth}: ${(100 * c.validationError!.at(-1)!).toFixed(2)} %`).join(', ');
      await search.dispose();
    }
    const [a, at, b, bt] = [one, oneTraining, five, fiveTraining].map(median);
    const pair = (x: number, y: number) => `${x.toFixed(2)}, ${y.toFixed(2)}`;
    console.log(
      `${backend.padEnd(7)}  ${pair(a, at).padStart(30)}  ${pair(b, bt).padStart(37)}  ${(b / a).toFixed(2).padStart(10)}  ${(bt / at).toFixed(2).padStart(14)}  ` +
        `${String(shares).padStart(16)}  ${String(batchSize).padStart(5)}  ${errors}`,
    );
  }
}

async function worth(): Promise<void> {
  const { train, test } = await loadDiamonds({ trainSize: 3000 });
  const base = { task: 'regression' as const, scale: 'standard' as const, epochs: 5, kernel: 'laplacian', backend: backends[0], threads, seed: 0 };
  const search = await fit(train.X, train.y, { ...base, bandwidth: 'search' });
  const s = search.search!;
  console.log(`\ndiamonds: ${train.X.rows} training rows (the search holds out ${s.heldOut.replace(/^a seeded split of the training data: /, '')}), ${test.X.rows} test rows, laplacian, standardized, 5 epochs, ${base.backend}`);
  console.log('model                         test R²   test mse');
  const line = (name: string, r2: number, mse: number) => console.log(`${name.padEnd(28)}  ${r2.toFixed(4).padStart(7)}  ${mse.toExponential(3).padStart(9)}`);
  line(`search → σ = ${Number(search.kernel.bandwidth.toPrecision(4))}`, await search.score(test.X, test.y), await search.meanSquaredError(test.X, test.y));
  await search.dispose();
  for (const candidate of s.candidates) {
    const alone = await fit(train.X, train.y, { ...base, bandwidth: candidate.bandwidth });
    const name = `σ = ${Number(candidate.bandwidth.toPrecision(4))}${candidate.bandwidthSource.startsWith('1 ×') ? ' (median heuristic)' : ''}`;
    line(name, await alone.score(test.X, test.y), await alone.meanSquaredError(test.X, test.y));
    await alone.dispose();
  }
}

if (!args.includes('--worth-only')) await cost();
if (!args.includes('--cost-only')) await worth();
