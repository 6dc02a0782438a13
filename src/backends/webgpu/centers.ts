/// <reference types="@webgpu/types" />
/**
 * Centers, their squared norms and the weights α, resident on the device.
 *
 * The centers are split into blocks of consecutive rows, each in its own buffers (centers, norms,
 * α), small enough for one storage binding: a model of any size fits as long as GPU memory does.
 *
 * predict: per batch, the host uploads X and reads back the m×l result, nothing else.
 *   1. norms.wgsl: ‖x_i‖² of the batch.
 *   2. per center block: fused.wgsl computes partial outputs for chunks of 64-center tiles
 *      (grid = row tiles × chunks), then reduce.wgsl sums the chunks into the result (adding onto
 *      it after the first block).
 * Two passes instead of one because WGSL has no float atomics: a chunk's partial sums are written
 * by one workgroup only, and how many chunks there are is chosen per call so that the grid fills
 * the device (many chunks on a GPU, for a batch of a few row tiles) without a large partial buffer.
 *
 * addToWeights: the host sums repeated rows, then scatter.wgsl adds (row, delta) pairs in place on
 * the device, one invocation per weight, no atomics needed since rows are distinct.
 */
import type { Kernel } from '../../../kernels/kernel.js';
import { fusedShader, NORMS_SHADER, REDUCE_SHADER, SCATTER_SHADER, type ShaderSource } from '../../../kernels/webgpu/shaders.js';
import { KmfitError } from '../../errors.js';
import type { Matrix } from '../../matrix.js';
import type { CenterSet } from '../backend.js';
import { checkCenters, checkDeltas, checkOutputs, checkPredict, checkWeights } from '../misuse.js';
import { align, bufferUsage, type GpuContext } from './context.js';

/** Rows and centers per workgroup tile (TILE in tile.wgsl). */
export const TILE = 64;
/** Workgroups the fused pass aims for: enough to fill a large GPU; software devices have few cores. */
const TARGET_WORKGROUPS = { hardware: 2048, software: 16 } as const;
/** WebGPU's guaranteed maximum of workgroups along one grid dimension. */
const MAX_GROUPS = 65_535;

interface CenterBlock {
  /** Index of its first center in the whole set. */
  readonly start: number;
  readonly rows: number;
  /** rows rounded up to TILE: the fused pass reads α in whole tiles. */
  readonly paddedRows: number;
  readonly centers: GPUBuffer; // rows × d
  readonly norms: GPUBuffer; // rows
  /** Output-major and zero-padded: α[c][j] at c·paddedRows + j, for c < l rounded up to 4. */
  readonly alpha: GPUBuffer;
}

export class WebGpuCenterSet implements CenterSet {
  readonly count: number;
  readonly dim: number;
  private disposed = false;

  private constructor(
    private readonly context: GpuContext,
    private readonly fused: ShaderSource,
    private readonly blocks: readonly CenterBlock[],
    private readonly blockRows: number,
    /** l rounded up to 4: the fused pass reads 4 outputs at a time. */
    private readonly paddedOutputs: number,
    private readonly software: boolean,
    centers: Matrix,
    readonly outputs: number,
  ) {
    this.count = centers.rows;
    this.dim = centers.cols;
  }

  /** Uploads the centers in blocks and computes their norms; α starts at 0. */
  static async create(context: GpuContext, kernel: Kernel, centers: Matrix, outputs: number, software: boolean): Promise<WebGpuCenterSet> {
    const { rows: n, cols: d } = centers;
    checkOutputs(outputs);
    checkCenters(centers);
    // Every block's centers (rows × d) and padded weights must fit one binding.
    const paddedOutputs = align(outputs, 4);
    const weightRows = Math.floor(context.bindingLimit / (4 * paddedOutputs * TILE)) * TILE;
    const blockRows = Math.min(Math.floor(context.bindingLimit / (4 * d)), weightRows);
    if (blockRows < 1) {
      throw new KmfitError(
        'INSUFFICIENT_MEMORY',
        `Centers of ${d} features with ${outputs} outputs do not fit the device's storage binding limit of ${context.bindingLimit} bytes; ` +
          'use fewer features or outputs, or another backend.',
      );
    }
    const fused = fusedShader(kernel.expression); // translation errors surface here, before any upload
    return context.run('uploading the centers', async () => {
      const norms = await context.pipeline(NORMS_SHADER);
      const blocks: CenterBlock[] = [];
      const starts: number[] = [];
      for (let start = 0; start < n; start += blockRows) starts.push(start);
      const uniforms = context.uniforms(starts.map((start) => [Math.min(blockRows, n - start), d, 0, 0]));
      const encoder = context.device.createCommandEncoder({ label: 'center norms' });
      const pass = encoder.beginComputePass();
      starts.forEach((start, i) => {
        const rows = Math.min(blockRows, n - start);
        const paddedRows = align(rows, TILE);
        const block: CenterBlock = {
          start,
          rows,
          paddedRows,
          centers: context.createBuffer(`centers ${i}`, rows * d * 4, bufferUsage().input),
          norms: context.createBuffer(`center norms ${i}`, rows * 4, bufferUsage().computed),
          alpha: context.createBuffer(`alpha ${i}`, paddedOutputs * paddedRows * 4, bufferUsage().weights),
        };
        context.device.queue.writeBuffer(block.centers, 0, centers.data, start * d, rows * d);
        context.dispatchLinear(pass, norms, context.bindGroup(norms, [block.centers, block.norms, uniforms[i]]), rows);
        blocks.push(block);
      });
      pass.end();
      context.device.queue.submit([encoder.finish()]);
      await context.device.queue.onSubmittedWorkDone();
      return new WebGpuCenterSet(context, fused, blocks, blockRows, paddedOutputs, software, centers, outputs);
    });
  }

