/**
 * The linear-scaling study: for the plain kernel (q = 0) and the preconditioned one, train at
 * batch sizes m = 1, 2, 4, … with the analytic step size η(m) and no tuning per batch size, until
 * a target is reached, and record iterations, epochs, seconds per iteration and time to target.
 * The theory (docs/how-it-works.md, docs/scaling.md) predicts iterations ∝ 1/m up to
 * m* = β/λ and flat beyond; preconditioning moves m* from β/λ_1 out to β/λ_new.
 *
 * Training is exactly fit()'s (the same preparation, plan, and Training advanced iteration by
 * iteration, without the divergence guard); only the stopping rule
 * differs. The target is checked on a fixed monitor subsample, at an interval chosen so that the
 * checks cost at most a quarter of the training they interrupt, and the iteration at which it was
 * crossed is interpolated between the last two checks (log-linearly for the mse, which falls
 * about exponentially). Times are training times: the checks are not counted.
 */
import { singleKernel } from '../../kernels/candidates.js';
import type { Kernel } from '../../kernels/kernel.js';
import type { Backend, CenterSet } from '../backends/backend.js';
import { createBackend } from '../backends/select.js';
import type { MatrixInput } from '../data/input.js';
import type { LabelInput } from '../data/labels.js';
import { KmfitError } from '../errors.js';
import { checkOptions, checkValidationShape, rulesOf, withDefaults, type FitOptions, type OptionRule, type WithDefaults } from '../options.js';
import { monitorTrainingSubset, prepareTraining, type InMemory } from '../prepare.js';
import { eigenPro2Stepper, evaluate, type MonitorSet, type StepContext } from '../solver/eigenpro.js';
import { analyticStepSize, memoryBatchLimit, type StepRegime } from '../solver/plan.js';
import { SeededRandom } from '../solver/random.js';
import { setUp, type Setup } from '../solver/setup.js';
import { Training } from '../solver/training.js';

/** The fit() options the study takes: the training is fit()'s, so they mean the same. */
const SHARED_OPTIONS = [
  'kernel', 'bandwidth', 'seed', 'subsampleSize', 'q', 'deviceBatchLimit', 'scale', 'task', 'backend', 'threads', 'validation', 'signal',
] as const;
type SharedOptions = Pick<FitOptions, (typeof SHARED_OPTIONS)[number]>;

export interface ScalingOptions extends SharedOptions {
  /** Batch sizes to try. Default 1, 2, 4, … up to the memory model's limit (at most n). */
  batchSizes?: number[];
  /** Target: train mse (on the monitor subsample) below this fraction of its initial value. Default 0.05. */
  targetMse?: number;
  /** Target instead: classification error on `validation` at or below this. */
  targetError?: number;
  /** Cap on iterations per run. Default 100 000. */
  maxIterations?: number;
  /** Cap on training seconds per run. Default 120. */
  maxSeconds?: number;
  /** Training points the mse target is checked on. Default 1000. */
  monitorSize?: number;
  /** Called when a run ends. */
  onRun?: (setting: ScalingSetting, run: ScalingRun) => void;
}

/** The rules of the study's options (the command line checks its flags against them too). */
export const STUDY_RULES: Readonly<Record<keyof ScalingOptions, OptionRule>> = {
  ...rulesOf(SHARED_OPTIONS),
  q: { check: { kind: 'integer', min: 1, max: 999 }, hint: 'the level of the preconditioned setting; the plain one is always q = 0' },
  batchSizes: { check: { kind: 'integers', min: 1 }, hint: 'for instance [1, 2, 4, 8]' },
  targetMse: { check: { kind: 'number', exclusiveMin: 0, exclusiveMax: 1 }, hint: 'a fraction of the initial train mse, e.g. 0.05' },
  targetError: { check: { kind: 'number', exclusiveMin: 0, exclusiveMax: 1 }, hint: 'a classification error on the validation data, e.g. 0.05' },
  maxIterations: { check: { kind: 'integer', min: 1 }, hint: 'a cap on each run' },
  maxSeconds: { check: { kind: 'number', exclusiveMin: 0 }, hint: 'a cap on each run, in seconds of training' },
  monitorSize: { check: { kind: 'integer', min: 1 }, hint: 'training points the target is checked on' },
  onRun: { check: { kind: 'function' }, hint: '' },
};

