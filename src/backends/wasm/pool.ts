/**
 * The wasm backend's worker threads: one per core, each with its own instance of the same compiled
 * module over the one shared WebAssembly.Memory. A job is started by writing each worker's
 * parameters into the control block and bumping GENERATION (Atomics.notify wakes the workers,
 * which sleep in Atomics.wait); the main thread awaits PENDING reaching 0 with Atomics.waitAsync,
 * so it never blocks.
 *
 * In Node, workers are unref'd while idle, so that they never keep the process alive; they are
 * held (ref'd) for the duration of a job, so that awaiting a job does keep it alive (a pending
 * Atomics.waitAsync alone does not). In browsers they are Web Workers (host.ts).
 */
import type { WasmMemory, WasmModule } from './engine.js';
import { startWorker, type WorkerThread } from './host.js';
import {
  CUSTOM_TEXT_ID, CUSTOM_TEXT_LENGTH, CUSTOM_TEXT_MAX, CUSTOM_TEXT_OFFSET, ERROR, ERROR_LENGTH, ERROR_TEXT_MAX,
  ERROR_TEXT_OFFSET, GENERATION, OP_IDLE, OP_QUIT, P, PARAM_COUNT, PARAMS_OFFSET, PENDING, controlBytes,
} from './protocol.js';

type WaitAsyncResult = { async: false; value: string } | { async: true; value: Promise<string> };
type WaitAsync = (array: Int32Array, index: number, value: number) => WaitAsyncResult;

const waitAsyncFunction: unknown = Reflect.get(Atomics, 'waitAsync');
const waitAsync: WaitAsync | undefined =
  typeof waitAsyncFunction === 'function' ? (waitAsyncFunction as WaitAsync).bind(Atomics) : undefined;

/**
 * How long one wait for the workers lasts before the value is read again. A notification is
 * normally what ends it (and clears the timer); the timer only bounds the stall if one is ever
 * lost. (The stops for good that wasm tests showed on loaded machines were not lost notifies but
 * a late one that ran a job twice: the worker loop in protocol.ts now starts jobs by generation
 * only; test/backends/wasmPool.test.ts.)
 */
const RECHECK_MS = 100;

/** Resolves when i32[index] is 0. */
async function untilZero(i32: Int32Array, index: number): Promise<void> {
  for (;;) {
    const value = Atomics.load(i32, index);
    if (value === 0) return;
    if (waitAsync) {
      const result = waitAsync(i32, index, value);
      if (result.async) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([result.value, new Promise((resolve) => (timer = setTimeout(resolve, RECHECK_MS)))]);
        clearTimeout(timer);
      }
    } else {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}

export class WorkerPool {
  private readonly i32: Int32Array;
  private readonly errorText: Uint16Array;
  private readonly customText: Uint16Array;
  private readonly params: Float64Array[];
  /** Custom transform key → id. */
  private readonly customIds = new Map<string, number>();
  private failure: Error | undefined;
  private rejectRunning: ((error: Error) => void) | undefined;
  private terminating = false;

  private constructor(
    private readonly workers: WorkerThread[],
    control: SharedArrayBuffer,
  ) {
    this.i32 = new Int32Array(control);
    this.errorText = new Uint16Array(control, ERROR_TEXT_OFFSET, ERROR_TEXT_MAX);
    this.customText = new Uint16Array(control, CUSTOM_TEXT_OFFSET, CUSTOM_TEXT_MAX);
    this.params = workers.map((_, i) => new Float64Array(control, PARAMS_OFFSET + i * PARAM_COUNT * 8, PARAM_COUNT));
    for (const worker of workers) worker.onLost((error) => this.lost(error));
  }

  static async start(module: WasmModule, memory: WasmMemory, threads: number): Promise<WorkerPool> {
    const control = new SharedArrayBuffer(controlBytes(threads));
    const workers: WorkerThread[] = [];
    try {
      for (let index = 0; index < threads; index++) workers.push(startWorker({ module, memory, control, index }));
      await Promise.all(workers.map((worker) => worker.ready));
    } catch (error) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      throw error;
    }
    return new WorkerPool(workers, control);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Worker i's parameter block, to fill before `run`. */
  paramsOf(i: number): Float64Array {
    return this.params[i];
  }

  /**
   * An id for a custom transform, with its source left in the control block for the workers to
   * compile; call before `run`.
   * @throws Error when the formula's JSON does not fit the control block.
   */
  customId(key: string, js: string, constants: Readonly<Record<string, number>>): number {
    let id = this.customIds.get(key);
    if (id === undefined) {
      id = this.customIds.size + 1;
      this.customIds.set(key, id);
    }
    if (Atomics.load(this.i32, CUSTOM_TEXT_ID) !== id) {
      const json = JSON.stringify({ js, constants });
      if (json.length > CUSTOM_TEXT_MAX) {
        throw new Error(`the custom kernel's compiled form is ${json.length} characters; the wasm backend takes at most ${CUSTOM_TEXT_MAX}`);
      }
      for (let i = 0; i < json.length; i++) this.customText[i] = json.charCodeAt(i);
      Atomics.store(this.i32, CUSTOM_TEXT_LENGTH, json.length);
      Atomics.store(this.i32, CUSTOM_TEXT_ID, id);
    }
    return id;
  }

  /**
   * Runs the job whose parameters were written for workers [0, active); the others stay idle.
   * One job at a time: callers serialize.
   */
  async run(active: number): Promise<void> {
    if (this.failure) throw this.failure;
    for (let i = active; i < this.workers.length; i++) this.params[i][P.OP] = OP_IDLE;
    const { i32 } = this;
    Atomics.store(i32, ERROR, 0);
    Atomics.store(i32, PENDING, this.workers.length);
    for (const worker of this.workers) worker.hold();
    try {
      Atomics.add(i32, GENERATION, 1);
      Atomics.notify(i32, GENERATION);
      await Promise.race([
        untilZero(i32, PENDING),
        new Promise<never>((_, reject) => {
          this.rejectRunning = reject;
        }),
      ]);
    } finally {
      this.rejectRunning = undefined;
      for (const worker of this.workers) worker.release();
    }
    if (Atomics.load(i32, ERROR) !== 0) {
      const length = Atomics.load(i32, ERROR_LENGTH);
      throw new Error(`a wasm worker failed: ${String.fromCharCode(...this.errorText.subarray(0, length))}`);
    }
  }

  /** Stops every worker; the pool cannot run jobs afterwards. */
  async terminate(): Promise<void> {
    if (this.terminating) return;
    this.terminating = true;
    this.failure ??= new Error('the wasm backend has been disposed');
    for (const params of this.params) params[P.OP] = OP_QUIT;
    Atomics.add(this.i32, GENERATION, 1);
    Atomics.notify(this.i32, GENERATION);
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private lost(error: Error): void {
    this.failure ??= error;
    this.rejectRunning?.(error);
  }
}
