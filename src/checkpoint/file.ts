/**
 * The checkpoint file: the state a training run continues from, in the model file's container
 * (src/io/modelFile.ts; `format: "kmfit-checkpoint"`, formatVersion 1; docs/checkpoint-format.md).
 * The header holds the options, the plan, the data's fingerprint and the loop's counters; arrays
 * hold the weights, the epoch's permutation, the random state, the preconditioner and the
 * scaling. The training data is not in it: resuming takes the same data again, and the
 * fingerprint checks that it is the same.
 *
 * Reading checks every field the resumed run relies on, so that a damaged or hand-edited file is
 * one KmfitError naming the field, never a wrong or crashing run.
 */
import type { KernelSpec } from '../../kernels/index.js';
import type { ClassLabel, Task } from '../data/labels.js';
import type { Scaling } from '../data/scaling.js';
import { KmfitError } from '../errors.js';
import { HeaderFields } from '../io/headerFields.js';
import { CHECKPOINT_FILE, readModelFile, writeModelFile, type ModelFileContents } from '../io/modelFile.js';
import type { NpyArray } from '../io/npy.js';
import type { Plan } from '../solver/plan.js';
import { FINISH_REASONS, type TrainingState } from '../solver/training.js';
import { DEFINING_OPTIONS, checkOptions, rulesOf } from '../options.js';
import type { Prepared, Start } from '../prepare.js';
import { version } from '../version.js';

/** What identifies the training data: sizes and CRC-32s of the float32 values (before scaling). */
export interface DataFingerprint {
  readonly rows: number;
  readonly features: number;
  readonly outputs: number;
  readonly x: number;
  readonly y: number;
  readonly validation?: { readonly rows: number; readonly x: number; readonly y: number };
}

export interface SavedPreconditioning {
  readonly indices: Int32Array;
  readonly vectors: Float64Array;
  readonly scales: Float64Array;
}

export interface SavedCenters {
  /** The training rows the centers are… */
  readonly indices?: Int32Array;
  /** …or the centers given, p×d after scaling. */
  readonly points?: Float32Array;
  readonly projection?: SavedPreconditioning;
}

export interface Checkpoint {
  readonly kmfitVersion: string;
  /** The options that define the training, as given (JSON): a resume checks its own against them. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly plan: Plan;
  readonly task: Task;
  readonly classes?: readonly ClassLabel[];
  readonly kernel: KernelSpec;
  readonly scaling: Scaling;
  readonly fingerprint: DataFingerprint;
  /** Rows of the training data scored after each epoch. */
  readonly monitorIndices: Int32Array;
  /** The subsample and the eigen-directions (absent when q < 2); EigenPro 3: rows of the centers. */
  readonly preconditioning?: SavedPreconditioning;
  /** EigenPro 3: the centers (training rows, or points given) and the projection's eigen-directions. */
  readonly centers?: SavedCenters;
  readonly state: TrainingState;
  /** JSON the writer attached (the CLI keeps its arguments here). */
  readonly context?: unknown;
}

/** What a run's checkpoints hold besides the training state: fixed when the run starts. */
export function checkpointContents(run: {
  readonly options: Record<string, unknown>;
  readonly start: Start;
  readonly prepared: Prepared;
  readonly fingerprint: DataFingerprint;
  readonly context?: unknown;
}): Omit<Checkpoint, 'state'> {
  const { start, prepared } = run;
  const { targets } = prepared;
  return {
    kmfitVersion: version,
    options: run.options,
    plan: start.plan,
    task: targets.task,
    ...(targets.classes ? { classes: targets.classes } : {}),
    kernel: prepared.kernel.spec,
    scaling: prepared.scaling,
    fingerprint: run.fingerprint,
    monitorIndices: start.monitorTrain.rows,
    ...(start.preconditioning ? { preconditioning: start.preconditioning } : {}),
    ...(start.centers
      ? {
          centers: {
            ...(start.centers.indices ? { indices: start.centers.indices } : { points: start.centers.points.data }),
            ...(start.centers.projection.preconditioning ? { projection: start.centers.projection.preconditioning } : {}),
          },
        }
      : {}),
    ...(run.context !== undefined ? { context: run.context } : {}),
  };
}

