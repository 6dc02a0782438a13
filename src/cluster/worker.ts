/**
 * A worker: joins the pool of idle workers on a NATS server, and when a coordinator takes it,
 * holds one shard of a run's centers and their weights on its own backend and answers the
 * coordinator's commands (cluster/protocol.ts) until the run releases it; then it joins the pool
 * again. A worker serves one run at a time.
 *
 * The worker keeps its weights in a float32 array of its own, changed with the same arithmetic as
 * the coordinator's mirror, and puts them on the backend before a prediction when they changed:
 * the two copies stay bit for bit the same whatever the backend's own update does.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Msg, Subscription } from 'nats';
import { kernelFromSpec } from '../../kernels/index.js';
import type { KernelSpec } from '../../kernels/index.js';
import type { Backend, CenterSet } from '../backends/backend.js';
import { createBackend, type BackendName } from '../backends/select.js';
import { rowSlice, takeRows, type Matrix } from '../matrix.js';
import { version as kmfitVersion } from '../version.js';
import { connectTo, loadNats, noResponders, type ServerAccess } from './connection.js';
import { WORKER_IDLE_SECONDS } from './options.js';
import {
  HEADER, JOIN_QUEUE, JOIN_SUBJECT, PROTOCOL_VERSION, Reassembler, bytesOf, decodeAdd, decodeJson, encodeJson, float32Of, int32Of, incompatibility, shardCrc, subjects,
  type ChunkHeader, type CommandHeader, type JoinReply, type JoinRequest, type WorkerDescription,
} from './protocol.js';

export interface WorkerOptions extends ServerAccess {
  /** The backend the shard is computed on; default 'auto'. */
  readonly backend?: BackendName;
  /** CPU threads of the wasm and onnx backends; default one per core. */
  readonly threads?: number;
  /** Serve only the run of this identity. */
  readonly run?: string;
  /** Seconds without a command after which the worker asks whether its coordinator is still there. */
  readonly idleSeconds?: number;
  /** Told what the worker does: joined, released, refused a run. */
  readonly onEvent?: (text: string) => void;
  /** Stops the worker (it leaves the pool and closes its connection). */
  readonly signal?: AbortSignal;
  /** What this worker says it runs: the installed kmfit, unless a test pretends otherwise. */
  readonly identity?: { readonly protocol: number; readonly version: string };
}

/** The shard a worker holds for a run. */
interface Shard {
  readonly run: string;
  readonly index: number;
  readonly outputs: number;
  readonly centers: CenterSet;
  /** All the centers' rows, when the coordinator replicates them: a batch then comes as row numbers. */
  readonly all?: Matrix;
  readonly weights: Float32Array;
  /** Weight changes applied (the coordinator numbers them). */
  applied: number;
  /** The weights changed since they were last put on the backend. */
  dirty: boolean;
  /**
   * The batch's rows taken from `all`, reused from step to step: a fresh m×d array per step (6 MB
   * at m = 2 000 on MNIST) cost 2–10 ms and more under load in page faults and collections,
   * on the step's critical path.
   */
  batchRows?: Float32Array;
  /** A failure that makes every later answer wrong (a missed update): reported on each request. */
  broken?: string;
}

/** Blocks of rows published for predictions not yet made: a few at most, as they arrive ahead of their requests. */
const KEPT_TRANSFERS = 256;

