/**
 * The byte form of the onnx backend's fused graphs: squared distances in exact integer arithmetic
 * for data whose values are bytes, such as images (MNIST's pixels, kept as the file's uint8 or
 * divided by 255 into float32).
 *
 * A value is a byte over a divisor D when it is k/D rounded to float32 for an integer k in 0…255;
 * the divisors recognized are 1 (raw bytes) and 255 (bytes ÷ 255). For rows x and centers z that
 * are both bytes over the same divisor, ‖x − z‖² = (‖x‖² + ‖z‖² − 2·x·z)/D² over the integers k,
 * and x·z comes from an integer GEMM (ONNX MatMulInteger: uint8 rows against int8 centers, which
 * MLAS runs with the CPU's integer dot-product instructions, about twice the float32 GEMM's rate).
 * The int8 side holds z − 128, so x·z = x·(z − 128) + 128·Σx, and
 *     D²·r² = (‖x‖² − 256·Σx) + ‖z‖² − 2·x·(z − 128),
 * every term an int32 (at most 784·255² ≈ 5.1e7 at d = 784; BYTE_MAX_DIM bounds d).
 * The distance is exact until its one cast to float32: no cancellation, unlike the float GEMM form.
 */
import { takeRows, type Matrix } from '../../src/matrix.js';

/** The divisors over which values are recognized as bytes, most common first. */
export const BYTE_DIVISORS: readonly number[] = [1, 255];

/**
 * The most features for which every sum of D²·r² fits an int32: ‖x‖² + ‖z‖² and the −256·Σx term,
 * each at most d·255², within 2³¹.
 */
export const BYTE_MAX_DIM = Math.floor((2 ** 31 - 1) / (2 * 255 * 255 * 2));

/** Per divisor, float32(k/divisor) for every byte k: a value is a byte when it is its table entry. */
const BYTE_VALUES = new Map(BYTE_DIVISORS.map((divisor) => [divisor, Float32Array.from({ length: 256 }, (_, k) => k / divisor)]));

/**
 * The byte k (0…255) whose float32 k/divisor `value` is, or −1 when it is none. One rounding and
 * one table look-up for either divisor, with no branch on it: half the time of Math.round and a
 * test per divisor (2 000 × 784 values: 6–7 ms against 12–18 ms).
 */
function byteOf(value: number, divisor: number, table: Float32Array): number {
  const k = (value * divisor + 0.5) | 0; // NaN and ±∞ give 0, then fail the look-up
  return k >= 0 && k <= 255 && table[k] === value ? k : -1;
}

/** The divisor (BYTE_DIVISORS) over which every value of `data` is a byte, or undefined. */
export function byteDivisorOf(data: Float32Array): number | undefined {
  return BYTE_DIVISORS.find((divisor) => {
    const table = BYTE_VALUES.get(divisor)!;
    for (let i = 0; i < data.length; i++) if (byteOf(data[i], divisor, table) < 0) return false;
    return true;
  });
}

/** X's bytes k (rows × d) with each row's ‖k‖² and Σk: what the rows' and the columns' forms are made from. */
interface ReadBytes {
  readonly values: Uint8Array;
  readonly squares: Int32Array;
  readonly sums: Int32Array;
}

/** X's bytes over `divisor`, or undefined when a value of X is not a byte over it. */
function readBytes(X: Matrix, divisor: number): ReadBytes | undefined {
  const { rows, cols: d, data } = X;
  const table = BYTE_VALUES.get(divisor);
  if (!table) return undefined;
  const values = new Uint8Array(rows * d);
  const squares = new Int32Array(rows);
  const sums = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let square = 0;
    let sum = 0;
    const at = i * d;
    for (let c = 0; c < d; c++) {
      const k = byteOf(data[at + c], divisor, table);
      if (k < 0) return undefined;
      values[at + c] = k;
      square += k * k;
      sum += k;
    }
    squares[i] = square;
    sums[i] = sum;
  }
  return { values, squares, sums };
}

/** The rows input of the byte form: the bytes k (m × d) and each row's ‖k‖² − 256·Σk (m × 1). */
export interface ByteRows {
  readonly values: Uint8Array;
  readonly terms: Int32Array;
}

/** One divisor's bytes of a matrix, and the rows' and columns' forms made from them, each on first use. */
interface ByteForms {
  readonly read: ReadBytes;
  rows?: ByteRows;
  columns?: ByteColumns;
}

const BYTE_FORMS = Symbol('byte forms');

/** Rows that keep their bytes per divisor once read (Backend.prepareRows): their contents must not change. */
export interface RowsWithByteForm extends Matrix {
  readonly [BYTE_FORMS]: Map<number, ByteForms | undefined>;
}

/**
 * `X` as rows whose bytes are read once per divisor: EigenPro 3's batch is the rows of the centers'
 * step and of every pending set's prediction, and the centers of its own pending set.
 */
export function withByteForm(X: Matrix): RowsWithByteForm {
  return { data: X.data, rows: X.rows, cols: X.cols, [BYTE_FORMS]: new Map() };
}

/** Whether X keeps its bytes (withByteForm). */
export function hasByteForm(X: Matrix): X is RowsWithByteForm {
  return BYTE_FORMS in X;
}

/**
 * Rows `indices` of `X` (a copy, as takeRows makes) that keep the bytes X has read: gathered with
 * the rows instead of read again from the copy's floats (a kernel cache's points in its fill order).
 */
