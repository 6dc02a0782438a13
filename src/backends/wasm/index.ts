/**
 * `wasm`: the default backend on CPUs. WebAssembly SIMD kernels (kernels/wasm/assembly/, compiled
 * by AssemblyScript, embedded as base64) on a pool of worker threads sharing one WebAssembly.Memory.
 *
 * The fused block out = k(X, Z[j0:j1])·α[j0:j1] runs tile by tile: an 8-row × 4-center register
 * blocked distance GEMM over packed panels (‖x‖² + ‖z‖² − 2x·z; Σ(x − z)² for d ≤ 16), the kernel
 * transform in SIMD while the tile is in cache, then the product with α. The m×n kernel matrix is
 * never materialized. Each worker takes a range of center panels and sums into its own l×m slot;
 * the main thread adds the slots.
 *
 * Memory: the centers are packed once into panels (the unpacked copy is not kept), with their
 * norms and the weights α (n×l) resident in the WebAssembly memory; batches, tiles and partial
 * outputs use one scratch region that grows as needed. wasm32 caps all of it at 4 GiB.
 *
 * A kernel cache's products (cacheEngine) widen float16 / bfloat16 to float32 in SIMD, four rows
 * at a time, each load of the weights shared by the four rows; blocks are kernelBlock's, rounded in
 * SIMD in place in scratch. A cache that fits in half of the 4 GiB keeps its rows in this memory
 * (allocate), and the products read them in place, by a table of row addresses where a batch's rows
 * are scattered; a larger one streams its rows through scratch in chunks.
 *
 * Calls are serialized: a predict, kernelBlock or weight update waits for the one before it, so the
 * solver may issue them without awaiting each (but gains nothing from overlapping them).
 */
import type { Kernel } from '../../../kernels/kernel.js';
import { KmfitError } from '../../errors.js';
import type { Matrix } from '../../matrix.js';
import type { Backend, CacheEngine, CachedValues, CachePrecision, CenterGroup, CenterSet, DeviceInfo, MemoryBudget, RowSource } from '../backend.js';
import { separateCenterSets } from '../centerGroup.js';
import { valueBytes } from '../halfPrecision.js';
import {
  checkBlock, checkBlockOutput, checkCachedProduct, checkCenters, checkDeltas, checkOutputs, checkPredict, checkTransposedProduct, checkWeights,
} from '../misuse.js';
import { SerialQueue } from '../queue.js';
import { cpuName, freeMemoryBytes, threadCount } from '../system.js';
import { webAssembly } from './engine.js';
import { HeapFullError, MAX_BYTES, MAX_PAGES, RESERVED_BYTES, WasmHeap } from './heap.js';
import { bindExports, compileVariant, probeSupport, variantSupported, type BlockExports, type WasmVariant } from './modules.js';
import { WorkerPool } from './pool.js';
import { CACHE_WIDENED_BYTES, M, MEMBER_FIELDS, OP_BLOCK, OP_CACHED_PRODUCT, OP_FUSED, OP_FUSED_GROUP, OP_TRANSPOSED_PRODUCT, P, PRECISION_IDS } from './protocol.js';
import { KERNEL_CUSTOM, chooseTransform, type TransformChoice } from './transforms.js';

export type { WasmVariant } from './modules.js';

export interface WasmBackendOptions {
  /** Worker threads; default: one per core (os.availableParallelism(), navigator.hardwareConcurrency). */
  readonly threads?: number;
  /** Which build to run; default: 'relaxed' (FMA) where the engine accepts it, else 'simd'. */
  readonly variant?: WasmVariant;
  /**
   * @internal Bytes of cached kernel values a product copies into WebAssembly memory per step
   * (default CACHE_CHUNK_BYTES); tests make it small to exercise the chunking.
   */
  readonly cacheChunkBytes?: number;
  /** @internal Bytes of output rows per kernel-block job (default BLOCK_CHUNK_BYTES); tests make it small too. */
  readonly blockChunkBytes?: number;
}

/** Distances as Σ(x − z)² up to this d: exact for close points, and the GEMM is cheap there. */
const DIRECT_MAX_DIM = 16;
/** Fused tiles: rows × centers, 64 KiB, kept in L2 between the GEMM, the transform and α. */
const TILE_ROWS = 128;
const TILE_COLS = 128;
/** kernelBlock: rows of X per pass, and bytes of Y per pass (kept in L2). */
const BLOCK_X_PANELS = 8;
const BLOCK_Y_BYTES = 256 * 1024;
/** kernelBlock: bytes of output rows per job (two such regions alternate). */
const BLOCK_CHUNK_BYTES = 32 * 1024 * 1024;
/** Rows of centers copied into wasm memory at a time while packing. */
const PACK_CHUNK_BYTES = 8 * 1024 * 1024;
/**
 * Cached-kernel products: bytes of K copied into wasm memory per job. Two such chunks alternate,
 * so that the main thread copies the next while the workers multiply this one.
 */
const CACHE_CHUNK_BYTES = 16 * 1024 * 1024;
/** Scratch above this is freed after the call that needed it, for center sets to reuse. */
const KEEP_SCRATCH_BYTES = 256 * 1024 * 1024;
/**
 * Outputs up to which a transposed product reads its rows in place: timesWeights' register block
 * (4 outputs) then passes over the rows once per panel of 8 columns. With more outputs it passes
 * again for every 4, and rows at scattered addresses, unlike copied ones at one stride, defeat the
 * hardware prefetcher: letter's correction (l = 26) took 1.5× as long in place as copied, diamonds'
 * (l = 1) 0.4× (`npx tsx bench/subsampleCorrection.ts`).
 */