const DEFAULT_TARGET_MSE = 0.05;
const DEFAULT_MAX_ITERATIONS = 100_000;
const DEFAULT_MAX_SECONDS = 120;
const DEFAULT_MONITOR_SIZE = 1000;
/** Checks cost at most 1/CHECK_RATIO of the training between them (rows scored per row trained). */
const CHECK_RATIO = 4;
/** A run whose train mse exceeds this multiple of the initial one has diverged. */
const DIVERGED = 100;
/**
 * Fewest steps behind a run's median seconds per iteration. A run that reaches the target sooner
 * (the preconditioned setting at large m: ≈ 5 iterations) is timed for a few more steps, so that
 * one busy moment of a shared machine does not set its figure.
 */
const MIN_TIMED_STEPS = 25;

export interface ScalingRun {
  /** Batch size. */
  readonly m: number;
  /** The analytic step size η(m) and its regime. */
  readonly eta: number;
  readonly regime: StepRegime;
  /** Iterations to the target, interpolated between checks; the iterations run when not reached. */
  readonly iterations: number;
  /** iterations · m / n. */
  readonly epochs: number;
  /**
   * Median seconds of one iteration (the checks excluded), over at least MIN_TIMED_STEPS steps:
   * a run that reaches the target sooner is timed for a few steps more.
   */
  readonly secondsPerIteration: number;
  /** iterations · secondsPerIteration. */
  readonly timeToTarget: number;
  readonly reached: boolean;
  /** Why a run stopped short: the iteration or time cap, or a diverging loss. */
  readonly stoppedBy?: 'iterations' | 'seconds' | 'diverged' | 'aborted';
  /** The monitored value at the last check. */
  readonly finalValue: number;
}

export interface ScalingSetting {
  readonly name: 'plain' | 'preconditioned';
  readonly q: number;
  /** λ that sets the step size: λ_1 for the plain kernel, λ_new after preconditioning. */
  readonly lambda: number;
  readonly beta: number;
  /** The predicted critical batch size β/λ. */
  readonly mStar: number;
  readonly runs: ScalingRun[];
  /**
   * Where the measured curve leaves slope −1: the batch size at which m × iterations has risen
   * 25 % above its small-batch value (see kneeOf); absent when no run with m ≤ m*÷2 reached the
   * target or the curve never rises that far.
   */
  readonly knee?: number;
  /** The same knee on the predicted curve (predictedShape), for the analytic step size. */
  readonly predictedKnee?: number;
  /** A in the predicted curve iterations(m) = A·predictedShape(m), fitted to the reached runs. */
  readonly theoryScale?: number;
}

export interface ScalingReport {
  readonly n: number;
  readonly d: number;
  readonly kernel: string;
  readonly backend: string;
  readonly device: string;
  readonly subsampleSize: number;
  readonly target: { readonly kind: 'trainMse' | 'validationError'; readonly value: number; readonly initial: number };
  /** m_G, the device's batch limit from the plan, and where it came from. */
  readonly mG: number;
  readonly mGSource: string;
  readonly settings: ScalingSetting[];
  readonly seconds: number;
}

/**
 * Runs the study. Both settings share the subsample, the monitor points and, for every batch size,
 * the sequence of permutations (each run restarts the seeded random source), so runs differ only
 * in m and in the preconditioner.
 *
 * @throws KmfitError on bad input or options, as fit() does.
 */
