/**
 * The argument checks of the Backend contract (backend.ts), shared by every backend so that the
 * same misuse fails the same way everywhere. The solver is the only caller, so a failure here is
 * a bug in kmfit, not in the user's input: a RangeError, never a KmfitError.
 */
import type { Matrix } from '../matrix.js';

/** Weights per center: a positive integer. */
export function checkOutputs(outputs: number): void {
  if (!Number.isInteger(outputs) || outputs < 1) throw new RangeError(`outputs must be a positive integer; got ${outputs}`);
}

/** Centers given as n × d: at least n·d values. */
export function checkCenters(centers: Matrix): void {
  const { rows: n, cols: d } = centers;
  if (centers.data.length < n * d) throw new RangeError(`centers: ${centers.data.length} values for ${n} × ${d}`);
}

/** kernelBlock(X, Y): the same feature count. */
export function checkBlock(X: Matrix, Y: Matrix): void {
  if (Y.cols !== X.cols) throw new RangeError(`kernelBlock: X has ${X.cols} columns, Y has ${Y.cols}`);
}

/** predict(X, out, j0, j1) on a set of `count` centers of `dim` features and `outputs` weights each. */
export function checkPredict(set: { count: number; dim: number; outputs: number }, X: Matrix, out: Float32Array, j0: number, j1: number): void {
  if (X.cols !== set.dim) throw new RangeError(`predict: X has ${X.cols} columns, the centers ${set.dim}`);
  if (out.length < X.rows * set.outputs) throw new RangeError(`predict: out has ${out.length} elements, needs ${X.rows}×${set.outputs}`);
  if (!(Number.isInteger(j0) && Number.isInteger(j1) && 0 <= j0 && j0 <= j1 && j1 <= set.count)) {
    throw new RangeError(`predict: center range [${j0}, ${j1}) is not within [0, ${set.count})`);
  }
}

/** predictAndPullBack(X, offset, scale, residual, pulled): predict's checks, and room for each output. */
export function checkPullBack(
  set: { count: number; dim: number; outputs: number },
  X: Matrix,
  offset: Float32Array,
  residual: Float32Array,
  pulled: Float32Array,
): void {
  checkPredict(set, X, residual, 0, set.count);
  const l = set.outputs;
  if (offset.length < X.rows * l) throw new RangeError(`predictAndPullBack: offset has ${offset.length} elements, needs ${X.rows}×${l}`);
  if (pulled.length < set.count * l) throw new RangeError(`predictAndPullBack: pulled has ${pulled.length} elements, needs ${set.count}×${l}`);
}

/** addToWeights(rows, deltas): one row of deltas per row index, each a center's. */
export function checkDeltas(set: { count: number; outputs: number }, rows: ArrayLike<number>, deltas: ArrayLike<number>): void {
  if (deltas.length < rows.length * set.outputs) {
    throw new RangeError(`addToWeights: ${deltas.length} deltas for ${rows.length} rows × ${set.outputs}`);
  }
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!(Number.isInteger(row) && row >= 0 && row < set.count)) {
      throw new RangeError(`addToWeights: row ${row} is not a center index (0 … ${set.count - 1})`);
    }
  }
}

/** setWeights(alpha): count × outputs weights. */
export function checkWeights(set: { count: number; outputs: number }, alpha: ArrayLike<number>): void {
  if (alpha.length < set.count * set.outputs) throw new RangeError(`setWeights: ${alpha.length} weights for ${set.count} × ${set.outputs}`);
}

/** A cache engine's block output: its type is the precision's, and rows of `cols` values at offset + i·stride fit. */
export function checkBlockOutput(
  precision: 'float16' | 'bfloat16' | 'float32',
  out: Uint16Array | Float32Array,
  rows: number,
  cols: number,
  offset: number,
  stride: number,
): void {
  const expected = precision === 'float32' ? Float32Array : Uint16Array;
  if (!(out instanceof expected)) throw new RangeError(`block: ${precision} values go into a ${expected.name}; got a ${out.constructor.name}`);
  if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(stride) || stride < cols) throw new RangeError(`block: offset ${offset} and stride ${stride} do not lay out rows of ${cols}`);
  if (rows > 0 && offset + (rows - 1) * stride + cols > out.length) throw new RangeError(`block: out has ${out.length} values, too few for ${rows} rows of ${cols} at offset ${offset}, stride ${stride}`);
}

/**
 * CacheEngine.multiply(K, rows, cols, A, l, out): K of the engine's precision (bit patterns in a
 * Uint16Array, or a Float32Array) with rows × cols values, A with cols × l, out with rows × l.
 */
export function checkCachedProduct(
  precision: 'float16' | 'bfloat16' | 'float32',
  /** The values, or undefined where a RowWriter writes them (multiplyRows). */
  K: Uint16Array | Float32Array | undefined,
  rows: number,
  cols: number,
  A: Float32Array,
  l: number,
  out: Float32Array,
): void {
  checkCounts('multiply', rows, cols, l);
  const expected = precision === 'float32' ? Float32Array : Uint16Array;
  if (K && !(K instanceof expected)) throw new RangeError(`multiply: ${precision} values come as a ${expected.name}; got a ${K.constructor.name}`);
  if (K && K.length < rows * cols) throw new RangeError(`multiply: K has ${K.length} values, needs ${rows}×${cols}`);
  if (A.length < cols * l) throw new RangeError(`multiply: A has ${A.length} values, needs ${cols}×${l}`);
  if (out.length < rows * l) throw new RangeError(`multiply: out has ${out.length} elements, needs ${rows}×${l}`);
}

/** multiplyTransposedRows' arguments: out (cols × l) = Kᵀ·A for K rows × cols and A rows × l. */
export function checkTransposedProduct(rows: number, cols: number, A: Float32Array, l: number, out: Float32Array): void {
  checkCounts('multiplyTransposedRows', rows, cols, l);
  if (A.length < rows * l) throw new RangeError(`multiplyTransposedRows: A has ${A.length} values, needs ${rows}×${l}`);
  if (out.length < cols * l) throw new RangeError(`multiplyTransposedRows: out has ${out.length} elements, needs ${cols}×${l}`);
}

/** A product's sizes: non-negative integers. */
function checkCounts(call: string, rows: number, cols: number, l: number): void {
  for (const [name, value] of [['rows', rows], ['cols', cols], ['l', l]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${call}: ${name} must be a non-negative integer; got ${value}`);
  }
}
