/**
 * Helper threads for the eigensolver's WebAssembly loops (./wasm.ts). Each helper instantiates
 * the same compiled module on the same shared memory. A call is cut into chunks (ranges of rows
 * or columns) that the calling thread and the helpers claim one at a time from a shared counter,
 * so that a helper the system has not scheduled costs at most the chunk it holds, not half the
 * call. A handoff costs microseconds against the milliseconds of a call, and the result is the
 * same, bit for bit, as on one thread: the callers cut only where the loops compute each entry
 * the same way (kernels/wasm/assembly/dense.ts says where).
 *
 * Node only (worker_threads; and the calling thread must be allowed to block in Atomics.wait,
 * which a page's main thread is not). Helpers join once started; until then, and where there are
 * none, the calling thread runs every chunk.
 */
import { nodeBuiltin } from '../../backends/system.js';
import type { WasmMemory } from '../../backends/wasm/engine.js';

/** The dense module's exports a chunk can call, by the number the chunk table carries. */
export const DENSE_CALLS = ['multiply', 'coefficientsOf', 'subtractCombination', 'combineRows', 'rotateSweeps'] as const;
export type DenseCall = (typeof DENSE_CALLS)[number];

/** Arguments of one call, at most this many (all numbers: pointers, counts, a scale). */
const MAX_ARGUMENTS = 9;
/** Chunks of one call, at most. */
const MAX_CHUNKS = 64;
/** Chunks per thread: small enough that a stalled helper holds little, few enough to be cheap. */
const CHUNKS_PER_THREAD = 4;
/** Control words (int32). */
const GENERATION = 0; // bumped when a call's chunks are posted: wakes the helpers
/**
 * The claim word: the call's chunk count in the high 16 bits, the next chunk in the low 16. One
 * atomic add claims a chunk and reads the count it belongs to, so that a helper that claims late
 * (after the call, once the table is rewritten) can never take a chunk for one of another call:
 * between calls the count is 0, and every claim is empty.
 */
const CLAIM = 1;
const COMPLETED = 2; // chunks of the call finished
const STARTED = 3; // helpers started
const STOP = 4; // 1: helpers return
const CONTROL_INTS = 8;
const ROW = 1 + MAX_ARGUMENTS; // a chunk: the call's number, then its arguments

const HELPER_SOURCE = `'use strict';
const { workerData } = require('node:worker_threads');
const { module, memory, control, table } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const calls = ${JSON.stringify(DENSE_CALLS)}.map((name) => exports[name]);
const state = new Int32Array(control);
const chunks = new Float64Array(table);
Atomics.add(state, ${STARTED}, 1);
let seen = 0;
for (;;) {
  Atomics.wait(state, ${GENERATION}, seen);
  if (Atomics.load(state, ${STOP}) === 1) break;
  seen = Atomics.load(state, ${GENERATION});
  for (;;) {
    const claim = Atomics.add(state, ${CLAIM}, 1);
    const chunk = claim & 0xffff;
    const count = claim >>> 16;
    if (chunk >= count) break;
    const a = chunk * ${ROW};
    calls[chunks[a]](${Array.from({ length: MAX_ARGUMENTS }, (_, i) => `chunks[a + ${i + 1}]`).join(', ')});
    if (Atomics.add(state, ${COMPLETED}, 1) + 1 === count) Atomics.notify(state, ${COMPLETED});
  }
}
`;

/** One chunk of a call: the arguments the export takes. */
export type Chunk = readonly number[];

export interface DenseTeam {
  /** Threads that share a call now: the calling one and the helpers that have started. */
  threads(): number;
  /** How many chunks to cut a call into now (1 on one thread), at most MAX_CHUNKS. */
  chunks(): number;
  /** Runs the chunks of one call (at most MAX_CHUNKS) and returns when all are done. */
  run(call: DenseCall, chunks: readonly Chunk[]): void;
  /** Settles once every helper has started (or failed to); for tests. */
  readonly ready: Promise<void>;
  /** Stops the helpers; the team then runs every chunk on the calling thread. */
  release(): void;
}

type NodeWorkerThreads = typeof import('node:worker_threads');
type Exports = Record<DenseCall, (...args: number[]) => void>;

