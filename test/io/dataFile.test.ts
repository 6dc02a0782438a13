/** readDataFile: each format gives the rows, features and labels written into it; bad files give one clear error. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { KmfitError } from '../../src/errors.js';
import { readDataFile } from '../../src/io/dataFile.js';
import { encodeNpy } from '../../src/io/npy.js';
import { writeNpz } from '../../src/io/npz.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const dir = temporaryDirectory('datafile');
const file = (name: string, bytes?: Uint8Array | string) => {
  const at = path.join(dir, name);
  if (bytes !== undefined) writeFileSync(at, bytes);
  return at;
};

/** An IDX file: magic 0 0 type dims, big-endian uint32 sizes, then the bytes. */
function idx(type: number, shape: number[], body: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  header[2] = type;
  header[3] = shape.length;
  const view = new DataView(header.buffer);
  shape.forEach((size, i) => view.setUint32(4 + 4 * i, size));
  return new Uint8Array([...header, ...body]);
}

/** Numeric labels as a plain array (these files hold no string labels). */
const labelsOf = (data: { y?: Float64Array | string[] }) => Array.from(data.y as ArrayLike<number>);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KmfitError);
    return `${(error as KmfitError).code}: ${(error as KmfitError).message}`;
  }
  throw new Error('expected a KmfitError');
}

// 3 rows: features (1, 2), (3, 4), (5, 6) and labels 7, 8, 9 in the last column.
const table = Float64Array.from([1, 2, 7, 3, 4, 8, 5, 6, 9]);

