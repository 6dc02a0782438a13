/**
 * The command line's vocabulary: each command's options (for yargs, --help and "did you mean"),
 * and usage errors as one line that says what is wrong and what to type instead.
 */
import { existsSync } from 'node:fs';
import type { Options } from 'yargs';
import { KmfitError } from '../errors.js';
import { CLUSTER_ACCESS_OPTIONS } from './cluster.js';
import { FIT_OPTIONS, FLAGGED_OPTIONS, checkValue, closestName, type FitOptions, type FlaggedOption, type OptionSpec } from '../options.js';

type FlagOf<K extends FlaggedOption> = (typeof FIT_OPTIONS)[K]['cli']['flag'];
/** fit()'s options as their command-line flags carry them: numbers, and words that fit() checks. */
export type FitFlags = { [K in FlaggedOption as FlagOf<K>]?: NonNullable<FitOptions[K]> extends number ? number : string };

/** The help of an option's flag: its description and default, unless the table words it for the command line. */
function flagHelp(spec: OptionSpec): string {
  if (spec.cli?.help !== undefined) return spec.cli.help;
  const value = spec.default === undefined ? '' : ` ${typeof spec.default === 'string' ? `'${spec.default}'` : spec.default}`;
  const note = spec.defaultNote === undefined ? '' : `: ${spec.defaultNote}`;
  return value || note ? `${spec.describe} (default${value}${note})` : spec.describe;
}

/** fit()'s flags for yargs, from the option table: type, choices and help. */
function fitFlags(): Record<FlagOf<FlaggedOption>, Options> {
  const flags = {} as Record<FlagOf<FlaggedOption>, Options>;
  for (const name of FLAGGED_OPTIONS) {
    const spec: OptionSpec = FIT_OPTIONS[name];
    const { check } = spec;
    flags[FIT_OPTIONS[name].cli.flag] = {
      type: check.kind === 'boolean' ? 'boolean' : check.kind === 'integer' || check.kind === 'number' || spec.cli?.type === 'number' ? 'number' : 'string',
      ...(check.kind === 'enum' ? { choices: check.values } : {}),
      describe: flagHelp(spec),
    };
  }
  return flags;
}

/**
 * A command's options, each that takes a value marked so (yargs' requiresArg): `--epochs` with
 * nothing after it, or followed by another option, is a usage error instead of a flag left out.
 */
function valued<T extends Record<string, Options>>(options: T): T {
  return Object.fromEntries(Object.entries(options).map(([name, o]) => [name, o.type === 'boolean' ? o : { ...o, requiresArg: true }])) as T;
}

/** fit()'s options from the flags that were given, each checked against its rule under its flag's name. */
export function fitOptionsOf(args: FitFlags): FitOptions {
  const options: Record<string, unknown> = {};
  for (const name of FLAGGED_OPTIONS) {
    const spec: OptionSpec = FIT_OPTIONS[name];
    const cli = spec.cli!;
    const value = (args as Record<string, unknown>)[cli.flag];
    if (value === undefined) continue;
    options[name] = cli.parse && typeof value === 'string' ? cli.parse(value) : value;
    checkValue(flagOf(cli.flag), spec, options[name]);
  }
  return options as FitOptions;
}

/** The training command's options: the data to read, fit()'s options, what to write and print. */
export const TRAIN_OPTIONS = valued({
  labels: { type: 'string', describe: 'a separate labels file (1-D .npy or IDX labels)' },
  label: { type: 'string', describe: 'the label column: a 0-based index, or a CSV header name (default: the last column)' },
  test: { type: 'string', describe: 'a test file (same layout as the data); scored after each epoch' },
  'test-split': { type: 'number', describe: 'hold out this fraction of the data as the test set (seeded)' },
  'train-size': { type: 'number', describe: 'use the first N training points (a .npy or CSV file is read no further)' },
  'test-size': { type: 'number', describe: 'use the first N test points' },
  ...fitFlags(),
  cluster: { type: 'string', describe: 'train with the centers sharded across `kmfit worker` processes reached through this NATS server (nats://HOST:PORT)' },
  workers: { type: 'number', describe: 'with --cluster: how many workers (default 1)' },
  'cluster-replicate': { type: 'boolean', describe: "with --cluster: send every worker all training rows once, so that a step sends the batch's row numbers instead of its rows (n·d·4 bytes of memory on each worker)" },
  'cluster-run': { type: 'string', describe: "with --cluster: the run's identity (workers started with --run serve only it; default random)" },
  ...CLUSTER_ACCESS_OPTIONS,
  save: { type: 'string', describe: 'model path (default: next to the data file, named after it; ./<dataset>.kmfit for a built-in one); --no-save trains and reports without writing one' },
  checkpoint: {
    type: 'string',
    describe: 'keep a checkpoint at PATH to resume from (kmfit resume PATH); by default one is kept beside the model only until the run ends; --no-checkpoint writes none (a run stopped then cannot be resumed)',
  },
  'checkpoint-every': { type: 'number', describe: 'checkpoint every N iterations (default: after each epoch)' },
  json: { type: 'boolean', describe: 'print one JSON object instead of text' },
  quiet: { type: 'boolean', describe: 'print nothing but errors' },
} as const satisfies Record<string, Options>);

