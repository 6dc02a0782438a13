/**
 * EigenPro 3 (Abedsoltan, Belkin & Pandit, "Toward large kernel models", ICML 2023) with EigenPro
 * 4's delayed projection (Abedsoltan, Ma, Pandit & Belkin, NeurIPS 2025): a model on p centers Z,
 * f = k(·, Z)·α, trained on n data points with the preconditioned stochastic gradient projected
 * onto the centers' span. Per batch B, with the data level's rate η/m:
 *
 *   G        = f(X_B) − Y_B                          (f includes the pending part, below)
 *   pending += k(·, X_B)·(−η/m · G)                  the batch's gradient, as temporary centers
 *   h       += k(Z, X_B)·(−η/m · G)                  its values at the centers (from the kernel
 *                                                     block of G where the backend can)
 *   c       += η/m · V·diag(D)·Vᵀ·k(Q, X_B)·G         the preconditioner's correction on Q ⊂ Z,
 *   α[Q]    += that batch's part of c                 held in α until the projection
 *
 * and every `interval` batches (and before the weights are read) the pending function, correction
 * included, is projected onto span k(·, Z): θ solves K_ZZ·θ = h + K_ZQ·c approximately, by EigenPro
 * 2 iterations on the centers (their own subsample and plan); α += θ − c on Q; pending = 0.
 * interval = 1 is EigenPro 3's projection after every step.
 *
 * The Nyström subsample Q of the data level is drawn from the centers (EigenPro 3's reference code
 * draws it from the data): with the projection P̃ applied to the whole preconditioned gradient,
 * correction included, the update is P̃·K_ZX·M·G with M the (invertible) preconditioner, and its
 * fixed point is exactly the least-squares solution over the centers' span, K_ZX·(K_XZ·α − Y) = 0,
 * however inexact P̃ is. (Keeping the correction out of the projection, though it lies in the span,
 * leaves an operator that an inexact P̃ can make indefinite: training diverged that way here.)
 */
import type { Kernel } from '../../kernels/kernel.js';
import type { Backend, CacheEngine, CenterSet } from '../backends/backend.js';
import type { Matrix, TrainingRows } from '../matrix.js';
import { preconditionerCorrection, step, type PendingState, type Preconditioning, type Stepper } from './eigenpro.js';
import { KernelCache } from './kernelCache.js';
import type { SeededRandom } from './random.js';

/** The projection's set-up: EigenPro 2 on the centers, interpolating the pending function's values. */
export interface ProjectionSetup {
  readonly preconditioning?: Preconditioning;
  readonly batchSize: number;
  readonly stepSize: number;
  /** Inner iterations per projection. */
  readonly iterations: number;
}

export interface CentersStepContext {
  readonly backend: Backend;
  readonly kernel: Kernel;
  readonly data: TrainingRows;
  /** Targets, n×l. */
  readonly Y: Matrix;
  /** The centers Z (p×d) and their weights α. */
  readonly points: Matrix;
  readonly centers: CenterSet;
  /** The data level's preconditioner; its indices are rows of the centers. */
  readonly preconditioning?: Preconditioning;
  readonly projection: ProjectionSetup;
  /** Batches between projections. */
  readonly interval: number;
  /** Draws the projection's batches. */
  readonly random: SeededRandom;
  /**
   * Where the plan keeps K_ZZ in memory for the projection (kernelCache.ts): its engine. The matrix
   * is filled before the first projection; every inner iteration after that reads its batch's rows.
   */
  readonly projectionCache?: CacheEngine;
}

/** EigenPro 3's iteration, with the pending (not yet projected) part of the model. */
export class CentersStepper implements Stepper {
  /** The batches since the last projection, each a center set holding −η/m·G. */
  private pending: CenterSet[] = [];
  /** k(Z, pending)·weights: the pending function's values at the centers, p×l. */
  private atCenters: Float64Array;
  /** The corrections on the subsample since the last projection, s×l (also added to α[Q]). */
  private corrections: Float64Array;
  /** The projection's own weights θ on the centers. */
  private theta: CenterSet | undefined;
  /** The data level's subsample Q as centers, weighted by the corrections at each projection. */
  private subsample: CenterSet | undefined;
  /** K_ZZ, where the plan caches it: predictions of θ on the centers' rows (made with θ, from this engine). */
  private cache: KernelCache | undefined;
  private cacheEngine: CacheEngine | undefined;
  private projected = 0;

