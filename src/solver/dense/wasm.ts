/**
 * The eigensolver's dense loops, and the preconditioner's correction in training, in WebAssembly
 * f64x2 SIMD (kernels/wasm/assembly/dense.ts), each instance over a memory of its own (one
 * module, compiled once). The eigensolver's holds the matrix, three scratch vectors, the Lanczos
 * basis and, after the basis in use, the temporaries of a call:
 *
 *   [reserved 64 KiB][A: n×n float32][x][y][w][basis …][temporaries]
 *
 * so that the basis grows in place. The memory is shared (a SharedArrayBuffer) because growing a
 * shared memory never detaches the views already handed out; where shared memory is unavailable
 * (a browser page that is not cross-origin isolated) the JavaScript loops serve instead. Vector
 * arguments are copied in and out of the scratch (O(n) per call, against O(n²) or O(n·rows) of
 * work), so that callers keep plain arrays everywhere but in the basis. The correction's layout is
 * at wasmCorrectionKernels.
 */
import { DENSE_RELAXED_WASM, DENSE_SIMD_WASM } from '../../../kernels/wasm/generated/modules.js';
import { webAssembly, type WasmMemory } from '../../backends/wasm/engine.js';
import { decodeBase64, engineAccepts, type WasmVariant } from '../../backends/wasm/modules.js';
import { KmfitError } from '../../errors.js';
import type { DenseKernels, CorrectionKernels } from './kernels.js';
import { denseTeam, splitRange, type Chunk, type DenseCall } from './team.js';

type DenseExports = Record<DenseCall | 'projectColumns' | 'combineColumns' | 'columnsOf' | 'rowsOf', (...args: number[]) => void>;

const PAGE = 65536;
/** Below this the module's static data would live (it has none); allocations start above. */
const RESERVED_BYTES = PAGE;
/** wasm32's 4 GiB. */
const MAX_PAGES = 65536;
/**
 * Multiply-adds below which a chunk of a call is not worth a handoff to another thread (a handoff
 * costs a few microseconds; this is about 10).
 */
const MINIMUM_CHUNK = 32_768;
/** Subsamples smaller than this run the eigensolver on the calling thread alone. */
export const MINIMUM_SHARED_SIZE = 1000;

let module: { compiled: object; variant: WasmVariant } | null | undefined;

/** The compiled module of the best build this engine runs, or null (compiled once per process). */
function denseModule(): { compiled: object; variant: WasmVariant } | null {
  if (module !== undefined) return module;
  module = null;
  const wasm = webAssembly();
  if (!wasm || typeof SharedArrayBuffer === 'undefined') return module;
  for (const [variant, base64] of [['relaxed', DENSE_RELAXED_WASM], ['simd', DENSE_SIMD_WASM]] as const) {
    const bytes = decodeBase64(base64);
    if (!engineAccepts(bytes, variant)) continue;
    try {
      module = { compiled: new wasm.Module(bytes), variant };
      break;
    } catch {
      // A browser may refuse synchronous compilation on its main thread: JavaScript loops then.
    }
  }
  return module;
}

/** A fresh instance of the dense module on a shared memory of its own, and how to lay that memory out. */
interface DenseInstance {
  readonly compiled: object;
  readonly memory: WasmMemory;
  readonly exports: DenseExports;
  /** Grows the memory to hold `end` bytes; `tooLarge` is the error's advice when that passes 4 GiB. */
  reserve(end: number, tooLarge: (gibibytes: string) => string): void;
  /** A view of `length` float64 at byte `at`. */
  f64(at: number, length: number): Float64Array;
}

/** The dense module instantiated on a new memory, or undefined where this engine cannot run it. */
function denseInstance(): DenseInstance | undefined {
  const compiled = denseModule();
  const wasm = webAssembly();
  if (!compiled || !wasm) return undefined;
  let memory: WasmMemory;
  try {
    memory = new wasm.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  } catch {
    return undefined;
  }
  const exports = new wasm.Instance(compiled.compiled, { env: { memory } }).exports as unknown as DenseExports;
  return {
    compiled: compiled.compiled,
    memory,
    exports,
    reserve(end, tooLarge) {
      const pages = Math.ceil(end / PAGE);
      const have = memory.buffer.byteLength / PAGE;
      if (pages <= have) return;
      if (pages > MAX_PAGES) throw new KmfitError('INSUFFICIENT_MEMORY', tooLarge((end / 2 ** 30).toFixed(1)));
      memory.grow(pages - have);
    },
    f64: (at, length) => new Float64Array(memory.buffer, at, length),
  };
}

