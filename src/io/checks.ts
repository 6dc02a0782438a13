/** Checks shared by the data-file readers. */
import { firstNonFinite } from '../data/input.js';
import { KmfitError } from '../errors.js';

/** Fails with NON_FINITE naming the source and the first bad row (and feature, for `perRow` > 1). */
export function requireFinite(values: Float32Array | Float64Array, perRow: number, what: 'value' | 'label', source: string): void {
  const bad = firstNonFinite(values);
  if (bad < 0) return;
  const at = perRow > 1 ? `row ${Math.floor(bad / perRow)}, feature ${bad % perRow}` : `row ${bad}`;
  throw new KmfitError(
    'NON_FINITE',
    `${source} has a non-finite ${what} (NaN, ±Inf, or beyond float32's ±3.4e38) at ${at}; clean or drop that row.`,
  );
}