  constructor(private readonly run: CentersStepContext) {
    this.atCenters = new Float64Array(run.points.rows * run.centers.outputs);
    this.corrections = new Float64Array((run.preconditioning?.indices.length ?? 0) * run.centers.outputs);
    this.cacheEngine = run.projectionCache;
  }

  /** One batch (rows of the data); returns its mean squared residual before the update. */
  async step(batch: Int32Array, rate: number): Promise<number> {
    const { run } = this;
    const l = run.centers.outputs;
    // Predicted on by the centers and every pending set: the backend's form of the rows made once.
    const taken = run.data.take(batch);
    const XB = run.backend.prepareRows?.(taken) ?? taken;
    // offset = pending(X_B) − Y_B, so that G = k(X_B, Z)·α + offset.
    const offset = new Float32Array(batch.length * l);
    if (this.pending.length > 0) {
      const part = new Float32Array(offset.length);
      for (const set of this.pending) {
        await set.predict(XB, part);
        for (let i = 0; i < offset.length; i++) offset[i] += part[i];
      }
    }
    for (let i = 0; i < batch.length; i++) {
      const y = batch[i] * l;
      for (let c = 0; c < l; c++) offset[i * l + c] -= run.Y.data[y + c];
    }
    const G = new Float32Array(offset.length);
    // The batch's values at the centers, k(Z, X_B)·(−η/m·G): from the same kernel block as G where
    // the backend can (one n·p·d block an epoch instead of two).
    const values = new Float32Array(run.points.rows * l);
    const fused = run.centers.predictAndPullBack?.bind(run.centers);
    if (fused) await fused(XB, offset, -rate, G, values);
    else {
      await run.centers.predict(XB, G);
      for (let i = 0; i < G.length; i++) G[i] += offset[i];
    }
    let squared = 0;
    const moves = new Float32Array(G.length);
    for (let i = 0; i < G.length; i++) {
      squared += G[i] * G[i];
      moves[i] = -rate * G[i];
    }
    // The batch as temporary centers with weights −η/m·G.
    const set = await run.backend.createCenterSet(run.kernel, XB, l);
    this.pending.push(set);
    await set.setWeights(moves);
    if (!fused) await set.predict(run.points, values);
    for (let i = 0; i < values.length; i++) this.atCenters[i] += values[i];
    if (run.preconditioning) await this.correct(run.preconditioning, values);
    if (this.pending.length >= run.interval) await this.settle();
    return squared / G.length;
  }

  get projections(): number {
    return this.projected;
  }

