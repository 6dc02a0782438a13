/**
 * `gpujs`: the kernel blocks as gpu.js kernels, for WebGL-only browsers and as a second, independent
 * implementation to cross-check the others. gpu.js is an optional dependency, loaded on first use.
 *
 * The mode is gpu.js's best that works here: a hardware WebGPU adapter (Dawn's `navigator.gpu`
 * from the optional `webgpu` package in Node), headless-gl / WebGL, then `webasm` (WebAssembly
 * SIMD, worker threads), then `cpu` (plain JS). A software WebGPU adapter (lavapipe, SwiftShader)
 * is used only when asked for by name: it is correct but slower than webasm on the same CPU.
 * Speed is not the point of this backend (≈1 GFLOP/s at best, see design/compute.md); agreement
 * with float64 to 1e-4 is.
 *
 * Per center set, the centers Z are a gpu.js kernel constant (uploaded once in the device modes);
 * the weights α live in host memory, where addToWeights changes them, and each predict hands gpu.js
 * one zero-padded slice of α per tile of centers. Calls on one backend run one at a time, in the
 * order they were made (gpu.js kernels are not reentrant).
 */
import {
  isGpuJsKernel,
  isGpuJsMode,
  loadGpuJs,
  readResult,
  type GpuJsInstance,
  type GpuJsKernel,
  type GpuJsKernelSettings,
  type GpuJsMode,
  type GpuJsModule,
} from '../../../kernels/gpujs/api.js';
import { blockSource, distanceTileSource, productSource, transformSource } from '../../../kernels/gpujs/sources.js';
import type { Kernel } from '../../../kernels/kernel.js';
import { KmfitError } from '../../errors.js';
import type { Matrix } from '../../matrix.js';
import { missingPackageReason } from '../../optionalPackages.js';
import type { Backend, CenterSet, DeviceInfo, MemoryBudget } from '../backend.js';
import { checkBlock, checkDeltas, checkPredict, checkWeights } from '../misuse.js';
import { SerialQueue } from '../queue.js';
import { cpuName, halfOfFreeMemory, hardwareThreads } from '../system.js';
import { probeAdapter, type AdapterSummary } from './webgpu.js';

/** Centers per tile: one kernel call computes rows × CENTER_BLOCK kernel values. */
const CENTER_BLOCK = 1024;
/** Kernel values per tile (4 MiB of float32): bounds the rows per call. */
const TILE_CELLS = 1 << 20;
/** Materialized-block kernels kept compiled (one per kernel formula and dimension). */
const BLOCK_KERNEL_CACHE = 8;
const GiB = 2 ** 30;

export interface GpuJsBackendOptions {
  /** 'auto' (default) or a gpu.js mode: 'webgpu', 'headlessgl', 'webgl2', 'webgl', 'webasm', 'cpu'. */
  readonly mode?: string;
}

export interface GpuJsSupport {
  readonly available: boolean;
  /** The mode 'auto' picks here. */
  readonly mode?: string;
  readonly reason?: string;
}

interface ResolvedMode {
  readonly api: GpuJsModule;
  readonly mode: GpuJsMode;
  readonly adapter?: AdapterSummary;
}

function unavailable(reason: string, cause?: unknown): KmfitError {
  return new KmfitError('UNKNOWN_BACKEND', `The gpujs backend is not available here: ${reason}`, { cause });
}

async function loadApi(): Promise<GpuJsModule> {
  try {
    return await loadGpuJs();
  } catch (error) {
    throw unavailable(`${missingPackageReason('gpujs', error)}, or choose another backend.`, error);
  }
}

function supportedSync(api: GpuJsModule, mode: GpuJsMode): boolean {
  switch (mode) {
    case 'cpu':
      return true;
    case 'webasm':
      return api.GPU.isWebAssemblySupported;
    case 'headlessgl':
      return api.GPU.isHeadlessGLSupported;
    case 'webgl2':
      return api.GPU.isWebGL2Supported;
    case 'webgl':
      return api.GPU.isWebGLSupported;
    case 'webgpu':
      return false; // needs an adapter: probed asynchronously
  }
}

