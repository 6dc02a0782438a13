/// <reference types="@webgpu/types" />
/**
 * Finding a WebGPU implementation and an adapter: `navigator.gpu` in browsers (and runtimes that
 * have it), else Dawn for Node through the optional `webgpu` package, loaded only when asked for
 * so that kmfit works where it is missing.
 */

import { missingPackageReason } from '../../optionalPackages.js';
import { nodeBuiltin } from '../system.js';

/** The part of the `webgpu` package (Dawn for Node) used here. */
interface DawnBindings {
  create(flags: string[]): GPU;
  readonly globals: object;
}

/**
 * Dawn's GPU object, kept for the life of the process: if it is garbage-collected while a device
 * made from it is alive, Node aborts (a pthread mutex assertion in Dawn).
 */
let dawnGpu: GPU | undefined;
let loading: Promise<GPU> | undefined;

function isGpu(value: unknown): value is GPU {
  return typeof value === 'object' && value !== null && typeof Reflect.get(value, 'requestAdapter') === 'function';
}

function isDawn(value: unknown): value is DawnBindings {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof Reflect.get(value, 'create') === 'function' &&
    typeof Reflect.get(value, 'globals') === 'object'
  );
}

/** The reason no WebGPU implementation can be had here. */
export class NoWebGpuError extends Error {}

async function loadDawn(): Promise<GPU> {
  // A specifier in a variable: bundlers leave the optional native package alone.
  const specifier = 'webgpu';
  let loaded: unknown;
  try {
    loaded = await import(specifier);
  } catch (error) {
    throw new NoWebGpuError(missingPackageReason('webgpu', error));
  }
  if (!isDawn(loaded)) throw new NoWebGpuError('the "webgpu" package does not export create() and globals');
  // GPUBufferUsage, GPUMapMode and the classes the API hands out; entries a runtime already
  // has are left as they are.
  for (const [name, value] of Object.entries(loaded.globals)) {
    if (!(name in globalThis)) Reflect.set(globalThis, name, value);
  }
  const gpu = loaded.create([]);
  dawnGpu = gpu;
  return gpu;
}

/** The process's WebGPU entry point. @throws NoWebGpuError */
export function getGpu(): Promise<GPU> {
  const navigatorGpu: unknown = Reflect.get(Reflect.get(globalThis, 'navigator') ?? {}, 'gpu');
  if (isGpu(navigatorGpu)) return Promise.resolve(navigatorGpu);
  if (dawnGpu) return Promise.resolve(dawnGpu);
  loading ??= loadDawn().catch((error: unknown) => {
    loading = undefined; // a later call may try again (e.g. after an install)
    throw error;
  });
  return loading;
}

/** The best adapter on offer. @throws NoWebGpuError */
export async function requestAdapter(): Promise<GPUAdapter> {
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new NoWebGpuError(
      'WebGPU found no adapter (no GPU driver; without a GPU, Mesa ≥ 25 provides the software Vulkan driver lavapipe, ' +
        'see .ci/install-vulkan.sh, and XDG_RUNTIME_DIR must be set)',
    );
  }
  return adapter;
}

/** Software renderers: correct but slow, never chosen by 'auto'. */
export function isSoftwareAdapter(info: GPUAdapterInfo): boolean {
  if (info.isFallbackAdapter) return true;
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return /llvmpipe|lavapipe|swiftshader|softpipe|software|basic render/i.test(text);
}

/** A readable adapter name, e.g. "NVIDIA H100 80GB HBM3 (WebGPU)". */
export function adapterName(info: GPUAdapterInfo): string {
  const name = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unknown adapter';
  return `${name} (WebGPU${isSoftwareAdapter(info) ? ', software' : ''})`;
}

/**
 * Whether a hardware GPU may be here, without loading Dawn. On Linux a GPU driver exposes device
 * nodes (/dev/nvidia*, /dev/dri/renderD*, /dev/kfd, WSL's /dev/dxg); without any, only a software
 * adapter could answer — so 'auto' skips the probe, and Dawn's start-up warnings with it.
 * Elsewhere (browsers, macOS, Windows) the answer is yes: ask the adapter.
 */
export async function hardwareGpuPossible(): Promise<boolean> {
  const fs = typeof process !== 'undefined' && process.platform === 'linux' ? nodeBuiltin<typeof import('node:fs')>('node:fs') : undefined;
  if (!fs) return true;
  const { readdirSync } = fs;
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  return (
    list('/dev').some((name) => /^(nvidia\d+|kfd|dxg)$/.test(name)) || list('/dev/dri').some((name) => name.startsWith('renderD'))
  );
}
