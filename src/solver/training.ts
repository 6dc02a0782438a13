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
 */
import { KmfitError } from '../errors.js';
import { evaluate, step, type StepContext, type MonitorSet } from './eigenpro.js';
import { MAX_HALVINGS, batchDivergence, divergedError, epochDivergence, lossScale, type LossScale } from './divergence.js';
import type { DivergenceReport, EpochMetrics, EpochReport, IterationReport, StepHalving, StopReason } from './events.js';
import type { SeededRandom } from './random.js';

export interface EigenProRun extends StepContext {
  readonly batchSize: number;
  /** The planned step size η; the divergence guard may halve it. */
  readonly stepSize: number;
  /** Whether η is the user's override (it changes the advice when training gives up). */
  readonly stepSizeGiven?: boolean;
  readonly epochs: number;
  /** The random stream of the run; when resuming, it must continue the saved state's (SeededRandom.fromState). */
  readonly random: SeededRandom;
  readonly monitorTrain: MonitorSet;
  readonly validation?: MonitorSet;
  readonly earlyStopping?: number;
  readonly onEpoch?: (report: EpochReport) => void;
  readonly onIteration?: (report: IterationReport) => void;
  readonly onDivergence?: (report: DivergenceReport) => void;
  readonly signal?: AbortSignal;
  /**
   * Called after every iteration (`final` false) and once when the run stops, finished or aborted
   * (`final` true): where a checkpoint is taken, with `training.snapshot()`.
   */
  readonly afterIteration?: (training: Training, final: boolean) => Promise<void>;
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
  readonly finished?: 'epochs' | 'early-stopping';
  /** α, n×l row-major. */
  readonly weights: Float32Array;
  /** α at the start of the epoch in progress: where the divergence guard rolls back to. */
  readonly epochStart?: Float32Array;
  /** The random stream's state (SeededRandom.state()). */
  readonly random: Uint32Array;
}

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

export class Training {
  private readonly history: EpochMetrics[];
  private readonly halvings: StepHalving[];
  private epochsDone: number;
  private order: Int32Array | undefined;
  private cursor: number;
  private epochIterations: number;
  private totalIterationsDone: number;
  private epochSeconds: number;
  private trainingSeconds: number;
  private currentStepSize: number;
  private epochHalvings: number;
  private best: TrainingState['best'];
  private keptEpoch: number;
  private finishedBy: TrainingState['finished'];
  private epochStart: Float32Array | undefined;

  private constructor(
    private readonly run: EigenProRun,
    state: Omit<TrainingState, 'weights' | 'random'>,
    /** The zero model's losses, the yardsticks of the divergence guard. */
    private readonly scale: LossScale,
  ) {
    this.history = [...state.history];
    this.halvings = [...state.halvings];
    this.epochsDone = state.epochsDone;
    this.order = state.order;
    this.cursor = state.cursor;
    this.epochIterations = state.epochIterations;
    this.totalIterationsDone = state.totalIterations;
    this.epochSeconds = state.epochSeconds;
    this.trainingSeconds = state.trainingSeconds;
    this.currentStepSize = state.stepSize;
    this.epochHalvings = state.epochHalvings;
    this.best = state.best;
    this.keptEpoch = state.keptEpoch;
    this.epochStart = state.epochStart;
    // A run that ended after its last epoch goes on when it is given more epochs.
    this.finishedBy = state.finished === 'epochs' && this.epochsDone < run.epochs ? undefined : state.finished;
    if (!this.finishedBy && !this.order && this.epochsDone >= run.epochs) this.finishedBy = 'epochs';
  }

  /** A run from α = 0 (the centers' weights as created). */
  static start(run: EigenProRun): Training {
    const fresh = {
      epochsDone: 0,
      cursor: 0,
      epochIterations: 0,
      totalIterations: 0,
      epochSeconds: 0,
      trainingSeconds: 0,
      stepSize: run.stepSize,
      halvings: [],
      epochHalvings: 0,
      history: [],
      keptEpoch: 0,
    };
    return new Training(run, fresh, lossScale(run.Y, run.monitorTrain.Y));
  }

