/**
 * The kernel cache: the n×n kernel matrix of the training points, kept in memory in
 * 16-bit floats (or float32) once the first epoch has computed it, so that later epochs read a
 * batch's rows and multiply them by the weights (memory-bound, m·n·l per batch) instead of
 * computing k(X_B, X) again (m·n·d·2 flops).
 *
 * The first epoch computes each block once. The columns are ordered as the filling epoch's
 * permutation, and its batch i holds the rows at positions [i·m, (i+1)·m): that batch computes only
 * the columns from its own first position on; its columns before that are the transposes of the
 * earlier batches' blocks (k is symmetric), copied from the cache. So the filling epoch costs about
 * half the flops of an uncached one, and every row is whole when it is read.
 *
 * Its memory is allocated when the filling epoch begins and, where its first pages show faults to
 * be slow, faulted in by a thread of its own ahead of the fill (prefault.ts): on this project's VMs
 * fresh memory the host has not given the guest yet costs about as much time as computing the
 * blocks, and most of it is the host's, so the two overlap. It is the engine's own
 * memory where the engine keeps it (CacheEngine.allocate: wasm's WebAssembly memory, whose
 * workers then read the rows in place), else shared memory of the process.
 *
 * EigenPro 3 keeps K_ZZ of its centers here for the projection (eigenpro3.ts): filled whole before
 * the first projection (fillWhole), in the centers' own order, then read by every inner step.
 *
 * The cache fills in an epoch that starts from its beginning (not in the remainder of an epoch a
 * checkpoint resumed into), and restarts if an epoch ends before it is full (which only a rollback
 * after a divergence could cause, and that replays the same permutation). Checkpoints never hold
 * it: a resumed run fills it again.
 */
import type { Kernel } from '../../kernels/kernel.js';
import type { Backend, CacheEngine, CachedValues, CachePrecision, CenterSet, MemoryBudget, RowSource } from '../backends/backend.js';
import { cacheEngineOf } from '../backends/cacheEngine.js';
import { inGatheredRuns, rowsPerRun } from '../backends/gatheredRuns.js';
import { decodingTable, valueBytes } from '../backends/halfPrecision.js';
import { KmfitError } from '../errors.js';
import { rowSlice, takeRows, type Matrix } from '../matrix.js';
import { prefaultWhereSlow, type Prefault } from './prefault.js';

/** 'auto' caches when the whole matrix, with its working buffers, fits in this share of the available memory. */
export const CACHE_SHARE = 0.6;
/**
 * Bytes of rows gathered for one product: a batch's rows (m·n values, 80 MB at m = 2 000 and
 * n = 20 000 in float16) would be a second copy of that much; runs of this size take no longer.
 */
const GATHER_BYTES = 32 * 2 ** 20;
/**
 * Fresh memory at least this large may be faulted in ahead by a thread of its own (prefault.ts,
 * where faults are slow): at ≈ 3.7 ms per MB that is 0.12 s, more than starting the thread costs
 * (tens of milliseconds); below it, the first writes pay as they go.
 */
const PREFAULT_MIN_BYTES = 32 * 2 ** 20;
/**
 * The precision of 'auto' and of { bytes } without one: 11 significant bits, half an ulp is 2⁻¹¹
 * relative (bfloat16: 2⁻⁸). Half the bytes of float32 to fill (fresh memory costs ≈3–4 ms per MB
 * to fault in on this project's VMs) and to read every epoch.
 */
export const DEFAULT_CACHE_PRECISION: CachePrecision = 'float16';
/** 'auto' keeps float32 (training exactly as without a cache) while the float32 matrix is this small. */
export const AUTO_FLOAT32_BYTES = 256 * 2 ** 20;
export const CACHE_PRECISIONS: readonly CachePrecision[] = ['float16', 'bfloat16', 'float32'];

/** The cache option: 'auto', 'off', a precision, or a precision and the most bytes it may take. */
export type CacheOption = 'auto' | 'off' | CachePrecision | { readonly precision?: CachePrecision; readonly bytes?: number };

