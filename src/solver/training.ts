/**
 * A training run as a state that is advanced one iteration at a time, and can be saved and
 * restored: the epochs around EigenPro's iteration (eigenpro.ts) — a fresh permutation per epoch,
 * monitoring after it, the best validated epoch, early stopping — and the divergence guard
 * (divergence.ts). `runEigenPro` drives it to the end and handles an abort.
 *
 * A resumed run continues bit for bit where the saved one was, because everything the next
 * iteration reads is in the TrainingState: the weights, the epoch's permutation and the position
 * in it, the random stream, the step size, and the guard's rollback point (the weights at the
 * start of the epoch in progress).
 *
 * Averaging (EigenPro 3 with fewer centers than points): with p < n the residuals at the
 * least-squares fit are not 0, so stochastic steps of a fixed size end each epoch in a band of
 * noise around it, whatever the number of epochs. The model an epoch ends with is then the mean of
 * the weights at that epoch's projections (each in the centers' span), which lies nearer the fit
 * (Polyak–Ruppert averaging; for least squares with a constant step, Bach & Moulines, NeurIPS 2013);
 * the iteration itself goes on from its own last weights, kept aside until the next epoch starts.
 * Full MNIST, p = 10 000, σ = 5, 5 epochs: test mse 0.0094 → 0.0080, error 2.08 → 1.94 %.
 */
import { KmfitError } from '../errors.js';
import type { CenterSet } from '../backends/backend.js';
import type { Matrix } from '../matrix.js';
import { evaluateWith, type MonitorSet, type PendingState, type Stepper } from './eigenpro.js';
import { MAX_HALVINGS, batchDivergence, divergedError, epochDivergence, lossScale, type LossScale } from './divergence.js';
import type { DivergenceReport, EpochMetrics, EpochReport, IterationReport, StepHalving, StopReason } from './events.js';
import type { SeededRandom } from './random.js';
import { hasConverged, relativeResidual, targetSpread, type StoppingRule } from './convergence.js';

export interface EigenProRun {
  /** The training targets, n×l: their rows are the points an epoch permutes. */
  readonly Y: Matrix;
  /** The model's centers and weights. */
  readonly centers: CenterSet;
  /** One iteration's update: EigenPro 2's (eigenPro2Stepper) or EigenPro 3's (CentersStepper). */
  readonly stepper: Stepper;
  readonly batchSize: number;
  /** The planned step size η; the divergence guard may halve it. */
  readonly stepSize: number;
  /** Whether η is the user's override (it changes the advice when training gives up). */
  readonly stepSizeGiven?: boolean;
  /** The most epochs: exactly these unless `stopping` (or early stopping) ends the run before. */
  readonly epochs: number;
  /** The plan's stopping rule: the run ends after the first epoch whose relative residual reaches it. */
  readonly stopping?: StoppingRule;
  /** The random stream of the run; when resuming, it must continue the saved state's (SeededRandom.fromState). */
  readonly random: SeededRandom;
  readonly monitorTrain: MonitorSet;
  readonly validation?: MonitorSet;
  /** Whether an epoch's model is the mean of the weights at its projections (the plan's centers.averaging). */
  readonly averaging?: boolean;
  readonly earlyStopping?: number;
  /** Awaited (an async callback may return a promise): an async one's rejection ends the run as a throw would. */
  readonly onEpoch?: (report: EpochReport) => void;
  readonly onIteration?: (report: IterationReport) => void;
  readonly onDivergence?: (report: DivergenceReport) => void;
  /**
   * false: no divergence guard, so no rollback point is kept and the step size never changes —
   * the scaling study measures the plain iteration and judges divergence itself. Default true.
   */
  readonly divergenceGuard?: boolean;
  readonly signal?: AbortSignal;
  /** When the run started (performance.now()), for each epoch's elapsedSeconds. */
  readonly startedAt?: number;
  /**
   * Called after every iteration (`final` false) and once when the run stops, finished or aborted
   * (`final` true): where a checkpoint is taken, with `training.snapshot()`.
   */
  readonly afterIteration?: (training: Training, final: boolean) => Promise<void>;
  /**
   * Scores the centers on a monitored set; default: eigenpro.ts evaluateWith (a training subsample from the stepper's float32 cache, else the centers' own predictions).
   * A bandwidth search scores all its candidates from one pass (search/sharedSteps.ts).
   */
  readonly evaluate?: (set: MonitorSet) => Promise<{ mse: number; error?: number }>;
}