/**
 * What `kmfit resume` may change; everything else comes from the checkpoint. The files can be given
 * again: resume reads and writes the files the checkpoint names only in the checkpoint's folder.
 */
export const RESUME_OPTIONS = valued({
  epochs: { type: 'number', describe: 'train for this many epochs in all (more extends a finished run)' },
  save: { type: 'string', describe: "model path (default: the run's own when it is in the checkpoint's folder; none for a run trained with --no-save); --no-save writes none" },
  data: { type: 'string', describe: "the training data file, when it is not in the checkpoint's folder (the same data: it is checked)" },
  labels: { type: 'string', describe: "the separate labels file, when it is not in the checkpoint's folder" },
  test: { type: 'string', describe: "the test file, when it is not in the checkpoint's folder" },
  backend: TRAIN_OPTIONS.backend,
  threads: TRAIN_OPTIONS.threads,
  cluster: TRAIN_OPTIONS.cluster,
  workers: TRAIN_OPTIONS.workers,
  'checkpoint-every': TRAIN_OPTIONS['checkpoint-every'],
  json: TRAIN_OPTIONS.json,
  quiet: TRAIN_OPTIONS.quiet,
} as const satisfies Record<string, Options>);

/** The scaling study's options: the data options of training, the shared training options, its own. */
export const SCALING_OPTIONS = valued({
  labels: TRAIN_OPTIONS.labels,
  label: TRAIN_OPTIONS.label,
  test: { type: 'string', describe: 'validation data for --target-error (same layout as the data)' },
  'test-split': { type: 'number', describe: 'hold out this fraction as validation data for --target-error (seeded)' },
  'train-size': TRAIN_OPTIONS['train-size'],
  'test-size': TRAIN_OPTIONS['test-size'],
  kernel: TRAIN_OPTIONS.kernel,
  bandwidth: TRAIN_OPTIONS.bandwidth,
  backend: TRAIN_OPTIONS.backend,
  threads: TRAIN_OPTIONS.threads,
  'device-batch-limit': TRAIN_OPTIONS['device-batch-limit'],
  q: { type: 'number', describe: 'the preconditioned setting’s level (default: the analytic q); the plain one is q = 0' },
  subsample: TRAIN_OPTIONS.subsample,
  seed: TRAIN_OPTIONS.seed,
  scale: TRAIN_OPTIONS.scale,
  'batch-sizes': { type: 'string', describe: 'comma-separated batch sizes (default 1, 2, 4, … up to the memory limit)' },
  'target-mse': { type: 'number', describe: 'target: train mse below this fraction of its initial value (default 0.05)' },
  'target-error': { type: 'number', describe: 'target instead: validation error at or below this fraction (needs --test or --test-split)' },
  'max-iterations': { type: 'number', describe: 'cap on the iterations of each run (default 100000)' },
  'max-seconds': { type: 'number', describe: 'cap on the training seconds of each run (default 120)' },
  'monitor-size': { type: 'number', describe: 'training points the mse target is checked on (default 1000)' },
  out: { type: 'string', describe: 'a directory for scaling.json, scaling.csv and the figure' },
  json: { type: 'boolean', describe: 'print the report as one JSON object' },
  quiet: TRAIN_OPTIONS.quiet,
} as const satisfies Record<string, Options>);

export const PREDICT_OPTIONS = valued({
  label: { type: 'string', describe: 'the label column, if not the last' },
  out: { type: 'string', describe: 'write the predictions to FILE.npy or FILE.csv (default: stdout, one per line)' },
  json: { type: 'boolean', describe: 'print one JSON object' },
} as const satisfies Record<string, Options>);

