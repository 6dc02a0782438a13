import { KmfitError, describeValue } from '../errors.js';
import type { Matrix } from '../matrix.js';
import {
  checkShapeAgreesWithRowsCols,
  isArrayLikeObject,
  isGenericStorage,
  isNdArrayLike,
  isShapedInput,
  isRowsColsInput,
  firstNonFinite,
  toMatrix,
  type GenericStorage,
  type MatrixInput,
} from './input.js';

export type Task = 'classification' | 'regression';

/** One class label: classes are numbers or strings, never both in one model. */
export type ClassLabel = number | string;

/**
 * What users may pass as y: one label or target per row (a plain array of numbers or of strings,
 * a typed array, `{ data, shape: [n] }`, a 1-D ndarray), or an n×l matrix of regression targets
 * (number[][], `{ data, shape: [n, l] }`, `{ data, rows, cols }`, a 2-D ndarray).
 */
export type LabelInput = ReadonlyArray<ClassLabel> | ArrayLike<number> | MatrixInput;

/** What messages call the labels and the features whose rows they label: { X: 'validation.X', y: 'validation.y' }. */
export interface LabelNames {
  readonly X: string;
  readonly y: string;
}

export interface Targets {
  readonly task: Task;
  /**
   * n×l float32. Classification: one-hot rows (1 in the column of the row's class, 0 elsewhere;
   * l = number of classes, also for two classes). Regression: the target values (l outputs).
   */
  readonly values: Matrix;
  /** Classification only: the distinct labels, sorted (numbers ascending, strings by code point). */
  readonly classes?: readonly ClassLabel[];
}

/**
 * Validates y against X's row count and encodes it for the solver.
 *
 * Task inference (when `task` is undefined):
 * - strings → classification;
 * - numbers that are all integers (plain arrays or any typed array, float ones included) →
 *   classification — pass `task: 'regression'` to fit integer-valued targets such as counts;
 *   integers that look like a quantity rather than classes (looksLikeQuantity: a price per row)
 *   → INVALID_LABELS, which asks for the task;
 * - numbers with at least one non-integer → regression;
 * - an n×l matrix (number[][], `{ data, shape: [n, l] }`, 2-D ndarray) → regression with l
 *   outputs (l = 1 is single-output regression).
 * `task` forces either: 'classification' with non-integer numbers, with strings mixed in, or with
 * an n×l matrix of l > 1 → INVALID_LABELS ('classification' with an n×1 matrix uses its column as
 * the labels); 'regression' with strings → INVALID_LABELS.
 *
 * Errors: EMPTY_DATA (no labels), LENGTH_MISMATCH (length ≠ n), NON_FINITE (NaN/±Inf label,
 * with its index; also regression targets beyond float32's range), INVALID_LABELS (mixed strings
 * and numbers, other value types, task conflicts), SINGLE_CLASS (classification with one distinct
 * label), INVALID_SHAPE (y of rank > 2 or malformed).
 */
