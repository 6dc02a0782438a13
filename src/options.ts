/**
 * fit()'s options: their types, defaults, and one table of constraints that both validates them
 * and writes the error messages (what is wrong, the value found, what to do).
 */
import type { KernelOption } from '../kernels/index.js';
import { BACKEND_NAMES, type BackendName } from './backends/select.js';
import type { MatrixInput } from './data/input.js';
import type { LabelInput, Task } from './data/labels.js';
import type { ScaleKind } from './data/scaling.js';
import { KmfitError, describeValue } from './errors.js';
import type { CheckpointOptions, CheckpointReport } from './checkpoint/schedule.js';
import type { DivergenceReport, EpochReport, IterationReport } from './solver/events.js';
import type { Plan } from './solver/setup.js';

export interface FitOptions {
  /** A built-in name, `{ name, bandwidth, gamma, nu }`, or a formula of r such as 'exp(-r^1.5 / sigma)'. Default 'laplacian'. */
  kernel?: KernelOption;
  /** Kernel bandwidth σ. Default: from the median pairwise distance of a subsample (see the plan). */
  bandwidth?: number;
  /** Passes over the training data. Default 5. */
  epochs?: number;
  /** Held-out data, evaluated after each epoch; it picks the kept epoch under earlyStopping or on abort. */
  validation?: { X: MatrixInput; y: LabelInput };
  /** Stop when the validation error has not improved for this many epochs; keep the best model. */
  earlyStopping?: number;
  /** Seed for the subsample and the batch order. Default 0: the same data and options give the same model. */
  seed?: number;
  /** s, the Nyström subsample size. Default min(n, 2000) below 100 000 points, else 12 000. */
  subsampleSize?: number;
  /** q, the number of eigen-directions the preconditioner flattens; 0 trains the plain kernel. Default: from the device's batch limit. */
  q?: number;
  /** Override of the analytic batch size. */
  batchSize?: number;
  /** Override of the analytic step size. */
  stepSize?: number;
  /** Override of m_G, the device's batch limit (otherwise from memory and a short calibration). */
  deviceBatchLimit?: number;
  /** Feature scaling fitted on the training data and applied again in predict. Default 'none'. */
  scale?: ScaleKind;
  /** 'classification' or 'regression'; by default inferred from y. */
  task?: Task;
  /** Compute backend. Default 'auto': webgpu on a hardware GPU, else onnx (in Node, with onnxruntime-node installed), else wasm, else js. */
  backend?: BackendName;
  /** CPU threads of the wasm and onnx backends. Default: one per core. */
  threads?: number;
  /** Called once, when set-up is done and before the first iteration, with the plan. */
  onPlan?: (plan: Plan) => void;
  /** Called after each epoch with its metrics. */
  onEpoch?: (report: EpochReport) => void;
  /** Called after each iteration (cheap: no metrics are computed for it). */
  onIteration?: (report: IterationReport) => void;
  /** Stops training within one iteration; the best model so far is kept. */
  signal?: AbortSignal;
  /**
   * Saves what training needs to continue (weights, position, permutation and random state,
   * plan, history) to `path`, atomically: every `everyIterations` iterations or `everySeconds`
   * seconds, by default after each epoch, and when training stops (finished or aborted).
   */
  checkpoint?: CheckpointOptions;
  /**
   * Continues the training saved in this checkpoint file, where it stopped: X, y and validation
   * must be the data it was trained on; options that decide what is trained come from it.
   */
  resumeFrom?: string;
  /**
   * false: train on X's own Float32Array (X given as { data, shape } or { data, rows, cols })
   * instead of a copy, as scikit-learn's copy_X=False does: it saves n·d·4 bytes, and the model
   * keeps that array as its centers, so leave it unchanged. Other inputs are converted anyway.
   * Default true.
   */
  copyX?: boolean;
  /** Called when the divergence guard rolls back and halves the step size. */
  onDivergence?: (report: DivergenceReport) => void;
  /** Called after each checkpoint is written. */
  onCheckpoint?: (report: CheckpointReport) => void;
}

