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
import { byteRows, hasByteForm, rowRangeWithByteForm, takeRowsWithByteForm, withByteForm, type ByteColumns } from '../../../kernels/onnx/bytes.js';
import {
  blockModel,
  byteBlockModel,
  byteFormColumns,
  byteFormDivisor,
  byteStreamedModel,
  cachedProductModel,
  transposedProductModel,
  columnsInput,
  columnsShape,
  distanceForm,
  rowsInput,
  rowsShape,
  streamedGroupModel,
  streamedModel,
  valueBytes,
  type DistanceForm,
  type FormValues,
  type OnnxCachePrecision,
} from '../../../kernels/onnx/models.js';
import { KmfitError } from '../../errors.js';
import { takeRows, type Matrix } from '../../matrix.js';
import type { Backend, CacheEngine, CachedValues, CachePrecision, CenterGroup, CenterSet, DeviceInfo, MemoryBudget, RowSource } from '../backend.js';
import { checkBlock, checkBlockOutput, checkCachedProduct, checkTransposedProduct } from '../misuse.js';
import { SerialQueue } from '../queue.js';
import { cpuName, halfOfFreeMemory, threadCount } from '../system.js';
import { portableCacheEngine } from '../cacheEngine.js';
import { inGatheredRuns, rowsPerRun } from '../gatheredRuns.js';
import { OnnxCenterSet, STREAMED_BYTES, outputData, type CenterSetContext, type Releasable } from './centers.js';
import { OnnxCenterGroup } from './group.js';
import { integerGemmIsExact } from './integerGemm.js';
import { NoOnnxRuntimeError, onnxRuntime, type OnnxRuntime, type OrtSession, type OrtSessionOptions, type OrtTensor } from './runtime.js';

/** Y's columns inputs for the kernel-block graphs, made when first asked for. */
interface BlockColumns {
  /** columnsInput's, for the float form `form`. */
  float(form: DistanceForm): FormValues;
  /** The byte form's, where Y's values are bytes (kernels/onnx/models.ts byteFormColumns); else undefined. */
  bytes(): ByteColumns | undefined;
}

/** Kernel blocks: rows per run (a batch's), and the bytes of a run's intermediate (its distances). */
const BLOCK_ROWS = 2048;
const BLOCK_RUN_BYTES = 32 * 2 ** 20;
/**
 * A block's runs take whole rows where this many fit in BLOCK_RUN_BYTES: each run's tile is then a
 * stretch of the output, which onnxruntime writes in place. Fewer rows per run would pack the
 * columns again too often (see block()).
 */
const WHOLE_ROW_RUN_MIN_ROWS = 512;
/** Bytes of cached rows, widened to float32, per run of a cached product (about L3-sized runs measured no faster). */
const PRODUCT_RUN_BYTES = 32 * 2 ** 20;

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

/** The graphs an onnx backend makes once and shares (sharedSession), by kind. */
type SharedGraph = 'block' | 'byte block' | 'streamed' | 'byte streamed' | 'streamed group' | 'byte streamed group' | 'product' | 'transposed product';

/** The model of a shared graph: kernels[0] for the single-kernel kinds, all of them for a group. */
function sharedGraphModel(
  kind: SharedGraph, kernels: readonly KernelExpression[], form: DistanceForm, d: number, precision: OnnxCachePrecision, divisor: number,
): Promise<Uint8Array> {
  switch (kind) {
    case 'product':
      return cachedProductModel(precision);
    case 'transposed product':
      return transposedProductModel();
    case 'block':
      return blockModel(kernels[0], form, d, precision);
    case 'byte block':
      return byteBlockModel(kernels[0], d, divisor, precision);
    case 'streamed':
      return streamedModel(kernels[0], form, d);
    case 'byte streamed':
      return byteStreamedModel(kernels[0], d, divisor);
    case 'streamed group':
    case 'byte streamed group':
      return streamedGroupModel(kernels, form, d, kind === 'byte streamed group' ? divisor : undefined);
  }
}

