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
 *
 * A resident set whose centers are bytes (kernels/onnx/bytes.ts: pixels, raw or ÷ 255) computes
 * its distances in the byte form, from an integer GEMM, for rows that are bytes over the same
 * divisor; other rows (new data, scaled otherwise) go to float-form shards of the same centers,
 * made on their first such call.
 */
import type { KernelExpression } from '../../../kernels/kernel.js';
import { byteRows, type ByteColumns } from '../../../kernels/onnx/bytes.js';
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
import type { CenterSet } from '../backend.js';
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
  /**
   * Streamed shards: their centers as the shared graph's inputs, columnsInput's rows (`y`) or the
   * byte form's (`y` and `norms`).
   */
  readonly columns?: FormValues | ByteColumns;
}

/** What a center set needs from its backend. */
export interface CenterSetContext {
  readonly runtime: OnnxRuntime;
  readonly options: OrtSessionOptions;
  readonly queue: SerialQueue;
  /** Center sets up to this many bytes are streamed. */
  readonly streamedBytes: number;
  /** The backend's shared graph with the centers as an input, for a kernel and feature count; in the byte form over `divisor` when given. */
  streamedSession(kernel: KernelExpression, form: DistanceForm, d: number, divisor?: number): Promise<OrtSession>;
  /** The same for a center group's kernels (kernels/onnx/models.ts streamedGroupModel). */
  streamedGroupSession(kernels: readonly KernelExpression[], form: DistanceForm, d: number, divisor?: number): Promise<OrtSession>;
  /**
   * The divisor of the byte form (kernels/onnx/bytes.ts) that these centers take on this CPU: where
   * their values are bytes and the integer GEMM is exact here (integerGemm.ts); else undefined, the
   * float forms. Resident sets ask it (their shards read their own centers' bytes); streamed sets
   * and groups ask byteColumnsOf, which chooses alike.
   */
  byteFormOf(centers: Matrix): Promise<number | undefined>;
  /**
   * The byte form's columns input of these centers (kernels/onnx/bytes.ts byteColumnsOf) where
   * byteFormOf would give a divisor, else undefined: what a streamed set or group passes to its
   * graph, made in one reading of the centers (byteFormOf, then the columns, would read them twice).
   */
  byteColumnsOf(centers: Matrix): Promise<ByteColumns | undefined>;
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

/** Rows per run so that an intermediate of `columns` columns stays near TILE_BYTES. */
export function rowsPerRun(form: DistanceForm, columns: number): number {
  return Math.max(1, Math.floor(TILE_BYTES / (columns * valueBytes(form))));
}

/** A step's graph (kernels/onnx/models.ts stepModel) in a session. */
interface StepSession {
  readonly session: OrtSession;
  readonly blocks: readonly (readonly [number, number])[];
}

/** A call's rows as a graph's inputs, chunk by chunk: rowsInput's `x`, or the byte form's `x` and `terms`; `bytes`: which. */
export interface RowFeeds {
  readonly bytes: boolean;
  /** The inputs for rows r0…r1. */
  chunk(r0: number, r1: number): Record<string, OrtTensor>;
}

/**
 * Rows X as the inputs of graphs in the byte form over `divisor` (all of X converted once) when
 * that is given and X's values are bytes over it, else rowsInput's in `form`, chunk by chunk.
 */
export function rowFeeds(runtime: OnnxRuntime, form: DistanceForm, divisor: number | undefined, X: Matrix): RowFeeds {
  const d = X.cols;
  const rows = divisor !== undefined ? byteRows(X, divisor) : undefined;
  if (rows) {
    return {
      bytes: true,
      chunk: (r0, r1) => ({ x: runtime.integerTensor(rows.values.subarray(r0 * d, r1 * d), [r1 - r0, d]), terms: runtime.integerTensor(rows.terms.subarray(r0, r1), [r1 - r0, 1]) }),
    };
  }
  return { bytes: false, chunk: (r0, r1) => ({ x: runtime.tensor(rowsInput(form, rowSlice(X, r0, r1)), rowsShape(r1 - r0, d)) }) };
}

/** What `make` gives, made on the first get(); a failure is not kept: the next get() tries again (and reports it again). */
export class Lazily<T> {
  private made: Promise<T> | undefined;
  constructor(private readonly make: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.made) {
      const made = this.make();
      this.made = made;
      made.catch(() => this.made === made && (this.made = undefined));
    }
    return this.made;
  }

  /** Releases what was made, if it was: `release` runs on it once it is there. */
  release(release: (value: T) => Promise<unknown>): Promise<void> {
    return this.made ? this.made.then(release, () => undefined).then(() => undefined) : Promise.resolve();
  }
}

