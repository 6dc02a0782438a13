/**
 * Faults memory in ahead of use, on a thread of its own, where faults are slow. Memory a process
 * has never touched is slow to get on virtual machines whose host backs the guest's memory lazily:
 * on this project's (Firecracker) about 3.7 ms per MB when the host has not given the guest those
 * pages yet, 26 s for a 7.1 GiB kernel cache, spent in the first write to each page. Most of that
 * time is the host's, not the guest's CPU: a worker thread that touches the pages while the solver
 * computes cost the computation 18 % of its speed and faulted at 95 % of its speed alone (scratch
 * measurement with onnxruntime's kernel block, 2 cores).
 *
 * Where the host has the pages already, a fault is the guest's own work (mostly zeroing the page):
 * 0.44–0.55 ms per MB on the same VMs (2026-12-07, `node` filling fresh arrays of 64 and 256 MB),
 * 0.8–1.57 ms per MiB timed page by page inside kmfit's runs. A thread touching pages ahead then
 * only takes a core from the computation: on letter (16 000² float16 plus its float32 panel,
 * 0.6 GiB, wasm, 2 cores) the filling epoch took 2.06–2.19 s with it and 1.38 s without. So the
 * first pages are faulted on the calling thread and timed (PROBE_BYTES), and the thread starts
 * only where that was slow (SLOW_FAULT_MS_PER_MIB).
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

/** Bytes at the start of the memory faulted on the calling thread to time a fault (1 024 pages). */
const PROBE_BYTES = 4 * 2 ** 20;
/**
 * Faults slower than this are the host's: the touching thread faulted at 3.7 ms per MiB there,
 * while this probe read 0.8–1.57 ms per MiB in kmfit's runs where the host had the pages already
 * (letter and diamonds, 2026-12-07; more than a plain fill's 0.44–0.55, which writes whole pages in
 * order). Between the two, with a margin of about 1.5 to each.
 */
const SLOW_FAULT_MS_PER_MIB = 2.5;

export interface Prefault {
  /** Stops touching (the memory is about to be dropped); idempotent. */
  stop(): void;
  /** Settles when every page has been touched, or touching stopped. */
  readonly finished: Promise<void>;
}

/**
 * Milliseconds per MiB that faulting in the first pages of `region` (at most PROBE_BYTES, touched
 * here, values kept) took; undefined for less than a page. Pages committed already cost almost
 * nothing: memory reused from earlier allocations then counts as fast.
 */
export function faultMillisecondsPerMiB(region: ArrayBufferView): number | undefined {
  const bytes = new Uint8Array(region.buffer, region.byteOffset, Math.min(region.byteLength, PROBE_BYTES));
  if (bytes.length < PAGE_BYTES) return undefined;
  const started = performance.now();
  for (let i = 0; i < bytes.length; i += PAGE_BYTES) Atomics.add(bytes, i, 0);
  return (performance.now() - started) / (bytes.length / 2 ** 20);
}

/**
 * prefault(regions) where faulting the first of them in here shows faults to be slow
 * (faultMillisecondsPerMiB ≥ SLOW_FAULT_MS_PER_MIB); else nothing is touched ahead. `timeFaults`
 * stands in for the measurement in tests.
 */
export function prefaultWhereSlow(regions: readonly ArrayBufferView[], timeFaults = faultMillisecondsPerMiB): Prefault & { readonly ahead: boolean } {
  const perMiB = regions.length > 0 ? timeFaults(regions[0]) : undefined;
  if (perMiB === undefined || perMiB < SLOW_FAULT_MS_PER_MIB) return { stop: () => undefined, finished: Promise.resolve(), ahead: false };
  return { ...prefault(regions), ahead: true };
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
