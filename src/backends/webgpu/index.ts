/// <reference types="@webgpu/types" />
/**
 * `webgpu`: kernel blocks as WGSL compute shaders (kernels/webgpu/), on a GPU through WebGPU:
 * `navigator.gpu` in browsers, Dawn (the optional `webgpu` package) in Node.
 *
 * Without a GPU, Dawn runs on Mesa's software Vulkan driver (lavapipe): the results are the same,
 * at 2–6 GFLOP/s, so that path serves CI and correctness only. It is refused unless asked for
 * (`allowSoftware`), and describe() marks it `software` so that 'auto' never picks it.
 */
import type { Kernel } from '../../../kernels/kernel.js';
import { blockShader, NORMS_SHADER } from '../../../kernels/webgpu/shaders.js';
import { KmfitError } from '../../errors.js';
import type { Matrix } from '../../matrix.js';
import type { Backend, CenterSet, DeviceInfo, MemoryBudget } from '../backend.js';
import { checkBlock } from '../misuse.js';
import { TILE, WebGpuCenterSet } from './centers.js';
import { bufferUsage, GpuContext, type ContextOptions } from './context.js';
import { adapterName, isSoftwareAdapter, NoWebGpuError, requestAdapter } from './gpu.js';

export interface WebGpuOptions extends ContextOptions {
  /** Accept a software adapter (llvmpipe/lavapipe, SwiftShader): correct but slow. Default false. */
  readonly allowSoftware?: boolean;
}

/** WebGPU's guaranteed maximum of workgroups along one grid dimension. */
const MAX_GROUPS = 65_535;

class WebGpuBackend implements Backend {
  readonly name = 'webgpu';

  constructor(
    private readonly context: GpuContext,
    private readonly info: DeviceInfo,
  ) {}

  createCenterSet(kernel: Kernel, centers: Matrix, outputs: number): Promise<CenterSet> {
    return WebGpuCenterSet.create(this.context, kernel, centers, outputs, this.info.software === true);
  }

  async kernelBlock(kernel: Kernel, X: Matrix, Y: Matrix): Promise<Float32Array> {
    const { rows: m, cols: d } = X;
    const n = Y.rows;
    checkBlock(X, Y);
    const result = new Float32Array(m * n);
    if (m === 0 || n === 0) return result;
    const source = blockShader(kernel.expression);
    const { context } = this;
    // Y's rows, X's rows and the result block must each fit one binding.
    const limitFloats = context.bindingLimit / 4;
    const colsPerBlock = Math.min(n, Math.floor(limitFloats / d), MAX_GROUPS * TILE);
    const rowsPerBlock = Math.min(m, Math.floor(limitFloats / d), Math.floor(limitFloats / colsPerBlock), MAX_GROUPS * TILE);
    if (colsPerBlock < 1 || rowsPerBlock < 1) {
      throw new KmfitError('INSUFFICIENT_MEMORY', `kernelBlock: a row of ${d} features does not fit the binding limit of ${context.bindingLimit} bytes.`);
    }
    await context.run('kernelBlock', async () => {
      const [block, norms] = await Promise.all([context.pipeline(source), context.pipeline(NORMS_SHADER)]);
      for (let c0 = 0; c0 < n; c0 += colsPerBlock) {
        const cols = Math.min(colsPerBlock, n - c0);
        for (let r0 = 0; r0 < m; r0 += rowsPerBlock) {
          const rows = Math.min(rowsPerBlock, m - r0);
          const uniforms = context.uniforms([[rows, d, 0, 0], [cols, d, 0, 0], [rows, d, cols, 0]]);
          const out = context.scratchBuffer('block', rows * cols * 4, bufferUsage().computed);
          const encoder = context.device.createCommandEncoder({ label: 'kernelBlock' });
          const pass = encoder.beginComputePass();
          const x = context.uploadRows(pass, norms, uniforms[0], 'x', X, r0, rows);
          const y = context.uploadRows(pass, norms, uniforms[1], 'y', Y, c0, cols);
          pass.setPipeline(block);
          pass.setBindGroup(0, context.bindGroup(block, [x.rows, x.norms, y.rows, y.norms, out, uniforms[2]]));
          pass.dispatchWorkgroups(Math.ceil(rows / TILE), Math.ceil(cols / TILE));
          pass.end();
          await context.submitAndRead(encoder, out, rows * cols * 4, (data) => {
            if (cols === n) result.set(data, r0 * n);
            else for (let i = 0; i < rows; i++) result.set(data.subarray(i * cols, (i + 1) * cols), (r0 + i) * n + c0);
          });
        }
      }
    });
    return result;
  }

