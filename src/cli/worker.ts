/**
 * `kmfit worker --server nats://HOST:PORT`: a worker process that joins the pool on that NATS
 * server and computes a shard of whichever run takes it (src/cluster/worker.ts), until Ctrl-C or
 * SIGTERM. It prints one line per event (joined, holding, left, refused).
 */
import { runWorker } from '../cluster/worker.js';
import type { BackendName } from '../backends/select.js';
import { serverAccessOf, type ClusterAccessArgs } from './cluster.js';
import { STOP_SIGNALS } from './interrupt.js';

export interface WorkerArgs extends ClusterAccessArgs {
  server: string;
  backend?: string;
  threads?: number;
  run?: string;
  quiet?: boolean;
}

export async function worker(args: WorkerArgs): Promise<number> {
  const access = serverAccessOf(args.server, args);
  const controller = new AbortController();
  const stop = () => controller.abort();
  for (const name of STOP_SIGNALS) process.once(name, stop);
  const say = (text: string) => {
    if (!args.quiet) process.stdout.write(`kmfit worker ${new Date().toISOString().slice(11, 19)} ${text}\n`);
  };
  try {
    await runWorker({ ...access, backend: args.backend as BackendName | undefined, threads: args.threads, run: args.run, signal: controller.signal, onEvent: say });
    say('stopped');
    return 0;
  } finally {
    for (const name of STOP_SIGNALS) process.off(name, stop);
  }
}