export interface EigenProResult {
  readonly history: EpochMetrics[];
  readonly stoppedBy: StopReason;
  /** The epoch whose weights the centers now hold (0: stopped inside the first epoch). */
  readonly keptEpoch: number;
  readonly trainingSeconds: number;
  /** The step size in use at the end… */
  readonly stepSize: number;
  /** …and the divergence guard's halvings that led to it. */
  readonly halvings: readonly StepHalving[];
}

/** Everything needed to continue a run, as plain data: what a checkpoint holds. */
export interface TrainingState {
  /** Epochs completed: the length of `history`. */
  readonly epochsDone: number;
  /** The permutation of the epoch in progress; absent between epochs. */
  readonly order?: Int32Array;
  /** Position in `order` of the next batch. */
  readonly cursor: number;
  readonly epochIterations: number;
  /** Iterations done in all, replayed ones included. */
  readonly totalIterations: number;
  /** Training seconds of the epoch in progress so far. */
  readonly epochSeconds: number;
  /** Training seconds of the completed epochs. */
  readonly trainingSeconds: number;
  readonly stepSize: number;
  readonly halvings: readonly StepHalving[];
  /** Halvings during the epoch in progress. */
  readonly epochHalvings: number;
  readonly history: readonly EpochMetrics[];
  /** The best validated epoch so far (only with validation data). */
  readonly best?: { readonly score: number; readonly epoch: number; readonly weights: Float32Array };
  readonly keptEpoch: number;
  /** Set once the run has ended by itself. */
  readonly finished?: FinishReason;
  /** α, n×l row-major. */
  readonly weights: Float32Array;
  /** α at the start of the epoch in progress: where the divergence guard rolls back to. */
  readonly epochStart?: Float32Array;
  /** The random stream's state (SeededRandom.state()). */
  readonly random: Uint32Array;
  /** EigenPro 3: the update not yet projected; its rows are the last ones of `order` before the cursor. */
  readonly pending?: PendingState;
  /** Averaging, inside an epoch: the sum of the weights at its projections so far, and their count. */
  readonly average?: { readonly sum: Float64Array; readonly count: number };
  /** Averaging, between epochs: the iteration's own weights (`weights` holds the epoch's mean, the model). */
  readonly iterate?: Float32Array;
}

/** How a run ends by itself. */
export type FinishReason = Exclude<StopReason, 'aborted'>;
export const FINISH_REASONS: readonly FinishReason[] = ['epochs', 'early-stopping', 'converged'];

/** The quantity early stopping and "best" are judged by: validation error, else validation mse. */
function validationScore(metrics: EpochMetrics): number | undefined {
  return metrics.validationError ?? metrics.validationMse;
}

function mismatch(what: string): KmfitError {
  return new KmfitError(
    'CHECKPOINT_MISMATCH',
    `The checkpoint does not fit this training: ${what}. Resume it with the data it was trained on, or start anew.`,
  );
}

/** The loop's own part of TrainingState (weights and random state live on the centers and in the random source). */
type Progress = Omit<TrainingState, 'weights' | 'random' | 'history' | 'halvings'> & {
  history: EpochMetrics[];
  halvings: StepHalving[];
};

/** Where a run from α = 0 stands. */
function freshState(stepSize: number): Omit<TrainingState, 'weights' | 'random'> {
  return { epochsDone: 0, cursor: 0, epochIterations: 0, totalIterations: 0, epochSeconds: 0, trainingSeconds: 0, stepSize, halvings: [], epochHalvings: 0, history: [], keptEpoch: 0 };
}

export class Training {
  /** Mutable while the run advances; snapshot() hands out a copy. */
  private readonly p: { -readonly [K in keyof Progress]: Progress[K] };
  private readonly guarded: boolean;
  private stepSeconds = 0;
  private stepping = false;
  private lastBatchMse = 0;
  /** The stepper's projection count when the weights were last added to the epoch's mean. */
  private projectionsAveraged = 0;
  /** The monitored targets' spread, the yardstick of the stopping rule. */
  private readonly spread: number;

