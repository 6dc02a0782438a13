/**
 * openNpy (issue 16: data read from disk a batch at a time): rows read by position, against
 * numpy's own float32 conversion of the same rows, for every dtype the .npy reader takes and both
 * byte orders; the same values as the in-memory reader; views of columns; chunks; raw bytes; the
 * refusals (truncated, lying or hostile headers, Fortran order, other ranks) with bounded memory;
 * and the streamed fingerprint of checkpoints.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataFingerprint } from '../../src/checkpoint/resume.js';
import { KmfitError } from '../../src/errors.js';
import { readDataFile } from '../../src/io/dataFile.js';
import { decodeNpy, encodeNpy } from '../../src/io/npy.js';
import { openNpy } from '../../src/io/npyFile.js';
import { float32Crc, isOpenedNpy, requireFiniteRows, type OpenedNpy } from '../../src/io/openedNpy.js';
import { ROOT } from '../helpers/child.js';
import { lcg } from '../helpers/data.js';
import { concat, npyHeader } from '../helpers/lyingFiles.js';
import { RUN_NUMPY_TESTS, runPython } from '../helpers/numpy.js';
import type { ReadCase, ReadOutcome } from '../helpers/readPeak.mjs';
import { temporaryDirectory } from '../helpers/temporary.js';

const dir = temporaryDirectory('npyfile');

/** Every dtype parseNpyHeader reads, in each byte order it can have. */
const DESCRS = ['|b1', '|i1', '|u1', '<i2', '>i2', '<u2', '>u2', '<i4', '>i4', '<u4', '>u4', '<i8', '>i8', '<u8', '>u8', '<f2', '>f2', '<f4', '>f4', '<f8', '>f8'];
const ROWS = 37;
const COLS = 5;

/**
 * Writes, for each descr, `<name>.npy` (37 × 5, random values plus each type's extremes) and
 * `<name>.f32`: numpy's own float32 conversion of the whole array, little-endian.
 */
const WRITE_FILES = `
import numpy as np, sys, json, os
d, descrs, n, c = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(16)
names = []
for s in descrs:
    dt = np.dtype(s)
    if dt.kind == 'b':
        a = rng.integers(0, 2, (n, c)).astype(dt)
    elif dt.kind in 'iu':
        info = np.iinfo(dt)
        lo, hi = max(int(info.min), -2**53), min(int(info.max), 2**53)
        a = rng.integers(lo, hi, (n, c), endpoint=True, dtype=np.uint64 if dt.kind == 'u' else np.int64).astype(dt)
        a[0, :3] = [lo, hi, 0]
    else:
        with np.errstate(over='ignore'):
            a = (rng.standard_normal((n, c)) * 10.0 ** rng.integers(-8, 9, (n, c))).astype(dt)
            a[0, :4] = [np.inf, -0.0, 1e300 if dt.itemsize == 8 else -np.inf, 1e-41 if dt.itemsize == 8 else 1e-7]
    name = s.replace('<', 'le-').replace('>', 'be-').replace('|', '')
    np.save(os.path.join(d, name + '.npy'), a)
    with np.errstate(over='ignore'):
        np.asarray(a, dtype=np.float32).astype('<f4').tofile(os.path.join(d, name + '.f32'))
    names.append({'name': name, 'descr': a.dtype.str})
print(json.dumps(names))
`;

const files: { name: string; descr: string }[] = RUN_NUMPY_TESTS
  ? (runPython(WRITE_FILES, dir, JSON.stringify(DESCRS), String(ROWS), String(COLS)) as { name: string; descr: string }[])
  : [];