const TRANSPOSED_IN_PLACE_OUTPUTS = 4;
/** A kernel cache's values go in the heap only while it then holds at most this much (half of its 4 GiB). */
const CACHE_HEAP_BYTES = MAX_BYTES / 2;

const GIB = 2 ** 30;

function gib(bytes: number): string {
  return (bytes / GIB).toFixed(bytes < GIB / 10 ? 3 : 1);
}

/** Whether this engine can run the wasm backend, and with which build. */
export function wasmSupport(): { available: boolean; reason?: string; variant?: string } {
  const support = probeSupport();
  return {
    available: support.available,
    ...(support.reason !== undefined ? { reason: support.reason } : {}),
    ...(support.variant !== undefined ? { variant: support.variant } : {}),
  };
}

/**
 * Starts the wasm backend: compiles the kernels (once per process), creates the shared memory and
 * one worker per thread.
 * @throws KmfitError INVALID_OPTION for a bad `threads` or an unsupported `variant`;
 *   UNKNOWN_BACKEND where WebAssembly SIMD or shared memory is unavailable.
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  const threads = threadCount(options.threads);
  if (options.variant !== undefined && options.variant !== 'relaxed' && options.variant !== 'simd') {
    throw new KmfitError('INVALID_OPTION', `variant must be 'relaxed' or 'simd'; got ${JSON.stringify(options.variant)}.`);
  }
  const support = probeSupport();
  if (!support.available || support.variant === undefined) {
    throw new KmfitError('UNKNOWN_BACKEND', `The wasm backend is not available here: ${support.reason}. Use backend: 'js'.`);
  }
  const variant = options.variant ?? support.variant;
  if (!variantSupported(variant)) {
    throw new KmfitError(
      'INVALID_OPTION',
      `This engine does not run the wasm '${variant}' build (relaxed SIMD); use variant: 'simd', or leave variant out.`,
    );
  }
  const wasm = webAssembly();
  if (!wasm) throw new KmfitError('UNKNOWN_BACKEND', "The wasm backend is not available here: no WebAssembly. Use backend: 'js'.");
  const module = await compileVariant(variant);
  const memory = new wasm.Memory({ initial: 2, maximum: MAX_PAGES, shared: true });
  const instance = await wasm.instantiate(module, { env: { memory } });
  const pool = await WorkerPool.start(module, memory, threads);
  return new WasmBackend(new WasmHeap(memory), bindExports(instance.exports), pool, variant, options.cacheChunkBytes ?? CACHE_CHUNK_BYTES, options.blockChunkBytes ?? BLOCK_CHUNK_BYTES);
}

interface Packed {
  /** Panels (row panels of 8, or center panels of 4) and the squared norms of their rows. */
  readonly panels: number;
  readonly norms: number;
  /** Center sets still using these panels (a center group's members share them). */
  users: number;
}

class WasmBackend implements Backend {
  readonly name = 'wasm';
  readonly cacheTransposedProducts = true;
  private readonly queue = new SerialQueue();
  private scratchStart = 0;
  private scratchBytes = 0;
  private disposed = false;
  private disposal: Promise<void> | undefined;
  private readonly centerSets = new Set<WasmCenterSet>();
  /** The memory's buffers that views cacheValues() returned lie on: such a view is in the heap, at its byteOffset. */
  private readonly cacheBuffers = new WeakSet<ArrayBufferLike>();

  constructor(
    readonly heap: WasmHeap,
    readonly wasm: BlockExports,
    private readonly pool: WorkerPool,
    private readonly variant: WasmVariant,
    private readonly cacheChunkBytes: number,
    private readonly blockChunkBytes: number,
  ) {}

  /** Runs `task` after every call before it has finished (one job at a time on the workers). */
  exclusive<T>(task: () => T | Promise<T>): Promise<T> {
    return this.queue.run(() => {
      if (this.disposed) throw new Error('the wasm backend has been disposed');
      return task();
    });
  }

  createCenterSet(kernel: Kernel, centers: Matrix, outputs: number): Promise<CenterSet> {
    return this.exclusive(() => this.packedSets([chooseTransform(kernel)], centers, outputs)[0]);
  }

  /**
   * Built-in kernels share the packed centers and each tile's distances (OP_FUSED_GROUP); a custom
   * kernel's transform is compiled per job from the control block, which holds one at a time, so a
   * group with one takes the portable route.
   */
  async createCenterGroup(kernels: readonly Kernel[], centers: Matrix, outputs: number): Promise<CenterGroup> {
    const transforms = kernels.map(chooseTransform);
    if (transforms.some((t) => t.kind === KERNEL_CUSTOM)) return separateCenterSets(this, kernels, centers, outputs);
    const members = await this.exclusive(() => this.packedSets(transforms, centers, outputs));
    return {
      members,
      sharesDistances: true,
      predictAll: (X, outs) =>
        this.exclusive(() => {
          members.forEach((set) => set.checkLive());
          return this.fusedGroup(members, X, outs);
        }),
      // The packed centers are counted by their users: the kept set holds them on.
      dispose: (keep) => members.forEach((set) => set !== keep && set.dispose()),
    };
  }

