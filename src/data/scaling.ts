import { KmfitError, describeValue } from '../errors.js';
import type { Matrix } from '../matrix.js';

export type ScaleKind = 'minmax' | 'standard' | 'none';

/**
 * A per-feature affine map x' = (x − offset[j]) · factor[j], fitted on training data and stored in
 * the model. 'minmax': offset = min, factor = 1/(max − min), so training values land in [0, 1]
 * (up to float32 rounding). 'standard': offset = mean, factor = 1/(population std), so training
 * values have mean 0 and std 1. A constant feature (max = min) gets factor 1: it maps to 0 and
 * nothing is divided by 0. 'none': offset 0, factor 1.
 */
export interface Scaling {
  readonly kind: ScaleKind;
  readonly offset: Float32Array;
  readonly factor: Float32Array;
}

const KINDS: readonly ScaleKind[] = ['minmax', 'standard', 'none'];

/** Fits a scaling on X (rows are samples). Statistics are accumulated in float64. */
export function fitScaling(X: Matrix, kind: ScaleKind): Scaling {
  return fitScalingStreaming([X], X.cols, kind);
}

/** Consecutive rows of a matrix: rows × cols float32 values, row-major. */
export interface RowChunk {
  readonly data: Float32Array;
  readonly rows: number;
}

/**
 * Fits a scaling on data streamed in chunks of rows (e.g. `openNpy(path).chunks()`), never held
 * whole. The result is bit for bit `fitScaling` of all the rows stacked: each column's statistics
 * are accumulated row by row in the same order, whatever the chunk sizes. 'standard' reads the
 * chunks twice (the mean, then the squared deviations from it), so `chunks` must start again from
 * the first row each time it is iterated — an array, or `OpenedNpy.chunks()`, not a generator.
 * @throws KmfitError INVALID_OPTION (kind), EMPTY_DATA (no rows); RangeError for a chunk whose data
 *   is not rows × cols values, or chunks that give other rows on the second pass.
 */
export function fitScalingStreaming(chunks: Iterable<RowChunk>, cols: number, kind: ScaleKind): Scaling {
  if (!KINDS.includes(kind)) {
    throw new KmfitError(
      'INVALID_OPTION',
      `scale is ${describeValue(kind)}; use 'minmax', 'standard' or 'none'.`,
    );
  }
  const offset = new Float32Array(cols);
  const factor = new Float32Array(cols).fill(1);
  if (kind === 'none') return { kind, offset, factor };
  const checked = (chunk: RowChunk): Float32Array => {
    if (chunk.data.length !== chunk.rows * cols) {
      throw new RangeError(`fitScalingStreaming: a chunk of ${chunk.rows} rows has ${chunk.data.length} values, not ${chunk.rows} × ${cols}`);
    }
    return chunk.data;
  };

  // Pass 1 (row-major, so memory is read in order): per-column min, max and sum.
  let min: Float64Array | undefined;
  let max = new Float64Array(0);
  const sum = new Float64Array(cols);
  let rows = 0;
  for (const chunk of chunks) {
    const data = checked(chunk);
    if (chunk.rows === 0) continue;
    if (!min) {
      min = Float64Array.from(data.subarray(0, cols));
      max = Float64Array.from(min);
    }
    for (let i = 0; i < chunk.rows; i++) {
      const base = i * cols;
      for (let j = 0; j < cols; j++) {
        const v = data[base + j];
        if (v < min[j]) min[j] = v;
        else if (v > max[j]) max[j] = v;
        sum[j] += v;
      }
    }
    rows += chunk.rows;
  }
  if (!min) {
    throw new KmfitError('EMPTY_DATA', `cannot fit '${kind}' scaling on 0 rows; pass at least one row.`);
  }

  if (kind === 'minmax') {
    for (let j = 0; j < cols; j++) {
      offset[j] = min[j];
      const range = max[j] - min[j];
      factor[j] = range > 0 ? safeReciprocal(range) : 1;
    }
    return { kind, offset, factor };
  }

  // 'standard': pass 2 sums squared deviations from the mean (two-pass, for accuracy).
  const mean = new Float64Array(cols);
  for (let j = 0; j < cols; j++) mean[j] = sum[j] / rows;
  const ss = new Float64Array(cols);
  let again = 0;
  for (const chunk of chunks) {
    const data = checked(chunk);
    for (let i = 0; i < chunk.rows; i++) {
      const base = i * cols;
      for (let j = 0; j < cols; j++) {
        const c = data[base + j] - mean[j];
        ss[j] += c * c;
      }
    }
    again += chunk.rows;
  }
  if (again !== rows) {
    throw new RangeError(
      `fitScalingStreaming: the chunks gave ${rows} rows on the first pass and ${again} on the second; ` +
        'pass chunks that start again from the first row when iterated again (an array, or OpenedNpy.chunks()), not a generator',
    );
  }
  for (let j = 0; j < cols; j++) {
    const std = Math.sqrt(ss[j] / rows);
    if (max[j] > min[j] && std > 0) {
      offset[j] = mean[j];
      factor[j] = safeReciprocal(std);
    } else {
      offset[j] = min[j]; // constant: maps exactly to 0
    }
  }
  return { kind, offset, factor };
}

/** 1/x, or 1 where 1/x does not fit float32 (a spread below ~3e-39: treated as constant). */
function safeReciprocal(x: number): number {
  const r = Math.fround(1 / x);
  return Number.isFinite(r) ? r : 1;
}

/**
 * Applies a fitted scaling: a new matrix (X is not modified). For kind 'none' returns X itself.
 * A scaling fitted on a different number of features → FEATURE_MISMATCH.
 */
export function applyScaling(X: Matrix, scaling: Scaling): Matrix {
  if (scaling.kind === 'none') return X;
  const { data, rows, cols } = X;
  const { offset, factor } = scaling;
  if (offset.length !== cols || factor.length !== cols) {
    throw new KmfitError(
      'FEATURE_MISMATCH',
      `X has ${cols} features, but the scaling was fitted on ${offset.length}; pass data with the features used in training.`,
    );
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) out[base + j] = (data[base + j] - offset[j]) * factor[j];
  }
  return { data: out, rows, cols };
}
