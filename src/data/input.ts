import { KmfitError, describeValue } from '../errors.js';
import type { Matrix } from '../matrix.js';

/**
 * The parts of a scijs `ndarray` that kmfit reads: element (i, j) of a 2-D ndarray is
 * `data[offset + i·stride[0] + j·stride[1]]` (or `data.get(that index)` for ndarray's "generic"
 * storage, which has no numeric index). Views with any strides, including negative ones and
 * transposes, are read correctly.
 */
export interface NdArrayLike {
  readonly data: ArrayLike<number> | GenericStorage;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly offset: number;
}

/** ndarray's "generic" storage: an object read through `get(i)` instead of `[i]`. */
export interface GenericStorage {
  get(index: number): number;
  readonly length: number;
}

/** Flat row-major data with an explicit shape [rows, cols]. */
export interface ShapedInput {
  readonly data: ArrayLike<number>;
  readonly shape: readonly [number, number] | readonly number[];
}

/**
 * Flat row-major data with its row and column counts: kmfit's own matrices, as the dataset
 * loaders (loadMnist, loadFashionMnist) return them.
 */
export interface RowsColsInput {
  readonly data: ArrayLike<number>;
  readonly rows: number;
  readonly cols: number;
}

/**
 * What users may pass as X: rows of numbers (`number[][]`, or an array of typed arrays), flat
 * row-major data with a shape (`{ data, shape: [n, d] }`, or `{ data, rows, cols }` as the dataset
 * loaders give it; data a plain or typed array), or a 2-D scijs ndarray (any strides/offset).
 */
export type MatrixInput = ReadonlyArray<ArrayLike<number>> | ShapedInput | RowsColsInput | NdArrayLike;

const ACCEPTED_FORMS =
  'accepted forms are an array of rows (number[][] or an array of typed arrays), ' +
  '{ data, shape: [rows, cols] } or { data, rows, cols } with row-major data (a plain or typed array), or a 2-D ndarray';

/** Largest finite float32, for overflow messages. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Converts any accepted input form to kmfit's float32 row-major Matrix. The result is always a
 * fresh copy: later changes to `input` do not affect it, and kmfit never writes into `input`.
 *
 * `what` names the input in error messages ('X', 'validation.X', …).
 *
 * Errors (all KmfitError):
 * - INVALID_SHAPE: not one of the accepted forms; rank other than 2 (a 1-D array included);
 *   ragged rows; a shape whose product is not data.length; a shape beside rows or cols that
 *   disagree with it; a non-number entry in a plain array.
 * - EMPTY_DATA: 0 rows or 0 columns.
 * - NON_FINITE: NaN, ±Infinity, or a finite value too large for float32 (|v| > 3.4e38, which
 *   becomes ±Infinity when converted); the message names the first such entry by 0-based row and
 *   column (row-major order), and its value.
 */
export function toMatrix(input: MatrixInput, what: string, { copy = true }: { copy?: boolean } = {}): Matrix {
  if (input === null || typeof input !== 'object') {
    throw new KmfitError(
      'INVALID_SHAPE',
      `${what} is ${describeValue(input)}, not a matrix; ${ACCEPTED_FORMS}.`,
    );
  }
  checkShapeAgreesWithRowsCols(input, what);
  if (isNdArrayLike(input)) return fromNdArray(input, what);
  if (isArrayLikeObject(input)) return fromRows(input, what);
  if (isShapedInput(input)) return fromShaped(input, what, copy);
  if (isRowsColsInput(input)) return fromShaped({ data: input.data, shape: [input.rows, input.cols] }, what, copy);
  throw new KmfitError(
    'INVALID_SHAPE',
    `${what} is ${describeValue(input)}, which kmfit does not recognise as a matrix; ${ACCEPTED_FORMS}.`,
  );
}

/**
 * An object with a shape and rows or cols as well (kmfit's Matrix spread into `{ ...m, shape }`,
 * say): they must agree, else which of them the caller meant is a guess.
 * @throws KmfitError INVALID_SHAPE naming both.
 */
