/**
 * A run stopped by a cap is checked once more before it is reported: a target crossed after the
 * last scheduled check counts as reached, and a run reported as not reached is a true lower bound.
 */
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../datasets/mnist.js';
import { scalingStudy, type ScalingOptions } from '../../src/study/scaling.js';

describe('scaling study caps', () => {
  it('sees a target crossed between the last check and the cap', async () => {
    const { train } = await loadMnist({ trainSize: 400 });
    // m = 1 with 1 000 monitored points: the first scheduled check would come at iteration 4 000;
    // the cap stops the run at 300, by when the train mse is far below 90 % of its initial value.
    const common: ScalingOptions = { kernel: 'gaussian', bandwidth: 5, subsampleSize: 100, q: 5, backend: 'js', batchSizes: [1], monitorSize: 1000 };
    const reached = await scalingStudy(train.X, train.y, { ...common, targetMse: 0.9, maxIterations: 300 });
    for (const setting of reached.settings) {
      const [run] = setting.runs;
      expect(run.reached, setting.name).toBe(true);
      expect(run.stoppedBy).toBeUndefined();
      expect(run.iterations).toBeGreaterThan(0);
      expect(run.iterations).toBeLessThanOrEqual(300);
      expect(run.finalValue).toBeLessThanOrEqual(0.9 * reached.target.initial);
    }
    // A target out of reach in 300 iterations: capped, with the value at the cap above it.
    const capped = await scalingStudy(train.X, train.y, { ...common, targetMse: 0.001, maxIterations: 300 });
    for (const setting of capped.settings) {
      const [run] = setting.runs;
      expect(run.reached, setting.name).toBe(false);
      expect(run.stoppedBy).toBe('iterations');
      expect(run.iterations).toBe(300);
      expect(run.finalValue).toBeGreaterThan(capped.target.value);
    }
  }, 120_000);
});
