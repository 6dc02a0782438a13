/// <reference types="@webgpu/types" />
/**
 * One WebGPU device and what every operation of the backend shares on it: the size limits that
 * decide how work is split, compiled pipelines cached by their shader text, grow-only scratch
 * buffers, a queue of operations (one at a time, so scratch buffers are never shared by two), and
 * error scopes that turn device errors into exceptions.
 */
import type { ShaderSource } from '../../../kernels/webgpu/shaders.js';
import type { Matrix } from '../../matrix.js';

/** Invocations per workgroup of the one-dimensional shaders (reduce, norms, scatter). */
const LINEAR_WORKGROUP = 64;
/** WebGPU's guaranteed maximum of workgroups along one grid dimension. */
const MAX_GROUPS_PER_DIMENSION = 65_535;

export interface ContextOptions {
  /** Caps the storage binding size (bytes) below the adapter's, e.g. to exercise the splitting of centers. */
  readonly maxBindingBytes?: number;
  /** true: print each new pipeline's final WGSL to stderr; a function: receive it instead. */
  readonly debugWgsl?: boolean | ((label: string, code: string) => void);
}

/** A buffer range for a bind group entry. */
export interface Binding {
  readonly buffer: GPUBuffer;
  readonly offset?: number;
  readonly size?: number;
}

export class GpuContext {
  /**
   * The largest storage buffer this backend creates or binds, in bytes (a multiple of 16): the
   * device's maxStorageBufferBindingSize, maxBufferSize and the maxBindingBytes option, whichever
   * is least. Centers, batches, partial sums and read-backs are split to fit it.
   */
  readonly bindingLimit: number;
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private readonly scratch = new Map<string, GPUBuffer>();
  private readonly owned = new Set<GPUBuffer>();
  private tail: Promise<unknown> = Promise.resolve();
  private lostReason: string | undefined;
  private destroyed = false;

