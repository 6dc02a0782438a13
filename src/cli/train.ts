/**
 * `kmfit <data>`: read the data (a file or a built-in dataset), train, report, save. Training
 * checkpoints to a file as it goes (kept when asked for with --checkpoint, removed after a
 * successful run otherwise), so that a killed run can be resumed (resume.ts); Ctrl-C stops after
 * the current iteration, saves the checkpoint and the best model so far, and exits with 130.
 */
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { loadFashionMnist, loadMnist, type Dataset } from '../../datasets/mnist.js';
import { KmfitError } from '../errors.js';
import { fit } from '../fit.js';
import type { KernelModel } from '../model/model.js';
import { firstRows, readDataFile, type DataFile, type LabeledData } from '../io/dataFile.js';
import { takeRows } from '../matrix.js';
import { FIT_OPTIONS, closestName, type FitOptions } from '../options.js';
import { SeededRandom } from '../solver/random.js';
import { version } from '../version.js';
import { progressOnStderr } from './progress.js';
import { formatNumber, percent, renderDivergence, renderEpoch, renderHalvings, renderPlan } from './render.js';
import { COMMAND_NAMES, fitOptionsOf, type FitFlags } from './usage.js';

export const BUILTIN_DATASETS: Readonly<Record<string, (o: { trainSize?: number; testSize?: number }) => Promise<Dataset>>> = {
  mnist: loadMnist,
  'fashion-mnist': loadFashionMnist,
};

/** The training command's arguments: its data, fit()'s flags, what to write and print. */
export interface TrainArgs extends FitFlags {
  data: string;
  labels?: string;
  label?: string;
  test?: string;
  'test-split'?: number;
  'train-size'?: number;
  'test-size'?: number;
  save?: string;
  checkpoint?: string;
  'checkpoint-every'?: number;
  json?: boolean;
  quiet?: boolean;
}

/** What a checkpoint written by the command keeps of its invocation, for `kmfit resume`. */
export interface CommandContext {
  readonly command: 'kmfit';
  /** The arguments, with file paths made absolute (json and quiet are the resuming call's). */
  readonly args: TrainArgs;
  /** Whether the checkpoint was asked for (--checkpoint or --checkpoint-every): it stays after success. */
  readonly keep: boolean;
}

/** The exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED = 130;

/** A resumed run: the checkpoint, and a line saying where it stood. */
export interface Resuming {
  readonly from: string;
  readonly note: string;
  readonly keep: boolean;
}

interface TrainingData {
  readonly name: string;
  readonly train: LabeledData;
  readonly test?: LabeledData;
  /** Where the model goes unless --save says otherwise. */
  readonly defaultSave: string;
}

/** A column option: a 0-based index when it is a whole number, else a header name. */
export function columnOption(value: string | undefined): string | number | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) ? Number(value) : value;
}

function fromDataset(data: Dataset): TrainingData {
  const part = (X: Dataset['train']['X'], y: Uint8Array | Int32Array, which: string): LabeledData => ({
    X,
    y: Float64Array.from(y),
    source: `${data.name} ${which}`,
  });
  return {
    name: data.name,
    train: part(data.train.X, data.train.y, 'training set'),
    test: part(data.test.X, data.test.y, 'test set'),
    defaultSave: path.resolve(`${data.name.toLowerCase()}.kmfit`),
  };
}

async function readTrainingData(args: DataArgs): Promise<TrainingData> {
  const builtin = BUILTIN_DATASETS[args.data];
  if (builtin && !existsSync(args.data)) {
    return fromDataset(await builtin({ trainSize: args['train-size'], testSize: args['test-size'] }));
  }
  if (!existsSync(args.data)) {
    const command = closestName(args.data, COMMAND_NAMES);
    throw new KmfitError(
      'FILE_NOT_FOUND',
      `${args.data}: no such file, and not a built-in dataset (${Object.keys(BUILTIN_DATASETS).join(', ')}). ` +
        (command ? `Did you mean kmfit ${command}? ` : '') +
        'Give the path of a .npy, .npz, IDX, libsvm or CSV/TSV file.',
    );
  }
  // With a seeded split, every row is read (the split draws from all of them).
  const rows = args['test-split'] === undefined ? args['train-size'] : undefined;
  const file: DataFile = await readDataFile(args.data, { labels: args.labels, label: columnOption(args.label), rows });
  const parsed = path.parse(path.resolve(args.data));
  return { name: parsed.base, train: file.train, test: file.test, defaultSave: path.join(parsed.dir, `${parsed.name}.kmfit`) };
}

function pickLabels(y: LabeledData['y'], rows: Int32Array): LabeledData['y'] {
  if (y === undefined) return undefined;
  return y instanceof Float64Array ? Float64Array.from(rows, (i) => y[i]) : Array.from(rows, (i) => y[i]);
}

