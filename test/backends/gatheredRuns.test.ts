/** Rows taken in runs through one reused buffer (src/backends/gatheredRuns.ts). */
import { describe, expect, it } from 'vitest';
import { inGatheredRuns, rowsPerRun } from '../../src/backends/gatheredRuns.js';

describe('rows gathered in runs', () => {
  it('gives every row once, in order, in runs of as many rows as the buffer holds', async () => {
    // Row i of width 3 is (10i, 10i + 1, 10i + 2); the buffer holds 2 rows and a spare value.
    const rowAt = (i: number) => Float32Array.of(10 * i, 10 * i + 1, 10 * i + 2);
    const seen: [number, number, number[]][] = [];
    await inGatheredRuns(7, 3, rowAt, new Float32Array(7), async (values, start, end) => {
      seen.push([start, end, Array.from(values)]);
    });
    expect(seen).toEqual([
      [0, 2, [0, 1, 2, 10, 11, 12]],
      [2, 4, [20, 21, 22, 30, 31, 32]],
      [4, 6, [40, 41, 42, 50, 51, 52]],
      [6, 7, [60, 61, 62]],
    ]);
  });

  it('waits for each run before the buffer is overwritten', async () => {
    const rowAt = (i: number) => Uint16Array.of(i);
    const sums: number[] = [];
    await inGatheredRuns(5, 1, rowAt, new Uint16Array(2), async (values) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      sums.push(values.reduce((a, b) => a + b, 0));
    });
    expect(sums).toEqual([0 + 1, 2 + 3, 4]);
  });

  it('fits a run to a byte budget, at least one row', () => {
    expect(rowsPerRun(1000, 4, 32 * 2 ** 20)).toBe(8388);
    expect(rowsPerRun(1000, 2, 4000)).toBe(2);
    expect(rowsPerRun(1000, 4, 100)).toBe(1);
  });
});
