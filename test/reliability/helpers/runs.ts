/** Small training problems and comparisons shared by the reliability tests. */
import { expect } from 'vitest';
import type { FitOptions, KernelModel } from '../../../src/index.js';
import { lcg, randomPoints } from '../../helpers/data.js';

/** 240 points in 5-D and three classes from a smooth rule; a validation set of 60. */
export function threeClasses(seed = 3): { X: number[][]; y: number[]; Xv: number[][]; yv: number[] } {
  const label = (x: readonly number[]) => (x[0] + x[1] > 1 ? 2 : x[2] > 0.5 ? 1 : 0);
  const X = randomPoints(240, 5, seed);
  const Xv = randomPoints(60, 5, seed + 100);
  return { X, y: X.map(label), Xv, yv: Xv.map(label) };
}

/** Two regression outputs on 300 points in 4-D (the convergence tests' problem). */
export function regression(seed = 11): { X: number[][]; Y: number[][] } {
  const X = randomPoints(300, 4, seed);
  return { X, Y: X.map((x) => [Math.sin(3 * x[0]) + x[1] * x[2], Math.abs(x[3] - 0.5)]) };
}

/** `count` distinct cut points in [1, last], seeded, always with the first, the last and epoch boundaries. */
export function cutPoints(last: number, perEpoch: number, count: number, seed: number): number[] {
  const next = lcg(seed);
  const cuts = new Set([1, last - 1, perEpoch, perEpoch + 1, 2 * perEpoch]);
  while (cuts.size < count) cuts.add(1 + Math.floor(next() * (last - 1)));
  return [...cuts].filter((c) => c >= 1 && c < last).sort((a, b) => a - b);
}

/** Aborts the run after its `cut`-th iteration (counting from the start of this fit call). */
export function abortAfter(cut: number): Pick<FitOptions, 'signal' | 'onIteration'> {
  const controller = new AbortController();
  let iterations = 0;
  return {
    signal: controller.signal,
    onIteration: () => {
      if (++iterations === cut) controller.abort();
    },
  };
}

/** The model's weights α. */
export function weightsOf(model: KernelModel): Float32Array {
  return model.parts.weights;
}

/** Both models hold the same weights bit for bit, and the same history (timings aside). */
export function expectSameModel(actual: KernelModel, expected: KernelModel): void {
  const bits = (w: Float32Array) => new Uint32Array(w.buffer, w.byteOffset, w.length);
  const a = bits(weightsOf(actual));
  const b = bits(weightsOf(expected));
  expect(a.length).toBe(b.length);
  let differing = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differing++;
  expect(differing).toBe(0);
  expect(withoutTimes(actual)).toEqual(withoutTimes(expected));
  expect(actual.keptEpoch).toBe(expected.keptEpoch);
  expect(actual.stoppedBy).toBe(expected.stoppedBy);
}

export function withoutTimes(model: KernelModel): object[] {
  return model.history.map(({ seconds: _seconds, elapsedSeconds: _elapsed, ...rest }) => rest);
}

/** max |a − b| / max |b|: the difference of two weight vectors relative to their scale. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