  private constructor(
    private readonly run: EigenProRun,
    state: Omit<TrainingState, 'weights' | 'random'>,
    /** The zero model's losses, the yardsticks of the divergence guard. */
    private readonly scale: LossScale,
  ) {
    this.p = { ...state, history: [...state.history], halvings: [...state.halvings] };
    this.guarded = run.divergenceGuard !== false;
    this.spread = run.stopping ? targetSpread(run.monitorTrain.Y) : 0;
    // A run that ended after its last epoch, or converged, goes on when it is given more epochs
    // (a count without a rule: a converged run resumed with epochs given trains that many).
    const extendable = state.finished === 'epochs' || (state.finished === 'converged' && !run.stopping);
    if (extendable && this.p.epochsDone < run.epochs) this.p.finished = undefined;
    if (!this.p.finished && !this.p.order && this.p.epochsDone >= run.epochs) this.p.finished = 'epochs';
  }

  /** A run from α = 0 (the centers' weights as created). */
  static start(run: EigenProRun): Training {
    return new Training(run, freshState(run.stepSize), lossScale(run.Y, run.monitorTrain.Y));
  }

  /**
   * Continues a saved run: puts its weights on the centers.
   * @throws KmfitError CHECKPOINT_MISMATCH when the state does not fit the run's data.
   */
  static async resume(run: EigenProRun, state: TrainingState): Promise<Training> {
    const n = run.Y.rows;
    const size = run.centers.count * run.Y.cols;
    const weightArrays: [string, ArrayLike<number> | undefined][] = [
      ['weights', state.weights],
      ['epoch start weights', state.epochStart],
      ['best weights', state.best?.weights],
      ['iterate weights', state.iterate],
      ['averaged weights', state.average?.sum],
    ];
    for (const [what, weights] of weightArrays) {
      if (weights && weights.length !== size) throw mismatch(`its ${what} are ${weights.length} values, not ${run.centers.count} × ${run.Y.cols}`);
    }
    if (state.order && state.order.length !== n) throw mismatch(`its permutation covers ${state.order.length} points, not ${n}`);
    if (state.history.length !== state.epochsDone) throw mismatch(`it has ${state.history.length} epochs of history for ${state.epochsDone} epochs done`);
    if (state.order ? !state.epochStart || state.cursor > n : state.cursor !== 0) throw mismatch('its position in the epoch is inconsistent');
    if ((state.average && !state.order) || (state.iterate && state.order)) throw mismatch('its averaged weights do not fit its position in the epoch');
    const expected = state.random;
    const actual = run.random.state();
    if (actual.length !== expected.length || actual.some((word, i) => word !== expected[i])) {
      throw new Error('runEigenPro: run.random must continue the saved random state (SeededRandom.fromState)');
    }
    const { weights, random: _random, pending, ...progress } = state;
    await run.centers.setWeights(weights);
    if (pending) {
      const rows = pending.weights.length / run.Y.cols;
      if (!state.order || !run.stepper.restore || !Number.isInteger(rows) || rows > state.cursor) throw mismatch('its pending update does not fit its position in the epoch');
      await run.stepper.restore(pending, state.order.slice(state.cursor - rows, state.cursor), run.batchSize);
    }
    return new Training(run, progress, lossScale(run.Y, run.monitorTrain.Y));
  }

  /** How the run ended by itself, or undefined while it has iterations left. */
  get finished(): FinishReason | undefined {
    return this.p.finished;
  }

  get totalIterations(): number {
    return this.p.totalIterations;
  }

  get completedEpochs(): number {
    return this.p.epochsDone;
  }

  /** The epochs completed so far (a search keeps a diverged candidate's held-out figures from them). */
  get history(): readonly EpochMetrics[] {
    return this.p.history;
  }

  /** Whether an epoch is in progress (false right after an epoch's end). */
  get inEpoch(): boolean {
    return this.p.order !== undefined;
  }

