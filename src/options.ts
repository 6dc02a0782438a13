/**
 * fit()'s options: their types, defaults, and one table of constraints that both validates them
 * and writes the error messages (what is wrong, the value found, what to do).
 */
import type { KernelOption } from '../kernels/index.js';
import type { MatrixInput } from './data/input.js';
import type { LabelInput, Task } from './data/labels.js';
import type { ScaleKind } from './data/scaling.js';
import { KmfitError, describeValue } from './errors.js';
import type { EpochReport, IterationReport } from './solver/events.js';
import type { Plan } from './solver/setup.js';

export const BACKEND_NAMES = ['auto', 'js'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface FitOptions {
  /** A built-in name, `{ name, bandwidth, gamma, nu }`, or a formula of r such as 'exp(-r^1.5 / sigma)'. Default 'laplacian'. */
  kernel?: KernelOption;
  /** Kernel bandwidth σ. Default: from the median pairwise distance of a subsample (see the plan). */
  bandwidth?: number;
  /** Passes over the training data. Default 5. */
  epochs?: number;
  /** Held-out data, evaluated after each epoch (and used by earlyStopping). */
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
  /** Compute backend. Default 'auto'. */
  backend?: BackendName;
  /** Called once, when set-up is done and before the first iteration, with the plan. */
  onPlan?: (plan: Plan) => void;
  /** Called after each epoch with its metrics. */
  onEpoch?: (report: EpochReport) => void;
  /** Called after each iteration (cheap: no metrics are computed for it). */
  onIteration?: (report: IterationReport) => void;
  /** Stops training within one iteration; the best model so far is kept. */
  signal?: AbortSignal;
}

type Check =
  | { kind: 'integer'; min: number; max?: number }
  | { kind: 'number'; exclusiveMin: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'function' }
  | { kind: 'signal' }
  | { kind: 'any' };

/** Every option, its constraint, and a hint on what to pass instead. */
const OPTION_TABLE: Readonly<Record<keyof FitOptions, { check: Check; hint: string }>> = {
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
  onPlan: { check: { kind: 'function' }, hint: '' },
  onEpoch: { check: { kind: 'function' }, hint: '' },
  onIteration: { check: { kind: 'function' }, hint: '' },
  signal: { check: { kind: 'signal' }, hint: 'pass an AbortController’s signal' },
};

export const OPTION_NAMES = Object.keys(OPTION_TABLE) as (keyof FitOptions)[];

function describeCheck(check: Check): string {
  switch (check.kind) {
    case 'integer':
      return check.max === undefined ? `an integer ≥ ${check.min}` : `an integer in [${check.min}, ${check.max}]`;
    case 'number':
      return `a number > ${check.exclusiveMin}`;
    case 'enum':
      return `one of ${check.values.map((v) => `'${v}'`).join(', ')}`;
    case 'function':
      return 'a function';
    case 'signal':
      return 'an AbortSignal';
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
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && value > check.exclusiveMin;
    case 'enum':
      return typeof value === 'string' && check.values.includes(value);
    case 'function':
      return typeof value === 'function';
    case 'signal':
      return typeof value === 'object' && value !== null && 'aborted' in value && 'addEventListener' in value;
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

/** Checks every given option against the table; throws the first problem as a KmfitError. */
export function validateOptions(options: unknown): FitOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new KmfitError('INVALID_OPTION', `fit()'s options must be an object; got ${describeValue(options)}.`);
  }
  for (const [name, value] of Object.entries(options)) {
    const entry = (OPTION_TABLE as Record<string, { check: Check; hint: string } | undefined>)[name];
    if (!entry) {
      const guess = closestName(name, OPTION_NAMES);
      throw new KmfitError(
        'UNKNOWN_OPTION',
        `Unknown option '${name}'.${guess ? ` Did you mean '${guess}'?` : ''} Known options: ${OPTION_NAMES.join(', ')}.`,
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
  const result = options as FitOptions;
  if (result.validation !== undefined) {
    const v = result.validation as unknown;
    if (typeof v !== 'object' || v === null || !('X' in v) || !('y' in v)) {
      throw new KmfitError('INVALID_OPTION', `The 'validation' option must be { X, y }; got ${describeValue(v)}.`);
    }
  }
  if (result.earlyStopping !== undefined && result.validation === undefined) {
    throw new KmfitError(
      'INVALID_OPTION',
      "The 'earlyStopping' option needs validation data: pass validation: { X, y } as well.",
    );
  }
  return result;
}
