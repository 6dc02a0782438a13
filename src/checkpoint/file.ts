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
import type { ScaleKind, Scaling } from '../data/scaling.js';
import { KmfitError, describeValue } from '../errors.js';
import { CHECKPOINT_FILE, readModelFile, writeModelFile, type ModelFileContents } from '../io/modelFile.js';
import type { NpyArray } from '../io/npy.js';
import type { EpochMetrics, StepHalving } from '../solver/events.js';
import type { Plan } from '../solver/plan.js';
import type { TrainingState } from '../solver/training.js';
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
  /** The subsample and the eigen-directions (absent when q < 2). */
  readonly preconditioning?: { readonly indices: Int32Array; readonly vectors: Float64Array; readonly scales: Float64Array };
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
  const arrays: Arrays = {
    weights: { data: state.weights, shape: [n, l] },
    random_state: { data: state.random, shape: [state.random.length] },
    monitor_indices: { data: checkpoint.monitorIndices, shape: [checkpoint.monitorIndices.length] },
    scaling_offset: { data: checkpoint.scaling.offset, shape: [d] },
    scaling_factor: { data: checkpoint.scaling.factor, shape: [d] },
  };
  if (state.order) arrays.order = { data: state.order, shape: [n] };
  if (state.epochStart) arrays.epoch_start_weights = { data: state.epochStart, shape: [n, l] };
  if (state.best) arrays.best_weights = { data: state.best.weights, shape: [n, l] };
  const p = checkpoint.preconditioning;
  if (p) {
    const s = p.indices.length;
    arrays.subsample_indices = { data: p.indices, shape: [s] };
    arrays.eigenvectors = { data: p.vectors, shape: [p.scales.length, s] };
    arrays.eigen_scales = { data: p.scales, shape: [p.scales.length] };
  }
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
class CheckpointReader {
  constructor(
    private readonly path: string,
    private readonly header: Record<string, unknown>,
    private readonly arrays: Record<string, NpyArray>,
  ) {}