  /**
   * Continues a saved run: puts its weights on the centers.
   * @throws KmfitError CHECKPOINT_MISMATCH when the state does not fit the run's data.
   */
  static async resume(run: EigenProRun, state: TrainingState): Promise<Training> {
    const n = run.X.rows;
    const size = n * run.Y.cols;
    const weightArrays: [string, Float32Array | undefined][] = [
      ['weights', state.weights],
      ['epoch start weights', state.epochStart],
      ['best weights', state.best?.weights],
    ];
    for (const [what, weights] of weightArrays) {
      if (weights && weights.length !== size) throw mismatch(`its ${what} are ${weights.length} values, not ${n} × ${run.Y.cols}`);
    }
    if (state.order && state.order.length !== n) throw mismatch(`its permutation covers ${state.order.length} points, not ${n}`);
    if (state.history.length !== state.epochsDone) throw mismatch(`it has ${state.history.length} epochs of history for ${state.epochsDone} epochs done`);
    if (state.order ? !state.epochStart || state.cursor > n : state.cursor !== 0) throw mismatch('its position in the epoch is inconsistent');
    const expected = state.random;
    const actual = run.random.state();
    if (actual.length !== expected.length || actual.some((word, i) => word !== expected[i])) {
      throw new Error('runEigenPro: run.random must continue the saved random state (SeededRandom.fromState)');
    }
    await run.centers.setWeights(state.weights);
    return new Training(run, state, lossScale(run.Y, run.monitorTrain.Y));
  }

  /** How the run ended by itself, or undefined while it has iterations left. */
  get finished(): 'epochs' | 'early-stopping' | undefined {
    return this.finishedBy;
  }

  get totalIterations(): number {
    return this.totalIterationsDone;
  }

  get completedEpochs(): number {
    return this.epochsDone;
  }

  /** Whether an epoch is in progress (false right after an epoch's end). */
  get inEpoch(): boolean {
    return this.order !== undefined;
  }

  get stepSize(): number {
    return this.currentStepSize;
  }

  /**
   * One iteration: starts an epoch before it when none is in progress, and ends the epoch (with
   * its monitoring, best epoch and early stopping) after its last batch.
   * @throws KmfitError DIVERGED when the loss still grows after MAX_HALVINGS halvings.
   */
  async advance(): Promise<void> {
    if (this.finishedBy) throw new Error('Training.advance: the run has finished');
    const { run } = this;
    const n = run.X.rows;
    const m = run.batchSize;
    const started = performance.now();
    const order = this.order ?? (await this.beginEpoch());
    const batch = order.subarray(this.cursor, Math.min(this.cursor + m, n));
    const batchMse = await step(run, batch, this.currentStepSize / m, run.Y.cols);
    this.cursor += batch.length;
    this.epochIterations++;
    this.totalIterationsDone++;
    this.epochSeconds += (performance.now() - started) / 1000;
    run.onIteration?.({
      epoch: this.epochsDone + 1,
      iteration: this.epochIterations,
      iterationsPerEpoch: Math.ceil(n / m),
      batchSize: batch.length,
      batchMse,
    });
    const problem = batchDivergence(batchMse, this.scale);
    if (problem) await this.rollBack(problem);
    else if (this.cursor >= n) await this.endEpoch();
  }

  /** The state to continue from (the weights are read back from the centers). */
  async snapshot(): Promise<TrainingState> {
    return {
      epochsDone: this.epochsDone,
      ...(this.order ? { order: this.order } : {}),
      cursor: this.cursor,
      epochIterations: this.epochIterations,
      totalIterations: this.totalIterationsDone,
      epochSeconds: this.epochSeconds,
      trainingSeconds: this.trainingSeconds,
      stepSize: this.currentStepSize,
      halvings: [...this.halvings],
      epochHalvings: this.epochHalvings,
      history: [...this.history],
      ...(this.best ? { best: this.best } : {}),
      keptEpoch: this.keptEpoch,
      ...(this.finishedBy ? { finished: this.finishedBy } : {}),
      weights: await this.run.centers.readWeights(),
      ...(this.epochStart ? { epochStart: this.epochStart } : {}),
      random: this.run.random.state(),
    };
  }