export function checkShapeAgreesWithRowsCols(input: object, what: string): void {
  if (!('shape' in input) || !Array.isArray(input.shape)) return;
  const { shape } = input;
  const rows = 'rows' in input ? input.rows : undefined;
  const cols = 'cols' in input ? input.cols : undefined;
  if (rows === undefined && cols === undefined) return;
  // A 1-D shape [n] (labels) is n rows of one column.
  const [shapeRows, shapeCols] = shape.length === 1 ? [shape[0], 1] : shape;
  if (shape.length <= 2 && (rows === undefined || rows === shapeRows) && (cols === undefined || cols === shapeCols)) return;
  const given = [rows !== undefined && `rows ${describeValue(rows)}`, cols !== undefined && `cols ${describeValue(cols)}`].filter(Boolean).join(' and ');
  throw new KmfitError(
    'INVALID_SHAPE',
    `${what} has shape [${shape.map(String).join(', ')}] but ${given}, which disagree; give either shape or rows and cols, not both.`,
  );
}

/** True for a scijs ndarray or anything shaped like one (data, shape, stride, offset). */
export function isNdArrayLike(value: unknown): value is NdArrayLike {
  if (value === null || typeof value !== 'object') return false;
  if (!('data' in value && 'shape' in value && 'stride' in value && 'offset' in value)) return false;
  return Array.isArray(value.shape) && Array.isArray(value.stride) && typeof value.offset === 'number';
}

/** True for `{ data, shape }` (that is not an ndarray). */
export function isShapedInput(value: unknown): value is ShapedInput {
  if (value === null || typeof value !== 'object') return false;
  if (!('data' in value && 'shape' in value)) return false;
  return Array.isArray(value.shape) && isArrayLikeObject(value.data);
}

/** True for `{ data, rows, cols }` (kmfit's Matrix, from the dataset loaders). */
export function isRowsColsInput(value: unknown): value is RowsColsInput {
  if (value === null || typeof value !== 'object') return false;
  if (!('data' in value && 'rows' in value && 'cols' in value) || 'shape' in value) return false;
  return typeof value.rows === 'number' && typeof value.cols === 'number' && isArrayLikeObject(value.data);
}

/** Arrays, typed arrays and other objects with a numeric length (not strings). */
export function isArrayLikeObject(value: unknown): value is ArrayLike<unknown> {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return true;
  if (ArrayBuffer.isView(value)) return !(value instanceof DataView);
  return 'length' in value && typeof value.length === 'number' && !('shape' in value);
}

export function isGenericStorage(data: ArrayLike<number> | GenericStorage): data is GenericStorage {
  return (
    !Array.isArray(data) &&
    !ArrayBuffer.isView(data) &&
    'get' in data &&
    typeof data.get === 'function'
  );
}

function isBigIntArray(value: unknown): boolean {
  return value instanceof BigInt64Array || value instanceof BigUint64Array;
}

function notTwoD(what: string, found: string): KmfitError {
  return new KmfitError(
    'INVALID_SHAPE',
    `${what} must be 2-D (n×d), but ${found}; for one feature, pass [[x1],[x2],…] or shape [n, 1].`,
  );
}

function emptyError(what: string, rows: number, cols: number): KmfitError {
  return new KmfitError(
    'EMPTY_DATA',
    `${what} is empty: it has ${rows} row${rows === 1 ? '' : 's'} and ${cols} column${cols === 1 ? '' : 's'}; ` +
      `pass at least one row with at least one feature.`,
  );
}

function nonFiniteError(what: string, row: number, col: number, value: unknown): KmfitError {
  const isOverflow = typeof value === 'number' && Number.isFinite(value);
  const detail = isOverflow
    ? `${String(value)}, which is too large for float32 (|v| > 3.4e38) and would become ${value > 0 ? '' : '-'}Infinity`
    : describeValue(value);
  return new KmfitError(
    'NON_FINITE',
    `${what} has a non-finite value at row ${row}, column ${col} (0-based): ${detail}; ` +
      `remove or impute such values (kmfit needs every entry finite, |v| ≤ ${FLOAT32_MAX.toPrecision(5)}).`,
  );
}

/**
 * Index of the first NaN/±Infinity in `data`, or -1. `v - v` is 0 for every finite number and NaN
 * for NaN and ±Infinity, so one subtraction and compare per entry.
 */
export function firstNonFinite(data: Float32Array | Float64Array): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) return i;
  }
  return -1;
}

type NumericTypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

function isNumericTypedArray(data: unknown): data is NumericTypedArray {
  return data instanceof Float32Array || data instanceof Float64Array || isIntegerTypedArray(data);
}

/** Integer typed arrays cannot hold non-finite values, and all fit float32's range. */
function isIntegerTypedArray(data: unknown): boolean {
  return (
    data instanceof Uint8Array ||
    data instanceof Int8Array ||
    data instanceof Uint8ClampedArray ||
    data instanceof Uint16Array ||
    data instanceof Int16Array ||
    data instanceof Uint32Array ||
    data instanceof Int32Array
  );
}