/** What the plan says of the cache. */
export interface CachePlan {
  /** The precision of the cached values; absent when nothing is cached. */
  readonly precision?: CachePrecision;
  /** Bytes the cache takes (the matrix, a batch's rows, the permuted points while filling, the scoring block); 0 when off. */
  readonly bytes: number;
  /** Rows (the validation data's) whose block k(V, X) is kept too, in float32 (ScoringBlock). */
  readonly scoredRows?: number;
  /** The subsample size s whose columns K[·, S] are kept too, in float32 (KernelCache's panel). */
  readonly subsampleColumns?: number;
  /** Why, in words, for the plan block: what fits where, or why nothing is cached. */
  readonly reason: string;
}


/** The cache's memory: the n×n matrix, a run of gathered rows, and the points in fill order while filling. */
export function cacheBytes(n: number, d: number, m: number, precision: CachePrecision): number {
  return n * n * valueBytes(precision) + Math.min(m * n * valueBytes(precision), GATHER_BYTES) + n * d * 4;
}

/** The scoring block's bytes: k(V, X) for `rows` rows of V against n points, float32. */
export function scoringBlockBytes(rows: number, n: number): number {
  return rows * n * 4;
}

/**
 * k(V, X) of the validation rows V against the training points, computed when V is first scored
 * and kept (float32), so that scoring V after each epoch is one product with the weights (v·n·l,
 * memory-bound) instead of a kernel block (v·n·d·2 flops and v·n kernel values), where that pays
 * (scoringBlockPays: d large, or few scores per row). Kept only beside a cache that holds the matrix
 * (planCache): the same runs, and the memory decided in one place. float32, so that the figures
 * are the model's own up to float32 summation order, whatever the cache's precision.
 */
export class ScoringBlock {
  private values: Float32Array | undefined;

  /** `engine` computes in float32. */
  constructor(
    private readonly engine: CacheEngine,
    private readonly kernel: Kernel,
    private readonly V: Matrix,
    private readonly X: Matrix,
    private readonly centers: CenterSet,
  ) {}

  /** out (rows(V) × l, row-major, overwritten) = k(V, X)·α for the centers' current weights. */
  async predict(out: Float32Array): Promise<void> {
    const { V, X } = this;
    if (!this.values) {
      // Plain memory, not shared (which a thread could fault in ahead): onnxruntime-node copies
      // shared memory before every product, and the block is read after every epoch.
      const values = new Float32Array(V.rows * X.rows);
      // In runs of rows, so that no backend is asked for one block of v × n at once.
      for (let start = 0; start < V.rows; start += SCORING_ROWS) {
        await this.engine.block(this.kernel, rowSlice(V, start, Math.min(V.rows, start + SCORING_ROWS)), X, values, start * X.rows, X.rows);
      }
      this.values = values;
    }
    await this.engine.multiply(this.values, V.rows, X.rows, await this.centers.readWeights(), this.centers.outputs, out);
  }

  dispose(): void {
    this.values = undefined;
    this.engine.dispose();
  }
}

/** Rows of V per kernel block while the scoring block is computed. */
const SCORING_ROWS = 512;

const GIB = 2 ** 30;
const gib = (bytes: number): string => (bytes / GIB).toFixed(1);

/** What the cache decision reads. */
export interface CacheContext {
  readonly n: number;
  readonly d: number;
  readonly batchSize: number;
  /** Which matrix, in words, when it is not the training points' (EigenPro 3's K_ZZ). */
  readonly matrix?: string;
  /** Why the run cannot use a cache (a model on separate centers, a cluster), if it cannot. */
  readonly unsupported?: string;
  /** The backend, and whether it has its own cache engine (without one, 'auto' does not cache). */
  readonly backend: string;
  readonly engine: boolean;
  /** Rows scored after each epoch (the validation data) whose block may be kept beside the matrix. */
  readonly scoredRows?: number;
  /** The scores per row (l): how much of scoring from a kept block is its product. */
  readonly outputs?: number;
  /** The preconditioner's subsample size, where the engine can use its columns kept as a panel (EigenPro 2). */
  readonly subsample?: number;
  /** The memory the process has, and what the rest of the plan needs of it. */
  readonly available?: MemoryBudget;
  readonly otherBytes: number;
  /** 'auto' for a cache of exact float32 values (a reduced-precision one's rounding held the residual up): within the same share, or none. */
  readonly exact?: boolean;
}

