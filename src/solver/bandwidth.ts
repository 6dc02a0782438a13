/**
 * The data-driven bandwidth: the median Euclidean distance between pairs of points of a seeded
 * subsample. Kernels scale it to their default σ (kernels/builtin.ts).
 */
import type { TrainingRows } from '../matrix.js';
import type { SeededRandom } from './random.js';

/** Points whose pairwise distances are measured: 400 points give ≈80 000 pairs. */
const BANDWIDTH_SAMPLE = 400;

export function medianPairwiseDistance(rows: TrainingRows, random: SeededRandom): number {
  const picked = random.subsample(rows.rows, Math.min(rows.rows, BANDWIDTH_SAMPLE));
  const X = rows.take(picked);
  const d = X.cols;
  const distances: number[] = [];
  for (let a = 0; a < picked.length; a++) {
    const pa = a * d;
    for (let b = a + 1; b < picked.length; b++) {
      const pb = b * d;
      let sum = 0;
      for (let k = 0; k < d; k++) sum += (X.data[pa + k] - X.data[pb + k]) ** 2;
      if (sum > 0) distances.push(Math.sqrt(sum));
    }
  }
  if (distances.length === 0) return 1; // all sampled points coincide: any scale will do
  distances.sort((x, y) => x - y);
  const mid = distances.length >> 1;
  return distances.length % 2 ? distances[mid] : (distances[mid - 1] + distances[mid]) / 2;
}