  private constructor(
    readonly device: GPUDevice,
    private readonly options: ContextOptions,
  ) {
    const limits = device.limits;
    const requested = options.maxBindingBytes ?? Number.POSITIVE_INFINITY;
    const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, requested);
    this.bindingLimit = Math.floor(limit / 16) * 16;
    if (this.bindingLimit < 16) throw new RangeError(`webgpu: a binding limit of ${limit} bytes is too small`);
    device.lost.then((info) => {
      if (!this.destroyed) this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  /** Opens a device with the adapter's real limits (the defaults are 128 MiB per binding, 256 MiB per buffer). */
  static async open(adapter: GPUAdapter, options: ContextOptions): Promise<GpuContext> {
    const a = adapter.limits;
    const device = await adapter.requestDevice({
      label: 'kmfit',
      requiredLimits: {
        maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
        maxBufferSize: a.maxBufferSize,
        maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
      },
    });
    return new GpuContext(device, options);
  }

  /**
   * Runs `work` after every operation queued before it, inside error scopes: a validation or
   * out-of-memory error of the device rejects with its message.
   */
  run<T>(what: string, work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.scoped(what, work));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async scoped<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.destroyed) throw new Error(`webgpu: ${what} after the backend was disposed`);
    if (this.lostReason) throw new Error(`webgpu: the device was lost (${this.lostReason}); create a new backend`);
    const device = this.device;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let outcome: { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };
    try {
      outcome = { ok: true, value: await work() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const validation = await device.popErrorScope();
    const memory = await device.popErrorScope();
    const deviceError = validation ?? memory;
    if (deviceError) {
      const hint = memory ? ' (GPU memory is exhausted: use a smaller batch or fewer centers)' : '';
      throw new Error(`webgpu: ${what} failed: ${deviceError.message}${hint}`);
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /** The compute pipeline for a shader, compiled once per context. */
  pipeline(source: ShaderSource): Promise<GPUComputePipeline> {
    const key = `${source.entryPoint}\n${source.code}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.compile(source);
      this.pipelines.set(key, pipeline);
      pipeline.catch(() => this.pipelines.delete(key));
    }
    return pipeline;
  }

  private async compile(source: ShaderSource): Promise<GPUComputePipeline> {
    const debug = this.options.debugWgsl;
    if (typeof debug === 'function') debug(source.label, source.code);
    else if (debug) console.error(`// kmfit webgpu: ${source.label} shader\n${source.code}`);
    const module = this.device.createShaderModule({ label: source.label, code: source.code });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length > 0) {
      const text = errors.map((m) => `line ${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
      throw new Error(`webgpu: the ${source.label} shader does not compile: ${text}`);
    }
    return this.device.createComputePipelineAsync({
      label: source.label,
      layout: 'auto',
      compute: { module, entryPoint: source.entryPoint },
    });
  }

  /** A buffer the caller owns (released by `release` or when the context is destroyed). */
  createBuffer(label: string, bytes: number, usage: number): GPUBuffer {
    const buffer = this.device.createBuffer({ label, size: align(Math.max(bytes, 4), 4), usage });
    this.owned.add(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (this.owned.delete(buffer)) buffer.destroy();
  }

  /**
   * A scratch buffer of at least `bytes`, reused between operations of this context and grown
   * (doubling, up to the binding limit) when too small. Its content is whatever was left in it.
   */
  scratchBuffer(name: string, bytes: number, usage: number): GPUBuffer {
    const current = this.scratch.get(name);
    if (current && current.size >= bytes) return current;
    const grown = Math.min(this.bindingLimit, Math.max(align(bytes, 16), 2 * (current?.size ?? 0)));
    if (current) this.release(current);
    const buffer = this.createBuffer(name, Math.max(grown, align(bytes, 4)), usage);
    this.scratch.set(name, buffer);
    return buffer;
  }

  /**
   * Writes one uniform block per dispatch (each 4 u32 words or more) into a scratch buffer, at the
   * device's uniform offset alignment; returns their bindings in order.
   */
  uniforms(blocks: readonly number[][]): Binding[] {
    if (blocks.length === 0) return [];
    const stride = align(Math.max(...blocks.map((b) => align(b.length, 4) * 4)), this.device.limits.minUniformBufferOffsetAlignment);
    const data = new Uint32Array((stride / 4) * blocks.length);
    blocks.forEach((block, i) => data.set(block, (i * stride) / 4));
    const buffer = this.scratchBuffer('uniforms', data.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.device.queue.writeBuffer(buffer, 0, data);
    return blocks.map((block, i) => ({ buffer, offset: i * stride, size: align(block.length, 4) * 4 }));
  }

  /** Binds buffers to group 0 at bindings 0, 1, … in order. */
  bindGroup(pipeline: GPUComputePipeline, bindings: readonly (GPUBuffer | Binding)[]): GPUBindGroup {
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: bindings.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } })),
    });
  }

  /** Dispatches a one-dimensional shader over `count` invocations (it folds y into its index). */
  dispatchLinear(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, count: number): void {
    const groups = Math.ceil(count / LINEAR_WORKGROUP);
    const x = Math.min(groups, MAX_GROUPS_PER_DIMENSION);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, Math.ceil(groups / x));
  }

  /**
   * Submits `encoder` after a copy of `bytes` of `source` into a read-back buffer, waits, and hands
   * the floats to `consume` (valid only during the call).
   */
  async submitAndRead(encoder: GPUCommandEncoder, source: GPUBuffer, bytes: number, consume: (data: Float32Array) => void): Promise<void> {
    const staging = this.scratchBuffer('readback', bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    encoder.copyBufferToBuffer(source, 0, staging, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    try {
      consume(new Float32Array(staging.getMappedRange(0, bytes)));
    } finally {
      staging.unmap();
    }
  }

  /**
   * Uploads rows [r0, r0 + rows) of X into scratch buffer `name` and queues their squared norms
   * (norms.wgsl, with `uniform` = [rows, d, 0, 0]) into scratch buffer `name`-norms.
   */
  uploadRows(
    pass: GPUComputePassEncoder,
    normsPipeline: GPUComputePipeline,
    uniform: Binding,
    name: string,
    X: Matrix,
    r0: number,
    rows: number,
  ): { rows: GPUBuffer; norms: GPUBuffer } {
    const d = X.cols;
    const data = this.scratchBuffer(name, rows * d * 4, bufferUsage().input);
    this.device.queue.writeBuffer(data, 0, X.data, r0 * d, rows * d);
    const norms = this.scratchBuffer(`${name}-norms`, rows * 4, bufferUsage().computed);
    this.dispatchLinear(pass, normsPipeline, this.bindGroup(normsPipeline, [data, norms, uniform]), rows);
    return { rows: data, norms };
  }

  /** Releases every buffer and the device; later operations reject. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const buffer of this.owned) buffer.destroy();
    this.owned.clear();
    this.scratch.clear();
    this.pipelines.clear();
    this.device.destroy();
  }

  /** Waits for queued operations, then destroys. */
  async dispose(): Promise<void> {
    await this.tail;
    this.destroy();
  }
}

/**
 * Usages of the backend's buffers: uploaded (input), weights (also read back), computed on the
 * device (also read back). A function because GPUBufferUsage exists only once WebGPU is loaded.
 */
export function bufferUsage(): { readonly input: number; readonly weights: number; readonly computed: number } {
  return {
    input: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    weights: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    computed: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  };
}

export function align(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}
