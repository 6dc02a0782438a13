import { describe, expect, it } from 'vitest';
import { takeRows } from '../../src/matrix.js';

describe('takeRows', () => {
  // 4×3 with entry (i, j) = 10·i + j: each row says which it is.
  const m = { data: Float32Array.from({ length: 12 }, (_, k) => 10 * Math.floor(k / 3) + (k % 3)), rows: 4, cols: 3 };

  it('copies the rows asked for, in their order, into a new matrix', () => {
    const out = takeRows(m, [2, 0, 2]);
    expect(out.rows).toBe(3);
    expect(out.cols).toBe(3);
    expect([...out.data]).toEqual([20, 21, 22, 0, 1, 2, 20, 21, 22]);
  });

  it('fills the start of a reused buffer, leaving the rest, and shares its memory', () => {
    const buffer = new Float32Array(12).fill(-1);
    const first = takeRows(m, [3, 1, 0, 2], buffer);
    expect([...first.data]).toEqual([30, 31, 32, 10, 11, 12, 0, 1, 2, 20, 21, 22]);
    const second = takeRows(m, [1], buffer);
    expect(second.rows).toBe(1);
    expect([...second.data]).toEqual([10, 11, 12]);
    expect(second.data.buffer).toBe(buffer.buffer);
    expect([...buffer.subarray(3)]).toEqual([10, 11, 12, 0, 1, 2, 20, 21, 22]); // untouched beyond the rows taken
  });
});
