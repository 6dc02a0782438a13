/**
 * A .npy array read as a feature table, streamed: the header first, then the data in chunks
 * straight into the output Float32Array (and the label column into a Float64Array), converting the
 * dtype, the byte order and Fortran order on the way. Peak memory is the output plus one chunk, not
 * the file plus the output; only the rows asked for are read from the source.
 */
import { KmfitError } from '../errors.js';
import type { Matrix } from '../matrix.js';
import type { ByteSource } from './byteSource.js';
import { requireFinite } from './checks.js';
import { checkNpyDataLength, decodeNpyElements, npyDataOffset, parseNpyHeader, type NpyData, type NpyHeader } from './npy.js';

/** Bytes per read; a multiple of every item size. */
const CHUNK_BYTES = 1 << 22;

export interface NpyTableRequest {
  /** Which column of a 2-D array holds the labels; default the last; 'none': all are features. */
  readonly label?: number | 'none';
  /** Read only the first `rows` rows. */
  readonly rows?: number;
  /** Bytes per read (tests use small ones to cross chunk boundaries); rounded to whole elements. */
  readonly chunkBytes?: number;
}

export interface NpyTable {
  readonly X: Matrix;
  readonly y?: Float64Array;
  /** Rows in the file, however many were read. */
  readonly totalRows: number;
}

