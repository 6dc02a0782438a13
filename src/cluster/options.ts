/**
 * fit()'s `cluster` option and its timings, stated once (the option table and the docs quote them).
 * No Node imports here: the option table is loaded in browsers too.
 */
import type { ServerAccess } from './connection.js';
import type { WorkerDescription } from './protocol.js';

/** Where the workers are and how long to wait for them. */
export interface ClusterOptions extends ServerAccess {
  /** How many workers to shard the centers across. */
  readonly workers: number;
  /** The run's identity on the server (letters, digits, - and _); a worker started with `--run` serves only that run. Default: a random one. */
  readonly run?: string;
  /** How long to wait for enough workers to join. */
  readonly joinSeconds?: number;
  /** How long one worker may take to answer one request before it counts as lost. */
  readonly replySeconds?: number;
  /**
   * Send every worker all the centers' rows once, at the start, instead of only its shard: then a
   * step sends the batch's row numbers (m·4 bytes) instead of its rows (m·d·4 bytes to every
   * worker), at the price of p·d·4 bytes of memory on each worker. EigenPro 2 only (its batches
   * are rows of the centers).
   */
  readonly replicate?: boolean;
}

/** A run identity must be one NATS subject token: letters, digits, '-' and '_'. */
export const RUN_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const CLUSTER_DEFAULTS = { joinSeconds: 30, replySeconds: 120, replicate: false } as const;

/** How often a worker that has not answered yet is probed: the bound on noticing a killed worker. */
export const PROBE_SECONDS = 1;

/** Seconds without a command after which a worker asks whether its coordinator is still there. */
export const WORKER_IDLE_SECONDS = 10;

/** What fit() tells (onCluster) once the workers hold their shards. */
export interface ClusterReport {
  readonly run: string;
  readonly server: string;
  readonly workers: readonly { readonly worker: WorkerDescription; readonly centers: number }[];
}
