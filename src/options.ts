/**
 * fit()'s options, declared once: FIT_OPTIONS holds each option's type, constraint, default,
 * one-line description, whether it defines a training (kept in a checkpoint, fixed on resume)
 * and its command-line flag. FitOptions, validation and its messages, the applied defaults, the
 * CLI's flags and help (cli/usage.ts), the checkpoint's defining list and the scaling study's
 * rules all derive from it.
 *
 * Adding an option is one entry here plus its use.
 */
import { BUILTIN_KERNEL_NAMES, type KernelOption } from '../kernels/index.js';
import { BACKEND_NAMES, type BackendName } from './backends/select.js';
import { toMatrix, type MatrixInput } from './data/input.js';
import { crc32 } from './crc32.js';
import type { LabelInput, Task } from './data/labels.js';
import type { ScaleKind } from './data/scaling.js';
import { KmfitError, describeValue } from './errors.js';
import type { DivergenceReport, EpochReport, IterationReport } from './solver/events.js';
import { PROJECTION_PASSES, type Plan } from './solver/plan.js';
import { CENTERS_DEFAULT_EPOCHS, CONVERGED_RESIDUAL, MAX_EPOCHS_UNTIL_CONVERGED } from './solver/convergence.js';
import { AUTO_FLOAT32_BYTES, CACHE_PRECISIONS, CACHE_SHARE, DEFAULT_CACHE_PRECISION, type CacheOption } from './solver/kernelCache.js';
import type { CachePrecision } from './backends/backend.js';
import { CLUSTER_DEFAULTS, RUN_PATTERN, type ClusterOptions, type ClusterReport } from './cluster/options.js';
import { checkBandwidthOption, checkKernelList, isSearch, type BandwidthOption } from '../kernels/candidates.js';

/** The held-out share of the training data for a bandwidth search without validation data. */
export const DEFAULT_HOLDOUT = 0.2;

/** --bandwidth: one number, numbers separated by commas, or 'search'. */
function parseBandwidthFlag(text: string): BandwidthOption | string {
  if (text === 'search') return text;
  const values = String(text).split(',').map((part) => Number(part.trim()));
  if (values.some((v) => !Number.isFinite(v) || v <= 0)) {
    throw new KmfitError('INVALID_OPTION', `--bandwidth must be a number > 0, numbers > 0 separated by commas, or 'search'; got '${text}'.`);
  }
  return values.length === 1 ? values[0] : values;
}

/** --kernel: a name or a formula; built-in names separated by commas are a list (a formula may hold commas). */
function parseKernelFlag(text: string): KernelOption | KernelOption[] {
  const parts = String(text).split(',').map((part) => part.trim());
  return parts.length > 1 && parts.every((part) => /^[A-Za-z_][A-Za-z0-9_-]*$/.test(part)) ? parts : text;
}

/** The checkpoint option: where and how often a run saves what it needs to continue. */
export interface CheckpointOptions {
  /** The file, rewritten atomically at each checkpoint. */
  readonly path: string;
  /** Write after every this many iterations. */
  readonly everyIterations?: number;
  /** Write when this many seconds have passed since the last write. */
  readonly everySeconds?: number;
  /** JSON kept in the checkpoint as is (the CLI keeps its arguments there, for `kmfit resume`). */
  readonly context?: unknown;
}

/** A checkpoint was written, or its write failed (`error`). */
export interface CheckpointReport {
  readonly path: string;
  /** Epochs completed and iterations into the next one at the time of the checkpoint. */
  readonly epoch: number;
  readonly iteration: number;
  readonly totalIterations: number;
  /** True for the checkpoint written when the run stopped. */
  readonly final: boolean;
  /**
   * Set when this checkpoint could not be written (IO_ERROR: a full disk, no permission;
   * FILE_NOT_FOUND: its directory is gone): `path` still holds the previous checkpoint, if any,
   * intact, and training goes on; the next one is tried on schedule.
   */
  readonly error?: KmfitError;
}

/** A constraint on an option's value; it also words the error message. */
export type OptionCheck =
  | { kind: 'integer'; min: number; max?: number }
  | { kind: 'integers'; min: number }
  | { kind: 'number'; exclusiveMin: number; exclusiveMax?: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'function' }
  | { kind: 'boolean' }
  | { kind: 'signal' }
  | { kind: 'path' }
  | { kind: 'text' }
  | { kind: 'any' };