const expected = (name: string): Float32Array => {
  const bytes = readFileSync(path.join(dir, `${name}.f32`));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

/** Rows `indices`, columns [c0, c1) of a row-major rows × cols array. */
function pick(all: Float32Array, cols: number, indices: ArrayLike<number>, c0 = 0, c1 = cols): number[] {
  const out: number[] = [];
  for (let k = 0; k < indices.length; k++) for (let j = c0; j < c1; j++) out.push(all[indices[k] * cols + j]);
  return out;
}

/** Opens `file`, runs `body`, closes it. */
function withFile<T>(file: string, body: (opened: OpenedNpy) => T): T {
  const opened = openNpy(file);
  try {
    return body(opened);
  } finally {
    opened.close();
  }
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

function expectKmfit(f: () => unknown, code: string, message: RegExp): void {
  const error = thrown(f);
  expect(error).toBeInstanceOf(KmfitError);
  expect((error as KmfitError).code).toBe(code);
  expect((error as KmfitError).message).toMatch(message);
  expect((error as KmfitError).message).not.toContain('\n');
}

const next = lcg(1616);
/** `count` row indices in any order, with repeats, always including the first and last rows. */
function randomIndices(count: number, rows: number): number[] {
  const indices = Array.from({ length: count }, () => Math.floor(next() * rows));
  indices[Math.floor(next() * count)] = 0;
  indices[Math.floor(next() * count)] = rows - 1;
  indices.push(indices[3], indices[3]);
  return indices;
}

describe.runIf(RUN_NUMPY_TESTS)('rows read by position equal numpy\'s float32 conversion', () => {
  it('covers every dtype and byte order', () => {
    expect(files.map((f) => f.descr)).toEqual(DESCRS);
  });

  for (const descr of DESCRS) {
    it(`${descr}: readRows, readRange, chunks and column views`, () => {
      const { name } = files.find((f) => f.descr === descr)!;
      const all = expected(name);
      withFile(path.join(dir, `${name}.npy`), (file) => {
        expect([file.dtype, file.rows, file.cols]).toEqual([descr, ROWS, COLS]);
        for (let round = 0; round < 3; round++) {
          const indices = randomIndices(20 + round * 30, ROWS);
          expect(Array.from(file.readRows(indices))).toEqual(pick(all, COLS, indices));
          expect(Array.from(file.readRows(Int32Array.from(indices)))).toEqual(pick(all, COLS, indices));
          const view = file.columns(1, 4);
          expect(Array.from(view.readRows(indices))).toEqual(pick(all, COLS, indices, 1, 4));
          expect(Array.from(view.columns(2, 3).readRows(indices))).toEqual(pick(all, COLS, indices, 3, 4));
        }
        const range = (s: number, e: number) => Array.from({ length: e - s }, (_, k) => s + k);
        expect(Array.from(file.readRange(0, ROWS))).toEqual(Array.from(all));
        expect(Array.from(file.readRange(5, 6))).toEqual(pick(all, COLS, [5]));
        expect(Array.from(file.columns(0, COLS - 1).readRange(3, 30))).toEqual(pick(all, COLS, range(3, 30), 0, COLS - 1));
        for (const chunkRows of [1, 7, ROWS, 1000]) {
          const seen: number[] = [];
          const starts: number[] = [];
          for (const chunk of file.columns(2, COLS).chunks(chunkRows)) {
            expect(chunk.rows).toBeLessThanOrEqual(chunkRows);
            expect(chunk.data.length).toBe(chunk.rows * (COLS - 2));
            starts.push(chunk.start);
            seen.push(...chunk.data);
          }
          expect(seen).toEqual(pick(all, COLS, range(0, ROWS), 2, COLS));
          expect(starts).toEqual(range(0, Math.ceil(ROWS / chunkRows)).map((k) => k * chunkRows));
        }
      });
    });
  }

  it('gives the same values as the in-memory readers, bit for bit', async () => {
    for (const { name, descr } of files) {
      const file = path.join(dir, `${name}.npy`);
      // decodeNpy then a Float32Array set: the conversion npyTable.ts makes.
      const decoded = new Float32Array(ROWS * COLS);
      decoded.set(decodeNpy(readFileSync(file)).data);
      withFile(file, (opened) => expect(Array.from(opened.readRange(0, ROWS))).toEqual(Array.from(decoded)));
      // readDataFile itself, where it takes the file (it refuses the ±Inf of the float files).
      if (!descr.includes('f')) {
        const { train } = await readDataFile(file, { label: 'none' });
        expect(Array.from(decoded)).toEqual(Array.from(train.X.data));
      }
    }
  });

  it('readColumnFloat64 gives a label column as the in-memory reader does (float64, not rounded to float32)', async () => {
    for (const { name } of files) {
      const file = path.join(dir, `${name}.npy`);
      const decoded = decodeNpy(readFileSync(file));
      const column = Array.from({ length: ROWS }, (_, i) => Number(decoded.data[i * COLS + 3]));
      withFile(file, (opened) => {
        expect(Array.from(opened.columns(3, 4).readColumnFloat64())).toEqual(column);
        expect(() => opened.columns(3, 5).readColumnFloat64()).toThrow(RangeError);
      });
    }
    // readDataFile's label column of a finite table: the same Float64Array.
    const { name } = files.find((f) => f.descr === '>u8')!;
    const file = path.join(dir, `${name}.npy`);
    const { train } = await readDataFile(file);
    withFile(file, (opened) => expect(Array.from(opened.columns(COLS - 1, COLS).readColumnFloat64())).toEqual(Array.from(train.y as Float64Array)));
  });

  it('readRawRange gives the bytes as stored, of the view\'s columns', () => {
    const { name } = files.find((f) => f.descr === '>i4')!;
    const file = path.join(dir, `${name}.npy`);
    const bytes = readFileSync(file);
    const offset = bytes.length - ROWS * COLS * 4;
    withFile(file, (opened) => {
      expect(Buffer.from(opened.readRawRange(2, 9))).toEqual(bytes.subarray(offset + 2 * COLS * 4, offset + 9 * COLS * 4));
      const raw = opened.columns(1, 3).readRawRange(4, 6);
      const row = (i: number) => bytes.subarray(offset + (i * COLS + 1) * 4, offset + (i * COLS + 3) * 4);
      expect(Buffer.from(raw)).toEqual(Buffer.concat([row(4), row(5)]));
      expect(opened.readRawRange(3, 3)).toHaveLength(0);
    });
  });

  it('fills `out` when given, and refuses one of the wrong length', () => {
    const { name } = files.find((f) => f.descr === '<f4')!;
    withFile(path.join(dir, `${name}.npy`), (file) => {
      const out = new Float32Array(3 * COLS);
      expect(file.readRows([4, 0, 4], out)).toBe(out);
      expect(Array.from(out)).toEqual(pick(expected(name), COLS, [4, 0, 4]));
      expect(file.readRange(1, 4, out)).toBe(out);
      expect(() => file.readRows([1, 2], out)).toThrow(RangeError);
      expect(() => file.readRange(0, 1, out)).toThrow(/out has 15 values/);
    });
  });

  it('names the element of a 64-bit integer a double cannot hold', () => {
    runPython(
      `import numpy as np, sys; a = np.zeros((3, 4), dtype='>i8'); a[2, 1] = 2**60 + 1; np.save(sys.argv[1], a); print(1)`,
      path.join(dir, 'big.npy'),
    );
    withFile(path.join(dir, 'big.npy'), (file) => {
      expect(Array.from(file.readRows([0, 1]))).toEqual(new Array(8).fill(0));
      expectKmfit(() => file.readRows([0, 2]), 'IO_ERROR', /element 9 of this int64 array, 1152921504606846977/);
      expectKmfit(() => file.columns(1, 3).readRange(1, 3), 'IO_ERROR', /element 9 of/);
      expectKmfit(() => file.columns(1, 2).readColumnFloat64(), 'IO_ERROR', /element 9 of/);
      expect(Array.from(file.columns(2, 3).readColumnFloat64())).toEqual([0, 0, 0]);
    });
  });

  it('refuses Fortran order, and arrays that are not 2-D, saying what to do', () => {
    runPython(
      `import numpy as np, sys, os
d = sys.argv[1]
a = np.arange(12, dtype=np.float32).reshape(3, 4)
np.save(os.path.join(d, 'fortran.npy'), np.asfortranarray(a))
np.save(os.path.join(d, 'cube.npy'), np.zeros((2, 3, 4), dtype=np.uint8))
np.save(os.path.join(d, 'flat.npy'), np.zeros(5, dtype=np.float32))
np.save(os.path.join(d, 'norows.npy'), np.zeros((0, 3), dtype=np.float32))
print(1)`,
      dir,
    );
    expectKmfit(() => openNpy(path.join(dir, 'fortran.npy')), 'INVALID_FILE', /fortran\.npy is stored in Fortran.*numpy\.ascontiguousarray/);
    expectKmfit(() => openNpy(path.join(dir, 'cube.npy')), 'INVALID_SHAPE', /cube\.npy has shape \[2, 3, 4\].*2-D.*reshape/);
    expectKmfit(() => openNpy(path.join(dir, 'flat.npy')), 'INVALID_SHAPE', /flat\.npy has shape \[5\]/);
    expectKmfit(() => openNpy(path.join(dir, 'norows.npy')), 'EMPTY_DATA', /no rows/);
  });
});

describe('refusals', () => {
  const write = (name: string, bytes: Uint8Array) => {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return file;
  };
  const table = (rows: number, cols: number) =>
    encodeNpy({ data: Float32Array.from({ length: rows * cols }, (_, i) => i / 4), shape: [rows, cols] });

  it('a missing file, a directory, an empty file, not a .npy', () => {
    expectKmfit(() => openNpy(path.join(dir, 'nothing-here.npy')), 'FILE_NOT_FOUND', /nothing-here\.npy: no such file/);
    const folder = path.join(dir, 'folder.npy');
    mkdirSync(folder);
    expectKmfit(() => openNpy(folder), 'INVALID_FILE', /is a directory/);
    expectKmfit(() => openNpy(write('empty.npy', new Uint8Array(0))), 'EMPTY_DATA', /empty/);
    expectKmfit(() => openNpy(write('text.npy', new TextEncoder().encode('1,2,3\n'))), 'IO_ERROR', /not a NumPy \.npy file/);
  });

  it('a path that is not a non-empty string', () => {
    for (const bad of [undefined, 5, '']) expectKmfit(() => openNpy(bad as never), 'INVALID_OPTION', /openNpy\(path\) takes a file path/);
  });

  it('a truncated file, or a header that promises more rows than the file holds: one IO_ERROR, as readDataFile gives', async () => {
    const whole = table(10, 3);
    const cut = write('cut.npy', whole.subarray(0, whole.length - 5));
    expectKmfit(() => openNpy(cut), 'IO_ERROR', /cut\.npy: the data is cut short: the header promises 120 bytes.*write it again/);
    await expect(readDataFile(cut)).rejects.toMatchObject({ code: 'IO_ERROR' });
    const lying = write('lying.npy', concat([npyHeader([11, 3]), whole.subarray(whole.length - 120)]));
    expectKmfit(() => openNpy(lying), 'IO_ERROR', /promises 132 bytes .*but only 120 follow/);
    expectKmfit(() => openNpy(write('huge.npy', concat([npyHeader([1e12, 785]), new Uint8Array(256)]))), 'IO_ERROR', /cut short/);
    expectKmfit(() => openNpy(write('overflow.npy', concat([npyHeader([2 ** 40, 2 ** 40]), new Uint8Array(64)]))), 'IO_ERROR', /impossibly large/);
    expectKmfit(() => openNpy(write('cuthead.npy', table(2, 2).subarray(0, 30))), 'IO_ERROR', /header is cut short/);
  });

  it('a file that shrinks after it was opened: IO_ERROR when the missing rows are read', () => {
    const file = write('shrinks.npy', table(10, 3));
    withFile(file, (opened) => {
      truncateSync(file, statSync(file).size - 12);
      expect(Array.from(opened.readRows([0]))).toEqual([0, 0.25, 0.5]);
      expectKmfit(() => opened.readRows([9]), 'IO_ERROR', /shrinks\.npy became shorter while it was read/);
    });
  });

  it('bad arguments are RangeErrors (a bug in the caller); a closed file refuses reads', () => {
    const opened = openNpy(write('args.npy', table(10, 3)));
    const cases: [() => unknown, RegExp][] = [
      [() => opened.readRows([0, 10]), /index 10 \(at position 1\) is not a row of .*args\.npy, which has rows 0…9/],
      [() => opened.readRows([-1]), /index -1/],
      [() => opened.readRows([1.5]), /index 1\.5/],
      [() => opened.readRows([NaN]), /index NaN/],
      [() => opened.readRange(3, 2), /rows \[3, 2\) are not a range/],
      [() => opened.readRange(0, 11), /within the file's 10 rows/],
      [() => opened.readRawRange(-1, 2), /not a range/],
      [() => opened.columns(2, 4), /\[2, 4\) is not a range within the 3 columns/],
      [() => opened.columns(2, 1), /not a range/],
      [() => opened.columns(1, 3).columns(0, 3), /within the 2 columns/],
      [() => opened.chunks(0), /chunkRows must be a whole number/],
    ];
    for (const [f, message] of cases) {
      const error = thrown(f);
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toMatch(message);
    }
    expect(opened.readRows([])).toHaveLength(0);
    const view = opened.columns(0, 2);
    expect(isOpenedNpy(opened) && isOpenedNpy(view)).toBe(true);
    expect(isOpenedNpy({ data: new Float32Array(2), rows: 1, cols: 2 })).toBe(false);
    expect(isOpenedNpy(null)).toBe(false);
    view.close(); // closes the file under every view
    expect(() => opened.readRows([0])).toThrow(/was closed/);
    opened.close();
  });

  it('a lying or hostile header is refused before any large allocation (peak memory, in a child)', () => {
    const cases: ReadCase[] = [
      { name: '10^12 rows of 785', file: write('peak-rows.npy', concat([npyHeader([1e12, 785]), new Uint8Array(4096)])), reader: 'openNpy' },
      { name: '2^30 × 2^20', file: write('peak-dims.npy', concat([npyHeader([2 ** 30, 2 ** 20]), new Uint8Array(64)])), reader: 'openNpy' },
      { name: 'header length ~4 GiB', file: write('peak-header.npy', concat([npyHeader([4, 4], 2 ** 32 - 2), new Uint8Array(64)])), reader: 'openNpy' },
      { name: 'one row too many', file: write('peak-one.npy', concat([npyHeader([1001, 1000]), new Uint8Array(4e6)])), reader: 'openNpy' },
    ];
    const manifest = path.join(dir, 'peak.json');
    writeFileSync(manifest, JSON.stringify(cases));
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(ROOT, 'test/helpers/readPeak.mts'), manifest], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.status, child.stderr).toBe(0);
    const outcomes = child.stdout.trim().split('\n').map((line) => JSON.parse(line) as ReadOutcome);
    expect(outcomes.map((o) => o.outcome)).toEqual(['IO_ERROR', 'IO_ERROR', 'IO_ERROR', 'IO_ERROR']);
    for (const o of outcomes) expect(o.peakBytes - o.startBytes, o.name).toBeLessThan(16 * 2 ** 20);
  }, 90_000);
});

describe('the checkpoint fingerprint of an opened file', () => {
  it('equals the in-memory one for the same features, so either resumes the other', async () => {
    // A uint8 table with the label last, as MNIST-deformed is stored.
    const rows = 53;
    const cols = 9;
    const data = Uint8Array.from({ length: rows * cols }, () => Math.floor(next() * 256));
    const file = path.join(dir, 'table-u8.npy');
    writeFileSync(file, encodeNpy({ data, shape: [rows, cols] }));
    const { train } = await readDataFile(file);
    const Y = { data: Float32Array.from(train.y as Float64Array), rows, cols: 1 };
    withFile(file, (opened) => {
      const features = opened.columns(0, cols - 1);
      expect(dataFingerprint(features, Y)).toEqual(dataFingerprint(train.X, Y));
      for (const chunkRows of [1, 7, rows]) expect(float32Crc(features, chunkRows)).toBe(dataFingerprint(train.X, Y).x);
      expect(float32Crc(opened)).not.toBe(float32Crc(features));
    });
  });
});

describe('requireFiniteRows', () => {
  it('names the first non-finite value by its row in the file, as the in-memory readers do', () => {
    const data = new Float64Array(40 * 3).fill(0.5);
    data[29 * 3 + 2] = 1e300; // beyond float32: Infinity once converted
    data[33 * 3] = NaN;
    const file = path.join(dir, 'nonfinite.npy');
    writeFileSync(file, encodeNpy({ data, shape: [40, 3] }));
    withFile(file, (opened) => {
      for (const chunkRows of [1, 7, undefined]) {
        expectKmfit(() => requireFiniteRows(opened, chunkRows), 'NON_FINITE', /nonfinite\.npy has a non-finite value .* at row 29, feature 2;/);
      }
      expectKmfit(() => requireFiniteRows(opened.columns(0, 2)), 'NON_FINITE', /at row 33, feature 0;/);
      expect(() => requireFiniteRows(opened.columns(1, 2))).not.toThrow();
    });
    const ints = path.join(dir, 'ints.npy');
    writeFileSync(ints, encodeNpy({ data: new Uint8Array(6), shape: [3, 2] }));
    withFile(ints, (opened) => expect(() => requireFiniteRows(opened)).not.toThrow());
  });
});
