import type { Kernel } from '../../kernels/kernel.js';
import type { Matrix } from '../matrix.js';

/**
 * The contract every compute backend fulfils. The solver imports only these types; each backend
 * lives in its own folder under src/backends/ and its device code under kernels/.
 *
 * The main call is the fused block out = k(X, Z[j0:j1]) · α[j0:j1]: the m×n kernel matrix is
 * never materialized. Centers Z, their norms and the weights α stay resident on the device (a
 * `CenterSet`), and the solver changes α by row updates, so that a GPU backend reads back only the
 * m×l result. Small blocks that the solver needs whole (K_SS, K(S, B)) come from `kernelBlock`.
 */
export interface Backend {
  readonly name: string;
  /** Puts the centers (n×d) and zero weights (n×l) on the device. */
  createCenterSet(kernel: Kernel, centers: Matrix, outputs: number): Promise<CenterSet>;
  /** The materialized block k(X, Y), rows(X) × rows(Y), row-major. */
  kernelBlock(kernel: Kernel, X: Matrix, Y: Matrix): Promise<Float32Array>;
  /**
   * Optional: rows that several center sets will take in turn (EigenPro 3's batch, against the
   * centers and each pending set), as a matrix that carries the backend's own form of them, made
   * once on first use (onnx: the byte form). The rows must not change while it is in use.
   */
  prepareRows?(X: Matrix): Matrix;
  /**
   * Optional: rows `indices` of X as a copy (takeRows) that keeps the form X's rows carry from
   * prepareRows (onnx: their bytes gathered, not read again from the copy's floats): a step's batch
   * of the training points for the subsample correction, a kernel cache's fill order.
   */
  takeRows?(X: Matrix, indices: Int32Array): Matrix;
  /**
   * Optional: one set of centers with several kernels of the same distance, each with weights of
   * its own (a bandwidth search's candidates). Its predictAll computes each block's squared
   * distances once for all members. Without it, centerGroup() (centerGroup.ts) makes one center
   * set per kernel and predicts with each in turn.
   */
  createCenterGroup?(kernels: readonly Kernel[], centers: Matrix, outputs: number): Promise<CenterGroup>;
  /** Memory this backend may use for training, and where that figure comes from. */
  memoryBudget(): MemoryBudget;
  /** The device, for plans, `kmfit devices` and benchmarks. */
  describe(): DeviceInfo;
  /**
   * Optional: how this backend computes data of particular kinds on this device, a line each, for
   * `kmfit devices` (onnx: whether byte data take its integer GEMM here).
   */
  dataForms?(): Promise<readonly string[]>;
  /**
   * Optional: how this backend will compute the distances to these centers, where that differs
   * from its usual form (onnx: an integer GEMM for centers that are bytes), for the plan.
   */
  distancesFor?(centers: Matrix): Promise<string | undefined>;
  /** Releases workers and device memory. */
  dispose(): Promise<void>;
  /**
   * Optional: blocks and products for a cached kernel matrix (src/solver/kernelCache.ts) in
   * `precision`, done where this backend is fast. Without it the solver uses the portable engine
   * (src/backends/cacheEngine.ts).
   */
  cacheEngine?(precision: CachePrecision): Promise<CacheEngine>;
  /**
   * Whether cacheEngine()'s engines have multiplyTransposedRows: the plan then keeps the
   * subsample's columns of the matrix beside it, where they fit (kernelCache.ts).
   */
  readonly cacheTransposedProducts?: boolean;
  /**
   * Bytes this backend holds that nothing uses any more, and will hold until it is disposed (wasm:
   * its WebAssembly memory never shrinks, so a kernel cache kept there stays resident). A new model
   * does not keep a backend where this is large (keptFromTraining, src/model/model.ts).
   */
  idleBytes?(): number;
}

/** How a cached kernel matrix holds its values: float16 or bfloat16 bit patterns, or float32. */
export type CachePrecision = 'float16' | 'bfloat16' | 'float32';

/** Kernel values in a cache's precision: a Uint16Array of bit patterns, or a Float32Array. */
export type CachedValues = Uint16Array | Float32Array;

/**
 * Row i of a matrix in a cache's precision: a view of the cache's own row, or a buffer the source
 * fills anew on each call (a gathered row), which the engine reads before it asks for another row.
 */
export type RowSource<Values extends CachedValues = CachedValues> = (i: number) => Values;

/**
 * What a kernel cache needs from a device: kernel blocks rounded to the cache's precision, and
 * products of cached rows with the weights.
 */