/** Rounds a byte count up to the 16 bytes of a SIMD load. */
const align = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/**
 * The wasm kernels for this matrix, or undefined where this engine cannot run them. `threads`
 * (default 1) share each call where helper threads run (./team.ts); `release` stops them.
 */
export function wasmDenseKernels(matrix: Float32Array, n: number, threads = 1): DenseKernels | undefined {
  const instance = denseInstance();
  if (!instance) return undefined;
  const { memory, exports, f64 } = instance;
  // A small subsample solves in a fraction of a second on one thread: no helpers to start (they
  // would outlive a small fit's set-up by the time they take to exit).
  const team = denseTeam(instance.compiled, memory, exports, n >= MINIMUM_SHARED_SIZE ? threads : 1);
  /** Chunks of [0, total) for the threads to claim, inner bounds multiples of `align`, each worth a handoff. */
  const ranges = (total: number, align: number, workPerUnit: number) =>
    splitRange(total, team.chunks(), align, Math.ceil(MINIMUM_CHUNK / Math.max(1, workPerUnit)));

  const vectorBytes = align(n * 8);
  const matrixAt = RESERVED_BYTES;
  const xAt = matrixAt + align(n * n * 4);
  const yAt = xAt + vectorBytes;
  const wAt = yAt + vectorBytes;
  const basisAt = wAt + vectorBytes;
  /** Bytes of the basis last handed out: temporaries go after it. */
  let basisBytes = 0;
  const temporaries = (): number => align(basisAt + basisBytes);
  const reserve = (end: number): void =>
    instance.reserve(
      end,
      (size) => `The eigensystem of a subsample of ${n} points needs ${size} GiB, more than WebAssembly's 4 GiB; choose a smaller subsampleSize.`,
    );

  reserve(basisAt);
  new Float32Array(memory.buffer, matrixAt, n * n).set(matrix);
  const x = f64(xAt, n);
  const y = f64(yAt, n);
  const w = f64(wAt, n);

  // The split points: rows in fours (a row's sum then runs the same loop as in one range), entries
  // and columns in twos (SIMD lanes pair them from 0), outputs in fours (combineRows' groups).
  return {
    engine: 'wasm',
    multiply(input, output, scale) {
      x.set(input);
      team.run('multiply', ranges(n, 4, n).map(([first, last]): Chunk => [matrixAt, n, xAt, yAt, scale, first, last]));
      output.set(y);
    },
    newBasis(rows) {
      basisBytes = rows * n * 8;
      reserve(basisAt + basisBytes);
      const basis = f64(basisAt, rows * n);
      basis.fill(0);
      return basis;
    },
    growBasis(basis, rows) {
      if (basis.length >= rows * n) return basis;
      basisBytes = rows * n * 8;
      reserve(basisAt + basisBytes);
      return f64(basisAt, rows * n); // the same memory, a longer view: nothing to copy
    },
    projectOut(basis, rows, vector, out) {
      const coefficientsAt = temporaries();
      reserve(coefficientsAt + rows * 8);
      w.set(vector);
      const at = basis.byteOffset;
      team.run('coefficientsOf', ranges(rows, 4, n).map(([first, last]): Chunk => [at, first, last, n, wAt, coefficientsAt]));
      team.run('subtractCombination', ranges(n, 2, rows).map(([first, last]): Chunk => [at, rows, n, first, last, wAt, coefficientsAt]));
      vector.set(w);
      out.set(f64(coefficientsAt, rows));
    },
    combineRows(basis, skip, k, weights, count) {
      const yTemp = temporaries();
      const outTemp = align(yTemp + k * count * 8);
      reserve(outTemp + count * n * 8);
      f64(yTemp, k * count).set(weights.subarray(0, k * count));
      const at = basis.byteOffset + skip * n * 8;
      team.run(
        'combineRows',
        ranges(count, 4, k * n).map(([first, last]): Chunk => [at, k, n, yTemp + first * k * 8, last - first, outTemp + first * n * 8]),
      );
      return f64(outTemp, count * n).slice();
    },
    rotateRows(z, count, sweeps) {
      const zAt = temporaries();
      const cosAt = align(zAt + z.length * 8);
      const sinAt = align(cosAt + sweeps.used * 8);
      const sweepsAt = align(sinAt + sweeps.used * 8);
      const sweepCount = sweeps.lows.length;
      reserve(sweepsAt + sweepCount * 12);
      const zView = f64(zAt, z.length);
      zView.set(z);
      f64(cosAt, sweeps.used).set(sweeps.cos.subarray(0, sweeps.used));
      f64(sinAt, sweeps.used).set(sweeps.sin.subarray(0, sweeps.used));
      const triples = new Int32Array(memory.buffer, sweepsAt, sweepCount * 3);
      for (let t = 0; t < sweepCount; t++) triples.set([sweeps.starts[t], sweeps.lows[t], sweeps.highs[t]], t * 3);
      team.run(
        'rotateSweeps',
        ranges(count, 2, sweeps.used).map(([first, last]): Chunk => [zAt, count, first, last, cosAt, sinAt, sweepsAt, sweepCount]),
      );
      z.set(zView);
    },
    threads: () => team.threads(),
    release: () => team.release(),
    ready: team.ready,
  };
}

