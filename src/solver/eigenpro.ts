/**
 * The EigenPro 2 iteration (Ma & Belkin 2019), over the Backend interface only:
 *   G     = k(X_B, X)·α − Y_B
 *   α[B] -= (η/m)·G
 *   α[S] += (η/m)·V·diag(D)·Vᵀ·k(X_S, X_B)·G     (the correction on the fixed subsample)
 * Each epoch draws a fresh permutation; the last partial batch is kept. Per-coefficient moves use
 * η/m of the planned m also for the last, smaller batch, which keeps it within the stable range.
 * The epochs, their monitoring and the state a run can be resumed from are in training.ts.
 */
import type { Kernel } from '../../kernels/kernel.js';
import type { Backend, CenterSet } from '../backends/backend.js';
import { rowSlice, takeRows, type Matrix } from '../matrix.js';
import { correctionKernels } from './dense/choose.js';
import type { CorrectionKernels } from './dense/kernels.js';
import type { CacheLeft } from './events.js';
import type { KernelCache } from './kernelCache.js';

/** The top eigen-directions on the subsample, ready to apply. */
export interface Preconditioning {
  /** Subsample points X_S (s×d). */
  readonly points: Matrix;
  /** Their indices in the training data. */
  readonly indices: Int32Array;
  /** V = E/√s, s×(q−1), column-major: vectors[j·s + i]. */
  readonly vectors: Float64Array;
  /** D_i, length q−1. */
  readonly scales: Float64Array;
}

/** Data scored after each epoch. `labels` are class indices, for classification. */
export interface MonitorSet {
  readonly X: Matrix;
  readonly Y: Matrix;
  readonly labels?: Int32Array;
  /** For a subsample of the training data: the rows it was taken from. */
  readonly rows?: Int32Array;
}

/** What one iteration reads: the data, the resident centers and weights, the preconditioner. */
export interface StepContext {
  readonly backend: Backend;
  readonly kernel: Kernel;
  /** The training points, which are also the centers' own points (EigenPro 2; a projection's centers). */
  readonly X: Matrix;
  readonly Y: Matrix;
  readonly centers: CenterSet;
  readonly preconditioning?: Preconditioning;
  /** The kernel matrix in memory, where the plan keeps it: predictions of its rows come from it. */
  readonly cache?: KernelCache;
  /** A float32 cache to take a reduced-precision one's place when its rounding holds the residual up; undefined where none fits. */
  readonly exactCache?: () => Promise<KernelCache | undefined>;
}

/** One iteration's update on a batch, as the training loop (training.ts) calls it. */
export interface Stepper {
  /** Updates the weights for the batch (rows of the training data) at per-coefficient rate η/m; returns the batch's mse before it. */
  step(batch: Int32Array, rate: number): Promise<number>;
  /** Puts any pending update into the centers' weights (before they are read, scored or saved). */
  settle(): Promise<void>;
  /** Drops any pending update (the weights are about to be replaced). */
  discard(): void;
  /** The pending update as plain data, for a checkpoint (undefined when nothing is pending). */
  pendingState?(): Promise<PendingState | undefined>;
  /** Puts back a saved pending update; its rows are the `rows` of the data, in batches of `batchSize`. */
  restore?(state: PendingState, rows: Int32Array, batchSize: number): Promise<void>;
  /**
   * Projections onto the centers made so far (EigenPro 3): a training that averages (training.ts)
   * adds the weights to its epoch's mean after each.
   */
  readonly projections?: number;
  /** An epoch starts with this permutation of the data's rows (a kernel cache fills in its order). */
  beginEpoch?(order: Int32Array): void;
  /**
   * With a kernel cache in reduced precision (float16, bfloat16): how much of the residual on the
   * subsample is the cache's rounding, ‖K̃α − Kα‖ / ‖y − Kα‖ (K̃ the cached values, K the exact
   * ones). The iteration goes to the interpolant of K̃, whose exact residual levels off, or rises,
   * once the rounding is the larger part; from CACHE_ROUNDING_SHARE on, the stepper drops the cache
   * and goes on with a float32 one where StepContext.exactCache gives one, else with exact kernel
   * blocks. Returns the share and the precision left, or undefined when it keeps its cache (or has
   * none in reduced precision).
   */
  checkCacheRounding?(): Promise<CacheLeft | undefined>;
  /**
   * out (rows × l) = the model's predictions at training rows `rows` from what the stepper holds,
   * where that is the model's own values (a float32 kernel cache holding the whole matrix: a
   * product of its rows, m·n·l, instead of a kernel block, m·n·d·2); false, doing nothing, where it
   * holds none. A reduced precision's values are its rounded matrix's, whose floor
   * checkCacheRounding must see in the exact figures.
   */
  predictTrainingRows?(rows: Int32Array, out: Float32Array): Promise<boolean>;
  /** Releases what the stepper holds (EigenPro 3's pending sets and θ on the device, a kernel cache). */
  dispose?(): void;
}

