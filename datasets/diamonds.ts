import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeValue, KmfitError } from '../src/errors.js';
import { readDataFile } from '../src/io/dataFile.js';
import { rowSlice, type Matrix } from '../src/matrix.js';
import { ownLocation } from '../src/location.js';
import { checkOptions, type OptionRule } from '../src/options.js';

/** A regression data set: features, a real-valued target, and what each column is. */
export interface RegressionDataset {
  readonly name: string;
  readonly train: { readonly X: Matrix; readonly y: Float64Array };
  readonly test: { readonly X: Matrix; readonly y: Float64Array };
  /** The name of each feature column, in order. */
  readonly featureNames: readonly string[];
  /** What y is. */
  readonly target: string;
  readonly license: string;
}

export const DIAMONDS_LICENSE =
  'diamonds data from the R package ggplot2 (© 2020 ggplot2 authors, MIT licence); ' +
  'a 5 000-row sample written by datasets/diamonds.R.';
export const DIAMONDS_FEATURES: readonly string[] = ['carat', 'cut', 'color', 'clarity', 'depth', 'table', 'x', 'y', 'z'];
/** Rows of datasets/diamonds.csv: the first DIAMONDS_TRAIN are the training split, the rest the test split. */
const DIAMONDS_ROWS = 5000;
const DIAMONDS_TRAIN = 4000;

/**
 * Diamonds (ggplot2): price in US dollars from 9 features — carat, cut (1 Fair … 5 Ideal), color
 * (1 D … 7 J), clarity (1 I1 … 8 IF), depth %, table %, and the x, y, z sizes in mm. kmfit ships a
 * seeded random sample of 5 000 of the 53 940 diamonds (datasets/diamonds.csv): 4 000 for training,
 * 1 000 for testing. Features are not scaled; fit with `scale: 'standard'`.
 *
 * @param options.trainSize the first k training rows (1 ≤ k ≤ 4 000)
 * @param options.testSize the first k test rows (1 ≤ k ≤ 1 000)
 * @throws KmfitError INVALID_OPTION for a bad size, UNKNOWN_OPTION for another option; DATASET_UNAVAILABLE if the CSV is missing.
 */
export async function loadDiamonds(options: { trainSize?: number; testSize?: number } = {}): Promise<RegressionDataset> {
  checkOptions(options, DIAMONDS_OPTIONS, 'loadDiamonds()');
  const trainSize = size(options.trainSize, DIAMONDS_TRAIN, 'trainSize');
  const testSize = size(options.testSize, DIAMONDS_ROWS - DIAMONDS_TRAIN, 'testSize');
  const { train } = await readDataFile(diamondsFile(), { label: 'price' });
  const y = train.y as Float64Array;
  return {
    name: 'diamonds',
    train: { X: rowSlice(train.X, 0, trainSize), y: y.slice(0, trainSize) },
    test: { X: rowSlice(train.X, DIAMONDS_TRAIN, DIAMONDS_TRAIN + testSize), y: y.slice(DIAMONDS_TRAIN, DIAMONDS_TRAIN + testSize) },
    featureNames: DIAMONDS_FEATURES,
    target: 'price (US dollars)',
    license: DIAMONDS_LICENSE,
  };
}

/** loadDiamonds' options (their values are checked by size()): any other name is refused, not ignored. */
const DIAMONDS_OPTIONS: Record<string, OptionRule> = { trainSize: { check: { kind: 'any' }, hint: '' }, testSize: { check: { kind: 'any' }, hint: '' } };

function size(value: number | undefined, available: number, name: string): number {
  if (value === undefined) return available;
  if (!Number.isInteger(value) || value < 1 || value > available) {
    throw new KmfitError('INVALID_OPTION', `${name} is ${describeValue(value)}; give an integer from 1 to ${available}.`);
  }
  return value;
}

/**
 * datasets/diamonds.csv in kmfit's own package folder. This module runs from datasets/ (tsx), from
 * dist/ (the bundles) or from node_modules/kmfit/dist/, so the folder is found by walking up to
 * the package.json named kmfit rather than by a fixed relative path.
 */
function diamondsFile(): string {
  const own = ownLocation();
  let dir = own === undefined ? process.cwd() : path.dirname(own.startsWith('file:') ? fileURLToPath(own) : own);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'kmfit') {
      const file = path.join(dir, 'datasets', 'diamonds.csv');
      if (existsSync(file)) return file;
      break;
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new KmfitError('DATASET_UNAVAILABLE', 'datasets/diamonds.csv is missing from the kmfit package; reinstall kmfit.');
}