/** An option's constraint, and a hint on what to pass instead. */
export interface OptionRule {
  readonly check: OptionCheck;
  readonly hint: string;
}

/** One entry of FIT_OPTIONS. */
export interface OptionSpec extends OptionRule {
  /** What it does, in one line (also the command line's help, with the default appended). */
  readonly describe: string;
  /** The value fit() applies when the option is left out. */
  readonly default?: string | number | boolean;
  /** What decides the value when it is left out and no fixed default applies (or what the default means). */
  readonly defaultNote?: string;
  /** It decides what is trained: kept in a checkpoint and not to be changed on resume. */
  readonly defines?: true;
  /**
   * How a checkpoint's options keep it, where not as given: a JSON stand-in that another value maps
   * to only if it trains the same (resume compares the stand-ins).
   */
  readonly keptAs?: (value: never) => unknown;
  /** Its command-line flag, and help where the command line words it otherwise. */
  readonly cli?: {
    readonly flag: string;
    readonly help?: string;
    /** The flag's type where the check does not say (a count, on the command line). */
    readonly type?: 'number';
    /** The option's value from the flag's text, where it is not the text itself (a list). */
    readonly parse?: (text: string) => unknown;
  };
}

/** Carries an option's TypeScript type (never set at run time). */
export interface TypedOption<T> {
  readonly type?: T;
}
const option = <T>() => <const S extends OptionSpec>(spec: S): S & TypedOption<T> => spec;

/**
 * A count of centers as it is; a matrix by its shape and a CRC-32 of its float32 values (the
 * checkpoint holds the matrix itself, as an array).
 */
function keptCenters(value: number | MatrixInput): unknown {
  if (typeof value === 'number') return value;
  const { rows, cols, data } = toMatrix(value, 'centers', { copy: false });
  const crc = crc32(new Uint8Array(data.buffer, data.byteOffset, rows * cols * 4)).toString(16).padStart(8, '0');
  return `a ${rows}×${cols} matrix, CRC-32 ${crc}`;
}

