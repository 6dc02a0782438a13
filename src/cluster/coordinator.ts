/**
 * The coordinator's side of a cluster run: it connects to the NATS server, gathers the workers,
 * sends each its shard of the centers, and hands the solver a CenterSet (ClusterCenterSet) whose
 * shards live in the workers — the solver itself is unchanged.
 *
 * Per prediction k(X, Z)·α: the rows X are published once for all workers, each worker computes
 * its partial k(X, Z_i)·α_i, and the coordinator adds the partials in shard order (in float64).
 * Weight changes are published to the shards that own the rows, numbered per shard, and applied to
 * a mirror of all weights here with the same float32 arithmetic as on the workers: so reading the
 * weights (checkpoints, the model) needs no worker, and a run that loses a worker can still save
 * every completed iteration.
 *
 * Only predict waits for workers: a lost worker shows there, at the start of a step, before the
 * step has changed anything (WORKER_LOST). A worker killed outright is seen within
 * PROBE_SECONDS (the server drops its subscriptions when its connection closes, and a probe then
 * gets "no responders"); one that stops answering without closing its connection, within
 * replySeconds.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Msg, NatsConnection, MsgHdrs } from 'nats';
import type { Kernel } from '../../kernels/kernel.js';
import type { CenterSet } from '../backends/backend.js';
import { KmfitError } from '../errors.js';
import { rowSlice, takeRows, type Matrix } from '../matrix.js';
import { version } from '../version.js';
import { connectTo, loadNats, noResponders, timedOut } from './connection.js';
import {
  HEADER, HEADER_ROOM, JOIN_SUBJECT, PROTOCOL_VERSION, bytesOf, decodeJson, describeWorker, encodeAdd, encodeJson, float32Of, incompatibility, maxPayload, sendCommand, shardCrc, subjects,
  type CommandHeader, type JoinReply, type JoinRequest, type WorkerDescription,
} from './protocol.js';
import { shardRanges, splitByOwner, type ShardRange } from './shards.js';
import { CLUSTER_DEFAULTS, PROBE_SECONDS, type ClusterOptions, type ClusterReport } from './options.js';

/** A joined worker and the centers it holds. */
interface Member {
  readonly worker: WorkerDescription;
  readonly range: ShardRange;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


export class Cluster {
  private transfers = 0;
  private closed = false;
  /** Weight changes sent to each shard: a worker must have applied as many before it predicts. */
  private readonly sent: number[];
  readonly centers: ClusterCenterSet;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly headers: () => MsgHdrs,
    private readonly options: ClusterOptions & { run: string },
    private readonly members: readonly Member[],
    points: Matrix,
    outputs: number,
  ) {
    this.sent = members.map(() => 0);
    this.centers = new ClusterCenterSet(this, members.map((m) => m.range), points, outputs, options.replicate ?? CLUSTER_DEFAULTS.replicate);
  }