type Arrays = ModelFileContents['arrays'];

/** Writes a checkpoint atomically: `path` holds the previous checkpoint or this one, never a part. */
export async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const { state, plan } = checkpoint;
  const n = plan.n;
  const l = plan.outputs;
  const d = plan.d;
  // The weights are the centers': all n training points (EigenPro 2), or the p centers.
  const p = plan.centers?.count ?? n;
  const arrays: Arrays = {
    weights: { data: state.weights, shape: [p, l] },
    random_state: { data: state.random, shape: [state.random.length] },
    monitor_indices: { data: checkpoint.monitorIndices, shape: [checkpoint.monitorIndices.length] },
    scaling_offset: { data: checkpoint.scaling.offset, shape: [d] },
    scaling_factor: { data: checkpoint.scaling.factor, shape: [d] },
  };
  if (state.order) arrays.order = { data: state.order, shape: [n] };
  if (state.epochStart) arrays.epoch_start_weights = { data: state.epochStart, shape: [p, l] };
  if (state.best) arrays.best_weights = { data: state.best.weights, shape: [p, l] };
  if (state.average) arrays.averaged_weights_sum = { data: state.average.sum, shape: [p, l] };
  if (state.iterate) arrays.iterate_weights = { data: state.iterate, shape: [p, l] };
  if (state.pending) {
    // Flat: rows × l each, the rows implied (pending rows; the subsample's).
    arrays.pending_weights = { data: state.pending.weights, shape: [state.pending.weights.length] };
    arrays.pending_at_centers = { data: state.pending.atCenters, shape: [p * l] };
    arrays.pending_corrections = { data: state.pending.corrections, shape: [state.pending.corrections.length] };
  }
  const addPreconditioning = (prefix: string, saved: SavedPreconditioning | undefined) => {
    if (!saved) return;
    const s = saved.indices.length;
    arrays[`${prefix}subsample_indices`] = { data: saved.indices, shape: [s] };
    arrays[`${prefix}eigenvectors`] = { data: saved.vectors, shape: [saved.scales.length, s] };
    arrays[`${prefix}eigen_scales`] = { data: saved.scales, shape: [saved.scales.length] };
  };
  addPreconditioning('', checkpoint.preconditioning);
  const centers = checkpoint.centers;
  if (centers?.indices) arrays.center_indices = { data: centers.indices, shape: [p] };
  if (centers?.points) arrays.centers = { data: centers.points, shape: [p, d] };
  addPreconditioning('projection_', centers?.projection);
  const header = {
    kmfitVersion: checkpoint.kmfitVersion,
    task: checkpoint.task,
    classes: checkpoint.classes ? [...checkpoint.classes] : null,
    kernel: { ...checkpoint.kernel, params: { ...checkpoint.kernel.params } },
    scaling: checkpoint.scaling.kind,
    options: checkpoint.options,
    plan,
    fingerprint: checkpoint.fingerprint,
    state: {
      epochsDone: state.epochsDone,
      cursor: state.cursor,
      epochIterations: state.epochIterations,
      totalIterations: state.totalIterations,
      epochSeconds: state.epochSeconds,
      trainingSeconds: state.trainingSeconds,
      stepSize: state.stepSize,
      halvings: state.halvings,
      epochHalvings: state.epochHalvings,
      history: state.history,
      keptEpoch: state.keptEpoch,
      best: state.best ? { score: state.best.score, epoch: state.best.epoch } : null,
      finished: state.finished ?? null,
      ...(state.average ? { averagedCount: state.average.count } : {}),
    },
    ...(checkpoint.context !== undefined ? { context: checkpoint.context } : {}),
  };
  await writeModelFile(path, { header, arrays }, CHECKPOINT_FILE);
}