/**
 * EigenPro 3's update not yet projected: the last batches of the epoch in progress (their rows end
 * at the cursor) with their weights, its values at the centers, and the corrections on the subsample.
 */
export interface PendingState {
  /** rows × l, the temporary centers' weights, in batch order. */
  readonly weights: Float32Array;
  /** p × l. */
  readonly atCenters: Float64Array;
  /** s × l. */
  readonly corrections: Float64Array;
}

/** EigenPro 2's iteration, which has nothing pending. */
export function eigenPro2Stepper(context: StepContext): Stepper {
  let run = context;
  return {
    step: (batch, rate) => step(run, batch, rate, run.Y.cols),
    settle: async () => undefined,
    discard: () => undefined,
    beginEpoch: (order) => run.cache?.beginEpoch(order),
    dispose: () => run.cache?.dispose(),
    // At any d: 'auto' keeps float32 only while the matrix is small (AUTO_FLOAT32_BYTES), so wasm
    // holds it in its memory and reads it in place, and onnx's product of its rows beats its own
    // small fused blocks between steps (diamonds, d = 9: 2 500 rows in 5.5 ms against ≈ 28 ms an
    // epoch). A large float32 cache asked for outright may be copied out row by row at small d, at
    // about a fused block's cost. Follows the cache a refill put in place (checkCacheRounding).
    predictTrainingRows: async (rows, out) => (run.cache?.precision === 'float32' && run.cache.complete ? run.cache.predict(rows, out) : false),
    checkCacheRounding: async () => {
      const { cache, preconditioning: p } = run;
      if (!cache || cache.precision === 'float32' || !p) return undefined;
      const share = await cacheRoundingShare(run, cache, p);
      if (share === undefined || share < CACHE_ROUNDING_SHARE) return undefined;
      cache.dispose();
      // The next epoch fills the float32 one in its order (beginEpoch), where it fits.
      const exact = await run.exactCache?.();
      run = { ...run, cache: exact };
      return { precision: cache.precision, share, ...(exact ? { refilled: 'float32' as const } : {}) };
    },
  };
}

/** The share of the residual's norm that a reduced-precision cache's rounding may make before the stepper drops the cache. */
export const CACHE_ROUNDING_SHARE = 0.8;
/** Rows of the subsample the share is measured on: a fraction of a step's block, enough for a ratio of norms. */
const CACHE_ROUNDING_ROWS = 500;

/**
 * ‖K̃α − Kα‖ / ‖y − Kα‖ on the preconditioner's subsample S: its rows' predictions from the cache
 * and from exact kernel blocks (undefined while the cache does not hold them all yet).
 */
export async function cacheRoundingShare(run: StepContext, cache: KernelCache, p: Preconditioning): Promise<number | undefined> {
  const l = run.Y.cols;
  const count = Math.min(p.indices.length, CACHE_ROUNDING_ROWS);
  const rows = p.indices.subarray(0, count);
  const cached = new Float32Array(count * l);
  if (!(await cache.predict(rows, cached))) return undefined;
  const exact = new Float32Array(cached.length);
  await (run.centers.predictOwnRows ? run.centers.predictOwnRows(rows, exact) : run.centers.predict(rowSlice(p.points, 0, count), exact));
  let rounding = 0;
  let residual = 0;
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < l; c++) {
      const f = exact[i * l + c];
      rounding += (cached[i * l + c] - f) ** 2;
      residual += (run.Y.data[rows[i] * l + c] - f) ** 2;
    }
  }
  return residual > 0 ? Math.sqrt(rounding / residual) : rounding > 0 ? Number.POSITIVE_INFINITY : 0;
}

/** Rows per predict call when scoring, to bound the memory of one block. */
const SCORE_ROWS = 4096;

/** Calls `visit` on X in chunks of SCORE_ROWS rows, with each chunk's first and end row. */
export async function inRowChunks(X: Matrix, visit: (chunk: Matrix, start: number, end: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < X.rows; start += SCORE_ROWS) {
    const end = Math.min(start + SCORE_ROWS, X.rows);
    await visit({ data: X.data.subarray(start * X.cols, end * X.cols), rows: end - start, cols: X.cols }, start, end);
  }
}

/** out = k(X, centers)·α, in row chunks. */
export async function predictInChunks(centers: CenterSet, X: Matrix): Promise<Float32Array> {
  const l = centers.outputs;
  const out = new Float32Array(X.rows * l);
  await inRowChunks(X, (chunk, start, end) => centers.predict(chunk, out.subarray(start * l, end * l)));
  return out;
}

/** Mean squared error per output, and the argmax error rate when labels are given. */
export async function evaluate(centers: CenterSet, set: MonitorSet): Promise<{ mse: number; error?: number }> {
  return scorePredictions(await predictInChunks(centers, set.X), set, centers.outputs);
}