/**
 * Runs a worker until `signal` aborts or the connection closes for good.
 * @throws KmfitError CLUSTER_UNREACHABLE when the server cannot be reached at the start.
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const backend = await createBackend(options.backend ?? 'auto', { threads: options.threads });
  try {
    await serve(options, backend);
  } finally {
    await backend.dispose();
  }
}

async function serve(options: WorkerOptions, backend: Backend): Promise<void> {
  const nc = await connectTo(options, `kmfit worker (pid ${process.pid} on ${hostname()})`);
  const { headers } = await loadNats();
  const say = options.onEvent ?? (() => undefined);
  const me: WorkerDescription = {
    protocol: options.identity?.protocol ?? PROTOCOL_VERSION,
    version: options.identity?.version ?? kmfitVersion,
    id: `w-${randomUUID().slice(0, 8)}`,
    host: hostname(),
    pid: process.pid,
    backend: backend.name,
    device: backend.describe().device,
    ...(options.run !== undefined ? { pinnedRun: options.run } : {}),
  };
  const idleMs = (options.idleSeconds ?? WORKER_IDLE_SECONDS) * 1000;

  let shard: Shard | undefined;
  let bound: { run: string; index: number; subscriptions: Subscription[]; lastHeard: number } | undefined;
  const rows = new Map<number, Matrix>();
  const rowsWaiters: (() => void)[] = [];
  const reassembler = new Reassembler();
  // Commands run one after another, in the order they came.
  let queue: Promise<void> = Promise.resolve();
  let join: Subscription | undefined;

  const joinPool = () => {
    join = nc.subscribe(JOIN_SUBJECT, { queue: JOIN_QUEUE, callback: (_error, msg) => onJoin(msg) });
  };

  const leave = (why: string) => {
    if (!bound) return;
    say(`left run '${bound.run}' (${why})`);
    for (const sub of bound.subscriptions) sub.unsubscribe();
    shard?.centers.dispose();
    shard = undefined;
    rows.clear();
    bound = undefined;
    reassembler.clear();
    if (!options.signal?.aborted) joinPool();
  };

  const onJoin = (msg: Msg) => {
    let request: JoinRequest;
    try {
      request = decodeJson<JoinRequest>(msg.data);
    } catch {
      return; // not a kmfit coordinator
    }
    const reason = bound ? `worker ${me.id} is already in run '${bound.run}'` : incompatibility(me, request);
    if (reason !== undefined) {
      say(`refused run '${request.run}': ${reason}`);
      msg.respond(encodeJson({ accepted: false, worker: me, reason } satisfies JoinReply));
      return;
    }
    join?.unsubscribe();
    join = undefined;
    const run = subjects(request.run);
    const lastHeard = performance.now();
    bound = {
      run: request.run,
      index: request.shard,
      lastHeard,
      subscriptions: [
        nc.subscribe(run.shard(request.shard), { callback: (_e, m) => onCommand(m) }),
        nc.subscribe(run.rows, { callback: (_e, m) => onRows(m) }),
        nc.subscribe(run.alive(request.shard), { callback: (_e, m) => m.respond(encodeJson({ alive: true })) }),
      ],
    };
    msg.respond(encodeJson({ accepted: true, worker: me } satisfies JoinReply));
    say(`joined run '${request.run}' as shard ${request.shard + 1} of ${request.shards}`);
  };

  const pieceOf = (msg: Msg): { header: CommandHeader; body?: Uint8Array } | undefined => {
    const header = JSON.parse(msg.headers?.get(HEADER.command) ?? 'null') as CommandHeader | null;
    const chunk = JSON.parse(msg.headers?.get(HEADER.chunk) ?? 'null') as ChunkHeader | null;
    if (!header || !chunk || !bound || header.run !== bound.run) return undefined;
    bound.lastHeard = performance.now();
    return { header, body: reassembler.add(chunk, msg.data) };
  };

  const onRows = (msg: Msg) => {
    const piece = pieceOf(msg);
    if (!piece?.body) return;
    const { header, body } = piece;
    const chunk = JSON.parse(msg.headers!.get(HEADER.chunk)) as ChunkHeader;
    rows.set(chunk.transfer, { data: float32Of(body), rows: header.rows!, cols: header.cols! });
    // Blocks whose shard range left this worker out are never asked for: forget the oldest.
    for (const transfer of rows.keys()) if (transfer < chunk.transfer - KEPT_TRANSFERS) rows.delete(transfer);
    for (const wake of rowsWaiters.splice(0)) wake();
  };

  const onCommand = (msg: Msg) => {
    const piece = pieceOf(msg);
    if (!piece?.body) return;
    const { header, body } = piece;
    queue = queue.then(() => handle(header, body, msg)).catch((error: unknown) => {
      const text = error instanceof Error ? error.message : String(error);
      if (shard) shard.broken ??= text;
      if (msg.reply) respondError(msg, text);
    });
  };

  const respondError = (msg: Msg, text: string) => {
    const h = headers();
    h.set(HEADER.error, text.replace(/[\r\n]+/g, ' '));
    msg.respond(new Uint8Array(0), { headers: h });
  };

  const handle = async (header: CommandHeader, body: Uint8Array, msg: Msg): Promise<void> => {
    switch (header.op) {
      case 'assign': {
        const received = float32Of(body);
        const crc = shardCrc(received);
        if (crc !== header.crc) throw new Error(`the shard's rows arrived with CRC-32 ${crc}, not the ${header.crc} sent: the data fingerprint differs, so this worker refuses the shard`);
        const spec = header.kernel as KernelSpec;
        const kernel = kernelFromSpec(spec);
        const cols = header.cols!;
        const all: Matrix | undefined = header.start !== undefined ? { data: received, rows: header.rows!, cols } : undefined;
        const X: Matrix = all ? rowSlice(all, header.start!, header.end!) : { data: received, rows: header.rows!, cols };
        shard?.centers.dispose();
        shard = {
          run: header.run,
          index: bound!.index,
          outputs: header.outputs!,
          centers: await backend.createCenterSet(kernel, X, header.outputs!),
          ...(all ? { all } : {}),
          weights: new Float32Array(X.rows * header.outputs!),
          applied: 0,
          dirty: false,
        };
        say(`holding ${X.rows} centers of ${X.cols} features`);
        msg.respond(encodeJson({ crc }));
        return;
      }
      case 'weights':
      case 'add': {
        const s = requireShard();
        if (header.seq !== s.applied + 1) throw new Error(`weight change ${s.applied + 1} never arrived (got ${header.seq}): the weights would be wrong from here on`);
        if (header.op === 'weights') s.weights.set(float32Of(body));
        else {
          const { rows: local, deltas } = decodeAdd(body, header.dtype!, s.outputs);
          const l = s.outputs;
          // The coordinator's mirror does the same, so the two stay equal.
          for (let i = 0; i < local.length; i++) {
            const a = local[i] * l;
            for (let c = 0; c < l; c++) s.weights[a + c] += deltas[i * l + c];
          }
        }
        s.applied++;
        s.dirty = true;
        return;
      }
      case 'predict': {
        const s = requireShard();
        if (s.applied !== header.expect) throw new Error(`it has applied ${s.applied} weight changes of the ${header.expect} sent`);
        if (header.indices && !s.all) throw new Error('it was asked for rows by number, but holds only its shard');
        const X = header.indices ? batchOf(s, int32Of(body)) : await rowsOf(header.transfer!);
        if (s.dirty) {
          await s.centers.setWeights(s.weights);
          s.dirty = false;
        }
        const out = new Float32Array(X.rows * s.outputs);
        await s.centers.predict(X, out, header.j0, header.j1);
        msg.respond(bytesOf(out));
        return;
      }
      case 'release':
        leave('released by its coordinator');
        return;
    }
  };

  const requireShard = (): Shard => {
    if (!shard) throw new Error('it holds no shard yet');
    if (shard.broken) throw new Error(shard.broken);
    return shard;
  };

  /** The centers' rows `indices`, in the shard's reused buffer (valid until the next prediction: commands run one at a time). */
  const batchOf = (s: Shard, indices: Int32Array): Matrix => {
    const size = indices.length * s.all!.cols;
    if (!s.batchRows || s.batchRows.length < size) s.batchRows = new Float32Array(size);
    return takeRows(s.all!, indices, s.batchRows);
  };

  /** The published rows of `transfer`, taken; they may still be on their way when the request is here. */
  const rowsOf = async (transfer: number): Promise<Matrix> => {
    const deadline = performance.now() + 30_000;
    while (!rows.has(transfer)) {
      if (performance.now() > deadline) throw new Error(`the rows of prediction ${transfer} never arrived`);
      await new Promise<void>((resolve) => {
        rowsWaiters.push(resolve);
        setTimeout(resolve, 1000);
      });
    }
    const X = rows.get(transfer)!;
    rows.delete(transfer);
    return X;
  };

  // A coordinator that died without releasing this worker: ask after a quiet spell, leave on "no responders".
  const watchdog = setInterval(() => {
    if (!bound || performance.now() - bound.lastHeard < idleMs) return;
    const { run } = bound;
    bound.lastHeard = performance.now();
    nc.request(subjects(run).coordinator, new Uint8Array(0), { timeout: 5000 }).catch((error: unknown) => {
      if (noResponders(error) && bound?.run === run) queue = queue.then(() => leave('its coordinator is gone'));
    });
  }, Math.min(idleMs, 1000));

  const stop = () => {
    clearInterval(watchdog);
    void nc.drain().catch(() => undefined);
  };
  options.signal?.addEventListener('abort', stop, { once: true });
  joinPool();
  // The subscription reaches the server with the connection's next round trip: until it has, a
  // coordinator's join would find no worker ("no responders"), so the worker says it is waiting
  // only after one.
  await nc.flush().catch(() => undefined); // a connection closed meanwhile is reported by closed() below
  say(`waiting for a run on ${options.server} (worker ${me.id}, ${me.backend} on ${me.device})`);
  const closed = await nc.closed();
  clearInterval(watchdog);
  options.signal?.removeEventListener('abort', stop);
  shard?.centers.dispose();
  if (closed && !options.signal?.aborted) throw closed;
}
