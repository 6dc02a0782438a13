/**
 * `onnx`: the fused block and kernel blocks as ONNX graphs (kernels/onnx/), run by onnxruntime-node
 * on the CPU: native GEMM kernels (MLAS, with the CPU's widest vectors) on every core, where
 * WebAssembly has 128-bit SIMD only. onnxruntime-node is an optional peer dependency, loaded when
 * this backend is created or probed.
 *
 * Graphs are built in code, one per kernel and shape family: fused graphs holding a large center
 * set's centers as initializers (pre-packed once for the GEMM; src/backends/onnx/centers.ts), and,
 * per kernel and feature count, one fused graph taking small center sets' centers as an input and
 * one kernel-block graph, made once. Calls are serialized through one queue, so that the solver
 * may issue them without awaiting each.
 */
import type { Kernel, KernelExpression } from '../../../kernels/kernel.js';
import {
  STREAMED_COLUMNS,
  blockModel,
  columnsInput,
  columnsShape,
  distanceForm,
  rowsInput,
  rowsShape,
  streamedModel,
  type DistanceForm,
} from '../../../kernels/onnx/models.js';
import { KmfitError } from '../../errors.js';
import type { Matrix } from '../../matrix.js';
import type { Backend, CenterSet, DeviceInfo, MemoryBudget } from '../backend.js';
import { checkBlock } from '../misuse.js';
import { SerialQueue } from '../queue.js';
import { cpuName, halfOfFreeMemory, threadCount } from '../system.js';
import { OnnxCenterSet, STREAMED_BYTES, outputData, rowsPerRun, type CenterSetContext } from './centers.js';
import { NoOnnxRuntimeError, onnxRuntime, type OnnxRuntime, type OrtSession, type OrtSessionOptions } from './runtime.js';

export interface OnnxBackendOptions {
  /** Threads of onnxruntime's intra-op pool; default one per core. */
  readonly threads?: number;
  /**
   * Center sets up to this many bytes are streamed (passed to a shared graph on every call) rather
   * than held in sessions of their own; default 16 MiB (src/backends/onnx/centers.ts). 0 makes every
   * set resident, Infinity every set streamed.
   */
  readonly streamedBytes?: number;
}


/** Whether onnxruntime-node loads here, and which version. */
export async function onnxSupport(): Promise<{ available: boolean; reason?: string; version?: string }> {
  try {
    return { available: true, version: (await onnxRuntime()).version };
  } catch (error) {
    if (error instanceof NoOnnxRuntimeError) return { available: false, reason: error.message };
    throw error;
  }
}

/** Options of every session; `arena`: whether its intermediates stay allocated between runs. */
function sessionOptions(threads: number, arena = true): OrtSessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // The arena keeps a session's intermediates from one run to the next: freed to malloc instead,
    // tiles of a few MB are returned to the system and faulted in again on every run (≈30 % of a
    // fused block on one thread). A memory pattern per input shape, though, would keep a block the
    // size of all of a run's intermediates in each session for good (+150 MB on full MNIST).
    enableCpuMemArena: arena,
    enableMemPattern: false,
    // Errors only: onnxruntime warns about things that are no problem here.
    logSeverityLevel: 3,
    // Each session has its own thread pool: threads that spin between runs would take the cores
    // from the next session's pool (and from the host's work between calls).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/**
 * Starts the onnx backend.
 * @throws KmfitError INVALID_OPTION for a bad `threads`; UNKNOWN_BACKEND where onnxruntime-node is
 *   not installed or does not load (the message says how to install it).
 */
export async function createOnnxBackend(options: OnnxBackendOptions = {}): Promise<Backend> {
  const threads = threadCount(options.threads);
  const streamedBytes = options.streamedBytes ?? STREAMED_BYTES;
  if (!(streamedBytes >= 0)) {
    throw new KmfitError('INVALID_OPTION', `streamedBytes must be a number ≥ 0; got ${String(options.streamedBytes)}. Leave it out for the default.`);
  }
  let runtime: OnnxRuntime;
  try {
    runtime = await onnxRuntime();
  } catch (error) {
    if (!(error instanceof NoOnnxRuntimeError)) throw error;
    throw new KmfitError('UNKNOWN_BACKEND', `The onnx backend is not available here: ${error.message}. Or use backend: 'wasm'.`, {
      cause: error,
    });
  }
  return new OnnxBackend(runtime, threads, streamedBytes);
}

