/**
 * The kernel cache's subsample correction t = k(X_S, X_B)·G (src/solver/kernelCache.ts,
 * subsampleProduct) on the wasm backend, two ways side by side in one run, on a complete float16
 * cache: from the float32 panel K[·, S] (a batch's rows of it read whole, multiplied transposed by
 * the workers), against gathering K[S_i, B_j] value by value from the cached rows (the way without
 * a panel, and the way of engines without multiplyTransposedRows). The two answers are compared.
 *
 * Then EigenPro 3's correction at the centers, K_ZQ·c (all p rows of K_ZZ against the data level's
 * subsample Q, s = 2 000), on each of --backends: from a cache filled with Q in front (fillWhole(Q):
 * a run at the front of each row) against one filled in the points' own order (gathered value by
 * value), the answers compared.
 *
 *   npx tsx bench/subsampleCorrection.ts [--shapes 16000,16,26:4000,9,1] [--reps 10]
 *     [--centers 20000,10] [--backends wasm,onnx]
 *
 * Shapes are n,d,l (letter's and diamonds'), with s = m = 2 000; --centers is p,l (d = 16: the
 * product does not depend on d). Figures are medians of --reps alternating calls, each on a fresh
 * random batch (or c), after one warm-up call of each.
 */
import { chooseKernel, makeKernel } from '../kernels/index.js';
import { createBackend } from '../src/backends/select.js';
import { createWasmBackend } from '../src/backends/wasm/index.js';
import { KernelCache } from '../src/solver/kernelCache.js';
import { option } from './child.js';
import { median, uniformMatrix } from './timing.js';

const shapes = option('shapes', '16000,16,26:4000,9,1').split(':').map((shape) => shape.split(',').map(Number));
const reps = Number(option('reps', '10'));
const s = 2000;
const m = 2000;

/** A seeded permutation of 0…n−1. */
function permutation(n: number, seed: number): Int32Array {
  const values = Int32Array.from({ length: n }, (_, i) => i);
  let state = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const k = Math.floor((state / 2 ** 32) * (i + 1));
    [values[i], values[k]] = [values[k], values[i]];
  }
  return values;
}

/**
 * Milliseconds (medians of `reps`) of two ways to the same answer, called alternately after one
 * untimed call of each on repetition r's input (`input(r)`, made before the timer starts; `way(x,
 * out)` writes its answer into out), and the largest difference between their answers, relative
 * to the second's largest value.
 */
async function sideBySide<T>(
  length: number,
  input: (r: number) => T,
  way: readonly [(x: T, out: Float32Array) => Promise<unknown>, (x: T, out: Float32Array) => Promise<unknown>],
): Promise<{ first: number; second: number; difference: number }> {
  const outs = [new Float32Array(length), new Float32Array(length)];
  const times: [number[], number[]] = [[], []];
  let difference = 0;
  let size = 0;
  for (let r = 0; r <= reps; r++) {
    const x = input(r);
    for (const k of [0, 1]) {
      const started = performance.now();
      await way[k](x, outs[k]);
      if (r > 0) times[k].push(performance.now() - started);
    }
    for (let i = 0; i < length; i++) {
      difference = Math.max(difference, Math.abs(outs[0][i] - outs[1][i]));
      size = Math.max(size, Math.abs(outs[1][i]));
    }
  }
  return { first: median(times[0]), second: median(times[1]), difference: difference / size };
}

const backend = await createWasmBackend();
const kernel = makeKernel(chooseKernel('laplacian'), 4);
console.log(`subsample correction k(X_S, X_B)·G, s = m = ${s}, float16 cache, wasm (${backend.describe().threads} threads), median of ${reps}`);
console.log('n       d    l    panel     gather    gather ÷ panel  largest difference');
for (const [n, d, l] of shapes) {
  const X = uniformMatrix(n, d, n + d);
  const centers = await backend.createCenterSet(kernel, X, l);
  const S = permutation(n, 1).slice(0, s);
  const cache = new KernelCache(await backend.cacheEngine!('float16'), kernel, X, centers, m, S);
  const order = permutation(n, 2);
  cache.beginEpoch(order);
  const filled = new Float32Array(m * l);
  for (let b = 0; b < n; b += m) await cache.predict(order.subarray(b, b + m), filled);
  const G = uniformMatrix(m, l, 3).data.map((g) => g - 0.5);
  // The cache keeps a panel for its own subsample only: a copy of S takes the gathering way.
  const other = S.slice();
  const batch = (r: number) => permutation(n, 10 + r).slice(0, m);
  const { first: p, second: g, difference } = await sideBySide(s * l, batch, [(B, out) => cache.subsampleProduct(S, B, G, out), (B, out) => cache.subsampleProduct(other, B, G, out)]);
  console.log(`${String(n).padEnd(8)}${String(d).padEnd(5)}${String(l).padEnd(5)}${`${p.toFixed(2)} ms`.padEnd(10)}${`${g.toFixed(2)} ms`.padEnd(10)}${(g / p).toFixed(2).padEnd(16)}${difference.toExponential(1)} of the largest value`);
  cache.dispose();
  centers.dispose();
}
await backend.dispose();

const [p, outputs] = option('centers', '20000,10').split(',').map(Number);
const centerPoints = uniformMatrix(p, 16, p);
const Q = permutation(p, 4).slice(0, s);
const all = Int32Array.from({ length: p }, (_, i) => i);
console.log(`\nEigenPro 3's K_ZQ·c, p = ${p}, s = ${s}, l = ${outputs}, float16 K_ZZ, median of ${reps}`);
console.log('backend  Q in front  gathered  gathered ÷ front  largest difference');
for (const name of option('backends', 'wasm,onnx').split(',')) {
  const device = await createBackend(name as 'wasm' | 'onnx');
  const centers = await device.createCenterSet(kernel, centerPoints, outputs);
  const [front, own] = [new KernelCache(await device.cacheEngine!('float16'), kernel, centerPoints, centers, m), new KernelCache(await device.cacheEngine!('float16'), kernel, centerPoints, centers, m)];
  await front.fillWhole(Q);
  await own.fillWhole();
  const c = (r: number) => uniformMatrix(s, outputs, 20 + r).data.map((v) => v - 0.5);
  const { first: f, second: g, difference } = await sideBySide(p * outputs, c, [(C, out) => front.subsampleProduct(all, Q, C, out), (C, out) => own.subsampleProduct(all, Q, C, out)]);
  console.log(`${name.padEnd(9)}${`${f.toFixed(1)} ms`.padEnd(12)}${`${g.toFixed(1)} ms`.padEnd(10)}${(g / f).toFixed(2).padEnd(17)}${difference.toExponential(1)} of the largest value`);
  front.dispose();
  own.dispose();
  centers.dispose();
  await device.dispose();
}