export class OnnxCenterSet implements CenterSet {
  readonly count: number;
  readonly dim: number;
  private readonly alpha: Float32Array;
  /** predictAndPullBack's graphs over all the centers, byte form and float form, each made on its first call. */
  private readonly steps = { bytes: new Lazily(() => this.stepSession(true)), float: new Lazily(() => this.stepSession(false)) };
  /** A byte-form set's float-form shards, for rows that are not bytes; made on the first such call. */
  private readonly floatShards = new Lazily(() => this.madeFloatShards());
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
    /** Set when the shards are in the byte form (kernels/onnx/bytes.ts), over this divisor. */
    private readonly divisor?: number,
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
    const set = new OnnxCenterSet(context, form, [], kernel, centers, outputs, await context.byteFormOf(centers));
    try {
      await set.residentShards(set.shards, set.divisor);
    } catch (error) {
      await set.release();
      throw error;
    }
    return set;
  }

  /** Fills `shards` with sessions holding all the centers, in the byte form over `divisor` or else the float form. */
  private async residentShards(shards: Shard[], divisor: number | undefined): Promise<void> {
    const { context, centers, kernel, outputs } = this;
    const n = centers.rows;
    // One GEMM block (tens of MB) per session.
    const shardSize = blockCenters(this.form, centers.cols);
    for (let start = 0; start < n; start += shardSize) {
      const end = Math.min(n, start + shardSize);
      const model = await fusedModel(kernel, centers, start, end, outputs, divisor);
      const shard = { start, end, blocks: model.blocks, session: await context.runtime.createSession(model.bytes, context.options) };
      shards.push(shard);
      const first = rowSlice(centers, start, start + 1);
      await this.runShard(shard, rowFeeds(context.runtime, this.form, divisor, first).chunk(0, 1), 0, n);
    }
  }

  /**
   * A set whose centers are passed to the kernel's shared graph on every call; `columns`: their
   * columns input (columnsInput's or the byte form's), when the caller has it already (a group's
   * members share one).
   */
  static async streamed(context: CenterSetContext, kernel: KernelExpression, centers: Matrix, outputs: number, columns?: FormValues | ByteColumns): Promise<OnnxCenterSet> {
    checkOutputs(outputs);
    checkCenters(centers);
    const d = centers.cols;
    const form = distanceForm(d);
    // Given columns (a group's) are in the form their maker chose.
    const input = columns ?? (await columnsFor(context, form, centers));
    const divisor = isFloatColumns(input) ? undefined : input.divisor;
    const set = new OnnxCenterSet(context, form, [], kernel, centers, outputs, divisor);
    set.shards.push(...streamedShards(form, centers, await context.streamedSession(kernel, form, d, divisor), input));
    return set;
  }

  /** The shards that take `rows`: a byte-form set's float shards for rows that are not bytes. */
  private async shardsFor(rows: RowFeeds): Promise<readonly Shard[]> {
    return rows.bytes || this.divisor === undefined ? this.shards : this.floatShards.get();
  }

  /** A byte-form set's float shards, streamed or resident as its own. */
  private async madeFloatShards(): Promise<Shard[]> {
    const { context, form, centers, kernel } = this;
    if (this.shards[0]?.columns !== undefined) return streamedShards(form, centers, await context.streamedSession(kernel, form, centers.cols));
    const shards: Shard[] = [];
    try {
      await this.residentShards(shards, undefined);
    } catch (error) {
      await releaseShards(shards);
      throw error;
    }
    return shards;
  }

  predict(X: Matrix, out: Float32Array, j0 = 0, j1 = this.count): Promise<void> {
    return this.context.queue.run(async () => {
      this.check();
      const l = this.outputs;
      const m = X.rows;
      checkPredict(this, X, out, j0, j1);
      out.fill(0, 0, m * l);
      if (m === 0 || j0 >= j1) return;
      const x = rowFeeds(this.context.runtime, this.form, this.divisor, X);
      const shards = await this.shardsFor(x);
      const chunk = this.rowsPerChunk(m);
      for (let r0 = 0; r0 < m; r0 += chunk) {
        const rows = Math.min(chunk, m - r0);
        const feeds = x.chunk(r0, r0 + rows);
        const target = out.subarray(r0 * l, (r0 + rows) * l);
        for (const shard of shards) {
          if (shard.end <= j0 || shard.start >= j1) continue;
          const part = await this.runShard(shard, feeds, j0, j1);
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
      const { count: n, outputs: l } = this;
      const m = X.rows;
      checkPullBack(this, X, offset, residual, pulled);
      pulled.fill(0, 0, n * l);
      if (m === 0) return;
      const { runtime } = this.context;
      const x = rowFeeds(runtime, this.form, this.divisor, X);
      const { session, blocks } = await (x.bytes ? this.steps.bytes : this.steps.float).get();
      const feeds: Record<string, OrtTensor> = { scale: runtime.tensor(Float32Array.of(scale), [1]) };
      blocks.forEach(([b0, b1], b) => (feeds[`alpha${b}`] = runtime.tensor(this.alpha.subarray(b0 * l, b1 * l), [b1 - b0, l])));
      const chunk = this.rowsPerChunk(m);
      for (let r0 = 0; r0 < m; r0 += chunk) {
        const rows = Math.min(chunk, m - r0);
        Object.assign(feeds, x.chunk(r0, r0 + rows));
        feeds.offset = runtime.tensor(offset.subarray(r0 * l, (r0 + rows) * l), [rows, l]);
        const result = await session.run(feeds);
        residual.set(outputData(result, 'residual'), r0 * l);
        const part = outputData(result, 'pulled');
        for (let i = 0; i < n * l; i++) pulled[i] += part[i];
      }
    });
  }

  /** The step's graph for rows in the byte form or the float form. */
  private async stepSession(bytes: boolean): Promise<StepSession> {
    const model = await stepModel(this.kernel, this.centers, this.outputs, bytes ? this.divisor : undefined);
    return { session: await this.context.runtime.createSession(model.bytes, this.context.options), blocks: model.blocks };
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
      this.releasing = Promise.all([
        releaseShards(this.shards),
        this.steps.bytes.release((step) => step.session.release()),
        this.steps.float.release((step) => step.session.release()),
        this.floatShards.release(releaseShards),
      ]).then(() => undefined);
    }
    return this.releasing;
  }

  private rowsPerChunk(m: number): number {
    return rowsPerChunk(this.form, this.shards, m);
  }

  /** One shard's part of the fused block for the rows of `rows` (rowFeeds, in the shard's form). */
  private async runShard(shard: Shard, rows: Readonly<Record<string, OrtTensor>>, j0: number, j1: number): Promise<Float32Array> {
    const { runtime } = this.context;
    const feeds: Record<string, OrtTensor> = { ...rows, ...columnFeeds(runtime, shard, this.dim) };
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

/** Releases the sessions of the shards that own theirs (resident ones; streamed shards use the backend's shared graphs). */
export function releaseShards(shards: readonly Shard[]): Promise<unknown> {
  return Promise.all(shards.filter((shard) => shard.columns === undefined).map((shard) => shard.session.release()));
}

/** Centers as a streamed graph's columns input: in the byte form where they take it (context.byteColumnsOf), else columnsInput's. */
export async function columnsFor(context: CenterSetContext, form: DistanceForm, centers: Matrix): Promise<FormValues | ByteColumns> {
  return (await context.byteColumnsOf(centers)) ?? columnsInput(form, centers);
}

/** Whether a streamed shard's centers are columnsInput's float values (else the byte form's). */
export function isFloatColumns(columns: FormValues | ByteColumns): columns is FormValues {
  return columns instanceof Float32Array || columns instanceof Float64Array;
}

/** A streamed shard's centers as its graph's inputs (none for a resident shard, whose centers are initializers). */
export function columnFeeds(runtime: OnnxRuntime, shard: Shard, d: number): Record<string, OrtTensor> {
  const { columns } = shard;
  const width = shard.end - shard.start;
  if (columns === undefined) return {};
  if (isFloatColumns(columns)) return { y: runtime.tensor(columns, columnsShape(width, d)) };
  return { y: runtime.integerTensor(columns.values, [width, d]), norms: runtime.integerTensor(columns.norms, [width]) };
}

/** Rows per run of m rows over `shards`: the same for every run, so that a batch just past one run's rows is two half runs, not a full and a sliver. */
export function rowsPerChunk(form: DistanceForm, shards: readonly Shard[], m: number): number {
  const widest = Math.max(...shards.flatMap((shard) => shard.blocks.map(([b0, b1]) => b1 - b0)));
  const runs = Math.ceil(m / rowsPerRun(form, widest));
  return Math.ceil(m / runs);
}

/**
 * Streamed shards over all the centers, one per STREAMED_COLUMNS of them, each passing its part of
 * the columns input (columnsInput's, made here unless given, or the byte form's) to `session`.
 */
export function streamedShards(form: DistanceForm, centers: Matrix, session: OrtSession, columns: FormValues | ByteColumns = columnsInput(form, centers)): Shard[] {
  const { rows: n, cols: d } = centers;
  const width = columnsShape(n, d)[1];
  const shards: Shard[] = [];
  for (let start = 0; start < n; start += STREAMED_COLUMNS) {
    const end = Math.min(n, start + STREAMED_COLUMNS);
    const part = isFloatColumns(columns)
      ? columns.subarray(start * width, end * width)
      : { divisor: columns.divisor, values: columns.values.subarray(start * d, end * d), norms: columns.norms.subarray(start, end) };
    shards.push({ start, end, blocks: [[start, end]], session, columns: part });
  }
  return shards;
}