async function resolveMode(requested: string): Promise<ResolvedMode> {
  if (requested !== 'auto' && !isGpuJsMode(requested)) {
    throw new KmfitError(
      'INVALID_OPTION',
      `Unknown gpujs mode ${JSON.stringify(requested)}; use 'auto', 'webgpu', 'headlessgl', 'webgl2', 'webgl', 'webasm' or 'cpu'.`,
    );
  }
  const api = await loadApi();
  if (requested === 'auto') {
    const adapter = await probeAdapter();
    if (typeof adapter !== 'string' && !adapter.software) return { api, mode: 'webgpu', adapter };
    for (const mode of ['headlessgl', 'webgl2', 'webgl', 'webasm'] as const) {
      if (supportedSync(api, mode)) return { api, mode };
    }
    return { api, mode: 'cpu' };
  }
  if (requested === 'webgpu') {
    const adapter = await probeAdapter();
    if (typeof adapter === 'string') throw unavailable(`gpu.js mode 'webgpu': ${adapter}`);
    return { api, mode: 'webgpu', adapter };
  }
  if (!supportedSync(api, requested)) {
    const why: Record<string, string> = {
      headlessgl: 'the optional package gl (headless-gl) is not installed or has no GL context here',
      webgl2: 'there is no WebGL2 context (a browser feature)',
      webgl: 'there is no WebGL context (a browser feature)',
      webasm: 'WebAssembly is not supported',
    };
    throw unavailable(`gpu.js mode '${requested}' does not work here: ${why[requested] ?? 'unsupported'}.`);
  }
  return { api, mode: requested };
}

