import { describe, expect, it } from 'vitest';
import { capacityFromCurve, plateauLevel } from '../../src/solver/capacity.js';

const batches = [16, 32, 64, 128, 256, 512, 1024, 2048];
const curve = (time: (m: number) => number) => batches.map((batch) => ({ batch, seconds: time(batch) }));

describe('parallel capacity from a calibration curve: the largest batch on the plateau of seconds per point', () => {
  it('a GPU-like curve (flat to 256, then linear) stays on its plateau from the knee on: the largest batch', () => {
    expect(capacityFromCurve(curve((m) => Math.max(0.01, (0.01 * m) / 256)))).toBe(2048);
  });

  it('a CPU-like curve a + b·m: every batch within 15 % of the plateau, the largest', () => {
    expect(capacityFromCurve(curve((m) => 0.02 + 0.001 * m))).toBe(2048);
  });

  it('a curve that rises again (a cache left behind past 512) stops at the last batch on the plateau', () => {
    // t/m = 1 ms up to 512, then 1.3 ms: 30 % above the plateau.
    expect(capacityFromCurve(curve((m) => (m <= 512 ? 0.001 : 0.0013) * m))).toBe(512);
  });

  it('measures the plateau by its second-lowest point, so one lucky timing does not set the bar', () => {
    // Per point: 1.2 ms everywhere but one timing at 0.9 ms; against 0.9 ms nothing else would be
    // within 15 %, against the second-lowest (1.2 ms) everything is.
    const noisy = curve((m) => (m === 128 ? 0.0009 : 0.0012) * m);
    expect(plateauLevel(noisy)).toBeCloseTo(0.0012, 12);
    expect(capacityFromCurve(noisy)).toBe(2048);
  });

  it('a single point is its own plateau', () => {
    expect(capacityFromCurve([{ batch: 300, seconds: 0.4 }])).toBe(300);
  });
});