  /** Packs the centers once and gives each transform a center set with weights of its own (inside `exclusive`). */
  private packedSets(transforms: readonly TransformChoice[], centers: Matrix, outputs: number): WasmCenterSet[] {
    const { rows: n, cols: d } = centers;
    checkOutputs(outputs);
    const count = transforms.length;
    const panelRows = Math.ceil(n / 4) * 4;
    const bytes = panelRows * d * 4 + panelRows * 4 + count * n * outputs * 4;
    const others = this.heap.usedBytes - this.scratchBytes;
    const room = MAX_BYTES - RESERVED_BYTES - others - this.scratchEstimate(d);
    if (bytes > room) {
      const perCenter = (d + count * outputs + 1) * 4;
      throw new KmfitError(
        'INSUFFICIENT_MEMORY',
        `The wasm backend keeps the centers in one WebAssembly memory of at most 4 GiB: ${n} centers × ${d} features ` +
          `with ${outputs} outputs${count > 1 ? ` for each of ${count} kernels` : ''} need ${gib(bytes)} GiB${others > 0 ? `, besides ${gib(others)} GiB of other center sets` : ''}. ` +
          `Use fewer centers (at most about ${Math.max(0, Math.floor(room / perCenter))} here)${count > 1 ? ', fewer candidates' : ''} or another backend (backend: 'webgpu' or 'js').`,
      );
    }
    checkCenters(centers);
    const regions: number[] = [];
    try {
      const packed = this.withHeap(() => {
        const panels = this.heap.alloc(panelRows * d * 4);
        regions.push(panels);
        const norms = this.heap.alloc(panelRows * 4);
        regions.push(norms);
        return { panels, norms, users: count };
      }, `${n} centers × ${d} features`);
      const alphas = transforms.map(() => {
        const alpha = this.withHeap(() => this.heap.alloc(n * outputs * 4), `the weights of ${n} centers`);
        regions.push(alpha);
        this.heap.f32(alpha, n * outputs).fill(0);
        return alpha;
      });
      this.packCenters(centers, packed);
      const sets = transforms.map((transform, k) => new WasmCenterSet(this, transform, packed, alphas[k], n, d, outputs));
      for (const set of sets) this.centerSets.add(set);
      return sets;
    } catch (error) {
      for (const region of regions) this.heap.free(region);
      throw error;
    }
  }

  kernelBlock(kernel: Kernel, X: Matrix, Y: Matrix): Promise<Float32Array> {
    const result = new Float32Array(X.rows * Y.rows);
    return this.blockInto('float32', kernel, X, Y, result, 0, Y.rows).then(() => result);
  }

  /**
   * k(X, Y) in `precision` written at out[offset + i·stride + j]: computed in scratch in chunks of
   * rows, each rounded there in SIMD for 16 bits and copied row by row while the workers compute
   * the next.
   */
  private blockInto(precision: CachePrecision, kernel: Kernel, X: Matrix, Y: Matrix, out: CachedValues, offset: number, stride: number): Promise<void> {
    return this.exclusive(async () => {
      const m = X.rows;
      const n = Y.rows;
      checkBlock(X, Y);
      checkBlockOutput(precision, out, m, n, offset, stride);
      if (m === 0 || n === 0) return;
      await this.blockInChunks(kernel, X, Y, (first, rows, at, ld) => {
        const to = offset + first * stride;
        if (precision === 'float32') {
          const view = this.heap.f32(at, rows * ld);
          for (let i = 0; i < rows; i++) out.set(view.subarray(i * ld, i * ld + n), to + i * stride);
        } else {
          // Rounded in place, rows packed (each row's 16-bit values end before its float32 ones are read).
          this.wasm.roundRows(at, rows, n, ld, at, PRECISION_IDS[precision]);
          const view = this.heap.u16(at, rows * n); // packed: row i at i·n
          for (let i = 0; i < rows; i++) out.set(view.subarray(i * n, (i + 1) * n), to + i * stride);
        }
      });
      this.trimScratch();
    });
  }

  /**
   * k(X, Y) computed in scratch (inside `exclusive`; X and Y not empty), in chunks of rows of X
   * through two alternating output regions of at most BLOCK_CHUNK_BYTES: `take(first, rows, at, ld)`
   * reads chunk rows [first, first + rows) (row i at at + 4·i·ld bytes, ld ≥ rows(Y)) while the
   * workers compute the next. Fresh scratch costs its first touch (≈ 3.7 ms per MB here), so the
   * output never needs more than two chunks of it, whatever m is.
   */
  private async blockInChunks(kernel: Kernel, X: Matrix, Y: Matrix, take: (first: number, rows: number, at: number, ld: number) => void): Promise<void> {
    const m = X.rows;
    const n = Y.rows;
    const d = X.cols;
    const transform = chooseTransform(kernel);
    const xPanels = Math.ceil(m / 4);
    const yPanels = Math.ceil(n / 8);
    const ldo = yPanels * 8;
    const chunkPanels = Math.min(xPanels, Math.max(this.pool.size, Math.floor(this.blockChunkBytes / (16 * ldo))));
    const chunks = Math.ceil(xPanels / chunkPanels);
    // Scratch: raw rows (X, then Y), X as center panels, Y as row panels, the output's two regions.
    const layout = new ScratchLayout();
    const raw = layout.take(Math.max(m, n) * d * 4);
    const xp = layout.take(xPanels * 4 * d * 4);
    const xn = layout.take(xPanels * 4 * 4);
    const yp = layout.take(yPanels * 8 * d * 4);
    const yn = layout.take(yPanels * 8 * 4);
    const outs = [layout.take(chunkPanels * 16 * ldo)];
    if (chunks > 1) outs.push(layout.take(chunkPanels * 16 * ldo));
    const base = this.scratch(layout.bytes, `a ${m} × ${n} kernel block of ${d} features`);
    this.heap.f32(base + raw, m * d).set(X.data.subarray(0, m * d));
    this.wasm.packCenterPanels(base + raw, m, d, base + xp, base + xn);
    this.heap.f32(base + raw, n * d).set(Y.data.subarray(0, n * d));
    this.wasm.packRowPanels(base + raw, n, d, base + yp, base + yn);

    const rowsOf = (chunk: number) => Math.min(m, (chunk + 1) * chunkPanels * 4) - chunk * chunkPanels * 4;
    const start = (chunk: number): number => {
      const q0 = chunk * chunkPanels;
      const q1 = Math.min(xPanels, q0 + chunkPanels);
      const active = Math.min(this.pool.size, q1 - q0);
      const share = Math.ceil((q1 - q0) / active);
      const at = base + outs[chunk % outs.length];
      for (let w = 0; w < active; w++) {
        const p = this.pool.paramsOf(w);
        this.setCommon(p, OP_BLOCK, transform, d);
        p[P.YP] = base + yp;
        p[P.YN] = base + yn;
        p[P.Y_PANELS] = yPanels;
        p[P.XP4] = base + xp;
        p[P.XN4] = base + xn;
        p[P.Q0] = Math.min(q0 + w * share, q1);
        p[P.Q1] = Math.min(q0 + (w + 1) * share, q1);
        // The workers address output rows from panel 0: this chunk's region stands in for panels q0 on.
        p[P.OUT] = at - q0 * 16 * ldo;
        p[P.OUT_LD] = ldo;
        p[P.Y_BLOCK] = Math.max(1, Math.floor(BLOCK_Y_BYTES / (32 * d)));
        p[P.Q_BLOCK] = BLOCK_X_PANELS;
      }
      return active;
    };
    const takeChunk = (chunk: number) => take(chunk * chunkPanels * 4, rowsOf(chunk), base + outs[chunk % outs.length], ldo);
    // While the workers compute a chunk, the one before is copied out; the last after them.
    await this.pipelined(chunks, start, (chunk) => {
      if (chunk > 0) takeChunk(chunk - 1);
    });
    takeChunk(chunks - 1);
  }

