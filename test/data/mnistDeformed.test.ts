/**
 * mnist-deformed (issue 16): the deformations (datasets/deform.ts) against answers worked out by
 * hand, and the writer (datasets/mnistDeformed.ts, datasets/write.ts) on small files: layout,
 * labels, determinism, closeness to the source digits, interrupted writes and the command line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Deformer,
  IDENTITY,
  MNIST_DEFORMATION,
  PIXELS,
  RowRandom,
  SIDE,
  gaussianKernel,
  smoothField,
  translate,
  warp,
} from '../../datasets/deform.js';
import {
  COLUMNS,
  ROWS_PER_CHUNK,
  defaultFileName,
  loadTrainingDigits,
  makeRows,
  writeMnistDeformed,
  type Digits,
} from '../../datasets/mnistDeformed.js';
import { parseNpyHeader } from '../../src/io/npy.js';
import { RUN_NUMPY_TESTS, runPython } from '../helpers/numpy.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const folder = temporaryDirectory('mnist-deformed');

let digits: Digits;
beforeAll(async () => {
  digits = await loadTrainingDigits();
});

const digit = (i: number): Uint8Array => digits.images.subarray(i * PIXELS, (i + 1) * PIXELS);
const at = (image: ArrayLike<number>, x: number, y: number): number => image[y * SIDE + x];

describe('warp and translate', () => {
  it('zero displacement, no rotation, scaling or shift: the digit exactly', () => {
    for (const i of [0, 1, 59_999]) {
      const zero = new Float64Array(PIXELS);
      expect(warp(digit(i), zero, zero, IDENTITY, new Uint8Array(PIXELS))).toEqual(digit(i));
    }
    const noise = Uint8Array.from({ length: PIXELS }, (_, p) => (p * 97 + 13) % 256);
    expect(warp(noise, undefined, undefined, IDENTITY, new Uint8Array(PIXELS))).toEqual(noise);
  });

  it('an integer translation moves every pixel by (dx, dy), zeros coming in', () => {
    const image = Uint8Array.from({ length: PIXELS }, (_, p) => 1 + (p % 251));
    for (const [dx, dy] of [[1, 0], [0, -1], [2, 1], [-2, -2], [-1, 2]]) {
      const expected = new Uint8Array(PIXELS);
      for (let y = 0; y < SIDE; y++) {
        for (let x = 0; x < SIDE; x++) {
          const sx = x - dx;
          const sy = y - dy;
          expected[y * SIDE + x] = sx >= 0 && sx < SIDE && sy >= 0 && sy < SIDE ? image[sy * SIDE + sx] : 0;
        }
      }
      expect(translate(image, dx, dy)).toEqual(expected);
    }
  });

  it('half a pixel is the mean of neighbours (bilinear), rounded', () => {
    const image = new Uint8Array(PIXELS);
    image[5 * SIDE + 5] = 100;
    image[5 * SIDE + 6] = 201;
    const moved = translate(image, 0.5, 0);
    expect(at(moved, 5, 5)).toBe(50); // (0 + 100) / 2
    expect(at(moved, 6, 5)).toBe(151); // (100 + 201) / 2 = 150.5, rounded half up
    expect(at(moved, 7, 5)).toBe(101); // (201 + 0) / 2 = 100.5
  });

  it('a quarter turn about the centre: output (x, y) is source (y, 27 − x)', () => {
    const image = Uint8Array.from({ length: PIXELS }, (_, p) => (p * 31) % 256);
    const turned = warp(image, undefined, undefined, { ...IDENTITY, rotation: Math.PI / 2 }, new Uint8Array(PIXELS));
    for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) expect(at(turned, x, y)).toBe(at(image, y, SIDE - 1 - x));
  });

  it('the displacement field adds to the sampling position: a constant (−2, 1) field is a shift by (2, −1)', () => {
    const dx = new Float64Array(PIXELS).fill(-2);
    const dy = new Float64Array(PIXELS).fill(1);
    expect(warp(digit(7), dx, dy, IDENTITY, new Uint8Array(PIXELS))).toEqual(translate(digit(7), 2, -1));
  });
});

describe('the displacement field', () => {
  it('the Gaussian kernel sums to 1, is symmetric, has ⌈3σ⌉ taps a side and the Gaussian shape', () => {
    for (const sigma of [1, 4, 5.5]) {
      const kernel = gaussianKernel(sigma);
      const radius = Math.ceil(3 * sigma);
      expect(kernel.length).toBe(2 * radius + 1);
      expect(kernel.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
      for (let k = 0; k <= radius; k++) {
        expect(kernel[radius + k]).toBe(kernel[radius - k]);
        expect(kernel[radius + k] / kernel[radius]).toBeCloseTo(Math.exp(-(k * k) / (2 * sigma * sigma)), 14);
      }
    }
  });

  it('smoothing keeps a constant field constant, also at the borders', () => {
    const kernel = gaussianKernel(4);
    const field = new Float64Array(PIXELS).fill(-0.375);
    const out = smoothField(field, kernel, new Float64Array(PIXELS));
    for (const v of out) expect(v).toBeCloseTo(-0.375, 14);
  });

  it('the two 1-D passes equal the 2-D convolution with edge values repeated (a naive reference)', () => {
    const kernel = gaussianKernel(2);
    const r = (kernel.length - 1) / 2;
    const field = Float64Array.from({ length: PIXELS }, (_, p) => Math.sin(p * 1.7) + ((p * 13) % 7));
    const clamp = (v: number) => Math.min(SIDE - 1, Math.max(0, v));
    const out = smoothField(field, kernel, new Float64Array(PIXELS));
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        let sum = 0;
        for (let i = -r; i <= r; i++) {
          for (let j = -r; j <= r; j++) sum += kernel[i + r] * kernel[j + r] * field[clamp(y + i) * SIDE + clamp(x + j)];
        }
        expect(out[y * SIDE + x]).toBeCloseTo(sum, 12);
      }
    }
  });

  it("a row's random stream: fill is the same as next() calls, and depends on seed and row only", () => {
    const a = new RowRandom(5, 123);
    const b = new RowRandom(5, 123);
    const filled = new Float64Array(50);
    a.fill(filled.subarray(0, 20));
    a.fill(filled.subarray(20));
    expect(Array.from(filled)).toEqual(Array.from({ length: 50 }, () => b.next()));
    for (const v of filled) expect(v >= 0 && v < 1).toBe(true);
    expect(new RowRandom(5, 124).next()).not.toBe(new RowRandom(5, 123).next());
    expect(new RowRandom(6, 123).next()).not.toBe(new RowRandom(5, 123).next());
  });
});

describe('writeMnistDeformed', () => {
  const N = 300;
  const file = (name: string) => path.join(folder, name);

  beforeAll(async () => {
    await writeMnistDeformed({ n: N, out: file('a.npy') });
    await writeMnistDeformed({ n: N, out: file('b.npy') });
    await writeMnistDeformed({ n: N, seed: 1, out: file('seed1.npy') });
  });

  it('default names: m for whole millions, k for whole thousands, else the number', () => {
    expect(defaultFileName(1_000_000)).toBe('mnist-deformed-1m.npy');
    expect(defaultFileName(8_000_000)).toBe('mnist-deformed-8m.npy');
    expect(defaultFileName(2_500_000)).toBe('mnist-deformed-2500k.npy');
    expect(defaultFileName(100_000)).toBe('mnist-deformed-100k.npy');
    expect(defaultFileName(300)).toBe('mnist-deformed-300.npy');
    expect(defaultFileName(1234)).toBe('mnist-deformed-1234.npy');
  });

  it('a uint8 .npy of shape (N, 785); row i is digit i mod 60 000 deformed, then its label', () => {
    const bytes = new Uint8Array(readFileSync(file('a.npy')));
    const header = parseNpyHeader(bytes, 'a.npy');
    expect(header.info.dtype).toBe('uint8');
    expect(header.shape).toEqual([N, COLUMNS]);
    expect(header.fortranOrder).toBe(false);
    expect(bytes.length).toBe(header.dataOffset + N * COLUMNS);
    const rows = bytes.subarray(header.dataOffset);
    for (let i = 0; i < N; i++) expect(rows[i * COLUMNS + PIXELS]).toBe(digits.labels[i]);
    // Every row deformed: none is its source digit.
    for (let i = 0; i < N; i++) expect(rows.subarray(i * COLUMNS, i * COLUMNS + PIXELS)).not.toEqual(digit(i));
    // Rows past the 60 000 digits start over with digit 0.
    const late = makeRows(digits, 0, 60_000, 2, new Uint8Array(2 * COLUMNS));
    expect(late[PIXELS]).toBe(digits.labels[0]);
    expect(late[COLUMNS + PIXELS]).toBe(digits.labels[1]);
  });

  it.runIf(RUN_NUMPY_TESTS)('numpy reads it: shape, dtype, labels', () => {
    const read = runPython(
      'import json, sys, numpy; a = numpy.load(sys.argv[1]); ' +
        'print(json.dumps([a.shape, a.dtype.str, a[:, -1].tolist(), int(a[:, :-1].max())]))',
      file('a.npy'),
    ) as [number[], string, number[], number];
    expect(read[0]).toEqual([N, COLUMNS]);
    expect(read[1]).toBe('|u1');
    expect(read[2]).toEqual(Array.from(digits.labels.subarray(0, N)));
    expect(read[3]).toBeLessThanOrEqual(255);
  });

  it('the same seed gives the same bytes, another seed other pixels (same labels)', () => {
    const a = readFileSync(file('a.npy'));
    expect(readFileSync(file('b.npy')).equals(a)).toBe(true);
    const other = readFileSync(file('seed1.npy'));
    expect(other.equals(a)).toBe(false);
    const offset = parseNpyHeader(new Uint8Array(a), 'a').dataOffset;
    for (let i = 0; i < N; i++) expect(other[offset + i * COLUMNS + PIXELS]).toBe(a[offset + i * COLUMNS + PIXELS]);
  });

  it('any range of rows made alone equals the same rows of the file', () => {
    const a = new Uint8Array(readFileSync(file('a.npy')));
    const offset = parseNpyHeader(a, 'a').dataOffset;
    const part = makeRows(digits, 0, 137, 51, new Uint8Array(51 * COLUMNS));
    expect(part).toEqual(a.subarray(offset + 137 * COLUMNS, offset + 188 * COLUMNS));
  });

  it('deformed digits stay close to their sources and keep their class', () => {
    // Nearest-centroid classifier of the original classes, from all 60 000 training digits.
    const centroids = new Float64Array(10 * PIXELS);
    const counts = new Float64Array(10);
    for (let i = 0; i < digits.count; i++) {
      const c = digits.labels[i];
      counts[c]++;
      for (let p = 0; p < PIXELS; p++) centroids[c * PIXELS + p] += digits.images[i * PIXELS + p];
    }
    for (let c = 0; c < 10; c++) for (let p = 0; p < PIXELS; p++) centroids[c * PIXELS + p] /= counts[c];
    const classify = (image: ArrayLike<number>) => {
      let best = -1;
      let bestDistance = Infinity;
      for (let c = 0; c < 10; c++) {
        let distance = 0;
        for (let p = 0; p < PIXELS; p++) distance += (image[p] - centroids[c * PIXELS + p]) ** 2;
        if (distance < bestDistance) [best, bestDistance] = [c, distance];
      }
      return best;
    };
    const meanAbsolute = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let sum = 0;
      for (let p = 0; p < PIXELS; p++) sum += Math.abs(a[p] - b[p]);
      return sum / PIXELS;
    };
    const n = 1000;
    const rows = makeRows(digits, 0, 0, n, new Uint8Array(n * COLUMNS));
    let rightOriginal = 0;
    let rightDeformed = 0;
    let toSource = 0;
    let toOtherClass = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      const deformed = rows.subarray(i * COLUMNS, i * COLUMNS + PIXELS);
      if (classify(digit(i)) === digits.labels[i]) rightOriginal++;
      if (classify(deformed) === digits.labels[i]) rightDeformed++;
      toSource += meanAbsolute(deformed, digit(i));
      const j = (i + 1) % n;
      if (digits.labels[j] !== digits.labels[i]) {
        toOtherClass += meanAbsolute(digit(j), digit(i));
        pairs++;
      }
    }
    // Measured: originals 80 % right, deformed 72 %; 19.6 grey levels from the source, 43.6 between classes.
    expect(rightOriginal / n).toBeGreaterThan(0.75);
    expect(rightDeformed / n).toBeGreaterThan(0.65);
    expect(rightDeformed / n).toBeGreaterThan(rightOriginal / n - 0.15);
    expect(toSource / n).toBeLessThan(0.6 * (toOtherClass / pairs));
    // … and they are deformed: the mean pixel difference from the source is not small either.
    expect(toSource / n).toBeGreaterThan(5);
  });

  it('a failure between chunks leaves no file and no temporary, and the error comes back', async () => {
    const out = file('interrupted.npy');
    const seen: number[] = [];
    const stop = new Error('stopped by the test');
    const caught = await writeMnistDeformed({
      n: ROWS_PER_CHUNK + 10,
      out,
      digits,
      onProgress: (done) => {
        seen.push(done);
        throw stop;
      },
    }).catch((error: unknown) => error);
    expect(caught).toBe(stop);
    expect(seen).toEqual([ROWS_PER_CHUNK]);
    expect(readdirSync(folder).filter((name) => name.includes('interrupted'))).toEqual([]);
  });

  it('the default deformation is the documented one', () => {
    expect(new Deformer().parameters).toEqual({ sigma: 4, alpha: 16, maxShift: 1, maxRotation: 6, maxScale: 0.06 });
    expect(MNIST_DEFORMATION).toBe(new Deformer().parameters);
  });
});

describe('npm run datasets -- mnist-deformed', () => {
  // As package.json's "datasets" script runs it: node with tsx's loader, no tsx parent process
  // (whose signal relay would SIGKILL a script busy making a chunk).
  const script = ['--import', 'tsx', path.join(ROOT, 'datasets/write.ts')];
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [...script, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 }); // tsx resolves from cwd

  it('writes the file named by --out and says so in one line', () => {
    const out = path.join(folder, 'cli.npy');
    const result = run('mnist-deformed', '--n', '40', '--seed', '3', '--out', out);
    expect(result.status).toBe(0);
    const line = `wrote ${out}: 40 rows × 785 uint8 (seed 3), ${128 + 40 * COLUMNS} bytes in `;
    expect(result.stdout.trim().startsWith(line)).toBe(true);
    expect(result.stdout.trim().slice(line.length)).toMatch(/^\d+s$/);
    const bytes = new Uint8Array(readFileSync(path.join(folder, 'cli.npy')));
    expect(parseNpyHeader(bytes, 'cli.npy').shape).toEqual([40, COLUMNS]);
  });

  it.each([
    [['mnist-deformed', '--n', '0'], /--n must be a whole number of rows from 1 to 10000000/],
    [['mnist-deformed', '--n', '2.5'], /got '2\.5'/],
    [['mnist-deformed', '--n', '11m'], /got '11m'/],
    [['mnist-deformed', '--seed', 'x'], /--seed must be an integer from 0 to 4294967295/],
    [['mnist-deformed', '--size', '5'], /unknown option '--size'/],
    [['mnist-faded'], /unknown data set 'mnist-faded'/],
  ])('%j: one line on stderr, exit code 2', (args, message) => {
    const result = run(...args);
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^datasets: /);
    expect(lines[0]).toMatch(message);
  });

  it('Ctrl-C mid-way: exit code 130, no file and no temporary left', async () => {
    const child = spawn(process.execPath, [...script, 'mnist-deformed', '--n', '1m', '--out', path.join(folder, 'big.npy')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve)); // 'close': stderr read to its end
    // Once the temporary exists the write is under way; then interrupt it.
    const started = Date.now();
    while (!readdirSync(folder).some((name) => name.startsWith('.big.npy.')) && Date.now() - started < 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr.trim().split('\n').at(-1)).toBe(`datasets: interrupted (SIGINT); nothing was written to ${path.join(folder, 'big.npy')}`);
    expect(readdirSync(folder).filter((name) => name.includes('big.npy'))).toEqual([]);
  });
});
