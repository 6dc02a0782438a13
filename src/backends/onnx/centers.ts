/**
 * The centers of the onnx backend and their weights α. α lives in one host Float32Array that every
 * call reads through views, so a weight update is a plain array write and nothing is copied into
 * a session per call. The centers live in one of two ways:
 *
 * - Resident (most sets): shards of a few blocks (kernels/onnx/models.ts blockCenters), each an
 *   ONNX session whose initializers hold its centers, pre-packed once for the GEMM. Shards rather
 *   than one session: onnxruntime parses a model and copies its initializers while it creates a
 *   session, briefly needing ≈3.5× the model's size; shard by shard (≈35 MB at d = 784) that
 *   transient stays small next to the centers themselves. Each shard runs once right after it is
 *   created, which is when onnxruntime lets go of the unpacked copies.
 * - Streamed (sets up to STREAMED_BYTES, such as the batch the solver makes a set of for every
 *   correction on the subsample): the centers are an input of one shared graph per kernel, passed
 *   on every call. A session of its own would cost more to build than pre-packing gains in the
 *   one or few calls such a set gets.
 */
import type { KernelExpression } from '../../../kernels/kernel.js';
import {
  STREAMED_COLUMNS,
  blockCenters,
  columnsInput,
  columnsShape,
  distanceForm,
  fusedModel,
  rowsInput,
  stepModel,
  rowsShape,
  valueBytes,
  type DistanceForm,
  type FormValues,
} from '../../../kernels/onnx/models.js';
import { rowSlice, type Matrix } from '../../matrix.js';
import type { CachedValues, CachePrecision, CenterSet } from '../backend.js';
import { checkCenters, checkDeltas, checkOutputs, checkPredict, checkPullBack, checkWeights } from '../misuse.js';
import type { SerialQueue } from '../queue.js';
import type { OnnxRuntime, OrtSession, OrtSessionOptions, OrtTensor } from './runtime.js';

/**
 * Center sets up to this size (of their distance-form rows) are streamed by default, larger ones
 * resident: a batch of a few thousand rows at d = 784 is streamed, a training set resident.
 */
export const STREAMED_BYTES = 16 * 2 ** 20;
/**
 * Bytes of the largest intermediate of one run (an m × block tile of distances, float64 in the
 * gemm64 form, and kernel values): rows of a batch are run in chunks that keep it near this size,
 * within the caches of the CPUs this runs on and small next to the data.
 */
export const TILE_BYTES = 8 * 2 ** 20;

export interface Shard {
  readonly start: number;
  readonly end: number;
  readonly blocks: readonly (readonly [number, number])[];
  readonly session: OrtSession;
  /** Streamed shards: their centers (columnsInput rows), the shared graph's input `y`. */
  readonly columns?: FormValues;
}

/** What a center set needs from its backend. */
export interface CenterSetContext {
  readonly runtime: OnnxRuntime;
  readonly options: OrtSessionOptions;
  readonly queue: SerialQueue;
  /** Center sets up to this many bytes are streamed. */
  readonly streamedBytes: number;
  /** The backend's shared graph with the centers as an input, for a kernel and feature count. */
  streamedSession(kernel: KernelExpression, form: DistanceForm, d: number): Promise<OrtSession>;
  /** The same for a center group's kernels (kernels/onnx/models.ts streamedGroupModel). */
  streamedGroupSession(kernels: readonly KernelExpression[], form: DistanceForm, d: number): Promise<OrtSession>;
  /** Called when a set or group is released, so that the backend stops tracking it. */
  released(owner: Releasable): void;
}

/** What the backend releases when it is disposed: center sets and groups. */
export interface Releasable {
  release(): Promise<void>;
}

/** The output named `name` of a run, as float32 values. */
export function outputData(result: Record<string, OrtTensor>, name: string): Float32Array {
  const data = result[name]?.data;
  if (!(data instanceof Float32Array)) throw new Error(`onnxruntime returned no float32 output "${name}"`);
  return data;
}

/** The output named `name` of a run in a cache's precision: float32 values, or 16-bit float bit patterns. */
export function outputValues(result: Record<string, OrtTensor>, name: string, precision: CachePrecision): CachedValues {
  if (precision === 'float32') return outputData(result, name);
  const data = result[name]?.data;
  if (!(data instanceof Uint16Array)) throw new Error(`onnxruntime returned no ${precision} output "${name}"`);
  return data;
}

/** Rows per run so that an intermediate of `columns` columns stays near TILE_BYTES. */
export function rowsPerRun(form: DistanceForm, columns: number): number {
  return Math.max(1, Math.floor(TILE_BYTES / (columns * valueBytes(form))));
}

export class OnnxCenterSet implements CenterSet {
  readonly count: number;
  readonly dim: number;
  private readonly alpha: Float32Array;
  /** predictAndPullBack's graph over all the centers, made on its first call (kernels/onnx/models.ts stepModel). */
  private step: Promise<{ session: OrtSession; blocks: readonly (readonly [number, number])[] }> | undefined;
  private released = false;
  private releasing: Promise<void> | undefined;