/** Every option of fit(), in the order messages list them. */
export const FIT_OPTIONS = {
  kernel: option<KernelOption | readonly KernelOption[]>()({
    check: { kind: 'any' }, // checked by the kernel module, which knows the names
    hint: '',
    describe:
      "a built-in name, `{ name, bandwidth, gamma, nu }`, or a formula of r such as 'exp(-r^1.5 / sigma)' (default 'laplacian'); " +
      'a list of them searches over the kernels (see bandwidth)',
    defines: true,
    cli: {
      flag: 'kernel',
      help: `${BUILTIN_KERNEL_NAMES.join(', ')}, or a formula of r such as 'exp(-r^1.5/sigma)'; names separated by commas search over them`,
      parse: parseKernelFlag,
    },
  }),
  bandwidth: option<BandwidthOption>()({
    check: { kind: 'any' }, // checkBandwidthOption
    hint: '',
    describe:
      "kernel bandwidth σ; a list of them, or 'search' (a grid around the median heuristic), trains every candidate in one pass " +
      "and keeps the one with the lowest error on held-out data (model.search holds each one's)",
    defaultNote: 'from the median pairwise distance',
    defines: true,
    cli: { flag: 'bandwidth', help: "σ, or σ values separated by commas, or 'search': candidates trained in one pass, the best on held-out data kept (default: from the median pairwise distance)", parse: parseBandwidthFlag },
  }),
  holdout: option<number>()({
    check: { kind: 'number', exclusiveMin: 0, exclusiveMax: 1 },
    hint: 'a fraction of the training data, such as 0.2',
    describe: 'with a bandwidth search and no validation data: the share of the training data held out (seeded) to judge the candidates',
    defaultNote: String(DEFAULT_HOLDOUT),
    cli: { flag: 'holdout' },
  }),
  refit: option<boolean>()({
    check: { kind: 'boolean' },
    hint: 'false keeps the chosen candidate as trained without the held-out rows',
    describe:
      'with a bandwidth search judged on a holdout: train the chosen candidate again on all the training rows, ' +
      'which is the model returned (with validation data the candidates train on all of them already)',
    default: true,
    cli: { flag: 'refit', help: 'with a bandwidth search judged on a holdout: train the chosen candidate again on all the training rows (--no-refit: keep it as trained without the held-out ones)' },
  }),
  epochs: option<number>()({
    check: { kind: 'integer', min: 1 },
    hint: 'one epoch is one pass over the data; leave it out to train until converged',
    describe: 'passes over the training data: given, exactly this many',
    defaultNote:
      `until the train residual ‖y − f‖ is within ${CONVERGED_RESIDUAL.classification * 100} % (classification) or ${CONVERGED_RESIDUAL.regression * 100} % (regression) ` +
      "of the targets' spread ‖y − ȳ‖: the exact interpolant's answer, " +
      `at most ${MAX_EPOCHS_UNTIL_CONVERGED}; ${CENTERS_DEFAULT_EPOCHS} with centers`,
    cli: { flag: 'epochs' },
  }),
  validation: option<{ X: MatrixInput; y: LabelInput; name?: string }>()({
    check: { kind: 'any' }, // { X, y, name? }: checkValidationShape; the contents on conversion
    hint: '',
    describe:
      'held-out data, evaluated after each epoch; it picks the kept epoch under earlyStopping or on abort. ' +
      "name: what messages about it call it, such as its file's name (else validation.X and validation.y)",
  }),
  earlyStopping: option<number>()({
    check: { kind: 'integer', min: 1 },
    hint: 'it counts epochs without improvement',
    describe: 'stop when the validation error has not improved for this many epochs; keep the best model',
    defines: true,
    cli: { flag: 'early-stopping', help: 'stop after N epochs without a better test error' },
  }),
  seed: option<number>()({
    check: { kind: 'integer', min: 0, max: 2 ** 32 - 1 },
    hint: 'use a whole number',
    describe: 'random seed',
    default: 0,
    defines: true,
    cli: { flag: 'seed' },
  }),
  centers: option<number | MatrixInput>()({
    check: { kind: 'any' }, // a count or a matrix: checkCentersOption; a matrix's contents on conversion
    hint: '',
    describe:
      'train an EigenPro 3 model on p centers apart from the data: a count p (a seeded random subset of X) or a p×d matrix; ' +
      'memory and cost per epoch then grow with p, not with n (default: the centers are all of X, EigenPro 2)',
    defines: true,
    keptAs: keptCenters,
    cli: { flag: 'centers', type: 'number', help: 'train an EigenPro 3 model on this many centers, a seeded random subset of the data' },
  }),
  projectionInterval: option<number>()({
    check: { kind: 'integer', min: 1 },
    hint: '1 projects after every batch (EigenPro 3); leave it out for the analytic choice (delayed, as EigenPro 4)',
    describe: 'with centers: batches between projections onto the centers',
    defaultNote: 'about √(2·passes)·p / m: the fewest operations per epoch',
    defines: true,
    cli: { flag: 'projection-interval' },
  }),
  projectionPasses: option<number>()({
    check: { kind: 'integer', min: 1 },
    hint: 'more passes project more exactly, at p²·d per pass',
    describe: 'with centers: passes of EigenPro iterations over the centers per projection',
    defaultNote: String(PROJECTION_PASSES),
    defines: true,
    cli: { flag: 'projection-passes' },
  }),
  averaging: option<boolean>()({
    check: { kind: 'boolean' },
    hint: 'false keeps the last weights of each epoch',
    describe:
      "with centers: the model each epoch ends with is the mean of the weights at that epoch's projections, " +
      'nearer the least-squares fit than the last weights, which hold stochastic noise when p < n',
    defaultNote: 'true when there are fewer centers than training points',
    defines: true,
    cli: { flag: 'averaging', help: "with centers: end each epoch with the mean of the weights at its projections (--no-averaging: the last weights)" },
  }),
  subsampleSize: option<number>()({
    check: { kind: 'integer', min: 1 },
    hint: 'the default is min(n, 2000)',
    describe: 'Nyström subsample size s',
    defines: true,
    cli: { flag: 'subsample' },
  }),
  q: option<number>()({
    check: { kind: 'integer', min: 0, max: 999 },
    hint: '0 trains the plain kernel; leave it out for the analytic choice',
    describe: 'override the preconditioner level (0: plain kernel)',
    defines: true,
    cli: { flag: 'q' },
  }),
  batchSize: option<number>()({
    check: { kind: 'integer', min: 1 },
    hint: 'leave it out for the analytic choice',
    describe: 'override the analytic batch size',
    defines: true,
    cli: { flag: 'batch-size' },
  }),
  stepSize: option<number>()({
    check: { kind: 'number', exclusiveMin: 0 },
    hint: 'leave it out for the analytic choice',
    describe: 'override the analytic step size (halved, with a warning, if training diverges)',
    defines: true,
    cli: { flag: 'step-size' },
  }),
  deviceBatchLimit: option<number>()({
    check: { kind: 'integer', min: 1 },
    hint: 'leave it out to measure it',
    describe: "override m_G, the device's batch limit",
    defaultNote: 'measured',
    defines: true,
    cli: { flag: 'device-batch-limit' },
  }),
  scale: option<ScaleKind>()({
    check: { kind: 'enum', values: ['minmax', 'standard', 'none'] },
    hint: '',
    describe: 'feature scaling, fitted on the training data and applied again in predict',
    default: 'none',
    defines: true,
    cli: { flag: 'scale', help: 'feature scaling' },
  }),
  task: option<Task>()({
    check: { kind: 'enum', values: ['classification', 'regression'] },
    hint: 'leave it out to infer it from y',
    describe: "'classification' or 'regression'",
    defaultNote: 'inferred from y',
    defines: true,
    cli: { flag: 'task', help: "classification or regression (default: inferred from the labels: integers are classes, other numbers regression targets; integers with fewer than 5 rows a value over more than 10 values, such as prices, are refused until --task says which)" },
  }),
  backend: option<BackendName>()({
    check: { kind: 'enum', values: BACKEND_NAMES },
    hint: '',
    describe: 'compute backend',
    default: 'auto',
    defaultNote: 'webgpu on a hardware GPU, else the fastest on the data of onnx (when onnxruntime-node is installed) and wasm, timed per data shape',
    cli: { flag: 'backend' },
  }),
  cache: option<CacheOption>()({
    check: { kind: 'any' }, // checkCacheOption
    hint: '',
    describe:
      "EigenPro 2: keep the kernel matrix in memory after the first epoch, which then computes each block once (symmetry); with centers (EigenPro 3): K_ZZ for the projection: " +
      `'auto', 'off', a precision (${CACHE_PRECISIONS.map((p) => `'${p}'`).join(', ')}) or { precision, bytes }; ` +
      `'auto' caches on the wasm and onnx backends when it fits ${CACHE_SHARE * 100} % of the memory left, in ${DEFAULT_CACHE_PRECISION} (float32 up to ${AUTO_FLOAT32_BYTES / 2 ** 20} MiB, or where the ${DEFAULT_CACHE_PRECISION} values' rounding holds the residual up and float32 fits)`,
    default: 'auto',
    cli: { flag: 'cache', help: `auto, off, or a precision (${CACHE_PRECISIONS.join(', ')}): the kernel matrix kept in memory` },
  }),
  threads: option<number>()({
    check: { kind: 'integer', min: 1, max: 256 },
    hint: 'leave it out for one per core',
    describe: "CPU threads of the wasm and onnx backends and of set-up's eigensolver",
    defaultNote: 'one per core',
    cli: { flag: 'threads' },
  }),
  cluster: option<ClusterOptions>()({
    check: { kind: 'any' }, // { server, workers, … }: checkClusterOption
    hint: '',
    describe:
      'train with the centers sharded across worker processes (kmfit worker) reached through a NATS server: ' +
      '{ server, workers, run?, user?, password?, token?, tls?: { ca?, cert?, key? }, joinSeconds?, replySeconds?, replicate? } ' +
      `(waits ${CLUSTER_DEFAULTS.joinSeconds} s for the workers to join and ${CLUSTER_DEFAULTS.replySeconds} s for one answer; docs/distributed.md)`,
  }),
  onCluster: option<(report: ClusterReport | undefined) => void>()({
    check: { kind: 'function' },
    hint: '',
    describe: 'with cluster: called once the workers hold their shards, with the run, the server and who holds how many centers',
  }),
  onPlan: option<(plan: Plan) => void>()({
    check: { kind: 'function' },
    hint: '',
    describe: 'called once, when set-up is done and before the first iteration, with the plan',
  }),
  onEpoch: option<(report: EpochReport) => void>()({ check: { kind: 'function' }, hint: '', describe: 'called after each epoch with its metrics' }),
  onIteration: option<(report: IterationReport) => void>()({
    check: { kind: 'function' },
    hint: '',
    describe: 'called after each iteration (cheap: no metrics are computed for it)',
  }),
  signal: option<AbortSignal>()({
    check: { kind: 'signal' },
    hint: 'pass an AbortController’s signal',
    describe: 'stops training within one iteration; the best model so far is kept',
  }),
  checkpoint: option<CheckpointOptions>()({
    check: { kind: 'any' }, // { path, everyIterations, everySeconds }: checkCheckpointOption
    hint: '',
    describe:
      'saves what training needs to continue (weights, position, random state, plan, history) to `path`, atomically: ' +
      'every `everyIterations` iterations or `everySeconds` seconds, by default after each epoch, and when training stops',
  }),
  resumeFrom: option<string>()({
    check: { kind: 'path' },
    hint: 'the path of a checkpoint written with the checkpoint option',
    describe:
      'continues the training saved in this checkpoint file where it stopped: X, y and validation must be the data it ' +
      'was trained on; the options that define the training come from it',
  }),
  copyX: option<boolean>()({
    check: { kind: 'boolean' },
    hint: 'false trains on X’s own Float32Array',
    describe:
      "false: train on X's own Float32Array (X given as { data, shape } or { data, rows, cols }) instead of a copy, " +
      'as scikit-learn’s copy_X=False does, and score validation.X’s own likewise; the model keeps X’s array as its ' +
      'centers, so leave both unchanged',
    default: true,
  }),
  labelName: option<string>()({
    check: { kind: 'text' },
    hint: "a name, such as the label column's",
    describe: "what messages about y call it, such as its column's name (the kmfit command gives a CSV header's)",
    default: 'y',
  }),
  onDivergence: option<(report: DivergenceReport) => void>()({
    check: { kind: 'function' },
    hint: '',
    describe: 'called when the divergence guard rolls back and halves the step size',
  }),
  onCheckpoint: option<(report: CheckpointReport) => void>()({ check: { kind: 'function' }, hint: '', describe: 'called after each checkpoint is written, or could not be (report.error: training goes on)' }),
} as const;