/** Whether gpu.js loads here, and the mode `createGpuJsBackend()` would use. */
export async function gpuJsSupport(): Promise<GpuJsSupport> {
  try {
    const { mode } = await resolveMode('auto');
    return { available: true, mode };
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
}

/** Creates the gpujs backend; throws KmfitError 'UNKNOWN_BACKEND' when gpu.js or the mode is unavailable. */
export async function createGpuJsBackend(options: GpuJsBackendOptions = {}): Promise<Backend> {
  const resolved = await resolveMode(options.mode ?? 'auto');
  return new GpuJsBackend(resolved);
}

/** Live webgpu-mode backends: gpu.js shares one device among them, released with the last. */
let webgpuBackends = 0;

/** The smallest power of two ≥ rows, at most `max`: few distinct tile shapes, few recompilations. */
function bucketRows(rows: number, max: number): number {
  let bucket = 1;
  while (bucket < rows && bucket < max) bucket *= 2;
  return Math.min(bucket, max);
}

function largestPowerOfTwoAtMost(value: number): number {
  let p = 1;
  while (p * 2 <= value) p *= 2;
  return p;
}

class GpuJsBackend implements Backend {
  readonly name = 'gpujs';
  readonly mode: GpuJsMode;
  private readonly api: GpuJsModule;
  private readonly adapter: AdapterSummary | undefined;
  private readonly gpu: GpuJsInstance;
  private readonly threads: number;
  private readonly blockKernels = new Map<string, GpuJsKernel>();
  private readonly outputs = new WeakMap<GpuJsKernel, string>();
  private readonly fallbacks = new Set<string>();
  private closing = false;
  /** Set once gpu.destroy() has run: every kernel is gone. */
  released = false;
  /** Calls run one at a time: gpu.js kernels keep one output each and are not reentrant. */
  private readonly queue = new SerialQueue();

  constructor(resolved: ResolvedMode) {
    this.api = resolved.api;
    this.mode = resolved.mode;
    this.adapter = resolved.adapter;
    this.threads = this.mode === 'webasm' ? hardwareThreads() : 1;
    this.gpu = new this.api.GPU({ mode: this.mode });
    if (this.mode === 'webgpu') webgpuBackends++;
  }

  /**
   * A row-major rows × cols array as gpu.js reads value[row][col]: an array of row views. (gpu.js's
   * flat `input()` is indexed with the output's width instead of its own in cpu mode when
   * dynamicArguments is on, gpu.js 2.24.1.)
   */
  input(data: Float32Array, rows: number, cols: number): Float32Array[] {
    const out = new Array<Float32Array>(rows);
    for (let i = 0; i < rows; i++) out[i] = data.subarray(i * cols, (i + 1) * cols);
    return out;
  }

  createKernel(source: string, settings: GpuJsKernelSettings): GpuJsKernel {
    if (this.released) throw new Error('gpujs backend: used after dispose()');
    const made = this.gpu.createKernel(source, {
      asyncMode: true, // one calling convention for every mode; webasm runs on worker threads under it
      dynamicOutput: true,
      dynamicArguments: true,
      precision: 'single',
      tactic: 'precision',
      ...(this.mode === 'webasm' ? { poolSize: this.threads } : {}),
      ...settings,
    });
    if (!isGpuJsKernel(made)) throw new Error('gpu.js createKernel() did not return a kernel');
    this.outputs.set(made, settings.output.join('×'));
    return made;
  }

  /** Runs `work` after every call queued before it has finished. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.queue.run(work);
  }

  /**
   * The largest center set gpu.js can hold as one constant here, in bytes, or Infinity. WebGPU
   * binds it as one storage buffer.
   */
  centersLimit(): number {
    if (this.mode !== 'webgpu' || !this.adapter) return Infinity;
    return Math.min(this.adapter.maxStorageBufferBindingSize, this.adapter.maxBufferSize);
  }

  /** Runs a kernel on its output shape [x, y]; notes a silent degradation to gpu.js's cpu mode. */
  async run(kernel: GpuJsKernel, output: [number, number], args: unknown[]): Promise<unknown> {
    const shape = output.join('×');
    if (this.outputs.get(kernel) !== shape) {
      kernel.setOutput(output);
      this.outputs.set(kernel, shape);
    }
    const result: unknown = await kernel(...args);
    if (this.mode !== 'cpu' && kernel.kernel?.constructor.mode === 'cpu') {
      this.fallbacks.add(String(kernel.kernel.fallbackReason ?? 'no reason given'));
    }
    return result;
  }

  async createCenterSet(kernel: Kernel, centers: Matrix, outputs: number): Promise<CenterSet> {
    return new GpuJsCenterSet(this, kernel, centers, outputs);
  }

  private blockKernel(kernel: Kernel, dim: number): GpuJsKernel {
    const { js, constants } = kernel.expression;
    const key = `${dim}|${js}|${JSON.stringify(constants)}`;
    const known = this.blockKernels.get(key);
    if (known) {
      this.blockKernels.delete(key); // re-insert: most recently used last
      this.blockKernels.set(key, known);
      return known;
    }
    const transform = transformSource(kernel.expression);
    const made = this.createKernel(blockSource(transform, dim), {
      output: [1, 1],
      constants: transform.constants,
      loopMaxIterations: dim + 1,
    });
    this.blockKernels.set(key, made);
    while (this.blockKernels.size > BLOCK_KERNEL_CACHE) {
      const [oldestKey, oldest] = this.blockKernels.entries().next().value ?? [];
      if (oldestKey === undefined || oldest === undefined) break;
      this.blockKernels.delete(oldestKey);
      oldest.destroy();
    }
    return made;
  }

  kernelBlock(kernel: Kernel, X: Matrix, Y: Matrix): Promise<Float32Array> {
    return this.exclusive(() => this.computeBlock(kernel, X, Y));
  }

  private async computeBlock(kernel: Kernel, X: Matrix, Y: Matrix): Promise<Float32Array> {
    const m = X.rows;
    const n = Y.rows;
    const d = X.cols;
    checkBlock(X, Y);
    const out = new Float32Array(m * n);
    if (m === 0 || n === 0) return out;
    const k = this.blockKernel(kernel, d);
    const cols = Math.min(n, CENTER_BLOCK);
    const rowsPerCall = Math.max(1, Math.min(m, Math.floor(TILE_CELLS / cols)));
    for (let c0 = 0; c0 < n; c0 += cols) {
      const width = Math.min(cols, n - c0);
      const y = Y.data.subarray(c0 * d, (c0 + width) * d);
      const yInput = this.input(y, width, d);
      for (let r0 = 0; r0 < m; r0 += rowsPerCall) {
        const rows = Math.min(rowsPerCall, m - r0);
        const x = X.data.subarray(r0 * d, (r0 + rows) * d);
        const result = await this.run(k, [width, rows], [this.input(x, rows, d), yInput]);
        const tile = readResult(result, rows, width);
        for (let i = 0; i < rows; i++) out.set(tile.subarray(i * width, (i + 1) * width), (r0 + i) * n + c0);
      }
    }
    return out;
  }

  memoryBudget(): MemoryBudget {
    const half = halfOfFreeMemory();
    switch (this.mode) {
      case 'cpu':
        return half;
      case 'webasm':
        // Each gpu.js webasm kernel holds its arguments, constants (the centers) and output in one
        // wasm32 memory, which cannot exceed 4 GiB.
        return half.bytes <= 4 * GiB
          ? half
          : { bytes: 4 * GiB, source: 'the 4 GiB limit of one WebAssembly (wasm32) memory, which holds the centers' };
      case 'webgpu': {
        const binding = this.centersLimit();
        if (binding > 0 && binding < Infinity) {
          return {
            bytes: binding,
            source:
              `the largest WebGPU storage binding on ${this.adapter?.description ?? 'the adapter'} ` +
              `(${(binding / 2 ** 20).toFixed(0)} MiB): gpu.js keeps the centers in one binding`,
          };
        }
        return half;
      }
      default: {
        const kernelClass =
          this.mode === 'headlessgl' ? this.api.HeadlessGLKernel : this.mode === 'webgl2' ? this.api.WebGL2Kernel : this.api.WebGLKernel;
        const size: unknown = kernelClass?.getMaxTextureSize?.();
        if (typeof size === 'number' && size > 0) {
          return {
            bytes: size * size * 4,
            source: `one ${size}×${size} float32 texture (the GL texture size limit): gpu.js keeps the centers in one texture`,
          };
        }
        return half;
      }
    }
  }

  describe(): DeviceInfo {
    const cpu = cpuName();
    const degraded =
      this.fallbacks.size > 0 ? `; some kernels fell back to gpu.js cpu mode: ${[...this.fallbacks].join('; ')}` : '';
    switch (this.mode) {
      case 'cpu':
        return { device: `${cpu}, gpu.js cpu mode (JavaScript)${degraded}`, threads: 1, parallel: false };
      case 'webasm':
        return {
          device: `${cpu} (${this.threads} threads), gpu.js webasm mode (WebAssembly SIMD)${degraded}`,
          threads: this.threads,
          parallel: true,
        };
      case 'webgpu':
        return {
          device: `${this.adapter?.description ?? 'WebGPU adapter'}, gpu.js webgpu mode${degraded}`,
          software: this.adapter?.software ?? false,
          parallel: true,
        };
      default:
        return { device: `gpu.js ${this.mode} mode (WebGL)${degraded}`, parallel: true };
    }
  }

  async dispose(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // After the calls already queued; destroys every kernel the GPU made, and webasm worker pools.
    await this.exclusive(async () => {
      this.released = true;
      this.blockKernels.clear();
      await this.gpu.destroy();
      if (this.mode === 'webgpu' && --webgpuBackends === 0) await this.api.WebGPUContext?.destroy();
    });
  }
}

class GpuJsCenterSet implements CenterSet {
  readonly count: number;
  readonly dim: number;
  readonly outputs: number;
  private readonly alpha: Float32Array;
  /** Centers per tile: the width of every tile call (past the last center, columns repeat it). */
  private readonly width: number;
  private readonly maxRows: number;
  private readonly tileKernel: GpuJsKernel;
  private readonly productKernel: GpuJsKernel;
  private disposed = false;

  constructor(
    private readonly backend: GpuJsBackend,
    kernel: Kernel,
    centers: Matrix,
    outputs: number,
  ) {
    const n = centers.rows;
    const d = centers.cols;
    if (n < 1 || d < 1 || outputs < 1) {
      throw new RangeError(`gpujs center set: need at least one center, feature and output; got ${n}×${d}, ${outputs}`);
    }
    const bytes = n * d * 4;
    if (bytes > backend.centersLimit()) {
      throw new RangeError(
        `gpujs center set: ${n}×${d} centers take ${(bytes / 2 ** 20).toFixed(0)} MiB, more than the ` +
          `${(backend.centersLimit() / 2 ** 20).toFixed(0)} MiB gpu.js can bind in ${backend.mode} mode here; use fewer centers`,
      );
    }
    this.count = n;
    this.dim = d;
    this.outputs = outputs;
    this.alpha = new Float32Array(n * outputs);
    this.width = Math.min(n, CENTER_BLOCK);
    this.maxRows = largestPowerOfTwoAtMost(Math.max(1, Math.floor(TILE_CELLS / this.width)));
    const z = centers.data.slice(0, n * d);
    const transform = transformSource(kernel.expression);
    this.tileKernel = backend.createKernel(distanceTileSource(transform, d, n), {
      output: [this.width, 1],
      constants: { Z: backend.input(z, n, d), ...transform.constants },
      loopMaxIterations: d + 1,
      // Where there is a device, the tile goes to the product kernel without a readback. (In cpu
      // mode a pipeline kernel writes into one result allocated at build, whatever the output size.)
      pipeline: backend.mode !== 'cpu' && backend.mode !== 'webasm',
    });
    this.productKernel = backend.createKernel(productSource(this.width), {
      output: [outputs, 1],
      loopMaxIterations: this.width + 1,
    });
  }

  predict(X: Matrix, out: Float32Array, j0 = 0, j1 = this.count): Promise<void> {
    return this.backend.exclusive(() => this.compute(X, out, j0, j1));
  }

  private async compute(X: Matrix, out: Float32Array, j0: number, j1: number): Promise<void> {
    const m = X.rows;
    const d = this.dim;
    const l = this.outputs;
    checkPredict(this, X, out, j0, j1);
    if (m === 0) return;
    if (j1 <= j0) {
      out.fill(0, 0, m * l);
      return;
    }
    const B = this.width;
    const acc = new Float64Array(m * l);
    const rowsPerCall = bucketRows(m, this.maxRows);
    const x = new Float32Array(rowsPerCall * d);
    const alphaSlice = new Float32Array(B * l);
    const alphaInput = this.backend.input(alphaSlice, B, l);
    for (let r0 = 0; r0 < m; r0 += rowsPerCall) {
      const rows = Math.min(rowsPerCall, m - r0);
      x.fill(0);
      x.set(X.data.subarray(r0 * d, (r0 + rows) * d));
      const xInput = this.backend.input(x, rowsPerCall, d);
      for (let start = j0; start < j1; start += B) {
        const width = Math.min(B, j1 - start);
        alphaSlice.fill(0);
        alphaSlice.set(this.alpha.subarray(start * l, (start + width) * l));
        const tile = await this.backend.run(this.tileKernel, [B, rowsPerCall], [xInput, start]);
        const part = readResult(await this.backend.run(this.productKernel, [l, rowsPerCall], [tile, alphaInput]), rows, l);
        for (let i = 0; i < rows * l; i++) acc[r0 * l + i] += part[i];
      }
    }
    for (let i = 0; i < m * l; i++) out[i] = acc[i];
  }

  // Weight changes queue behind a predict in flight, which reads α tile by tile.
  addToWeights(rows: ArrayLike<number>, deltas: Float64Array | Float32Array): Promise<void> {
    return this.backend.exclusive(async () => {
      checkDeltas(this, rows, deltas);
      const l = this.outputs;
      for (let i = 0; i < rows.length; i++) {
        const a = rows[i] * l;
        for (let c = 0; c < l; c++) this.alpha[a + c] += deltas[i * l + c];
      }
    });
  }

  setWeights(alpha: Float32Array): Promise<void> {
    return this.backend.exclusive(async () => {
      checkWeights(this, alpha);
      this.alpha.set(alpha.subarray(0, this.alpha.length));
    });
  }

  readWeights(): Promise<Float32Array> {
    return this.backend.exclusive(async () => this.alpha.slice());
  }

  /** Releases the kernels once the calls already queued are done (gpu.destroy() does it too). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.backend.exclusive(async () => {
      if (this.backend.released) return;
      try {
        this.tileKernel.destroy();
        this.productKernel.destroy();
      } catch {
        // Already released with the backend's GPU: nothing left to free.
      }
    });
  }
}