  async predict(X: Matrix, out: Float32Array, j0 = 0, j1 = this.count): Promise<void> {
    this.checkAlive();
    const { rows: m, cols: d } = X;
    const l = this.outputs;
    checkPredict(this, X, out, j0, j1);
    if (m === 0) return;
    if (j0 === j1) {
      out.fill(0, 0, m * l);
      return;
    }
    // One call handles as many rows as fit a binding (the batch, and its l outputs per chunk).
    const limitFloats = this.context.bindingLimit / 4;
    const rowsPerCall = Math.min(m, Math.floor(limitFloats / d), Math.floor(limitFloats / l), MAX_GROUPS * TILE);
    await this.context.run('predict', async () => {
      for (let r0 = 0; r0 < m; r0 += rowsPerCall) {
        await this.predictRows(X, r0, Math.min(rowsPerCall, m - r0), out, j0, j1);
      }
    });
  }

  private async predictRows(X: Matrix, r0: number, rows: number, out: Float32Array, j0: number, j1: number): Promise<void> {
    const { context } = this;
    const d = this.dim;
    const l = this.outputs;
    const [fused, reduce, norms] = await Promise.all([
      context.pipeline(this.fused),
      context.pipeline(REDUCE_SHADER),
      context.pipeline(NORMS_SHADER),
    ]);
    const rowTiles = Math.ceil(rows / TILE);
    const maxChunks = Math.max(1, Math.floor(context.bindingLimit / (4 * rows * l)));
    const target = this.software ? TARGET_WORKGROUPS.software : TARGET_WORKGROUPS.hardware;
    const plans = this.blocks
      .filter((b) => b.start < j1 && b.start + b.rows > j0)
      .map((block) => {
        const begin = Math.max(j0 - block.start, 0);
        const end = Math.min(j1 - block.start, block.rows);
        const tiles = Math.ceil(end / TILE) - Math.floor(begin / TILE); // tiles start on multiples of TILE
        const wanted = Math.min(Math.ceil(target / rowTiles), tiles, maxChunks, MAX_GROUPS);
        const tilesPerChunk = Math.ceil(tiles / Math.max(wanted, 1));
        return { block, begin, end, tilesPerChunk, chunks: Math.ceil(tiles / tilesPerChunk) };
      });
    const partials = context.scratchBuffer('partials', Math.max(...plans.map((p) => p.chunks)) * rows * l * 4, bufferUsage().computed);
    const result = context.scratchBuffer('result', rows * l * 4, bufferUsage().computed);
    const uniforms = context.uniforms([
      [rows, d, 0, 0],
      ...plans.flatMap((p, i) => [
        [rows, d, l, p.begin, p.end, p.tilesPerChunk, p.block.paddedRows / 4, 0],
        [rows * l, p.chunks, i > 0 ? 1 : 0, 0],
      ]),
    ]);

    const encoder = context.device.createCommandEncoder({ label: 'predict' });
    const pass = encoder.beginComputePass();
    const x = context.uploadRows(pass, norms, uniforms[0], 'x', X, r0, rows);
    plans.forEach((p, i) => {
      const { block } = p;
      pass.setPipeline(fused);
      pass.setBindGroup(0, context.bindGroup(fused, [x.rows, x.norms, block.centers, block.norms, block.alpha, partials, uniforms[1 + 2 * i]]));
      pass.dispatchWorkgroups(rowTiles, p.chunks);
      context.dispatchLinear(pass, reduce, context.bindGroup(reduce, [partials, result, uniforms[2 + 2 * i]]), rows * l);
    });
    pass.end();
    await context.submitAndRead(encoder, result, rows * l * 4, (data) => out.set(data, r0 * l));
  }

