/**
 * libsvm / svmlight text, densified: one example per line,
 *   <label> [qid:<n>] <index>:<value> <index>:<value> … [# comment]
 * with numeric labels, 1-based feature indices that increase along a line, and absent features
 * zero. Lines that are blank or start with '#' are skipped; a query id is read and ignored (kmfit
 * does not rank). The feature count is the largest index, unless the caller fixes it (a test or
 * prediction file is densified to the training width, and an index beyond it is an error).
 *
 * Hand-written: npm has no maintained svmlight reader (only wrappers of the libsvm/svmlight
 * programs), and the format is a few tokens a line. Lines come from node:readline over a file
 * stream; the non-zeros are kept as they are read (typed arrays, CSR) and densified into one
 * Float32Array at the end, when the width is known.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { KmfitError } from '../errors.js';
import type { Matrix } from '../matrix.js';
import { hostMemory } from '../solver/memory.js';
import { Growable } from './growable.js';

export interface LibsvmTable {
  readonly X: Matrix;
  readonly y: Float64Array;
}

export interface LibsvmOptions {
  /** Densify to this many features (the training width); an index above it is an error. */
  readonly features?: number;
}

/** A decimal number as libsvm files write them (no hex, no 'nan' or 'inf'). */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_INDEX = 2 ** 31 - 1;

/**
 * How much larger than the file its dense float32 form may be. A feature index costs a line a few
 * bytes but every row 4: `1 2147483647:1` asks for 8 GiB. Text data in libsvm form (rcv1, 0.16 %
 * non-zero) densifies to a few hundred times its size; beyond 1000 the file is mostly columns that
 * no row uses, which a dense kernel machine cannot afford. Small files may always densify to
 * DENSE_FLOOR_BYTES.
 */
const DENSE_PER_FILE_BYTE = 1000;
const DENSE_FLOOR_BYTES = 64 * 2 ** 20;

/** The whitespace-separated tokens of a line, comment removed; [] for a blank or comment line. */
function tokensOf(line: string): string[] {
  const hash = line.indexOf('#');
  const content = (hash >= 0 ? line.slice(0, hash) : line).trim();
  return content === '' ? [] : content.split(/\s+/);
}

/**
 * Whether the start of a text file reads as libsvm: its first data lines (up to ten) are
 * whitespace-separated tokens without CSV delimiters, each line of several tokens has an
 * index:value (or qid:n) among them after the first, and at least one line has several.
 * (Malformed pairs still count, so that the reader can say what is wrong with them.) A start of
 * nothing but '#' comments counts too.
 * `complete`: `head` is the whole file (else its last, possibly cut, line is not looked at).
 */
export function looksLikeLibsvm(head: string, complete: boolean): boolean {
  const lines = head.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (!complete) lines.pop();
  let pairs = false;
  let seen = 0;
  let comments = 0;
  for (const line of lines) {
    const tokens = tokensOf(line);
    if (line.trimStart().startsWith('#')) comments++;
    if (tokens.length === 0) continue;
    if (tokens.length > 1 && (/[,;]/.test(line) || !tokens.slice(1).some((t) => t.includes(':')))) return false;
    pairs ||= tokens.length > 1;
    if (++seen === 10) break;
  }
  // Nothing but '#' comments: libsvm's, which CSV does not have (the reader then says it is empty).
  return pairs || (seen === 0 && comments > 0);
}