  read(): Checkpoint {
    const h = this.header;
    const task = h.task;
    if (task !== 'classification' && task !== 'regression') throw this.unusable(`its task is ${describeValue(task)}`);
    const plan = this.plan(h.plan);
    const { n, d, outputs: l } = plan;
    const classes = this.classes(h.classes, task, l);
    const kernel = this.kernel(h.kernel);
    const scaleKind = h.scaling;
    if (scaleKind !== 'none' && scaleKind !== 'minmax' && scaleKind !== 'standard') throw this.unusable(`its scaling is ${describeValue(scaleKind)}`);
    const scaling: Scaling = {
      kind: scaleKind as ScaleKind,
      offset: this.array('scaling_offset', Float32Array, [d]),
      factor: this.array('scaling_factor', Float32Array, [d]),
    };
    const monitorIndices = this.indices('monitor_indices', n);
    const preconditioning = this.preconditioning(n, plan.q);
    const state = this.state(this.object(h.state, 'state'), n, l);
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
      state,
      ...(h.context !== undefined ? { context: h.context } : {}),
    };
  }

  private unusable(what: string): KmfitError {
    return new KmfitError('MODEL_FILE_FOREIGN', `${this.path} is not a checkpoint this kmfit can use: ${what}. Resume from another checkpoint, or train anew.`);
  }

  private object(value: unknown, name: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.unusable(`its ${name} is ${describeValue(value)}, not an object`);
    return value as Record<string, unknown>;
  }

  private integer(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw this.unusable(`its ${name} is ${describeValue(value)}, not an integer in [${min}, ${max}]`);
    }
    return value;
  }

  private number(value: unknown, name: string, positive = false): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || (positive ? value <= 0 : value < 0)) {
      throw this.unusable(`its ${name} is ${describeValue(value)}, not a ${positive ? 'positive' : 'non-negative'} number`);
    }
    return value;
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

  private plan(value: unknown): Plan {
    const plan = this.object(value, 'plan');
    for (const key of ['n', 'd', 'outputs', 'subsampleSize', 'batchSize', 'epochs', 'iterationsPerEpoch'] as const) {
      this.integer(plan[key], `plan.${key}`, 1);
    }
    this.integer(plan.q, 'plan.q', 0);
    this.integer(plan.seed, 'plan.seed', 0);
    this.number(plan.stepSize, 'plan.stepSize', true);
    this.number(plan.bandwidth, 'plan.bandwidth', true);
    if (plan.task !== 'classification' && plan.task !== 'regression') throw this.unusable(`its plan.task is ${describeValue(plan.task)}`);
    return plan as unknown as Plan;
  }

  private classes(value: unknown, task: Task, l: number): ClassLabel[] | undefined {
    if (task === 'regression') return undefined;
    if (!Array.isArray(value) || value.length !== l || !value.every((c) => typeof c === 'string' || (typeof c === 'number' && Number.isFinite(c)))) {
      throw this.unusable(`it has ${l} score columns but its classes are ${describeValue(value)}`);
    }
    return value as ClassLabel[];
  }

  private kernel(value: unknown): KernelSpec {
    const kernel = this.object(value, 'kernel');
    if (typeof kernel.name !== 'string') throw this.unusable(`its kernel.name is ${describeValue(kernel.name)}`);
    this.number(kernel.bandwidth, 'kernel.bandwidth', true);
    const params = this.object(kernel.params, 'kernel.params');
    for (const [key, v] of Object.entries(params)) if (typeof v !== 'number') throw this.unusable(`its kernel.params.${key} is ${describeValue(v)}`);
    if (kernel.formula !== undefined && typeof kernel.formula !== 'string') throw this.unusable(`its kernel.formula is ${describeValue(kernel.formula)}`);
    return kernel as unknown as KernelSpec;
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

  private preconditioning(n: number, q: number): Checkpoint['preconditioning'] {
    if (q < 2) return undefined;
    const indices = this.indices('subsample_indices', n);
    const s = indices.length;
    return {
      indices,
      vectors: this.array('eigenvectors', Float64Array, [q - 1, s]),
      scales: this.array('eigen_scales', Float64Array, [q - 1]),
    };
  }

  private state(state: Record<string, unknown>, n: number, l: number): TrainingState {
    const epochsDone = this.integer(state.epochsDone, 'state.epochsDone', 0);
    const history = this.history(state.history, epochsDone);
    const order = this.arrays.order ? this.indices('order', n, n) : undefined;
    const cursor = this.integer(state.cursor, 'state.cursor', 0, order ? n : 0);
    const best = state.best === null || state.best === undefined ? undefined : this.object(state.best, 'state.best');
    const finished = state.finished;
    if (finished !== null && finished !== undefined && finished !== 'epochs' && finished !== 'early-stopping') {
      throw this.unusable(`its state.finished is ${describeValue(finished)}`);
    }
    const random = this.array('random_state', Uint32Array);
    return {
      epochsDone,
      ...(order ? { order, epochStart: this.array('epoch_start_weights', Float32Array, [n, l]) } : {}),
      cursor,
      epochIterations: this.integer(state.epochIterations, 'state.epochIterations', 0),
      totalIterations: this.integer(state.totalIterations, 'state.totalIterations', 0),
      epochSeconds: this.number(state.epochSeconds, 'state.epochSeconds'),
      trainingSeconds: this.number(state.trainingSeconds, 'state.trainingSeconds'),
      stepSize: this.number(state.stepSize, 'state.stepSize', true),
      halvings: this.halvings(state.halvings),
      epochHalvings: this.integer(state.epochHalvings, 'state.epochHalvings', 0),
      history,
      ...(best
        ? {
            best: {
              score: this.number(best.score, 'state.best.score'),
              epoch: this.integer(best.epoch, 'state.best.epoch', 1, epochsDone),
              weights: this.array('best_weights', Float32Array, [n, l]),
            },
          }
        : {}),
      keptEpoch: this.integer(state.keptEpoch, 'state.keptEpoch', 0, epochsDone),
      ...(finished ? { finished } : {}),
      weights: this.array('weights', Float32Array, [n, l]),
      random,
    };
  }

  private history(value: unknown, epochs: number): EpochMetrics[] {
    if (!Array.isArray(value) || value.length !== epochs) throw this.unusable(`its state.history is not a list of ${epochs} epochs`);
    value.forEach((entry, i) => {
      const epoch = this.object(entry, `state.history[${i}]`);
      this.integer(epoch.epoch, `state.history[${i}].epoch`, i + 1, i + 1);
      this.number(epoch.trainMse, `state.history[${i}].trainMse`);
    });
    return value as EpochMetrics[];
  }

  private halvings(value: unknown): StepHalving[] {
    if (!Array.isArray(value)) throw this.unusable(`its state.halvings is ${describeValue(value)}, not a list`);
    value.forEach((entry, i) => {
      const halving = this.object(entry, `state.halvings[${i}]`);
      this.number(halving.from, `state.halvings[${i}].from`, true);
      this.number(halving.to, `state.halvings[${i}].to`, true);
    });
    return value as StepHalving[];
  }

  /** An int32 array of indices into n rows (of length `length` when given). */
  private indices(name: string, n: number, length?: number): Int32Array {
    const indices = this.array(name, Int32Array, length === undefined ? undefined : [length]);
    for (let i = 0; i < indices.length; i++) {
      if (indices[i] < 0 || indices[i] >= n) throw this.unusable(`its ${name} array holds ${indices[i]}, not a row index below ${n}`);
    }
    return indices;
  }

  private array<T extends Float32Array | Float64Array | Int32Array | Uint32Array>(
    name: string,
    type: new (length: number) => T,
    shape?: readonly number[],
  ): T {
    const array = this.arrays[name];
    if (!array) throw this.unusable(`it has no ${name} array`);
    if (!(array.data instanceof type)) throw this.unusable(`its ${name} array is ${array.dtype}, not ${type.name}`);
    const expected = shape ?? [array.data.length];
    if (array.shape.length !== expected.length || array.shape.some((size, i) => size !== expected[i])) {
      throw this.unusable(`its ${name} array has shape [${array.shape.join(', ')}], not [${expected.join(', ')}]`);
    }
    return array.data as T;
  }
}