/**
 * A team of `threads` threads (the calling one and threads − 1 helpers) over `memory`, or of one
 * thread where helpers cannot run or block.
 */
export function denseTeam(module: object, memory: WasmMemory, exports: Exports, threads: number): DenseTeam {
  const workers = nodeBuiltin<NodeWorkerThreads>('node:worker_threads');
  const helpers = workers && threads > 1 && canBlock() ? threads - 1 : 0;
  const state = new Int32Array(new SharedArrayBuffer(CONTROL_INTS * 4));
  const table = new Float64Array(new SharedArrayBuffer(MAX_CHUNKS * ROW * 8));
  const running: Array<{ terminate(): Promise<number> }> = [];
  let exited = 0;
  for (let h = 0; h < helpers; h++) {
    const worker = new workers!.Worker(HELPER_SOURCE, { eval: true, workerData: { module, memory, control: state.buffer, table: table.buffer } });
    // Never what keeps a process alive: a helper only serves calls its caller is blocked in.
    worker.unref();
    running.push(worker);
    // A helper that fails to start never claims a chunk: the others, or the caller, run them.
    worker.once('exit', () => exited++);
    worker.on('error', () => undefined);
  }
  const ready = new Promise<void>((resolve) => {
    const poll = (): void => {
      if (Atomics.load(state, STARTED) + exited >= helpers) resolve();
      else setTimeout(poll, 2).unref();
    };
    poll();
  });
  let released = false;
  const threadsNow = () => 1 + (released ? 0 : Math.min(helpers, Atomics.load(state, STARTED)));
  return {
    threads: threadsNow,
    chunks: () => (threadsNow() === 1 ? 1 : Math.min(MAX_CHUNKS, threadsNow() * CHUNKS_PER_THREAD)),
    run(call, chunks) {
      if (chunks.length === 0) return; // nothing to compute
      if (chunks.length > MAX_CHUNKS) throw new RangeError(`denseTeam: ${chunks.length} chunks, at most ${MAX_CHUNKS}`);
      const code = DENSE_CALLS.indexOf(call);
      if (chunks.length === 1 || released || Atomics.load(state, STARTED) === 0) {
        for (const chunk of chunks) exports[call](...chunk);
        return;
      }
      chunks.forEach((chunk, i) => {
        table[i * ROW] = code;
        chunk.forEach((value, j) => (table[i * ROW + 1 + j] = value));
      });
      Atomics.store(state, COMPLETED, 0);
      Atomics.store(state, CLAIM, chunks.length << 16);
      Atomics.add(state, GENERATION, 1);
      Atomics.notify(state, GENERATION);
      for (;;) {
        const chunk = Atomics.add(state, CLAIM, 1) & 0xffff;
        if (chunk >= chunks.length) break;
        exports[call](...chunks[chunk]);
        Atomics.add(state, COMPLETED, 1);
      }
      let completed: number;
      while ((completed = Atomics.load(state, COMPLETED)) < chunks.length) Atomics.wait(state, COMPLETED, completed);
      // Closed before the table is written again: a claim that arrives late finds nothing.
      Atomics.store(state, CLAIM, 0);
    },
    ready,
    release() {
      if (released) return;
      released = true;
      Atomics.store(state, STOP, 1);
      Atomics.add(state, GENERATION, 1);
      Atomics.notify(state, GENERATION);
      for (const worker of running) void worker.terminate();
    },
  };
}

/** Whether this thread may block in Atomics.wait (a browser page's main thread may not). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1);
    return true;
  } catch {
    return false;
  }
}

/**
 * Splits [0, total) into at most `parts` ranges whose inner bounds are multiples of `align`,
 * none of them empty; fewer parts when a part would be shorter than `minimum`.
 */
export function splitRange(total: number, parts: number, align: number, minimum: number): Array<[number, number]> {
  const count = Math.max(1, Math.min(parts, Math.floor(total / Math.max(minimum, align))));
  const bounds: Array<[number, number]> = [];
  let start = 0;
  for (let p = 1; p <= count; p++) {
    const end = p === count ? total : Math.min(total, Math.round((total * p) / count / align) * align);
    if (end > start) bounds.push([start, end]);
    start = Math.max(start, end);
  }
  return bounds;
}