/**
 * evaluate()'s figures, a subsample of the training rows predicted by the stepper where it can
 * (Stepper.predictTrainingRows: a float32 kernel cache's rows), else by the centers.
 */
export async function evaluateWith(stepper: Stepper, centers: CenterSet, set: MonitorSet): Promise<{ mse: number; error?: number }> {
  if (set.rows && stepper.predictTrainingRows) {
    const scores = new Float32Array(set.X.rows * centers.outputs);
    if (await stepper.predictTrainingRows(set.rows, scores)) return scorePredictions(scores, set, centers.outputs);
  }
  return evaluate(centers, set);
}

/** evaluate()'s figures from the predictions (rows(set.X) × l, row-major). */
export function scorePredictions(scores: Float32Array, set: MonitorSet, l: number): { mse: number; error?: number } {
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += (scores[i] - set.Y.data[i]) ** 2;
  const mse = sum / scores.length;
  if (!set.labels) return { mse };
  let wrong = 0;
  for (let i = 0; i < set.X.rows; i++) {
    let best = 0;
    for (let c = 1; c < l; c++) if (scores[i * l + c] > scores[i * l + best]) best = c;
    if (best !== set.labels[i]) wrong++;
  }
  return { mse, error: wrong / set.X.rows };
}

/**
 * One iteration on the batch (rows of X), with per-coefficient rate η/m; returns the batch's mean
 * squared residual before the update. `weightsAreZero`: the caller knows α = 0.
 */
export async function step(run: StepContext, batch: Int32Array, rate: number, l: number, weightsAreZero = false): Promise<number> {
  const { X, Y, centers } = run;
  const residual = new Float32Array(batch.length * l);
  // With all weights 0 (the projection's first step) the predictions are 0: no kernel block needed.
  // From the kernel cache where it holds (or is filling) the batch's rows; a set that holds the
  // points itself (a cluster's) is told which rows, not sent them.
  if (!weightsAreZero && !(await run.cache?.predict(batch, residual))) {
    await (centers.predictOwnRows ? centers.predictOwnRows(batch, residual) : centers.predict(takeRows(X, batch), residual));
  }
  const mse = subtractTargets(residual, Y, batch, l);
  await centers.addToWeights(batch, scaledBy(residual, -rate));
  if (run.preconditioning) await correctSubsample(run, run.preconditioning, batch, residual, rate, l);
  return mse;
}

/** Turns the batch's predictions into residuals in place (minus the targets' rows `batch`); returns their mean square. */
export function subtractTargets(residual: Float32Array, Y: Matrix, batch: Int32Array, l: number): number {
  let squared = 0;
  for (let i = 0; i < batch.length; i++) {
    const y = batch[i] * l;
    for (let c = 0; c < l; c++) {
      const g = residual[i * l + c] - Y.data[y + c];
      residual[i * l + c] = g;
      squared += g * g;
    }
  }
  return squared / residual.length;
}

/** factor·v, a new array: a step's weight changes from its residuals. */
export function scaledBy(v: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = factor * v[i];
  return out;
}

/**
 * α[S] += rate · V·diag(D)·Vᵀ·k(X_S, X_B)·G. The product t = k(X_S, X_B)·G comes from the kernel
 * cache where it holds the subsample's rows, else it is the backend's fused block with the batch
 * as centers and the residuals as their weights, so the s×m block is never materialized (nor, on a
 * GPU, read back); the small products with V are float64.
 */
async function correctSubsample(
  run: StepContext,
  p: Preconditioning,
  batch: Int32Array,
  residual: Float32Array,
  rate: number,
  l: number,
): Promise<void> {
  const t = new Float32Array(p.points.rows * l);
  if (!(await run.cache?.subsampleProduct(p.indices, batch, residual, t))) {
    const set = await run.backend.createCenterSet(run.kernel, run.backend.takeRows?.(run.X, batch) ?? takeRows(run.X, batch), l);
    try {
      await set.setWeights(residual);
      await set.predict(p.points, t);
    } finally {
      set.dispose();
    }
  }
  await run.centers.addToWeights(p.indices, preconditionerCorrection(p, t, l, rate));
}

/**
 * The correction's products with each preconditioner's V, made on first use and kept while the
 * preconditioner is (the wasm ones hold a copy of V: made once, not once a step).
 */
const kernelsOf = new WeakMap<Preconditioning, CorrectionKernels>();

/**
 * factor·V·diag(D)·Vᵀ·t, s×l row-major, in float64: the correction on the subsample. t is s×l
 * row-major, or, with `rows`, the s rows `rows` of a larger l-column matrix.
 */
export function preconditionerCorrection(p: Preconditioning, t: Float32Array, l: number, factor: number, rows?: Int32Array): Float64Array {
  let kernels = kernelsOf.get(p);
  if (!kernels) {
    kernels = correctionKernels(p.vectors, p.scales.length, p.indices.length);
    kernelsOf.set(p, kernels);
  }
  return kernels.correction(t, l, p.scales.map((d) => d * factor), rows);
}