export function takeRowsWithByteForm(X: RowsWithByteForm, indices: Int32Array): RowsWithByteForm {
  const d = X.cols;
  return carryingBytes(X, takeRows(X, indices), ({ values, squares, sums }) => {
    const taken = new Uint8Array(indices.length * d);
    indices.forEach((row, i) => taken.set(values.subarray(row * d, (row + 1) * d), i * d));
    return { values: taken, squares: Int32Array.from(indices, (row) => squares[row]), sums: Int32Array.from(indices, (row) => sums[row]) };
  });
}

/**
 * Rows [start, end) of `X` in place: the bytes X has read are seen through views, not read again
 * (a cache's new rows, a run of its points in fill order).
 */
export function rowRangeWithByteForm(X: RowsWithByteForm, start: number, end: number): RowsWithByteForm {
  const d = X.cols;
  const rows = { data: X.data.subarray(start * d, end * d), rows: end - start, cols: d };
  return carryingBytes(X, rows, ({ values, squares, sums }) => ({
    values: values.subarray(start * d, end * d),
    squares: squares.subarray(start, end),
    sums: sums.subarray(start, end),
  }));
}

/**
 * `rows` (some of X's) keeping, per divisor, `pick` of the bytes X has read. A divisor over which
 * some of X's rows are no bytes is left out: these rows may still be, and are read if asked.
 */
function carryingBytes(X: RowsWithByteForm, rows: Matrix, pick: (read: ReadBytes) => ReadBytes): RowsWithByteForm {
  const carried = withByteForm(rows);
  for (const [divisor, forms] of X[BYTE_FORMS]) if (forms) carried[BYTE_FORMS].set(divisor, { read: pick(forms.read) });
  return carried;
}

/** X's bytes over `divisor`: kept on rows from withByteForm, read anew for any other matrix. */
function formsOf(X: Matrix | RowsWithByteForm, divisor: number): ByteForms | undefined {
  const kept = hasByteForm(X) ? X[BYTE_FORMS] : undefined;
  if (kept?.has(divisor)) return kept.get(divisor);
  const read = readBytes(X, divisor);
  const forms = read && { read };
  kept?.set(divisor, forms);
  return forms;
}

/** The divisor over which every value of X is a byte, or undefined (for kept rows, from the bytes they keep). */
export function byteDivisorOfRows(X: Matrix | RowsWithByteForm): number | undefined {
  return hasByteForm(X) ? BYTE_DIVISORS.find((divisor) => formsOf(X, divisor) !== undefined) : byteDivisorOf(X.data);
}

/** `X`'s rows in the byte form over `divisor`, or undefined when a value of X is not a byte over it. */
export function byteRows(X: Matrix | RowsWithByteForm, divisor: number): ByteRows | undefined {
  const forms = formsOf(X, divisor);
  if (!forms) return undefined;
  const { values, squares, sums } = forms.read;
  return (forms.rows ??= { values, terms: squares.map((square, i) => square - 256 * sums[i]) });
}

/** The centers' side of the byte form: k − 128 (n × d, int8, as the rows are laid out) and each ‖k‖² (n). */
export interface ByteColumns {
  readonly divisor: number;
  readonly values: Int8Array;
  readonly norms: Int32Array;
}

/**
 * `Y`'s rows as the byte form's centers over the first divisor over which every value of Y is a
 * byte, or undefined: one reading of Y (a scan for the divisor, then byteColumns, would read it
 * twice; kept on rows from withByteForm). A reading over a wrong divisor stops at the first value
 * that is no byte over it.
 */
export function byteColumnsOf(Y: Matrix | RowsWithByteForm): ByteColumns | undefined {
  for (const divisor of BYTE_DIVISORS) {
    const columns = byteColumns(Y, divisor);
    if (columns) return columns;
  }
  return undefined;
}

/** `Y`'s rows as the byte form's centers over `divisor` (kernel blocks' columns input), or undefined when a value of Y is not a byte over it. */
export function byteColumns(Y: Matrix | RowsWithByteForm, divisor: number): ByteColumns | undefined {
  const forms = formsOf(Y, divisor);
  if (!forms) return undefined;
  const { read } = forms;
  if (!forms.columns) {
    forms.columns = { divisor, values: shiftedBytes(read.values), norms: read.squares };
  }
  return forms.columns;
}

/**
 * k − 128 for each byte k, as int8: k with its top bit flipped, four bytes to a 32-bit word (a loop
 * of one subtraction a byte took 28–40 ms at 5 000 × 784, the filling epoch's copy of the points).
 */
function shiftedBytes(bytes: Uint8Array): Int8Array {
  const values = new Int8Array(bytes.length);
  values.set(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  const words = new Uint32Array(values.buffer, 0, values.length >> 2);
  for (let i = 0; i < words.length; i++) words[i] ^= 0x80808080;
  for (let i = words.length << 2; i < values.length; i++) values[i] ^= 0x80;
  return values;
}

/**
 * Centers j0…j1 of Z (bytes over `divisor`) as one block of a fused graph: byteColumns' values
 * transposed (d × w, the layout MatMul-like operators pre-pack) and norms.
 */
export function byteBlock(Z: Matrix, divisor: number, j0: number, j1: number): { readonly values: Int8Array; readonly norms: Int32Array } {
  const d = Z.cols;
  const w = j1 - j0;
  const columns = byteColumns({ data: Z.data.subarray(j0 * d, j1 * d), rows: w, cols: d }, divisor);
  if (!columns) throw new RangeError(`centers ${j0}…${j1 - 1} have a value that is not a byte over ${divisor}`);
  const values = new Int8Array(d * w);
  for (let j = 0; j < w; j++) for (let c = 0; c < d; c++) values[c * w + j] = columns.values[j * d + c];
  return { values, norms: columns.norms };
}