  /**
   * Ends the run: after an abort, puts the best validated epoch (or keeps the latest weights);
   * under early stopping, the best epoch.
   * @throws KmfitError ABORTED when aborted before any iteration.
   */
  async finish(aborted: boolean): Promise<EigenProResult> {
    if (aborted && this.totalIterationsDone === 0) {
      throw new KmfitError('ABORTED', 'Training was aborted before its first iteration; there is no model to keep.');
    }
    const stoppedBy: StopReason = aborted ? 'aborted' : this.finishedBy ?? 'epochs';
    // Validation chooses the kept epoch under early stopping, and on abort (the best model so far);
    // after a full run the model is the last epoch's: choosing by validation there would make a
    // validation-as-test figure optimistic.
    const selecting = this.run.earlyStopping !== undefined;
    let keptEpoch = this.keptEpoch;
    if (this.best !== undefined && ((selecting && this.best.epoch !== keptEpoch) || aborted)) {
      await this.run.centers.setWeights(this.best.weights);
      keptEpoch = this.best.epoch;
    } else if (aborted) {
      keptEpoch = this.history.length; // the latest weights, including the interrupted epoch's iterations
    }
    return {
      history: [...this.history],
      stoppedBy,
      keptEpoch,
      trainingSeconds: this.trainingSeconds + (this.order ? this.epochSeconds : 0),
      stepSize: this.currentStepSize,
      halvings: [...this.halvings],
    };
  }

  private async beginEpoch(): Promise<Int32Array> {
    const order = this.run.random.permutation(this.run.X.rows);
    this.epochStart = await this.run.centers.readWeights();
    this.order = order;
    this.cursor = 0;
    this.epochIterations = 0;
    this.epochHalvings = 0;
    return order;
  }

  private async endEpoch(): Promise<void> {
    const { run } = this;
    const train = await evaluate(run.centers, run.monitorTrain);
    const earlier = this.history.map((h) => h.trainMse);
    const problem = epochDivergence(train.mse, earlier.length > 0 ? Math.min(...earlier) : undefined, this.scale);
    if (problem) return this.rollBack(problem);

    const validation = run.validation ? await evaluate(run.centers, run.validation) : undefined;
    const epoch = this.epochsDone + 1;
    const metrics: EpochMetrics = {
      epoch,
      seconds: this.epochSeconds,
      iterations: this.epochIterations,
      trainMse: train.mse,
      ...(train.error !== undefined ? { trainError: train.error } : {}),
      ...(validation ? { validationMse: validation.mse } : {}),
      ...(validation?.error !== undefined ? { validationError: validation.error } : {}),
      ...(this.epochHalvings > 0 ? { stepSize: this.currentStepSize, halvings: this.epochHalvings } : {}),
    };
    this.history.push(metrics);
    this.epochsDone = epoch;
    this.keptEpoch = epoch;
    this.trainingSeconds += this.epochSeconds;
    this.epochSeconds = 0;
    this.order = undefined;
    this.epochStart = undefined;
    this.cursor = 0;
    this.epochIterations = 0;
    this.epochHalvings = 0;

    const score = validationScore(metrics);
    const isBest = score === undefined || this.best === undefined || score < this.best.score;
    if (score !== undefined && isBest) this.best = { score, epoch, weights: await run.centers.readWeights() };
    run.onEpoch?.({ ...metrics, epochs: run.epochs, best: isBest });
    if (run.earlyStopping !== undefined && this.best !== undefined && epoch - this.best.epoch >= run.earlyStopping) {
      this.finishedBy = 'early-stopping';
    } else if (epoch >= run.epochs) {
      this.finishedBy = 'epochs';
    }
  }

  /** Back to the start of the epoch in progress, with half the step size. */
  private async rollBack(reason: string): Promise<void> {
    const at = { epoch: this.epochsDone + 1, iteration: this.epochIterations, reason };
    if (this.halvings.length >= MAX_HALVINGS) throw divergedError(this.halvings, at, this.run.stepSizeGiven ?? false);
    const halving: StepHalving = { ...at, from: this.currentStepSize, to: this.currentStepSize / 2 };
    this.halvings.push(halving);
    this.currentStepSize = halving.to;
    this.epochHalvings++;
    await this.run.centers.setWeights(this.epochStart!);
    this.cursor = 0;
    this.epochIterations = 0;
    this.run.onDivergence?.({ ...halving, halvings: this.halvings.length, maxHalvings: MAX_HALVINGS });
  }
}

/** At most this long between two turns of the event loop during training. */
const YIELD_EVERY_MS = 15;

/**
 * Lets timers, signal handlers and I/O run. A backend whose calls resolve at once (js) keeps the
 * event loop busy with microtasks only: without this, a Ctrl-C handler or a timer that aborts
 * would not run before training ended.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * Runs EigenPro to the end — the planned epochs, early stopping, or an abort seen before an
 * iteration — from α = 0 or from a saved state.
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
    await training.advance();
    await run.afterIteration?.(training, false);
  }
  await run.afterIteration?.(training, true);
  return training.finish(aborted);
}