  /**
   * Runs `chunks` jobs on the workers one after another (`start(chunk)` writes a job's parameters
   * and returns how many workers it takes), calling `beside(chunk)` on this thread while job
   * `chunk` runs: the copy of the next chunk in, or of the last one out, overlaps the workers' work.
   */
  private async pipelined(chunks: number, start: (chunk: number) => number, beside: (chunk: number) => void): Promise<void> {
    for (let chunk = 0; chunk < chunks; chunk++) {
      const job = this.pool.run(start(chunk));
      try {
        beside(chunk);
      } finally {
        await job;
      }
    }
  }

  /** The engine's calls use this backend's scratch and queue; its allocations are the cache's, in this heap. */
  async cacheEngine(precision: CachePrecision): Promise<CacheEngine> {
    return {
      precision,
      block: (kernel, X, Y, out, offset, stride) => this.blockInto(precision, kernel, X, Y, out, offset, stride),
      multiply: (K, rows, cols, A, l, out) => this.exclusive(() => this.cachedProduct(precision, K, rows, cols, A, l, out)),
      multiplyRows: (rows, cols, rowAt, A, l, out) => this.exclusive(() => this.cachedProduct(precision, rowAt, rows, cols, A, l, out)),
      multiplyTransposedRows: (rows, cols, rowAt, A, l, out) => this.exclusive(() => this.transposedProduct(rows, cols, rowAt, A, l, out)),
      allocate: (length, float32) => this.cacheValues(float32 ? 'float32' : precision, length),
      free: (values) => {
        if (this.cacheBuffers.has(values.buffer)) this.heap.free(values.byteOffset);
      },
      dispose: () => undefined,
    };
  }

  /**
   * A kernel cache's values in the heap (CacheEngine.allocate), where its products read them in
   * place: no copy of every row into scratch every epoch (on diamonds, 4 000², 0.7 s of a 2.6 s
   * run). Only while the heap stays within CACHE_HEAP_BYTES, which leaves the rest of the 4 GiB
   * to the centers and scratch the plan counted on; a larger cache stays in the system's memory.
   */
  private cacheValues(precision: CachePrecision, length: number): CachedValues | undefined {
    const bytes = length * valueBytes(precision);
    if (this.heap.usedBytes + bytes > CACHE_HEAP_BYTES) return undefined;
    let start: number;
    try {
      start = this.heap.alloc(bytes);
    } catch (error) {
      if (error instanceof HeapFullError) return undefined;
      throw error;
    }
    const values = precision === 'float32' ? this.heap.f32(start, length) : this.heap.u16(start, length);
    this.cacheBuffers.add(values.buffer);
    return values;
  }

  /**
   * Where the rows of K lie in the heap, when all of them do (cacheValues' rows): one array at an
   * address, or rows anywhere, by their addresses (one more entry, read past the last row).
   */
  private rowsInHeap(K: CachedValues | RowSource, rows: number, cols: number): { readonly first: number } | { readonly addresses: Uint32Array } | undefined {
    if (typeof K !== 'function') return this.cacheBuffers.has(K.buffer) ? { first: K.byteOffset } : undefined;
    const addresses = new Uint32Array(rows + 1);
    for (let i = 0; i < rows; i++) {
      const row = K(i);
      if (!this.cacheBuffers.has(row.buffer) || row.length !== cols) return undefined;
      addresses[i] = row.byteOffset;
    }
    addresses[rows] = addresses[0];
    return { addresses };
  }