/**
 * Reads a checkpoint written by writeCheckpoint (this version or an older one).
 * @throws KmfitError FILE_NOT_FOUND, MODEL_FILE_FOREIGN (not a checkpoint, or one with fields this
 *   kmfit cannot use), MODEL_FILE_TRUNCATED, MODEL_FILE_VERSION (from a newer kmfit).
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const file = await readModelFile(path, CHECKPOINT_FILE);
  return new CheckpointReader(path, file.header, file.arrays).read();
}

/** Field-by-field checks of a decoded checkpoint, each failure naming the field. */
class CheckpointReader extends HeaderFields {
  constructor(path: string, header: Record<string, unknown>, arrays: Record<string, NpyArray>) {
    super(header, arrays, (what) =>
      new KmfitError('MODEL_FILE_FOREIGN', `${path} is not a checkpoint this kmfit can use: ${what}. Resume from another checkpoint, or train anew.`),
    );
  }

  read(): Checkpoint {
    const h = this.header;
    const task = this.task(h.task);
    const plan = this.plan(h.plan);
    const { n, d, outputs: l } = plan;
    const classes = this.classes(h.classes, task, l);
    const kernel = this.kernel(h.kernel);
    const scaling: Scaling = {
      kind: this.scaling(h.scaling),
      offset: this.array('scaling_offset', Float32Array, [d]),
      factor: this.array('scaling_factor', Float32Array, [d]),
    };
    const monitorIndices = this.indices('monitor_indices', n);
    // EigenPro 3: weights and subsamples belong to the p centers.
    const p = plan.centers?.count ?? n;
    const preconditioning = this.preconditioning('', p, plan.q);
    const centers = plan.centers ? this.centers(n, p, d, plan.centers.projection.q) : undefined;
    const state = this.state(this.object(h.state, 'state'), n, p, l);
    if (state.pending && state.pending.corrections.length !== (preconditioning?.indices.length ?? 0) * l) {
      throw this.unusable('its pending corrections do not match its subsample');
    }
    return {
      kmfitVersion: typeof h.kmfitVersion === 'string' ? h.kmfitVersion : 'unknown',
      options: this.options(h.options),
      plan,
      task,
      ...(classes ? { classes } : {}),
      kernel,
      scaling,
      fingerprint: this.fingerprint(this.object(h.fingerprint, 'fingerprint'), n, d, l),
      monitorIndices,
      ...(preconditioning ? { preconditioning } : {}),
      ...(centers ? { centers } : {}),
      state,
      ...(h.context !== undefined ? { context: h.context } : {}),
    };
  }

  /** The training options it keeps, held to fit()'s own rules. */
  private options(value: unknown): Record<string, unknown> {
    const options = this.object(value, 'options');
    try {
      checkOptions(options, rulesOf(DEFINING_OPTIONS), 'the checkpoint');
    } catch (error) {
      throw this.unusable(`its options are not valid (${(error as Error).message})`);
    }
    return options;
  }

  private fingerprint(value: Record<string, unknown>, n: number, d: number, l: number): DataFingerprint {
    if (value.rows !== n || value.features !== d || value.outputs !== l) throw this.unusable('its fingerprint disagrees with its plan');
    this.integer(value.x, 'fingerprint.x', 0, 2 ** 32 - 1);
    this.integer(value.y, 'fingerprint.y', 0, 2 ** 32 - 1);
    if (value.validation !== undefined) {
      const v = this.object(value.validation, 'fingerprint.validation');
      this.integer(v.rows, 'fingerprint.validation.rows', 1);
      this.integer(v.x, 'fingerprint.validation.x', 0, 2 ** 32 - 1);
      this.integer(v.y, 'fingerprint.validation.y', 0, 2 ** 32 - 1);
    }
    return value as unknown as DataFingerprint;
  }

  /** A subsample of `rows` rows and its eigen-directions (arrays named with `prefix`). */
  private preconditioning(prefix: string, rows: number, q: number): SavedPreconditioning | undefined {
    if (q < 2) return undefined;
    const indices = this.indices(`${prefix}subsample_indices`, rows);
    const s = indices.length;
    return {
      indices,
      vectors: this.array(`${prefix}eigenvectors`, Float64Array, [q - 1, s]),
      scales: this.array(`${prefix}eigen_scales`, Float64Array, [q - 1]),
    };
  }