function fromRows(rows: ArrayLike<unknown>, what: string): Matrix {
  const n = rows.length;
  if (isBigIntArray(rows)) {
    throw new KmfitError(
      'INVALID_SHAPE',
      `${what} is ${describeValue(rows)} (bigint values) with no shape; ${what} must be 2-D (n×d) numbers: ` +
        `convert to a Float64Array and pass { data, shape: [n, d] }.`,
    );
  }
  if (n === 0) throw emptyError(what, 0, 0);
  const first = rows[0];
  if (!isArrayLikeObject(first)) {
    if (typeof first === 'number' || ArrayBuffer.isView(rows)) {
      throw notTwoD(what, `it is a flat ${Array.isArray(rows) ? 'array' : rows.constructor.name} of ${n} numbers`);
    }
    throw new KmfitError(
      'INVALID_SHAPE',
      `${what}[0] is ${describeValue(first)}, not a row of numbers; ${ACCEPTED_FORMS}.`,
    );
  }
  const d = first.length;
  // Shape checks first, so that a ragged input is reported as such rather than half-copied.
  const rowList: ArrayLike<unknown>[] = new Array(n);
  rowList[0] = first;
  for (let i = 1; i < n; i++) {
    const row = rows[i];
    if (!isArrayLikeObject(row)) {
      throw new KmfitError(
        'INVALID_SHAPE',
        `${what} row ${i} (0-based) is ${describeValue(row)}, not a row of numbers; every row must be an array of ${d} numbers.`,
      );
    }
    if (row.length !== d) {
      throw new KmfitError(
        'INVALID_SHAPE',
        `${what} has ragged rows: row ${i} has ${row.length} values, row 0 has ${d} (0-based rows); ` +
          `every row must have the same number of features.`,
      );
    }
    rowList[i] = row;
  }
  if (d === 0) throw emptyError(what, n, 0);

  const out = new Float32Array(n * d);
  let needScan = false;
  for (let i = 0; i < n; i++) {
    const row = rowList[i];
    const base = i * d;
    if (ArrayBuffer.isView(row)) {
      if (!isNumericTypedArray(row)) {
        throw new KmfitError(
          'INVALID_SHAPE',
          `${what} row ${i} (0-based) is ${describeValue(row)}, not a numeric typed array; convert it to a Float64Array or number[].`,
        );
      }
      out.set(row, base);
      if (!isIntegerTypedArray(row)) needScan = true;
    } else {
      needScan = true;
      for (let j = 0; j < d; j++) {
        const v = row[j];
        if (typeof v !== 'number') {
          throw new KmfitError(
            'INVALID_SHAPE',
            `${what} has a non-number at row ${i}, column ${j} (0-based): ${describeValue(v)}; ` +
              `every entry must be a number (convert strings with Number(), drop or impute missing values).`,
          );
        }
        out[base + j] = v;
      }
    }
  }
  if (needScan) {
    const bad = firstNonFinite(out);
    if (bad >= 0) {
      const i = Math.floor(bad / d);
      const j = bad - i * d;
      throw nonFiniteError(what, i, j, rowList[i][j]);
    }
  }
  return { data: out, rows: n, cols: d };
}

/** Validates a rank-2 shape and returns [rows, cols]. */
function checkShape(shape: readonly unknown[], what: string, form: string): [number, number] {
  if (shape.length !== 2) {
    if (shape.length === 1) throw notTwoD(what, `${form} has shape [${shape.join(', ')}] (1-D)`);
    throw new KmfitError(
      'INVALID_SHAPE',
      `${what} must be 2-D (n×d), but ${form} has shape [${shape.join(', ')}] (rank ${shape.length}); ` +
        `reshape it to [rows, features].`,
    );
  }
  return [shapeEntry(shape, 0, what), shapeEntry(shape, 1, what)];
}

function shapeEntry(shape: readonly unknown[], k: number, what: string): number {
  const s = shape[k];
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) {
    throw new KmfitError(
      'INVALID_SHAPE',
      `${what}'s shape[${k}] is ${describeValue(s)}; shape must be [rows, cols] with non-negative integers.`,
    );
  }
  return s;
}

