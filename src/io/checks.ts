/** Checks shared by the data-file readers. */
import { firstNonFinite } from '../data/input.js';
import { KmfitError } from '../errors.js';

/**
 * Fails with NON_FINITE naming the source and the first bad row (and feature, for `perRow` > 1).
 * `firstRow`: the row number of values' first row, for values that are one chunk of the data.
 */
export function requireFinite(values: Float32Array | Float64Array, perRow: number, what: 'value' | 'label', source: string, firstRow = 0): void {
  const bad = firstNonFinite(values);
  if (bad < 0) return;
  const at = perRow > 1 ? `row ${firstRow + Math.floor(bad / perRow)}, feature ${bad % perRow}` : `row ${firstRow + bad}`;
  throw new KmfitError(
    'NON_FINITE',
    `${source} has a non-finite ${what} (NaN, ±Inf, or beyond float32's ±3.4e38) at ${at}; clean or drop that row.`,
  );
}
