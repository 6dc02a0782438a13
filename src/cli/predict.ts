/** `kmfit predict MODEL DATA`: labels or values for each row of DATA, and the score when DATA has labels. */
import { existsSync } from 'node:fs';
import { accuracy, r2Score, type Predictions } from '../data/labels.js';
import { KmfitError } from '../errors.js';
import { checkFolder, writeFileAtomic } from '../io/atomicWrite.js';
import { readDataFile, type LabeledData } from '../io/dataFile.js';
import { encodeNpy } from '../io/npy.js';
import { loadModel } from '../model/load.js';
import type { KernelModel } from '../model/model.js';
import { formatNumber, percent } from './render.js';
import { BUILTIN_DATASETS, columnOption } from './data.js';

export interface PredictArgs {
  model: string;
  data: string;
  label?: string;
  out?: string;
  json?: boolean;
}

/**
 * The rows to predict: a built-in dataset's test set, a file's test part (Keras .npz) or its rows.
 * Without --label, the file's last column is taken as labels when the rest matches the model's
 * features, and every column is a feature when they all do.
 */
async function readInput(args: PredictArgs, features: number): Promise<LabeledData> {
  const builtin = BUILTIN_DATASETS[args.data];
  if (builtin && !existsSync(args.data)) {
    const data = await builtin({});
    return { X: data.test.X, y: Float64Array.from(data.test.y), source: `${data.name} test set` };
  }
  // A sparse (libsvm) file is densified to the model's width.
  const read = async (label?: string | number) => {
    const file = await readDataFile(args.data, { label, features });
    return file.test ?? file.train;
  };
  if (args.label !== undefined) return read(columnOption(args.label));
  const withLabels = await read();
  const columns = withLabels.X.cols + (withLabels.y ? 1 : 0);
  if (withLabels.X.cols === features) return withLabels;
  if (withLabels.y && columns === features) return read('none');
  throw new KmfitError(
    'FEATURE_MISMATCH',
    `${args.data} has ${columns} columns, but the model ${args.model} takes ${features} features ` +
      `(and optionally a label column): pass data with the training features, in the same order.`,
  );
}

function predictionRows(predictions: Predictions): string[] {
  return Array.from(predictions as ArrayLike<unknown>, (p) => (Array.isArray(p) ? p.join(',') : String(p)));
}

function csvField(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * What --out must be, checked before the data is read and predicted: a .npy (numbers only) or .csv
 * file in a folder that exists.
 */
async function checkPredictionsFile(file: string, model: KernelModel): Promise<void> {
  if (!file.endsWith('.npy') && !file.endsWith('.csv')) {
    throw new KmfitError('INVALID_OPTION', `--out ${file}: the predictions file must end in .npy or .csv.`);
  }
  if (file.endsWith('.npy') && model.classes?.some((label) => typeof label === 'string')) {
    throw new KmfitError('INVALID_OPTION', `${file}: the model's labels are strings, which .npy cannot hold; use --out with a .csv file.`);
  }
  await checkFolder(file);
}

/** .npy or .csv (checkPredictionsFile), written atomically. */
async function writePredictions(file: string, predictions: Predictions, model: KernelModel): Promise<void> {
  if (file.endsWith('.npy')) {
    const rows = predictions.length;
    const cols = model.task === 'regression' && model.outputs > 1 ? model.outputs : 1;
    const data = Float64Array.from(cols > 1 ? (predictions as number[][]).flat() : (predictions as ArrayLike<number>));
    await writeFileAtomic(file, encodeNpy({ data, shape: cols > 1 ? [rows, cols] : [rows] }));
    return;
  }
  const header = model.task === 'regression' && model.outputs > 1 ? Array.from({ length: model.outputs }, (_, i) => `output${i}`).join(',') : 'prediction';
  const lines = predictionRows(predictions).map((row) => (model.task === 'classification' ? csvField(row) : row));
  await writeFileAtomic(file, new TextEncoder().encode([header, ...lines].join('\n') + '\n'));
}

export async function predict(args: PredictArgs): Promise<void> {
  const model = await loadModel(args.model);
  try {
    if (args.out) await checkPredictionsFile(args.out, model);
    const input = await readInput(args, model.features);
    const predictions = await model.predict({ data: input.X.data, shape: [input.X.rows, input.X.cols] });
    // A file holds one label column: a several-output regression model is not scored against it.
    const score =
      input.y === undefined || (model.task === 'regression' && model.outputs > 1)
        ? undefined
        : model.task === 'classification'
          ? { error: 1 - accuracy(input.y as ArrayLike<string | number>, predictions as ArrayLike<string | number>) }
          : { r2: r2Score(input.y as Float64Array, predictions as Float64Array | number[][]) };
    if (args.out) await writePredictions(args.out, predictions, model);
    if (args.json) {
      const values = predictions instanceof Float64Array ? Array.from(predictions) : predictions;
      process.stdout.write(JSON.stringify({ rows: input.X.rows, predictions: args.out ? undefined : values, out: args.out, score }) + '\n');
      return;
    }
    if (!args.out) process.stdout.write(predictionRows(predictions).join('\n') + '\n');
    const summary =
      `${input.X.rows} rows of ${input.source}` +
      (score ? ('error' in score ? ` · error ${percent(score.error)}` : ` · R² ${formatNumber(score.r2)}`) : '') +
      (args.out ? ` · predictions written to ${args.out}` : '');
    // With the predictions on stdout, the summary goes to stderr so that stdout stays data.
    (args.out ? process.stdout : process.stderr).write(summary + '\n');
  } finally {
    await model.dispose();
  }
}