export async function scalingStudy(X: MatrixInput, y: LabelInput, given: ScalingOptions = {}): Promise<ScalingReport> {
  const started = performance.now();
  checkOptions(given, STUDY_RULES, 'scalingStudy()');
  const options = withDefaults(given);
  checkValidationShape(options.validation);
  if (options.targetError !== undefined && options.validation === undefined) {
    throw new KmfitError('INVALID_OPTION', "The 'targetError' option needs validation data: pass validation: { X, y } as well.");
  }
  if (options.targetError !== undefined && options.targetMse !== undefined) {
    throw new KmfitError('INVALID_OPTION', "Give either 'targetMse' or 'targetError', not both.");
  }
  const prepared = prepareTraining(X, y, singleKernel(options, 'The scaling study'));
  const { train, targets, kernel } = prepared;
  if (options.targetError !== undefined && targets.task !== 'classification') {
    throw new KmfitError('INVALID_OPTION', "'targetError' is a classification error; for regression use 'targetMse'.");
  }
  const n = train.rows;
  const l = targets.values.cols;
  const backend = await createBackend(options.backend, { threads: options.threads });
  try {
    // One after the other: the first plan measures the device's capacity, which timing must not share.
    const plain = await planFor(backend, kernel, prepared, l, 0, options);
    const plans = [plain, await planFor(backend, kernel, prepared, l, options.q, options)];
    const monitor = monitorTrainingSubset(prepared.rows, targets, new SeededRandom(options.seed), options.monitorSize ?? DEFAULT_MONITOR_SIZE);
    const target = chooseTarget(options, monitor, prepared.validation);
    const batchSizes = options.batchSizes ?? defaultBatchSizes(backend, n, train.cols, l, plans[1].numbers.subsampleSize);
    const centers = await backend.createCenterSet(kernel, train, l);
    try {
      const settings: ScalingSetting[] = [];
      for (const [index, setup] of plans.entries()) {
        const setting = describeSetting(index === 0 ? 'plain' : 'preconditioned', setup);
        const context: StepContext = { backend, kernel, X: train, Y: targets.values, centers, preconditioning: setup.preconditioning };
        for (const m of [...batchSizes].sort((a, b) => a - b)) {
          const run = await runToTarget(context, setting, Math.min(m, n), target, monitor, options);
          setting.runs.push(run);
          options.onRun?.(setting, run);
          if (run.stoppedBy === 'aborted') break;
        }
        settings.push(withFits(setting));
        if (options.signal?.aborted) break;
      }
      return {
        n,
        d: train.cols,
        kernel: kernel.describe(),
        backend: backend.name,
        device: backend.describe().device,
        subsampleSize: plans[1].numbers.subsampleSize,
        target: { kind: target.kind, value: target.value, initial: target.initial },
        mG: plans[1].numbers.deviceBatchLimit,
        mGSource: plans[1].numbers.deviceBatchLimitSource,
        settings,
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      centers.dispose();
    }
  } finally {
    await backend.dispose();
  }
}

/** The plan of one setting, from the same seeded subsample as the other. */
function planFor(
  backend: Backend,
  kernel: Kernel,
  prepared: InMemory,
  l: number,
  q: number | undefined,
  options: WithDefaults<ScalingOptions>,
): Promise<Setup> {
  return setUp({
    backend,
    kernel,
    X: prepared.train,
    outputs: l,
    random: new SeededRandom(options.seed),
    subsampleSize: options.subsampleSize,
    q,
    deviceBatchLimit: options.deviceBatchLimit,
  });
}

function describeSetting(name: ScalingSetting['name'], setup: Setup): ScalingSetting & { runs: ScalingRun[] } {
  const { q, lambdaNew, beta } = setup.numbers;
  return { name, q, lambda: lambdaNew, beta, mStar: beta / lambdaNew, runs: [] };
}

interface Target {
  readonly kind: 'trainMse' | 'validationError';
  readonly value: number;
  readonly initial: number;
  /** The monitored set: training points for the mse, validation data for the error. */
  readonly set: MonitorSet;
}

function chooseTarget(options: ScalingOptions, monitor: MonitorSet, validation: MonitorSet | undefined): Target {
  if (options.targetError !== undefined && validation) {
    return { kind: 'validationError', value: options.targetError, initial: 1, set: validation };
  }
  // With α = 0 every prediction is 0, so the initial mse is the mean square of the targets.
  let sum = 0;
  for (const v of monitor.Y.data) sum += v * v;
  const initial = sum / monitor.Y.data.length;
  return { kind: 'trainMse', value: (options.targetMse ?? DEFAULT_TARGET_MSE) * initial, initial, set: monitor };
}

/** 1, 2, 4, … up to the largest batch the memory model allows (at most n). */
function defaultBatchSizes(backend: Backend, n: number, d: number, l: number, s: number): number[] {
  const limit = Math.max(1, Math.min(n, memoryBatchLimit(backend.memoryBudget().bytes, n, d, l, s)));
  const sizes: number[] = [];
  for (let m = 1; m <= limit; m *= 2) sizes.push(m);
  return sizes;
}

/** The monitored value: mse on the training subsample, or the validation error. */
async function measure(centers: CenterSet, target: Target): Promise<number> {
  const result = await evaluate(centers, target.set);
  return target.kind === 'trainMse' ? result.mse : (result.error ?? 1);
}

async function runToTarget(
  context: StepContext,
  setting: ScalingSetting,
  m: number,
  target: Target,
  monitor: MonitorSet,
  options: WithDefaults<ScalingOptions>,
): Promise<ScalingRun> {
  const { centers, X } = context;
  const n = X.rows;
  const l = context.Y.cols;
  await centers.setWeights(new Float32Array(n * l));
  const { eta, regime } = analyticStepSize(m, setting.beta, setting.lambda);
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const maxSeconds = options.maxSeconds ?? DEFAULT_MAX_SECONDS;
  const checkEvery = Math.max(1, Math.ceil((CHECK_RATIO * target.set.X.rows) / m));
  // fit()'s training, at this batch size and its analytic step size, until the stop condition
  // below: no epoch limit, and no divergence guard (a diverging run is recorded as such).
  const training = Training.start({
    Y: context.Y,
    centers: context.centers,
    stepper: eigenPro2Stepper(context),
    batchSize: m,
    stepSize: eta,
    epochs: Number.POSITIVE_INFINITY,
    random: new SeededRandom(options.seed),
    monitorTrain: monitor,
    divergenceGuard: false,
  });

  const times: number[] = [];
  let seconds = 0;
  let last = { iteration: 0, value: target.kind === 'trainMse' ? target.initial : await measure(centers, target) };
  let stoppedBy: ScalingRun['stoppedBy'];
  let reachedAt: number | undefined = last.value <= target.value ? 0 : undefined;

  while (reachedAt === undefined && stoppedBy === undefined) {
    if (options.signal?.aborted) {
      stoppedBy = 'aborted';
      break;
    }
    seconds += await timedStep(training, times);
    const iterations = training.totalIterations;
    const capped = iterations >= maxIterations ? 'iterations' : seconds >= maxSeconds ? 'seconds' : undefined;
    // Checked on schedule, and once more when a cap ends the run, so that a capped run's
    // iterations are a true lower bound.
    if (iterations % checkEvery === 0 || capped) {
      const value = await measure(centers, target);
      if (!(value <= DIVERGED * target.initial)) {
        stoppedBy = 'diverged'; // NaN lands here too
      } else if (value <= target.value) {
        reachedAt = crossing(last, { iteration: iterations, value }, target);
      }
      last = { iteration: iterations, value };
    }
    if (reachedAt === undefined && stoppedBy === undefined) stoppedBy = capped;
  }
  const iterations = training.totalIterations;
  // The run's outcome is recorded; a run that reached the target soon is timed for a few steps more.
  let extra = 0;
  while (reachedAt !== undefined && times.length < MIN_TIMED_STEPS && extra < maxSeconds - seconds) extra += await timedStep(training, times);
  const secondsPerIteration = median(times);
  const counted = reachedAt ?? iterations;
  return {
    m,
    eta,
    regime,
    iterations: counted,
    epochs: (counted * m) / n,
    secondsPerIteration,
    timeToTarget: counted * secondsPerIteration,
    reached: reachedAt !== undefined,
    ...(reachedAt === undefined ? { stoppedBy } : {}),
    finalValue: last.value,
  };
}

/** One iteration; the seconds of its step are returned and added to `times`. */
async function timedStep(training: Training, times: number[]): Promise<number> {
  await training.advance();
  times.push(training.lastStepSeconds);
  return training.lastStepSeconds;
}

/**
 * Where the monitored value crossed the target between two checks: log-linear for the mse (it
 * decays about exponentially), linear for an error rate.
 */
function crossing(before: { iteration: number; value: number }, after: { iteration: number; value: number }, target: Target): number {
  const scale = target.kind === 'trainMse' ? Math.log : (v: number) => v;
  const from = scale(before.value);
  const to = scale(after.value);
  const goal = scale(target.value);
  if (!(from > to) || !Number.isFinite(from)) return after.iteration;
  const fraction = Math.min(1, Math.max(0, (from - goal) / (from - to)));
  return before.iteration + fraction * (after.iteration - before.iteration);
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * How fast the slow eigen-directions (λ_i ≪ λ_1) converge per iteration at batch m and step η:
 * the expected squared error there shrinks by about 1 − λ_i·(2η − η²β/m) — the descent term
 * minus the variance of a batch gradient. In the linear regime, η = m/β, it is m/β: iterations
 * ∝ 1/m. Beyond m*, EigenPro's η = 0.99·2m/(β + (m − 1)λ) keeps growing towards 2/λ, so the rate
 * still grows (towards ≈ 4/λ, four times its value at m*) before it flattens.
 */
export function progressRate(m: number, eta: number, beta: number): number {
  return 2 * eta - (eta * eta * beta) / m;
}

/** The predicted iterations to target at batch m, up to the scale of the curve. */
export function predictedShape(m: number, setting: Pick<ScalingSetting, 'beta' | 'lambda'>): number {
  return 1 / progressRate(m, analyticStepSize(m, setting.beta, setting.lambda).eta, setting.beta);
}

/** How far m × iterations may rise above its small-batch value before the slope has left −1. */
export const KNEE_RISE = 1.25;

/**
 * The knee of a curve of iterations against m: the batch size at which m × iterations(m) has risen
 * KNEE_RISE times above its value at small m, interpolated in log m between the two batch sizes
 * that bracket it. `base` is that small-batch value; undefined when the curve never rises so far.
 */
export function kneeOf(points: readonly { m: number; iterations: number }[], base: number): number | undefined {
  const sorted = [...points].sort((a, b) => a.m - b.m);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    const [ra, rb] = [(a.m * a.iterations) / base, (b.m * b.iterations) / base];
    if (ra <= KNEE_RISE && rb > KNEE_RISE) {
      const fraction = Math.log(KNEE_RISE / ra) / Math.log(rb / ra);
      return Math.exp(Math.log(a.m) + fraction * Math.log(b.m / a.m));
    }
  }
  return undefined;
}

/** The theory's knee for this setting: kneeOf the predicted curve, sampled finely. */
export function predictedKnee(setting: Pick<ScalingSetting, 'beta' | 'lambda' | 'mStar'>): number | undefined {
  const points = Array.from({ length: 241 }, (_, i) => {
    const m = Math.max(1, setting.mStar) * 2 ** (i / 20 - 4);
    return { m, iterations: predictedShape(m, setting) };
  });
  return kneeOf(points, points[0].m * points[0].iterations);
}

/**
 * The setting with the fits that need its runs: the scale of the predicted curve (least squares
 * in log space over the runs that reached the target) and the measured knee, relative to the
 * mean of m × iterations over the reached runs with m ≤ m*÷2.
 */
function withFits(setting: ScalingSetting): ScalingSetting {
  const reached = setting.runs.filter((r) => r.reached && r.iterations > 0);
  const knee = predictedKnee(setting);
  const fitted: ScalingSetting = { ...setting, ...(knee !== undefined ? { predictedKnee: knee } : {}) };
  if (reached.length === 0) return fitted;
  const logs = reached.map((r) => Math.log(r.iterations) - Math.log(predictedShape(r.m, setting)));
  const theoryScale = Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length);
  const linear = reached.filter((r) => r.m <= setting.mStar / 2);
  if (linear.length === 0) return { ...fitted, theoryScale };
  const base = linear.reduce((sum, r) => sum + r.m * r.iterations, 0) / linear.length;
  const measured = kneeOf(reached, base);
  return { ...fitted, theoryScale, ...(measured !== undefined ? { knee: measured } : {}) };
}