export const BENCH_OPTIONS = valued({
  backends: { type: 'string', describe: 'comma-separated backends (default: all available)' },
  reps: { type: 'number', default: 5, describe: 'repetitions; the median is reported' },
  shape: { type: 'string', array: true, describe: 'm,n,d,l (repeatable); default 1024,8192,784,10 and 1024,8192,64,10 (with --grid: its grid)' },
  grid: {
    type: 'boolean',
    describe: "for each shape of a grid (d 4, 16, 64, 256, 784 × l 1, 10, 26 at m 2000, n 16000), every backend 'auto' chooses among and the one it takes, against the fastest",
  },
  bytes: { type: 'boolean', describe: "rows and centers of bytes ÷ 255 (as images such as MNIST), which the onnx backend's distances take in integer arithmetic" },
  json: { type: 'boolean', describe: 'print a JSON array of results' },
} as const satisfies Record<string, Options>);

export const WORKER_OPTIONS = valued({
  server: { type: 'string', demandOption: true, describe: 'the NATS server to join (nats://HOST:PORT; tls://HOST:PORT for TLS)' },
  backend: TRAIN_OPTIONS.backend,
  threads: TRAIN_OPTIONS.threads,
  run: { type: 'string', describe: 'serve only the run of this identity (--cluster-run of the training)' },
  ...CLUSTER_ACCESS_OPTIONS,
  quiet: { type: 'boolean', describe: 'print nothing but errors' },
} as const satisfies Record<string, Options>);

export const DEVICES_OPTIONS = { json: { type: 'boolean', describe: 'print one JSON object' } } as const satisfies Record<string, Options>;

export const INFO_OPTIONS = { json: { type: 'boolean', describe: 'print one JSON object' } } as const satisfies Record<string, Options>;

export const DEBUG_OPTION = { type: 'boolean', describe: 'print the stack trace of an unexpected error' } as const satisfies Options;

/** Each command's options; '' is training (`kmfit <data>`). */
const COMMAND_OPTIONS: Readonly<Record<string, Readonly<Record<string, Options>>>> = {
  '': TRAIN_OPTIONS,
  resume: RESUME_OPTIONS,
  worker: WORKER_OPTIONS,
  predict: PREDICT_OPTIONS,
  scaling: SCALING_OPTIONS,
  bench: BENCH_OPTIONS,
  devices: DEVICES_OPTIONS,
  info: INFO_OPTIONS,
};

/**
 * The options that take a value and also mean something as --no-X (yargs reads --no-save as
 * save: false, --no-checkpoint as checkpoint: false); any other --no-X of a valued option is
 * refused (negatedOption).
 */
const NEGATABLE_OPTIONS: Readonly<Record<string, readonly string[]>> = { '': ['save', 'checkpoint'], resume: ['save'] };

/** The named commands (training has none). */
export const COMMAND_NAMES = Object.keys(COMMAND_OPTIONS).filter((c) => c !== '');

const GLOBAL_OPTIONS = ['help', 'h', 'version', 'debug'];

/** Words of argv before a `--`, which ends the options. */
function words(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--');
  return end < 0 ? argv : argv.slice(0, end);
}

/** The command argv runs: its first word when that names one, else training (''). */
export function commandOf(argv: readonly string[]): string {
  const first = words(argv).find((w) => !w.startsWith('-'));
  return first !== undefined && COMMAND_NAMES.includes(first) ? first : '';
}

/** The first option in argv that `command` does not have, with the closest one it does. */
export function unknownOption(argv: readonly string[], command: string): { option: string; guess?: string } | undefined {
  const known = [...Object.keys(COMMAND_OPTIONS[command]), ...GLOBAL_OPTIONS];
  for (const word of words(argv)) {
    if (!word.startsWith('-') || /^-\d/.test(word) || word === '-') continue;
    const name = word.replace(/^--?/, '').split('=')[0];
    // yargs also takes --camelCase for --kebab-case, and --no-flag for a boolean.
    const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (known.includes(kebab) || (kebab.startsWith('no-') && known.includes(kebab.slice(3)))) continue;
    return { option: word.split('=')[0], guess: closestName(name, known.filter((k) => k.length > 1)) };
  }
  return undefined;
}

/**
 * The first --no-X in argv whose X takes a value and has no meaning negated: yargs would pass
 * it on as false (a crash in a path), or as 0 for a number (--no-seed is seed 0).
 */