  /**
   * Whether the last advance() threw inside the step itself, after the epoch's start and before
   * its end: the state is then the previous iteration's, if the step changed nothing before failing.
   */
  get failedInStep(): boolean {
    return this.stepping;
  }

  /** Seconds of the last iteration's step alone (no epoch start or end). */
  get lastStepSeconds(): number {
    return this.stepSeconds;
  }

  get stepSize(): number {
    return this.p.stepSize;
  }

  /**
   * One iteration: starts an epoch before it when none is in progress, and ends the epoch (with
   * its monitoring, best epoch and early stopping) after its last batch.
   * @throws KmfitError DIVERGED when the loss still grows after MAX_HALVINGS halvings.
   */
  async advance(): Promise<void> {
    await this.stepBatch();
    await this.endIteration();
  }

  /**
   * advance()'s first half: the step on the next batch (starting an epoch first when none is in
   * progress). A driver of several runs in lock step (a bandwidth search) steps them all before
   * any ends its iteration, so that the epoch's scores see every run's last step.
   */
  async stepBatch(): Promise<void> {
    if (this.p.finished) throw new Error('Training.advance: the run has finished');
    const { run } = this;
    const n = run.Y.rows;
    const m = run.batchSize;
    const started = performance.now();
    const order = this.p.order ?? (await this.beginEpoch());
    const batch = order.subarray(this.p.cursor, Math.min(this.p.cursor + m, n));
    const stepStarted = performance.now();
    this.stepping = true;
    const batchMse = await run.stepper.step(batch, this.p.stepSize / m);
    this.stepping = false;
    await this.addToAverage();
    this.stepSeconds = (performance.now() - stepStarted) / 1000;
    this.p.cursor += batch.length;
    this.p.epochIterations++;
    this.p.totalIterations++;
    this.p.epochSeconds += (performance.now() - started) / 1000;
    await run.onIteration?.({
      epoch: this.p.epochsDone + 1,
      iteration: this.p.epochIterations,
      iterationsPerEpoch: Math.ceil(n / m),
      batchSize: batch.length,
      batchMse,
    });
    this.lastBatchMse = batchMse;
  }

  /** advance()'s second half: the divergence guard, and the epoch's end after its last batch. */
  async endIteration(): Promise<void> {
    const problem = this.guarded ? batchDivergence(this.lastBatchMse, this.scale) : undefined;
    if (problem) await this.rollBack(problem);
    else if (this.p.cursor >= this.run.Y.rows) await this.endEpoch();
  }

  /** The step size's halvings so far (a search drops a candidate that needed one). */
  get halvingCount(): number {
    return this.p.halvings.length;
  }

  /** The state to continue from (the weights are read back from the centers). */
  async snapshot(): Promise<TrainingState> {
    const { history, halvings, ...rest } = this.p;
    const state: TrainingState = {
      ...rest,
      // The sum grows in place while a checkpoint is written in the background: a copy.
      average: rest.average && { sum: rest.average.sum.slice(), count: rest.average.count },
      history: [...history],
      halvings: [...halvings],
      weights: await this.run.centers.readWeights(),
      random: this.run.random.state(),
      pending: await this.run.stepper.pendingState?.(),
    };
    // Optional parts that are unset are absent, not undefined.
    for (const key of Object.keys(state) as (keyof TrainingState)[]) if (state[key] === undefined) delete state[key];
    return state;
  }

  /**
   * Ends the run: after an abort, puts the best validated epoch (or keeps the latest weights);
   * under early stopping, the best epoch.
   * @throws KmfitError ABORTED when aborted before any iteration.
   */
  async finish(aborted: boolean): Promise<EigenProResult> {
    if (aborted && this.p.totalIterations === 0) {
      throw new KmfitError('ABORTED', 'Training was aborted before its first iteration; there is no model to keep.');
    }
    await this.run.stepper.settle();
    await this.addToAverage();
    const stoppedBy: StopReason = aborted ? 'aborted' : this.p.finished ?? 'epochs';
    // Validation chooses the kept epoch under early stopping, and on abort (the best model so far);
    // after a full run the model is the last epoch's: choosing by validation there would make a
    // validation-as-test figure optimistic.
    const selecting = this.run.earlyStopping !== undefined;
    let keptEpoch = this.p.keptEpoch;
    if (this.p.best !== undefined && ((selecting && this.p.best.epoch !== keptEpoch) || aborted)) {
      await this.run.centers.setWeights(this.p.best.weights);
      keptEpoch = this.p.best.epoch;
    } else if (aborted) {
      // The latest weights, including the interrupted epoch's iterations: averaged, their mean so far.
      if (this.p.average) await this.run.centers.setWeights(meanOf(this.p.average));
      keptEpoch = this.p.history.length;
    }
    return {
      history: [...this.p.history],
      stoppedBy,
      keptEpoch,
      trainingSeconds: this.p.trainingSeconds + (this.p.order ? this.p.epochSeconds : 0),
      stepSize: this.p.stepSize,
      halvings: [...this.p.halvings],
    };
  }

