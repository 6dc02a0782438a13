/**
 * The steps of a search's candidates, in lock step on the same batches: each iteration computes
 * every candidate's predictions for the batch in one call on a center group (the distances once),
 * and the subsample's corrections k(X_S, X_B)·G_k in one call on a group of the batch; then each
 * candidate updates its own weights with its own step size and preconditioner — the arithmetic of
 * eigenpro.ts's step, candidate by candidate. Scores after an epoch come the same way: one pass
 * over a monitored set for all candidates.
 *
 * The driver (fitSearch.ts) calls newRound() before the candidates' steps of an iteration; the
 * first candidate to ask computes what all of them need for that round.
 */
import type { Kernel } from '../../kernels/kernel.js';
import type { Backend, CenterGroup } from '../backends/backend.js';
import { centerGroup } from '../backends/centerGroup.js';
import { takeRows, type Matrix } from '../matrix.js';
import { inRowChunks, preconditionerCorrection, scaledBy, scorePredictions, subtractTargets, type MonitorSet, type Preconditioning, type Stepper } from '../solver/eigenpro.js';

export class SharedSteps {
  /** Candidates still training; the others are left out of the joint calls. */
  readonly active: boolean[];
  private round = 0;
  private computedRound = -1;
  private batch: Int32Array | undefined;
  private residuals: (Float32Array | undefined)[] = [];
  private mses: number[] = [];
  private corrections: (Float32Array | undefined)[] = [];
  private readonly scores = new Map<MonitorSet, { round: number; figures: ({ mse: number; error?: number } | undefined)[] }>();
  /** Candidates that step on their own (with a kernel cache) from an epoch on: see useOwnStepper. */
  private readonly own = new Map<number, Stepper>();
  /** The subsample's points as the backend prepared them (Backend.prepareRows), and the matrix they came from. */
  private prepared: { source: Matrix; rows: Matrix } | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly kernels: readonly Kernel[],
    /** The training points, the centers of every candidate. */
    private readonly X: Matrix,
    private readonly Y: Matrix,
    readonly group: CenterGroup,
    private readonly preconditionings: readonly (Preconditioning | undefined)[],
  ) {
    this.active = kernels.map(() => true);
  }

  /** The next iteration (or epoch end) begins: what is computed from here on is new. */
  newRound(): void {
    this.round++;
  }

  /** Candidate k's stepper, as the training loop calls it. */
  stepper(k: number): Stepper {
    return {
      step: (batch, rate) => this.step(k, batch, rate),
      settle: async () => undefined,
      discard: () => undefined,
      beginEpoch: (order) => this.own.get(k)?.beginEpoch?.(order),
      checkCacheRounding: async () => this.own.get(k)?.checkCacheRounding?.(),
    };
  }

  /**
   * From the next epoch on, candidate k steps with `stepper` (eigenpro.ts's, on its member set with
   * a kernel cache) instead of the joint calls. Given to all the candidates still training at once,
   * between epochs: no round then mixes the two. Scores still come from the group.
   */
  useOwnStepper(k: number, stepper: Stepper): void {
    this.own.set(k, stepper);
  }

  /** Releases the candidates' own steppers (their caches). */
  dispose(): void {
    for (const stepper of this.own.values()) stepper.dispose?.();
    this.own.clear();
  }

  /** Candidate k's scores on a monitored set, computed for all candidates at the first request of a round. */
  evaluator(k: number): (set: MonitorSet) => Promise<{ mse: number; error?: number }> {
    return async (set) => {
      let entry = this.scores.get(set);
      if (!entry || entry.round !== this.round) {
        entry = { round: this.round, figures: await this.scoreAll(set) };
        this.scores.set(set, entry);
      }
      const figures = entry.figures[k];
      if (!figures) throw new Error(`SharedSteps: candidate ${k} was not scored this round`);
      return figures;
    };
  }

  private async step(k: number, batch: Int32Array, rate: number): Promise<number> {
    const own = this.own.get(k);
    if (own) return own.step(batch, rate);
    if (this.computedRound !== this.round) {
      await this.compute(batch);
      this.computedRound = this.round;
    } else if (!sameRows(this.batch!, batch)) {
      throw new Error('SharedSteps: the candidates are not on the same batch');
    }
    const residual = this.residuals[k];
    if (!residual) throw new Error(`SharedSteps: candidate ${k} is not active`);
    const l = this.Y.cols;
    const group = this.group.members[k];
    await group.addToWeights(batch, scaledBy(residual, -rate));
    const p = this.preconditionings[k];
    if (p) await group.addToWeights(p.indices, preconditionerCorrection(p, this.corrections[k]!, l, rate));
    return this.mses[k];
  }

  /** Every active candidate's residuals on the batch, and their subsample corrections' products. */
  private async compute(batch: Int32Array): Promise<void> {
    const { Y } = this;
    const l = Y.cols;
    const m = batch.length;
    // The batch is the rows of one group and the centers of another: read into the backend's form once.
    const taken = takeRows(this.X, batch);
    const Xb = this.backend.prepareRows?.(taken) ?? taken;
    this.batch = batch.slice();
    const residuals = this.active.map((on) => (on ? new Float32Array(m * l) : undefined));
    await this.group.predictAll(Xb, residuals);
    this.mses = residuals.map((residual) => (residual ? subtractTargets(residual, Y, batch, l) : Number.NaN));
    this.residuals = residuals;
    // k_k(X_S, X_B)·G_k: the batch as the centers of a group, the residuals as its weights.
    const correcting = this.kernels.map((_, k) => (residuals[k] && this.preconditionings[k] ? k : -1)).filter((k) => k >= 0);
    this.corrections = this.kernels.map(() => undefined);
    if (correcting.length === 0) return;
    const points = this.subsamplePoints(this.preconditionings[correcting[0]]!.points);
    const onBatch = await centerGroup(this.backend, correcting.map((k) => this.kernels[k]), Xb, l);
    try {
      for (let j = 0; j < correcting.length; j++) await onBatch.members[j].setWeights(residuals[correcting[j]]!);
      const products = correcting.map(() => new Float32Array(points.rows * l));
      await onBatch.predictAll(points, products);
      correcting.forEach((k, j) => (this.corrections[k] = products[j]));
    } finally {
      onBatch.dispose();
    }
  }

  /** The candidates' common subsample (the rows of every correction), in the backend's form once. */
  private subsamplePoints(points: Matrix): Matrix {
    if (this.prepared?.source !== points) this.prepared = { source: points, rows: this.backend.prepareRows?.(points) ?? points };
    return this.prepared.rows;
  }

  /** The active candidates' mse and error on a monitored set, from joint predictions in row chunks. */
  private async scoreAll(set: MonitorSet): Promise<({ mse: number; error?: number } | undefined)[]> {
    const l = this.Y.cols;
    const { X } = set;
    const predictions = this.active.map((on) => (on ? new Float32Array(X.rows * l) : undefined));
    await inRowChunks(X, (chunk, start, end) => this.group.predictAll(chunk, predictions.map((p) => p?.subarray(start * l, end * l))));
    return predictions.map((p) => (p ? scorePredictions(p, set, l) : undefined));
  }
}

function sameRows(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