describe('readDataFile', () => {
  it('.npy: the last column is the label by default, another with label, none with "none"', async () => {
    file('t.npy', encodeNpy({ data: table, shape: [3, 3] }));
    const last = (await readDataFile(file('t.npy'))).train;
    expect(Array.from(last.X.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(labelsOf(last)).toEqual([7, 8, 9]);
    const first = (await readDataFile(file('t.npy'), { label: 0 })).train;
    expect(Array.from(first.X.data)).toEqual([2, 7, 4, 8, 6, 9]);
    expect(labelsOf(first)).toEqual([1, 3, 5]);
    const none = (await readDataFile(file('t.npy'), { label: 'none' })).train;
    expect([none.X.rows, none.X.cols, none.y]).toEqual([3, 3, undefined]);
  });

  it('.npz: the Keras layout (images flattened, a test part) and X, y', async () => {
    const images = Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => i);
    file('k.npz', writeNpz({
      'x_train.npy': encodeNpy({ data: images, shape: [2, 2, 3] }),
      'y_train.npy': encodeNpy({ data: Uint8Array.from([4, 5]), shape: [2] }),
      'x_test.npy': encodeNpy({ data: images.subarray(0, 6), shape: [1, 2, 3] }),
      'y_test.npy': encodeNpy({ data: Uint8Array.from([6]), shape: [1] }),
    }));
    const keras = await readDataFile(file('k.npz'));
    expect([keras.train.X.rows, keras.train.X.cols]).toEqual([2, 6]);
    expect(Array.from(keras.train.X.data.subarray(6))).toEqual([6, 7, 8, 9, 10, 11]);
    expect(labelsOf(keras.train)).toEqual([4, 5]);
    expect(labelsOf(keras.test!)).toEqual([6]);
    file('xy.npz', writeNpz({ 'X.npy': encodeNpy({ data: table, shape: [3, 3] }), 'y.npy': encodeNpy({ data: Float64Array.from([1, 0, 1]), shape: [3] }) }));
    const xy = await readDataFile(file('xy.npz'));
    expect([xy.train.X.cols, labelsOf(xy.train), xy.test]).toEqual([3, [1, 0, 1], undefined]);
  });

  it('IDX images, gzipped, with an IDX labels file', async () => {
    file('img.idx.gz', gzipSync(idx(0x08, [2, 2, 2], Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]))));
    file('lab.idx', idx(0x08, [2], Uint8Array.from([3, 1])));
    const data = (await readDataFile(file('img.idx.gz'), { labels: file('lab.idx') })).train;
    expect([data.X.rows, data.X.cols, labelsOf(data)]).toEqual([2, 4, [3, 1]]);
  });

  it('a label column named for a .npz or IDX file, which have none, is refused (it was ignored)', async () => {
    file('xy2.npz', writeNpz({ 'X.npy': encodeNpy({ data: table, shape: [3, 3] }), 'y.npy': encodeNpy({ data: Float64Array.from([1, 0, 1]), shape: [3] }) }));
    expect(await codeOf(readDataFile(file('xy2.npz'), { label: 0 }))).toBe('INVALID_OPTION: xy2.npz is a .npz archive, whose labels are its y arrays (y_train, y_test or y); drop --label.');
    file('img2.idx', idx(0x08, [2, 2, 2], Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7])));
    expect(await codeOf(readDataFile(file('img2.idx'), { label: 'last' }))).toContain('img2.idx is an IDX file of images, which has no label column');
    // 'none' (no label column: predict's reading) stays allowed.
    expect((await readDataFile(file('xy2.npz'), { label: 'none' })).train.X.cols).toBe(3);
  });

  it('CSV with a header, quoted fields and string labels; TSV without a header; semicolons; a label by name', async () => {
    const csv = await readDataFile(file('iris.csv', 'sepal,petal,species\n5.1,1.4,"setosa"\n7.0,4.7,"versi, color"\n\n6.3,6.0,virginica\n'));
    expect([csv.train.X.rows, csv.train.X.cols, Array.from(csv.train.X.data)]).toEqual([3, 2, [5.1, 1.4, 7.0, 4.7, 6.3, 6.0].map(Math.fround)]);
    expect(csv.train.y).toEqual(['setosa', 'versi, color', 'virginica']);
    const byName = (await readDataFile(file('named.csv', 'target,x1,x2\n1,0.5,2\n0,1.5,3\n'), { label: 'target' })).train;
    expect([Array.from(byName.X.data), labelsOf(byName)]).toEqual([[0.5, 2, 1.5, 3], [1, 0]]);
    const tsv = (await readDataFile(file('t.tsv', '1\t2\t0\n3\t4\t1\n'))).train;
    expect([Array.from(tsv.X.data), labelsOf(tsv)]).toEqual([[1, 2, 3, 4], [0, 1]]);
    const semi = (await readDataFile(file('s.txt', '1;2;0.5\n3;4;1.5\n'), { label: 'none' })).train;
    expect([semi.X.cols, semi.y]).toEqual([3, undefined]);
    // A byte-order mark (spreadsheet exports) is not part of the first cell: no header is seen.
    const bom = (await readDataFile(file('bom.csv', '\uFEFF1.5,2,0\r\n3,4,1\r\n'))).train;
    expect([Array.from(bom.X.data), labelsOf(bom), bom.X.rows]).toEqual([[1.5, 2, 3, 4], [0, 1], 2]);
  });

  it('columns separated by spaces (numpy.savetxt), runs of them too: a table, not one column', async () => {
    const saved = (await readDataFile(file('saved.txt', '1.5e+00 -2.0e+00 1.0e+00\n3.0e+00 4.0e+00 0.0e+00\n'))).train;
    expect([saved.X.rows, saved.X.cols, Array.from(saved.X.data), labelsOf(saved)]).toEqual([2, 2, [1.5, -2, 3, 4], [1, 0]]);
    const aligned = (await readDataFile(file('aligned.txt', 'a    b  label\n  1   2      0\n 30  40   1 \n'), { label: 'label' })).train;
    expect([aligned.X.rows, aligned.X.cols, Array.from(aligned.X.data), labelsOf(aligned)]).toEqual([2, 2, [1, 2, 30, 40], [0, 1]]);
  });

  it('rows: only the first rows are kept (a CSV is read no further); a .npy labels file', async () => {
    const csv = (await readDataFile(file('many.csv', 'a,b\n1,0\n2,1\n3,0\nnot,read\n'), { rows: 2 })).train;
    expect([Array.from(csv.X.data), labelsOf(csv)]).toEqual([[1, 2], [0, 1]]);
    file('t.npy', encodeNpy({ data: table, shape: [3, 3] }));
    file('y3.npy', encodeNpy({ data: Int32Array.from([5, 6, 7]), shape: [3] }));
    const withFile = (await readDataFile(file('t.npy'), { labels: file('y3.npy'), rows: 2 })).train;
    expect([Array.from(withFile.X.data), labelsOf(withFile)]).toEqual([[1, 2, 7, 3, 4, 8], [5, 6]]);
  });

  it('CSV: a first row of numbers and missing values is data, a numeric --label is range-checked with a header too', async () => {
    // A missing value in the first row is reported like one in any other row, not taken for a header.
    for (const [cell, shown] of [['', '""'], ['nan', '"nan"'], ['?', '"?"'], ['NA', '"NA"']]) {
      expect(await codeOf(readDataFile(file('first.csv', `1,${cell},0\n3,4,1\n`)))).toBe(
        `INVALID_FILE: first.csv, line 1: column 2 is missing (${shown}); fill or drop that row.`,
      );
    }
    expect(await codeOf(readDataFile(file('inf.csv', '-inf,2,0\n3,4,1\n')))).toBe(
      'NON_FINITE: inf.csv, line 1: column 1 holds "-inf", an infinite value; clean or drop that row.',
    );
    // A header whose first cell is empty (pandas' index column) is still a header.
    const pandas = (await readDataFile(file('pandas.csv', ',x,y\n0,1.5,2\n1,2.5,3\n'))).train;
    expect([Array.from(pandas.X.data), labelsOf(pandas)]).toEqual([[0, 1.5, 1, 2.5], [2, 3]]);
    // --label out of range, with and without a header row; a negative or fractional index.
    for (const text of ['a,b,c\n1,2,3\n', '1,2,3\n4,5,6\n']) {
      file('range.csv', text);
      for (const label of [3, 7, -1, 1.5]) {
        expect(await codeOf(readDataFile(file('range.csv'), { label }))).toBe(
          `INVALID_OPTION: range.csv has columns 0…2; --label ${label} is not one of them.`,
        );
      }
    }
    const byIndex = (await readDataFile(file('range.csv', 'a,b,c\n1,2,3\n4,5,6\n'), { label: 0 })).train;
    expect([Array.from(byIndex.X.data), labelsOf(byIndex)]).toEqual([[2, 3, 5, 6], [1, 4]]);
  });

  it('bad files: one KmfitError naming the file and the fix', async () => {
    expect(await codeOf(readDataFile(file('missing.npy')))).toMatch(/^FILE_NOT_FOUND: .*missing\.npy: no such file/);
    mkdirSync(file('folder'), { recursive: true });
    expect(await codeOf(readDataFile(file('folder')))).toMatch(/^INVALID_FILE: .*folder is a directory/);
    expect(await codeOf(readDataFile(file('empty.npy', ''))))
      .toMatch(/^EMPTY_DATA: .*empty\.npy is empty/);
    const whole = encodeNpy({ data: table, shape: [3, 3] });
    expect(await codeOf(readDataFile(file('cut.npy', whole.subarray(0, whole.length - 5))))).toContain('cut.npy');
    expect(await codeOf(readDataFile(file('gap.csv', 'a,b,c\n1,2,x\n3,,y\n')))).toBe(
      'INVALID_FILE: gap.csv, line 3: column 2 is missing (""); fill or drop that row.',
    );
    expect(await codeOf(readDataFile(file('ragged.csv', '1,2,3\n4,5\n')))).toMatch(/^INVALID_FILE: ragged\.csv, line 2: 2 fields where the first row has 3/);
    expect(await codeOf(readDataFile(file('word.csv', 'a,b,c\n1,2,x\n3,four,y\n')))).toMatch(/line 3: column 2 holds "four", not a number/);
    expect(await codeOf(readDataFile(file('word.csv'), { label: 'kind' }))).toMatch(/^INVALID_OPTION: word\.csv has no column named "kind"; its columns are a, b, c/);
    expect(await codeOf(readDataFile(file('junk.bin', Uint8Array.from([0xff, 0xfe, 0x01, 0x02]))))).toBe(
      'INVALID_FILE: junk.bin is not a .npy, .npz, IDX, libsvm or CSV/TSV file; give one of those.',
    );
    file('bad.npz', writeNpz({ 'a.npy': encodeNpy({ data: table, shape: [9] }) }));
    expect(await codeOf(readDataFile(file('bad.npz')))).toMatch(/^INVALID_FILE: bad\.npz holds a; expected x_train/);
    file('nan.npy', encodeNpy({ data: Float64Array.from([1, Number.NaN, 7, 3, 4, 8]), shape: [2, 3] }));
    expect(await codeOf(readDataFile(file('nan.npy')))).toMatch(/^NON_FINITE: nan\.npy .* row 0, feature 1/);
    file('short.idx', idx(0x08, [3], Uint8Array.from([1, 2, 3])));
    file('t.npy', encodeNpy({ data: table, shape: [3, 3] }));
    expect(await codeOf(readDataFile(file('t.npy'), { labels: file('lab.idx') }))).toMatch(/^LENGTH_MISMATCH: lab\.idx has 2 labels but t\.npy has 3 rows/);
    expect(await codeOf(readDataFile(file('t.npy'), { labels: file('labels.csv', '0\n1\n1\n') }))).toBe(
      'INVALID_FILE: labels.csv is neither a .npy nor an IDX file; --labels takes a 1-D .npy or IDX labels file (labels in a CSV are a column of the data file: name it with --label).',
    );
    expect(await codeOf(readDataFile(file('t.npy'), { label: 5 }))).toMatch(/^INVALID_OPTION: .*columns 0…2/);
    expect(await codeOf(readDataFile(file('t.npy'), { label: 'species' }))).toBe(
      'INVALID_OPTION: t.npy is a .npy file, whose columns have no names; give --label a 0-based column index.',
    );
    file('y4.npy', encodeNpy({ data: Int32Array.from([1, 0, 1, 1]), shape: [4] }));
    expect(await codeOf(readDataFile(file('t.npy'), { labels: file('y4.npy') }))).toBe(
      'LENGTH_MISMATCH: y4.npy has 4 labels but t.npy has 3 rows; they must match.',
    );
    file('y2d.npy', encodeNpy({ data: Int32Array.from([1, 0, 1, 1, 0, 1]), shape: [3, 2] }));
    expect(await codeOf(readDataFile(file('t.npy'), { labels: file('y2d.npy') }))).toMatch(/^INVALID_SHAPE: y2d\.npy has shape \[3, 2\]; labels need one value per row/);
  });
});