function pickRows(data: LabeledData, rows: Int32Array, source: string): LabeledData {
  return { X: takeRows(data.X, rows), y: pickLabels(data.y, rows), source };
}

/** A seeded split: the same seed, the same test rows. */
function splitOff(data: LabeledData, fraction: number, seed: number): { train: LabeledData; test: LabeledData } {
  if (!(fraction > 0 && fraction < 1)) {
    throw new KmfitError('INVALID_OPTION', `--test-split must be a fraction between 0 and 1 (e.g. 0.2); got ${fraction}.`);
  }
  const order = new SeededRandom(seed).permutation(data.X.rows);
  const testCount = Math.round(fraction * data.X.rows);
  if (testCount < 1 || testCount >= data.X.rows) {
    throw new KmfitError('INVALID_OPTION', `--test-split ${fraction} of ${data.X.rows} rows leaves no test or no training rows; use a fraction nearer 0.2.`);
  }
  return {
    train: pickRows(data, order.subarray(testCount), `${data.source} (${data.X.rows - testCount} rows)`),
    test: pickRows(data, order.subarray(0, testCount), `${data.source} (a seeded ${testCount}-row split)`),
  };
}

/** --train-size and --test-size: whole numbers of at least 1. */
function checkCounts(args: DataArgs): void {
  for (const option of ['train-size', 'test-size'] as const) {
    const value = args[option];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      throw new KmfitError('INVALID_OPTION', `--${option} must be a whole number of points, at least 1; got ${value}.`);
    }
  }
}

/** The data of a training command: the file or dataset, its labels, the test split, the row limits. */
export type DataArgs = Pick<TrainArgs, 'data' | 'labels' | 'label' | 'test' | 'test-split' | 'train-size' | 'test-size' | 'seed'>;

export async function resolveSplits(args: DataArgs): Promise<TrainingData> {
  checkCounts(args);
  const data = await readTrainingData(args);
  if (args.test !== undefined && args['test-split'] !== undefined) {
    throw new KmfitError('INVALID_OPTION', 'Give either --test FILE or --test-split FRACTION, not both.');
  }
  let { train, test } = data;
  if (!train.y) {
    throw new KmfitError('INVALID_LABELS', `${train.source} has no labels to train on: name the label column with --label, or pass --labels FILE.`);
  }
  if (args.test !== undefined) {
    // A sparse (libsvm) test file is densified to the training width.
    const read = { label: columnOption(args.label), rows: args['test-size'], features: train.X.cols };
    test = (await readDataFile(args.test, read)).train;
  } else if (args['test-split'] !== undefined) {
    ({ train, test } = splitOff(train, args['test-split'], args.seed ?? FIT_OPTIONS.seed.default));
  }
  if (test && !test.y) throw new KmfitError('INVALID_LABELS', `${test.source} has no labels to score against: name the label column with --label.`);
  if (test && test.X.cols !== train.X.cols) {
    throw new KmfitError(
      'FEATURE_MISMATCH',
      `${test.source} has ${test.X.cols} features but ${train.source} has ${train.X.cols}; the test data needs the training data's columns, in the same order.`,
    );
  }
  return { ...data, train: firstRows(train, args['train-size']), test: test && firstRows(test, args['test-size']) };
}

export const shaped = (data: LabeledData) => ({ data: data.X.data, shape: [data.X.rows, data.X.cols] as [number, number] });

/** The arguments as a later `kmfit resume` needs them: files by absolute path. */
function resumableArgs(args: TrainArgs, modelPath: string): TrainArgs {
  const absolute = (file: string | undefined) => (file !== undefined && existsSync(file) ? path.resolve(file) : file);
  const { json: _json, quiet: _quiet, ...kept } = args;
  return { ...kept, data: absolute(args.data)!, labels: absolute(args.labels), test: absolute(args.test), save: modelPath };
}

/** Beside the model: digits.kmfit → digits.checkpoint. */
function defaultCheckpointPath(modelPath: string): string {
  const parsed = path.parse(modelPath);
  return path.join(parsed.dir, `${parsed.ext === '.kmfit' ? parsed.name : parsed.base}.checkpoint`);
}

/** Ctrl-C: the first stops training after the current iteration, a second one quits at once. */
function interruptOnSigint(onFirst: () => void): { signal: AbortSignal; remove: () => void } {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(INTERRUPTED);
    controller.abort();
    onFirst();
  };
  process.on('SIGINT', handler);
  return { signal: controller.signal, remove: () => process.off('SIGINT', handler) };
}