function negatedOption(argv: readonly string[], command: string): KmfitError | undefined {
  const options = COMMAND_OPTIONS[command];
  for (const word of words(argv)) {
    const name = /^--no-([^=]+)$/.exec(word)?.[1].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (name === undefined || options[name] === undefined || options[name].type === 'boolean' || NEGATABLE_OPTIONS[command]?.includes(name)) continue;
    return new KmfitError('INVALID_OPTION', `${word} is not an option: --${name} takes a value; leave it out for its default (${helpHint(command)})`);
  }
  return undefined;
}

const helpHint = (command: string) => `kmfit ${command ? `${command} ` : ''}--help lists the options, with examples`;

/** How the command line spells an option: -q, --epochs. */
export const flagOf = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);

/**
 * What yargs lets through as values: --no-X of an option that takes a value (negatedOption), an
 * option that takes one value given twice (yargs makes an array of them, which no command
 * expects), and a number option given text that is not a number (yargs reads "abc" as NaN and ""
 * (--seed=) as 0, so the text typed is checked here, and named).
 */
export function checkValues(parsed: Readonly<Record<string, unknown>>, argv: readonly string[]): void {
  const command = commandOf(argv);
  const options = COMMAND_OPTIONS[command];
  const negated = negatedOption(argv, command);
  if (negated) throw negated;
  for (const [name, option] of Object.entries(options)) {
    const value = parsed[name];
    if (option.array || !Array.isArray(value)) continue;
    const negations = value.filter((v) => v === false).length;
    if (negations > 0 && negations < value.length) throw new KmfitError('INVALID_OPTION', `${flagOf(name)} and --no-${name} are both given; give one of them.`);
    if (negations > 0) throw new KmfitError('INVALID_OPTION', `--no-${name} is given ${negations} times; give it once.`);
    throw new KmfitError('INVALID_OPTION', `${flagOf(name)} is given ${value.length} times (${value.join(', ')}); give it once.`);
  }
  const given = words(argv);
  given.forEach((word, i) => {
    if (!word.startsWith('-') || /^-\d/.test(word)) return;
    const [flag, inline] = [word.split('=')[0], word.includes('=') ? word.slice(word.indexOf('=') + 1) : undefined];
    const name = flag.replace(/^--?/, '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (options[name]?.type !== 'number' || parsed[name] === undefined) return;
    const text = inline ?? given[i + 1];
    if (text === undefined || (text.trim() !== '' && Number.isFinite(Number(text)))) return;
    throw new KmfitError('INVALID_OPTION', `${flagOf(name)} takes a number; got ${JSON.stringify(text)} (${helpHint(command)})`);
  });
}

/** A yargs failure message as one line that names the problem and the fix. */
export function usageError(message: string, argv: readonly string[]): KmfitError {
  const command = commandOf(argv);
  const unknown = unknownOption(argv, command);
  if (unknown) {
    const guess = unknown.guess ? `; did you mean --${unknown.guess}?` : '.';
    return new KmfitError('UNKNOWN_OPTION', `unknown option ${unknown.option}${guess} (${helpHint(command)})`);
  }
  // yargs refuses some first (--no-backend: false is not one of its choices).
  const negated = negatedOption(argv, command);
  if (negated) return negated;
  // `kmfit predcit m d`: a mistyped command reads as a data file followed by stray words.
  const first = words(argv).find((w) => !w.startsWith('-'));
  const commandGuess = command === '' && first !== undefined && !existsSync(first) ? closestName(first, COMMAND_NAMES) : undefined;
  if (commandGuess) {
    return new KmfitError('INVALID_OPTION', `${first} is neither a command nor a file; did you mean kmfit ${commandGuess}? (kmfit --help lists the commands)`);
  }
  const valueless = /^Not enough arguments following: (\S+)$/.exec(message);
  if (valueless) return new KmfitError('INVALID_OPTION', `${flagOf(valueless[1])} needs a value (${helpHint(command)})`);
  const choice = /Argument: (\S+), Given: "([^"]*)", Choices: (.*)$/m.exec(message);
  if (choice) {
    const [, option, given, choices] = choice;
    const names = choices.split(', ').map((c) => c.replace(/^"|"$/g, ''));
    const guess = closestName(given, names);
    return new KmfitError(
      'INVALID_OPTION',
      `--${option} ${given} is not one of ${names.join(', ')}${guess ? `; did you mean --${option} ${guess}?` : '.'}`,
    );
  }
  return new KmfitError('INVALID_OPTION', `${message.replace(/\s*\n\s*/g, ' ')} (${helpHint(command)})`);
}
