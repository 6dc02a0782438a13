/**
 * What every training entry point (fit(), the scaling study) does before the solver starts:
 * convert and check the inputs, encode the targets, fit the feature scaling, choose the kernel
 * and its bandwidth, and pick the data scored after each epoch; and a fresh run's start (set-up
 * and plan). One place, so that the study measures exactly the training that fit() runs.
 */
import { chooseKernel, defaultBandwidth, makeKernel, type KernelOption } from '../kernels/index.js';
import type { Backend } from './backends/backend.js';
import type { Kernel } from '../kernels/kernel.js';
import { toMatrix, type MatrixInput } from './data/input.js';
import { argmaxRows, encodeScoreTargets, encodeTargets, type LabelInput, type Targets, type Task } from './data/labels.js';
import { applyScaling, fitScaling, fitScalingStreaming, type ScaleKind, type Scaling } from './data/scaling.js';
import { KmfitError } from './errors.js';
import { matrixRows, takeRows, type Matrix, type TrainingRows } from './matrix.js';
import { isOpenedNpy, requireFiniteRows, type OpenedNpy } from './io/openedNpy.js';
import { medianPairwiseDistance } from './solver/bandwidth.js';
import type { MonitorSet, Preconditioning } from './solver/eigenpro.js';
import { epochPlan } from './solver/convergence.js';
import { checkMemory } from './solver/memory.js';
import { assemblePlan, subsampleSizeFor, type Plan, type UnseenLabels } from './solver/plan.js';
import { SeededRandom } from './solver/random.js';
import { setUp, setUpCenters, type ProjectionCacheSize } from './solver/setup.js';
import type { ProjectionSetup } from './solver/eigenpro3.js';
import type { TrainingState } from './solver/training.js';

/**
 * The training points scored after each epoch, for the train mse and error (which the stopping
 * rule and the divergence guard read): an eighth of the n rows, at least MONITOR_POINTS.least (all
 * rows where there are fewer) and at most MONITOR_POINTS.most. Scoring k rows costs k/n of an
 * epoch's predictions, and their mse estimates the whole set's to a relative error that falls as
 * 1/√k: a fixed 5 000 cost a third of an epoch's predictions at n = 16 000 and a whole epoch's at
 * n ≤ 5 000, for a precision the rule does not need there. With 2 500 the rule stopped Letter,
 * diamonds and the Fashion-MNIST subset at the same epochs as with 5 000; with 2 000 diamonds (whose
 * residual falls 5 % an epoch) stopped one epoch earlier (docs/benchmarks.md, "Time outside set-up
 * and epochs"). From n = 40 000 on, 5 000 as before.
 */
export const MONITOR_POINTS = { least: 2500, most: 5000 } as const;

/** How many of n training rows are monitored (MONITOR_POINTS). */
export function monitoredCount(n: number): number {
  return Math.min(n, Math.max(MONITOR_POINTS.least, Math.min(MONITOR_POINTS.most, Math.ceil(n / 8))));
}

export interface PrepareOptions {
  readonly kernel?: KernelOption;
  readonly bandwidth?: number;
  readonly task?: Task;
  readonly scale: ScaleKind;
  readonly seed: number;
  readonly validation?: { X: MatrixInput; y: LabelInput };
  /** false: X's own Float32Array is the training data, not a copy (fit's copyX). */
  readonly copyX: boolean;
  /** A scaling fitted before (a resumed run's), applied instead of fitting one on X. */
  readonly scaling?: Scaling;
  /** An opened .npy X is read batch by batch rather than loaded (a model with centers). */
  readonly onDisk?: boolean;
  /** What messages about y call it (fit's labelName). */
  readonly labelName: string;
}