/**
 * The preconditioner's correction in wasm, or undefined where this engine cannot run it. V is
 * copied in once; the memory is laid out for the widest T seen so far:
 *
 *   [reserved 64 KiB][V: r×s float64][T: s×l float32][T's columns: l×s][U: r×l][result's columns: l×s][result: s×l]
 *
 * On the calling thread only: at s = 2 000 a step's correction takes a few milliseconds, two
 * threads were measured to save a few percent of that (on a loaded 2-core machine), and a team's
 * helpers would have to be held, and released, across the whole training.
 */
export function wasmCorrectionKernels(vectors: Float64Array, r: number, s: number): CorrectionKernels | undefined {
  const instance = denseInstance();
  if (!instance) return undefined;
  const { exports, f64, memory } = instance;
  const vectorsAt = RESERVED_BYTES;
  /** Where each operand of a correction with l columns starts, after V; the memory holds them. */
  const layout = (l: number) => {
    const tAt = align(vectorsAt + r * s * 8);
    const columnsAt = align(tAt + s * l * 4);
    const coefficientsAt = align(columnsAt + l * s * 8);
    const resultColumnsAt = align(coefficientsAt + r * l * 8);
    const resultAt = align(resultColumnsAt + l * s * 8);
    instance.reserve(
      resultAt + s * l * 8,
      (size) => `The preconditioner of ${r} eigenvectors on ${s} points needs ${size} GiB, more than WebAssembly's 4 GiB; choose a smaller subsampleSize.`,
    );
    return { tAt, columnsAt, coefficientsAt, resultColumnsAt, resultAt };
  };
  layout(1);
  f64(vectorsAt, r * s).set(vectors.subarray(0, r * s));
  return {
    engine: 'wasm',
    correction(t, l, weights, rows) {
      const { tAt, columnsAt, coefficientsAt, resultColumnsAt, resultAt } = layout(l);
      const tView = new Float32Array(memory.buffer, tAt, s * l);
      if (!rows) tView.set(t.subarray(0, s * l));
      else for (let i = 0; i < s; i++) tView.set(t.subarray(rows[i] * l, rows[i] * l + l), i * l);
      exports.columnsOf(tAt, s, l, columnsAt);
      exports.projectColumns(vectorsAt, 0, r, s, columnsAt, l, coefficientsAt);
      const u = f64(coefficientsAt, r * l);
      for (let k = 0; k < r; k++) for (let c = 0; c < l; c++) u[k * l + c] *= weights[k];
      exports.combineColumns(vectorsAt, r, s, coefficientsAt, l, 0, s, resultColumnsAt);
      exports.rowsOf(resultColumnsAt, s, l, resultAt);
      return f64(resultAt, s * l).slice();
    },
  };
}
