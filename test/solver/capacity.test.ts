import { afterEach, describe, expect, it } from 'vitest';
import { platform } from '#platform';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import type { Backend, CenterSet } from '../../src/backends/backend.js';
import { JsBackend } from '../../src/backends/js/index.js';
import { rowSlice } from '../../src/matrix.js';
import { capacityFromCurve, measureParallelCapacity, plateauLevel } from '../../src/solver/capacity.js';
import { lcg } from '../helpers/data.js';

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

/**
 * A js backend whose center sets take a set time per call instead of computing: `perPoint` ms a
 * row, and `loaded(m)` times that while a burst of load from elsewhere lasts.
 */
function timedBackend(perPoint: number, loaded: (m: number) => number): Backend {
  const inner = new JsBackend();
  return {
    name: 'timed',
    createCenterSet: async (kernel, centers, outputs) => {
      const set = await inner.createCenterSet(kernel, rowSlice(centers, 0, 1), outputs);
      const predict = async (X: { rows: number }) => {
        const until = performance.now() + perPoint * X.rows * loaded(X.rows);
        while (performance.now() < until) await new Promise((resolve) => setImmediate(resolve));
      };
      return Object.assign(Object.create(set) as CenterSet, { predict, dispose: () => set.dispose() });
    },
    kernelBlock: (kernel, X, Y) => inner.kernelBlock(kernel, X, Y),
    memoryBudget: () => inner.memoryBudget(),
    describe: () => ({ ...inner.describe(), device: `timed test device ${perPoint}`, threads: 1, parallel: true }),
    dispose: () => inner.dispose(),
  };
}

describe('measuring the capacity on a machine shared with other work', () => {
  const saved = platform.capacityCache.read();
  afterEach(() => platform.capacityCache.write(saved ?? {}));
  const next = lcg(7);
  const X = { data: Float32Array.from({ length: 4096 * 3 }, next), rows: 4096, cols: 3 };
  const kernel = makeKernel(chooseKernel('laplacian'), 1);

  it('a burst of load during the sweep\'s largest sizes does not set the capacity: they are timed again', async () => {
    platform.capacityCache.write({});
    // 0.5 ms a point at every size (all on the plateau: the capacity is the largest batch, 512);
    // from m = 128 on the first sweep runs 3× slower, until it ends (a smaller size follows a larger).
    let burst = true;
    let last = 0;
    const backend = timedBackend(0.5, (m) => {
      if (m < last) burst = false;
      last = m;
      return burst && m >= 128 ? 3 : 1;
    });
    const capacity = await measureParallelCapacity(backend, kernel, X, 1, 512);
    expect(capacity.batch).toBe(512);
    // The sizes the burst slowed keep their faster timing: within the plateau of the rest.
    const level = plateauLevel(capacity.curve);
    for (const point of capacity.curve.filter((p) => p.batch >= 128)) expect(point.seconds / point.batch).toBeLessThan(1.15 * level);
  }, 30_000);

  it('a device that really slows past a size still stops there, timed twice', async () => {
    platform.capacityCache.write({});
    // 1.5× the time a point from m = 256 on, every time it is timed.
    const capacity = await measureParallelCapacity(timedBackend(0.5, (m) => (m >= 256 ? 1.5 : 1)), kernel, X, 1, 512);
    expect(capacity.batch).toBe(128);
  }, 30_000);
});