type Check =
  | { kind: 'integer'; min: number; max?: number }
  | { kind: 'integers'; min: number }
  | { kind: 'number'; exclusiveMin: number; exclusiveMax?: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'function' }
  | { kind: 'boolean' }
  | { kind: 'signal' }
  | { kind: 'path' }
  | { kind: 'any' };

/** An option's constraint, and a hint on what to pass instead. */
export interface OptionRule {
  readonly check: Check;
  readonly hint: string;
}

/** Every option of fit(), its constraint, and a hint on what to pass instead. */
export const FIT_OPTION_RULES: Readonly<Record<keyof FitOptions, OptionRule>> = {
  kernel: { check: { kind: 'any' }, hint: '' }, // checked by the kernel module, which knows the names
  bandwidth: { check: { kind: 'number', exclusiveMin: 0 }, hint: 'leave it out for the data-driven default' },
  epochs: { check: { kind: 'integer', min: 1 }, hint: 'one epoch is one pass over the data' },
  validation: { check: { kind: 'any' }, hint: '' },
  earlyStopping: { check: { kind: 'integer', min: 1 }, hint: 'it counts epochs without improvement' },
  seed: { check: { kind: 'integer', min: 0, max: 2 ** 32 - 1 }, hint: 'use a whole number' },
  subsampleSize: { check: { kind: 'integer', min: 1 }, hint: 'the default is min(n, 2000)' },
  q: { check: { kind: 'integer', min: 0, max: 999 }, hint: '0 trains the plain kernel; leave it out for the analytic choice' },
  batchSize: { check: { kind: 'integer', min: 1 }, hint: 'leave it out for the analytic choice' },
  stepSize: { check: { kind: 'number', exclusiveMin: 0 }, hint: 'leave it out for the analytic choice' },
  deviceBatchLimit: { check: { kind: 'integer', min: 1 }, hint: 'leave it out to measure it' },
  scale: { check: { kind: 'enum', values: ['minmax', 'standard', 'none'] }, hint: '' },
  task: { check: { kind: 'enum', values: ['classification', 'regression'] }, hint: 'leave it out to infer it from y' },
  backend: { check: { kind: 'enum', values: BACKEND_NAMES }, hint: '' },
  threads: { check: { kind: 'integer', min: 1, max: 256 }, hint: 'leave it out for one per core' },
  onPlan: { check: { kind: 'function' }, hint: '' },
  onEpoch: { check: { kind: 'function' }, hint: '' },
  onIteration: { check: { kind: 'function' }, hint: '' },
  signal: { check: { kind: 'signal' }, hint: 'pass an AbortController’s signal' },
  checkpoint: { check: { kind: 'any' }, hint: '' }, // { path, everyIterations, everySeconds }: checked below
  resumeFrom: { check: { kind: 'path' }, hint: 'the path of a checkpoint written with the checkpoint option' },
  copyX: { check: { kind: 'boolean' }, hint: 'false trains on X’s own Float32Array' },
  onDivergence: { check: { kind: 'function' }, hint: '' },
  onCheckpoint: { check: { kind: 'function' }, hint: '' },
};

export const OPTION_NAMES = Object.keys(FIT_OPTION_RULES) as (keyof FitOptions)[];

function describeCheck(check: Check): string {
  switch (check.kind) {
    case 'integer':
      return check.max === undefined ? `an integer ≥ ${check.min}` : `an integer in [${check.min}, ${check.max}]`;
    case 'integers':
      return `an array of integers ≥ ${check.min}`;
    case 'number':
      return check.exclusiveMax === undefined
        ? `a number > ${check.exclusiveMin}`
        : `a number in (${check.exclusiveMin}, ${check.exclusiveMax})`;
    case 'enum':
      return `one of ${check.values.map((v) => `'${v}'`).join(', ')}`;
    case 'function':
      return 'a function';
    case 'boolean':
      return 'true or false';
    case 'signal':
      return 'an AbortSignal';
    case 'path':
      return 'a file path';
    case 'any':
      return 'a value';
  }
}

