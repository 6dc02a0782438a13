/**
 * What coordinator and workers say to each other over NATS: the subjects, the operations, their
 * headers, and how an array larger than the server's max_payload (1 MB by default) travels as
 * numbered chunks. Both sides import this module, so that the wire format is written once.
 *
 * Subjects (RUN is the run's identity):
 *   kmfit.join                     idle workers, in the queue group kmfit-workers: one join request reaches one of them
 *   kmfit.run.RUN.rows             a block of rows to predict, published once for every worker
 *   kmfit.run.RUN.shard.K          shard K's commands: assign, weights, add, predict, release
 *   kmfit.run.RUN.shard.K.alive    shard K's worker answers here; a request with no subscriber left gets "no responders" at once
 *   kmfit.run.RUN.coordinator      the coordinator answers here; a worker whose coordinator is gone goes back to the pool
 */
import type { Msg, MsgHdrs, NatsConnection } from 'nats';
import { crc32 } from '../crc32.js';

/** Changes whenever a message changes meaning; a worker speaking another one is refused. */
export const PROTOCOL_VERSION = 1;

export const JOIN_SUBJECT = 'kmfit.join';
export const JOIN_QUEUE = 'kmfit-workers';

export const subjects = (run: string) => ({
  rows: `kmfit.run.${run}.rows`,
  shard: (k: number) => `kmfit.run.${run}.shard.${k}`,
  alive: (k: number) => `kmfit.run.${run}.shard.${k}.alive`,
  coordinator: `kmfit.run.${run}.coordinator`,
});

/** Who is talking: checked on both sides when a worker joins. */
export interface Identity {
  readonly protocol: number;
  readonly version: string;
}

/** The coordinator's join request: one per shard, until as many workers have accepted. */
export interface JoinRequest extends Identity {
  readonly run: string;
  readonly shard: number;
  readonly shards: number;
}

/** A worker, as it describes itself in every join reply. */
export interface WorkerDescription extends Identity {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly backend: string;
  readonly device: string;
  /** The run this worker was started for (`kmfit worker --run`), if any. */
  readonly pinnedRun?: string;
}

export type JoinReply = { readonly accepted: true; readonly worker: WorkerDescription } | { readonly accepted: false; readonly worker: WorkerDescription; readonly reason: string };

/** Why a worker and a coordinator cannot work together, or undefined when they can. */
export function incompatibility(worker: WorkerDescription, request: JoinRequest): string | undefined {
  if (worker.protocol !== request.protocol || worker.version !== request.version) {
    return (
      `worker ${describeWorker(worker)} runs kmfit ${worker.version} (protocol ${worker.protocol}) and the coordinator ` +
      `kmfit ${request.version} (protocol ${request.protocol}): install the same kmfit version on every machine`
    );
  }
  if (worker.pinnedRun !== undefined && worker.pinnedRun !== request.run) {
    return `worker ${describeWorker(worker)} serves only run '${worker.pinnedRun}', not run '${request.run}': start it without --run, or give the run that identity`;
  }
  return undefined;
}

export function describeWorker(worker: Pick<WorkerDescription, 'id' | 'host' | 'pid'>): string {
  return `${worker.id} (pid ${worker.pid} on ${worker.host})`;
}

/** The operations on a shard's subject. */
export type Operation = 'assign' | 'weights' | 'add' | 'predict' | 'release';

/**
 * What a command carries besides its body, as one JSON header. `seq` numbers the weight changes
 * sent to a shard (weights, add): a worker that sees a gap has missed one, and says so instead of
 * going on with wrong weights. `expect` (predict) is how many the worker must have applied.
 */
export interface CommandHeader {
  readonly op: Operation;
  readonly run: string;
  readonly seq?: number;
  readonly expect?: number;
  /**
   * assign: the kernel, the rows sent (the shard's, or with `start`/`end` all the centers', the
   * shard being rows start…end − 1) and their CRC-32.
   */
  readonly kernel?: unknown;
  readonly start?: number;
  readonly end?: number;
  readonly rows?: number;
  readonly cols?: number;
  readonly outputs?: number;
  readonly crc?: number;
  /** add: the delta values' type. */
  readonly dtype?: 'f32' | 'f64';
  /** predict: the rows transfer (or, with `indices`, the body is the row numbers of the centers sent at assign), and the shard's local center range. */
  readonly transfer?: number;
  readonly indices?: boolean;
  readonly j0?: number;
  readonly j1?: number;
}

/** One piece of a chunked body. */
export interface ChunkHeader {
  /** Unique per sender and transfer. */
  readonly transfer: number;
  readonly index: number;
  readonly count: number;
}

export const HEADER = { command: 'kmfit-command', chunk: 'kmfit-chunk', error: 'kmfit-error' } as const;

/** Room left in a message for its headers. */
export const HEADER_ROOM = 4096;

