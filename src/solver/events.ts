/** What the solver reports while it trains; the library never prints, the CLI renders these. */
import type { CachePrecision } from '../backends/backend.js';
import type { StoppingRule } from './convergence.js';

/** A kernel cache that training went on without: its precision, and the share of the residual its rounding made. */
export interface CacheLeft {
  readonly precision: CachePrecision;
  readonly share: number;
  /** 'float32': a cache of exact values took its place, filled again over the next epoch; absent: training went on with exact kernel blocks. */
  readonly refilled?: 'float32';
}

/** Metrics of one epoch, as kept in `model.history`. */
export interface EpochMetrics {
  readonly epoch: number;
  /** Training time of the epoch, monitoring excluded. */
  readonly seconds: number;
  /**
   * Wall time from the start of the fit() call to the end of this epoch, set-up and monitoring
   * included: the time to this epoch's model (a resumed run counts from its own start).
   */
  readonly elapsedSeconds?: number;
  readonly iterations: number;
  /** Mean squared error (per output) on a fixed subsample of the training data. */
  readonly trainMse: number;
  /** Classification error (fraction misclassified) on that subsample. */
  readonly trainError?: number;
  readonly validationMse?: number;
  readonly validationError?: number;
  /**
   * The relative residual ‖y − f‖/‖y − ȳ‖ on that subsample, in a run that stops by itself when it
   * reaches the plan's `stopping.residual` (convergence.ts).
   */
  readonly residual?: number;
  /** Only on an epoch replayed after a divergence: the step size it finally ran with… */
  readonly stepSize?: number;
  /** …and the halvings of the step size during it. */
  readonly halvings?: number;
  /**
   * Set on the epoch after which training went on without its reduced-precision kernel cache: the
   * cache's rounding made this share of the residual (eigenpro.ts, Stepper.checkCacheRounding).
   */
  readonly cacheLeft?: CacheLeft;
}

export interface EpochReport extends EpochMetrics {
  /** Epochs planned: the most, in a run that stops by itself (`stopping`). */
  readonly epochs: number;
  /** Set in a run that stops by itself when its relative residual reaches `residual`. */
  readonly stopping?: StoppingRule;
  /** Whether this epoch is the best so far (lowest validation error, or the latest without validation). */
  readonly best: boolean;
  /** In a bandwidth search: the candidate's index in plan.search.candidates. */
  readonly candidate?: number;
}

export interface IterationReport {
  readonly epoch: number;
  /** Iterations done in this epoch. */
  readonly iteration: number;
  readonly iterationsPerEpoch: number;
  readonly batchSize: number;
  /** Mean squared residual of the batch before its update: a free, noisy view of the training loss. */
  readonly batchMse: number;
  /** In a bandwidth search: the candidate's index in plan.search.candidates. */
  readonly candidate?: number;
}

/**
 * Why training stopped: the planned epochs were done; early stopping; the relative residual reached
 * the plan's stopping rule ('converged'); an abort.
 */
export type StopReason = 'epochs' | 'early-stopping' | 'converged' | 'aborted';

/** One halving of the step size by the divergence guard (kept in `model.plan.stepSizeHalvings`). */
export interface StepHalving {
  /** The epoch in progress, which is replayed from its start with the new step size. */
  readonly epoch: number;
  /** Iterations into that epoch when the divergence was seen (the epoch's count at its end). */
  readonly iteration: number;
  /** What was seen, e.g. "the batch mse is Infinity". */
  readonly reason: string;
  readonly from: number;
  readonly to: number;
}

export interface DivergenceReport extends StepHalving {
  /** Halvings so far, this one included. */
  readonly halvings: number;
  /** Halvings after which training gives up with a DIVERGED error. */
  readonly maxHalvings: number;
}
