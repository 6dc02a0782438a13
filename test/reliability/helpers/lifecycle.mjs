/**
 * Run by test/reliability/lifecycle.test.ts in its own process (node --expose-gc): with argument
 * `wasm`, trains models one after another, concurrently, aborted, failing, and dropped without
 * dispose(); with `webgpu`, a few models on the GPU, one aborted. It counts the process's OS
 * threads (/proc/self/task) after each phase, prints the counts as JSON and then simply returns —
 * the test checks that the process exits by itself, with nothing left open.
 */
import { readdirSync } from 'node:fs';
import { fit } from '../../../dist/index.js';

const threads = () => readdirSync('/proc/self/task').length;
/** Lets finalizers run: models dropped without dispose(), and Dawn's objects for destroyed devices. */
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};
const X = Array.from({ length: 400 }, (_, i) => [i / 400, ((i * 7) % 13) / 13, ((i * 5) % 11) / 11]);
const y = X.map((x) => (x[0] + x[1] > 1 ? 1 : 0));

/** Options that abort the run from a timer 100 ms after its first iteration, and what it saw. */
function abortedByTimer() {
  const controller = new AbortController();
  const seen = { iterations: 0, atAbort: -1 };
  const onIteration = () => {
    if (seen.iterations++ === 0) {
      setTimeout(() => {
        seen.atAbort = seen.iterations;
        controller.abort();
      }, 100);
    }
  };
  return { options: { batchSize: 4, epochs: 200, signal: controller.signal, onIteration }, seen };
}

async function onWasm() {
  const wasm = { backend: 'wasm', threads: 2, deviceBatchLimit: 64, epochs: 1 };
  const counts = {};
  // Warm-up: the first run starts libuv's thread pool and V8's compiler threads, which stay.
  await (await fit(X, y, wasm)).dispose();
  await settle();
  counts.base = threads();

  for (let i = 0; i < 5; i++) {
    const model = await fit(X, y, wasm);
    await model.predict(X.slice(0, 10));
    await model.dispose();
  }
  counts.sequential = threads();

  const concurrent = await Promise.all([1, 2, 3].map((seed) => fit(X, y, { ...wasm, seed })));
  counts.concurrentLive = threads();
  await Promise.all(concurrent.map((model) => model.dispose()));
  counts.concurrent = threads();

  // Aborted from a timer, not from a callback: on js, whose calls never wait, and on wasm.
  const onJs = abortedByTimer();
  const aborted = await fit(X, y, { backend: 'js', ...onJs.options });
  counts.abortedIterationsAfterSignal = onJs.seen.iterations - onJs.seen.atAbort;
  counts.abortedStoppedBy = aborted.stoppedBy;
  await (await fit(X, y, { ...wasm, ...abortedByTimer().options })).dispose();
  counts.aborted = threads();

  // Runs that fail release their backend themselves.
  counts.failures = [];
  for (const options of [{ ...wasm, stepSize: 1e9 }, { ...wasm, signal: AbortSignal.abort() }]) {
    counts.failures.push(await fit(X, y, options).then(() => 'none', (error) => error.code));
  }
  counts.failed = threads();

  // Dropped without dispose(): the finalizer releases the workers.
  for (let i = 0; i < 4; i++) await fit(X, y, wasm);
  counts.abandonedLive = threads();
  await settle();
  counts.abandoned = threads();
  return counts;
}

async function onWebGpu() {
  const gpu = { backend: 'webgpu', deviceBatchLimit: 64, epochs: 1 };
  const counts = {};
  // Loading Dawn starts threads of its own that stay: count from after the first model.
  await (await fit(X, y, gpu)).dispose();
  await settle();
  counts.base = threads();
  await (await fit(X, y, gpu)).dispose();
  const aborted = await fit(X, y, { ...gpu, ...abortedByTimer().options });
  counts.stoppedBy = aborted.stoppedBy;
  await aborted.dispose();
  await settle();
  counts.after = threads();
  return counts;
}

const counts = process.argv.includes('webgpu') ? await onWebGpu() : await onWasm();
process.stdout.write(JSON.stringify(counts) + '\n');