  /**
   * out = K·A for cached values K (inside `exclusive`): A transposed into scratch once, then K
   * read in place where its rows lie in the heap (rowsInHeap), else chunk by chunk through two
   * alternating scratch regions, the copy of the next chunk overlapping the workers' product of
   * this one. Each job splits the chunk's rows across the workers. K is one array, or a RowSource.
   */
  private async cachedProduct(
    precision: CachePrecision, K: CachedValues | RowSource, rows: number, cols: number, A: Float32Array, l: number, out: Float32Array,
  ): Promise<void> {
    checkCachedProduct(precision, typeof K === 'function' ? undefined : K, rows, cols, A, l, out);
    if (rows === 0) return;
    if (cols === 0 || l === 0) {
      out.fill(0, 0, rows * l);
      return;
    }
    const bytes = valueBytes(precision);
    const inPlace = this.rowsInHeap(K, rows, cols);
    const chunkRows = inPlace ? rows : Math.min(rows, Math.max(1, Math.floor(this.cacheChunkBytes / (cols * bytes))));
    const chunks = Math.ceil(rows / chunkRows);
    const lda = Math.ceil(cols / 8) * 8;
    const active = Math.min(this.pool.size, Math.ceil(chunkRows / 4));
    const layout = new ScratchLayout();
    const at = layout.take(l * lda * 4);
    const product = layout.take(rows * l * 4);
    const widened = layout.take(active * CACHE_WIDENED_BYTES);
    const sums = layout.take(active * 4 * l * 16);
    const table = inPlace && 'addresses' in inPlace ? layout.take(inPlace.addresses.byteLength) : -1;
    const buffers = inPlace ? [] : [layout.take(chunkRows * cols * bytes)];
    if (!inPlace && chunks > 1) buffers.push(layout.take(chunkRows * cols * bytes));
    const base = this.scratch(layout.bytes, `a product of ${chunkRows} cached rows of ${cols} values`);
    const transposed = this.heap.f32(base + at, l * lda);
    for (let c = 0; c < l; c++) {
      const row = c * lda;
      for (let j = 0; j < cols; j++) transposed[row + j] = A[j * l + c];
      transposed.fill(0, row + cols, row + lda);
    }
    if (inPlace && 'addresses' in inPlace) this.heap.u32(base + table, inPlace.addresses.length).set(inPlace.addresses);
    const copyChunk = (chunk: number): void => {
      if (inPlace) return;
      const first = chunk * chunkRows;
      const count = Math.min(chunkRows, rows - first);
      const at = base + buffers[chunk % buffers.length];
      const to = precision === 'float32' ? this.heap.f32(at, count * cols) : this.heap.u16(at, count * cols);
      if (typeof K !== 'function') to.set(K.subarray(first * cols, (first + count) * cols));
      else for (let i = 0; i < count; i++) to.set(K(first + i), i * cols);
    };
    const start = (chunk: number): number => {
      const first = chunk * chunkRows;
      const count = Math.min(chunkRows, rows - first);
      // Whole register blocks of 4 rows to each worker but the last.
      const share = Math.ceil(count / active / 4) * 4;
      for (let w = 0; w < active; w++) {
        const p = this.pool.paramsOf(w);
        p.fill(0);
        p[P.OP] = OP_CACHED_PRODUCT;
        p[P.K_VALUES] = !inPlace ? base + buffers[chunk % buffers.length] : 'first' in inPlace ? inPlace.first : 0;
        p[P.K_ROW_TABLE] = table >= 0 ? base + table : 0;
        p[P.K_PRECISION] = PRECISION_IDS[precision];
        p[P.K_ROW0] = Math.min(w * share, count);
        p[P.K_ROW1] = Math.min((w + 1) * share, count);
        p[P.K_COLS] = cols;
        p[P.A_T] = base + at;
        p[P.A_LD] = lda;
        p[P.A_COLS] = l;
        p[P.PRODUCT] = base + product + first * l * 4;
        p[P.WIDENED] = base + widened + w * CACHE_WIDENED_BYTES;
        p[P.SUMS] = base + sums + w * 4 * l * 16;
      }
      return active;
    };
    copyChunk(0);
    await this.pipelined(chunks, start, (chunk) => {
      if (chunk + 1 < chunks) copyChunk(chunk + 1);
    });
    out.set(this.heap.f32(base + product, rows * l));
    this.trimScratch();
  }

  /**
   * out (cols × l) = Kᵀ·A for float32 rows K (inside `exclusive`): the rows read in place where
   * they all lie in the heap (rowsInHeap), are whole panels of 8 and l is at most
   * TRANSPOSED_IN_PLACE_OUTPUTS, else chunk by chunk through
   * two alternating scratch regions (the next chunk written while the workers multiply this one),
   * each worker adding its panels of 8 columns into a transposed accumulator with timesWeights, the
   * fused block's product.
   */
  private async transposedProduct(
    rows: number, cols: number, rowAt: RowSource<Float32Array>, A: Float32Array, l: number, out: Float32Array,
  ): Promise<void> {
    checkTransposedProduct(rows, cols, A, l, out);
    if (cols === 0 || l === 0) return;
    if (rows === 0) {
      out.fill(0, 0, cols * l);
      return;
    }
    const ld = Math.ceil(cols / 8) * 8;
    const panels = ld / 8;
    // A row read in place must have no padding: its last panel would read past it.
    const inPlace = ld === cols && l <= TRANSPOSED_IN_PLACE_OUTPUTS ? this.rowsInHeap(rowAt, rows, cols) : undefined;
    const addresses = inPlace && 'addresses' in inPlace ? inPlace.addresses : undefined;
    const chunkRows = addresses ? rows : Math.min(rows, Math.max(1, Math.floor(this.cacheChunkBytes / (ld * 4))));
    const chunks = Math.ceil(rows / chunkRows);
    const active = Math.min(this.pool.size, panels);
    const share = Math.ceil(panels / active);
    const layout = new ScratchLayout();
    const outT = layout.take(l * ld * 4);
    const weights = layout.take(rows * l * 4);
    // In place: the rows' address table; else the chunks' buffers (as in cachedProduct).
    const table = addresses ? layout.take(addresses.byteLength) : -1;
    const buffers = addresses ? [] : [layout.take(chunkRows * ld * 4)];
    if (!addresses && chunks > 1) buffers.push(layout.take(chunkRows * ld * 4));
    const base = this.scratch(layout.bytes, `a transposed product of ${chunkRows} rows of ${cols} values`);
    this.heap.f32(base + outT, l * ld).fill(0);
    this.heap.f32(base + weights, rows * l).set(A.subarray(0, rows * l));
    if (addresses) this.heap.u32(base + table, addresses.length).set(addresses);
    const copyChunk = (chunk: number): void => {
      if (addresses) return;
      const first = chunk * chunkRows;
      const count = Math.min(chunkRows, rows - first);
      const to = this.heap.f32(base + buffers[chunk % buffers.length], count * ld);
      // The padding columns only feed accumulators past `cols`, never read; zeros keep them finite.
      if (ld > cols) to.fill(0);
      for (let i = 0; i < count; i++) to.set(rowAt(first + i), i * ld);
    };
    const start = (chunk: number): number => {
      const first = chunk * chunkRows;
      for (let w = 0; w < active; w++) {
        const p = this.pool.paramsOf(w);
        p.fill(0);
        p[P.OP] = OP_TRANSPOSED_PRODUCT;
        p[P.T_VALUES] = addresses ? 0 : base + buffers[chunk % buffers.length];
        p[P.T_ROW_TABLE] = addresses ? base + table : 0;
        p[P.T_LD] = ld;
        p[P.T_PANEL0] = Math.min(w * share, panels);
        p[P.T_PANEL1] = Math.min((w + 1) * share, panels);
        p[P.T_ROWS] = Math.min(chunkRows, rows - first);
        p[P.T_A] = base + weights + first * l * 4;
        p[P.T_L] = l;
        p[P.T_OUT] = base + outT;
      }
      return active;
    };
    copyChunk(0);
    await this.pipelined(chunks, start, (chunk) => {
      if (chunk + 1 < chunks) copyChunk(chunk + 1);
    });
    const sums = this.heap.f32(base + outT, l * ld);
    for (let c = 0; c < l; c++) for (let i = 0; i < cols; i++) out[i * l + c] = sums[c * ld + i];
    this.trimScratch();
  }