export async function train(args: TrainArgs, resuming?: Resuming): Promise<number> {
  const started = performance.now();
  const say = (text: string) => {
    if (!args.quiet && !args.json) process.stdout.write(text + '\n');
  };
  const data = await resolveSplits(args);
  const { train: trainSet, test } = data;
  say(
    `kmfit ${version} · ${data.name}: ${trainSet.X.rows} training` +
      `${test ? ` and ${test.X.rows} test` : ''} points, ${trainSet.X.cols} features`,
  );
  const progress = progressOnStderr(!args.quiet && !args.json);
  const warn = (text: string) => {
    if (!args.quiet) {
      progress.clear();
      process.stderr.write(`kmfit: warning: ${text}\n`);
    }
  };
  const modelPath = path.resolve(args.save ?? data.defaultSave);
  const checkpointPath = resuming?.from ?? path.resolve(args.checkpoint ?? defaultCheckpointPath(modelPath));
  const keepCheckpoint = resuming?.keep ?? (args.checkpoint !== undefined || args['checkpoint-every'] !== undefined);
  const context: CommandContext = { command: 'kmfit', args: resumableArgs(args, modelPath), keep: keepCheckpoint };
  let lastCheckpoint: string | undefined;
  if (resuming) say(resuming.note);
  const interrupt = interruptOnSigint(() => {
    progress.clear();
    say('interrupted: stopping after the current iteration (Ctrl-C again quits at once)');
  });
  const options: FitOptions = {
    ...fitOptionsOf(args),
    copyX: false, // the data read from the file is ours: no second copy of n·d floats
    validation: test && { X: shaped(test), y: test.y! },
    checkpoint: { path: checkpointPath, everyIterations: args['checkpoint-every'], context },
    resumeFrom: resuming?.from,
    signal: interrupt.signal,
    onPlan: (plan) => say('plan\n' + renderPlan(plan)),
    onEpoch: (report) => {
      progress.clear();
      say(renderEpoch(report, 'test'));
    },
    onIteration: (report) => progress.iteration(report),
    onDivergence: (report) => {
      // Once: later halvings are in the plan (kmfit info) and the closing line.
      if (report.halvings === 1) warn(renderDivergence(report));
    },
    onCheckpoint: (report) => {
      lastCheckpoint = report.path;
    },
  };
  let model: KernelModel;
  try {
    model = await fit(shaped(trainSet), trainSet.y!, options);
  } catch (error) {
    if (error instanceof KmfitError && error.code === 'ABORTED' && interrupt.signal.aborted) {
      say('interrupted before the first iteration: nothing to save.');
      return INTERRUPTED;
    }
    throw error;
  } finally {
    interrupt.remove();
    progress.clear();
  }
  const kept = model.history[model.keptEpoch - 1];
  const testResult = test && {
    mse: kept?.validationMse,
    ...(model.task === 'classification' ? { error: kept?.validationError } : { r2: await model.score(shaped(test), test.y!) }),
  };
  await model.save(modelPath);
  await model.dispose();
  const interrupted = model.stoppedBy === 'aborted';
  // A checkpoint nobody asked for served only while the run could be killed.
  if (!interrupted && !keepCheckpoint) await unlink(checkpointPath).catch(() => undefined);
  const totalSeconds = (performance.now() - started) / 1000;
  // maxRSS is in KiB: the process's peak resident memory, for the benchmarks' memory figure.
  const peakBytes = process.resourceUsage().maxRSS * 1024;
  if (args.json) {
    const history = model.history.map((h) => ({
      epoch: h.epoch,
      seconds: h.seconds,
      trainMse: h.trainMse,
      trainError: h.trainError,
      valMse: h.validationMse,
      valError: h.validationError,
    }));
    const result = {
      plan: model.plan,
      history,
      keptEpoch: model.keptEpoch,
      stoppedBy: model.stoppedBy,
      test: testResult,
      modelPath,
      ...(interrupted || keepCheckpoint ? { checkpointPath } : {}),
      totalSeconds,
      peakBytes,
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return interrupted ? INTERRUPTED : 0;
  }
  if (testResult) {
    const score = 'error' in testResult ? `test error ${percent(testResult.error)}` : `test R² ${formatNumber(testResult.r2)}`;
    say(`${score} · test mse ${testResult.mse === undefined ? '—' : formatNumber(testResult.mse)} (epoch ${model.keptEpoch}, ${model.stoppedBy})`);
  }
  const halvings = model.plan.stepSizeHalvings;
  if (halvings) say(renderHalvings(halvings));
  if (interrupted) {
    const where = lastCheckpoint ?? checkpointPath;
    const which = test && model.keptEpoch > 0 ? `the best model so far (epoch ${model.keptEpoch}, by test error)` : 'the model as it stood';
    say(`interrupted in epoch ${model.history.length + 1}: checkpoint saved to ${where}; ${which} saved to ${modelPath}.`);
    say(`Continue with: kmfit resume ${where}`);
    return INTERRUPTED;
  }
  say(`${totalSeconds.toFixed(1)} s in all · peak memory ${(peakBytes / 2 ** 30).toFixed(2)} GiB (resident) · model saved to ${modelPath}`);
  if (keepCheckpoint) say(`checkpoint at ${checkpointPath}`);
  return 0;
}
