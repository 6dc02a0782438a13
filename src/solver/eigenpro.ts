/**
 * The EigenPro 2 iteration (Ma & Belkin 2019), over the Backend interface only:
 *   G     = k(X_B, X)·α − Y_B
 *   α[B] -= (η/m)·G
 *   α[S] += (η/m)·V·diag(D)·Vᵀ·k(X_S, X_B)·G     (the correction on the fixed subsample)
 * Each epoch draws a fresh permutation; the last partial batch is kept. Per-coefficient moves use
 * η/m of the planned m also for the last, smaller batch, which keeps it within the stable range.
 */
import type { Kernel } from '../../kernels/kernel.js';
import type { Backend, CenterSet } from '../backends/backend.js';
import { KmfitError } from '../errors.js';
import { takeRows, type Matrix } from '../matrix.js';
import type { EpochMetrics, EpochReport, IterationReport, StopReason } from './events.js';
import type { SeededRandom } from './random.js';

/** The top eigen-directions on the subsample, ready to apply. */
export interface Preconditioning {
  /** Subsample points X_S (s×d). */
  readonly points: Matrix;
  /** Their indices in the training data. */
  readonly indices: Int32Array;
  /** V = E/√s, s×(q−1), column-major: vectors[j·s + i]. */
  readonly vectors: Float64Array;
  /** D_i, length q−1. */
  readonly scales: Float64Array;
}

/** Data scored after each epoch. `labels` are class indices, for classification. */
export interface MonitorSet {
  readonly X: Matrix;
  readonly Y: Matrix;
  readonly labels?: Int32Array;
}

export interface EigenProRun {
  readonly backend: Backend;
  readonly kernel: Kernel;
  readonly X: Matrix;
  readonly Y: Matrix;
  readonly centers: CenterSet;
  readonly preconditioning?: Preconditioning;
  readonly batchSize: number;
  readonly stepSize: number;
  readonly epochs: number;
  readonly random: SeededRandom;
  readonly monitorTrain: MonitorSet;
  readonly validation?: MonitorSet;
  readonly earlyStopping?: number;
  readonly onEpoch?: (report: EpochReport) => void;
  readonly onIteration?: (report: IterationReport) => void;
  readonly signal?: AbortSignal;
}

export interface EigenProResult {
  readonly history: EpochMetrics[];
  readonly stoppedBy: StopReason;
  /** The epoch whose weights the centers now hold (0: stopped inside the first epoch). */
  readonly keptEpoch: number;
  readonly trainingSeconds: number;
}

/** Rows per predict call when scoring, to bound the memory of one block. */
const SCORE_ROWS = 4096;

/** out = k(X, centers)·α, in row chunks. */
export async function predictInChunks(centers: CenterSet, X: Matrix): Promise<Float32Array> {
  const l = centers.outputs;
  const out = new Float32Array(X.rows * l);
  for (let start = 0; start < X.rows; start += SCORE_ROWS) {
    const end = Math.min(start + SCORE_ROWS, X.rows);
    const chunk = { data: X.data.subarray(start * X.cols, end * X.cols), rows: end - start, cols: X.cols };
    await centers.predict(chunk, out.subarray(start * l, end * l));
  }
  return out;
}

/** Mean squared error per output, and the argmax error rate when labels are given. */
export async function evaluate(centers: CenterSet, set: MonitorSet): Promise<{ mse: number; error?: number }> {
  const scores = await predictInChunks(centers, set.X);
  const l = centers.outputs;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += (scores[i] - set.Y.data[i]) ** 2;
  const mse = sum / scores.length;
  if (!set.labels) return { mse };
  let wrong = 0;
  for (let i = 0; i < set.X.rows; i++) {
    let best = 0;
    for (let c = 1; c < l; c++) if (scores[i * l + c] > scores[i * l + best]) best = c;
    if (best !== set.labels[i]) wrong++;
  }
  return { mse, error: wrong / set.X.rows };
}

/** The quantity early stopping and "best" are judged by: validation error, else validation mse. */
function validationScore(metrics: EpochMetrics): number | undefined {
  return metrics.validationError ?? metrics.validationMse;
}

