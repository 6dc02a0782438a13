/**
 * Faults memory in ahead of use, on a thread of its own. Memory a process has never touched is slow
 * to get on virtual machines that back it lazily: on this project's (Firecracker, pages reported
 * back to the host when freed) about 3.7 ms per MB, 26 s for a 7.1 GiB kernel cache, spent in the
 * first write to each page. Most of that time is the host's, not the guest's CPU: a worker thread
 * that touches the pages while the solver computes cost the computation 18 % of its speed and
 * faulted at 95 % of its speed alone (scratch measurement with onnxruntime's kernel block, 2 cores).
 *
 * The touch is an atomic add of 0 to one byte per page: it commits the page without changing a
 * value that the solver may be writing at the same moment. Node only (worker_threads); elsewhere
 * nothing is touched ahead and the first writes pay as they go.
 */
import { nodeBuiltin } from '../backends/system.js';

/** Bytes between touches: the smallest page size of the platforms kmfit runs on. */
const PAGE_BYTES = 4096;

const TOUCHER_SOURCE = `'use strict';
const { workerData, parentPort } = require('node:worker_threads');
for (const region of workerData.regions) {
  const bytes = new Uint8Array(region.buffer, region.byteOffset, region.byteLength);
  for (let i = 0; i < bytes.length; i += ${PAGE_BYTES}) Atomics.add(bytes, i, 0);
}
parentPort.postMessage('done');
`;

export interface Prefault {
  /** Stops touching (the memory is about to be dropped); idempotent. */
  stop(): void;
  /** Settles when every page has been touched, or touching stopped. */
  readonly finished: Promise<void>;
}

/**
 * Touches each page of `regions` (views of shared memory: a SharedArrayBuffer's, or a
 * WebAssembly.Memory's), in order, on a worker thread; does nothing where there are none.
 */
export function prefault(regions: readonly ArrayBufferView[]): Prefault {
  const threads = nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
  if (!threads || regions.length === 0) return { stop: () => undefined, finished: Promise.resolve() };
  const worker = new threads.Worker(TOUCHER_SOURCE, { eval: true, workerData: { regions } });
  // Never what keeps a process alive: a run that ends (or fails) before the touching does exits.
  worker.unref();
  let stopped = false;
  const finished = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const stop = () => {
    if (stopped) return;
    stopped = true;
    void worker.terminate();
  };
  worker.once('message', stop);
  worker.once('error', stop); // a failure only leaves the first writes slower
  return { stop, finished };
}