  /**
   * Connects, gathers `options.workers` workers and gives each its shard of `centers`.
   * @throws KmfitError CLUSTER_UNREACHABLE (no server, refused credentials), CLUSTER_WORKERS (too
   *   few workers joined in time, with why others were refused), MISSING_PACKAGE (no nats client).
   */
  static async start(options: ClusterOptions, model: { kernel: Kernel; centers: Matrix; outputs: number }): Promise<Cluster> {
    const run = options.run ?? randomUUID().replaceAll('-', '').slice(0, 16);
    const nc = await connectTo(options, `kmfit coordinator ${run} (pid ${process.pid} on ${hostname()})`);
    try {
      const { headers } = await loadNats();
      // Workers ask here whether their coordinator is still alive.
      nc.subscribe(subjects(run).coordinator, { callback: (_error, msg) => msg.respond(encodeJson({ alive: true })) });
      const release = (shard: number) => sendCommand(nc, headers, subjects(run).shard(shard), { op: 'release', run }, new Uint8Array(0), 0);
      const workers = await gatherWorkers(nc, { ...options, run }, release);
      const ranges = shardRanges(model.centers.rows, workers.length);
      const cluster = new Cluster(nc, headers, { ...options, run }, workers.map((worker, k) => ({ worker, range: ranges[k] })), model.centers, model.outputs);
      await cluster.assign(model);
      return cluster;
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
  }

  /** The run, its server and who holds which centers. */
  report(): ClusterReport {
    return { run: this.options.run, server: this.options.server, workers: this.members.map((m) => ({ worker: m.worker, centers: m.range.end - m.range.start })) };
  }

  /**
   * Sends every worker its rows (all of them when replicating) and the kernel, and waits until
   * each has checked what it received.
   */
  private async assign(model: { kernel: Kernel; centers: Matrix; outputs: number }): Promise<void> {
    const { centers } = model;
    const replicate = this.options.replicate ?? CLUSTER_DEFAULTS.replicate;
    const allCrc = replicate ? shardCrc(centers.data) : 0;
    await Promise.all(
      this.members.map(async ({ range }, k) => {
        const rows = replicate ? centers.data : centers.data.subarray(range.start * centers.cols, range.end * centers.cols);
        const crc = replicate ? allCrc : shardCrc(rows);
        const header: CommandHeader = {
          op: 'assign',
          run: this.options.run,
          kernel: model.kernel.spec,
          rows: rows.length / centers.cols,
          cols: centers.cols,
          outputs: model.outputs,
          crc,
          ...(replicate ? { start: range.start, end: range.end } : {}),
        };
        const refused = (why: string) => new KmfitError('CLUSTER_WORKERS', `Worker ${describeWorker(this.members[k].worker)} refused shard ${k + 1} of ${this.members.length}: ${why}. Check the network between it and the server, or start another worker.`);
        const reply = decodeJson<{ crc: number }>(await this.ask(k, header, bytesOf(rows), refused));
        if (reply.crc !== crc) throw refused(`it holds rows with CRC-32 ${reply.crc}, not the ${crc} sent (another data fingerprint)`);
      }),
    );
  }

  /** Publishes rows for the workers' next predictions; returns the transfer that names them. */
  publishRows(X: Matrix): number {
    this.checkOpen();
    const transfer = ++this.transfers;
    this.publish(subjects(this.options.run).rows, { op: 'predict', run: this.options.run, rows: X.rows, cols: X.cols }, bytesOf(X.data), transfer);
    return transfer;
  }

  /** Shard k's partial k(X, Z_k[j0:j1])·α_k for the rows X published as `transfer`, or for the centers' rows `rows` (replicated). */
  async partial(k: number, rows: number | Int32Array, j0: number, j1: number): Promise<Float32Array> {
    const which = typeof rows === 'number' ? { transfer: rows } : { indices: true };
    const header: CommandHeader = { op: 'predict', run: this.options.run, ...which, j0, j1, expect: this.sent[k] };
    return float32Of(await this.ask(k, header, typeof rows === 'number' ? new Uint8Array(0) : bytesOf(rows)));
  }

  /** Shard k's weights replaced (count×outputs, its local rows). */
  sendWeights(k: number, weights: Float32Array): void {
    this.checkOpen();
    this.publish(subjects(this.options.run).shard(k), { op: 'weights', run: this.options.run, seq: ++this.sent[k] }, bytesOf(weights));
  }

  /** Shard k's rows (local indices) changed by deltas. */
  sendAdd(k: number, rows: Int32Array, deltas: Float32Array | Float64Array): void {
    this.checkOpen();
    const header: CommandHeader = { op: 'add', run: this.options.run, seq: ++this.sent[k], dtype: deltas instanceof Float64Array ? 'f64' : 'f32' };
    this.publish(subjects(this.options.run).shard(k), header, encodeAdd(rows, deltas));
  }

  /** The most rows of `cols` features that travel in one message, and whose partial sums (`outputs` each) fit in one reply. */
  rowsPerBlock(cols: number, outputs: number): number {
    return Math.max(1, Math.floor((maxPayload(this.nc) - HEADER_ROOM) / (Math.max(cols, outputs) * 4)));
  }

  /** Lets the workers go back to the pool, and closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (let k = 0; k < this.members.length; k++) this.publish(subjects(this.options.run).shard(k), { op: 'release', run: this.options.run }, new Uint8Array(0));
    await this.nc.drain().catch(() => undefined);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('Cluster: used after close()');
  }

  /** Publishes a command, in chunks when it is larger than the server takes in one message. */
  private publish(subject: string, header: CommandHeader, body: Uint8Array, transfer = ++this.transfers): void {
    sendCommand(this.nc, this.headers, subject, header, body, transfer);
  }

  /**
   * Sends a command to shard k and waits for its reply, probing the worker meanwhile.
   * @throws KmfitError WORKER_LOST when the worker is gone, does not answer in time, or reports a failure.
   */
  private async ask(k: number, header: CommandHeader, body: Uint8Array, failure = (what: string) => this.lost(k, what)): Promise<Uint8Array> {
    this.checkOpen();
    const replySeconds = this.options.replySeconds ?? CLUSTER_DEFAULTS.replySeconds;
    const reply = sendCommand(this.nc, this.headers, subjects(this.options.run).shard(k), header, body, ++this.transfers, replySeconds * 1000)!;
    let settled = false;
    const watched = reply.finally(() => (settled = true));
    const probing = (async (): Promise<never> => {
      for (;;) {
        await sleep(PROBE_SECONDS * 1000);
        if (settled) return new Promise<never>(() => undefined);
        try {
          await this.nc.request(subjects(this.options.run).alive(k), new Uint8Array(0), { timeout: PROBE_SECONDS * 1000 });
        } catch (error) {
          // A busy worker (a long step, or a backend that holds its event loop) times out: still there.
          if (noResponders(error) && !settled) throw failure('disconnected: the NATS server has no subscriber for it any more');
        }
      }
    })();
    let msg: Msg;
    try {
      msg = await Promise.race([watched, probing]);
    } catch (error) {
      if (error instanceof KmfitError) throw error;
      if (noResponders(error)) throw failure('disconnected: the NATS server has no subscriber for it any more');
      if (timedOut(error)) throw failure(`did not answer within ${replySeconds} s (replySeconds)`);
      throw failure(error instanceof Error ? error.message : String(error));
    }
    const reported = msg.headers?.get(HEADER.error);
    if (reported) throw failure(`reported: ${reported}`);
    return msg.data;
  }

  private lost(k: number, what: string): KmfitError {
    const { worker, range } = this.members[k];
    return new KmfitError(
      'WORKER_LOST',
      `Worker ${describeWorker(worker)}, holding shard ${k + 1} of ${this.members.length} (centers ${range.start}–${range.end - 1}), ${what}. ` +
        `Training stopped; start a worker again (kmfit worker --server ${this.options.server}) and resume from the checkpoint.`,
    );
  }
}

/**
 * Asks idle workers to join until `options.workers` have accepted. A worker of another version, or
 * one started for another run, declines; if too few join in time, the error says who declined why.
 */
async function gatherWorkers(nc: NatsConnection, options: ClusterOptions & { run: string }, release: (shard: number) => void): Promise<WorkerDescription[]> {
  const joinSeconds = options.joinSeconds ?? CLUSTER_DEFAULTS.joinSeconds;
  const deadline = performance.now() + joinSeconds * 1000;
  const accepted: WorkerDescription[] = [];
  const refused = new Map<string, string>();
  while (accepted.length < options.workers && performance.now() < deadline) {
    const request: JoinRequest = { protocol: PROTOCOL_VERSION, version, run: options.run, shard: accepted.length, shards: options.workers };
    let reply: JoinReply;
    try {
      const msg = await nc.request(JOIN_SUBJECT, encodeJson(request), { timeout: Math.min(2000, Math.max(100, deadline - performance.now())) });
      reply = decodeJson<JoinReply>(msg.data);
    } catch (error) {
      if (noResponders(error) || timedOut(error)) {
        await sleep(200); // no idle worker yet
        continue;
      }
      throw error;
    }
    // Checked here too: a worker of an older kmfit may not check itself.
    const reason = reply.accepted ? incompatibility(reply.worker, request) : reply.reason;
    if (reason === undefined) {
      accepted.push(reply.worker);
      continue;
    }
    if (reply.accepted) release(request.shard);
    refused.set(reply.worker.id, reason);
    await sleep(100); // the queue group may hand the next request to the same worker: let others answer
  }
  if (accepted.length >= options.workers) return accepted;
  const declined = [...refused.values()];
  throw new KmfitError(
    'CLUSTER_WORKERS',
    `Only ${accepted.length} of ${options.workers} workers joined run '${options.run}' on ${options.server} within ${joinSeconds} s` +
      (declined.length > 0 ? `; refused: ${declined.join('; ')}` : '') +
      `. Start more workers (kmfit worker --server ${options.server}), ask for fewer (workers), or wait longer (joinSeconds).`,
  );
}

/**
 * The centers and weights of a cluster, behind the solver's CenterSet: predictions are summed from
 * the shards' partials, weight changes go to the shards that own the rows, and the weights are
 * read from the mirror kept here.
 */
export class ClusterCenterSet implements CenterSet {
  readonly count: number;
  readonly dim: number;
  /** The weights as the workers hold them (count×outputs): updated with the same float32 arithmetic. */
  private readonly mirror: Float32Array;

