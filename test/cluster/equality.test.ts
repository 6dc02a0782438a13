/**
 * A cluster run gives the model one process gives, to float32 summation tolerance: a real
 * nats-server (with a small max_payload, so that rows, shards and replies travel in chunks) and
 * three real `kmfit worker` processes.
 *
 * The bound: a prediction is a sum over the n centers; the cluster adds W float32 partial sums
 * (each over a shard, in the shard's order) where one process adds all n in its own order. Any two
 * orders of a float32 sum of terms t_j differ by at most 2·γ_n·Σ|t_j|, γ_n = n·u/(1 − n·u) and
 * u = 2⁻²⁴ (the recursive-summation bound, Higham, Accuracy and Stability of Numerical Algorithms,
 * §4.2). The first test checks that bound on one prediction exactly; the second, that after whole
 * epochs the weights and predictions of the two runs still agree to a relative 10⁻⁴.
 */
import { relativeDifference } from '../reliability/helpers/runs.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import { JsBackend } from '../../src/backends/js/index.js';
import { Cluster } from '../../src/cluster/coordinator.js';
import { fit } from '../../src/index.js';
import { lcg } from '../helpers/data.js';
import { HAVE_NATS_SERVER, startNatsServer, startWorker, stopWorker, type NatsServer } from '../helpers/cluster.js';
import { temporaryDirectory } from '../helpers/temporary.js';
import type { ChildProcess } from 'node:child_process';

const n = 900;
const d = 8;
const l = 3;

function dataset(seed: number): { X: Float32Array; y: Int32Array } {
  const random = lcg(seed);
  const X = new Float32Array(n * d).map(() => random());
  // Three classes by the sum of the first features: smooth enough to learn, not separable at once.
  const y = Int32Array.from({ length: n }, (_, i) => Math.min(2, Math.floor((X[i * d] + X[i * d + 1] + X[i * d + 2]) * 1.2)));
  return { X, y };
}

describe.runIf(HAVE_NATS_SERVER)('a cluster trains the model one process trains', () => {
  let server: NatsServer;
  let workers: ChildProcess[] = [];
  const config = path.join(temporaryDirectory('nats'), 'small-payload.conf');
  // 8 KB messages: every array of these tests crosses in several chunks.
  writeFileSync(config, 'max_payload: 8192\n');

  beforeAll(async () => {
    server = await startNatsServer(['-c', config]);
    workers = await Promise.all([0, 1, 2].map(() => startWorker(server.url)));
  });
  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
  });

  it('adds the shards’ partial predictions within the float32 summation bound', async () => {
    const { X } = dataset(1);
    const centers = { data: X, rows: n, cols: d };
    const kernel = makeKernel(chooseKernel('laplacian'), 2);
    const random = lcg(2);
    const alpha = new Float32Array(n * l).map(() => random() - 0.5);
    const queries = { data: new Float32Array(40 * d).map(() => random()), rows: 40, cols: d };

    const cluster = await Cluster.start({ server: server.url, workers: 3 }, { kernel, centers, outputs: l });
    const clustered = new Float32Array(40 * l);
    try {
      await cluster.centers.setWeights(alpha);
      await cluster.centers.predict(queries, clustered);
    } finally {
      await cluster.close();
    }
    const backend = new JsBackend();
    const local = await backend.createCenterSet(kernel, centers, l);
    await local.setWeights(alpha);
    const single = new Float32Array(40 * l);
    await local.predict(queries, single);

    const u = 2 ** -24;
    const gamma = (n * u) / (1 - n * u);
    const K = await backend.kernelBlock(kernel, queries, centers);
    let worst = 0;
    for (let i = 0; i < 40; i++) {
      for (let c = 0; c < l; c++) {
        let magnitude = 0;
        for (let j = 0; j < n; j++) magnitude += Math.abs(K[i * n + j] * alpha[j * l + c]);
        const bound = 2 * gamma * magnitude;
        const gap = Math.abs(clustered[i * l + c] - single[i * l + c]);
        worst = Math.max(worst, gap / bound);
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    // Not the same numbers by accident of an unused path: the predictions are far from zero.
    expect(Math.max(...single.map(Math.abs))).toBeGreaterThan(0.1);
  });

  it.each([
    ['sending each batch’s rows', false],
    ['with the rows replicated on every worker, sending row numbers', true],
  ])('trains, epoch by epoch, the weights of one process, to a relative 1e-4 (%s)', async (_name, replicate) => {
    const { X, y } = dataset(3);
    const options = { backend: 'js' as const, seed: 7, epochs: 2, batchSize: 100, kernel: 'laplacian', bandwidth: 2 };
    const single = await fit({ data: X, rows: n, cols: d }, y, options);
    const clustered = await fit({ data: X, rows: n, cols: d }, y, { ...options, cluster: { server: server.url, workers: 3, replicate } });
    try {
      // The largest difference, relative to the largest weight of one process.
      expect(relativeDifference(clustered.parts.weights, single.parts.weights)).toBeLessThanOrEqual(1e-4);
      const scale = Math.max(...single.parts.weights.map(Math.abs));
      // 9 iterations an epoch: the weights moved far from 0, so agreeing means something.
      expect(scale).toBeGreaterThan(0.01);
      expect(clustered.history.map((h) => h.iterations)).toEqual([9, 9]);

      const { X: Xnew } = dataset(4);
      const p = (await single.predictScores({ data: Xnew, rows: n, cols: d })).data;
      const q = (await clustered.predictScores({ data: Xnew, rows: n, cols: d })).data;
      const pScale = Math.max(...p.map(Math.abs));
      let pGap = 0;
      for (let i = 0; i < p.length; i++) pGap = Math.max(pGap, Math.abs(p[i] - q[i]));
      expect(pGap / pScale).toBeLessThanOrEqual(1e-4);
      expect(clustered.history[1].trainMse).toBeCloseTo(single.history[1].trainMse, 5);
    } finally {
      await single.dispose();
      await clustered.dispose();
    }
  });
});
