/** Counting a classifier's mistakes by class: the confusion matrix. */
import type { ClassLabel } from '../data/labels.js';
import { describeValue, KmfitError } from '../errors.js';

export interface ConfusionMatrix {
  /** The classes, in the order of rows and columns: those of `truth` and `predicted`, sorted. */
  readonly labels: readonly ClassLabel[];
  /** counts[i][j]: how many rows of class labels[i] were predicted as labels[j]. */
  readonly counts: readonly (readonly number[])[];
}

/**
 * @param truth the true class of each row (numbers or strings)
 * @param predicted the predicted class of each row: model.predict's result for a classifier
 * @throws KmfitError LENGTH_MISMATCH when the two differ in length; INVALID_LABELS for an entry
 *   that is not a number or a string (a regression model's predictions, say)
 */
export function confusionMatrix(truth: ArrayLike<unknown>, predicted: ArrayLike<unknown>): ConfusionMatrix {
  const [t, p] = pairedLabels(truth, predicted);
  // Numbers in numeric order, then strings: classes 0–9 must not sort as "0, 1, 10, 2".
  const labels = [...new Set([...t, ...p])].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : typeof a === 'number' ? -1 : typeof b === 'number' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  const index = new Map(labels.map((label, i) => [label, i]));
  const counts = labels.map(() => new Array<number>(labels.length).fill(0));
  for (let i = 0; i < t.length; i++) counts[index.get(t[i])!][index.get(p[i])!]++;
  return { labels, counts };
}

/** The rows whose predicted class differs from the true one, in order. */
export function misclassified(truth: ArrayLike<unknown>, predicted: ArrayLike<unknown>): number[] {
  const [t, p] = pairedLabels(truth, predicted);
  const rows: number[] = [];
  for (let i = 0; i < t.length; i++) if (t[i] !== p[i]) rows.push(i);
  return rows;
}

function pairedLabels(truth: ArrayLike<unknown>, predicted: ArrayLike<unknown>): [ClassLabel[], ClassLabel[]] {
  const t = classLabels(truth, 'truth');
  const p = classLabels(predicted, 'predicted');
  if (t.length !== p.length) {
    throw new KmfitError('LENGTH_MISMATCH', `truth has ${t.length} labels but predicted has ${p.length}; pass one prediction per true label.`);
  }
  return [t, p];
}

function classLabels(values: ArrayLike<unknown>, name: string): ClassLabel[] {
  const labels = Array.from(values);
  const bad = labels.findIndex((v) => typeof v !== 'string' && typeof v !== 'number');
  if (bad >= 0) {
    throw new KmfitError('INVALID_LABELS', `${name}[${bad}] is ${describeValue(labels[bad])}, not a class label; pass a classifier's labels (numbers or strings).`);
  }
  return labels as ClassLabel[];
}