  constructor(
    private readonly cluster: Cluster,
    private readonly ranges: readonly ShardRange[],
    /** The centers' points, here too: a batch of them is sent as rows unless every worker holds them all. */
    private readonly points: Matrix,
    readonly outputs: number,
    private readonly replicated: boolean,
  ) {
    this.count = ranges[ranges.length - 1].end;
    this.dim = points.cols;
    this.mirror = new Float32Array(this.count * outputs);
  }

  async predict(X: Matrix, out: Float32Array, j0 = 0, j1 = this.count): Promise<void> {
    // Blocks of rows that each travel as one message: the workers compute a block while the next
    // arrives, instead of waiting for the whole batch (the client reads ≈100–200 MB/s here).
    const block = this.cluster.rowsPerBlock(X.cols, this.outputs);
    await this.gather(X.rows, block, out, j0, j1, (r0, r1) => this.cluster.publishRows(rowSlice(X, r0, r1)));
  }

  async predictOwnRows(rows: Int32Array, out: Float32Array): Promise<void> {
    if (!this.replicated) return this.predict(takeRows(this.points, rows), out);
    const block = this.cluster.rowsPerBlock(1, this.outputs);
    await this.gather(rows.length, block, out, 0, this.count, (r0, r1) => rows.subarray(r0, r1));
  }