export interface Prepared {
  /** The training features as given (before scaling): in memory, or an opened .npy file. */
  readonly raw: Matrix | OpenedNpy;
  /**
   * The training features after scaling, in memory: always, except for a file given to a model
   * with centers, whose rows are read batch by batch instead.
   */
  readonly train?: Matrix;
  /** The scaled training rows, from `train` or from the file. */
  readonly rows: TrainingRows;
  readonly targets: Targets;
  readonly scaling: Scaling;
  /** Validation data in the training's feature space and target encoding. */
  readonly validation?: MonitorSet;
  /** Validation labels that are none of the training classes (the plan reports them). */
  readonly unseenValidationLabels?: UnseenLabels;
  /** The run's random source: the bandwidth's subsample has been drawn from it. */
  readonly random: SeededRandom;
  readonly kernel: Kernel;
  readonly bandwidthSource: string;
  /** The median pairwise distance of a subsample, when the bandwidth came from it. */
  readonly medianDistance?: number;
}

/**
 * The training features: a file given to a model with centers stays on disk, its rows read (in the
 * file's dtype, then converted and scaled) batch by batch; anything else is one float32 matrix.
 */
function trainingFeatures(X: MatrixInput | OpenedNpy, options: PrepareOptions): Pick<Prepared, 'raw' | 'train' | 'rows' | 'scaling'> {
  if (isOpenedNpy(X)) {
    requireFiniteRows(X);
    if (options.onDisk) {
      const scaling = options.scaling ?? fitScalingStreaming(X.chunks(), X.cols, options.scale);
      const rows: TrainingRows = {
        rows: X.rows,
        cols: X.cols,
        take: (indices) => applyScaling({ data: X.readRows(indices), rows: indices.length, cols: X.cols }, scaling),
        first: (count) => applyScaling({ data: X.readRange(0, count), rows: count, cols: X.cols }, scaling),
      };
      return { raw: X, rows, scaling };
    }
  }
  const raw = isOpenedNpy(X) ? { data: X.readRange(0, X.rows), rows: X.rows, cols: X.cols } : toMatrix(X, 'X', { copy: options.copyX });
  const scaling = options.scaling ?? fitScaling(raw, options.scale);
  const train = applyScaling(raw, scaling);
  return { raw, train, rows: matrixRows(train), scaling };
}

/** Prepared data whose training features are in memory. */
export type InMemory = Prepared & { readonly train: Matrix };

/** The training features in memory; a caller that reads rows from disk has no such matrix. */
export function inMemory(prepared: Prepared): InMemory {
  if (!prepared.train) throw new Error('the training data was left on disk; this needs it in memory');
  return prepared as InMemory;
}

export function prepareTraining(X: MatrixInput, y: LabelInput, options: PrepareOptions & { onDisk?: false }): InMemory;
export function prepareTraining(X: MatrixInput | OpenedNpy, y: LabelInput, options: PrepareOptions): Prepared;
export function prepareTraining(X: MatrixInput | OpenedNpy, y: LabelInput, options: PrepareOptions): Prepared {
  const choice = chooseKernel(options.kernel, options.bandwidth);
  const { raw, train, rows, scaling } = trainingFeatures(X, options);
  const targets = encodeTargets(y, raw.rows, options.task, { X: 'X', y: options.labelName });
  const monitored = options.validation && monitorValidation(options.validation, raw.cols, targets, scaling, options.copyX);
  const validation = monitored?.set;
  const unseen = monitored?.unseen;
  const random = new SeededRandom(options.seed);

  let bandwidth = choice.bandwidth;
  let bandwidthSource = 'given';
  let medianDistance: number | undefined;
  if (bandwidth === undefined) {
    medianDistance = medianPairwiseDistance(rows, random);
    bandwidth = defaultBandwidth(choice, medianDistance);
    bandwidthSource = `default for ${choice.name} from the median pairwise distance ${medianDistance.toPrecision(4)} of a subsample`;
  }
  const kernel = makeKernel(choice, bandwidth);
  return {
    raw,
    train,
    rows,
    targets,
    scaling,
    validation,
    ...(unseen ? { unseenValidationLabels: unseen } : {}),
    random,
    kernel,
    bandwidthSource,
    ...(medianDistance !== undefined ? { medianDistance } : {}),
  };
}