/** Reads a libsvm file; errors name the file, the line and what to fix (INVALID_FILE, EMPTY_DATA). */
export async function readLibsvm(file: string, name: string, options: LibsvmOptions = {}): Promise<LibsvmTable> {
  const fail = (line: number, problem: string): never => {
    throw new KmfitError('INVALID_FILE', `${name}, line ${line}: ${problem}`);
  };
  const labels = new Growable((n) => new Float64Array(n));
  const rowEnds = new Growable((n) => new Float64Array(n)); // offsets into columns/values
  const columns = new Growable((n) => new Int32Array(n), 4096);
  const values = new Growable((n) => new Float32Array(n), 4096);
  let widest = 0;
  let widestLine = 0;
  let lineNumber = 0;
  const input = createReadStream(file);
  try {
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      lineNumber++;
      const tokens = tokensOf(lineNumber === 1 ? text.replace(/^\uFEFF/, '') : text);
      if (tokens.length === 0) continue;
      const label = tokens[0];
      if (label.includes(':')) fail(lineNumber, `the line starts with "${label}", not a label; each line is <label> [qid:N] index:value …`);
      if (!NUMBER.test(label)) fail(lineNumber, `the label "${label}" is not a number; each line starts with one numeric label.`);
      let k = 1;
      if (tokens[k]?.startsWith('qid:')) {
        if (!/^qid:\d+$/.test(tokens[k])) fail(lineNumber, `"${tokens[k]}" is not a query id; write qid:<whole number>.`);
        k++;
      }
      let previous = 0;
      for (; k < tokens.length; k++) {
        const token = tokens[k];
        const colon = token.indexOf(':');
        if (colon < 0) fail(lineNumber, `"${token}" is not an index:value pair; write features as index:value, e.g. 3:0.25.`);
        const indexText = token.slice(0, colon);
        const valueText = token.slice(colon + 1);
        if (!/^\d+$/.test(indexText)) fail(lineNumber, `the feature index "${indexText}" is not a whole number; indices are 1, 2, 3, …`);
        const index = Number(indexText);
        if (index === 0) {
          fail(
            lineNumber,
            'feature index 0, but libsvm indices start at 1; if the file is 0-based, add 1 to every index ' +
              '(scikit-learn: dump_svmlight_file(..., zero_based=False)).',
          );
        }
        if (index <= previous) fail(lineNumber, `feature index ${index} comes after ${previous}; indices must increase along a line (sort them, without repeats).`);
        if (index > MAX_INDEX) fail(lineNumber, `feature index ${index} is too large (at most ${MAX_INDEX}).`);
        if (options.features !== undefined && index > options.features) {
          fail(
            lineNumber,
            `feature index ${index} is beyond the ${options.features} features of the training data; ` +
              `a test or prediction file must use the training file's indices (1…${options.features}).`,
          );
        }
        const value = Math.fround(Number(valueText));
        if (!NUMBER.test(valueText) || !Number.isFinite(value)) {
          fail(lineNumber, `feature ${index} has the value "${valueText}", which is not a finite number; write index:value with a number.`);
        }
        previous = index;
        if (value === 0) continue;
        columns.push(index - 1);
        values.push(value);
      }
      if (previous > widest) [widest, widestLine] = [previous, lineNumber];
      labels.push(Number(label));
      rowEnds.push(values.length);
    }
  } catch (error) {
    if (error instanceof KmfitError) throw error;
    throw new KmfitError('IO_ERROR', `${name} could not be read (${(error as Error).message}); check the file.`, { cause: error });
  } finally {
    input.destroy();
  }
  const rows = labels.length;
  if (rows === 0) throw new KmfitError('EMPTY_DATA', `${name} has no data lines (only blank lines or comments); give a file with data.`);
  const cols = options.features ?? widest;
  if (cols < 1) throw new KmfitError('EMPTY_DATA', `${name} has no features (no index:value pairs on any line); give a file with features.`);
  checkDenseSize(rows, cols, (await stat(file)).size, options.features === undefined ? widestLine : undefined, name);
  return { X: densify(rows, cols, rowEnds.view(), columns.view(), values.view(), name), y: labels.trimmed() };
}

/**
 * Refuses, before allocating, a dense matrix out of proportion to the file (see
 * DENSE_PER_FILE_BYTE) or larger than the memory available. `widestLine`: where the largest index
 * is (when the file's own indices set the width).
 */
function checkDenseSize(rows: number, cols: number, fileBytes: number, widestLine: number | undefined, name: string): void {
  const bytes = rows * cols * 4;
  const gib = (b: number) => (b / 2 ** 30).toFixed(b < 2 ** 30 / 10 ? 3 : 1);
  const shape = `${rows} rows × ${cols} features${widestLine ? ` (feature index ${cols} on line ${widestLine})` : ''}`;
  if (bytes > Math.max(DENSE_FLOOR_BYTES, DENSE_PER_FILE_BYTE * fileBytes)) {
    throw new KmfitError(
      'INVALID_FILE',
      `${name}: ${shape} take ${gib(bytes)} GiB as dense float32, more than ${DENSE_PER_FILE_BYTE} times the file's ` +
        `${fileBytes} bytes: almost every column is unused. Renumber the features that occur as 1, 2, 3, … (or drop the rare ones).`,
    );
  }
  const memory = hostMemory();
  if (memory && bytes > memory.bytes) {
    throw new KmfitError(
      'INSUFFICIENT_MEMORY',
      `${name}: ${shape} take ${gib(bytes)} GiB as dense float32, more than ${memory.source}; ` +
        'kmfit trains on dense data: reduce the features (the largest index) or the rows.',
    );
  }
}

function densify(rows: number, cols: number, rowEnds: Float64Array, columns: Int32Array, values: Float32Array, name: string): Matrix {
  let data: Float32Array;
  try {
    data = new Float32Array(rows * cols);
  } catch (error) {
    const gib = (rows * cols * 4) / 2 ** 30;
    throw new KmfitError(
      'INVALID_FILE',
      `${name}: ${rows} rows × ${cols} features need ${gib.toFixed(1)} GiB as dense float32, more than can be allocated; ` +
        'kmfit trains on dense data: reduce the features (the largest index) or the rows.',
      { cause: error },
    );
  }
  let start = 0;
  for (let i = 0; i < rows; i++) {
    const end = rowEnds[i];
    for (let p = start; p < end; p++) data[i * cols + columns[p]] = values[p];
    start = end;
  }
  return { data, rows, cols };
}
