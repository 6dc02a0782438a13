/**
 * Reading a user's data file for training and prediction, chosen by content: .npy (streamed,
 * npyTable.ts), .npz (Keras layout or X, y), IDX (plain or gzip), libsvm text (libsvm.ts) and
 * CSV/TSV (delimited.ts).
 */
import path from 'node:path';
import { isGzip, readIdx } from './idx.js';
import { KmfitError } from '../errors.js';
import type { Matrix } from '../matrix.js';
import { memorySource, openFileSource, type ByteSource } from './byteSource.js';
import { requireFinite } from './checks.js';
import { readDelimited } from './delimited.js';
import { looksLikeLibsvm, readLibsvm } from './libsvm.js';
import { isNpy } from './npy.js';
import { readNpyLabels, readNpyTable } from './npyTable.js';
import { looksLikeZip, openNpz } from './npz.js';

export interface LabeledData {
  /** Features, Float32 row-major, n × d. */
  readonly X: Matrix;
  /** One label per row: numbers, or strings (CSV labels that are not numbers); absent when none. */
  readonly y?: Float64Array | string[];
  /** Where it came from, for messages: e.g. 'digits.npy' or 'mnist.npz: x_test'. */
  readonly source: string;
  /** The label column's name, where the file names it (a CSV header): what messages about the labels call them. */
  readonly labelName?: string;
}

export interface DataFile {
  readonly train: LabeledData;
  /** A test split stored in the same file (a Keras .npz with x_test, y_test). */
  readonly test?: LabeledData;
}

export interface ReadOptions {
  /** A separate labels file (1-D .npy or IDX labels). */
  readonly labels?: string;
  /**
   * Which column holds the label in a 2-D table (.npy, CSV/TSV): a 0-based index or, in a CSV with
   * a header, a column name; default the last column. 'none': every column is a feature. (A
   * libsvm file has its label first on every line.)
   */
  readonly label?: string | number;
  /**
   * Keep only the first `rows` rows of the training part. A .npy or CSV file is read no further
   * than that, so memory goes to those rows only.
   */
  readonly rows?: number;
  /**
   * The feature count to densify a libsvm file to: the training data's, for a test or prediction
   * file (which may not use every feature). Other formats carry their width themselves.
   */
  readonly features?: number;
}

/** How much of a file format detection looks at. */
const HEAD_BYTES = 65536;

/** A part read from a file, with its row count before any `rows` limit (for label-length checks). */
interface Part {
  readonly data: LabeledData;
  readonly totalRows: number;
}

function looksLikeText(head: Uint8Array): boolean {
  return head.subarray(0, 512).every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128);
}

function looksLikeIdx(head: Uint8Array): boolean {
  return isGzip(head) || (head.length >= 4 && head[0] === 0 && head[1] === 0 && head[3] >= 1 && head[3] <= 4);
}

/** The first `rows` rows, copied so that the rest of a large array can be freed. */
export function firstRows(data: LabeledData, rows: number | undefined): LabeledData {
  if (rows === undefined || rows >= data.X.rows) return data;
  const { cols } = data.X;
  return { ...data, X: { data: data.X.data.slice(0, rows * cols), rows, cols }, y: data.y?.slice(0, rows) };
}

function attachLabels(part: Part, labels: { y: Float64Array; totalRows: number }, labelSource: string): Part {
  if (labels.totalRows !== part.totalRows) {
    throw new KmfitError(
      'LENGTH_MISMATCH',
      `${labelSource} has ${labels.totalRows} labels but ${part.data.source} has ${part.totalRows} rows; they must match.`,
    );
  }
  return { ...part, data: { ...part.data, y: labels.y.subarray(0, part.data.X.rows) } };
}

/** A .npy table's label option: a column index (a .npy has no column names) or 'none'. */
function npyLabel(label: string | number | undefined, name: string): number | 'none' | undefined {
  if (typeof label === 'string' && label !== 'none') {
    throw new KmfitError('INVALID_OPTION', `${name} is a .npy file, whose columns have no names; give --label a 0-based column index.`);
  }
  return label;
}

async function npyPart(source: ByteSource, name: string, label: number | 'none' | undefined, rows: number | undefined): Promise<Part> {
  const table = await readNpyTable(source, name, { label, rows });
  return { data: { X: table.X, y: table.y, source: name }, totalRows: table.totalRows };
}

/**
 * Keras layout (x_train, y_train[, x_test, y_test]) or X, y; members decoded straight to Float32.
 * Only those members are inflated: others in the archive are never read.
 */
async function fromNpz(archive: ReturnType<typeof openNpz>, file: string, rows: number | undefined): Promise<{ train: Part; test?: Part }> {
  const members = new Map<string, string>(); // array name → member name
  for (const member of archive.names) members.set(member.replace(/\.npy$/, ''), member);
  const pick = (...keys: string[]) => keys.find((k) => members.has(k));
  const source = (array: string) => memorySource(archive.read(members.get(array)!));
  const part = async (x: string, y: string | undefined, limit: number | undefined): Promise<Part> => {
    const features = await npyPart(source(x), `${file}: ${x}`, 'none', limit);
    if (y === undefined) return features;
    return attachLabels(features, await readNpyLabels(source(y), `${file}: ${y}`, { rows: limit }), `${file}: ${y}`);
  };
  const xTrain = pick('x_train', 'X', 'x');
  if (!xTrain) {
    throw new KmfitError(
      'INVALID_FILE',
      `${file} holds ${[...members.keys()].join(', ') || 'no arrays'}; expected x_train, y_train[, x_test, y_test] (Keras) or X, y: save it with those names.`,
    );
  }
  const train = await part(xTrain, pick('y_train', 'y', 'Y'), rows);
  return members.has('x_test') ? { train, test: await part('x_test', pick('y_test'), undefined) } : { train };
}

