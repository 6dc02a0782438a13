/**
 * libsvm/svmlight text through readDataFile: files written from a dense matrix (by this test's own
 * writer, and by scikit-learn's dump_svmlight_file: test/fixtures/libsvm/make_fixtures.py) read back
 * as that matrix; bad lines give one error naming the file, the line and the fix.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDataFile, type ReadOptions } from '../../src/io/dataFile.js';
import { lcg } from '../helpers/data.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const dir = temporaryDirectory('libsvm');
const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'libsvm');

function write(name: string, text: string): string {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
}

/** A dense matrix in libsvm text: 1-based indices of the non-zeros, with varied spacing. */
function toLibsvm(rows: number[][], labels: number[], random: () => number): string {
  const space = () => (random() < 0.2 ? ' \t ' : ' ');
  return rows
    .map((row, i) => {
      const pairs = row.flatMap((v, j) => (v === 0 ? [] : [`${j + 1}:${v}`]));
      return [String(labels[i]), ...pairs].join(space()) + (random() < 0.3 ? `  # row ${i}` : '');
    })
    .join(random() < 0.5 ? '\n' : '\r\n');
}

async function read(file: string, options?: ReadOptions) {
  const { train } = await readDataFile(file, options);
  const dense = Array.from({ length: train.X.rows }, (_, i) => Array.from(train.X.data.subarray(i * train.X.cols, (i + 1) * train.X.cols)));
  return { dense, y: Array.from(train.y as Float64Array), rows: train.X.rows, cols: train.X.cols };
}