/**
 * Whether and how to cache. 'auto' caches in float16 when the backend has a cache engine and the
 * cache fits CACHE_SHARE of the memory left; a precision caches when the cache fits what is left
 * (or `bytes`, if given).
 * @throws KmfitError INVALID_OPTION for a `bytes` larger than the memory available.
 */
export function planCache(option: CacheOption, context: CacheContext): CachePlan {
  const off = (reason: string): CachePlan => ({ bytes: 0, reason });
  if (option === 'off') return off("cache: 'off'");
  if (context.unsupported) return off(context.unsupported);
  const auto = option === 'auto';
  if (auto && !context.engine) return off(`the ${context.backend} backend has no cache engine (cache: '${DEFAULT_CACHE_PRECISION}' uses the portable one)`);
  const { n, d } = context;
  const precision = auto ? (context.exact || n * n * 4 <= AUTO_FLOAT32_BYTES ? 'float32' : DEFAULT_CACHE_PRECISION) : typeof option === 'string' ? option : (option.precision ?? DEFAULT_CACHE_PRECISION);
  const bytes = cacheBytes(n, d, Math.min(context.batchSize, n), precision);
  const matrix = context.matrix ?? `the ${n}² matrix`;
  const need = `${matrix} needs ${gib(bytes)} GiB in ${precision} (with a run of gathered rows)`;
  const left = context.available ? Math.max(0, context.available.bytes - context.otherBytes) : undefined;
  const given = typeof option === 'object' ? option.bytes : undefined;
  if (given !== undefined && left !== undefined && given > left) {
    throw new KmfitError(
      'INVALID_OPTION',
      `cache.bytes is ${gib(given)} GiB, more than the ${gib(left)} GiB left of ${context.available!.source} after the rest of the plan. ` +
        'Give a smaller figure, or leave bytes out to use what is left.',
    );
  }
  const limit = given ?? (left === undefined ? undefined : auto ? CACHE_SHARE * left : left);
  const within =
    given !== undefined
      ? `cache.bytes (${gib(given)} GiB)`
      : left === undefined
        ? 'memory of unknown size'
        : `${auto ? `${CACHE_SHARE * 100} % of ` : ''}the ${gib(left)} GiB left of ${context.available!.source} after the rest of the plan`;
  if (limit === undefined) return auto ? off(`${need}, and this environment does not say how much memory it has`) : withExtras({ precision, bytes, reason: need }, context, undefined);
  if (bytes > limit) return off(`${need}, more than ${within}`);
  return withExtras({ precision, bytes, reason: `${matrix} fits whole in ${within}` }, context, limit);
}

/**
 * The kernel cache a plan keeps (undefined where it keeps none), on the backend's engine in the
 * plan's precision, with the subsample S's panel where the plan counted it (CachePlan.subsampleColumns).
 */
export async function plannedKernelCache(
  backend: Backend,
  plan: CachePlan,
  kernel: Kernel,
  X: Matrix,
  centers: CenterSet,
  batchSize: number,
  subsample: Int32Array | undefined,
): Promise<KernelCache | undefined> {
  if (!plan.precision) return undefined;
  return new KernelCache(await cacheEngineOf(backend, plan.precision), kernel, X, centers, batchSize, plan.subsampleColumns ? subsample : undefined);
}

/**
 * Whether a float32 cache may take this plan's place when its rounding holds the residual up
 * (Stepper.checkCacheRounding): where 'auto' chose a reduced precision. A precision the user gave
 * is kept to.
 */
export function mayRefillExact(option: CacheOption, plan: CachePlan): boolean {
  return option === 'auto' && plan.precision !== undefined && plan.precision !== 'float32';
}

/**
 * The plan with what may be kept beside the matrix, in float32, each where it fits within `limit`
 * too, in this order: the subsample's columns K[·, S] (KernelCache's panel), then the validation
 * rows' block k(V, X) (ScoringBlock), where it pays (scoringBlockPays).
 */