/** The header of the .npy held by `source`, checked against the source's size. */
export async function readNpyHeader(source: ByteSource, name: string): Promise<NpyHeader> {
  const preamble = await source.read(0, 12);
  const dataOffset = npyDataOffset(preamble) ?? preamble.length;
  const header = parseNpyHeader(await source.read(0, dataOffset), name);
  checkNpyDataLength(header, source.size, name);
  return header;
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/**
 * For Fortran order, where the file holds, for each trailing index (taken in Fortran order), that
 * element of every row: `columnOf[r]` is the column (the C-order index within a flattened row) of
 * the r-th such run.
 */
function fortranColumns(trailing: readonly number[]): Int32Array {
  const columnOf = new Int32Array(product(trailing));
  for (let c = 0; c < columnOf.length; c++) {
    let rest = c;
    let r = 0;
    for (let k = trailing.length - 1; k >= 0; k--) {
      r += (rest % trailing[k]) * product(trailing.slice(0, k));
      rest = Math.floor(rest / trailing[k]);
    }
    columnOf[r] = c;
  }
  return columnOf;
}

/**
 * Streams elements [first, first + count) of the array through `sink`, one decoded chunk at a
 * time: `sink(values, firstIndex)`, which copies them out (they may be a view of the source's
 * reused read buffer). Chunks hold a whole number of `unit`s (rows, in C order).
 */
async function streamElements(
  source: ByteSource,
  header: NpyHeader,
  name: string,
  first: number,
  count: number,
  { chunkBytes, unit }: { chunkBytes: number; unit: number },
  sink: (values: NpyData, firstIndex: number) => void,
): Promise<void> {
  const itemsize = header.info.itemsize;
  const perChunk = Math.max(1, Math.floor(chunkBytes / itemsize / unit)) * unit;
  for (let done = 0; done < count; done += perChunk) {
    const n = Math.min(perChunk, count - done);
    const raw = await source.read(header.dataOffset + (first + done) * itemsize, n * itemsize);
    sink(decodeNpyElements(raw, header, name, first + done, { view: true }), first + done);
  }
}

/**
 * Reads the array as rows × width (a 2-D array, or an n × … one with each row flattened), features
 * in a Float32Array, the label column (when `labelColumn` ≥ 0) in a Float64Array.
 */
async function readColumns(
  source: ByteSource,
  header: NpyHeader,
  name: string,
  rows: number,
  labelColumn: number,
  chunkBytes: number,
): Promise<{ X: Float32Array; y?: Float64Array }> {
  const [n, ...trailing] = header.shape.length === 1 ? [header.shape[0], 1] : header.shape;
  const width = product(trailing);
  const cols = labelColumn >= 0 ? width - 1 : width;
  const X = new Float32Array(rows * cols);
  const y = labelColumn >= 0 ? new Float64Array(rows) : undefined;
  if (!header.fortranOrder || header.shape.length === 1) {
    // C order: rows are contiguous, so the first `rows` rows are one run and the features come
    // out in file order, minus the label column.
    await streamElements(source, header, name, 0, rows * width, { chunkBytes, unit: Math.max(1, width) }, (values, firstIndex) => {
      if (!y) {
        X.set(values, firstIndex);
        return;
      }
      for (let row = firstIndex / width, at = 0; at < values.length; row++, at += width) {
        y[row] = values[at + labelColumn];
        X.set(values.subarray(at, at + labelColumn), row * cols);
        X.set(values.subarray(at + labelColumn + 1, at + width), row * cols + labelColumn);
      }
    });
    return { X, y };
  }
  // Fortran order: the file holds, for each trailing index r, that element of all n rows (a run).
  const columnOf = fortranColumns(trailing);
  const put = (values: NpyData, firstIndex: number) => {
    for (let k = 0; k < values.length; k++) {
      const r = Math.floor((firstIndex + k) / n);
      const row = firstIndex + k - r * n;
      const column = columnOf[r];
      if (column === labelColumn) y![row] = values[k];
      else X[row * cols + (labelColumn >= 0 && column > labelColumn ? column - 1 : column)] = values[k];
    }
  };
  // Every row: the runs make one stretch of the file. The first `rows`: the start of each run.
  const runs = rows === n ? [[0, n * width]] : Array.from({ length: width }, (_, r) => [r * n, rows]);
  for (const [first, count] of runs) await streamElements(source, header, name, first, count, { chunkBytes, unit: 1 }, put);
  return { X, y };
}

/** Features of an n × … array (rows flattened), with its label column unless `label` is 'none'. */
export async function readNpyTable(source: ByteSource, name: string, request: NpyTableRequest = {}): Promise<NpyTable> {
  const header = await readNpyHeader(source, name);
  const { shape } = header;
  if (shape.length < 2) {
    throw new KmfitError(
      'INVALID_SHAPE',
      `${name} has shape ${shapeText(shape)}; features need a 2-D array (rows × features) or n × h × w images.`,
    );
  }
  if (shape[0] < 1) throw new KmfitError('EMPTY_DATA', `${name} has no rows (shape ${shapeText(shape)}); give a file with data.`);
  const width = product(shape.slice(1));
  let labelColumn = -1;
  if (request.label !== 'none') {
    if (shape.length !== 2) {
      throw new KmfitError(
        'INVALID_SHAPE',
        `${name} has shape ${shapeText(shape)}: a table with its label column must be 2-D; pass the labels with --labels FILE.`,
      );
    }
    labelColumn = request.label ?? width - 1;
    if (width >= 1 && (!Number.isInteger(labelColumn) || labelColumn < 0 || labelColumn >= width)) {
      throw new KmfitError('INVALID_OPTION', `${name} has columns 0…${width - 1}; --label ${String(request.label)} is not one of them.`);
    }
  }
  const cols = request.label === 'none' ? width : width - 1;
  if (cols < 1) throw new KmfitError('EMPTY_DATA', `${name} has no feature columns besides the label; give a table with features.`);
  const rows = Math.min(shape[0], request.rows ?? shape[0]);
  const { X, y } = await readColumns(source, header, name, rows, labelColumn, request.chunkBytes ?? CHUNK_BYTES);
  requireFinite(X, cols, 'value', name);
  if (y) requireFinite(y, 1, 'label', name);
  return { X: { data: X, rows, cols }, y, totalRows: shape[0] };
}

/** A 1-D array (or n × 1) of labels. */
export async function readNpyLabels(source: ByteSource, name: string, request: { rows?: number; chunkBytes?: number } = {}): Promise<{ y: Float64Array; totalRows: number }> {
  const header = await readNpyHeader(source, name);
  const { shape } = header;
  if (shape.length !== 1 && !(shape.length === 2 && shape[1] === 1)) {
    throw new KmfitError('INVALID_SHAPE', `${name} has shape ${shapeText(shape)}; labels need one value per row (a 1-D array).`);
  }
  const rows = Math.min(shape[0], request.rows ?? shape[0]);
  // One column, all of it the label: the features come out empty.
  const { y } = await readColumns(source, header, name, rows, 0, request.chunkBytes ?? CHUNK_BYTES);
  requireFinite(y!, 1, 'label', name);
  return { y: y!, totalRows: shape[0] };
}