function satisfies(check: Check, value: unknown): boolean {
  switch (check.kind) {
    case 'integer':
      return (
        typeof value === 'number' &&
        Number.isInteger(value) &&
        value >= check.min &&
        (check.max === undefined || value <= check.max)
      );
    case 'integers':
      return (
        Array.isArray(value) &&
        value.length > 0 &&
        value.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= check.min)
      );
    case 'number':
      return (
        typeof value === 'number' &&
        Number.isFinite(value) &&
        value > check.exclusiveMin &&
        (check.exclusiveMax === undefined || value < check.exclusiveMax)
      );
    case 'enum':
      return typeof value === 'string' && check.values.includes(value);
    case 'function':
      return typeof value === 'function';
    case 'boolean':
      return typeof value === 'boolean';
    case 'signal':
      return typeof value === 'object' && value !== null && 'aborted' in value && 'addEventListener' in value;
    case 'path':
      return typeof value === 'string' && value.length > 0;
    case 'any':
      return true;
  }
}

/** The closest known name, for "did you mean" (edit distance ≤ 3). */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Checks every given option against `rules`; throws the first problem (an unknown name, a value
 * out of range) as a KmfitError. `caller` names the function in messages, e.g. "fit()".
 */
export function checkOptions(options: unknown, rules: Readonly<Record<string, OptionRule>>, caller: string): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new KmfitError('INVALID_OPTION', `${caller}'s options must be an object; got ${describeValue(options)}.`);
  }
  const names = Object.keys(rules);
  for (const [name, value] of Object.entries(options)) {
    const entry = (rules as Record<string, OptionRule | undefined>)[name];
    if (!entry) {
      const guess = closestName(name, names);
      throw new KmfitError(
        'UNKNOWN_OPTION',
        `Unknown option '${name}'.${guess ? ` Did you mean '${guess}'?` : ''} Known options: ${names.join(', ')}.`,
      );
    }
    if (value === undefined) continue;
    if (!satisfies(entry.check, value)) {
      throw new KmfitError(
        'INVALID_OPTION',
        `The '${name}' option must be ${describeCheck(entry.check)}; got ${describeValue(value)}.` +
          (entry.hint ? ` (${entry.hint[0].toUpperCase()}${entry.hint.slice(1)}.)` : ''),
      );
    }
  }
}

/** The 'validation' option, when given, is { X, y } (their contents are checked on conversion). */
export function checkValidationShape(validation: unknown): void {
  if (validation === undefined) return;
  if (typeof validation !== 'object' || validation === null || !('X' in validation) || !('y' in validation)) {
    throw new KmfitError('INVALID_OPTION', `The 'validation' option must be { X, y }; got ${describeValue(validation)}.`);
  }
}

/** Checks fit()'s options against the table and with each other; throws the first problem. */
export function validateOptions(options: unknown): FitOptions {
  if (options === undefined || options === null) return {};
  checkOptions(options, FIT_OPTION_RULES, 'fit()');
  const result = options as FitOptions;
  checkValidationShape(result.validation);
  if (result.checkpoint !== undefined) checkCheckpointOption(result.checkpoint);
  if (result.earlyStopping !== undefined && result.validation === undefined) {
    throw new KmfitError(
      'INVALID_OPTION',
      "The 'earlyStopping' option needs validation data: pass validation: { X, y } as well.",
    );
  }
  return result;
}

function checkCheckpointOption(value: unknown): void {
  const fail = (what: string) =>
    new KmfitError('INVALID_OPTION', `The 'checkpoint' option must be { path, everyIterations?, everySeconds? }; ${what}.`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`got ${describeValue(value)}`);
  const { path, everyIterations, everySeconds, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest).filter((key) => key !== 'context');
  if (unknown.length > 0) throw fail(`'${unknown[0]}' is not one of its fields`);
  if (typeof path !== 'string' || path.length === 0) throw fail(`its path is ${describeValue(path)}, not a file path`);
  if (everyIterations !== undefined && !satisfies({ kind: 'integer', min: 1 }, everyIterations)) {
    throw fail(`its everyIterations is ${describeValue(everyIterations)}, not an integer ≥ 1`);
  }
  if (everySeconds !== undefined && !satisfies({ kind: 'number', exclusiveMin: 0 }, everySeconds)) {
    throw fail(`its everySeconds is ${describeValue(everySeconds)}, not a number > 0`);
  }
}
