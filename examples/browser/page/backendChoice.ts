/**
 * Which backend the page trains on, and why: WebGPU on a hardware adapter; else wasm (Web Workers
 * over shared memory), which needs the page to be cross-origin isolated; else plain JavaScript.
 */
import type { BackendName } from 'kmfit';

export interface BackendChoice {
  readonly backend: BackendName;
  readonly reason: string;
}

/** The adapter's fields read here (the WebGPU types are not in TypeScript's DOM lib). */
interface AdapterLike {
  readonly info?: { readonly isFallbackAdapter?: boolean; readonly vendor?: string; readonly architecture?: string; readonly description?: string };
  readonly isFallbackAdapter?: boolean;
}

async function gpuAdapter(): Promise<AdapterLike | null | undefined> {
  const gpu = Reflect.get(navigator, 'gpu') as { requestAdapter(): Promise<AdapterLike | null> } | undefined;
  return gpu ? gpu.requestAdapter().catch(() => null) : undefined;
}

/** `asked`: a backend named in the page's address (?backend=), which wins. */
export async function chooseBackend(asked: string | null): Promise<BackendChoice> {
  if (asked) return { backend: asked as BackendName, reason: 'named in the address (?backend=)' };
  const adapter = await gpuAdapter();
  const info = adapter?.info;
  // A fallback adapter is a software rasteriser (SwiftShader): slower than wasm on the CPU.
  if (adapter && !(info?.isFallbackAdapter ?? adapter.isFallbackAdapter)) {
    const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'a GPU';
    return { backend: 'webgpu', reason: `a hardware WebGPU adapter (${name})` };
  }
  const noGpu = adapter === undefined ? 'this browser has no WebGPU' : adapter === null ? 'no WebGPU adapter' : 'only a software WebGPU adapter';
  if (!crossOriginIsolated) return { backend: 'js', reason: `${noGpu}, and the page is not cross-origin isolated (no SharedArrayBuffer for wasm's threads)` };
  return { backend: 'wasm', reason: `${noGpu}: WebAssembly SIMD on ${navigator.hardwareConcurrency} threads` };
}