function withExtras(plan: CachePlan, context: CacheContext, limit: number | undefined): CachePlan {
  const { n, subsample: s = 0, scoredRows: rows = 0 } = context;
  const extras = [
    s > 0 && { bytes: n * s * 4, part: { subsampleColumns: s }, words: `its ${s} subsample columns`, use: 'which the correction reads by rows' },
    rows > 0 && scoringBlockPays(context.d, context.outputs) && { bytes: scoringBlockBytes(rows, n), part: { scoredRows: rows }, words: `k(V, X) of the ${rows} validation rows`, use: 'which scores them after each epoch' },
  ];
  return extras.reduce<CachePlan>((kept, extra) => {
    if (!extra || (limit !== undefined && kept.bytes + extra.bytes > limit)) return kept;
    const reason = `${kept.reason}; with ${extra.words} in float32 (${gib(extra.bytes)} GiB), ${extra.use}`;
    return { ...kept, ...extra.part, bytes: kept.bytes + extra.bytes, reason };
  }, plan);
}

/**
 * Features below which the scoring block is not kept for rows of more than SCORING_BLOCK_MAX_OUTPUTS
 * scores: there a fused block computes k(V, X)·α
 * about as fast as a product reads the kept values back, and building the block costs several
 * epochs' scoring. On letter (16 000 × 16, 4 000 test rows, 26 classes, wasm, 2 threads) scoring
 * took 93 ms an epoch fused against 85–100 ms from the block, whose first epoch took 0.97 s to
 * build it; a fused 2 000 × 16 000 block costs 1.4× as much at d = 32, 2.1× at d = 64 and 2.9× at
 * d = 128 (`kmfit bench --backends wasm --shape 2000,16000,D,26`), and reading the block does not
 * grow with d.
 */
export const SCORING_BLOCK_MIN_FEATURES = 64;
/**
 * Scores per row up to which the scoring block is kept at any d: the product with the weights then
 * reads the block at memory speed, where a fused block evaluates the kernel anew (its exp or sqrt
 * per value, whatever d). wasm, 2 threads, 1 000 rows against 4 000 points (diamonds' shape),
 * milliseconds fused / kept: l = 1 4.3 / 1.0 at d = 9, 4.2 / 0.9 at d = 16; l = 2 3.9 / 1.0 and
 * 4.1 / 0.8; from l = 4 the product's own work shows (4.3 / 2.4 at d = 9), and at l = 26 on
 * letter's 4 000 × 16 000 the two were even (above). Building the block costs about one fused
 * block: it pays from the second epoch on.
 */
export const SCORING_BLOCK_MAX_OUTPUTS = 2;

/** Whether keeping k(V, X) pays for d features and l scores per row (l unknown: by d alone). */
function scoringBlockPays(d: number, outputs: number | undefined): boolean {
  return d >= SCORING_BLOCK_MIN_FEATURES || (outputs !== undefined && outputs <= SCORING_BLOCK_MAX_OUTPUTS);
}

/**
 * The cache of one run. The solver asks it for k(X_B, X)·α (predict); it answers from its rows
 * when it holds them, computing them first when the batch is the next one to fill.
 */
export class KernelCache {
  private readonly n: number;
  /** The column order: the filling epoch's permutation; position[row] is a row's place in it. */
  private order: Int32Array | undefined;
  private position: Int32Array | undefined;
  /** Rows in blocks of consecutive positions, as they were filled, each rows × n. */
  private blocks: CachedValues[] = [];
  private blockStarts: number[] = [];
  /** Positions [0, filled) are cached. */
  private filled = 0;
  /** The points in column order, while filling: the columns of each new block are a suffix of it. */
  private ordered: Matrix | undefined;
  /** The rows of each batch of the filling epoch, allocated when it begins, in fill order. */
  private reserved: CachedValues[] = [];
  /** A run of cached values gathered for a product (a later epoch's batch rows, a correction's); reused. */
  private gathered: CachedValues | undefined;
  /** The weights in column order, rewritten every step; reused. */
  private weights: Float32Array | undefined;
  private faulting: Prefault | undefined;
  /** Whether the column order is the points' own (fillWhole's). */
  private inOwnOrder = false;
  /** K[·, S] for the subsample's correction (addToPanel), and S's positions: filled with the rows. */
  private panel: { readonly values: Float32Array; readonly gather: PanelGather } | undefined;
  /** Values in the engine's own memory (CacheEngine.allocate), given back on release. */
  private engineValues: CachedValues[] = [];