class OnnxBackend implements Backend {
  readonly name = 'onnx';
  private readonly context: CenterSetContext;
  /** Graphs with no centers of their own, per kind, kernel and feature count: made once. */
  private readonly sharedSessions = new Map<string, Promise<OrtSession>>();
  private readonly centerSets = new Set<OnnxCenterSet>();
  private disposal: Promise<void> | undefined;

  constructor(
    private readonly runtime: OnnxRuntime,
    private readonly threads: number,
    streamedBytes: number,
  ) {
    this.context = {
      runtime,
      options: sessionOptions(threads),
      queue: new SerialQueue(),
      streamedBytes,
      streamedSession: (kernel, form, d) => this.sharedSession('streamed', kernel, form, d),
      released: (set) => this.centerSets.delete(set),
    };
  }

  async createCenterSet(kernel: Kernel, centers: Matrix, outputs: number): Promise<CenterSet> {
    this.check();
    const set = await OnnxCenterSet.create(this.context, kernel.expression, centers, outputs);
    this.centerSets.add(set);
    return set;
  }

  kernelBlock(kernel: Kernel, X: Matrix, Y: Matrix): Promise<Float32Array> {
    return this.context.queue.run(async () => {
      this.check();
      const { rows: m, cols: d } = X;
      const n = Y.rows;
      checkBlock(X, Y);
      const result = new Float32Array(m * n);
      if (m === 0 || n === 0) return result;
      const form = distanceForm(d);
      const session = await this.sharedSession('block', kernel.expression, form, d);
      const x = rowsInput(form, X);
      const y = columnsInput(form, Y);
      const xWidth = x.length / m;
      const yWidth = y.length / n;
      const columns = Math.min(n, STREAMED_COLUMNS[form]);
      const rows = rowsPerRun(form, columns, d);
      for (let c0 = 0; c0 < n; c0 += columns) {
        const width = Math.min(columns, n - c0);
        const yTensor = this.runtime.tensor(y.subarray(c0 * yWidth, (c0 + width) * yWidth), columnsShape(form, width, d));
        for (let r0 = 0; r0 < m; r0 += rows) {
          const height = Math.min(rows, m - r0);
          const xTensor = this.runtime.tensor(x.subarray(r0 * xWidth, (r0 + height) * xWidth), rowsShape(form, height, d));
          const tile = outputData(await session.run({ x: xTensor, y: yTensor }), 'k');
          if (width === n) result.set(tile, r0 * n);
          else for (let i = 0; i < height; i++) result.set(tile.subarray(i * width, (i + 1) * width), (r0 + i) * n + c0);
        }
      }
      return result;
    });
  }

  memoryBudget(): MemoryBudget {
    return halfOfFreeMemory();
  }

  describe(): DeviceInfo {
    const threads = this.threads;
    return {
      device: `${cpuName()} (${threads} thread${threads === 1 ? '' : 's'}), onnxruntime-node ${this.runtime.version} (MLAS)`,
      threads,
      parallel: true,
    };
  }

  /** Waits for the calls already made, then releases every session; later calls throw. */
  dispose(): Promise<void> {
    this.disposal ??= this.context.queue.run(async () => {
      const shared = [...this.sharedSessions.values()];
      this.sharedSessions.clear();
      const sets = [...this.centerSets];
      this.centerSets.clear();
      await Promise.all([...shared.map(async (session) => (await session).release()), ...sets.map((set) => set.release())]);
    });
    return this.disposal;
  }

  /** The graph of `kind` (kernels/onnx/models.ts blockModel, streamedModel) for a kernel and d, made once. */
  private sharedSession(kind: 'block' | 'streamed', kernel: KernelExpression, form: DistanceForm, d: number): Promise<OrtSession> {
    const key = `${kind}|${form}|${d}|${kernel.js}|${JSON.stringify(Object.entries(kernel.constants).sort())}`;
    let session = this.sharedSessions.get(key);
    if (!session) {
      const model = kind === 'block' ? blockModel(kernel, form, d) : streamedModel(kernel, form, d);
      // Kernel blocks are few (the set-up's K_SS) and large: an arena would keep their tiles for good.
      const options = kind === 'block' ? sessionOptions(this.threads, false) : this.context.options;
      session = model.then((bytes) => this.runtime.createSession(bytes, options));
      this.sharedSessions.set(key, session);
      // A failed creation (a formula ONNX cannot run) is not kept: the next call reports it again.
      session.catch(() => this.sharedSessions.delete(key));
    }
    return session;
  }

  private check(): void {
    if (this.disposal) throw new Error('the onnx backend has been disposed');
  }
}