  private async beginEpoch(): Promise<Int32Array> {
    const order = this.run.random.permutation(this.run.Y.rows);
    // Averaging: the centers hold the last epoch's mean; the iteration goes on from its own weights.
    if (this.p.iterate) await this.run.centers.setWeights(this.p.iterate);
    this.p.iterate = undefined;
    // The guard's rollback point.
    this.p.epochStart = this.guarded ? await this.run.centers.readWeights() : undefined;
    this.p.order = order;
    this.p.cursor = 0;
    this.p.epochIterations = 0;
    this.p.epochHalvings = 0;
    this.run.stepper.beginEpoch?.(order);
    return order;
  }

  private async endEpoch(): Promise<void> {
    const { run } = this;
    // The last projection of the epoch is training work: its seconds count in the epoch's.
    const settling = performance.now();
    await run.stepper.settle();
    await this.addToAverage();
    if (this.p.average) {
      this.p.iterate = await run.centers.readWeights();
      await run.centers.setWeights(meanOf(this.p.average));
      this.p.average = undefined;
    }
    this.p.epochSeconds += (performance.now() - settling) / 1000;
    const score = run.evaluate ?? ((set: MonitorSet) => evaluateWith(run.stepper, run.centers, set));
    const train = await score(run.monitorTrain);
    const earlier = this.p.history.map((h) => h.trainMse);
    const problem = this.guarded ? epochDivergence(train.mse, earlier.length > 0 ? Math.min(...earlier) : undefined, this.scale) : undefined;
    if (problem) return this.rollBack(problem);

    // A slow epoch may be a reduced-precision cache's rounding holding the residual up (eigenpro.ts).
    const previous = this.p.history.at(-1)?.trainMse;
    const cacheLeft = previous !== undefined && train.mse > SLOW_EPOCH * previous ? await run.stepper.checkCacheRounding?.() : undefined;
    const validation = run.validation ? await score(run.validation) : undefined;
    const residual = run.stopping ? relativeResidual(train.mse, this.spread) : undefined;
    const epoch = this.p.epochsDone + 1;
    const metrics: EpochMetrics = {
      epoch,
      seconds: this.p.epochSeconds,
      ...(run.startedAt !== undefined ? { elapsedSeconds: (performance.now() - run.startedAt) / 1000 } : {}),
      iterations: this.p.epochIterations,
      trainMse: train.mse,
      ...(train.error !== undefined ? { trainError: train.error } : {}),
      ...(validation ? { validationMse: validation.mse } : {}),
      ...(validation?.error !== undefined ? { validationError: validation.error } : {}),
      ...(residual !== undefined ? { residual } : {}),
      ...(this.p.epochHalvings > 0 ? { stepSize: this.p.stepSize, halvings: this.p.epochHalvings } : {}),
      ...(cacheLeft ? { cacheLeft } : {}),
    };
    this.p.history.push(metrics);
    this.p.epochsDone = epoch;
    this.p.keptEpoch = epoch;
    this.p.trainingSeconds += this.p.epochSeconds;
    this.p.epochSeconds = 0;
    this.p.order = undefined;
    this.p.epochStart = undefined;
    this.p.cursor = 0;
    this.p.epochIterations = 0;
    this.p.epochHalvings = 0;

    const judged = validationScore(metrics);
    const isBest = judged === undefined || this.p.best === undefined || judged < this.p.best.score;
    if (judged !== undefined && isBest) this.p.best = { score: judged, epoch, weights: await run.centers.readWeights() };
    await run.onEpoch?.({ ...metrics, epochs: run.epochs, ...(run.stopping ? { stopping: run.stopping } : {}), best: isBest });
    if (run.earlyStopping !== undefined && this.p.best !== undefined && epoch - this.p.best.epoch >= run.earlyStopping) {
      this.p.finished = 'early-stopping';
    } else if (residual !== undefined && hasConverged(residual, run.stopping!)) {
      this.p.finished = 'converged';
    } else if (epoch >= run.epochs) {
      this.p.finished = 'epochs';
    }
  }

