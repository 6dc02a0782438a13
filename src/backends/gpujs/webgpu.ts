/**
 * WebGPU for gpu.js's `webgpu` mode in Node: gpu.js looks for `navigator.gpu`, which browsers
 * provide and Node does not. The optional `webgpu` package (Dawn for Node) supplies one; it is
 * loaded lazily and installed on the global `navigator` only when gpu.js's webgpu mode is probed.
 */

/** The parts of a WebGPU adapter the backend reads. */
export interface AdapterSummary {
  readonly description: string;
  readonly software: boolean;
  /** The largest storage buffer one kernel can bind (the centers live in one). */
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

function isGpuLike(value: unknown): value is GpuLike {
  return typeof value === 'object' && value !== null && typeof Reflect.get(value, 'requestAdapter') === 'function';
}

/**
 * Dawn's GPU object. Kept for the life of the process: if it is garbage-collected while a device
 * is alive, Node aborts (see design/compute.md).
 */
let dawnGpu: GpuLike | null = null;

function globalNavigatorGpu(): GpuLike | null {
  const navigator: unknown = Reflect.get(globalThis, 'navigator');
  if (typeof navigator !== 'object' || navigator === null) return null;
  const gpu: unknown = Reflect.get(navigator, 'gpu');
  return isGpuLike(gpu) ? gpu : null;
}

/**
 * navigator.gpu, installing Dawn's when there is none. Returns the reason when WebGPU cannot be
 * provided (the `webgpu` package is not installed or does not load here).
 */
export async function ensureNavigatorGpu(): Promise<GpuLike | string> {
  const existing = globalNavigatorGpu();
  if (existing) return existing;
  if (!dawnGpu) {
    let create: unknown;
    try {
      const specifier = 'webgpu';
      const loaded: unknown = await import(specifier);
      create = typeof loaded === 'object' && loaded !== null ? Reflect.get(loaded, 'create') : undefined;
    } catch (error) {
      return `the optional package "webgpu" (Dawn for Node) does not load: ${(error as Error).message}`;
    }
    if (typeof create !== 'function') return 'the package "webgpu" does not export create()';
    const made: unknown = create([]);
    if (!isGpuLike(made)) return 'webgpu create() did not return a GPU object';
    dawnGpu = made;
  }
  const navigator: unknown = Reflect.get(globalThis, 'navigator');
  if (typeof navigator === 'object' && navigator !== null) {
    Object.defineProperty(navigator, 'gpu', { value: dawnGpu, configurable: true, writable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawnGpu }, configurable: true, writable: true });
  }
  return dawnGpu;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function limit(limits: unknown, name: string): number {
  const value: unknown = typeof limits === 'object' && limits !== null ? Reflect.get(limits, name) : undefined;
  return typeof value === 'number' ? value : 0;
}

/** The default adapter, as gpu.js will get it, or the reason there is none. */
export async function probeAdapter(): Promise<AdapterSummary | string> {
  const gpu = await ensureNavigatorGpu();
  if (typeof gpu === 'string') return gpu;
  let adapter: unknown;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return `navigator.gpu.requestAdapter() failed: ${(error as Error).message}`;
  }
  if (typeof adapter !== 'object' || adapter === null) {
    return 'navigator.gpu.requestAdapter() found no adapter (on Linux without a GPU, Dawn needs Mesa ≥ 25 lavapipe)';
  }
  const info: unknown = Reflect.get(adapter, 'info');
  const field = (name: string): string => (typeof info === 'object' && info !== null ? text(Reflect.get(info, name)) : '');
  const fallback =
    (typeof info === 'object' && info !== null && Reflect.get(info, 'isFallbackAdapter') === true) ||
    Reflect.get(adapter, 'isFallbackAdapter') === true;
  const description = [field('description'), field('vendor'), field('device')].find((s) => s.length > 0) ?? 'WebGPU adapter';
  const software =
    fallback ||
    field('architecture') === 'software' ||
    /llvmpipe|lavapipe|swiftshader|software|warp/i.test(`${field('description')} ${field('device')}`);
  const limits: unknown = Reflect.get(adapter, 'limits');
  return {
    description,
    software,
    maxStorageBufferBindingSize: limit(limits, 'maxStorageBufferBindingSize'),
    maxBufferSize: limit(limits, 'maxBufferSize'),
  };
}