  /** out = k(X, Z[j0:j1])·α[j0:j1] for a center set (inside `exclusive`). */
  async fused(set: WasmCenterSet, X: Matrix, out: Float32Array, j0: number, j1: number): Promise<void> {
    const m = X.rows;
    const { dim: d, outputs: l } = set;
    checkPredict(set, X, out, j0, j1);
    out.fill(0, 0, m * l);
    if (m === 0 || j0 >= j1) return;
    const rowPanels = Math.ceil(m / 8);
    const ldo = rowPanels * 8;
    const q0 = Math.floor(j0 / 4);
    const q1 = Math.ceil(j1 / 4);
    const active = Math.min(this.pool.size, q1 - q0);
    const layout = new ScratchLayout();
    const raw = layout.take(m * d * 4);
    const xp = layout.take(ldo * d * 4);
    const xn = layout.take(ldo * 4);
    const tiles = layout.take(active * TILE_ROWS * TILE_COLS * 4);
    const partial = layout.take(active * l * ldo * 4);
    const base = this.scratch(layout.bytes, `a batch of ${m} rows of ${d} features`);
    this.heap.f32(base + raw, m * d).set(X.data.subarray(0, m * d));
    this.wasm.packRowPanels(base + raw, m, d, base + xp, base + xn);

    const share = Math.ceil((q1 - q0) / active);
    for (let w = 0; w < active; w++) {
      const p = this.pool.paramsOf(w);
      this.setCommon(p, OP_FUSED, set.transform, d);
      p[P.XP] = base + xp;
      p[P.XN] = base + xn;
      p[P.ROW_PANELS] = rowPanels;
      p[P.ZP] = set.packed.panels;
      p[P.ZN] = set.packed.norms;
      p[P.Q0] = Math.min(q0 + w * share, q1);
      p[P.Q1] = Math.min(q0 + (w + 1) * share, q1);
      p[P.J0] = j0;
      p[P.J1] = j1;
      p[P.ALPHA] = set.alpha;
      p[P.L] = l;
      p[P.OUT_T] = base + partial + w * l * ldo * 4;
      p[P.LDO] = ldo;
      p[P.TILE] = base + tiles + w * TILE_ROWS * TILE_COLS * 4;
      p[P.TILE_ROWS] = TILE_ROWS;
      p[P.TILE_COLS] = TILE_COLS;
    }
    await this.pool.run(active);
    const sums = this.heap.f32(base + partial, active * l * ldo);
    for (let w = 0; w < active; w++) {
      for (let c = 0; c < l; c++) {
        const from = (w * l + c) * ldo;
        for (let i = 0; i < m; i++) out[i * l + c] += sums[from + i];
      }
    }
    this.trimScratch();
  }

