/**
 * How many epochs a run takes when the user does not say: EigenPro 2 trains until it has reached
 * the kernel interpolant closely enough, by the relative-residual rule of iterative solvers.
 *
 * The iteration converges to the interpolant f∞, which fits the training targets. What is left to
 * learn after epoch t is the residual r_t = y − f_t at the training points: f∞ − f_t interpolates
 * it, so at new points the predictions still move by about the residual's size, and mostly less
 * (after the first epochs the residual lies in the kernel's small-eigenvalue directions, which
 * change little between the training points). The rule stops once the residual, measured on the
 * monitored training subsample that every epoch scores anyway, is a small fraction of the targets'
 * own spread:
 *     ‖y − f_t‖ / ‖y − ȳ‖ ≤ ρ,  i.e.  train mse ≤ ρ² · var(y).
 * ρ depends on the task. A class changes only at points whose margin between the two top scores
 * is below the change still to come, and few are that close: 5 % stops Letter Recognition and a
 * Fashion-MNIST subset at epoch 8, their test error at the exact interpolant's (docs/benchmarks.md,
 * "Tables against the exact solve"), where epoch 6 was 0.2 points off. A regression's squared
 * error takes every change, through the cross term 2⟨f∞ − y, f_t − f∞⟩, linear in what is left:
 * on a smooth noiseless problem (test/solver/stoppingRule.test.ts) the test R² was 0.0026 from the
 * exact one at a residual of 3 %, 0.0009 at 1.3 %; regression stops at 1 %.
 *
 * A model on separate centers (EigenPro 3) does not interpolate: its residual levels off above
 * zero, so it keeps a fixed number of epochs.
 */
import type { Task } from '../data/labels.js';
import type { Matrix } from '../matrix.js';

/** The relative residual ‖y − f‖/‖y − ȳ‖ at which a run stops by itself, per task. */
export const CONVERGED_RESIDUAL: Readonly<Record<Task, number>> = { classification: 0.05, regression: 0.01 };
/** The most epochs a run that stops by itself takes: training never runs on for ever. */
export const MAX_EPOCHS_UNTIL_CONVERGED = 50;
/** The epochs of a model on separate centers when the user does not say. */
export const CENTERS_DEFAULT_EPOCHS = 5;

/** The stopping rule of a run whose epochs were left out (Plan.stopping). */
export interface StoppingRule {
  /** The relative residual to reach: CONVERGED_RESIDUAL of the task. */
  readonly residual: number;
}

/**
 * The epochs of a run and its stopping rule: exactly the given count, without a rule; else, for
 * EigenPro 2, until the relative residual reaches the task's CONVERGED_RESIDUAL, at most
 * MAX_EPOCHS_UNTIL_CONVERGED; for a model on separate centers, CENTERS_DEFAULT_EPOCHS.
 */
export function epochPlan(given: number | undefined, separateCenters: boolean, task: Task): { epochs: number; stopping?: StoppingRule } {
  if (given !== undefined) return { epochs: given };
  if (separateCenters) return { epochs: CENTERS_DEFAULT_EPOCHS };
  return { epochs: MAX_EPOCHS_UNTIL_CONVERGED, stopping: { residual: CONVERGED_RESIDUAL[task] } };
}

/** The targets' spread: their variance, averaged over the outputs (the best constant model's mse). */
export function targetSpread(Y: Matrix): number {
  const { rows, cols, data } = Y;
  if (rows === 0) return 0;
  let sum = 0;
  for (let c = 0; c < cols; c++) {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += data[i * cols + c];
    mean /= rows;
    let squares = 0;
    for (let i = 0; i < rows; i++) squares += (data[i * cols + c] - mean) ** 2;
    sum += squares / rows;
  }
  return sum / cols;
}

/**
 * ‖y − f‖/‖y − ȳ‖ from the train mse and the targets' spread. Constant targets (no spread): 0 once
 * they are fitted exactly, else Infinity (the rule then waits for the epochs' cap).
 */
export function relativeResidual(trainMse: number, spread: number): number {
  if (spread > 0) return Math.sqrt(trainMse / spread);
  return trainMse > 0 ? Number.POSITIVE_INFINITY : 0;
}

/** Whether the rule stops the run after an epoch with this relative residual. */
export function hasConverged(residual: number, rule: StoppingRule): boolean {
  return residual <= rule.residual;
}