class OnnxBackend implements Backend {
  readonly name = 'onnx';
  /** The float16 and float32 engines have multiplyTransposedRows (bfloat16 takes the portable engine, which keeps no panel). */
  readonly cacheTransposedProducts = true;
  private readonly context: CenterSetContext;
  /** Graphs with no centers of their own, per kind, kernel(s) and feature count: made once. */
  private readonly sharedSessions = new Map<string, Promise<OrtSession>>();
  /** Center sets and groups, released when the backend is disposed. */
  private readonly centerSets = new Set<Releasable>();
  private disposal: Promise<void> | undefined;
  /**
   * Plain memory that the blocks' spare tiles and the products' runs reuse, grown as asked (the
   * queue runs one call at a time): fresh memory for each call was faulted in again at every step.
   */
  private scratchMemory = new ArrayBuffer(0);

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
      streamedSession: (kernel, form, d, divisor) =>
        divisor === undefined ? this.sharedSession('streamed', [kernel], form, d) : this.sharedSession('byte streamed', [kernel], form, d, 'float32', divisor),
      streamedGroupSession: (kernels, form, d, divisor) =>
        divisor === undefined ? this.sharedSession('streamed group', kernels, form, d) : this.sharedSession('byte streamed group', kernels, form, d, 'float32', divisor),
      byteFormOf: async (centers) => {
        const divisor = byteFormDivisor(centers);
        return divisor !== undefined && (await this.integerGemmIsExact()) ? divisor : undefined;
      },
      byteColumnsOf: async (centers) => {
        const columns = byteFormColumns(centers);
        return columns && (await this.integerGemmIsExact()) ? columns : undefined;
      },
      released: (set) => this.centerSets.delete(set),
    };
  }

  /** Whether the byte form's integer GEMM is exact on this CPU (integerGemm.ts; probed once per session options). */
  private integerGemmIsExact(): Promise<boolean> {
    return integerGemmIsExact(this.runtime, this.context.options);
  }

  /** Whether byte data take the integer GEMM on this CPU (the probe of integerGemm.ts). */
  async dataForms(): Promise<readonly string[]> {
    return [
      (await this.integerGemmIsExact())
        ? 'byte data (0–255, or ÷ 255): distances from the integer GEMM, exact on this CPU (its dot products add into int32)'
        : "byte data: the float form (this CPU's integer GEMM adds pairs of products in saturating 16-bit integers, which would give wrong distances)",
    ];
  }

  /** The byte form, where the centers are bytes: context.byteFormOf's choice, with why where the CPU declines it. */
  async distancesFor(centers: Matrix): Promise<string | undefined> {
    const divisor = byteFormDivisor(centers);
    if (divisor === undefined) return undefined;
    const bytes = divisor === 1 ? 'bytes' : 'bytes ÷ 255';
    return (await this.integerGemmIsExact())
      ? `integer GEMM, exact: the centers are ${bytes}, and so are the rows that come in that form`
      : `float GEMM: the centers are ${bytes}, but this CPU's integer GEMM is not exact (kmfit devices)`;
  }

  /** The byte form of rows that several center sets take in turn, made once (kernels/onnx/bytes.ts). */
  prepareRows(X: Matrix): Matrix {
    return withByteForm(X);
  }

  /** Rows of prepared rows keep the bytes those have read (gathered); rows of others are a plain copy. */
  takeRows(X: Matrix, indices: Int32Array): Matrix {
    return hasByteForm(X) ? takeRowsWithByteForm(X, indices) : takeRows(X, indices);
  }

  async createCenterSet(kernel: Kernel, centers: Matrix, outputs: number): Promise<CenterSet> {
    this.check();
    const set = await OnnxCenterSet.create(this.context, kernel.expression, centers, outputs);
    this.centerSets.add(set);
    return set;
  }

  /** One graph per shard computes each block's distances once for every kernel (group.ts). */
  async createCenterGroup(kernels: readonly Kernel[], centers: Matrix, outputs: number): Promise<CenterGroup> {
    this.check();
    const group = await OnnxCenterGroup.create(this.context, kernels.map((kernel) => kernel.expression), centers, outputs);
    for (const owner of [...group.members, group]) this.centerSets.add(owner);
    return group;
  }

  kernelBlock(kernel: Kernel, X: Matrix, Y: Matrix): Promise<Float32Array> {
    const out = new Float32Array(X.rows * Y.rows);
    const columns: BlockColumns = { float: (form) => columnsInput(form, Y), bytes: () => byteFormColumns(Y) };
    return this.block(kernel, X, Y, 'float32', columns, out, 0, Y.rows).then(() => out);
  }

  /**
   * Blocks rounded to the cache's precision by the graph itself, and products in MLAS's SGEMM.
   * A cache fills with blocks whose columns are suffixes of one matrix (its points in fill order):
   * the engine prepares that matrix's columns input once and serves each suffix from it (preparing
   * 60 000 × 784 takes ≈1 s, as long as the block's GEMM). onnxruntime-node's JavaScript binding
   * has no bfloat16 tensors: that precision takes the portable engine.
   */
  cacheEngine(precision: CachePrecision): Promise<CacheEngine> {
    this.check();
    if (precision === 'bfloat16') return Promise.resolve(portableCacheEngine(this, precision));
    const own: OnnxCachePrecision = precision;
    // The last matrix prepared (the points in fill order, or the Y that began it: rows from
    // prepareRows keep their byte form), and its columns inputs as they are asked for.
    let prepared: { readonly source: Float32Array; readonly matrix: Matrix; float?: { form: DistanceForm; values: FormValues }; bytes?: ByteColumns | null } | undefined;
    // Where M's rows lie among the prepared matrix's: the first of them, or undefined.
    const runIn = (M: Matrix): number | undefined => {
      const p = prepared;
      if (!p || M.data.buffer !== p.source.buffer || M.cols !== p.matrix.cols) return undefined;
      const offset = M.data.byteOffset - p.source.byteOffset;
      const start = offset / (M.cols * Float32Array.BYTES_PER_ELEMENT);
      return offset >= 0 && Number.isInteger(start) && start + M.rows <= p.matrix.rows ? start : undefined;
    };
    // A block's rows that are a run of the prepared matrix's (a fill's new rows) see its bytes.
    const rowsOf = (X: Matrix): Matrix => {
      const start = runIn(X);
      return start !== undefined && hasByteForm(prepared!.matrix) ? rowRangeWithByteForm(prepared!.matrix, start, start + X.rows) : X;
    };
    // A block's columns that end where the prepared matrix does (a fill's suffix) are served from
    // its inputs; any others begin a new one.
    const columnsOf = (Y: Matrix): BlockColumns => {
      const start = runIn(Y);
      const whole = start !== undefined && start + Y.rows === prepared!.matrix.rows ? prepared! : (prepared = { source: Y.data.subarray(0, Y.rows * Y.cols), matrix: Y });
      const { matrix } = whole;
      const skipped = matrix.rows - Y.rows;
      return {
        float: (form) => {
          if (whole.float?.form !== form) whole.float = { form, values: columnsInput(form, matrix) };
          return whole.float.values.subarray((whole.float.values.length / matrix.rows) * skipped);
        },
        bytes: () => {
          if (whole.bytes === undefined) whole.bytes = byteFormColumns(matrix) ?? null;
          const all = whole.bytes;
          return all ? { divisor: all.divisor, values: all.values.subarray(skipped * matrix.cols), norms: all.norms.subarray(skipped) } : undefined;
        },
      };
    };
    return Promise.resolve({
      precision,
      block: (kernel, X, Y, out, offset, stride) => this.block(kernel, rowsOf(X), Y, own, columnsOf(Y), out, offset, stride),
      orderRows: (X, order) => {
        const ordered = this.takeRows(X, order);
        prepared = { source: ordered.data, matrix: ordered };
        return ordered;
      },
      multiply: (K, rows, cols, A, l, out) => this.cachedProduct(own, K, rows, cols, A, l, out),
      multiplyTransposedRows: (rows, cols, rowAt, A, l, out) => this.transposedProduct(rows, cols, rowAt, A, l, out),
      dispose: () => void (prepared = undefined), // its sessions are the backend's shared ones
    });
  }

  /**
   * k(X, Y) in `precision` into out[offset + i·stride + j], in runs of all rows against a strip of
   * columns (the GEMM packs the columns once per run, so short runs would pack them again and
   * again). `columns` gives Y's columns input; the byte form where X and Y are bytes over one divisor.
   */
  private block(
    kernel: Kernel,
    X: Matrix,
    Y: Matrix,
    precision: OnnxCachePrecision,
    columnsOf: BlockColumns,
    out: CachedValues,
    offset: number,
    stride: number,
  ): Promise<void> {
    return this.context.queue.run(async () => {
      this.check();
      const { rows: m, cols: d } = X;
      const n = Y.rows;
      checkBlock(X, Y);
      checkBlockOutput(precision, out, m, n, offset, stride);
      if (m === 0 || n === 0) return;
      const form = distanceForm(d);
      const byteY = columnsOf.bytes();
      const byteX = byteY && (await this.integerGemmIsExact()) ? byteRows(X, byteY.divisor) : undefined;
      const bytes = byteX && byteY ? { x: byteX, y: byteY } : undefined;
      const session = bytes
        ? await this.sharedSession('byte block', [kernel.expression], form, d, precision, bytes.y.divisor)
        : await this.sharedSession('block', [kernel.expression], form, d, precision);
      const x = bytes ? undefined : rowsInput(form, X);
      const y = bytes ? undefined : columnsOf.float(form);
      const xWidth = x ? x.length / m : d;
      const yWidth = y ? y.length / n : d;
      const wholeRows = Math.floor(BLOCK_RUN_BYTES / (n * valueBytes(form)));
      const columns = wholeRows >= WHOLE_ROW_RUN_MIN_ROWS ? n : Math.floor(BLOCK_RUN_BYTES / (BLOCK_ROWS * valueBytes(form)));
      const rows = Math.min(m, BLOCK_ROWS, columns === n ? wholeRows : Infinity);
      // A tile that is a stretch of out (whole rows of it) is written there by onnxruntime; any
      // other (a strip of columns, or out in shared memory, which onnxruntime-node does not take)
      // goes to one reused tile and is copied row by row. Either way no fresh output per run.
      const inPlace = columns === stride && out.buffer instanceof ArrayBuffer;
      const spare = inPlace ? undefined : this.scratch(precision, rows * columns);
      const { runtime } = this;
      for (let c0 = 0; c0 < n; c0 += columns) {
        const width = Math.min(columns, n - c0);
        const yFeeds: Record<string, OrtTensor> = y
          ? { y: runtime.tensor(y.subarray(c0 * yWidth, (c0 + width) * yWidth), columnsShape(width, d)) }
          : { y: runtime.integerTensor(bytes!.y.values.subarray(c0 * d, (c0 + width) * d), [width, d]), norms: runtime.integerTensor(bytes!.y.norms.subarray(c0, c0 + width), [width]) };
        for (let r0 = 0; r0 < m; r0 += rows) {
          const height = Math.min(rows, m - r0);
          const xFeeds: Record<string, OrtTensor> = x
            ? { x: runtime.tensor(x.subarray(r0 * xWidth, (r0 + height) * xWidth), rowsShape(height, d)) }
            : { x: runtime.integerTensor(bytes!.x.values.subarray(r0 * d, (r0 + height) * d), [height, d]), terms: runtime.integerTensor(bytes!.x.terms.subarray(r0, r0 + height), [height, 1]) };
          const at = offset + r0 * stride + c0;
          const tile = inPlace ? out.subarray(at, at + height * width) : spare!.subarray(0, height * width);
          await session.run({ ...xFeeds, ...yFeeds }, { k: this.valuesTensor(tile, [height, width]) });
          if (!inPlace) for (let i = 0; i < height; i++) out.set(tile.subarray(i * width, (i + 1) * width), at + i * stride);
        }
      }
    });
  }

  /**
   * out = K·A, a few MB of widened rows per run. onnxruntime-node takes no shared memory as a
   * tensor: rows in a SharedArrayBuffer (a cache's own) are copied, a run at a time, into plain memory.
   */
  private cachedProduct(precision: OnnxCachePrecision, K: CachedValues, rows: number, cols: number, A: Float32Array, l: number, out: Float32Array): Promise<void> {
    return this.context.queue.run(async () => {
      this.check();
      checkCachedProduct(precision, K, rows, cols, A, l, out);
      if (rows === 0) return;
      if (cols === 0) return void out.fill(0, 0, rows * l);
      const session = await this.sharedSession('product', [], 'gemm', 0, precision);
      const a = this.runtime.tensor(A.subarray(0, cols * l), [cols, l]);
      const step = rowsPerRun(cols, 4, PRODUCT_RUN_BYTES);
      const plain = K.buffer instanceof ArrayBuffer ? undefined : this.scratch(precision, Math.min(step, rows) * cols);
      for (let r0 = 0; r0 < rows; r0 += step) {
        const height = Math.min(step, rows - r0);
        let values = K.subarray(r0 * cols, (r0 + height) * cols);
        if (plain) {
          plain.set(values);
          values = plain.subarray(0, values.length);
        }
        out.set(outputData(await session.run({ k: this.valuesTensor(values, [height, cols]), a }), 'out'), r0 * l);
      }
    });
  }

  /** `length` values of the precision in the scratch memory (inside the queue; contents undefined). */
  private scratch(precision: OnnxCachePrecision, length: number): CachedValues {
    const bytes = length * (precision === 'float32' ? 4 : 2);
    if (this.scratchMemory.byteLength < bytes) this.scratchMemory = new ArrayBuffer(bytes);
    return precision === 'float32' ? new Float32Array(this.scratchMemory, 0, length) : new Uint16Array(this.scratchMemory, 0, length);
  }

  /** A tensor over cached values: float32, or float16's bit patterns. */
  private valuesTensor(values: CachedValues, dims: readonly number[]): OrtTensor {
    return values instanceof Float32Array ? this.runtime.tensor(values, dims) : this.runtime.float16Tensor(values, dims);
  }

  /**
   * out (cols × l) = Kᵀ·A for float32 rows K given one by one (a kernel cache's subsample panel):
   * the rows gathered in runs of PRODUCT_RUN_BYTES into one buffer, each run's Gemm (transA) added
   * into out.
   */
  private transposedProduct(rows: number, cols: number, rowAt: RowSource<Float32Array>, A: Float32Array, l: number, out: Float32Array): Promise<void> {
    return this.context.queue.run(async () => {
      this.check();
      checkTransposedProduct(rows, cols, A, l, out);
      if (cols === 0 || l === 0) return;
      out.fill(0, 0, cols * l);
      if (rows === 0) return;
      const session = await this.sharedSession('transposed product', [], 'gemm', 0);
      const gathered = this.scratch('float32', Math.min(rows, rowsPerRun(cols, 4, PRODUCT_RUN_BYTES)) * cols) as Float32Array;
      await inGatheredRuns(rows, cols, rowAt, gathered, async (values, r0, r1) => {
        const k = this.runtime.tensor(values, [r1 - r0, cols]);
        const a = this.runtime.tensor(A.subarray(r0 * l, r1 * l), [r1 - r0, l]);
        const part = outputData(await session.run({ k, a }), 'out');
        for (let i = 0; i < cols * l; i++) out[i] += part[i];
      });
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
      this.scratchMemory = new ArrayBuffer(0);
      await Promise.all([...shared.map(async (session) => (await session).release()), ...sets.map((set) => set.release())]);
    });
    return this.disposal;
  }

  /**
   * The graph of `kind` (kernels/onnx/models.ts blockModel, streamedModel, streamedGroupModel,
   * cachedProductModel) for its kernels (none for a product, several for a group), d and precision,
   * made once.
   */
  private sharedSession(
    kind: SharedGraph,
    kernels: readonly KernelExpression[],
    form: DistanceForm,
    d: number,
    precision: OnnxCachePrecision = 'float32',
    divisor = 1,
  ): Promise<OrtSession> {
    const names = kernels.map((kernel) => `${kernel.js}|${JSON.stringify(Object.entries(kernel.constants).sort())}`);
    const key = `${kind}|${form}|${d}|${precision}|${divisor}|${names.join('||')}`;
    let session = this.sharedSessions.get(key);
    if (!session) {
      const model = sharedGraphModel(kind, kernels, form, d, precision, divisor);
      // The set-up's K_SS is one large float32 block: an arena would keep its tiles for good. A
      // cache's blocks come every batch, and freed tiles would be faulted in again each time.
      const options = (kind === 'block' || kind === 'byte block') && precision === 'float32' ? sessionOptions(this.threads, false) : this.context.options;
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
