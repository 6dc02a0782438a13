import { describe, expect, it } from 'vitest';
import { capacityFromCurve } from '../../src/backends/capacity.js';

const curve = (time: (m: number) => number) =>
  [16, 32, 64, 128, 256, 512, 1024, 2048].map((batch) => ({ batch, seconds: time(batch) }));

describe('parallel capacity from a calibration curve', () => {
  it('a GPU-like curve (flat to 256, then linear) gives its knee', () => {
    expect(capacityFromCurve(curve((m) => Math.max(0.01, (0.01 * m) / 256)))).toBe(256);
  });

  it('a CPU-like curve a + b·m gives the first m within 10 % of the asymptotic cost per point', () => {
    // t/m = a/m + b ≤ 1.1·(a/2048 + b) with a = 0.02, b = 0.001: first at m = 256 (a/m = 7.8e-5 ≤ 1.08e-4).
    expect(capacityFromCurve(curve((m) => 0.02 + 0.001 * m))).toBe(256);
  });

  it('a purely linear curve (no fixed cost) gives the smallest batch', () => {
    expect(capacityFromCurve(curve((m) => 0.001 * m))).toBe(16);
  });
});