  /** EigenPro 3's centers: training rows or points, and the projection's eigen-directions. */
  private centers(n: number, p: number, d: number, q: number): SavedCenters {
    const projection = this.preconditioning('projection_', p, q);
    const where = this.arrays.center_indices
      ? { indices: this.indices('center_indices', n, p) }
      : { points: this.array('centers', Float32Array, [p, d]) };
    return { ...where, ...(projection ? { projection } : {}) };
  }

  /** The training state: a permutation of the n points; weights of the p centers. */
  private state(state: Record<string, unknown>, n: number, p: number, l: number): TrainingState {
    const epochsDone = this.integer(state.epochsDone, 'state.epochsDone', 0);
    const history = this.history(state.history, 'state.history', epochsDone);
    const order = this.arrays.order ? this.indices('order', n, n) : undefined;
    const cursor = this.integer(state.cursor, 'state.cursor', 0, order ? n : 0);
    const best = state.best === null || state.best === undefined ? undefined : this.object(state.best, 'state.best');
    const finished = state.finished === null || state.finished === undefined ? undefined : this.oneOf(state.finished, 'state.finished', FINISH_REASONS);
    const random = this.array('random_state', Uint32Array);
    return {
      epochsDone,
      ...(order ? { order, epochStart: this.array('epoch_start_weights', Float32Array, [p, l]) } : {}),
      cursor,
      epochIterations: this.integer(state.epochIterations, 'state.epochIterations', 0),
      totalIterations: this.integer(state.totalIterations, 'state.totalIterations', 0),
      epochSeconds: this.number(state.epochSeconds, 'state.epochSeconds'),
      trainingSeconds: this.number(state.trainingSeconds, 'state.trainingSeconds'),
      stepSize: this.number(state.stepSize, 'state.stepSize', true),
      halvings: this.halvings(state.halvings, 'state.halvings'),
      epochHalvings: this.integer(state.epochHalvings, 'state.epochHalvings', 0),
      history,
      ...(best
        ? {
            best: {
              score: this.number(best.score, 'state.best.score'),
              epoch: this.integer(best.epoch, 'state.best.epoch', 1, epochsDone),
              weights: this.array('best_weights', Float32Array, [p, l]),
            },
          }
        : {}),
      keptEpoch: this.integer(state.keptEpoch, 'state.keptEpoch', 0, epochsDone),
      ...(finished ? { finished } : {}),
      weights: this.array('weights', Float32Array, [p, l]),
      random,
      ...(this.arrays.pending_weights ? { pending: this.pending(p, l) } : {}),
      ...(this.arrays.averaged_weights_sum
        ? { average: { sum: this.array('averaged_weights_sum', Float64Array, [p, l]), count: this.integer(state.averagedCount, 'state.averagedCount', 1) } }
        : {}),
      ...(this.arrays.iterate_weights ? { iterate: this.array('iterate_weights', Float32Array, [p, l]) } : {}),
    };
  }

  /** EigenPro 3's update not yet projected (training.ts checks that its rows fit the position). */
  private pending(p: number, l: number): NonNullable<TrainingState['pending']> {
    const weights = this.array('pending_weights', Float32Array);
    const corrections = this.array('pending_corrections', Float64Array);
    if (weights.length % l !== 0 || corrections.length % l !== 0) throw this.unusable(`its pending arrays are not rows of ${l} outputs`);
    return { weights, atCenters: this.array('pending_at_centers', Float64Array, [p * l]), corrections };
  }

  /** An int32 array of indices into n rows (of length `length` when given). */
  private indices(name: string, n: number, length?: number): Int32Array {
    const indices = this.array(name, Int32Array, length === undefined ? undefined : [length]);
    for (let i = 0; i < indices.length; i++) {
      if (indices[i] < 0 || indices[i] >= n) throw this.unusable(`its ${name} array holds ${indices[i]}, not a row index below ${n}`);
    }
    return indices;
  }
}