export function encodeTargets(y: LabelInput, n: number, task: Task | undefined, names: LabelNames): Targets {
  const what = names.y;
  if (task !== undefined && task !== 'classification' && task !== 'regression') {
    throw new KmfitError(
      'INVALID_OPTION',
      `task is ${describeValue(task)}; use 'classification', 'regression', or leave it out to infer it from ${what}.`,
    );
  }
  const parsed = parseLabelInput(y, what);
  if (parsed.kind === 'matrix') {
    const m = parsed.matrix;
    checkLength(m.rows, n, names, 'rows');
    if (task === 'classification') {
      if (m.cols !== 1) {
        throw new KmfitError(
          'INVALID_LABELS',
          `${what} is a ${m.rows}×${m.cols} matrix, but task is 'classification', which needs one label per row; ` +
            `pass a 1-D array of labels, or use task 'regression' for ${m.cols} outputs.`,
        );
      }
      const column = parsed.column();
      scanClassValues(column, what);
      return encodeClassification(column, what);
    }
    return { task: 'regression', values: m };
  }

  const values = parsed.values;
  if (values.length === 0) {
    throw new KmfitError('EMPTY_DATA', `${what} is empty (0 labels); pass one label per row of ${names.X} (${n} rows).`);
  }
  checkLength(values.length, n, names, 'labels');
  const scan = scanValues(values, what);

  let chosen: Task;
  if (scan.firstString >= 0) {
    if (task === 'regression') {
      throw new KmfitError(
        'INVALID_LABELS',
        `${what}[${scan.firstString}] is ${describeValue(values[scan.firstString])}, a string, but task is 'regression', ` +
          `which needs numeric targets; convert the targets to numbers, or use task 'classification'.`,
      );
    }
    chosen = 'classification';
  } else if (task !== undefined) {
    chosen = task;
  } else {
    chosen = scan.firstNonInteger >= 0 ? 'regression' : 'classification';
  }

  if (chosen === 'regression') return { task: 'regression', values: regressionColumn(values, what) };
  if (scan.firstNonInteger >= 0) throw nonIntegerClass(values, scan.firstNonInteger, what);
  const targets = encodeClassification(values, what);
  const l = targets.classes!.length;
  if (task === undefined && scan.firstString < 0 && looksLikeQuantity(l, values.length)) {
    throw new KmfitError(
      'INVALID_LABELS',
      `${what} holds ${l} distinct integers among ${values.length} labels (${(values.length / l).toFixed(1)} of each on average): ` +
        `a quantity (a price, a count) more likely than ${l} classes. Say which: task 'regression' to fit them as numbers ` +
        `(kmfit: --task regression), or task 'classification' to train ${l} classes.`,
    );
  }
  return targets;
}

/**
 * Integer labels that would be classes of a row or two each: more than 10 classes with fewer than
 * 5 rows each on average (datasets/diamonds.csv's prices: 3 235 distinct among 5 000 rows;
 * MNIST: 10 classes). Trained as classes they take l outputs, most of them with one example;
 * inferring regression instead would be a guess, so the task is asked for.
 */
function looksLikeQuantity(classes: number, rows: number): boolean {
  return classes > 10 && rows < 5 * classes;
}

/** Sorts labels: numbers ascending, strings by Unicode code point. */
export function sortClasses(labels: Iterable<ClassLabel>): ClassLabel[] {
  const out = Array.from(labels);
  out.sort((a, b) => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
    return typeof a === 'number' ? -1 : 1;
  });
  return out;
}

