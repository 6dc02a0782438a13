/**
 * The monitored training rows scored after each epoch: how many of n (an eighth, between 2 500 and
 * 5 000, all where fewer), and which (distinct training rows, with their own features and targets).
 */
import { describe, expect, it } from 'vitest';
import { encodeTargets } from '../../src/data/labels.js';
import { matrixRows } from '../../src/matrix.js';
import { MONITOR_POINTS, monitorTrainingSubset, monitoredCount } from '../../src/prepare.js';
import { SeededRandom } from '../../src/solver/random.js';

describe('how many training rows are monitored', () => {
  it('all of few rows, an eighth of many, within 2 500 and 5 000', () => {
    expect(MONITOR_POINTS).toEqual({ least: 2500, most: 5000 });
    expect(monitoredCount(600)).toBe(600); // fewer than the least: all
    expect(monitoredCount(2500)).toBe(2500);
    expect(monitoredCount(4000)).toBe(2500); // diamonds: 500 raised to the least
    expect(monitoredCount(16_000)).toBe(2500); // letter: 2 000 raised to the least
    expect(monitoredCount(24_000)).toBe(3000); // an eighth
    expect(monitoredCount(24_001)).toBe(3001); // rounded up
    expect(monitoredCount(40_000)).toBe(5000);
    expect(monitoredCount(60_000)).toBe(5000); // MNIST: capped, as before
  });

  it('are that many distinct training rows, with their own features and targets', () => {
    const n = 3000;
    const d = 2;
    const X = { data: Float32Array.from({ length: n * d }, (_, i) => i), rows: n, cols: d };
    const labels = Array.from({ length: n }, (_, i) => i % 3);
    const targets = encodeTargets(labels, n, undefined, { X: 'X', y: 'y' });
    const monitored = monitorTrainingSubset(matrixRows(X), targets, new SeededRandom(7));
    expect(monitored.rows.length).toBe(2500);
    expect(new Set(monitored.rows).size).toBe(2500);
    monitored.rows.forEach((row, k) => {
      expect(row).toBeGreaterThanOrEqual(0);
      expect(row).toBeLessThan(n);
      expect([monitored.X.data[k * d], monitored.X.data[k * d + 1]]).toEqual([row * d, row * d + 1]);
      expect(monitored.labels![k]).toBe(row % 3);
    });
  });
});
