/**
 * Rows given one at a time (a RowSource: a kernel cache's rows of a batch, a panel's rows) taken
 * in runs gathered into one reused buffer, so that each run is one contiguous matrix for a product.
 */
import type { CachedValues, RowSource } from './backend.js';

/** Rows of `width` values of `valueBytes` bytes each in a run of at most `runBytes` (at least one row). */
export function rowsPerRun(width: number, valueBytes: number, runBytes: number): number {
  return Math.max(1, Math.floor(runBytes / (width * valueBytes)));
}

/**
 * Rows 0…count−1 of `rowAt` in runs of as many as `buffer` holds: each run's rows copied to the
 * front of `buffer`, then `each(values, start, end)` for rows [start, end), awaited before the next
 * run overwrites them.
 */
export async function inGatheredRuns<Values extends CachedValues>(
  count: number,
  width: number,
  rowAt: RowSource<Values>,
  buffer: Values,
  each: (values: Values, start: number, end: number) => Promise<void>,
): Promise<void> {
  const run = Math.max(1, Math.floor(buffer.length / width));
  for (let start = 0; start < count; start += run) {
    const end = Math.min(start + run, count);
    const values = buffer.subarray(0, (end - start) * width) as Values;
    for (let i = start; i < end; i++) values.set(rowAt(i), (i - start) * width);
    await each(values, start, end);
  }
}