/** Compares strings by Unicode code point (not UTF-16 code unit, which `<` uses). */
export function compareCodePoints(a: string, b: string): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) {
    const ua = a.charCodeAt(i);
    const ub = b.charCodeAt(i);
    if (ua !== ub) return (a.codePointAt(i) ?? ua) - (b.codePointAt(i) ?? ub);
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * What `decodeScores` returns:
 * - classification: `ClassLabel[]`, one label per row, each an element of `classes` (numbers if the
 *   model was trained on numbers, strings if on strings);
 * - regression with one output: a `Float64Array` of n values;
 * - regression with l > 1 outputs: `number[][]`, n rows of l values (the same layout as a
 *   number[][] y).
 */
export type Predictions = ClassLabel[] | Float64Array | number[][];

/**
 * Turns n×l scores from the solver into predictions; see `Predictions` for the forms. For
 * classification the predicted class is the column with the largest score (ties → the lowest
 * column, i.e. the smallest class; NaN scores never win, and a row of only NaN gives classes[0]).
 */
export function decodeScores(
  scores: Matrix,
  target: { readonly task: Task; readonly classes?: readonly ClassLabel[] },
): Predictions {
  if (target.task === 'classification') {
    if (!target.classes) {
      throw new Error('decodeScores: a classification target needs its classes.');
    }
    return decodeLabels(scores, target.classes);
  }
  return decodeRegression(scores);
}

/** The index of the largest score in each row (ties → lowest index; NaN never wins). */
export function argmaxRows(scores: Matrix): Int32Array {
  const { data, rows, cols } = scores;
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    let best = 0;
    let bestValue = -Infinity;
    for (let j = 0; j < cols; j++) {
      const v = data[base + j];
      if (v > bestValue) {
        bestValue = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

/** argmax of each row, mapped to `classes`. */
export function decodeLabels(scores: Matrix, classes: readonly ClassLabel[]): ClassLabel[] {
  if (classes.length !== scores.cols) {
    throw new KmfitError(
      'INVALID_SHAPE',
      `scores have ${scores.cols} columns but the model has ${classes.length} classes; they must match (one column per class).`,
    );
  }
  const idx = argmaxRows(scores);
  const out: ClassLabel[] = new Array(scores.rows);
  for (let i = 0; i < idx.length; i++) out[i] = classes[idx[i]];
  return out;
}

/** Regression predictions: Float64Array for one output, number[][] (n rows of l) for several. */
export function decodeRegression(scores: Matrix): Float64Array | number[][] {
  const { data, rows, cols } = scores;
  if (cols === 1) return Float64Array.from(data);
  const out: number[][] = new Array(rows);
  for (let i = 0; i < rows; i++) out[i] = Array.from(data.subarray(i * cols, (i + 1) * cols));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scoring at prediction time

export type ScoreTargets =
  | {
      readonly task: 'classification';
      /** Index into the model's classes per row; -1 for a label the model never saw. */
      readonly classIndex: Int32Array;
      /** How many rows have a label the model never saw. */
      readonly unseen: number;
      /** The first of them: its row and label. */
      readonly firstUnseen?: { readonly row: number; readonly label: ClassLabel };
    }
  | { readonly task: 'regression'; readonly values: Matrix };

/**
 * Validates y for `score(X, y)` against a trained model.
 *
 * Classification: each label is looked up in `model.classes`; a label the model never saw
 * (including a non-integer number) gets index -1, which never equals a predicted class, so it
 * counts as an error in `accuracy` rather than throwing. Labels of the other type than the model's
 * classes (strings for a model trained on numbers or the reverse) → INVALID_LABELS, since then
 * every row would be wrong and the cause is almost surely a mix-up.
 * Regression: y must be numeric with `model.outputs` columns (1-D is fine for one output);
 * otherwise INVALID_LABELS / INVALID_SHAPE.
 * Also EMPTY_DATA, LENGTH_MISMATCH and NON_FINITE as in `encodeTargets`.
 */
export function encodeScoreTargets(
  y: LabelInput,
  n: number,
  model: { readonly task: Task; readonly classes?: readonly ClassLabel[]; readonly outputs: number },
  names: LabelNames,
): ScoreTargets {
  const what = names.y;
  const parsed = parseLabelInput(y, what);
  if (model.task === 'regression') {
    let values: Matrix;
    if (parsed.kind === 'matrix') {
      checkLength(parsed.matrix.rows, n, names, 'rows');
      values = parsed.matrix;
    } else {
      if (parsed.values.length === 0) {
        throw new KmfitError('EMPTY_DATA', `${what} is empty (0 targets); pass one target per row of ${names.X} (${n} rows).`);
      }
      checkLength(parsed.values.length, n, names, 'targets');
      const scan = scanValues(parsed.values, what);
      if (scan.firstString >= 0) {
        throw new KmfitError(
          'INVALID_LABELS',
          `${what}[${scan.firstString}] is ${describeValue(parsed.values[scan.firstString])}, a string, but the model ` +
            `is a regression model and needs numeric targets; convert them to numbers.`,
        );
      }
      values = regressionColumn(parsed.values, what);
    }
    if (values.cols !== model.outputs) {
      throw new KmfitError(
        'INVALID_SHAPE',
        `${what} has ${values.cols} target column${values.cols === 1 ? '' : 's'}, but the model predicts ` +
          `${model.outputs} output${model.outputs === 1 ? '' : 's'} per row; pass y with ${model.outputs} columns.`,
      );
    }
    return { task: 'regression', values };
  }

  const classes = model.classes;
  if (!classes || classes.length === 0) {
    throw new Error('encodeScoreTargets: a classification model needs its classes.');
  }
  let values: ArrayLike<unknown>;
  if (parsed.kind === 'matrix') {
    checkLength(parsed.matrix.rows, n, names, 'rows');
    if (parsed.matrix.cols !== 1) {
      throw new KmfitError(
        'INVALID_LABELS',
        `${what} is a ${parsed.matrix.rows}×${parsed.matrix.cols} matrix, but the model is a classifier and needs ` +
          `one label per row; pass a 1-D array of labels.`,
      );
    }
    values = parsed.column();
  } else {
    values = parsed.values;
    if (values.length === 0) {
      throw new KmfitError('EMPTY_DATA', `${what} is empty (0 labels); pass one label per row of ${names.X} (${n} rows).`);
    }
    checkLength(values.length, n, names, 'labels');
  }
  const scan = scanValues(values, what);
  const modelHasStrings = typeof classes[0] === 'string';
  // Against numeric classes, the first string that is no number's spelling where there is one: the
  // value that made a file's label column text (a CSV reader reads a column with one as strings).
  const wrongIndex = modelHasStrings ? scan.firstNumber : scan.firstString >= 0 ? firstNotNumeric(values, scan.firstString) : -1;
  if (wrongIndex >= 0) {
    throw new KmfitError(
      'INVALID_LABELS',
      `${what}[${wrongIndex}] is ${describeValue(values[wrongIndex])}, but the model's classes are ` +
        `${modelHasStrings ? 'strings' : 'numbers'} (${previewClasses(classes)}); pass labels of the same type as in training.`,
    );
  }
  const lookup = new Map<ClassLabel, number>();
  classes.forEach((c, k) => lookup.set(c, k));
  const classIndex = new Int32Array(values.length);
  let unseen = 0;
  let firstUnseen: { row: number; label: ClassLabel } | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const k = typeof v === 'number' || typeof v === 'string' ? lookup.get(v) : undefined;
    if (k === undefined) {
      classIndex[i] = -1;
      unseen++;
      firstUnseen ??= { row: i, label: typeof v === 'number' && Number.isFinite(v) ? v : String(v) };
    } else {
      classIndex[i] = k;
    }
  }
  return { task: 'classification', classIndex, unseen, ...(firstUnseen ? { firstUnseen } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Metrics (float64 accumulation)

/**
 * Fraction of positions where `truth[i] === predicted[i]` (SameValueZero; works on labels or on
 * class indices such as `ScoreTargets.classIndex` against `argmaxRows`).
 */
export function accuracy(truth: ArrayLike<ClassLabel>, predicted: ArrayLike<ClassLabel>): number {
  if (truth.length !== predicted.length) {
    throw new KmfitError(
      'LENGTH_MISMATCH',
      `accuracy: truth has ${truth.length} labels, predictions have ${predicted.length}; pass one prediction per label.`,
    );
  }
  if (truth.length === 0) throw new KmfitError('EMPTY_DATA', 'accuracy: no labels to compare; pass at least one.');
  let hits = 0;
  for (let i = 0; i < truth.length; i++) {
    const a = truth[i];
    const b = predicted[i];
    if (a === b || (a !== a && b !== b)) hits++;
  }
  return hits / truth.length;
}

/**
 * Regression values for metrics: a Matrix (n×l), a 1-D array of n values (l = 1), or rows
 * (number[][], n×l).
 */
export type RegressionValues = Matrix | ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;

/**
 * Coefficient of determination R² = 1 − SS_res/SS_tot per output, averaged uniformly over
 * outputs (scikit-learn's default 'uniform_average'). An output whose truth is constant
 * (SS_tot = 0) scores 1 if predicted exactly and 0 otherwise (as scikit-learn's force_finite).
 */
export function r2Score(truth: RegressionValues, predicted: RegressionValues): number {
  const [t, p] = pairForMetric(truth, predicted, 'r2Score');
  const { rows, cols } = t;
  const mean = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j] += t.at(i, j);
  for (let j = 0; j < cols; j++) mean[j] /= rows;
  const ssRes = new Float64Array(cols);
  const ssTot = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const y = t.at(i, j);
      const r = y - p.at(i, j);
      const c = y - mean[j];
      ssRes[j] += r * r;
      ssTot[j] += c * c;
    }
  }
  let total = 0;
  for (let j = 0; j < cols; j++) {
    total += ssTot[j] === 0 ? (ssRes[j] === 0 ? 1 : 0) : 1 - ssRes[j] / ssTot[j];
  }
  return total / cols;
}

/** Mean of (truth − predicted)² over all n×l entries (= the uniform average over outputs). */
export function meanSquaredError(truth: RegressionValues, predicted: RegressionValues): number {
  const [t, p] = pairForMetric(truth, predicted, 'meanSquaredError');
  let sum = 0;
  for (let i = 0; i < t.rows; i++) {
    for (let j = 0; j < t.cols; j++) {
      const r = t.at(i, j) - p.at(i, j);
      sum += r * r;
    }
  }
  return sum / (t.rows * t.cols);
}

// ---------------------------------------------------------------------------------------------
// Internals

type ParsedLabels =
  | { kind: 'vector'; values: ArrayLike<unknown> }
  | { kind: 'matrix'; matrix: Matrix; column: () => ArrayLike<unknown> };

/** Splits y into a 1-D vector of raw values, or a validated 2-D matrix. */
function parseLabelInput(y: LabelInput, what: string): ParsedLabels {
  if (y === null || typeof y !== 'object') {
    throw new KmfitError(
      'INVALID_LABELS',
      `${what} is ${describeValue(y)}; pass one label per row (an array of numbers or strings, or a typed array), ` +
        `or an n×l matrix of regression targets.`,
    );
  }
  checkShapeAgreesWithRowsCols(y, what);
  if (isNdArrayLike(y)) {
    if (y.shape.length === 1) {
      const [len] = y.shape;
      const [stride] = y.stride;
      const out = new Float64Array(len);
      const data = y.data;
      const lo = y.offset + Math.min(0, (len - 1) * stride);
      const hi = y.offset + Math.max(0, (len - 1) * stride);
      if (len > 0 && (lo < 0 || hi >= data.length)) {
        throw new KmfitError(
          'INVALID_SHAPE',
          `${what} is a 1-D ndarray whose shape, stride and offset reach outside its data; build it with ndarray(data).`,
        );
      }
      for (let i = 0; i < len; i++) out[i] = readIndex(data, y.offset + i * stride);
      return { kind: 'vector', values: out };
    }
    if (y.shape.length === 2) return matrixOf(y, what);
    throw rankError(what, y.shape);
  }
  if (isShapedInput(y)) {
    if (y.shape.length === 1) {
      if (y.shape[0] !== y.data.length) {
        throw new KmfitError(
          'INVALID_SHAPE',
          `${what} has shape [${y.shape[0]}] but its data has ${y.data.length} values; they must match.`,
        );
      }
      return { kind: 'vector', values: y.data };
    }
    if (y.shape.length === 2) return matrixOf(y, what);
    throw rankError(what, y.shape);
  }
  // kmfit's own matrix form, as X takes it (and as the dataset loaders give matrices): n×l.
  if (isRowsColsInput(y)) return matrixOf(y, what);
  if (isRowArray(y)) return matrixOf(y, what);
  if (isArrayLikeObject(y)) return { kind: 'vector', values: y };
  throw new KmfitError(
    'INVALID_LABELS',
    `${what} is ${describeValue(y)}; pass one label per row (an array of numbers or strings, or a typed array), ` +
      `or an n×l matrix of regression targets.`,
  );
}

/** An array whose first element is itself an array: rows of a matrix (toMatrix checks the rest). */
function isRowArray(y: unknown): y is ReadonlyArray<ArrayLike<number>> {
  return Array.isArray(y) && y.length > 0 && isArrayLikeObject(y[0]);
}

function readIndex(data: ArrayLike<number> | GenericStorage, idx: number): number {
  return isGenericStorage(data) ? data.get(idx) : data[idx];
}

function rankError(what: string, shape: readonly number[]): KmfitError {
  return new KmfitError(
    'INVALID_SHAPE',
    `${what} has shape [${shape.join(', ')}]; y must be 1-D (one label per row) or 2-D (n×l regression targets).`,
  );
}

/** A 2-D y: the float32 matrix, and a way to read its single column with the original values. */
function matrixOf(y: MatrixInput, what: string): ParsedLabels {
  const matrix = toMatrix(y, what);
  const column = (): ArrayLike<unknown> => {
    const out: unknown[] = new Array(matrix.rows);
    if (isNdArrayLike(y)) {
      for (let i = 0; i < matrix.rows; i++) out[i] = readIndex(y.data, y.offset + i * y.stride[0]);
    } else if (isShapedInput(y) || isRowsColsInput(y)) {
      for (let i = 0; i < matrix.rows; i++) out[i] = y.data[i * matrix.cols];
    } else if (isArrayLikeObject(y)) {
      for (let i = 0; i < matrix.rows; i++) {
        const row = y[i];
        out[i] = isArrayLikeObject(row) ? row[0] : undefined;
      }
    }
    return out;
  };
  return { kind: 'matrix', matrix, column };
}

function checkLength(found: number, n: number, names: LabelNames, unit: string): void {
  if (found !== n) {
    throw new KmfitError(
      'LENGTH_MISMATCH',
      `${names.X} has ${n} rows, ${names.y} has ${found} ${unit}; pass exactly one ${unit === 'rows' ? 'row' : unit.replace(/s$/, '')} per row of ${names.X}.`,
    );
  }
}

interface Scan {
  firstString: number;
  firstNumber: number;
  firstNonInteger: number;
}

/**
 * One pass over raw labels: rejects non-finite numbers (NON_FINITE), other value types and mixes
 * of strings and numbers (INVALID_LABELS); reports where the first string, number and non-integer
 * number are.
 */
function scanValues(values: ArrayLike<unknown>, what: string): Scan {
  let firstString = -1;
  let firstNumber = -1;
  let firstNonInteger = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number') {
      if (v - v !== 0) {
        throw new KmfitError(
          'NON_FINITE',
          `${what}[${i}] (0-based) is ${String(v)}; labels and targets must be finite — remove or impute that row.`,
        );
      }
      if (firstNumber < 0) firstNumber = i;
      if (firstNonInteger < 0 && !Number.isInteger(v)) firstNonInteger = i;
    } else if (typeof v === 'string') {
      if (firstString < 0) firstString = i;
    } else {
      throw new KmfitError(
        'INVALID_LABELS',
        `${what}[${i}] (0-based) is ${describeValue(v)}; labels must be numbers or strings (targets: numbers).`,
      );
    }
  }
  if (firstString >= 0 && firstNumber >= 0) {
    throw new KmfitError(
      'INVALID_LABELS',
      `${what} mixes strings and numbers: ${what}[${firstString}] is ${describeValue(values[firstString])} and ` +
        `${what}[${firstNumber}] is ${describeValue(values[firstNumber])}; use one type for all labels ` +
        `(e.g. convert them all with String() or Number()).`,
    );
  }
  return { firstString, firstNumber, firstNonInteger };
}

/** Validated finite numbers → n×1 float32 regression targets. */
function regressionColumn(values: ArrayLike<unknown>, what: string): Matrix {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = typeof v === 'number' ? v : NaN;
  }
  const bad = firstNonFinite(out);
  if (bad >= 0) {
    throw new KmfitError(
      'NON_FINITE',
      `${what}[${bad}] (0-based) is ${describeValue(values[bad])}, too large for float32 (|v| > 3.4e38); ` +
        `rescale the targets or remove that row.`,
    );
  }
  return { data: out, rows: values.length, cols: 1 };
}

/** Already validated labels (all integers, or all strings) → sorted classes and one-hot rows. */
function encodeClassification(values: ArrayLike<unknown>, what: string): Targets {
  const n = values.length;
  const distinct = new Set<ClassLabel>();
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v === 'number' || typeof v === 'string') distinct.add(v);
  }
  const classes = sortClasses(distinct);
  if (classes.length < 2) {
    throw new KmfitError(
      'SINGLE_CLASS',
      `classification needs at least two classes; found only the class ${describeValue(classes[0])} in all ${n} labels of ${what}. ` +
        `Check ${what} (e.g. a filter that kept one class), or use task 'regression'.`,
    );
  }
  const lookup = new Map<ClassLabel, number>();
  classes.forEach((c, k) => lookup.set(c, k));
  const l = classes.length;
  const data = new Float32Array(n * l);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const k = typeof v === 'number' || typeof v === 'string' ? lookup.get(v) : undefined;
    if (k !== undefined) data[i * l + k] = 1;
  }
  return { task: 'classification', values: { data, rows: n, cols: l }, classes };
}