export type FitOptionName = keyof typeof FIT_OPTIONS;

/** fit()'s options: FIT_OPTIONS says what each is, its constraint and its default. */
export type FitOptions = { [K in FitOptionName]?: NonNullable<(typeof FIT_OPTIONS)[K]['type']> };

type NamesWhere<P> = { [K in FitOptionName]: (typeof FIT_OPTIONS)[K] extends P ? K : never }[FitOptionName];
/** Options with a fixed default, which withDefaults fills in. */
export type DefaultedOption = NamesWhere<{ default: unknown }>;
/** Options that define the training (see OptionSpec.defines). */
export type DefiningOption = NamesWhere<{ defines: true }>;
/** Options with a command-line flag. */
export type FlaggedOption = NamesWhere<{ cli: object }>;

const NAMES = Object.keys(FIT_OPTIONS) as FitOptionName[];
const spec = (name: FitOptionName): OptionSpec => FIT_OPTIONS[name];

/** Options that change what is trained: kept in a checkpoint, and not to be changed on resume. */
export const DEFINING_OPTIONS = NAMES.filter((name) => spec(name).defines) as readonly DefiningOption[];

/** A defining option's value as a checkpoint keeps it (OptionSpec.keptAs), as JSON data. */
export function keptValue(name: DefiningOption, value: unknown): unknown {
  const keptAs = spec(name).keptAs as ((value: unknown) => unknown) | undefined;
  return JSON.parse(JSON.stringify(keptAs ? keptAs(value) : value)) as unknown;
}

