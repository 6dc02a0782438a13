/**
 * The streamed .npy table reader: numpy-written files (test/fixtures/npy, and arrays numpy writes
 * here) read as the values their generator computed, across chunk boundaries, in C and Fortran
 * order, with the label column anywhere; only the rows asked for are read.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySource, type ByteSource } from '../../src/io/byteSource.js';
import { readDataFile } from '../../src/io/dataFile.js';
import { readNpyTable } from '../../src/io/npyTable.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { RUN_NUMPY_TESTS, runPython } from '../helpers/numpy.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'npy');
const fixture = (name: string) => path.join(FIXTURES, name);
const range = (n: number, f: (i: number) => number = (i) => i) => Array.from({ length: n }, (_, i) => f(i));

// The arrays of make_fixtures.py, 3 × 4.
const SIGNED = range(12, (i) => i - 5);
const UNSIGNED = range(12);
const FLOATS = range(12, (i) => (i - 5) * 0.25);

/** Rows of a row-major table without column `drop`, and that column. */
function split(values: number[], cols: number, drop: number): { X: number[]; y: number[] } {
  const X: number[] = [];
  const y: number[] = [];
  values.forEach((v, k) => (k % cols === drop ? y.push(v) : X.push(v)));
  return { X, y };
}

/**
 * A .npy file written here byte by byte (not with kmfit's encoder): header dict, padding, then
 * `value(i, c)` for row i and C-order column c of an n × trailing array, in C or Fortran order.
 */
function npyFile(descr: '<f8' | '>f4' | '<i2', fortran: boolean, shape: number[], value: (i: number, c: number) => number): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')},), }`;
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const header = new TextEncoder().encode(dict + ' '.repeat(pad % 64) + '\n');
  const [n, ...trailing] = shape;
  const width = trailing.reduce((a, b) => a * b, 1);
  const itemsize = descr === '<i2' ? 2 : descr === '>f4' ? 4 : 8;
  const bytes = new Uint8Array(10 + header.length + n * width * itemsize);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  bytes.set(header, 10);
  const view = new DataView(bytes.buffer, 10 + header.length);
  for (let t = 0; t < n * width; t++) {
    let i: number;
    let c: number;
    if (!fortran) {
      i = Math.floor(t / width);
      c = t % width;
    } else {
      // Fortran: the first index fastest, then the trailing ones in order.
      i = t % n;
      let rest = Math.floor(t / n);
      c = 0;
      const index = trailing.map((size) => {
        const k = rest % size;
        rest = Math.floor(rest / size);
        return k;
      });
      for (let k = 0; k < trailing.length; k++) c = c * trailing[k] + index[k];
    }
    const v = value(i, c);
    if (descr === '<f8') view.setFloat64(t * 8, v, true);
    else if (descr === '>f4') view.setFloat32(t * 4, v, false);
    else view.setInt16(t * 2, v, true);
  }
  return bytes;
}

/** A source that records the furthest byte read and the bytes read in all. */
function spied(bytes: Uint8Array): ByteSource & { furthest: number; total: number } {
  const inner = memorySource(bytes);
  const spy = {
    size: inner.size,
    furthest: 0,
    total: 0,
    async read(position: number, length: number) {
      const out = await inner.read(position, length);
      spy.furthest = Math.max(spy.furthest, position + out.length);
      spy.total += out.length;
      return out;
    },
  };
  return spy;
}