/** IDX images or vectors: each row flattened to features. */
function fromIdx(bytes: Uint8Array, name: string): Part {
  const { data, shape } = readIdx(bytes, name);
  if (shape.length < 2 || shape[0] < 1) {
    throw new KmfitError('INVALID_SHAPE', `${name} has shape [${shape.join(', ')}]; features need n × d rows or n × h × w images (pass a labels file with --labels).`);
  }
  const rows = shape[0];
  const cols = data.length / rows;
  const X = Float32Array.from(data);
  requireFinite(X, cols, 'value', name);
  return { data: { X: { data: X, rows, cols }, source: name }, totalRows: rows };
}

/** A labels file: a 1-D .npy (streamed) or IDX labels (plain or gzip). */
async function readLabelsFile(file: string): Promise<{ y: Float64Array; totalRows: number }> {
  const name = path.basename(file);
  const source = await openFileSource(file, name);
  try {
    const head = await source.read(0, 6);
    if (isNpy(head)) return await readNpyLabels(source, name);
    if (!looksLikeIdx(head)) {
      throw new KmfitError(
        'INVALID_FILE',
        `${name} is neither a .npy nor an IDX file; --labels takes a 1-D .npy or IDX labels file (labels in a CSV are a column of the data file: name it with --label).`,
      );
    }
    const { data, shape } = readIdx(await source.read(0, source.size), name);
    if (shape.length !== 1) {
      throw new KmfitError('INVALID_SHAPE', `${name} has shape [${shape.join(', ')}]; labels need one value per row (a 1-D array).`);
    }
    const y = Float64Array.from(data);
    requireFinite(y, 1, 'label', name);
    return { y, totalRows: shape[0] };
  } finally {
    await source.close();
  }
}

async function readText(file: string, name: string, head: Uint8Array, complete: boolean, options: ReadOptions): Promise<Part> {
  const text = new TextDecoder().decode(head);
  if (looksLikeLibsvm(text, complete)) {
    if (options.label !== undefined && options.label !== 'none') {
      throw new KmfitError('INVALID_OPTION', `${name} is libsvm text, whose label is first on every line; drop --label.`);
    }
    const table = await readLibsvm(file, name, { features: options.features });
    return { data: { X: table.X, y: table.y, source: name }, totalRows: table.X.rows };
  }
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0];
  // With a labels file, every row is read: its length is checked against the file's.
  const table = await readDelimited(file, firstLine, options.labels ? 'none' : options.label, options.labels ? undefined : options.rows);
  requireFinite(table.X.data, table.X.cols, 'value', name);
  return { data: { X: table.X, y: table.y, source: name, labelName: table.labelName }, totalRows: table.X.rows };
}

/** A label column named for a format that has none would be ignored: refused, saying why. */
function refuseLabelColumn(label: string | number | undefined, why: string): void {
  if (label !== undefined && label !== 'none') throw new KmfitError('INVALID_OPTION', `${why}; drop --label.`);
}

/**
 * @throws KmfitError: FILE_NOT_FOUND, EMPTY_DATA, INVALID_FILE (a format it does not read, an
 *   archive without the expected arrays, a bad line of text), INVALID_SHAPE, INVALID_OPTION,
 *   NON_FINITE, LENGTH_MISMATCH, IO_ERROR (truncated or damaged), each naming the file and what to do.
 */
export async function readDataFile(file: string, options: ReadOptions = {}): Promise<DataFile> {
  const name = path.basename(file);
  const source = await openFileSource(file, name);
  let train: Part;
  let test: Part | undefined;
  try {
    const head = (await source.read(0, HEAD_BYTES)).slice();
    if (isNpy(head)) {
      train = await npyPart(source, name, options.labels ? 'none' : npyLabel(options.label, name), options.rows);
    } else if (looksLikeZip(head)) {
      refuseLabelColumn(options.label, `${name} is a .npz archive, whose labels are its y arrays (y_train, y_test or y)`);
      // A zip's directory is at its end and its members may be deflated: read it whole (the
      // source is closed right after, so the bytes it returns stay ours).
      ({ train, test } = await fromNpz(openNpz(await source.read(0, source.size), name), name, options.rows));
    } else if (looksLikeIdx(head)) {
      refuseLabelColumn(options.label, `${name} is an IDX file of images, which has no label column (give the labels file with --labels)`);
      train = fromIdx(await source.read(0, source.size), name);
    } else if (looksLikeText(head)) {
      train = await readText(file, name, head, source.size <= HEAD_BYTES, options);
    } else {
      throw new KmfitError('INVALID_FILE', `${name} is not a .npy, .npz, IDX, libsvm or CSV/TSV file; give one of those.`);
    }
  } finally {
    await source.close();
  }
  if (options.labels) train = attachLabels(train, await readLabelsFile(options.labels), path.basename(options.labels));
  return { train: firstRows(train.data, options.rows), test: test?.data };
}