  /** Asks the shards overlapping centers j0…j1 − 1 for their partials, block by block, and sums them into out. */
  private async gather(count: number, block: number, out: Float32Array, j0: number, j1: number, rowsOf: (r0: number, r1: number) => number | Int32Array): Promise<void> {
    const l = this.outputs;
    const shards = this.ranges
      .map((range, k) => ({ k, lo: Math.max(j0, range.start) - range.start, hi: Math.min(j1, range.end) - range.start }))
      .filter((s) => s.lo < s.hi);
    const requests: Promise<Float32Array[]>[] = [];
    for (let r0 = 0; r0 < count; r0 += block) {
      const rows = rowsOf(r0, Math.min(r0 + block, count));
      requests.push(Promise.all(shards.map((s) => this.cluster.partial(s.k, rows, s.lo, s.hi))));
    }
    const partials = await Promise.all(requests);
    // In shard order whatever order the replies came in: the same run sums the same way.
    const sum = new Float64Array(count * l);
    partials.forEach((parts, b) => {
      const offset = b * block * l;
      for (const part of parts) for (let i = 0; i < part.length; i++) sum[offset + i] += part[i];
    });
    out.set(sum);
  }

  async addToWeights(rows: ArrayLike<number>, deltas: Float64Array | Float32Array): Promise<void> {
    const l = this.outputs;
    for (let i = 0; i < rows.length; i++) {
      const a = rows[i] * l;
      for (let c = 0; c < l; c++) this.mirror[a + c] += deltas[i * l + c];
    }
    for (const part of splitByOwner(this.ranges, rows, deltas, l)) this.cluster.sendAdd(part.shard, part.rows, part.deltas);
  }

  async setWeights(alpha: Float32Array): Promise<void> {
    this.mirror.set(alpha.subarray(0, this.mirror.length));
    this.ranges.forEach((range, k) => this.cluster.sendWeights(k, this.mirror.slice(range.start * this.outputs, range.end * this.outputs)));
  }

  async readWeights(): Promise<Float32Array> {
    return this.mirror.slice();
  }

  /** The workers are released by Cluster.close(). */
  dispose(): void {}
}