describe('.npy tables from numpy-written fixtures', () => {
  const cases: [string, number[]][] = [
    ['i1_le', SIGNED], ['i2_le', SIGNED], ['i2_be', SIGNED], ['i4_le', SIGNED], ['i4_be', SIGNED], ['i8_le', SIGNED], ['i8_be', SIGNED],
    ['u1_le', UNSIGNED], ['u2_le', UNSIGNED], ['u2_be', UNSIGNED], ['u4_le', UNSIGNED], ['u4_be', UNSIGNED], ['u8_le', UNSIGNED], ['u8_be', UNSIGNED],
    ['f2_le', FLOATS], ['f2_be', FLOATS], ['f4_le', FLOATS], ['f4_be', FLOATS], ['f8_le', FLOATS], ['f8_be', FLOATS],
    ['v2_f4', FLOATS], ['v3_f4', FLOATS], ['fortran_2d_be_i2', SIGNED],
  ];
  for (const [name, values] of cases) {
    it(`${name}.npy: features, and the label in the last or another column`, async () => {
      const all = (await readDataFile(fixture(`${name}.npy`), { label: 'none' })).train;
      expect([all.X.rows, all.X.cols, Array.from(all.X.data)]).toEqual([3, 4, values]);
      for (const column of [3, 1]) {
        const { train } = await readDataFile(fixture(`${name}.npy`), column === 3 ? {} : { label: column });
        const expected = split(values, 4, column);
        expect([train.X.cols, Array.from(train.X.data), Array.from(train.y as Float64Array)]).toEqual([3, expected.X, expected.y]);
      }
    });
  }

  it('n × h × w arrays flatten each row, in C and Fortran order', async () => {
    for (const name of ['arange_3d_i4', 'fortran_3d_f8']) {
      const { train } = await readDataFile(fixture(`${name}.npy`), { label: 'none' });
      expect([train.X.rows, train.X.cols, Array.from(train.X.data)]).toEqual([2, 12, range(24)]);
    }
  });

  it('a 1-D bool .npy as a labels file', async () => {
    const { train } = await readDataFile(fixture('i4_le.npy'), { labels: fixture('bool.npy') }).catch((e) => ({ train: e }));
    expect(train.message).toBe('bool.npy has 5 labels but i4_le.npy has 3 rows; they must match.');
  });

  it('files kmfit cannot use: one error naming the file and the problem', async () => {
    expect(await asyncErrorOf(readDataFile(fixture('truncated_f8.npy')), 'IO_ERROR')).toBe(
      'truncated_f8.npy: the data is cut short: the header promises 96 bytes (shape (3, 4) of float64) but only 40 follow; ' +
        'the file is truncated or damaged: write it again',
    );
    expect(await asyncErrorOf(readDataFile(fixture('object.npy')), 'IO_ERROR')).toContain("object.npy: unsupported dtype '|O' (object");
    expect(await asyncErrorOf(readDataFile(fixture('structured.npy')), 'IO_ERROR')).toContain('structured.npy: unsupported dtype: a structured (record) dtype');
    expect(await asyncErrorOf(readDataFile(fixture('unicode.npy')), 'IO_ERROR')).toContain('unicode string');
    expect(await asyncErrorOf(readDataFile(fixture('empty_f4.npy')), 'EMPTY_DATA')).toBe('empty_f4.npy has no rows (shape [0, 3]); give a file with data.');
    expect(await asyncErrorOf(readDataFile(fixture('scalar_f8.npy')), 'INVALID_SHAPE')).toContain('scalar_f8.npy has shape []');
    expect(await asyncErrorOf(readDataFile(fixture('bool.npy')), 'INVALID_SHAPE')).toContain('bool.npy has shape [5]; features need a 2-D array');
    expect(await asyncErrorOf(readDataFile(fixture('i8_inexact.npy'), { labels: fixture('i8_inexact.npy') }), 'INVALID_SHAPE')).toContain('i8_inexact.npy has shape [2]');
  });
});

describe('streaming', () => {
  // 37 rows × (2 × 3) trailing, so rows do not line up with the small chunk sizes below.
  const value = (i: number, c: number) => i * 8 + c - 7;
  const expected = (rows: number, width: number, drop: number) => {
    const all = range(rows * width, (t) => value(Math.floor(t / width), t % width));
    return drop < 0 ? { X: all, y: undefined } : split(all, width, drop);
  };

  it('any chunk size, C or Fortran order, the label in any column, any number of rows', async () => {
    for (const [descr, fortran, shape] of [
      ['<f8', false, [37, 6]],
      ['>f4', true, [37, 6]],
      ['<i2', true, [37, 6]],
      ['<f8', true, [37, 2, 3]],
      ['<i2', false, [37, 2, 3]],
    ] as const) {
      const bytes = npyFile(descr, fortran, [...shape], value);
      for (const chunkBytes of [1, 8, 20, 100, 1 << 20]) {
        for (const label of shape.length === 2 ? (['none', 0, 2, 5] as const) : (['none'] as const)) {
          for (const rows of [undefined, 1, 5, 37]) {
            const table = await readNpyTable(memorySource(bytes), 'a.npy', { label, rows, chunkBytes });
            const want = expected(rows ?? 37, 6, label === 'none' ? -1 : label);
            const where = `${descr} ${fortran ? 'F' : 'C'} [${shape}] chunk ${chunkBytes} label ${label} rows ${rows}`;
            expect(Array.from(table.X.data), where).toEqual(want.X);
            expect(table.y && Array.from(table.y), where).toEqual(want.y);
            expect(table.totalRows).toBe(37);
          }
        }
      }
    }
  });

  it('reads only the rows asked for', async () => {
    const bytes = npyFile('<f8', false, [1000, 10], value);
    const headerBytes = bytes.length - 1000 * 10 * 8;
    const c = spied(bytes);
    const table = await readNpyTable(c, 'c.npy', { rows: 2 });
    expect(Array.from(table.y!)).toEqual([value(0, 9), value(1, 9)]);
    expect(c.furthest).toBe(headerBytes + 2 * 10 * 8);
    const f = spied(npyFile('<f8', true, [1000, 10], value));
    await readNpyTable(f, 'f.npy', { rows: 2 });
    expect(f.total).toBeLessThanOrEqual(12 + headerBytes + 10 * 2 * 8);
  });

  it.runIf(RUN_NUMPY_TESTS)('numpy-written C and Fortran arrays, first rows only', async () => {
    const dir = temporaryDirectory('npytable');
    runPython(
      `import sys, json, numpy as np
i, j = np.meshgrid(np.arange(5000), np.arange(7), indexing='ij')
np.save(sys.argv[1] + '/c.npy', (i * 7 + j).astype('<u2'))
np.save(sys.argv[1] + '/f.npy', np.asfortranarray((i * 7 + j).astype('>f4')))
print(json.dumps(True))`,
      dir,
    );
    for (const name of ['c.npy', 'f.npy']) {
      const { train } = await readDataFile(path.join(dir, name), { label: 3, rows: 4000 });
      const want = split(range(4000 * 7), 7, 3);
      expect(train.X.rows).toBe(4000);
      expect(Array.from(train.X.data)).toEqual(want.X);
      expect(Array.from(train.y as Float64Array)).toEqual(want.y);
    }
  });
});
