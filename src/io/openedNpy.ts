/**
 * What training needs of a .npy file opened for positioned reads (io/npyFile.ts's `openNpy`, Node
 * only), apart from the file system: its interface, and the checks and fingerprints computed from
 * its rows. fit() and the checkpoint code reach files through these alone, so that they run
 * unchanged where no file can be opened (a page).
 */
import { requireFinite } from './checks.js';
import { crc32 } from '../crc32.js';

/** One step of `OpenedNpy.chunks()`: rows [start, start + rows), float32, row-major. */
export interface NpyRowChunk {
  /** The first row's index in the file. */
  readonly start: number;
  /** rows × cols values; valid until the iteration moves on (the buffer is reused): copy what must be kept. */
  readonly data: Float32Array;
  readonly rows: number;
}

/**
 * A 2-D .npy file opened for positioned reads (nothing loaded): rows are read from disk on demand
 * and converted to float32 per request. Open one with `openNpy`; close it when done.
 */
export interface OpenedNpy {
  readonly path: string;
  /** numpy's descr as in the header, e.g. '|u1', '<f4', '>i2'. */
  readonly dtype: string;
  /** Rows of this view (all the file's rows, unless made by `firstRows`). */
  readonly rows: number;
  /** Columns of this view (all the file's columns, unless made by `columns`). */
  readonly cols: number;
  /**
   * A view of columns [start, end) of this one — e.g. the features of a table whose last column
   * is the label: `file.columns(0, file.cols - 1)`. Cheap (no I/O); it shares the open file, so
   * closing either closes both.
   * @throws RangeError when [start, end) is not within 0…cols.
   */
  columns(start: number, end: number): OpenedNpy;
  /**
   * A view of this one's first `count` rows (e.g. `--train-size`). Cheap, shares the file as
   * `columns` does.
   * @throws RangeError unless 0 ≤ count ≤ rows.
   */
  firstRows(count: number): OpenedNpy;
  /**
   * Rows `indices` (any order, repeats allowed), converted to float32, row-major:
   * indices.length × cols values, in `out` when given (its length must be exactly that).
   * @throws RangeError for an index that is not a row, or an `out` of the wrong length;
   *   KmfitError IO_ERROR when the file cannot be read (or shrank since it was opened).
   */
  readRows(indices: ArrayLike<number>, out?: Float32Array): Float32Array;
  /** Rows [start, end), converted to float32 (in `out` when given). Errors as `readRows`. */
  readRange(start: number, end: number, out?: Float32Array): Float32Array;
  /**
   * The rows in order, in chunks of at most `chunkRows` rows (default: about 4 MB of float32),
   * for statistics, scaling and fingerprints. Each iteration starts again from row 0, so the
   * result can be iterated once per pass. A chunk's `data` is reused by the next chunk.
   */
  chunks(chunkRows?: number): Iterable<NpyRowChunk>;
  /**
   * Every row of a one-column view as float64, as the in-memory readers give a label column (a
   * float64 or int64 target keeps its precision; float32 would round it): `file.columns(k, k + 1)`.
   * Reads the whole file once, a piece at a time; holds n × 8 bytes.
   * @throws RangeError unless the view has exactly one column.
   */
  readColumnFloat64(): Float64Array;
  /** The bytes of rows [start, end) as stored (the file's dtype and byte order), this view's columns only. */
  readRawRange(start: number, end: number): Uint8Array;
  /** Closes the file (for every view of it); later reads throw. Closing twice is harmless. */
  close(): void;
}

/** Marks the views made by `openNpy`, from any copy of kmfit. */
export const OPENED_NPY_BRAND = Symbol.for('kmfit.OpenedNpy');

/** True for a file opened with `openNpy` (or a view of one), from any copy of kmfit. */
export function isOpenedNpy(value: unknown): value is OpenedNpy {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[OPENED_NPY_BRAND] === true;
}

/**
 * The CRC-32 of the view's rows converted to float32, as the bytes of one row-major Float32Array:
 * the value the in-memory path computes over the same data (`crc32` of X's bytes in
 * checkpoint/resume.ts), streamed one chunk at a time.
 */
export function float32Crc(file: OpenedNpy, chunkRows?: number): number {
  let crc = 0;
  for (const { data } of file.chunks(chunkRows)) crc = crc32(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), crc);
  return crc;
}

/**
 * Fails with NON_FINITE, as the in-memory readers do, when a value of the view is NaN or ±Inf
 * after conversion to float32 (a float64 beyond ±3.4e38 included), naming its row and column.
 * Streams the file once for a float dtype; integer and bool files cannot hold one and are not read.
 */
export function requireFiniteRows(file: OpenedNpy, chunkRows?: number): void {
  if (!/^[<>|=]?f/.test(file.dtype)) return;
  const name = file.path.split(/[\\/]/).pop() ?? file.path;
  for (const chunk of file.chunks(chunkRows)) requireFinite(chunk.data, file.cols, 'value', name, chunk.start);
}