/** Options with a command-line flag, in table order. */
export const FLAGGED_OPTIONS = NAMES.filter((name) => spec(name).cli) as readonly FlaggedOption[];

/** Options as fit() runs them: every fixed default filled in. */
export type WithDefaults<O extends FitOptions> = O & { [K in DefaultedOption]-?: NonNullable<FitOptions[K]> };

/** `options` with the table's default for each option left out (or given as undefined). */
export function withDefaults<O extends FitOptions>(options: O): WithDefaults<O> {
  const filled: Record<string, unknown> = { ...options };
  for (const name of NAMES) {
    const value = spec(name).default;
    if (value !== undefined && filled[name] === undefined) filled[name] = value;
  }
  return filled as WithDefaults<O>;
}

/** The rules of the named options, for a caller (the scaling study) that takes some of fit()'s. */
export function rulesOf<K extends FitOptionName>(names: readonly K[]): Record<K, OptionRule> {
  const rules = {} as Record<K, OptionRule>;
  for (const name of names) rules[name] = spec(name);
  return rules;
}

function describeCheck(check: OptionCheck): string {
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
    case 'text':
      return 'a non-empty string';
    case 'any':
      return 'a value';
  }
}

function satisfies(check: OptionCheck, value: unknown): boolean {
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
    case 'text':
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
    if (value !== undefined) checkValue(`The '${name}' option`, entry, value);
  }
}

