/**
 * The data of a training command (`kmfit <data>`, `kmfit scaling`) and of predict: a file or a
 * built-in dataset, its labels, the test file or a seeded test split, and the row limits.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { loadFashionMnist, loadMnist, type Dataset } from '../../datasets/mnist.js';
import { KmfitError, describeValue } from '../errors.js';
import { spellsNumber } from '../data/labels.js';
import { firstRows, readDataFile, type DataFile, type LabeledData } from '../io/dataFile.js';
import { isNpy, npyDataOffset, parseNpyHeader, type NpyHeader } from '../io/npy.js';
import { openNpy, type OpenedNpy } from '../io/npyFile.js';
import { takeRows } from '../matrix.js';
import { FIT_OPTIONS, closestName } from '../options.js';
import { SeededRandom } from '../solver/random.js';
import { COMMAND_NAMES } from './usage.js';

export const BUILTIN_DATASETS: Readonly<Record<string, (o: { trainSize?: number; testSize?: number }) => Promise<Dataset>>> = {
  mnist: loadMnist,
  'fashion-mnist': loadFashionMnist,
};

/** Training data left in its .npy file, its rows read batch by batch (a model with --centers). */
export interface FileData {
  /** The feature columns of the file. */
  readonly file: OpenedNpy;
  readonly y: Float64Array;
  readonly source: string;
}