export async function runEigenPro(run: EigenProRun): Promise<EigenProResult> {
  const { X, Y, centers, batchSize: m, epochs } = run;
  const n = X.rows;
  const l = Y.cols;
  const rate = run.stepSize / m;
  const iterationsPerEpoch = Math.ceil(n / m);
  const history: EpochMetrics[] = [];
  let best: { score: number; epoch: number; weights: Float32Array } | undefined;
  let stoppedBy: StopReason = 'epochs';
  let keptEpoch = 0;
  let trainingSeconds = 0;
  let iterationsDone = 0;

  for (let epoch = 1; epoch <= epochs && stoppedBy === 'epochs'; epoch++) {
    const order = run.random.permutation(n);
    const started = performance.now();
    let iterations = 0;
    for (let b0 = 0; b0 < n; b0 += m) {
      if (run.signal?.aborted) {
        stoppedBy = 'aborted';
        break;
      }
      const batch = order.subarray(b0, Math.min(b0 + m, n));
      const batchMse = await step(run, batch, rate, l);
      iterations++;
      iterationsDone++;
      run.onIteration?.({ epoch, iteration: iterations, iterationsPerEpoch, batchSize: batch.length, batchMse });
    }
    const seconds = (performance.now() - started) / 1000;
    trainingSeconds += seconds;
    if (stoppedBy === 'aborted') break;

    const train = await evaluate(centers, run.monitorTrain);
    const validation = run.validation ? await evaluate(centers, run.validation) : undefined;
    const epochMetrics: EpochMetrics = {
      epoch,
      seconds,
      iterations,
      trainMse: train.mse,
      ...(train.error !== undefined ? { trainError: train.error } : {}),
      ...(validation ? { validationMse: validation.mse } : {}),
      ...(validation?.error !== undefined ? { validationError: validation.error } : {}),
    };
    history.push(epochMetrics);
    keptEpoch = epoch;

    const score = validationScore(epochMetrics);
    const isBest = score === undefined || best === undefined || score < best.score;
    if (score !== undefined && isBest) best = { score, epoch, weights: await centers.readWeights() };
    run.onEpoch?.({ ...epochMetrics, epochs, best: isBest });
    if (run.earlyStopping !== undefined && best !== undefined && epoch - best.epoch >= run.earlyStopping) {
      stoppedBy = 'early-stopping';
    }
  }

  if (stoppedBy === 'aborted' && iterationsDone === 0) {
    throw new KmfitError('ABORTED', 'Training was aborted before its first iteration; there is no model to keep.');
  }
  // Keep the best validated weights when training ended after a worse epoch or mid-epoch.
  if (best !== undefined && (best.epoch !== keptEpoch || stoppedBy === 'aborted')) {
    await centers.setWeights(best.weights);
    keptEpoch = best.epoch;
  } else if (stoppedBy === 'aborted') {
    keptEpoch = history.length; // the latest weights, including the interrupted epoch's iterations
  }
  return { history, stoppedBy, keptEpoch, trainingSeconds };
}

/** One iteration on the batch; returns the batch's mean squared residual before the update. */
async function step(run: EigenProRun, batch: Int32Array, rate: number, l: number): Promise<number> {
  const { X, Y, centers } = run;
  const XB = takeRows(X, batch);
  const residual = new Float32Array(batch.length * l);
  await centers.predict(XB, residual);
  let squared = 0;
  for (let i = 0; i < batch.length; i++) {
    const y = batch[i] * l;
    for (let c = 0; c < l; c++) {
      const g = residual[i * l + c] - Y.data[y + c];
      residual[i * l + c] = g;
      squared += g * g;
    }
  }
  const delta = new Float32Array(residual.length);
  for (let i = 0; i < residual.length; i++) delta[i] = -rate * residual[i];
  await centers.addToWeights(batch, delta);
  if (run.preconditioning) await correctSubsample(run, run.preconditioning, XB, residual, rate, l);
  return squared / residual.length;
}

/** α[S] += rate · V·diag(D)·Vᵀ·k(X_S, X_B)·G, in float64. */
async function correctSubsample(
  run: EigenProRun,
  p: Preconditioning,
  XB: Matrix,
  residual: Float32Array,
  rate: number,
  l: number,
): Promise<void> {
  const s = p.points.rows;
  const mb = XB.rows;
  const r = p.scales.length;
  const kSB = await run.backend.kernelBlock(run.kernel, p.points, XB); // s × mb
  const t = new Float64Array(s * l); // k(X_S, X_B)·G
  for (let i = 0; i < s; i++) {
    const row = i * mb;
    for (let j = 0; j < mb; j++) {
      const w = kSB[row + j];
      for (let c = 0; c < l; c++) t[i * l + c] += w * residual[j * l + c];
    }
  }
  const u = new Float64Array(r * l); // diag(D)·Vᵀ·t
  for (let k = 0; k < r; k++) {
    const v = k * s;
    for (let i = 0; i < s; i++) {
      const vi = p.vectors[v + i];
      for (let c = 0; c < l; c++) u[k * l + c] += vi * t[i * l + c];
    }
    for (let c = 0; c < l; c++) u[k * l + c] *= p.scales[k] * rate;
  }
  const delta = new Float64Array(s * l); // V·u
  for (let k = 0; k < r; k++) {
    const v = k * s;
    for (let i = 0; i < s; i++) {
      const vi = p.vectors[v + i];
      for (let c = 0; c < l; c++) delta[i * l + c] += vi * u[k * l + c];
    }
  }
  await run.centers.addToWeights(p.indices, delta);
}