/** `copy` false: a Float32Array is used as it is (checked, not converted). */
function fromShaped(input: ShapedInput, what: string, copy = true): Matrix {
  const { data } = input;
  if (isBigIntArray(data)) {
    throw new KmfitError(
      'INVALID_SHAPE',
      `${what}.data is ${describeValue(data)} of bigint values; convert it to a Float64Array or Float32Array.`,
    );
  }
  const [n, d] = checkShape(input.shape, what, `{ data, shape }`);
  if (n * d !== data.length) {
    throw new KmfitError(
      'INVALID_SHAPE',
      `${what} has shape [${n}, ${d}] (${n * d} values) but its data has ${data.length} values; ` +
        `the product of the shape must equal data.length (row-major).`,
    );
  }
  if (n === 0 || d === 0) throw emptyError(what, n, d);

  let out: Float32Array;
  if (!copy && data instanceof Float32Array) {
    out = data;
  } else if (ArrayBuffer.isView(data)) {
    out = new Float32Array(data); // copies and converts in native code
    if (isIntegerTypedArray(data)) return { data: out, rows: n, cols: d };
  } else {
    out = new Float32Array(n * d);
    for (let k = 0; k < out.length; k++) {
      const v = data[k];
      if (typeof v !== 'number') {
        const i = Math.floor(k / d);
        throw new KmfitError(
          'INVALID_SHAPE',
          `${what} has a non-number at row ${i}, column ${k - i * d} (0-based; data[${k}]): ${describeValue(v)}; ` +
            `every entry must be a number (convert strings with Number(), drop or impute missing values).`,
        );
      }
      out[k] = v;
    }
  }
  const bad = firstNonFinite(out);
  if (bad >= 0) {
    const i = Math.floor(bad / d);
    throw nonFiniteError(what, i, bad - i * d, data[bad]);
  }
  return { data: out, rows: n, cols: d };
}

function fromNdArray(input: NdArrayLike, what: string): Matrix {
  const { data } = input;
  const [n, d] = checkShape(input.shape, what, 'the ndarray');
  if (input.stride.length !== 2 || !input.stride.every((s) => Number.isInteger(s))) {
    throw new KmfitError(
      'INVALID_SHAPE',
      `${what} is an ndarray with stride [${input.stride.join(', ')}]; a 2-D ndarray needs two integer strides.`,
    );
  }
  if (n === 0 || d === 0) throw emptyError(what, n, d);
  const [s0, s1] = input.stride;
  const offset = input.offset;
  if (isBigIntArray(data)) {
    throw new KmfitError(
      'INVALID_SHAPE',
      `${what} is an ndarray over bigint data; convert its data to a Float64Array or Float32Array.`,
    );
  }
  // Every index the view can reach must lie inside data.
  const lo = offset + Math.min(0, (n - 1) * s0) + Math.min(0, (d - 1) * s1);
  const hi = offset + Math.max(0, (n - 1) * s0) + Math.max(0, (d - 1) * s1);
  if (!Number.isInteger(offset) || lo < 0 || hi >= data.length) {
    throw new KmfitError(
      'INVALID_SHAPE',
      `${what} is an ndarray whose shape [${n}, ${d}], stride [${s0}, ${s1}] and offset ${offset} reach ` +
        `indices ${lo}…${hi}, outside its data (length ${data.length}); build it with ndarray(data, shape).`,
    );
  }

  const out = new Float32Array(n * d);
  if (isGenericStorage(data)) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) out[i * d + j] = data.get(offset + i * s0 + j * s1);
    }
  } else if (isNumericTypedArray(data) && s1 === 1 && s0 === d) {
    // Contiguous row-major view: one native copy and conversion.
    out.set(data.subarray(offset, offset + n * d));
  } else {
    for (let i = 0; i < n; i++) {
      const rowBase = offset + i * s0;
      const outBase = i * d;
      for (let j = 0; j < d; j++) {
        const v = data[rowBase + j * s1];
        if (typeof v !== 'number') {
          throw new KmfitError(
            'INVALID_SHAPE',
            `${what} has a non-number at row ${i}, column ${j} (0-based): ${describeValue(v)}; ` +
              `every entry must be a number.`,
          );
        }
        out[outBase + j] = v;
      }
    }
  }
  if (!isIntegerTypedArray(data)) {
    const bad = firstNonFinite(out);
    if (bad >= 0) {
      const i = Math.floor(bad / d);
      const j = bad - i * d;
      const idx = offset + i * s0 + j * s1;
      throw nonFiniteError(what, i, j, isGenericStorage(data) ? data.get(idx) : data[idx]);
    }
  }
  return { data: out, rows: n, cols: d };
}
