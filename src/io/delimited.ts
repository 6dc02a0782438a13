/**
 * CSV/TSV tables, parsed by csv-parse as a stream into a growing Float32Array (growable.ts; never
 * an array of JS numbers): delimiter sniffed from the first line (comma, tab, semicolon or spaces), a
 * header row detected (a first row with a cell that is neither a number nor a missing value),
 * quoted fields. Features must be numbers; labels may be numbers or strings.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import { spellsNumber } from '../data/labels.js';
import { KmfitError } from '../errors.js';
import type { Matrix } from '../matrix.js';
import { Growable } from './growable.js';

export interface DelimitedTable {
  readonly X: Matrix;
  readonly y?: Float64Array | string[];
  readonly header?: readonly string[];
  /** The label column's name in the header, where there is one. */
  readonly labelName?: string;
}

const MISSING = new Set(['', 'na', 'nan', 'null', '?']);

/**
 * The delimiter that splits the first line into the most fields (quotes aside); without a comma,
 * tab or semicolon, a space (columns separated by spaces, as numpy.savetxt writes them).
 */
export function sniffDelimiter(firstLine: string): string {
  const unquoted = firstLine.replace(/"[^"]*"/g, '');
  const counts = [',', '\t', ';'].map((d) => [d, unquoted.split(d).length - 1] as const);
  const best = counts.reduce((a, b) => (b[1] > a[1] ? b : a));
  return best[1] > 0 ? best[0] : / \S/.test(unquoted.trim()) ? ' ' : ',';
}

/** inf, -Infinity, …: how numpy, R and spreadsheets write an infinite value. */
const INFINITE = /^[+-]?inf(inity)?$/i;

/**
 * Whether a cell could stand in a data row: a number, an infinite value, or a missing-value
 * marker ("", nan, ?, …). A first row with any other cell (outside the label column) is a header;
 * one of only such cells is data, so that a missing or bad value there is reported as in any
 * other row instead of the row silently becoming a header.
 */
function couldBeData(cell: string): boolean {
  return MISSING.has(cell.toLowerCase()) || INFINITE.test(cell) || spellsNumber(cell);
}

/** The 0-based label column, from --label as a name (in a header row), an index, or 'none' (-1). */
function labelColumnOf(label: string | number | undefined, firstRow: readonly string[], name: string): number {
  const width = firstRow.length;
  if (label === 'none') return -1;
  if (typeof label === 'string') return firstRow.indexOf(label); // -1: not a header name (checked by the caller)
  const column = label ?? width - 1;
  if (!Number.isInteger(column) || column < 0 || column >= width) {
    throw new KmfitError('INVALID_OPTION', `${name} has columns 0…${width - 1}; --label ${String(label)} is not one of them.`);
  }
  return column;
}

/**
 * Reads a CSV/TSV file. `label`: a header name or 0-based index; default the last column; 'none':
 * all columns are features. `rowLimit`: stop after that many data rows.
 */
export async function readDelimited(
  file: string,
  firstLine: string,
  label: string | number | undefined,
  rowLimit = Infinity,
): Promise<DelimitedTable> {
  const name = path.basename(file);
  const fail = (line: number, problem: string): never => {
    throw new KmfitError('INVALID_FILE', `${name}, line ${line}: ${problem}`);
  };
  const input = createReadStream(file);
  const delimiter = sniffDelimiter(firstLine);
  // bom: a byte-order mark (as spreadsheet programs write) is not part of the first cell.
  const parser = input.pipe(parse({ bom: true, delimiter, info: true, skip_empty_lines: true, trim: true, relax_column_count: true }));
  let header: string[] | undefined;
  let width = 0;
  let labelColumn = -1;
  let rows = 0;
  const data = new Growable((n) => new Float32Array(n));
  const labels: string[] = [];
  try {
    for await (const { record: fields, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = info.lines;
      // Separated by spaces, a run of them (aligned columns) is one separator: no empty cells.
      const record = delimiter === ' ' ? fields.filter((cell) => cell !== '') : fields;
      if (width === 0) {
        width = record.length;
        labelColumn = labelColumnOf(label, record, name);
        const named = typeof label === 'string' && label !== 'none';
        const firstIsHeader = (named && labelColumn >= 0) || record.some((cell, j) => j !== labelColumn && !couldBeData(cell));
        if (named && labelColumn < 0) {
          throw new KmfitError(
            'INVALID_OPTION',
            firstIsHeader
              ? `${name} has no column named ${JSON.stringify(label)}; its columns are ${record.join(', ')}.`
              : `${name} has no header row, so --label ${label} names no column; give a 0-based index.`,
          );
        }
        if (firstIsHeader) {
          header = record;
          continue;
        }
      }
      if (record.length !== width) fail(line, `${record.length} fields where the first row has ${width}; every row needs the same columns.`);
      const row = data.reserve(labelColumn >= 0 ? width - 1 : width);
      for (let j = 0; j < width; j++) {
        const cell = record[j];
        if (MISSING.has(cell.toLowerCase())) fail(line, `column ${j + 1} is missing (${JSON.stringify(cell)}); fill or drop that row.`);
        if (j === labelColumn) {
          labels.push(cell);
          continue;
        }
        if (INFINITE.test(cell)) {
          throw new KmfitError('NON_FINITE', `${name}, line ${line}: column ${j + 1} holds ${JSON.stringify(cell)}, an infinite value; clean or drop that row.`);
        }
        const value = Number(cell);
        if (!Number.isFinite(value)) fail(line, `column ${j + 1} holds ${JSON.stringify(cell)}, not a number; features must be numeric.`);
        row[data.length++] = value;
      }
      if (++rows >= rowLimit) break;
    }
  } catch (error) {
    if (error instanceof KmfitError) throw error;
    throw new KmfitError('INVALID_FILE', `${name} is not a well-formed CSV/TSV file: ${(error as Error).message}; check its quoting.`, { cause: error });
  } finally {
    input.destroy();
  }
  if (rows === 0) throw new KmfitError('EMPTY_DATA', `${name} has no data rows; give a file with data.`);
  const cols = labelColumn >= 0 ? width - 1 : width;
  if (cols < 1) throw new KmfitError('EMPTY_DATA', `${name} has no feature columns besides the label; give a table with features.`);
  const X = { data: data.trimmed(), rows, cols };
  if (labelColumn < 0) return { X, header };
  const y = labels.every(spellsNumber) ? Float64Array.from(labels, Number) : labels;
  return { X, y, header, labelName: header?.[labelColumn] };
}