/** The body's pieces, each small enough for a server whose max_payload is `maxPayload`. */
export function splitBody(body: Uint8Array, maxPayload: number): Uint8Array[] {
  const size = Math.max(1024, maxPayload - HEADER_ROOM);
  if (body.length <= size) return [body];
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < body.length; at += size) pieces.push(body.subarray(at, Math.min(at + size, body.length)));
  return pieces;
}

/** Collects the pieces of chunked bodies until each is whole. */
export class Reassembler {
  private readonly partial = new Map<number, { pieces: (Uint8Array | undefined)[]; received: number }>();

  /** The whole body, in a buffer of its own, once its last piece arrives; else undefined. */
  add(chunk: ChunkHeader, piece: Uint8Array): Uint8Array | undefined {
    if (chunk.count === 1) return copyOf(piece);
    let entry = this.partial.get(chunk.transfer);
    if (!entry) {
      entry = { pieces: new Array<Uint8Array | undefined>(chunk.count), received: 0 };
      this.partial.set(chunk.transfer, entry);
    }
    // The client reuses its read buffer: keep a copy of each piece.
    if (entry.pieces[chunk.index] === undefined) entry.received++;
    entry.pieces[chunk.index] = copyOf(piece);
    if (entry.received < chunk.count) return undefined;
    this.partial.delete(chunk.transfer);
    const whole = new Uint8Array(entry.pieces.reduce((sum, p) => sum + p!.length, 0));
    let at = 0;
    for (const p of entry.pieces) {
      whole.set(p!, at);
      at += p!.length;
    }
    return whole;
  }

  /** Forgets unfinished transfers (a new run, or a transfer given up on). */
  clear(): void {
    this.partial.clear();
  }
}

/** The bytes of a typed array's view (no copy). */
export function bytesOf(array: Float32Array | Float64Array | Int32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * A copy in a fresh buffer. Not bytes.slice(): the client hands out Node Buffers, whose slice()
 * is a view of the same memory.
 */
function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** A Float32Array over bytes received (copied when they are not 4-byte aligned). */
export function float32Of(bytes: Uint8Array): Float32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : copyOf(bytes);
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}

export function float64Of(bytes: Uint8Array): Float64Array {
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : copyOf(bytes);
  return new Float64Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 8);
}

export function int32Of(bytes: Uint8Array): Int32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : copyOf(bytes);
  return new Int32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}

/** The CRC-32 of a shard's rows: what the worker must have received. */
export function shardCrc(rows: Float32Array): number {
  return crc32(bytesOf(rows));
}

/** An `add` body: the local rows (int32), then the deltas. */
export function encodeAdd(rows: Int32Array, deltas: Float32Array | Float64Array): Uint8Array {
  const body = new Uint8Array(rows.byteLength + deltas.byteLength);
  body.set(bytesOf(rows), 0);
  body.set(bytesOf(deltas), rows.byteLength);
  return body;
}

export function decodeAdd(body: Uint8Array, dtype: 'f32' | 'f64', outputs: number): { rows: Int32Array; deltas: Float32Array | Float64Array } {
  const width = dtype === 'f64' ? 8 : 4;
  const count = body.length / (4 + outputs * width);
  if (!Number.isInteger(count)) throw new Error(`add: a body of ${body.length} bytes is not whole rows of ${outputs} outputs`);
  const rows = int32Of(body.subarray(0, count * 4));
  const rest = body.subarray(count * 4);
  return { rows, deltas: dtype === 'f64' ? float64Of(rest) : float32Of(rest) };
}

export const encodeJson = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
export const decodeJson = <T>(bytes: Uint8Array): T => JSON.parse(new TextDecoder().decode(bytes)) as T;


/** The server's largest message (nats-server's default is 1 MB). */
export const maxPayload = (nc: NatsConnection): number => nc.info?.max_payload ?? 1 << 20;

/**
 * Sends a command as chunks that each fit the server's max_payload; with `replyMs`, the last
 * chunk is a request and its reply is returned. `headers` is the client's header factory.
 */
export function sendCommand(
  nc: NatsConnection,
  headers: () => MsgHdrs,
  subject: string,
  header: CommandHeader,
  body: Uint8Array,
  transfer: number,
  replyMs?: number,
): Promise<Msg> | undefined {
  const pieces = splitBody(body, maxPayload(nc));
  for (let index = 0; index < pieces.length; index++) {
    const h = headers();
    h.set(HEADER.command, JSON.stringify(header));
    h.set(HEADER.chunk, JSON.stringify({ transfer, index, count: pieces.length } satisfies ChunkHeader));
    if (replyMs !== undefined && index === pieces.length - 1) return nc.request(subject, pieces[index], { timeout: replyMs, headers: h });
    nc.publish(subject, pieces[index], { headers: h });
  }
  return undefined;
}