  /** Projects the pending part onto the centers' span: α += θ, θ ≈ K_ZZ⁻¹·h. */
  async settle(): Promise<void> {
    if (this.pending.length === 0) return;
    const { run } = this;
    const l = run.centers.outputs;
    const p = run.points.rows;
    this.theta ??= await run.backend.createCenterSet(run.kernel, run.points, l);
    const theta = this.theta;
    const { projection } = run;
    const m = projection.batchSize;
    if (this.cacheEngine && !this.cache) {
      this.cache = new KernelCache(this.cacheEngine, run.kernel, run.points, theta, m);
      // The data level's subsample in front: the corrections' values at the centers, K_ZQ·c, then
      // read a run at the front of each row instead of gathering p × s values one by one (p = 20 000,
      // s = 2 000, float16, onnx: 41–61 ms against 166–217 ms; bench in docs/benchmarks.md).
      await this.cache.fillWhole(run.preconditioning?.indices);
    }
    const target: Matrix = { data: Float32Array.from(this.atCenters), rows: p, cols: l };
    const precond = run.preconditioning;
    if (precond) {
      // + K_ZQ·c: the corrections' values at the centers, from K_ZZ's cached rows where it is
      // cached (Q ⊂ Z), else from the subsample as a center set (made once, as θ is).
      const corrections = Float32Array.from(this.corrections);
      const values = new Float32Array(p * l);
      if (!(await this.cache?.subsampleProduct(allRows(p), precond.indices, corrections, values))) {
        this.subsample ??= await run.backend.createCenterSet(run.kernel, precond.points, l);
        await this.subsample.setWeights(corrections);
        await this.subsample.predict(run.points, values);
      }
      for (let i = 0; i < values.length; i++) target.data[i] += values[i];
      // α[Q] −= c: the projection puts the corrections back, with the rest.
      const undo = new Float64Array(this.corrections.length);
      for (let i = 0; i < undo.length; i++) undo[i] = -this.corrections[i];
      await run.centers.addToWeights(precond.indices, undo);
    }
    await theta.setWeights(new Float32Array(p * l));
    const inner = { backend: run.backend, kernel: run.kernel, X: run.points, Y: target, centers: theta, preconditioning: projection.preconditioning, cache: this.cache };
    let order = run.random.permutation(p);
    let cursor = 0;
    for (let it = 0; it < projection.iterations; it++) {
      if (cursor >= p) {
        order = run.random.permutation(p);
        cursor = 0;
      }
      const batch = order.subarray(cursor, Math.min(cursor + m, p));
      cursor += batch.length;
      await step(inner, batch, projection.stepSize / m, l, it === 0);
    }
    const all = await theta.readWeights();
    await run.centers.addToWeights(allRows(p), all);
    this.discard();
    this.projected++;
  }

  async pendingState(): Promise<PendingState | undefined> {
    if (this.pending.length === 0) return undefined;
    const parts = await Promise.all(this.pending.map((set) => set.readWeights()));
    const weights = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      weights.set(part, offset);
      offset += part.length;
    }
    return { weights, atCenters: this.atCenters.slice(), corrections: this.corrections.slice() };
  }

  async restore(state: PendingState, rows: Int32Array, batchSize: number): Promise<void> {
    this.discard();
    const l = this.run.centers.outputs;
    for (let start = 0; start < rows.length; start += batchSize) {
      const end = Math.min(start + batchSize, rows.length);
      const set = await this.run.backend.createCenterSet(this.run.kernel, this.run.data.take(rows.subarray(start, end)), l);
      this.pending.push(set);
      await set.setWeights(state.weights.slice(start * l, end * l));
    }
    this.atCenters.set(state.atCenters);
    this.corrections.set(state.corrections);
  }

  /** Drops the pending part (a rollback to weights read before it). */
  discard(): void {
    for (const set of this.pending) set.dispose();
    this.pending = [];
    this.atCenters.fill(0);
    this.corrections.fill(0);
  }

  /** Releases the device memory of the pending part, of θ and of the subsample's set, and K_ZZ's cache. */
  dispose(): void {
    this.discard();
    this.theta?.dispose();
    this.subsample?.dispose();
    this.theta = this.subsample = undefined;
    // The cache disposes its engine; an engine no projection used yet is disposed alone.
    (this.cache ?? this.cacheEngine)?.dispose();
    this.cache = this.cacheEngine = undefined;
  }

  /**
   * α[Q] += η/m·V·diag(D)·Vᵀ·k(Q, X_B)·G, where k(Q, X_B)·(−η/m·G) is rows Q of `values` (Q ⊂ Z):
   * so α[Q] −= V·diag(D)·Vᵀ·values[Q].
   */
  private async correct(p: Preconditioning, values: Float32Array): Promise<void> {
    const delta = preconditionerCorrection(p, values, this.run.centers.outputs, -1, p.indices);
    for (let i = 0; i < delta.length; i++) this.corrections[i] += delta[i];
    await this.run.centers.addToWeights(p.indices, delta);
  }
}

let rowsCache: Int32Array | undefined;
/** 0, 1, …, p − 1 (shared: addToWeights only reads it). */
function allRows(p: number): Int32Array {
  if (!rowsCache || rowsCache.length !== p) rowsCache = Int32Array.from({ length: p }, (_, i) => i);
  return rowsCache;
}