  private constructor(
    private readonly context: CenterSetContext,
    private readonly form: DistanceForm,
    private readonly shards: Shard[],
    private readonly kernel: KernelExpression,
    /** The caller's centers (not a copy), kept to make the step's graph from. */
    private readonly centers: Matrix,
    readonly outputs: number,
  ) {
    this.count = centers.rows;
    this.dim = centers.cols;
    this.alpha = new Float32Array(centers.rows * outputs);
  }

  /** Puts the centers into sessions (resident, one shard after another) or streams them. */
  static async create(context: CenterSetContext, kernel: KernelExpression, centers: Matrix, outputs: number): Promise<OnnxCenterSet> {
    const { rows: n, cols: d } = centers;
    checkOutputs(outputs);
    checkCenters(centers);
    const form = distanceForm(d);
    if (n * columnsShape(n, d)[1] * valueBytes(form) <= context.streamedBytes) return OnnxCenterSet.streamed(context, kernel, centers, outputs);
    const set = new OnnxCenterSet(context, form, [], kernel, centers, outputs);
    // One GEMM block (tens of MB) per session.
    const shardSize = blockCenters(form, d);
    try {
      for (let start = 0; start < n; start += shardSize) {
        const end = Math.min(n, start + shardSize);
        const model = await fusedModel(kernel, centers, start, end, outputs);
        const shard = { start, end, blocks: model.blocks, session: await context.runtime.createSession(model.bytes, context.options) };
        set.shards.push(shard);
        await set.runShard(shard, rowsInput(form, rowSlice(centers, start, start + 1)), 1, 0, n);
      }
    } catch (error) {
      await set.release();
      throw error;
    }
    return set;
  }

  /**
   * A set whose centers are passed to the kernel's shared graph on every call; `columns`: their
   * columnsInput, when the caller has it already (a group's members share one).
   */
  static async streamed(context: CenterSetContext, kernel: KernelExpression, centers: Matrix, outputs: number, columns?: FormValues): Promise<OnnxCenterSet> {
    checkOutputs(outputs);
    checkCenters(centers);
    const { rows: n, cols: d } = centers;
    const form = distanceForm(d);
    const set = new OnnxCenterSet(context, form, [], kernel, centers, outputs);
    set.shards.push(...streamedShards(form, centers, await context.streamedSession(kernel, form, d), columns));
    return set;
  }

  predict(X: Matrix, out: Float32Array, j0 = 0, j1 = this.count): Promise<void> {
    return this.context.queue.run(async () => {
      this.check();
      const { dim: d, outputs: l } = this;
      const m = X.rows;
      checkPredict(this, X, out, j0, j1);
      out.fill(0, 0, m * l);
      if (m === 0 || j0 >= j1) return;
      const chunk = this.rowsPerChunk(m);
      for (let r0 = 0; r0 < m; r0 += chunk) {
        const rows = Math.min(chunk, m - r0);
        const x = rowsInput(this.form, rowSlice(X, r0, r0 + rows));
        const target = out.subarray(r0 * l, (r0 + rows) * l);
        for (const shard of this.shards) {
          if (shard.end <= j0 || shard.start >= j1) continue;
          const part = await this.runShard(shard, x, rows, j0, j1);
          for (let i = 0; i < target.length; i++) target[i] += part[i];
        }
      }
    });
  }

  /**
   * One run of the step's graph per chunk of rows: its session holds all the centers (a second copy,
   * pre-packed, beside the shards'), so that each chunk's residual is complete inside the graph and
   * its kernel values never leave it.
   */
  predictAndPullBack(X: Matrix, offset: Float32Array, scale: number, residual: Float32Array, pulled: Float32Array): Promise<void> {
    return this.context.queue.run(async () => {
      this.check();
      const { count: n, dim: d, outputs: l } = this;
      const m = X.rows;
      checkPullBack(this, X, offset, residual, pulled);
      pulled.fill(0, 0, n * l);
      if (m === 0) return;
      const { runtime } = this.context;
      this.step ??= stepModel(this.kernel, this.centers, l).then(async (model) => ({
        session: await runtime.createSession(model.bytes, this.context.options),
        blocks: model.blocks,
      }));
      // A failed creation is not kept: the next call reports it again.
      this.step.catch(() => (this.step = undefined));
      const { session, blocks } = await this.step;
      const feeds: Record<string, OrtTensor> = { scale: runtime.tensor(Float32Array.of(scale), [1]) };
      blocks.forEach(([b0, b1], b) => (feeds[`alpha${b}`] = runtime.tensor(this.alpha.subarray(b0 * l, b1 * l), [b1 - b0, l])));
      const chunk = this.rowsPerChunk(m);
      for (let r0 = 0; r0 < m; r0 += chunk) {
        const rows = Math.min(chunk, m - r0);
        feeds.x = runtime.tensor(rowsInput(this.form, rowSlice(X, r0, r0 + rows)), rowsShape(rows, d));
        feeds.offset = runtime.tensor(offset.subarray(r0 * l, (r0 + rows) * l), [rows, l]);
        const result = await session.run(feeds);
        residual.set(outputData(result, 'residual'), r0 * l);
        const part = outputData(result, 'pulled');
        for (let i = 0; i < n * l; i++) pulled[i] += part[i];
      }
    });
  }

