/**
 * The tables of the tabular benchmark (bench/tables.ts, docs/benchmarks.md), as .npy files with the
 * label in the last column, float32, written by `npm run datasets -- tables`:
 *   datasets/letter-train.npy   16 000 × 17  UCI Letter Recognition's first 16 000 rows (26 classes)
 *   datasets/letter-test.npy     4 000 × 17  its last 4 000
 *   datasets/diamonds-train.npy  4 000 × 10  datasets/diamonds.csv's training split (price, US dollars)
 *   datasets/diamonds-test.npy   1 000 × 10  its test split
 *   datasets/fashion-5k-train.npy 5 000 × 785 Fashion-MNIST's first 5 000 training images, pixels ÷255
 *   datasets/fashion-test.npy   10 000 × 785 its 10 000 test images
 * Letter and diamonds are standardized with their training split's mean and standard deviation (the
 * test split with the same figures), so that every program reads the same numbers.
 * Sources: datasets/letter.csv (Rscript datasets/letter.R, from Debian's r-cran-mlbench),
 * datasets/diamonds.csv (shipped), Debian's dataset-fashion-mnist.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KmfitError } from '../src/errors.js';
import { writeFileAtomic } from '../src/io/atomicWrite.js';
import { readDataFile } from '../src/io/dataFile.js';
import { encodeNpy } from '../src/io/npy.js';
import { rowSlice, type Matrix } from '../src/matrix.js';
import { loadDiamonds } from './diamonds.js';
import { loadFashionMnist } from './mnist.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Rows of Letter Recognition that train; the rest test (the split of the UCI description). */
export const LETTER_TRAIN_ROWS = 16_000;
/** Fashion-MNIST's training images in the subset. */
export const FASHION_TRAIN_ROWS = 5_000;

/** Each column's training mean and standard deviation (a constant column keeps a divisor of 1). */
function columnStatistics(X: Matrix): { mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(X.cols);
  const scale = new Float64Array(X.cols);
  for (let i = 0; i < X.rows; i++) for (let j = 0; j < X.cols; j++) mean[j] += X.data[i * X.cols + j];
  for (let j = 0; j < X.cols; j++) mean[j] /= X.rows;
  for (let i = 0; i < X.rows; i++) for (let j = 0; j < X.cols; j++) scale[j] += (X.data[i * X.cols + j] - mean[j]) ** 2;
  for (let j = 0; j < X.cols; j++) scale[j] = Math.sqrt(scale[j] / X.rows) || 1;
  return { mean, scale };
}

/** Rows of X, standardized by `by` if given, with y as one more column, as .npy bytes. */
function table(X: Matrix, y: ArrayLike<number>, by?: { mean: Float64Array; scale: Float64Array }): Uint8Array {
  const cols = X.cols + 1;
  const data = new Float32Array(X.rows * cols);
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < X.cols; j++) {
      const v = X.data[i * X.cols + j];
      data[i * cols + j] = by ? (v - by.mean[j]) / by.scale[j] : v;
    }
    data[i * cols + X.cols] = y[i];
  }
  return encodeNpy({ data, shape: [X.rows, cols] });
}

async function write(name: string, bytes: Uint8Array): Promise<string> {
  await writeFileAtomic(path.join(here, name), bytes);
  return path.join('datasets', name);
}

/** A train/test pair, standardized by the training split's statistics. */
async function writeStandardized(name: string, train: { X: Matrix; y: ArrayLike<number> }, test: { X: Matrix; y: ArrayLike<number> }): Promise<string[]> {
  const by = columnStatistics(train.X);
  return [await write(`${name}-train.npy`, table(train.X, train.y, by)), await write(`${name}-test.npy`, table(test.X, test.y, by))];
}

export async function writeTables(): Promise<string[]> {
  const letterCsv = path.join(here, 'letter.csv');
  if (!existsSync(letterCsv)) {
    throw new KmfitError('DATASET_UNAVAILABLE', 'datasets/letter.csv is missing: run `apt-get install r-cran-mlbench && Rscript datasets/letter.R` first.');
  }
  const letter = (await readDataFile(letterCsv, { label: 'lettr' })).train;
  const n = letter.X.rows;
  const labels = letter.y as Float64Array; // the letters' indices: numbers
  const written = await writeStandardized(
    'letter',
    { X: rowSlice(letter.X, 0, LETTER_TRAIN_ROWS), y: labels.subarray(0, LETTER_TRAIN_ROWS) },
    { X: rowSlice(letter.X, LETTER_TRAIN_ROWS, n), y: labels.subarray(LETTER_TRAIN_ROWS, n) },
  );
  const diamonds = await loadDiamonds();
  written.push(...(await writeStandardized('diamonds', diamonds.train, diamonds.test)));
  const fashion = await loadFashionMnist({ trainSize: FASHION_TRAIN_ROWS });
  written.push(await write('fashion-5k-train.npy', table(fashion.train.X, fashion.train.y)));
  written.push(await write('fashion-test.npy', table(fashion.test.X, fashion.test.y)));
  return written;
}
