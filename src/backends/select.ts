/**
 * Turns a backend name into a Backend. 'auto' takes the fastest that runs here: webgpu on a hardware
 * adapter, else onnx (native CPU kernels, where onnxruntime-node is installed: Node only), else
 * wasm, else js. A software GPU (lavapipe, SwiftShader) and gpu.js are never chosen by 'auto' —
 * both are slower than wasm (docs/benchmarks.md) — but run when named.
 */
import { KmfitError } from '../errors.js';
import { BACKEND_NAMES, type BackendName } from '../options.js';
import type { Backend } from './backend.js';
import { createGpuJsBackend, gpuJsSupport } from './gpujs/index.js';
import { JsBackend } from './js/index.js';
import { createOnnxBackend, onnxSupport } from './onnx/index.js';
import { createWasmBackend, wasmSupport } from './wasm/index.js';
import { hardwareGpuPossible } from './webgpu/gpu.js';
import { createWebGpuBackend, webGpuSupport } from './webgpu/index.js';

export type ConcreteBackendName = Exclude<BackendName, 'auto'>;

export interface BackendOptions {
  /** CPU threads of the wasm and onnx backends; default one per core. */
  readonly threads?: number;
}

export interface BackendAvailability {
  readonly name: ConcreteBackendName;
  readonly available: boolean;
  /** Whether 'auto' would consider it (hardware GPU, onnx, wasm, js). */
  readonly fast: boolean;
  /** The device, or why it is not available. */
  readonly detail: string;
}

/** What each backend would run on here, or why it cannot run. Loads the optional GPU packages. */
export async function probeBackends(): Promise<BackendAvailability[]> {
  const gpu = await webGpuSupport();
  const onnx = await onnxSupport();
  const wasm = wasmSupport();
  const gpujs = await gpuJsSupport();
  return [
    {
      name: 'webgpu',
      available: gpu.available,
      fast: gpu.available && gpu.software !== true,
      detail: gpu.available ? `${gpu.device ?? 'adapter'}${gpu.software ? ' (software: slower than wasm)' : ''}` : gpu.reason ?? 'no adapter',
    },
    {
      name: 'onnx',
      available: onnx.available,
      fast: onnx.available,
      detail: onnx.available ? `onnxruntime-node ${onnx.version}: native CPU kernels (MLAS)` : onnx.reason ?? 'unavailable',
    },
    {
      name: 'wasm',
      available: wasm.available,
      fast: wasm.available,
      detail: wasm.available ? `WebAssembly ${wasm.variant === 'relaxed' ? 'relaxed SIMD (FMA)' : 'SIMD'}` : wasm.reason ?? 'unavailable',
    },
    {
      name: 'gpujs',
      available: gpujs.available,
      fast: false,
      detail: gpujs.available ? `gpu.js mode ${gpujs.mode}` : gpujs.reason ?? 'unavailable',
    },
    { name: 'js', available: true, fast: true, detail: 'plain JavaScript, one thread (the reference)' },
  ];
}

/** Which backend 'auto' takes given a probe (probeBackends), and why, in one sentence. */
export function explainAuto(found: readonly BackendAvailability[]): { name: ConcreteBackendName; reason: string } {
  const entry = (name: ConcreteBackendName) => found.find((b) => b.name === name);
  const gpu = entry('webgpu');
  const onnx = entry('onnx');
  const noGpu = gpu?.available ? 'the only WebGPU adapter is a software one' : 'no hardware GPU';
  if (gpu?.fast) return { name: 'webgpu', reason: `a hardware GPU: ${gpu.detail}` };
  if (onnx?.available) {
    return { name: 'onnx', reason: `${noGpu}; onnxruntime-node is installed, whose native CPU kernels are faster than wasm` };
  }
  // The onnx and wasm entries' details say why they do not run; the reason only points there.
  const noOnnx = 'onnxruntime-node does not load here (see the onnx entry)';
  if (entry('wasm')?.available) return { name: 'wasm', reason: `${noGpu}; ${noOnnx}; WebAssembly SIMD on every core` };
  return { name: 'js', reason: `${noGpu}; ${noOnnx}; no WebAssembly SIMD with threads here (see the wasm entry)` };
}

/** The WebGPU adapter if it is hardware; on Linux without GPU device nodes Dawn is not even loaded. */
async function hardwareGpu(): Promise<boolean> {
  if (!(await hardwareGpuPossible())) return false;
  const gpu = await webGpuSupport();
  return gpu.available && gpu.software !== true;
}

/** Backends 'auto' would consider here, fastest first, js last. */
export async function availableBackends(): Promise<ConcreteBackendName[]> {
  const names: ConcreteBackendName[] = [];
  if (await hardwareGpu()) names.push('webgpu');
  if ((await onnxSupport()).available) names.push('onnx');
  if (wasmSupport().available) names.push('wasm');
  names.push('js');
  return names;
}

async function createAuto(options: BackendOptions): Promise<Backend> {
  if (await hardwareGpu()) {
    try {
      return await createWebGpuBackend();
    } catch {
      // The adapter was there but no device opened (lost, out of memory): the CPU still works.
    }
  }
  // onnxruntime-node loaded means the backend starts (it opens no device): a bad thread count
  // is the caller's to hear about, as with wasm.
  if ((await onnxSupport()).available) return createOnnxBackend(options);
  if (wasmSupport().available) return createWasmBackend(options);
  return new JsBackend();
}

/**
 * @throws KmfitError UNKNOWN_BACKEND for a name that is not a backend, or a named backend that
 *   cannot run here (with the reason).
 */
export async function createBackend(name: BackendName = 'auto', options: BackendOptions = {}): Promise<Backend> {
  switch (name) {
    case 'auto':
      return createAuto(options);
    case 'webgpu':
      // Named explicitly, a software adapter is accepted: correct, only slow.
      return createWebGpuBackend({ allowSoftware: true });
    case 'onnx':
      return createOnnxBackend(options);
    case 'wasm':
      return createWasmBackend(options);
    case 'gpujs':
      return createGpuJsBackend();
    case 'js':
      return new JsBackend();
    default:
      throw new KmfitError(
        'UNKNOWN_BACKEND',
        `Unknown backend ${JSON.stringify(name)}; the backends are ${BACKEND_NAMES.join(', ')}.`,
      );
  }
}