  constructor(
    private readonly engine: CacheEngine,
    private readonly kernel: Kernel,
    /** The training points, which are the centers. */
    private readonly X: Matrix,
    private readonly centers: CenterSet,
    /** The batch size m: the filling epoch's batches are m rows each (the last one the rest). */
    private readonly batchSize: number,
    /**
     * The preconditioner's subsample S, whose columns the cache keeps as a float32 panel for the
     * correction k(X_S, X_B)·G where the engine multiplies by transposed rows and the plan counted
     * the panel (CachePlan.subsampleColumns); undefined: the correction gathers its values.
     */
    private readonly subsample?: Int32Array,
  ) {
    this.n = X.rows;
  }

  /** Whether every row is cached. */
  get complete(): boolean {
    return this.filled === this.n;
  }

  /** An epoch starts with this permutation: an empty cache (or one filled partly in another order) fills in it. */
  beginEpoch(order: Int32Array): void {
    if (this.complete || (this.order && sameOrder(this.order, order))) return;
    this.release();
    this.order = order.slice();
    this.position = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) this.position[this.order[i]] = i;
    // In the points' own order (fillWhole) the points are their own columns, and the weights
    // need no reordering: no copies.
    this.inOwnOrder = this.order.every((row, i) => row === i);
    this.ordered = this.inOwnOrder ? this.X : (this.engine.orderRows?.(this.X, this.order) ?? takeRows(this.X, this.order));
    const { n } = this;
    const m = Math.min(this.batchSize, n);
    const requests = [];
    for (let start = 0; start < n; start += m) requests.push({ length: Math.min(m, n - start) * n, float32: false });
    // The subsample's panel fills with the rows, and faults in with them (after the first batch's).
    const S = this.subsample;
    const withPanel = S !== undefined && this.engine.multiplyTransposedRows !== undefined;
    if (withPanel) requests.push({ length: n * S.length, float32: true });
    const values = this.allocateAll(requests);
    this.reserved = values.slice(0, Math.ceil(n / m));
    if (withPanel) this.panel = { values: values[values.length - 1] as Float32Array, gather: panelGather(S, this.position) };
    const regions = this.panel ? [this.reserved[0], this.panel.values, ...this.reserved.slice(1)] : this.reserved;
    const shared = regions.filter((values) => !(values.buffer instanceof ArrayBuffer));
    if (shared.reduce((sum, values) => sum + values.byteLength, 0) >= PREFAULT_MIN_BYTES) this.faulting = prefaultWhereSlow(shared);
  }

  /** The precision of the cached values. */
  get precision(): CachePrecision {
    return this.engine.precision;
  }

  /**
   * out (rows × l) = k(X[batch], X)·α from the cache, filling it first when the batch is the next
   * block in fill order. Returns false, doing nothing, when the cache can answer neither way.
   */
  async predict(batch: Int32Array, out: Float32Array): Promise<boolean> {
    const position = this.position;
    if (!position || batch.length === 0) return false;
    const l = this.centers.outputs;
    if (!this.complete && isNextRun(position, batch, this.filled)) {
      const rows = await this.fill(batch.length);
      await this.engine.multiply(rows, batch.length, this.n, await this.weightsInOrder(), l, out);
      return true;
    }
    if (!batch.every((row) => position[row] < this.filled)) return false;
    const { n } = this;
    await this.productInRuns(batch.length, n, await this.weightsInOrder(), l, out, (i) => this.rowOf(batch[i]));
    return true;
  }

  /**
   * out (rows × l) = k(X[rows], X[columns])·G from the cached rows `rows` (k is symmetric: any
   * columns are in them): the preconditioner's correction product k(X_S, X_B)·G, and EigenPro 3's
   * correction at the centers k(Z, Q)·c. Returns false, doing nothing, while some of those rows are
   * not cached yet (the filling epoch).
   */
  async subsampleProduct(rows: Int32Array, columns: Int32Array, G: Float32Array, out: Float32Array): Promise<boolean> {
    const position = this.position;
    if (!position || columns.length === 0 || !rows.every((row) => position[row] < this.filled)) return false;
    if (this.panel && rows === this.subsample && this.complete && this.engine.multiplyTransposedRows) {
      // k(X_S, X_B)·G = K[B, S]ᵀ·G from the panel's rows, read whole.
      const panel = this.panel.values;
      const s = rows.length;
      await this.engine.multiplyTransposedRows(columns.length, s, (j) => panel.subarray(position[columns[j]] * s, (position[columns[j]] + 1) * s), G, this.centers.outputs, out);
      return true;
    }
    const l = this.centers.outputs;
    const from = position[columns[0]];
    if (columns.every((column, j) => position[column] === from + j)) {
      // Columns at consecutive positions (fillWhole's `first`): a run of each row, copied whole.
      await this.productInRuns(rows.length, columns.length, G, l, out, (i) => this.rowOf(rows[i]).subarray(from, from + columns.length));
      return true;
    }
    // The columns in increasing position, G's rows with them: each row's reads then run forward
    // through it (4–5× faster than in batch order at 20 000 × 2 000; the sum does not care).
    const order = Int32Array.from(columns.keys()).sort((a, b) => position[columns[a]] - position[columns[b]]);
    const at = Int32Array.from(order, (k) => position[columns[k]]);
    const sortedG = new Float32Array(at.length * l);
    order.forEach((k, j) => sortedG.set(G.subarray(k * l, (k + 1) * l), j * l));
    // One row's gathered values, filled anew for each row (RowSource: read before the next).
    const row = this.allocate(at.length, false);
    await this.productInRuns(rows.length, at.length, sortedG, l, out, (i) => {
      const values = this.rowOf(rows[i]);
      for (let j = 0; j < at.length; j++) row[j] = values[at[j]];
      return row;
    });
    return true;
  }

  /**
   * out (count × l) = V·A for the count × width values V whose row i is `rowAt(i)`: by the engine
   * where it takes rows so (multiplyRows), else in runs of GATHER_BYTES, gathered into one reused
   * buffer and multiplied by the engine.
   */
  private async productInRuns(count: number, width: number, A: Float32Array, l: number, out: Float32Array, rowAt: RowSource): Promise<void> {
    if (this.engine.multiplyRows) return this.engine.multiplyRows(count, width, rowAt, A, l, out);
    const length = Math.min(count, rowsPerRun(width, valueBytes(this.engine.precision), GATHER_BYTES)) * width;
    if (!this.gathered || this.gathered.length < length) this.gathered = this.allocate(length, false);
    await inGatheredRuns(count, width, rowAt, this.gathered.subarray(0, length), (values, start, end) =>
      this.engine.multiply(values, end - start, width, A, l, out.subarray(start * l, end * l)),
    );
  }

  /**
   * Fills the whole matrix now (EigenPro 3's K_ZZ, before the first projection reads it: the
   * projection's batches are drawn anew every time, never one fill order), with the rows `first`
   * in front, in their order, and the rest in the points' own order: a product with `first`'s
   * columns (subsampleProduct) then reads a prefix of each row instead of gathering.
   */
  async fillWhole(first: Int32Array = new Int32Array(0)): Promise<void> {
    if (this.complete) return;
    const order = new Int32Array(this.n);
    order.set(first);
    const taken = new Uint8Array(this.n);
    for (const row of first) taken[row] = 1;
    let next = first.length;
    for (let row = 0; row < this.n; row++) if (!taken[row]) order[next++] = row;
    this.beginEpoch(order);
    while (!this.complete) await this.fill(Math.min(this.batchSize, this.n - this.filled));
  }

  /** Releases the cached rows and the engine. */
  dispose(): void {
    this.release();
    this.engine.dispose();
  }

  /** Computes the next `count` rows: their columns from their own position on, the rest by symmetry. */
  private async fill(count: number): Promise<CachedValues> {
    const { n } = this;
    const ordered = this.ordered!;
    const d = ordered.cols;
    const start = this.filled;
    const width = n - start;
    const head = { data: ordered.data.subarray(start * d, (start + count) * d), rows: count, cols: d };
    const tail = { data: ordered.data.subarray(start * d), rows: width, cols: d };
    const planned = this.reserved[this.blocks.length];
    const values = planned?.length === count * n ? planned : this.allocate(count * n);
    await this.engine.block(this.kernel, head, tail, values, start, n);
    this.blocks.forEach((block, b) => copyTransposed(block, this.blockStarts[b], values, start, count, n));
    if (this.panel) this.addToPanel(this.panel.values, this.panel.gather, values, start, count);
    this.blocks.push(values);
    this.blockStarts.push(start);
    this.filled += count;
    if (this.complete) {
      this.ordered = undefined;
      this.reserved = [];
    }
    return values;
  }

  /**
   * Adds the new rows [start, start + count) (whole: n values each) to the subsample's panel
   * K[·, S], float32, n × s in position order: the cached values of S's columns, widened. Built as
   * the matrix fills, so that each later correction reads a batch's rows of it whole instead of
   * gathering s × m values column by column.
   */
  private addToPanel(panel: Float32Array, { columns, at }: PanelGather, values: CachedValues, start: number, count: number): void {
    const { n } = this;
    const s = at.length;
    const precision = this.engine.precision;
    const table = precision === 'float32' ? undefined : decodingTable(precision);
    for (let i = 0; i < count; i++) {
      const row = values.subarray(i * n, (i + 1) * n);
      const o = (start + i) * s;
      if (table) for (let k = 0; k < s; k++) panel[o + columns[k]] = table[row[at[k]]];
      else for (let k = 0; k < s; k++) panel[o + columns[k]] = row[at[k]];
    }
  }

  /** A cached row (n values): row `row` of the points. */
  private rowOf(row: number): CachedValues {
    const { n } = this;
    const at = this.position![row];
    const b = blockOf(this.blockStarts, at);
    const offset = (at - this.blockStarts[b]) * n;
    return this.blocks[b].subarray(offset, offset + n);
  }

  /** α (n × l), its rows in column order: read back every step, so it is whatever the solver last set. */
  private async weightsInOrder(): Promise<Float32Array> {
    const weights = await this.centers.readWeights();
    if (this.inOwnOrder) return weights;
    const l = this.centers.outputs;
    this.weights ??= new Float32Array(this.n * l);
    const order = this.order!;
    const inOrder = this.weights;
    // A plain gather: a subarray and a set per row cost 25× as much at l = 1 (0.8 against 0.03 ms
    // at n = 16 000), 3.5× at l = 10.
    for (let i = 0, to = 0; i < this.n; i++) {
      const from = order[i] * l;
      for (let c = 0; c < l; c++) inOrder[to++] = weights[from + c];
    }
    return inOrder;
  }

  /**
   * The cache's rows and panel: all in the engine's memory where all of them fit there (its
   * products then read them in place), else all shared memory (rows split between the two would
   * be copied for every product anyway).
   */
  private allocateAll(requests: readonly { readonly length: number; readonly float32: boolean }[]): CachedValues[] {
    const kept: CachedValues[] = [];
    for (const { length, float32 } of requests) {
      const values = this.engine.allocate?.(length, float32);
      if (!values) break;
      kept.push(values);
    }
    if (kept.length === requests.length) {
      this.engineValues.push(...kept);
      return kept;
    }
    for (const values of kept) this.engine.free?.(values);
    return requests.map(({ length, float32 }) => this.allocate(length, true, float32));
  }

  /**
   * Values in the cache's precision (in float32 where asked). The cache's own rows are shared
   * memory, which the prefaulting thread can reach (where there is any: a page must be
   * cross-origin isolated).
   */
  private allocate(length: number, shared = true, float32 = false): CachedValues {
    const buffer = memoryOf(length * (float32 ? 4 : valueBytes(this.engine.precision)), shared);
    return float32 || this.engine.precision === 'float32' ? new Float32Array(buffer) : new Uint16Array(buffer);
  }

  private release(): void {
    this.faulting?.stop();
    this.faulting = undefined;
    for (const values of this.engineValues) this.engine.free?.(values);
    this.engineValues = [];
    this.order = this.position = this.ordered = this.gathered = this.weights = this.panel = undefined;
    this.blocks = [];
    this.reserved = [];
    this.blockStarts = [];
    this.filled = 0;
  }
}