/**
 * Throws INVALID_OPTION when `value` breaks `rule`: "<label> must be …; got …. (Hint.)", where
 * `label` names the option as the caller's user knows it ("The 'batchSize' option", "--batch-size").
 */
export function checkValue(label: string, rule: OptionRule, value: unknown): void {
  if (satisfies(rule.check, value)) return;
  throw new KmfitError(
    'INVALID_OPTION',
    `${label} must be ${describeCheck(rule.check)}; got ${describeValue(value)}.` + (rule.hint ? ` (${rule.hint[0].toUpperCase()}${rule.hint.slice(1)}.)` : ''),
  );
}

/** The 'validation' option, when given, is { X, y, name? } (their contents are checked on conversion). */
export function checkValidationShape(validation: unknown): void {
  if (validation === undefined) return;
  if (typeof validation !== 'object' || validation === null || !('X' in validation) || !('y' in validation)) {
    throw new KmfitError('INVALID_OPTION', `The 'validation' option must be { X, y }; got ${describeValue(validation)}.`);
  }
  if ('name' in validation && validation.name !== undefined) {
    checkValue("The 'validation' option's name", { check: { kind: 'text' }, hint: "such as its file's name" }, validation.name);
  }
}

/** Checks fit()'s options against the table and with each other; throws the first problem. */
export function validateOptions(options: unknown): FitOptions {
  if (options === undefined || options === null) return {};
  checkOptions(options, FIT_OPTIONS, 'fit()');
  const result = options as FitOptions;
  checkValidationShape(result.validation);
  checkBandwidthOption(result.bandwidth);
  checkKernelList(result.kernel);
  for (const name of ['holdout', 'refit'] as const) {
    if (result[name] !== undefined && !isSearch(result)) {
      throw new KmfitError('INVALID_OPTION', `The '${name}' option is for a bandwidth search: give several bandwidths or bandwidth: 'search', or leave ${name} out.`);
    }
  }
  checkCentersOption(result.centers);
  checkCacheOption(result.cache);
  for (const name of ['projectionInterval', 'projectionPasses', 'averaging'] as const) {
    if (result[name] !== undefined && result.centers === undefined) {
      throw new KmfitError('INVALID_OPTION', `The '${name}' option is for models with separate centers: pass centers as well.`);
    }
  }
  if (result.checkpoint !== undefined) checkCheckpointOption(result.checkpoint);
  if (result.cluster !== undefined) checkClusterOption(result.cluster);
  if (result.earlyStopping !== undefined && result.validation === undefined) {
    throw new KmfitError(
      'INVALID_OPTION',
      "The 'earlyStopping' option needs validation data: pass validation: { X, y } as well.",
    );
  }
  return result;
}

/** The 'centers' option, when given, is a count ≥ 1 or a matrix (whose contents are checked on conversion). */
function checkCentersOption(value: unknown): void {
  if (value === undefined || typeof value === 'object') return;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) return;
  throw new KmfitError(
    'INVALID_OPTION',
    `The 'centers' option must be a whole number of centers ≥ 1 or a p×d matrix of centers; got ${describeValue(value)}.`,
  );
}