function nonIntegerClass(values: ArrayLike<unknown>, i: number, what: string): KmfitError {
  return new KmfitError(
    'INVALID_LABELS',
    `${what}[${i}] is ${describeValue(values[i])}, not an integer, but task is 'classification'; class labels ` +
      `must be integers or strings — round or map them to classes, or use task 'regression' for real-valued targets.`,
  );
}

function scanClassValues(values: ArrayLike<unknown>, what: string): void {
  const scan = scanValues(values, what);
  if (scan.firstNonInteger >= 0) throw nonIntegerClass(values, scan.firstNonInteger, what);
}

/** Whether `text` spells a finite number ('3', ' 2.5', '1e3'; not '', 'nan' or 'cat'): a label a file could have meant as one. */
export function spellsNumber(text: string): boolean {
  return text.trim() !== '' && Number.isFinite(Number(text));
}

/** The first string from `from` on that no finite number spells, else `from`. */
function firstNotNumeric(values: ArrayLike<unknown>, from: number): number {
  for (let i = from; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string' && !spellsNumber(v)) return i;
  }
  return from;
}

/** The first classes, for messages: `0, 1, 2, 3, 4, … 10 in all`. */
export function previewClasses(classes: readonly ClassLabel[]): string {
  const shown = classes.slice(0, 5).map((c) => describeValue(c));
  return shown.join(', ') + (classes.length > 5 ? `, … ${classes.length} in all` : '');
}

