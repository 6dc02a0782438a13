/**
 * `js`: the reference backend, plain TypeScript on one thread. Slow (≈3 GFLOP/s) but simple and
 * exact enough to be the yardstick for every other backend.
 */
import type { Kernel } from '../../../kernels/kernel.js';
import { accumulateTimesWeights, packRows, squaredDistances, type PackedRows } from '../../../kernels/js/blocks.js';
import type { Matrix } from '../../matrix.js';
import type { Backend, CenterSet, DeviceInfo, MemoryBudget } from '../backend.js';
import { checkBlock, checkCenters, checkDeltas, checkOutputs, checkPredict, checkPullBack, checkWeights } from '../misuse.js';
import { cpuName, halfOfFreeMemory } from '../system.js';

/** Centers per distance tile: 256 rows of d floats stay in L2 while a 4-row strip of X sweeps them. */
const CENTER_BLOCK = 256;

export class JsBackend implements Backend {
  readonly name = 'js';

  async createCenterSet(kernel: Kernel, centers: Matrix, outputs: number): Promise<CenterSet> {
    checkOutputs(outputs);
    checkCenters(centers);
    return new JsCenterSet(kernel, packRows(centers.data, centers.rows, centers.cols), outputs);
  }

  async kernelBlock(kernel: Kernel, X: Matrix, Y: Matrix): Promise<Float32Array> {
    checkBlock(X, Y);
    const px = packRows(X.data, X.rows, X.cols);
    const py = packRows(Y.data, Y.rows, Y.cols);
    const width = py.paddedRows;
    const tile = new Float32Array(px.paddedRows * width);
    squaredDistances(px, py, 0, width, tile);
    kernel.transformSquaredDistances(tile, 0, tile.length);
    if (width === Y.rows && px.paddedRows === X.rows) return tile;
    const out = new Float32Array(X.rows * Y.rows);
    for (let i = 0; i < X.rows; i++) out.set(tile.subarray(i * width, i * width + Y.rows), i * Y.rows);
    return out;
  }

  describe(): DeviceInfo {
    return { device: `${cpuName()}, plain JavaScript`, threads: 1, parallel: false };
  }

  memoryBudget(): MemoryBudget {
    return halfOfFreeMemory();
  }

  async dispose(): Promise<void> {}
}

class JsCenterSet implements CenterSet {
  readonly count: number;
  readonly dim: number;
  private readonly alpha: Float32Array;

  constructor(
    private readonly kernel: Kernel,
    private readonly centers: PackedRows,
    readonly outputs: number,
  ) {
    this.count = centers.rows;
    this.dim = centers.dim;
    this.alpha = new Float32Array(centers.rows * outputs);
  }

  async predict(X: Matrix, out: Float32Array, j0 = 0, j1 = this.count): Promise<void> {
    checkPredict(this, X, out, j0, j1);
    const acc = new Float64Array(X.rows * this.outputs);
    this.accumulate(X, j0, j1, acc);
    for (let i = 0; i < acc.length; i++) out[i] = acc[i];
  }

  /** Keeps each tile of kernel values (rows(X) × p floats in all) to pull the residual back by. */
  async predictAndPullBack(X: Matrix, offset: Float32Array, scale: number, residual: Float32Array, pulled: Float32Array): Promise<void> {
    checkPullBack(this, X, offset, residual, pulled);
    const l = this.outputs;
    const m = X.rows;
    const acc = new Float64Array(m * l);
    for (let i = 0; i < acc.length; i++) acc[i] = offset[i];
    const tiles: { start: number; end: number; values: Float32Array }[] = [];
    this.accumulate(X, 0, this.count, acc, (start, end, values) => tiles.push({ start, end, values: values.slice() }));
    for (let i = 0; i < acc.length; i++) residual[i] = acc[i];
    const sums = new Float64Array(this.count * l);
    for (const { start, end, values } of tiles) {
      const width = end - start;
      for (let i = 0; i < m; i++) {
        for (let j = start; j < Math.min(end, this.count); j++) {
          const w = scale * values[i * width + j - start];
          for (let c = 0; c < l; c++) sums[j * l + c] += w * residual[i * l + c];
        }
      }
    }
    for (let i = 0; i < sums.length; i++) pulled[i] = sums[i];
  }

  async addToWeights(rows: ArrayLike<number>, deltas: Float64Array | Float32Array): Promise<void> {
    checkDeltas(this, rows, deltas);
    const l = this.outputs;
    for (let i = 0; i < rows.length; i++) {
      const a = rows[i] * l;
      for (let c = 0; c < l; c++) this.alpha[a + c] += deltas[i * l + c];
    }
  }

  async setWeights(alpha: Float32Array): Promise<void> {
    checkWeights(this, alpha);
    this.alpha.set(alpha.subarray(0, this.alpha.length));
  }

  async readWeights(): Promise<Float32Array> {
    return this.alpha.slice();
  }

  dispose(): void {}

  /** acc += k(X, Z[j0:j1])·α[j0:j1], tile by tile; `tile` sees each tile's kernel values. */
  private accumulate(X: Matrix, j0: number, j1: number, acc: Float64Array, tile?: (start: number, end: number, values: Float32Array) => void): void {
    const px = packRows(X.data, X.rows, X.cols);
    const values = new Float32Array(px.paddedRows * CENTER_BLOCK);
    // Tiles start on multiples of 4 so the 4×4 distance block never straddles a padded edge.
    for (let start = j0 - (j0 % 4); start < j1; start += CENTER_BLOCK) {
      const end = Math.min(start + CENTER_BLOCK, this.centers.paddedRows);
      const width = end - start;
      squaredDistances(px, this.centers, start, end, values);
      this.kernel.transformSquaredDistances(values, 0, px.paddedRows * width);
      const from = Math.max(start, j0);
      accumulateTimesWeights(values.subarray(from - start), width, X.rows, this.alpha, this.outputs, from, Math.min(end, j1), acc);
      tile?.(start, end, values.subarray(0, X.rows * width));
    }
  }
}