/** `bytes` of memory, shared where asked and there is any (a page must be cross-origin isolated). */
function memoryOf(bytes: number, shared: boolean): ArrayBuffer | SharedArrayBuffer {
  return shared && typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/** Whether the batch's rows sit at positions from, from + 1, … in that order. */
function isNextRun(position: Int32Array, batch: Int32Array, from: number): boolean {
  for (let i = 0; i < batch.length; i++) if (position[batch[i]] !== from + i) return false;
  return true;
}

function sameOrder(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The block holding position `at` (blocks start in increasing order). */
function blockOf(starts: readonly number[], at: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The panel's columns S as a row's gather reads them: by increasing position, and where each goes. */
interface PanelGather {
  /** S's positions in the column order, increasing. */
  readonly at: Int32Array;
  /** The panel column of each: at[k] is S[columns[k]]'s position. */
  readonly columns: Int32Array;
}

/**
 * S's gather in increasing position: each cached row is then read forward, about twice as fast as
 * in S's own order (s = 2 000 of n = 16 000, float16: 5 ns against 12 ns a value).
 */
function panelGather(S: Int32Array, position: Int32Array): PanelGather {
  const columns = Int32Array.from(S.keys()).sort((a, b) => position[S[a]] - position[S[b]]);
  return { at: Int32Array.from(columns, (k) => position[S[k]]), columns };
}

/**
 * Source rows per pass of the transposed copy: their stretches of the target's 8 columns stay in
 * cache while the pass reads them.
 */
const TRANSPOSE_TILE = 128;

/**
 * target[i, s + j] = source[j, t + i] for the source block's rows j (at positions s…) and the
 * target's rows i (at positions t…, count of them): the target's columns left of its own
 * position, which the source computed as its columns. Rows are n wide.
 *
 * Eight target rows at a time: each source row gives eight adjacent values (one read of its cache
 * line) to eight runs of writes. Against 32 × 32 tiles one target row at a time (a `node` script
 * with the same loops): letter's whole fill (16 000², float16) 249–254 → 139–148 ms; at MNIST's
 * width (60 000, float16) 2.25 → 1.1–1.4 ns a value.
 */
function copyTransposed(source: CachedValues, s: number, target: CachedValues, t: number, count: number, n: number): void {
  const sourceRows = source.length / n;
  for (let j0 = 0; j0 < sourceRows; j0 += TRANSPOSE_TILE) {
    const j1 = Math.min(sourceRows, j0 + TRANSPOSE_TILE);
    let i = 0;
    for (; i + 8 <= count; i += 8) {
      // The eight target rows' starts, kept in registers through the inner loop.
      const to0 = i * n + s, to1 = to0 + n, to2 = to1 + n, to3 = to2 + n;
      const to4 = to3 + n, to5 = to4 + n, to6 = to5 + n, to7 = to6 + n;
      const from = t + i;
      for (let j = j0; j < j1; j++) {
        const at = j * n + from;
        target[to0 + j] = source[at];
        target[to1 + j] = source[at + 1];
        target[to2 + j] = source[at + 2];
        target[to3 + j] = source[at + 3];
        target[to4 + j] = source[at + 4];
        target[to5 + j] = source[at + 5];
        target[to6 + j] = source[at + 6];
        target[to7 + j] = source[at + 7];
      }
    }
    for (; i < count; i++) {
      const to = i * n + s;
      const from = t + i;
      for (let j = j0; j < j1; j++) target[to + j] = source[j * n + from];
    }
  }
}