interface MetricView {
  rows: number;
  cols: number;
  at(i: number, j: number): number;
}

function isMatrix(v: RegressionValues): v is Matrix {
  return 'rows' in v && 'cols' in v && 'data' in v && v.data instanceof Float32Array;
}

function metricView(v: RegressionValues, name: string, role: string): MetricView {
  if (isMatrix(v)) {
    return { rows: v.rows, cols: v.cols, at: (i, j) => v.data[i * v.cols + j] };
  }
  if (isRowArray(v)) {
    const rows = v;
    const cols = rows[0].length;
    for (let i = 1; i < rows.length; i++) {
      if (rows[i].length !== cols) {
        throw new KmfitError(
          'INVALID_SHAPE',
          `${name}: ${role} has ragged rows: row ${i} has ${rows[i].length} values, row 0 has ${cols}.`,
        );
      }
    }
    return { rows: rows.length, cols, at: (i, j) => rows[i][j] };
  }
  const flat = v;
  return { rows: flat.length, cols: 1, at: (i) => flat[i] };
}

function pairForMetric(truth: RegressionValues, predicted: RegressionValues, name: string): [MetricView, MetricView] {
  const t = metricView(truth, name, 'truth');
  const p = metricView(predicted, name, 'predictions');
  if (t.rows !== p.rows) {
    throw new KmfitError(
      'LENGTH_MISMATCH',
      `${name}: truth has ${t.rows} rows, predictions have ${p.rows}; pass one prediction per row.`,
    );
  }
  if (t.cols !== p.cols) {
    throw new KmfitError(
      'INVALID_SHAPE',
      `${name}: truth has ${t.cols} outputs per row, predictions have ${p.cols}; they must match.`,
    );
  }
  if (t.rows === 0 || t.cols === 0) {
    throw new KmfitError('EMPTY_DATA', `${name}: no values to compare; pass at least one row.`);
  }
  return [t, p];
}
