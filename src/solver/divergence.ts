/**
 * The divergence guard's rules, as pure functions of the losses the training loop sees anyway.
 *
 * EigenPro's step size is analytic, but only as good as the eigenvalue estimate behind it (a small
 * subsample, float32 rounding) or the override a user gave: past the stable range, the component
 * of the residual along the top eigen-direction is multiplied by |1 − ηλ| > 1 at every iteration,
 * so the loss grows geometrically until it overflows. Two checks catch that:
 *   - per iteration, the batch mse (the residual before the update, computed anyway) is not
 *     finite, or exceeds BATCH_BLOWUP times the largest per-row loss of the zero model — no stable
 *     run comes near that, since training starts at α = 0 and a stable step only shrinks residuals;
 *   - per epoch, the monitored train mse (exact, on a fixed subsample) is not finite, is worse than
 *     the zero model's, or grew EPOCH_GROWTH-fold over the best epoch before it while above
 *     GROWTH_FLOOR of the zero model's (below that, float32 rounding makes the mse wander).
 * The training loop then rolls back to the start of the epoch, halves the step size and replays
 * the epoch with the same batches; after MAX_HALVINGS halvings it gives up with a KmfitError.
 */
import { KmfitError } from '../errors.js';
import type { Matrix } from '../matrix.js';
import type { StepHalving } from './events.js';

/** Halvings of the step size (a factor 32) before training gives up. */
export const MAX_HALVINGS = 5;
/** A batch mse this many times the zero model's worst row loss means the run has blown up. */
export const BATCH_BLOWUP = 100;
/** An epoch whose train mse is this many times the best earlier epoch's is diverging. */
export const EPOCH_GROWTH = 10;
/** …unless it is below this fraction of the zero model's train mse (the float32 noise floor). */
export const GROWTH_FLOOR = 1e-6;

/** The losses of the zero model α = 0, the yardsticks of both checks. */
export interface LossScale {
  /** The largest mean squared target of one row over the training data: the zero model's worst batch. */
  readonly worstRow: number;
  /** The mean squared target over the monitored rows: the zero model's train mse. */
  readonly zeroModel: number;
}

export function lossScale(Y: Matrix, monitored: Matrix): LossScale {
  let worstRow = 0;
  for (let i = 0; i < Y.rows; i++) {
    let row = 0;
    for (let c = 0; c < Y.cols; c++) row += Y.data[i * Y.cols + c] ** 2;
    worstRow = Math.max(worstRow, row / Y.cols);
  }
  let sum = 0;
  for (let i = 0; i < monitored.data.length; i++) sum += monitored.data[i] ** 2;
  return { worstRow, zeroModel: sum / monitored.data.length };
}

/** Why the batch loss says the run diverges, or undefined. */
export function batchDivergence(batchMse: number, scale: LossScale): string | undefined {
  if (!Number.isFinite(batchMse)) return `the batch mse is ${batchMse}`;
  if (batchMse > BATCH_BLOWUP * scale.worstRow) {
    return `the batch mse ${batchMse.toPrecision(3)} is over ${BATCH_BLOWUP}× the largest squared target (${scale.worstRow.toPrecision(3)})`;
  }
  return undefined;
}

/** Why the epoch's train mse says the run diverges, or undefined. `bestBefore`: the lowest earlier train mse. */
export function epochDivergence(trainMse: number, bestBefore: number | undefined, scale: LossScale): string | undefined {
  if (!Number.isFinite(trainMse)) return `the train mse is ${trainMse}`;
  if (trainMse > scale.zeroModel && scale.zeroModel > 0) {
    return `the train mse ${trainMse.toPrecision(3)} is worse than the untrained model's (${scale.zeroModel.toPrecision(3)})`;
  }
  if (bestBefore !== undefined && trainMse > EPOCH_GROWTH * bestBefore && trainMse > GROWTH_FLOOR * scale.zeroModel) {
    return `the train mse grew from ${bestBefore.toPrecision(3)} to ${trainMse.toPrecision(3)}`;
  }
  return undefined;
}

/** The error once MAX_HALVINGS halvings did not stop the divergence. */
export function divergedError(halvings: readonly StepHalving[], latest: Omit<StepHalving, 'from' | 'to'>, stepSizeGiven: boolean): KmfitError {
  const first = halvings[0].from;
  const last = halvings[halvings.length - 1].to;
  const remedy = stepSizeGiven
    ? 'The stepSize override is far too large: leave it out for the analytic step size, or divide it by 100.'
    : 'The eigenvalue estimate behind the analytic step size is too poor: use a larger subsampleSize, or q: 0 ' +
      "(no preconditioning); check the features and targets for huge values (scale: 'standard').";
  return new KmfitError(
    'DIVERGED',
    `Training diverged at epoch ${latest.epoch}, iteration ${latest.iteration} (${latest.reason}) although the step ` +
      `size was halved ${halvings.length} times, from ${first.toPrecision(4)} to ${last.toPrecision(4)}. ${remedy}`,
  );
}