export interface CacheEngine {
  readonly precision: CachePrecision;
  /**
   * Writes k(X_i, Y_j), rounded to the nearest value of the precision (ties to even), at
   * out[offset + i·stride + j]: straight into the cache's rows, whose first touch is what costs
   * (fresh memory faults in at about 4 ms per MB on this project's VMs).
   */
  block(kernel: Kernel, X: Matrix, Y: Matrix, out: CachedValues, offset: number, stride: number): Promise<void>;
  /**
   * out (rows × l, row-major, overwritten) = K·A for K (rows × cols, row-major, in the precision)
   * and A (cols × l, row-major, float32); the values are widened to float32 and summed in float32.
   */
  multiply(K: CachedValues, rows: number, cols: number, A: Float32Array, l: number, out: Float32Array): Promise<void>;
  /**
   * multiply() for a K that is not one array (a later epoch's batch rows, scattered over the cache;
   * a correction's columns of them): `rowAt(i)` gives row i's `cols` values in the precision.
   * Optional: an engine that reads rows from memory of its own (the wasm backend's) copies each
   * row there while its workers multiply the rows before, or reads them in place where they lie
   * there already (allocate()). Without it, the cache gathers runs of rows and calls multiply().
   */
  multiplyRows?(rows: number, cols: number, rowAt: RowSource, A: Float32Array, l: number, out: Float32Array): Promise<void>;
  /**
   * out (cols × l, row-major, overwritten) = Kᵀ·A for float32 values K (rows × cols) whose row i
   * `rowAt(i)` gives, and A (rows × l, row-major), summed in float32. Optional: the kernel cache's
   * subsample correction k(X_S, X_B)·G = K[B, S]ᵀ·G takes it from its float32 panel K[·, S] (rows
   * read whole, no gather by column) where the engine has it.
   */
  multiplyTransposedRows?(rows: number, cols: number, rowAt: RowSource<Float32Array>, A: Float32Array, l: number, out: Float32Array): Promise<void>;
  /**
   * `length` values in the precision (float32 where `float32` is set), in the engine's own memory,
   * where its products read them in place instead of copying them in; undefined where they do
   * not fit there. Optional: the kernel cache keeps its rows and panel there when it can. Contents
   * undefined until written; given back with free().
   */
  allocate?(length: number, float32?: boolean): CachedValues | undefined;
  /** Gives back values allocate() returned (whole, not a view of part of them). */
  free?(values: CachedValues): void;
  /**
   * The points' rows in `order`, the cache's fill order: its blocks' rows and columns are runs of
   * them. Optional: without it, a plain copy (takeRows). onnx's is its Backend.takeRows, and its
   * blocks then read the bytes of those runs from the copy's, kept with it.
   */
  orderRows?(X: Matrix, order: Int32Array): Matrix;
  /** Releases what the engine holds (sessions, scratch memory). */
  dispose(): void;
}

export interface CenterSet {
  readonly count: number;
  readonly dim: number;
  readonly outputs: number;
  /**
   * out (rows(X)×outputs, row-major) = k(X, Z[j0:j1]) · α[j0:j1]; the whole range by default.
   * `out` is overwritten.
   */
  predict(X: Matrix, out: Float32Array, j0?: number, j1?: number): Promise<void>;
  /**
   * The step of a model on centers, from one evaluation of the kernel block k(X, Z):
   *   residual (rows(X)×outputs) = k(X, Z)·α + offset, then
   *   pulled   (count×outputs)   = k(Z, X)·(scale·residual), the scaled residual's values at Z.
   * Both outputs are overwritten. Optional: without it, the solver computes the block twice (a
   * predict, then the batch as a center set predicting at Z), which costs twice the flops.
   */
  predictAndPullBack?(X: Matrix, offset: Float32Array, scale: number, residual: Float32Array, pulled: Float32Array): Promise<void>;
  /**
   * Optional: predict(rows `rows` of the centers themselves): out = k(Z[rows], Z)·α. For a set
   * whose points are far away (a cluster's workers), naming the rows costs less than sending them.
   */
  predictOwnRows?(rows: Int32Array, out: Float32Array): Promise<void>;
  /** α[rows[i], :] += deltas[i, :] for each i (deltas is rows.length×outputs, row-major). */
  addToWeights(rows: ArrayLike<number>, deltas: Float64Array | Float32Array): Promise<void>;
  /** Replaces all weights (count×outputs, row-major). */
  setWeights(alpha: Float32Array): Promise<void>;
  /** A copy of all weights (count×outputs, row-major). */
  readWeights(): Promise<Float32Array>;
  dispose(): void;
}

/** Centers shared by several kernels, each member a center set with its own kernel and weights. */
export interface CenterGroup {
  /** One center set per kernel, in the order given; their predict, weights and dispose work as any set's. */
  readonly members: readonly CenterSet[];
  /** Whether predictAll computes the distances once for all members (false: once per member). */
  readonly sharesDistances: boolean;
  /**
   * outs[k] (rows(X)×outputs, row-major, overwritten) = k_k(X, Z)·α_k for every member k whose
   * outs[k] is given (undefined: that member is skipped).
   */
  predictAll(X: Matrix, outs: readonly (Float32Array | undefined)[]): Promise<void>;
  /**
   * Disposes every member but `keep` (when given), which lives on as a center set of its own, its
   * weights intact, for its new owner to dispose: a search's model keeps its trained candidate
   * instead of building the set again.
   */
  dispose(keep?: CenterSet): void;
}

export interface DeviceInfo {
  /** e.g. "Intel Xeon (2 threads), WebAssembly SIMD + relaxed FMA" or "NVIDIA H100 (Vulkan)". */
  readonly device: string;
  /** Worker threads used on the CPU, or undefined on a GPU. */
  readonly threads?: number;
  /** True for software renderers (llvmpipe/lavapipe): correct but slow, never chosen by 'auto'. */
  readonly software?: boolean;
  /**
   * Whether the device computes many points at once (SIMD lanes, threads, GPU cores). Only then is
   * its parallel capacity measured; a one-point-at-a-time backend is bounded by memory alone.
   */
  readonly parallel: boolean;
}

export interface MemoryBudget {
  readonly bytes: number;
  /** Where the figure comes from, for the plan: e.g. "half of the 23.4 GiB free system memory". */
  readonly source: string;
}
