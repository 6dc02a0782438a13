/**
 * A worker killed with SIGKILL in the middle of an epoch: the `kmfit` run notices within the
 * probe interval, stops with a checkpoint of every completed iteration and a message that says how
 * to continue, and `kmfit resume` with a new worker finishes the run — with the model that one
 * uninterrupted process trains (same seed), to float32 summation tolerance.
 */
import { relativeDifference } from '../reliability/helpers/runs.js';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/file.js';
import { PROBE_SECONDS } from '../../src/cluster/options.js';
import { fit, loadModel } from '../../src/index.js';
import { encodeNpy } from '../../src/io/npy.js';
import { ROOT } from '../helpers/child.js';
import { HAVE_NATS_SERVER, exitOf, startNatsServer, startScript, startWorker, stopWorker, type NatsServer } from '../helpers/cluster.js';
import { lcg } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';
import type { ChildProcess } from 'node:child_process';

const n = 2000;
const d = 8;

/** Features and a 3-class label in the last column, as the kmfit command reads a .npy file. */
function dataset(): { table: Float32Array; X: Float32Array; y: Int32Array } {
  const random = lcg(11);
  const table = new Float32Array(n * (d + 1));
  const X = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) table[i * (d + 1) + j] = X[i * d + j] = random();
    y[i] = Math.min(2, Math.floor((X[i * d] + X[i * d + 1] + X[i * d + 2]) * 1.2));
    table[i * (d + 1) + d] = y[i];
  }
  return { table, X, y };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(HAVE_NATS_SERVER)('a worker killed mid-epoch', () => {
  let server: NatsServer;
  const workers: ChildProcess[] = [];
  const folder = temporaryDirectory('cluster-faults');
  const { table, X, y } = dataset();
  const data = path.join(folder, 'data.npy');
  writeFileSync(data, encodeNpy({ data: table, shape: [n, d + 1] }));
  const training = ['--kernel', 'laplacian', '--bandwidth', '2', '--batch-size', '50', '--epochs', '3', '--seed', '5', '--backend', 'js'];

  beforeAll(async () => {
    server = await startNatsServer();
    workers.push(...(await Promise.all([0, 1].map(() => startWorker(server.url)))));
  });
  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
  });

  it('stops the run with a checkpoint and a clear message; kmfit resume finishes it with one process’s model', async () => {
    const checkpoint = path.join(folder, 'run.checkpoint');
    const model = path.join(folder, 'run.kmfit');
    const cli = path.join(ROOT, 'src/cli/main.ts');
    const run = startScript(cli, [data, ...training, '--cluster', server.url, '--workers', '2', '--checkpoint', checkpoint, '--checkpoint-every', '1', '--save', model]);
    const stopped = exitOf(run);
    // Mid-epoch: some iterations into the first of 3 epochs of 40.
    while (!existsSync(checkpoint)) await sleep(50);
    await sleep(300);
    const killedAt = performance.now();
    workers[0].kill('SIGKILL');
    const { code, output } = await stopped;
    const detection = (performance.now() - killedAt) / 1000;

    expect(code, output).toBe(2);
    expect(output).toMatch(/Worker w-\w+ \(pid \d+ on .*\), holding shard \d of 2 \(centers \d+–\d+\), disconnected/);
    expect(output).toContain(`kmfit resume ${checkpoint}`);
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
    // Noticed by a probe (or at once by the next request), then the final checkpoint and exit.
    expect(detection).toBeLessThan(PROBE_SECONDS + 4);
    const saved = await readCheckpoint(checkpoint);
    expect(saved.state.totalIterations).toBeGreaterThan(0);
    expect(saved.state.totalIterations).toBeLessThan(120);

    // Another worker takes the lost shard; the run continues from the checkpoint.
    workers.push(await startWorker(server.url));
    const resumed = startScript(cli, ['resume', checkpoint]);
    const finished = await exitOf(resumed);
    expect(finished.code, finished.output).toBe(0);
    expect(finished.output).toContain(`resuming ${checkpoint}`);

    const trained = await loadModel(model);
    const single = await fit({ data: X, rows: n, cols: d }, y, { kernel: 'laplacian', bandwidth: 2, batchSize: 50, epochs: 3, seed: 5, backend: 'js' });
    try {
      expect(trained.history.map((h) => h.iterations)).toEqual([40, 40, 40]);
      // The largest difference, relative to the largest weight of one process.
      expect(relativeDifference(trained.parts.weights, single.parts.weights)).toBeLessThanOrEqual(1e-4);
      const scale = Math.max(...single.parts.weights.map(Math.abs));
      expect(scale).toBeGreaterThan(0.01);
    } finally {
      await single.dispose();
      await trained.dispose();
    }
  });
});