function checkCacheOption(value: unknown): void {
  if (value === undefined || value === 'auto' || value === 'off' || CACHE_PRECISIONS.includes(value as CachePrecision)) return;
  const fail = (what: string) =>
    new KmfitError('INVALID_OPTION', `The 'cache' option must be 'auto', 'off', ${CACHE_PRECISIONS.map((p) => `'${p}'`).join(', ')} or { precision?, bytes? }; ${what}.`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`got ${describeValue(value)}`);
  const { precision, bytes, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw fail(`'${unknown[0]}' is not one of its fields`);
  if (precision !== undefined && !CACHE_PRECISIONS.includes(precision as CachePrecision)) throw fail(`its precision is ${describeValue(precision)}`);
  if (bytes !== undefined && !(typeof bytes === 'number' && Number.isFinite(bytes) && bytes > 0)) throw fail(`its bytes is ${describeValue(bytes)}, not a number of bytes > 0`);
}

function checkClusterOption(value: unknown): void {
  const fail = (what: string) =>
    new KmfitError('INVALID_OPTION', `The 'cluster' option must be { server: 'nats://HOST:PORT', workers: N, … }; ${what}.`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`got ${describeValue(value)}`);
  const { server, workers, run, user, password, token, tls, joinSeconds, replySeconds, replicate, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw fail(`'${unknown[0]}' is not one of its fields`);
  if (typeof server !== 'string' || server === '') throw fail(`its server is ${describeValue(server)}, not an address`);
  if (!satisfies({ kind: 'integer', min: 1, max: 1024 }, workers)) throw fail(`its workers is ${describeValue(workers)}, not an integer in [1, 1024]`);
  if (run !== undefined && !(typeof run === 'string' && RUN_PATTERN.test(run))) throw fail(`its run is ${describeValue(run)}, not 1 to 64 letters, digits, '-' or '_'`);
  for (const [name, field] of [['user', user], ['password', password], ['token', token]] as const) {
    if (field !== undefined && typeof field !== 'string') throw fail(`its ${name} is ${describeValue(field)}, not a string`);
  }
  if (password !== undefined && user === undefined) throw fail('a password needs its user');
  if (replicate !== undefined && typeof replicate !== 'boolean') throw fail(`its replicate is ${describeValue(replicate)}, not true or false`);
  if (tls !== undefined) {
    if (typeof tls !== 'object' || tls === null) throw fail(`its tls is ${describeValue(tls)}, not { ca?, cert?, key? }`);
    for (const [name, file] of Object.entries(tls)) {
      if (!['ca', 'cert', 'key'].includes(name)) throw fail(`'tls.${name}' is not one of its fields (ca, cert, key)`);
      if (typeof file !== 'string' || file === '') throw fail(`its tls.${name} is ${describeValue(file)}, not a file path`);
    }
  }
  for (const [name, seconds] of [['joinSeconds', joinSeconds], ['replySeconds', replySeconds]] as const) {
    if (seconds !== undefined && !satisfies({ kind: 'number', exclusiveMin: 0 }, seconds)) throw fail(`its ${name} is ${describeValue(seconds)}, not a number > 0`);
  }
}

/** The rules of the 'checkpoint' option's schedule; the command line holds --checkpoint-every to everyIterations'. */
export const CHECKPOINT_SCHEDULE_RULES = {
  everyIterations: { check: { kind: 'integer', min: 1 }, hint: 'a number of iterations' },
  everySeconds: { check: { kind: 'number', exclusiveMin: 0 }, hint: 'a number of seconds' },
} as const satisfies Record<'everyIterations' | 'everySeconds', OptionRule>;

function checkCheckpointOption(value: unknown): void {
  const fail = (what: string) =>
    new KmfitError('INVALID_OPTION', `The 'checkpoint' option must be { path, everyIterations?, everySeconds? }; ${what}.`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`got ${describeValue(value)}`);
  const { path, context: _context, ...schedule } = value as Record<string, unknown>;
  const unknown = Object.keys(schedule).find((key) => !Object.hasOwn(CHECKPOINT_SCHEDULE_RULES, key));
  if (unknown !== undefined) throw fail(`'${unknown}' is not one of its fields`);
  if (typeof path !== 'string' || path.length === 0) throw fail(`its path is ${describeValue(path)}, not a file path`);
  for (const [field, rule] of Object.entries(CHECKPOINT_SCHEDULE_RULES)) {
    const given = schedule[field];
    if (given !== undefined && !satisfies(rule.check, given)) throw fail(`its ${field} is ${describeValue(given)}, not ${describeCheck(rule.check)}`);
  }
}
