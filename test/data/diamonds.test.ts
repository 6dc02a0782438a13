/** loadDiamonds reads the shipped sample exactly as datasets/diamonds.R wrote it from ggplot2. */
import { describe, expect, it } from 'vitest';
import { loadDiamonds } from '../../datasets/diamonds.js';
import { asyncErrorOf } from '../helpers/errors.js';

describe('loadDiamonds', () => {
  it('matches the summary the R generator printed (ggplot2 3.4.1)', async () => {
    const { train, test, featureNames } = await loadDiamonds();
    expect([train.X.rows, test.X.rows, train.X.cols]).toEqual([4000, 1000, 9]);
    expect(featureNames).toEqual(['carat', 'cut', 'color', 'clarity', 'depth', 'table', 'x', 'y', 'z']);
    const prices = [...train.y, ...test.y];
    const column = (j: number) => [...train.X.data.filter((_, k) => k % 9 === j), ...test.X.data.filter((_, k) => k % 9 === j)];
    // "5000 rows; first price 1270; mean price 4006.7212; mean carat 0.807006; sum of clarity 20075"
    expect(prices[0]).toBe(1270);
    expect(prices.reduce((a, b) => a + b) / 5000).toBeCloseTo(4006.7212, 4);
    expect(column(0).reduce((a, b) => a + b) / 5000).toBeCloseTo(0.807006, 5);
    expect(column(3).reduce((a, b) => a + b)).toBe(20075);
  });

  it('takes the first rows of each split, and refuses sizes it does not hold', async () => {
    const all = await loadDiamonds();
    const few = await loadDiamonds({ trainSize: 10, testSize: 3 });
    expect(few.train.X.data).toEqual(all.train.X.data.subarray(0, 90));
    expect(few.test.y).toEqual(all.test.y.subarray(0, 3));
    expect(await asyncErrorOf(loadDiamonds({ trainSize: 4001 }), 'INVALID_OPTION')).toBe('trainSize is 4001; give an integer from 1 to 4000.');
    // A misspelt option is refused, not ignored (which would load all 4 000 rows).
    expect(await asyncErrorOf(loadDiamonds({ trainsize: 10 } as never), 'UNKNOWN_OPTION')).toMatch(/Unknown option 'trainsize'\. Did you mean 'trainSize'\?/);
  });
});