/** Monitored training rows, and which rows they are. */
export type MonitoredRows = MonitorSet & { readonly rows: Int32Array };

/** A fixed, seeded subsample of (at most `size` of) the training data, scored after each epoch. */
export function monitorTrainingSubset(X: TrainingRows, targets: Targets, random: SeededRandom, size = monitoredCount(X.rows)): MonitoredRows {
  return monitorRows(X, targets, random.subsample(X.rows, Math.min(X.rows, size)));
}

/** The monitored set of the training rows `picked` (which a checkpoint keeps). */
export function monitorRows(X: TrainingRows, targets: Targets, picked: Int32Array): MonitoredRows {
  const Y = takeRows(targets.values, picked);
  return { X: X.take(picked), Y, rows: picked, ...(targets.classes ? { labels: argmaxRows(Y) } : {}) };
}

/**
 * Validation data in the training's feature space and target encoding; its labels that are no
 * class. Its X is copied only where it would otherwise be scored as it is (no scaling) and copyX
 * asks for copies: scaling writes a new array anyway.
 */
function monitorValidation(
  validation: { X: MatrixInput; y: LabelInput; name?: string },
  features: number,
  targets: Targets,
  scaling: Scaling,
  copyX: boolean,
): { set: MonitorSet; unseen?: UnseenLabels } {
  const names = validation.name === undefined ? { X: 'validation.X', y: 'validation.y' } : { X: validation.name, y: `${validation.name}'s labels` };
  const raw = toMatrix(validation.X, names.X, { copy: copyX && scaling.kind === 'none' });
  if (raw.cols !== features) {
    throw new KmfitError(
      'FEATURE_MISMATCH',
      `${names.X} has ${raw.cols} features per row but X has ${features}; they must have the same columns.`,
    );
  }
  const X = applyScaling(raw, scaling);
  const model = { task: targets.task, classes: targets.classes, outputs: targets.values.cols };
  const truth = encodeScoreTargets(validation.y, raw.rows, model, names);
  if (truth.task === 'regression') return { set: { X, Y: truth.values } };
  // One-hot rows; a label unseen in training gets an all-zero row and always counts as an error.
  const l = targets.values.cols;
  const Y = new Float32Array(raw.rows * l);
  truth.classIndex.forEach((c, i) => {
    if (c >= 0) Y[i * l + c] = 1;
  });
  const set = { X, Y: { data: Y, rows: raw.rows, cols: l }, labels: truth.classIndex };
  const first = truth.firstUnseen;
  return { set, ...(first ? { unseen: { count: truth.unseen, rows: raw.rows, row: first.row, label: first.label } } : {}) };
}

/** Where the iterations start from: what set-up or a checkpoint provides. */
export interface Start {
  readonly plan: Plan;
  readonly preconditioning?: Preconditioning;
  readonly random: SeededRandom;
  readonly monitorTrain: MonitoredRows;
  /** The training state to continue (absent: from α = 0). */
  readonly state?: TrainingState;
  /** EigenPro 3: the model's centers, apart from the training points, and the projection onto them. */
  readonly centers?: CentersStart;
}

export interface CentersStart {
  /** Z, p×d, in the training's feature space. */
  readonly points: Matrix;
  /** The training rows they are, when drawn from the data. */
  readonly indices?: Int32Array;
  readonly projection: ProjectionSetup;
}

/** EigenPro 3's centers: a seeded random subset of the training points, or a given matrix. */
function chooseCenters(prepared: Prepared, centers: number | MatrixInput): { points: Matrix; indices?: Int32Array; source: string } {
  const { rows, random, scaling } = prepared;
  const n = rows.rows;
  if (typeof centers === 'number') {
    if (centers >= n) {
      const all = Int32Array.from({ length: n }, (_, i) => i);
      return { points: prepared.train ?? rows.take(all), indices: all, source: `all ${n} training points (${centers} asked for)` };
    }
    const indices = random.subsample(n, centers);
    return { points: rows.take(indices), indices, source: `a seeded random subset of the ${n} training points` };
  }
  const raw = toMatrix(centers, 'centers');
  if (raw.cols !== rows.cols) {
    throw new KmfitError(
      'FEATURE_MISMATCH',
      `centers has ${raw.cols} features per row but X has ${rows.cols}; give centers in the same columns as X (before scaling).`,
    );
  }
  if (raw.rows === 0) throw new KmfitError('EMPTY_DATA', 'centers has no rows; give at least one center, or a count.');
  return { points: applyScaling(raw, scaling), source: `given (${raw.rows} rows)` };
}