describe('libsvm files', () => {
  it('read back the dense matrix they were written from (random sparse matrices, comments, CRLF, tabs)', async () => {
    const random = lcg(7);
    for (let trial = 0; trial < 20; trial++) {
      const rows = 1 + Math.floor(random() * 30);
      const cols = 1 + Math.floor(random() * 40);
      // Multiples of 1/8: exact in float32 and in their decimal text.
      const dense = Array.from({ length: rows }, () => Array.from({ length: cols }, () => (random() < 0.7 ? 0 : Math.round((random() - 0.5) * 800) / 8 + 0)));
      dense[Math.floor(random() * rows)][cols - 1] = 1.5; // the width is the largest index
      const labels = Array.from({ length: rows }, () => Math.floor(random() * 5) - 2);
      const file = write(`random-${trial}.svm`, `# trial ${trial}\n\n${toLibsvm(dense, labels, random)}\n`);
      const got = await read(file);
      expect([got.rows, got.cols]).toEqual([rows, cols]);
      expect(got.dense).toEqual(dense);
      expect(got.y).toEqual(labels);
    }
  });

  it("scikit-learn's dump_svmlight_file output (comment header, qid) reads as its dense matrix", async () => {
    // The formula of make_fixtures.py: X[i, j] = (i + 1)(j + 1)/4 where (i + 2j) % 3 == 0, the last
    // column zero except X[1, 8] = -2.5.
    const expected = Array.from({ length: 6 }, (_, i) =>
      Array.from({ length: 9 }, (_, j) => (j === 8 ? (i === 1 ? -2.5 : 0) : (i + 2 * j) % 3 === 0 ? ((i + 1) * (j + 1)) / 4 : 0)),
    );
    const got = await read(path.join(FIXTURES, 'sklearn.svm'));
    expect(got.dense).toEqual(expected);
    expect(got.y).toEqual([-1, 1, 2.5, 0, 1, -1]);
    const zeroBased = await asyncErrorOf(readDataFile(path.join(FIXTURES, 'sklearn-zero-based.svm')), 'INVALID_FILE');
    expect(zeroBased).toBe(
      'sklearn-zero-based.svm, line 1: feature index 0, but libsvm indices start at 1; if the file is 0-based, add 1 to every index ' +
        '(scikit-learn: dump_svmlight_file(..., zero_based=False)).',
    );
  });

  it('a test file is densified to the training width: fewer features are zeros, an index beyond it fails', async () => {
    const narrow = write('narrow.svm', '1 2:0.5\n0 1:1 3:2\n');
    const got = await read(narrow, { features: 6 });
    expect(got.dense).toEqual([
      [0, 0.5, 0, 0, 0, 0],
      [1, 0, 2, 0, 0, 0],
    ]);
    expect(await asyncErrorOf(readDataFile(narrow, { features: 2 }), 'INVALID_FILE')).toBe(
      "narrow.svm, line 2: feature index 3 is beyond the 2 features of the training data; a test or prediction file must use the training file's indices (1…2).",
    );
  });

  it('rows with no features, a first line with only its label, and --rows', async () => {
    const got = await read(write('sparse.svm', '3\n1 2:4\n-1\n'));
    expect(got.dense).toEqual([[0, 0], [0, 4], [0, 0]]);
    expect(got.y).toEqual([3, 1, -1]);
    const first = await read(write('first.svm', '1 1:1\n2 2:2\n3 3:3\n'), { rows: 2 });
    // The width is the whole file's (index 3), even when fewer rows are kept.
    expect(first.dense).toEqual([[1, 0, 0], [0, 2, 0]]);
  });

  it('a width out of proportion to the file is refused before the dense matrix exists', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const huge = await asyncErrorOf(readDataFile(write('huge.svm', '1 2147483647:1\n')), 'INVALID_FILE');
    expect(huge).toBe(
      'huge.svm: 1 rows × 2147483647 features (feature index 2147483647 on line 1) take 8.0 GiB as dense float32, ' +
        "more than 1000 times the file's 15 bytes: almost every column is unused. Renumber the features that occur as 1, 2, 3, … (or drop the rare ones).",
    );
    // 2 rows × 10^7 features: 80 MB, over the 64 MiB any file may densify to.
    expect(await asyncErrorOf(readDataFile(write('wide.svm', '1 1:1\n0 10000000:1\n')), 'INVALID_FILE')).toContain('(feature index 10000000 on line 2) take 0.075 GiB');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 2 ** 20);
    // Sparse but in proportion: 3 rows × 100 000 features (1.2 MB) from a 40-byte file.
    const wide = (await readDataFile(write('ok.svm', '1 1:1\n0 100000:2\n1 5:3 99999:4\n'))).train;
    expect([wide.X.rows, wide.X.cols, wide.X.data[100000 + 99999], wide.X.data[2 * 100000 + 99998]]).toEqual([3, 100000, 2, 4]);
  });

  it('bad lines: one error naming the file, the line and the fix', async () => {
    const cases: [string, string][] = [
      ['1 1:1\n0 0:2\n', 'line 2: feature index 0, but libsvm indices start at 1'],
      ['1 1:1 3:2 2:4\n', 'line 1: feature index 2 comes after 3; indices must increase along a line (sort them, without repeats).'],
      ['1 1:1 1:2\n', 'line 1: feature index 1 comes after 1'],
      ['1 1:1\n1 2:abc\n', 'line 2: feature 2 has the value "abc", which is not a finite number'],
      ['1 1:1\n1 2:nan\n', 'line 2: feature 2 has the value "nan", which is not a finite number'],
      ['1 1:1\n1 2:1e39\n', 'line 2: feature 2 has the value "1e39", which is not a finite number'],
      ['1 1:\n', 'line 1: feature 1 has the value "", which is not a finite number'],
      ['1 1:1\n2:1 3:1\n', 'line 2: the line starts with "2:1", not a label; each line is <label> [qid:N] index:value …'],
      ['1 1:1\ncat 3:1\n', 'line 2: the label "cat" is not a number; each line starts with one numeric label.'],
      ['1 1:1 x:2\n', 'line 1: the feature index "x" is not a whole number'],
      ['1 1:1 7\n', 'line 1: "7" is not an index:value pair'],
      ['1 qid:a 1:1\n', 'line 1: "qid:a" is not a query id; write qid:<whole number>.'],
      ['1 9999999999:1\n', 'line 1: feature index 9999999999 is too large'],
    ];
    for (const [text, message] of cases) {
      const error = await asyncErrorOf(readDataFile(write('bad.svm', text)), 'INVALID_FILE');
      expect(error).toContain(`bad.svm, ${message}`);
    }
    expect(await asyncErrorOf(readDataFile(write('comments.svm', '# 1 1:1\n\n')), 'EMPTY_DATA')).toContain('comments.svm has no data lines');
    expect(await asyncErrorOf(readDataFile(write('labels-only.svm', '1 qid:3\n2\n')), 'EMPTY_DATA')).toContain('labels-only.svm has no features');
    expect(await asyncErrorOf(readDataFile(write('label.svm', '1 1:1\n'), { label: 0 }), 'INVALID_OPTION')).toContain('drop --label');
  });
});