  async addToWeights(rows: ArrayLike<number>, deltas: Float64Array | Float32Array): Promise<void> {
    this.checkAlive();
    const l = this.outputs;
    checkDeltas(this, rows, deltas);
    // Repeated rows are summed here (in float64), so the device sees each row once.
    const slotOf = new Map<number, number>();
    const sums = new Float64Array(rows.length * l);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      let slot = slotOf.get(row);
      if (slot === undefined) {
        slot = slotOf.size;
        slotOf.set(row, slot);
      }
      for (let c = 0; c < l; c++) sums[slot * l + c] += deltas[i * l + c];
    }
    if (slotOf.size === 0) return;
    // Pairs ordered by block (a counting sort), rows made block-local.
    const perBlock = new Array<number>(this.blocks.length + 1).fill(0);
    for (const row of slotOf.keys()) perBlock[Math.floor(row / this.blockRows) + 1]++;
    for (let b = 1; b < perBlock.length; b++) perBlock[b] += perBlock[b - 1];
    const segments = perBlock.slice(0, -1).map((first, b) => ({ block: this.blocks[b], first, end: perBlock[b + 1] }));
    const next = perBlock.slice(0, -1);
    const pairRows = new Uint32Array(slotOf.size);
    const pairDeltas = new Float32Array(slotOf.size * l);
    for (const [row, slot] of slotOf) {
      const b = Math.floor(row / this.blockRows);
      const p = next[b]++;
      pairRows[p] = row - this.blocks[b].start;
      for (let c = 0; c < l; c++) pairDeltas[p * l + c] = sums[slot * l + c];
    }

    const { context } = this;
    const piece = Math.max(1, Math.floor(context.bindingLimit / (4 * l)));
    await context.run('addToWeights', async () => {
      const scatter = await context.pipeline(SCATTER_SHADER);
      for (let p0 = 0; p0 < pairRows.length; p0 += piece) {
        const p1 = Math.min(p0 + piece, pairRows.length);
        const rowBuffer = context.scratchBuffer('pair-rows', (p1 - p0) * 4, bufferUsage().input);
        const deltaBuffer = context.scratchBuffer('pair-deltas', (p1 - p0) * l * 4, bufferUsage().input);
        context.device.queue.writeBuffer(rowBuffer, 0, pairRows, p0, p1 - p0);
        context.device.queue.writeBuffer(deltaBuffer, 0, pairDeltas, p0 * l, (p1 - p0) * l);
        const parts = segments
          .map((s) => ({ block: s.block, first: Math.max(s.first, p0), end: Math.min(s.end, p1) }))
          .filter((s) => s.first < s.end);
        const uniforms = context.uniforms(parts.map((s) => [(s.end - s.first) * l, l, s.first - p0, s.block.paddedRows]));
        const encoder = context.device.createCommandEncoder({ label: 'addToWeights' });
        const pass = encoder.beginComputePass();
        parts.forEach((s, i) => {
          const group = context.bindGroup(scatter, [s.block.alpha, rowBuffer, deltaBuffer, uniforms[i]]);
          context.dispatchLinear(pass, scatter, group, (s.end - s.first) * l);
        });
        pass.end();
        context.device.queue.submit([encoder.finish()]);
      }
      await context.device.queue.onSubmittedWorkDone();
    });
  }

  async setWeights(alpha: Float32Array): Promise<void> {
    this.checkAlive();
    const l = this.outputs;
    checkWeights(this, alpha);
    await this.context.run('setWeights', async () => {
      for (const block of this.blocks) {
        const stride = block.paddedRows;
        const transposed = new Float32Array(this.paddedOutputs * stride);
        for (let j = 0; j < block.rows; j++) {
          const from = (block.start + j) * l;
          for (let c = 0; c < l; c++) transposed[c * stride + j] = alpha[from + c];
        }
        this.context.device.queue.writeBuffer(block.alpha, 0, transposed);
      }
      await this.context.device.queue.onSubmittedWorkDone();
    });
  }

  async readWeights(): Promise<Float32Array> {
    this.checkAlive();
    const l = this.outputs;
    const alpha = new Float32Array(this.count * l);
    await this.context.run('readWeights', async () => {
      for (const block of this.blocks) {
        const encoder = this.context.device.createCommandEncoder({ label: 'readWeights' });
        const stride = block.paddedRows;
        await this.context.submitAndRead(encoder, block.alpha, l * stride * 4, (data) => {
          for (let j = 0; j < block.rows; j++) {
            const to = (block.start + j) * l;
            for (let c = 0; c < l; c++) alpha[to + c] = data[c * stride + j];
          }
        });
      }
    });
    return alpha;
  }

  /** How many blocks (each its own buffers) the centers are split into. */
  get blockCount(): number {
    return this.blocks.length;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const block of this.blocks) {
      this.context.release(block.centers);
      this.context.release(block.norms);
      this.context.release(block.alpha);
    }
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('webgpu: this center set was disposed');
  }
}
