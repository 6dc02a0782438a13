/**
 * kmfit's one internal matrix type: dense, row-major, float32. Every input form (number[][],
 * `{ data, shape }`, ndarray, files) is converted to this once, at the boundary.
 */
export interface Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

export function matrix(data: Float32Array, rows: number, cols: number): Matrix {
  if (data.length !== rows * cols) {
    throw new RangeError(`matrix: data length ${data.length} is not ${rows}×${cols}`);
  }
  return { data, rows, cols };
}

/** Rows `indices` of `m`, copied into a new matrix, or into the start of `into` (a buffer a caller reuses, at least indices.length × cols long). */
export function takeRows(m: Matrix, indices: ArrayLike<number>, into?: Float32Array): Matrix {
  const { cols } = m;
  const out = into ? into.subarray(0, indices.length * cols) : new Float32Array(indices.length * cols);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i] * cols;
    out.set(m.data.subarray(src, src + cols), i * cols);
  }
  return { data: out, rows: indices.length, cols };
}

/** Rows [start, end) of `m`, as a view sharing its storage. */
export function rowSlice(m: Matrix, start: number, end: number): Matrix {
  return { data: m.data.subarray(start * m.cols, end * m.cols), rows: end - start, cols: m.cols };
}

/**
 * Where training rows come from: a matrix in memory, or a file read batch by batch (data/rows.ts),
 * so that n×d float32 never has to sit in memory.
 */
export interface TrainingRows {
  readonly rows: number;
  readonly cols: number;
  /** The rows `indices`, in that order, as float32 features in the training's space (scaled). */
  take(indices: ArrayLike<number>): Matrix;
  /** The first `count` rows, as take gives them: rows in memory as a view, not a copy. */
  first(count: number): Matrix;
}

/** The rows of a matrix in memory. */
export function matrixRows(X: Matrix): TrainingRows {
  return { rows: X.rows, cols: X.cols, take: (indices) => takeRows(X, indices), first: (count) => rowSlice(X, 0, count) };
}
