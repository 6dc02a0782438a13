/**
 * A narrow, typed view of the parts of gpu.js (an optional dependency) that the `gpujs` backend
 * uses. gpu.js's own typings describe kernels as generic callables returning unions of nested
 * arrays; here every value that crosses the boundary is `unknown` and is checked at run time, so
 * the rest of the backend is typed without casts and works whether or not gpu.js is installed.
 */

/** The modes this backend can ask gpu.js for (its internal kernel classes, plus 'cpu'). */
export type GpuJsMode = 'cpu' | 'webasm' | 'webgpu' | 'headlessgl' | 'webgl2' | 'webgl';

export const GPUJS_MODES: readonly GpuJsMode[] = ['webgpu', 'headlessgl', 'webgl2', 'webgl', 'webasm', 'cpu'];

export function isGpuJsMode(value: string): value is GpuJsMode {
  return (GPUJS_MODES as readonly string[]).includes(value);
}

/** Settings of gpu.createKernel that the backend sets. */
export interface GpuJsKernelSettings {
  readonly output: number[];
  readonly constants?: Readonly<Record<string, unknown>>;
  readonly argumentTypes?: Readonly<Record<string, string>>;
  readonly dynamicOutput?: boolean;
  readonly dynamicArguments?: boolean;
  readonly loopMaxIterations?: number;
  readonly pipeline?: boolean;
  readonly immutable?: boolean;
  readonly precision?: 'single';
  readonly tactic?: 'precision';
  readonly asyncMode?: boolean;
  readonly strictIntegers?: boolean;
  /** webasm: worker threads under asyncMode. */
  readonly poolSize?: number;
}

/** A compiled kernel: a callable "run shortcut" with setters. */
export interface GpuJsKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): unknown;
  destroy(removeCanvasReferences?: boolean): unknown;
  /** The kernel instance that runs now: its class names the mode, and a cpu fallback says why. */
  readonly kernel?: { readonly constructor: { readonly mode?: unknown }; readonly fallbackReason?: unknown };
}

export interface GpuJsInstance {
  readonly mode: string;
  createKernel(source: string, settings: GpuJsKernelSettings): unknown;
  destroy(): unknown;
}

export interface GpuJsKernelClass {
  readonly isSupported?: unknown;
  getMaxTextureSize?(): unknown;
}

export interface GpuJsModule {
  readonly GPU: {
    new (settings: { mode: string }): GpuJsInstance;
    readonly isHeadlessGLSupported: boolean;
    readonly isWebGL2Supported: boolean;
    readonly isWebGLSupported: boolean;
    readonly isWebGPUSupported: boolean;
    readonly isWebAssemblySupported: boolean;
    isWebGPUAvailable(): Promise<boolean>;
  };
  /** input(flat, [x, y, z]): a flat array read as value[z][y][x] inside kernels. */
  input(value: Float32Array, size: number[]): unknown;
  /** The shared WebGPU device; gpu.destroy() leaves it alive, destroy() releases it. */
  readonly WebGPUContext?: { destroy(): Promise<void> };
  readonly HeadlessGLKernel?: GpuJsKernelClass;
  readonly WebGL2Kernel?: GpuJsKernelClass;
  readonly WebGLKernel?: GpuJsKernelClass;
}

function hasFunction(value: object, name: string): boolean {
  return typeof Reflect.get(value, name) === 'function';
}

function isGpuJsModule(value: unknown): value is GpuJsModule {
  if (typeof value !== 'object' || value === null) return false;
  const GPU: unknown = Reflect.get(value, 'GPU');
  return typeof GPU === 'function' && hasFunction(GPU, 'isWebGPUAvailable') && hasFunction(value, 'input');
}

export function isGpuJsKernel(value: unknown): value is GpuJsKernel {
  return typeof value === 'function' && hasFunction(value, 'setOutput') && hasFunction(value, 'destroy');
}

/** Loads gpu.js lazily; the specifier is a variable so that bundlers and tsc leave it optional. */
export async function loadGpuJs(): Promise<GpuJsModule> {
  const specifier = 'gpu.js';
  const loaded: unknown = await import(specifier);
  if (isGpuJsModule(loaded)) return loaded;
  const fallback: unknown = typeof loaded === 'object' && loaded !== null ? Reflect.get(loaded, 'default') : undefined;
  if (isGpuJsModule(fallback)) return fallback;
  throw new Error('the module "gpu.js" loaded but does not export GPU and input (an unsupported version?)');
}

/**
 * A kernel result as one row-major Float32Array of rows × cols. gpu.js returns a Float32Array for
 * a 1D output and an array of Float32Array rows for a 2D output.
 */
export function readResult(result: unknown, rows: number, cols: number, out?: Float32Array): Float32Array {
  const target = out ?? new Float32Array(rows * cols);
  if (result instanceof Float32Array && rows === 1) {
    target.set(result.subarray(0, cols));
    return target;
  }
  if (Array.isArray(result) && result.length >= rows) {
    for (let i = 0; i < rows; i++) {
      const row: unknown = result[i];
      if (row instanceof Float32Array) {
        target.set(row.subarray(0, cols), i * cols);
      } else if (Array.isArray(row)) {
        for (let j = 0; j < cols; j++) target[i * cols + j] = Number(row[j]);
      } else {
        throw new Error(`gpu.js returned an unexpected row type for a ${rows}×${cols} result`);
      }
    }
    return target;
  }
  throw new Error(`gpu.js returned an unexpected result for a ${rows}×${cols} output`);
}