  addToWeights(rows: ArrayLike<number>, deltas: Float64Array | Float32Array): Promise<void> {
    return this.context.queue.run(() => {
      this.check();
      const l = this.outputs;
      checkDeltas(this, rows, deltas);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i];
        for (let c = 0; c < l; c++) this.alpha[row * l + c] += deltas[i * l + c];
      }
    });
  }

  setWeights(alpha: Float32Array): Promise<void> {
    return this.context.queue.run(() => {
      this.check();
      checkWeights(this, alpha);
      this.alpha.set(alpha.subarray(0, this.alpha.length));
    });
  }

  readWeights(): Promise<Float32Array> {
    return this.context.queue.run(() => {
      this.check();
      return this.alpha.slice();
    });
  }

  /** Releases the sessions once the calls already queued are done. */
  dispose(): void {
    if (this.released) return;
    this.released = true;
    void this.context.queue.run(() => this.release()).catch(() => undefined);
  }

  /** Releases its own sessions now (inside the queue, or when the backend is disposed); once. */
  release(): Promise<void> {
    this.released = true;
    if (!this.releasing) {
      this.context.released(this);
      const own = this.shards.filter((shard) => shard.columns === undefined).map((shard) => shard.session.release());
      if (this.step) own.push(this.step.then((step) => step.session.release(), () => undefined));
      this.releasing = Promise.all(own).then(() => undefined);
    }
    return this.releasing;
  }

  private rowsPerChunk(m: number): number {
    return rowsPerChunk(this.form, this.shards, m);
  }

  /** One shard's part of the fused block for `rows` rows (`x`: kernels/onnx/models.ts rowsInput). */
  private async runShard(shard: Shard, x: FormValues, rows: number, j0: number, j1: number): Promise<Float32Array> {
    const { runtime } = this.context;
    const feeds: Record<string, OrtTensor> = { x: runtime.tensor(x, rowsShape(rows, this.dim)) };
    if (shard.columns) feeds.y = runtime.tensor(shard.columns, columnsShape(shard.end - shard.start, this.dim));
    shard.blocks.forEach(([b0, b1], b) => {
      feeds[`alpha${b}`] = runtime.tensor(this.weightsOf(b0, b1, j0, j1), [b1 - b0, this.outputs]);
    });
    return outputData(await shard.session.run(feeds), 'out');
  }

  /**
   * α's rows b0…b1 for a block, restricted to the range j0…j1: a view when the block lies inside the
   * range (always, for the solver's whole-range calls), else a copy with the rows outside zeroed.
   * A group (group.ts) reads its members' weights through it.
   */
  weightsOf(b0: number, b1: number, j0: number, j1: number): Float32Array {
    const l = this.outputs;
    if (j0 <= b0 && b1 <= j1) return this.alpha.subarray(b0 * l, b1 * l);
    const weights = new Float32Array((b1 - b0) * l);
    const from = Math.max(b0, j0);
    const to = Math.min(b1, j1);
    if (from < to) weights.set(this.alpha.subarray(from * l, to * l), (from - b0) * l);
    return weights;
  }

  /** Throws when the set has been disposed (a group checks its members before a joint call). */
  check(): void {
    if (this.released) throw new Error('this center set has been disposed');
  }
}

/** Rows per run of m rows over `shards`: the same for every run, so that a batch just past one run's rows is two half runs, not a full and a sliver. */
export function rowsPerChunk(form: DistanceForm, shards: readonly Shard[], m: number): number {
  const widest = Math.max(...shards.flatMap((shard) => shard.blocks.map(([b0, b1]) => b1 - b0)));
  const runs = Math.ceil(m / rowsPerRun(form, widest));
  return Math.ceil(m / runs);
}

/**
 * Streamed shards over all the centers, one per STREAMED_COLUMNS of them, each passing its part of
 * the columns input (made here unless given) to `session`.
 */
export function streamedShards(form: DistanceForm, centers: Matrix, session: OrtSession, columns = columnsInput(form, centers)): Shard[] {
  const n = centers.rows;
  const width = columnsShape(n, centers.cols)[1];
  const shards: Shard[] = [];
  for (let start = 0; start < n; start += STREAMED_COLUMNS) {
    const end = Math.min(n, start + STREAMED_COLUMNS);
    shards.push({ start, end, blocks: [[start, end]], session, columns: columns.subarray(start * width, end * width) });
  }
  return shards;
}