  /**
   * outs[k] = k_k(X, Z)·α_k for the members of a center group (inside `exclusive`): OP_FUSED's
   * tiles, each tile's distances computed once and transformed per member (OP_FUSED_GROUP).
   */
  async fusedGroup(members: readonly WasmCenterSet[], X: Matrix, outs: readonly (Float32Array | undefined)[]): Promise<void> {
    const chosen = members.flatMap((set, k) => (outs[k] ? [{ set, out: outs[k]! }] : []));
    if (chosen.length === 0) return;
    const { dim: d, outputs: l, count: n } = chosen[0].set;
    for (const { set, out } of chosen) {
      checkPredict(set, X, out, 0, n);
      out.fill(0, 0, X.rows * l);
    }
    const m = X.rows;
    if (m === 0 || n === 0) return;
    const count = chosen.length;
    const rowPanels = Math.ceil(m / 8);
    const ldo = rowPanels * 8;
    const q1 = Math.ceil(n / 4);
    const active = Math.min(this.pool.size, q1);
    const layout = new ScratchLayout();
    const raw = layout.take(m * d * 4);
    const xp = layout.take(ldo * d * 4);
    const xn = layout.take(ldo * 4);
    const tiles = layout.take(2 * active * TILE_ROWS * TILE_COLS * 4);
    const table = layout.take(active * count * MEMBER_FIELDS * 8);
    const partial = layout.take(active * count * l * ldo * 4);
    const base = this.scratch(layout.bytes, `a batch of ${m} rows of ${d} features for ${count} kernels`);
    this.heap.f32(base + raw, m * d).set(X.data.subarray(0, m * d));
    this.wasm.packRowPanels(base + raw, m, d, base + xp, base + xn);

    const share = Math.ceil(q1 / active);
    const packed = chosen[0].set.packed;
    for (let w = 0; w < active; w++) {
      const p = this.pool.paramsOf(w);
      this.setCommon(p, OP_FUSED_GROUP, chosen[0].set.transform, d);
      p[P.XP] = base + xp;
      p[P.XN] = base + xn;
      p[P.ROW_PANELS] = rowPanels;
      p[P.ZP] = packed.panels;
      p[P.ZN] = packed.norms;
      p[P.Q0] = Math.min(w * share, q1);
      p[P.Q1] = Math.min((w + 1) * share, q1);
      p[P.J0] = 0;
      p[P.J1] = n;
      p[P.L] = l;
      p[P.LDO] = ldo;
      p[P.TILE] = base + tiles + 2 * w * TILE_ROWS * TILE_COLS * 4;
      p[P.SPARE_TILE] = p[P.TILE] + TILE_ROWS * TILE_COLS * 4;
      p[P.TILE_ROWS] = TILE_ROWS;
      p[P.TILE_COLS] = TILE_COLS;
      const at = base + table + w * count * MEMBER_FIELDS * 8;
      const fields = this.heap.f64(at, count * MEMBER_FIELDS);
      chosen.forEach(({ set }, k) => {
        fields[k * MEMBER_FIELDS + M.KIND] = set.transform.kind;
        fields[k * MEMBER_FIELDS + M.C0] = set.transform.c0;
        fields[k * MEMBER_FIELDS + M.C1] = set.transform.c1;
        fields[k * MEMBER_FIELDS + M.ALPHA] = set.alpha;
        fields[k * MEMBER_FIELDS + M.OUT_T] = base + partial + (w * count + k) * l * ldo * 4;
      });
      p[P.MEMBERS] = at;
      p[P.MEMBER_COUNT] = count;
    }
    await this.pool.run(active);
    const sums = this.heap.f32(base + partial, active * count * l * ldo);
    chosen.forEach(({ out }, k) => {
      for (let w = 0; w < active; w++) {
        for (let c = 0; c < l; c++) {
          const from = ((w * count + k) * l + c) * ldo;
          for (let i = 0; i < m; i++) out[i * l + c] += sums[from + i];
        }
      }
    });
    this.trimScratch();
  }

  /** The WebAssembly memory grown so far that no region holds now (freed cache rows, above all). */
  idleBytes(): number {
    return this.heap.capacityBytes - this.heap.usedBytes;
  }

  memoryBudget(): MemoryBudget {
    const free = freeMemoryBytes();
    const inUse = this.heap.usedBytes - this.scratchBytes;
    const wasmRoom = MAX_BYTES - RESERVED_BYTES - inUse;
    if (free === undefined) {
      // A browser does not say how much memory is free: the wasm32 limit is the only figure.
      return { bytes: wasmRoom, source: `the 4 GiB limit of WebAssembly memory${inUse > 0 ? `, less ${gib(inUse)} GiB in use` : ''}` };
    }
    if (wasmRoom < free / 2) {
      return {
        bytes: wasmRoom,
        source: `the 4 GiB limit of WebAssembly memory${inUse > 0 ? `, less ${gib(inUse)} GiB in use` : ''} (half of the ${gib(free)} GiB of free system memory would be more)`,
      };
    }
    return { bytes: free / 2, source: `half of the ${gib(free)} GiB of free system memory (within the 4 GiB WebAssembly limit)` };
  }

  describe(): DeviceInfo {
    const cpu = cpuName();
    const simd = this.variant === 'relaxed' ? 'WebAssembly SIMD + relaxed FMA' : 'WebAssembly SIMD128';
    const threads = this.pool.size;
    return { device: `${cpu} (${threads} thread${threads === 1 ? '' : 's'}), ${simd}`, threads, parallel: true };
  }

  /** Waits for the calls already made, then stops the workers; later calls throw. */
  dispose(): Promise<void> {
    if (!this.disposal) {
      this.disposal = this.queue.run(async () => {
        this.disposed = true;
        for (const set of this.centerSets) set.release();
        this.centerSets.clear();
        await this.pool.terminate();
      });
    }
    return this.disposal;
  }

  /** Frees a center set's regions (inside `exclusive`, or after dispose). */
  releaseCenterSet(set: WasmCenterSet, regions: readonly number[]): void {
    if (!this.centerSets.delete(set)) return;
    for (const region of regions) this.heap.free(region);
  }

  isDisposed(): boolean {
    return this.disposed || this.disposal !== undefined;
  }

  private setCommon(p: Float64Array, op: number, transform: TransformChoice, d: number): void {
    p.fill(0);
    p[P.OP] = op;
    p[P.KIND] = transform.kind;
    p[P.C0] = transform.c0;
    p[P.C1] = transform.c1;
    p[P.CUSTOM_ID] =
      transform.kind === KERNEL_CUSTOM && transform.custom
        ? this.pool.customId(transform.custom.key, transform.custom.js, transform.custom.constants)
        : 0;
    p[P.D] = d;
    p[P.DIRECT] = d <= DIRECT_MAX_DIM ? 1 : 0;
  }