  /**
   * WebGPU does not report a GPU's memory; the largest buffer the adapter accepts is the nearest
   * figure it offers. Centers and batches are split across buffers, so no single one bounds them.
   */
  memoryBudget(): MemoryBudget {
    const bytes = this.context.device.limits.maxBufferSize;
    return {
      bytes,
      source: `the adapter's maxBufferSize of ${(bytes / 2 ** 30).toFixed(1)} GiB (WebGPU reports no memory size; storage bindings are split at ${(this.context.bindingLimit / 2 ** 20).toFixed(1)} MiB, maxStorageBufferBindingSize)`,
    };
  }

  describe(): DeviceInfo {
    return this.info;
  }

  dispose(): Promise<void> {
    return this.context.dispose();
  }
}

/**
 * The webgpu backend on the best adapter here.
 *
 * @throws KmfitError UNKNOWN_BACKEND when WebGPU is missing (no `navigator.gpu`, the optional
 *   `webgpu` package not installed), no adapter is found, or only a software adapter is and
 *   `allowSoftware` is not set.
 * @example const backend = await createWebGpuBackend(); … await backend.dispose();
 */
export async function createWebGpuBackend(options: WebGpuOptions = {}): Promise<Backend> {
  const { allowSoftware = false, ...contextOptions } = options;
  if (contextOptions.maxBindingBytes !== undefined && !(contextOptions.maxBindingBytes >= 16)) {
    throw new KmfitError('INVALID_OPTION', `maxBindingBytes must be a number of at least 16; got ${contextOptions.maxBindingBytes}.`);
  }
  let adapter: GPUAdapter;
  try {
    adapter = await requestAdapter();
  } catch (error) {
    throw unavailable(error);
  }
  const software = isSoftwareAdapter(adapter.info);
  const device = adapterName(adapter.info);
  if (software && !allowSoftware) {
    throw new KmfitError(
      'UNKNOWN_BACKEND',
      `The webgpu backend found only a software adapter (${device}): it computes correctly but slower than the CPU ` +
        "backends. Use backend 'wasm' or 'js', or pass allowSoftware: true to use it anyway (tests, CI).",
    );
  }
  let context: GpuContext;
  try {
    context = await GpuContext.open(adapter, contextOptions);
  } catch (error) {
    throw unavailable(error);
  }
  return new WebGpuBackend(context, { device, software, parallel: true });
}

function unavailable(error: unknown): KmfitError {
  const reason = error instanceof Error ? error.message : String(error);
  return new KmfitError(
    'UNKNOWN_BACKEND',
    `The webgpu backend is not available here: ${reason}. Use backend 'wasm' or 'js'.`,
    { cause: error },
  );
}

/**
 * Whether WebGPU has an adapter here, without opening a device. `software` marks llvmpipe/lavapipe
 * and SwiftShader adapters, which createWebGpuBackend accepts only with allowSoftware.
 */
export async function webGpuSupport(): Promise<{ available: boolean; software?: boolean; device?: string; reason?: string }> {
  try {
    const adapter = await requestAdapter();
    return { available: true, software: isSoftwareAdapter(adapter.info), device: adapterName(adapter.info) };
  } catch (error) {
    if (error instanceof NoWebGpuError) return { available: false, reason: error.message };
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
