/**
 * The wasm backend's worker threads on either host: Node's worker_threads (reached through
 * process.getBuiltinModule, so that a browser bundle has no node: import) or Web Workers.
 */
import { KmfitError } from '../../errors.js';
import { nodeBuiltin } from '../system.js';
import type { WasmMemory, WasmModule } from './engine.js';
import { workerSource } from './protocol.js';

/** What a worker receives at start. All of it is structured-cloneable; the memories are shared. */
export interface WorkerStart {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly control: SharedArrayBuffer;
  readonly index: number;
}

/** One worker thread, as the pool sees it. */
export interface WorkerThread {
  /** Resolves when the worker has its instance and waits for jobs. */
  readonly ready: Promise<void>;
  /** Called once if the worker dies outside terminate(). */
  onLost(listener: (error: Error) => void): void;
  /** While held, the worker keeps a Node process alive (a pending Atomics.waitAsync alone does not). */
  hold(): void;
  release(): void;
  terminate(): Promise<void>;
}

type NodeWorkerThreads = typeof import('node:worker_threads');

/**
 * The parent's Node flags minus --input-type: under `node --input-type=module -e …` a worker that
 * inherited it would read its (CommonJS) source as a module and fail on require.
 */
function workerExecArgv(): string[] {
  const flags: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const flag = process.execArgv[i];
    if (flag === '--input-type') i++;
    else if (!flag.startsWith('--input-type=')) flags.push(flag);
  }
  return flags;
}

/**
 * A Worker given an explicit execArgv refuses V8 options in it (`node --expose-gc` →
 * ERR_WORKER_INVALID_EXEC_ARGV, naming them). V8 options are process-wide, so the worker has them
 * anyway: start it again without the ones it named.
 */
function newWorker(threads: NodeWorkerThreads, data: WorkerStart): InstanceType<NodeWorkerThreads['Worker']> {
  const execArgv = workerExecArgv();
  try {
    return new threads.Worker(workerSource('node'), { eval: true, execArgv, workerData: data });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    const refused = new Set(((error as Error).message.split(': ')[1] ?? '').split(', '));
    return new threads.Worker(workerSource('node'), { eval: true, execArgv: execArgv.filter((f) => !refused.has(f)), workerData: data });
  }
}

function startNodeWorker(threads: NodeWorkerThreads, data: WorkerStart): WorkerThread {
  const worker = newWorker(threads, data);
  let terminating = false;
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`a wasm worker exited during start-up (code ${code})`)));
  });
  return {
    ready: ready.then(() => {
      worker.removeAllListeners();
      worker.unref();
    }),
    onLost(listener) {
      worker.on('error', listener);
      worker.on('exit', (code) => {
        if (!terminating) listener(new Error(`a wasm worker exited unexpectedly (code ${code})`));
      });
    },
    hold: () => worker.ref(),
    release: () => worker.unref(),
    async terminate() {
      terminating = true;
      await worker.terminate();
    },
  };
}

/** The slice of the Web Worker API used here (the project's TypeScript lib has no DOM). */
interface WebWorker {
  postMessage(message: unknown): void;
  addEventListener(type: 'message' | 'error', listener: (event: { message?: string }) => void, options?: { once?: boolean }): void;
  terminate(): void;
}

function startWebWorker(data: WorkerStart): WorkerThread {
  const WorkerClass = Reflect.get(globalThis, 'Worker') as (new (url: string) => WebWorker) | undefined;
  const BlobClass = Reflect.get(globalThis, 'Blob') as (new (parts: string[], options: { type: string }) => object) | undefined;
  const urls = Reflect.get(globalThis, 'URL') as { createObjectURL(blob: object): string; revokeObjectURL(url: string): void };
  if (!WorkerClass || !BlobClass || typeof urls.createObjectURL !== 'function') {
    throw new Error('this engine has neither Node worker_threads nor Web Workers');
  }
  const url = urls.createObjectURL(new BlobClass([workerSource('web')], { type: 'text/javascript' }));
  const worker = new WorkerClass(url);
  const failure = (event: { message?: string }) => new Error(`a wasm worker failed: ${event.message ?? 'unknown error'}`);
  // A page whose Content Security Policy refuses workers from blob: URLs fails here, with no message.
  const notStarted = (event: { message?: string }) =>
    new KmfitError(
      'UNKNOWN_BACKEND',
      `The wasm backend's Web Workers did not start (${event.message ?? 'no reason given'}): a page's Content Security Policy ` +
        "must allow workers from blob: URLs (worker-src blob:). Or use backend: 'js'.",
    );
  const ready = new Promise<void>((resolve, reject) => {
    worker.addEventListener('message', () => resolve(), { once: true });
    worker.addEventListener('error', (event) => reject(notStarted(event)), { once: true });
  });
  worker.postMessage(data);
  return {
    ready: ready.finally(() => urls.revokeObjectURL(url)),
    onLost(listener) {
      worker.addEventListener('error', (event) => listener(failure(event)));
    },
    hold() {},
    release() {},
    async terminate() {
      worker.terminate();
    },
  };
}

/** Starts one worker running the wasm kernels, in Node or in a browser. */
export function startWorker(data: WorkerStart): WorkerThread {
  const threads = nodeBuiltin<NodeWorkerThreads>('node:worker_threads');
  return threads ? startNodeWorker(threads, data) : startWebWorker(data);
}
