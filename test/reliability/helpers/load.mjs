/**
 * Run by test/reliability/load.test.ts in its own process (node --expose-gc): 16 `fit` calls at
 * once on the wasm backend, then 10 000 `predict` calls from 8 concurrent callers on one model,
 * each compared with the same work done one call at a time. It samples the process's OS threads
 * (/proc/self/task) and resident memory while they run, prints the figures as JSON and returns:
 * the test checks that the process then exits by itself.
 */
import { readdirSync } from 'node:fs';
import { fit } from '../../../dist/index.js';

const FITS = 16;
const CALLERS = 8;
const PREDICTIONS = 10_000;
const THREADS = 2; // per wasm backend

const threads = () => readdirSync('/proc/self/task').length;
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

/** Samples threads and resident memory every 5 ms until stopped; returns the peaks. */
function sampler() {
  const peak = { threads: threads(), rssMiB: rssMiB() };
  const timer = setInterval(() => {
    peak.threads = Math.max(peak.threads, threads());
    peak.rssMiB = Math.max(peak.rssMiB, rssMiB());
  }, 5);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

/** 300 points in 6-D, three classes; each fit gets its own seed (its own subsample and order). */
const X = Array.from({ length: 300 }, (_, i) => Array.from({ length: 6 }, (_, j) => ((i * (7 + 2 * j) + j * 13) % 101) / 101));
const y = X.map((x) => (x[0] + x[1] > 1 ? 2 : x[2] > 0.5 ? 1 : 0));
const options = (seed) => ({ backend: 'wasm', threads: THREADS, deviceBatchLimit: 64, epochs: 2, seed });
const bits = (model) => Array.from(new Uint32Array(model.parts.weights.buffer, model.parts.weights.byteOffset, model.parts.weights.length));
const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

const report = {};
// Warm-up: the first run starts libuv's thread pool and V8's compiler threads, which stay.
await (await fit(X, y, options(99))).dispose();
await settle();
report.baseThreads = threads();
report.baseRssMiB = rssMiB();

// One at a time, then all at once: the same weights, bit for bit.
let started = performance.now();
const alone = [];
for (let seed = 0; seed < FITS; seed++) {
  const model = await fit(X, y, options(seed));
  alone.push(bits(model));
  await model.dispose();
}
report.sequentialFitSeconds = (performance.now() - started) / 1000;

let stop = sampler();
started = performance.now();
const together = await Promise.all(Array.from({ length: FITS }, (_, seed) => fit(X, y, options(seed))));
report.concurrentFitSeconds = (performance.now() - started) / 1000;
report.fitsIdentical = together.filter((model, seed) => same(bits(model), alone[seed])).length;
const fitPeak = stop();
report.fitPeakThreads = fitPeak.threads;
report.fitPeakRssMiB = fitPeak.rssMiB;
await Promise.all(together.slice(1).map((model) => model.dispose()));
const model = together[0];

// 10 000 predictions of 1 to 8 rows each from 8 callers at once, against the same inputs one at a time.
const inputs = Array.from({ length: 64 }, (_, k) => X.slice((k * 5) % 290, ((k * 5) % 290) + 1 + (k % 8)));
const expected = [];
for (const input of inputs) expected.push(Array.from((await model.predictScores(input)).data));
await settle();
const rssBeforePredictions = rssMiB();
stop = sampler();
started = performance.now();
let mismatches = 0;
let done = 0;
let rssAtHalf = 0;
await Promise.all(
  Array.from({ length: CALLERS }, async (_, caller) => {
    for (let call = caller; call < PREDICTIONS; call += CALLERS) {
      const scores = await model.predictScores(inputs[call % inputs.length]);
      if (!same(Array.from(scores.data), expected[call % inputs.length])) mismatches++;
      if (++done === PREDICTIONS / 2) rssAtHalf = rssMiB();
    }
  }),
);
report.predictSeconds = (performance.now() - started) / 1000;
const predictPeak = stop();
report.predictions = done;
report.predictMismatches = mismatches;
report.predictPeakThreads = predictPeak.threads;
report.predictPeakRssMiB = predictPeak.rssMiB;
report.rssBeforePredictionsMiB = rssBeforePredictions;
report.rssAtHalfMiB = rssAtHalf;
await model.dispose();
await settle();
report.rssAfterPredictionsMiB = rssMiB();
report.threadsAfter = threads();
report.maxRssMiB = (process.resourceUsage().maxRSS * 1024) / 2 ** 20;
process.stdout.write(JSON.stringify(report) + '\n');
