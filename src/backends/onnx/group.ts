/**
 * A center group of the onnx backend (Backend.createCenterGroup): several kernels over one set of
 * centers, each a member center set with weights of its own, for a bandwidth search. predictAll runs
 * one graph (kernels/onnx/models.ts fusedGroupModel / streamedGroupModel) that computes each block's
 * squared distances once and every member's kernel values and product from them, so that five
 * bandwidths cost one distance GEMM and five transforms and products instead of five of each.
 *
 * The group's centers live as a single set's do (centers.ts): resident in shards of pre-packed
 * initializers, or streamed to a shared graph when small (a batch the search makes a group of for
 * its corrections). The members themselves are streamed sets sharing one columns input: a
 * member's own predict (which the search does not use for training) costs one distance
 * computation per call, and no second resident copy of the centers per member.
 */
import type { KernelExpression } from '../../../kernels/kernel.js';
import { blockCenters, columnsInput, columnsShape, distanceForm, fusedGroupModel, groupAlpha, rowsInput, rowsShape, valueBytes, type DistanceForm, type FormValues } from '../../../kernels/onnx/models.js';
import { rowSlice, type Matrix } from '../../matrix.js';
import type { CenterGroup, CenterSet } from '../backend.js';
import { checkCenters, checkOutputs, checkPredict } from '../misuse.js';
import { OnnxCenterSet, columnFeeds, outputData, rowsPerChunk, streamedShards, type CenterSetContext, type Shard } from './centers.js';
import type { OrtTensor } from './runtime.js';

export class OnnxCenterGroup implements CenterGroup {
  readonly sharesDistances = true;
  private readonly shards: Shard[] = [];
  private released = false;
  private releasing: Promise<void> | undefined;

  private constructor(
    private readonly context: CenterSetContext,
    private readonly form: DistanceForm,
    readonly members: readonly OnnxCenterSet[],
    private readonly dim: number,
  ) {}

  /** The members (streamed sets on one columns input), then the group's own shards, resident or streamed as a set's would be. */
  static async create(context: CenterSetContext, kernels: readonly KernelExpression[], centers: Matrix, outputs: number): Promise<OnnxCenterGroup> {
    checkOutputs(outputs);
    checkCenters(centers);
    const { rows: n, cols: d } = centers;
    const form = distanceForm(d);
    const columns = columnsInput(form, centers);
    const members: OnnxCenterSet[] = [];
    let group: OnnxCenterGroup | undefined;
    try {
      for (const kernel of kernels) members.push(await OnnxCenterSet.streamed(context, kernel, centers, outputs, columns));
      group = new OnnxCenterGroup(context, form, members, d);
      if (n * columnsShape(n, d)[1] * valueBytes(form) <= context.streamedBytes) {
        group.shards.push(...streamedShards(form, centers, await context.streamedGroupSession(kernels, form, d), columns));
        return group;
      }
      const shardSize = blockCenters(form, d);
      for (let start = 0; start < n; start += shardSize) {
        const end = Math.min(n, start + shardSize);
        const model = await fusedGroupModel(kernels, centers, start, end, outputs);
        const shard = { start, end, blocks: model.blocks, session: await context.runtime.createSession(model.bytes, context.options) };
        group.shards.push(shard);
        // The first run is when onnxruntime lets go of the unpacked initializers (centers.ts).
        await group.runShard(shard, rowsInput(form, rowSlice(centers, start, start + 1)), 1);
      }
      return group;
    } catch (error) {
      await Promise.all([...members.map((set) => set.release()), group?.release()]);
      throw error;
    }
  }

  predictAll(X: Matrix, outs: readonly (Float32Array | undefined)[]): Promise<void> {
    return this.context.queue.run(async () => {
      this.check();
      const chosen = this.members.flatMap((set, k) => (outs[k] ? [k] : []));
      const l = this.members[0].outputs;
      for (const k of chosen) {
        checkPredict(this.members[k], X, outs[k]!, 0, this.members[k].count);
        outs[k]!.fill(0, 0, X.rows * l);
      }
      const m = X.rows;
      if (m === 0 || chosen.length === 0 || this.members[0].count === 0) return;
      const chunk = rowsPerChunk(this.form, this.shards, m);
      for (let r0 = 0; r0 < m; r0 += chunk) {
        const rows = Math.min(chunk, m - r0);
        const x = rowsInput(this.form, rowSlice(X, r0, r0 + rows));
        for (const shard of this.shards) {
          const result = await this.runShard(shard, x, rows);
          for (const k of chosen) {
            const part = outputData(result, `out${k}`);
            const target = outs[k]!.subarray(r0 * l, (r0 + rows) * l);
            for (let i = 0; i < target.length; i++) target[i] += part[i];
          }
        }
      }
    });
  }

  /**
   * Disposes the members (but `keep`: a streamed set, it needs only the columns input and the
   * backend's shared graph) and releases the group's sessions once the calls already queued are done.
   */
  dispose(keep?: CenterSet): void {
    for (const set of this.members) if (set !== keep) set.dispose();
    if (this.released) return;
    this.released = true;
    void this.context.queue.run(() => this.release()).catch(() => undefined);
  }

  /** Releases the group's own sessions now (inside the queue, or when the backend is disposed); once. */
  release(): Promise<void> {
    this.released = true;
    if (!this.releasing) {
      this.context.released(this);
      this.releasing = Promise.all(this.shards.filter((shard) => shard.columns === undefined).map((shard) => shard.session.release())).then(() => undefined);
    }
    return this.releasing;
  }

  /** One shard's outputs out0, out1, … for `rows` rows, every member's weights fed (the graph runs all of them). */
  private async runShard(shard: Shard, x: FormValues, rows: number): Promise<Record<string, OrtTensor>> {
    const { runtime } = this.context;
    const feeds: Record<string, OrtTensor> = { x: runtime.tensor(x, rowsShape(rows, this.dim)), ...columnFeeds(runtime, shard, this.dim) };
    this.members.forEach((set, k) => {
      shard.blocks.forEach(([b0, b1], b) => (feeds[groupAlpha(k, b)] = runtime.tensor(set.weightsOf(b0, b1, 0, set.count), [b1 - b0, set.outputs])));
    });
    return shard.session.run(feeds);
  }

  private check(): void {
    if (this.released) throw new Error('this center group has been disposed');
    for (const set of this.members) set.check();
  }
}