  /** Packs centers into 4-row panels chunk by chunk, through a small raw copy in scratch. */
  private packCenters(centers: Matrix, packed: Packed): void {
    const { rows: n, cols: d } = centers;
    const chunk = Math.max(4, Math.floor(PACK_CHUNK_BYTES / (d * 4 * 4)) * 4);
    const raw = this.scratch(Math.min(chunk, n) * d * 4, `packing ${n} centers × ${d} features`);
    for (let start = 0; start < n; start += chunk) {
      const rows = Math.min(chunk, n - start);
      this.heap.f32(raw, rows * d).set(centers.data.subarray(start * d, (start + rows) * d));
      this.wasm.packCenterPanels(raw, rows, d, packed.panels + start * d * 4, packed.norms + start * 4);
    }
  }

  /** Scratch a typical call needs besides the centers: a 1024-row batch and the tiles. */
  private scratchEstimate(d: number): number {
    return 2 * 1024 * d * 4 + this.pool.size * (TILE_ROWS * TILE_COLS + 16 * 1024) * 4;
  }

  /** The scratch region, grown to at least `bytes`; its contents are not kept across calls. */
  private scratch(bytes: number, what: string): number {
    if (bytes <= this.scratchBytes) return this.scratchStart;
    if (this.scratchBytes > 0) this.heap.free(this.scratchStart);
    this.scratchBytes = 0;
    const size = Math.ceil(bytes / (1 << 20)) * (1 << 20);
    this.scratchStart = this.withHeap(() => this.heap.alloc(size), what);
    this.scratchBytes = size;
    return this.scratchStart;
  }

  /** Frees a scratch region grown past KEEP_SCRATCH_BYTES (e.g. by a large kernelBlock). */
  private trimScratch(): void {
    if (this.scratchBytes <= KEEP_SCRATCH_BYTES) return;
    this.heap.free(this.scratchStart);
    this.scratchBytes = 0;
  }

  /** Runs an allocation, turning a full heap into a KmfitError that says what to change. */
  private withHeap<T>(allocate: () => T, what: string): T {
    try {
      return allocate();
    } catch (error) {
      if (!(error instanceof HeapFullError)) throw error;
      if (error.systemRefused) {
        throw new KmfitError(
          'INSUFFICIENT_MEMORY',
          `The system could not give the wasm backend ${gib(error.requested)} GiB more memory for ${what} ` +
            `(${gib(freeMemoryBytes() ?? 0)} GiB free). Use fewer centers or a smaller batch, or another backend.`,
          { cause: error },
        );
      }
      const centers = this.heap.usedBytes - this.scratchBytes;
      throw new KmfitError(
        'INSUFFICIENT_MEMORY',
        `${what[0].toUpperCase()}${what.slice(1)} needs ${gib(error.requested)} GiB of WebAssembly memory besides the ` +
          `${gib(centers)} GiB of centers and weights already there, past the 4 GiB wasm32 limit. ` +
          `Use a smaller batch or fewer centers, or another backend (backend: 'webgpu' or 'js').`,
        { cause: error },
      );
    }
  }
}

/** Byte offsets of consecutive 64-byte-aligned parts of one scratch region. */
class ScratchLayout {
  bytes = 0;

  take(size: number): number {
    const start = this.bytes;
    this.bytes += Math.ceil(size / 64) * 64;
    return start;
  }
}

class WasmCenterSet implements CenterSet {
  private released = false;
  private releasedRegions = false;

  constructor(
    private readonly backend: WasmBackend,
    readonly transform: TransformChoice,
    readonly packed: Packed,
    readonly alpha: number,
    readonly count: number,
    readonly dim: number,
    readonly outputs: number,
  ) {}

  predict(X: Matrix, out: Float32Array, j0 = 0, j1 = this.count): Promise<void> {
    return this.backend.exclusive(() => {
      this.check();
      return this.backend.fused(this, X, out, j0, j1);
    });
  }

  addToWeights(rows: ArrayLike<number>, deltas: Float64Array | Float32Array): Promise<void> {
    return this.backend.exclusive(() => {
      this.check();
      const l = this.outputs;
      checkDeltas(this, rows, deltas);
      const alpha = this.backend.heap.f32(this.alpha, this.count * l);
      for (let i = 0; i < rows.length; i++) {
        const a = rows[i] * l;
        for (let c = 0; c < l; c++) alpha[a + c] += deltas[i * l + c];
      }
    });
  }

  setWeights(alpha: Float32Array): Promise<void> {
    return this.backend.exclusive(() => {
      this.check();
      const size = this.count * this.outputs;
      checkWeights(this, alpha);
      this.backend.heap.f32(this.alpha, size).set(alpha.subarray(0, size));
    });
  }

  readWeights(): Promise<Float32Array> {
    return this.backend.exclusive(() => {
      this.check();
      return this.backend.heap.f32(this.alpha, this.count * this.outputs).slice();
    });
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    // Frees after calls already queued (which may still read these regions).
    if (this.backend.isDisposed()) return;
    void this.backend.exclusive(() => this.release()).catch(() => undefined);
  }

  /** Returns the regions to the heap: its weights, and the packed centers with their last user. */
  release(): void {
    if (this.releasedRegions) return;
    this.released = true;
    this.releasedRegions = true;
    const last = --this.packed.users === 0;
    this.backend.releaseCenterSet(this, last ? [this.packed.panels, this.packed.norms, this.alpha] : [this.alpha]);
  }

  /** Throws when the set has been disposed (a group checks its members before a joint call). */
  checkLive(): void {
    this.check();
  }

  private check(): void {
    if (this.released) throw new Error('this center set has been disposed');
  }
}