export interface TrainingData {
  readonly name: string;
  readonly train: LabeledData | FileData;
  readonly test?: LabeledData;
  /** Where the model goes unless --save says otherwise. */
  readonly defaultSave: string;
  /** Why data that could have stayed on disk (onDisk) was read into memory, for the user. */
  readonly inMemoryBecause?: string;
  /** What looks wrong with the training file's labels, though they can be trained on (mixedLabels). */
  readonly labelsWarning?: string;
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

/**
 * A .npy file with its labels in the last column, for a model with centers: opened, not loaded
 * (a seeded split or a row limit needs the rows in memory, and reads them).
 */
/**
 * The training file left on disk: a .npy whose label is its first or last column (the features
 * then one run of columns), its first --train-size rows. Otherwise why it cannot be, for a note.
 */
function openOnDisk(args: DataArgs): FileData | { readonly because: string } | undefined {
  if (!args.onDisk || !existsSync(args.data)) return undefined;
  const header = npyHeaderOf(args.data);
  if (!header) return { because: 'only .npy files are read batch by batch' };
  // Fortran order is C order when a dimension is 1; otherwise a row is spread over the whole file.
  if (header.fortranOrder && header.shape.length === 2 && header.shape.every((n) => n > 1)) {
    return { because: 'it is stored in Fortran (column-major) order, whose rows cannot be read one by one; save it in C order (numpy.ascontiguousarray) to read it batch by batch' };
  }
  if (args.labels !== undefined) return { because: 'with --labels FILE the features are read with their labels; put the label in the .npy file’s last column' };
  if (args['test-split'] !== undefined) return { because: '--test-split draws its test rows from the whole file; give --test FILE instead' };
  const opened = openNpy(args.data);
  const label = columnOption(args.label) ?? opened.cols - 1;
  if (typeof label === 'string') {
    opened.close();
    return undefined; // the in-memory reader says that a .npy file has no column names
  }
  if (label !== 0 && label !== opened.cols - 1) {
    opened.close();
    return { because: `--label ${args.label} is neither the first nor the last column` };
  }
  const rows = Math.min(args['train-size'] ?? opened.rows, opened.rows);
  const all = opened.firstRows(rows);
  const labels = all.columns(label, label + 1);
  const features = label === 0 ? all.columns(1, all.cols) : all.columns(0, all.cols - 1);
  return { file: features, y: labels.readColumnFloat64(), source: `${path.basename(args.data)} (read from disk batch by batch)` };
}

async function readTrainingData(args: DataArgs): Promise<TrainingData> {
  const onDisk = openOnDisk(args);
  if (onDisk && 'file' in onDisk) {
    const parsed = path.parse(path.resolve(args.data));
    const test = args.test === undefined ? undefined : (await readDataFile(args.test, { label: columnOption(args.label), rows: args['test-size'] })).train;
    return { name: parsed.base, train: onDisk, test, defaultSave: path.join(parsed.dir, `${parsed.name}.kmfit`) };
  }
  const inMemoryBecause = onDisk?.because;
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
  return { name: parsed.base, train: file.train, test: file.test, defaultSave: path.join(parsed.dir, `${parsed.name}.kmfit`), inMemoryBecause };
}

function pickLabels(y: LabeledData['y'], rows: Int32Array): LabeledData['y'] {
  if (y === undefined) return undefined;
  return y instanceof Float64Array ? Float64Array.from(rows, (i) => y[i]) : Array.from(rows, (i) => y[i]);
}

function pickRows(data: LabeledData, rows: Int32Array, source: string): LabeledData {
  return { ...data, X: takeRows(data.X, rows), y: pickLabels(data.y, rows), source };
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
export interface DataArgs {
  data: string;
  labels?: string;
  label?: string;
  test?: string;
  'test-split'?: number;
  'train-size'?: number;
  'test-size'?: number;
  seed?: number;
  /** A .npy file may stay on disk (the model has centers apart from the data). */
  onDisk?: boolean;
}

/** Rows and features of training data, in memory or on disk. */
export function sizeOf(data: LabeledData | FileData): { rows: number; cols: number } {
  return 'file' in data ? { rows: data.file.rows, cols: data.file.cols } : { rows: data.X.rows, cols: data.X.cols };
}

/** What fit() takes: the opened file, or the matrix. */
export function fitInput(data: LabeledData | FileData) {
  return 'file' in data ? data.file : shaped(data);
}

export async function resolveSplits(args: DataArgs & { onDisk?: false }): Promise<TrainingData & { readonly train: LabeledData }>;
export async function resolveSplits(args: DataArgs): Promise<TrainingData>;
export async function resolveSplits(args: DataArgs): Promise<TrainingData> {
  checkCounts(args);
  const data = await readTrainingData(args);
  if (args.test !== undefined && args['test-split'] !== undefined) {
    throw new KmfitError('INVALID_OPTION', 'Give either --test FILE or --test-split FRACTION, not both.');
  }
  if ('file' in data.train) {
    const size = sizeOf(data.train);
    if (data.test && data.test.X.cols !== size.cols) {
      throw new KmfitError('FEATURE_MISMATCH', `${data.test.source} has ${data.test.X.cols} features but ${data.train.source} has ${size.cols}; the test data needs the training data's columns, in the same order.`);
    }
    checkTestSize(args, data.test);
    return { ...data, test: data.test && firstRows(data.test, args['test-size']) };
  }
  let { train } = data;
  let { test } = data;
  if (!train.y) {
    throw new KmfitError('INVALID_LABELS', `${train.source} has no labels to train on: name the label column with --label, or pass --labels FILE.`);
  }
  // Of the whole file, before a split: its own row numbers, whichever part the rows go to.
  const labelsWarning = Array.isArray(train.y) ? mixedLabels(train.y, train.source, train.labelName) : undefined;
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
  checkTestSize(args, test);
  return { ...data, train: firstRows(train, args['train-size']), test: test && firstRows(test, args['test-size']), ...(labelsWarning ? { labelsWarning } : {}) };
}

/**
 * Where a file's labels mix numbers and text: all are then read as text, each distinct one a class
 * ("0", "1", "cat"): most often one row's mistake, which would otherwise train as a class of its own.
 */
function mixedLabels(y: readonly string[], source: string, labelName: string | undefined): string | undefined {
  const text = y.filter((label) => !spellsNumber(label)).length;
  if (text === 0 || text === y.length) return undefined;
  const row = y.findIndex((label) => !spellsNumber(label));
  return (
    `the labels${labelName ? ` (${labelName})` : ''} of ${source} mix numbers and text: ${text} of ${y.length} ${text === 1 ? 'is' : 'are'} text, ` +
    `the first ${describeValue(y[row])} at row ${row} (0-based), so every label is read as text and each distinct one is a class; fix or drop ${text === 1 ? 'that row' : 'those rows'} if ${text === 1 ? 'it is a mistake' : 'they are mistakes'}`
  );
}

/** --test-size limits test data: without any it would be ignored, so it is refused. */
function checkTestSize(args: DataArgs, test: LabeledData | undefined): void {
  if (args['test-size'] !== undefined && !test) {
    throw new KmfitError('INVALID_OPTION', '--test-size uses the first N test points, and this run has no test data: give --test FILE or --test-split FRACTION, or leave --test-size out.');
  }
}

/** A .npy file's header; undefined when the file does not start with the .npy magic. */
function npyHeaderOf(file: string): NpyHeader | undefined {
  const fd = openSync(file, 'r');
  try {
    const preamble = new Uint8Array(12);
    const got = readSync(fd, preamble, 0, preamble.length, 0);
    if (got < 8 || !isNpy(preamble)) return undefined;
    // npyDataOffset caps the header's length: a lying length field cannot size this read.
    const head = new Uint8Array(npyDataOffset(preamble.subarray(0, got)) ?? got);
    return parseNpyHeader(head.subarray(0, readSync(fd, head, 0, head.length, 0)), path.basename(file));
  } finally {
    closeSync(fd);
  }
}

export const shaped = (data: LabeledData) => ({ data: data.X.data, shape: [data.X.rows, data.X.cols] as [number, number] });