/** What the caller's cache plan tells a fresh set-up (fit.ts). */
export interface SetupHints {
  /** SetupRequest.flatStepCost: why the batch size does not change a step's cost per point. */
  readonly flatStepCost?: string;
  /** Whether K_ZZ will be in the kernel cache, given the projection's figures (setUpCenters). */
  readonly cachesProjection?: (projection: ProjectionCacheSize) => boolean;
}

/** Set-up from scratch: the plan and the preconditioner, then the monitored rows. */
export async function freshStart(
  backend: Backend,
  prepared: Prepared,
  options: Pick<PrepareOptions, 'seed'> & {
    subsampleSize?: number;
    q?: number;
    batchSize?: number;
    stepSize?: number;
    deviceBatchLimit?: number;
    /** Left out: until converged (convergence.ts). */
    epochs?: number;
    centers?: number | MatrixInput;
    projectionInterval?: number;
    projectionPasses?: number;
    averaging?: boolean;
  } & SetupHints,
  started: number,
): Promise<Start> {
  const { rows, targets, random, kernel, validation } = prepared;
  const l = targets.values.cols;
  const monitorRows = monitoredCount(rows.rows) + (validation?.X.rows ?? 0);
  if (typeof options.centers === 'number') {
    // Before the centers' rows are read (from disk, perhaps): p×d float32 must fit.
    const p = Math.min(options.centers, rows.rows);
    checkMemory(backend, { n: p, d: rows.cols, l, s: subsampleSizeFor(p, options.subsampleSize), q: options.q, m: 1, monitorRows, setup: true });
  }
  const chosen = options.centers === undefined ? undefined : chooseCenters(prepared, options.centers);
  const centers = chosen?.points ?? prepared.train;
  if (!centers) throw new Error('freshStart: data on disk needs centers');
  const request = {
    backend,
    kernel,
    X: centers,
    outputs: l,
    random,
    subsampleSize: options.subsampleSize,
    q: options.q,
    batchSize: options.batchSize,
    stepSize: options.stepSize,
    deviceBatchLimit: options.deviceBatchLimit,
    monitorRows,
    flatStepCost: options.flatStepCost,
  };
  const centersSetup = chosen
    ? await setUpCenters({
        ...request,
        dataRows: rows.rows,
        projectionInterval: options.projectionInterval,
        projectionPasses: options.projectionPasses,
        averaging: options.averaging,
        source: chosen.source,
        cachesProjection: options.cachesProjection,
      })
    : undefined;
  const setup = centersSetup ?? (await setUp(request));
  const numbers = centersSetup ? { ...setup.numbers, centers: centersSetup.centersPlan } : setup.numbers;
  const plan = assemblePlan(
    {
      n: rows.rows,
      d: rows.cols,
      outputs: l,
      task: targets.task,
      kernel: kernel.describe(),
      bandwidth: kernel.spec.bandwidth,
      bandwidthSource: prepared.bandwidthSource,
      backend: backend.name,
      device: backend.describe().device,
      ...epochPlan(options.epochs, chosen !== undefined, targets.task),
      seed: options.seed,
      setupSeconds: (performance.now() - started) / 1000,
    },
    numbers,
  );
  return {
    plan,
    preconditioning: setup.preconditioning,
    random,
    monitorTrain: monitorTrainingSubset(rows, targets, random),
    ...(chosen && centersSetup
      ? { centers: { points: chosen.points, ...(chosen.indices ? { indices: chosen.indices } : {}), projection: centersSetup.projection } }
      : {}),
  };
}