  /** Averaging: adds the weights to the epoch's sum when the stepper has projected since the last look. */
  private async addToAverage(): Promise<void> {
    const made = this.run.stepper.projections ?? 0;
    if (!this.run.averaging || made === this.projectionsAveraged) return;
    this.projectionsAveraged = made;
    const weights = await this.run.centers.readWeights();
    const sum = this.p.average?.sum ?? new Float64Array(weights.length);
    for (let i = 0; i < weights.length; i++) sum[i] += weights[i];
    this.p.average = { sum, count: (this.p.average?.count ?? 0) + 1 };
  }

  /** Back to the start of the epoch in progress, with half the step size. */
  private async rollBack(reason: string): Promise<void> {
    const at = { epoch: this.p.epochsDone + 1, iteration: this.p.epochIterations, reason };
    if (this.p.halvings.length >= MAX_HALVINGS) throw divergedError(this.p.halvings, at, this.run.stepSizeGiven ?? false);
    const halving: StepHalving = { ...at, from: this.p.stepSize, to: this.p.stepSize / 2 };
    this.p.halvings.push(halving);
    this.p.stepSize = halving.to;
    this.p.epochHalvings++;
    this.run.stepper.discard();
    this.p.average = this.p.iterate = undefined;
    await this.run.centers.setWeights(this.p.epochStart!);
    this.p.cursor = 0;
    this.p.epochIterations = 0;
    await this.run.onDivergence?.({ ...halving, halvings: this.p.halvings.length, maxHalvings: MAX_HALVINGS });
  }
}

function meanOf(average: NonNullable<TrainingState['average']>): Float32Array {
  const mean = new Float32Array(average.sum.length);
  for (let i = 0; i < mean.length; i++) mean[i] = average.sum[i] / average.count;
  return mean;
}

/** At most this long between two turns of the event loop during training. */
const YIELD_EVERY_MS = 15;

/**
 * An epoch whose train mse fell by less than this factor is slow: the stepper checks whether its
 * kernel cache's rounding is the cause (Stepper.checkCacheRounding). The check costs a block over
 * the subsample, so a run that converges at its usual pace (letter: −10 % to −30 % an epoch) pays none.
 */
const SLOW_EPOCH = 0.95;

/**
 * Lets timers, signal handlers and I/O run. A backend whose calls resolve at once (js) keeps the
 * event loop busy with microtasks only: without this, a Ctrl-C handler or a timer that aborts
 * would not run before training ended.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * Runs EigenPro to the end — the planned epochs, the stopping rule, early stopping, or an abort
 * seen before an iteration — from α = 0 or from a saved state.
 */
export async function runEigenPro(run: EigenProRun, from?: TrainingState): Promise<EigenProResult> {
  const training = from ? await Training.resume(run, from) : Training.start(run);
  let aborted = false;
  let turn = performance.now();
  while (!training.finished) {
    if (performance.now() - turn >= YIELD_EVERY_MS) {
      await nextTurn();
      turn = performance.now();
    }
    if (run.signal?.aborted) {
      aborted = true;
      break;
    }
    try {
      await training.advance();
    } catch (error) {
      // A lost worker fails a step at its start, before the step changed anything: what the run
      // has done so far is consistent, and the final checkpoint keeps it for a resume.
      if (error instanceof KmfitError && error.code === 'WORKER_LOST' && training.failedInStep) await run.afterIteration?.(training, true);
      throw error;
    }
    await run.afterIteration?.(training, false);
  }
  await run.afterIteration?.(training, true);
  return training.finish(aborted);
}
