/**
 * A center group of the onnx backend (Backend.createCenterGroup): several kernels over one set of
 * centers, each a member center set with weights of its own, for a bandwidth search. predictAll runs
 * one graph (kernels/onnx/models.ts fusedGroupModel / streamedGroupModel) that computes each block's
 * squared distances once and every member's kernel values and product from them, so that five
 * bandwidths cost one distance GEMM and five transforms and products instead of five of each.
 *
 * The group's centers live as a single set's do (centers.ts): resident in shards of pre-packed
 * initializers, or streamed to a shared graph when small (a batch the search makes a group of for
 * its corrections); in the byte form where a set's would be (pixels: the integer GEMM, for rows
 * that are bytes over the same divisor, and float-form shards made on first use for other rows).
 * The members themselves are streamed sets sharing one columns input: a member's own predict
 * (which the search does not use for training) costs one distance computation per call, and no
 * second resident copy of the centers per member.
 */
import type { KernelExpression } from '../../../kernels/kernel.js';
import type { ByteColumns } from '../../../kernels/onnx/bytes.js';
import { blockCenters, columnsShape, distanceForm, fusedGroupModel, groupAlpha, valueBytes, type DistanceForm, type FormValues } from '../../../kernels/onnx/models.js';
import { rowSlice, type Matrix } from '../../matrix.js';
import type { CenterGroup, CenterSet } from '../backend.js';
import { checkCenters, checkOutputs, checkPredict } from '../misuse.js';
import { Lazily, OnnxCenterSet, columnFeeds, columnsFor, isFloatColumns, outputData, releaseShards, rowFeeds, rowsPerChunk, streamedShards, type CenterSetContext, type Shard } from './centers.js';
import type { OrtTensor } from './runtime.js';

export class OnnxCenterGroup implements CenterGroup {
  readonly sharesDistances = true;
  private readonly shards: Shard[] = [];
  /** A byte-form group's float-form shards, for rows that are not bytes; made on the first such call. */
  private readonly floatShards = new Lazily(() => this.madeShards(undefined));
  private released = false;
  private releasing: Promise<void> | undefined;

  private constructor(
    private readonly context: CenterSetContext,
    private readonly form: DistanceForm,
    private readonly kernels: readonly KernelExpression[],
    private readonly centers: Matrix,
    readonly members: readonly OnnxCenterSet[],
    /** Set when the shards are in the byte form (kernels/onnx/bytes.ts), over this divisor. */
    private readonly divisor: number | undefined,
  ) {}

  /**
   * The members (streamed sets on one columns input), then the group's own shards, resident or
   * streamed as a set's would be; in the byte form where a set's would be (centers.ts).
   */
  static async create(context: CenterSetContext, kernels: readonly KernelExpression[], centers: Matrix, outputs: number): Promise<OnnxCenterGroup> {
    checkOutputs(outputs);
    checkCenters(centers);
    const form = distanceForm(centers.cols);
    const columns = await columnsFor(context, form, centers);
    const divisor = isFloatColumns(columns) ? undefined : columns.divisor;
    const members: OnnxCenterSet[] = [];
    let group: OnnxCenterGroup | undefined;
    try {
      for (const kernel of kernels) members.push(await OnnxCenterSet.streamed(context, kernel, centers, outputs, columns));
      group = new OnnxCenterGroup(context, form, kernels, centers, members, divisor);
      group.shards.push(...(await group.madeShards(divisor, columns)));
      return group;
    } catch (error) {
      await Promise.all([...members.map((set) => set.release()), group?.release()]);
      throw error;
    }
  }

  /**
   * Shards holding all the centers, in the byte form over `divisor` or else the float form:
   * streamed (on `columns`, when given in that form) up to the backend's streamed size, else resident.
   */
  private async madeShards(divisor: number | undefined, columns?: FormValues | ByteColumns): Promise<Shard[]> {
    const { context, form, kernels, centers } = this;
    const { rows: n, cols: d } = centers;
    const outputs = this.members[0].outputs;
    if (n * columnsShape(n, d)[1] * valueBytes(form) <= context.streamedBytes) {
      return streamedShards(form, centers, await context.streamedGroupSession(kernels, form, d, divisor), columns);
    }
    const shards: Shard[] = [];
    try {
      const shardSize = blockCenters(form, d);
      for (let start = 0; start < n; start += shardSize) {
        const end = Math.min(n, start + shardSize);
        const model = await fusedGroupModel(kernels, centers, start, end, outputs, divisor);
        const shard = { start, end, blocks: model.blocks, session: await context.runtime.createSession(model.bytes, context.options) };
        shards.push(shard);
        // The first run is when onnxruntime lets go of the unpacked initializers (centers.ts).
        await this.runShard(shard, rowFeeds(context.runtime, form, divisor, rowSlice(centers, start, start + 1)).chunk(0, 1));
      }
    } catch (error) {
      await releaseShards(shards);
      throw error;
    }
    return shards;
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
      const x = rowFeeds(this.context.runtime, this.form, this.divisor, X);
      const shards = x.bytes || this.divisor === undefined ? this.shards : await this.floatShards.get();
      const chunk = rowsPerChunk(this.form, shards, m);
      for (let r0 = 0; r0 < m; r0 += chunk) {
        const rows = Math.min(chunk, m - r0);
        const feeds = x.chunk(r0, r0 + rows);
        for (const shard of shards) {
          const result = await this.runShard(shard, feeds);
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
      this.releasing = Promise.all([releaseShards(this.shards), this.floatShards.release(releaseShards)]).then(() => undefined);
    }
    return this.releasing;
  }

  /** One shard's outputs out0, out1, … for a chunk of rows (rowFeeds, in the shard's form), every member's weights fed (the graph runs all of them). */
  private async runShard(shard: Shard, rows: Readonly<Record<string, OrtTensor>>): Promise<Record<string, OrtTensor>> {
    const { runtime } = this.context;
    const feeds: Record<string, OrtTensor> = { ...rows, ...columnFeeds(runtime, shard, this.centers.cols) };
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
