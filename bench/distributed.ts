/**
 * The distributed benchmark behind docs/distributed.md (npm run bench:distributed):
 *
 *  1. Training on the first N MNIST digits (default 10 000; gaussian σ = 5), side by side in one
 *     run: one process with 2 threads (the baseline) against a cluster of 2 `kmfit worker`
 *     processes with 1 thread each (the coordinator's own backend keeps 2 threads for set-up and
 *     the subsample's correction, as the baseline's), and the same cluster with every connection
 *     through a delaying, rate-limiting proxy (bench/delayProxy.ts: 0.5 ms each way, 1 Gbit/s).
 *     Repetitions alternate them; the median seconds per step of each are compared. The baseline
 *     runs with `cache: 'off'`, as the cluster must (its workers hold the centers, so no process
 *     holds the kernel matrix): the comparison is of the same computation, in one process or
 *     sharded. One process with its kernel cache ('auto') is printed beside it, for the record.
 *  2. One step's traffic, measured at the NATS server (its /varz counters): bytes and messages of
 *     the batch's rows, the partial sums and the weight changes; and the latency of a one-row
 *     prediction (the fixed cost of a round trip), on loopback and through the proxy.
 *  3. A model of the step time from those measurements, its prediction for the proxy run next to
 *     the measured one, and on paper the epoch time of MNIST-deformed 1M and 8M on 4, 16 and 64
 *     machines like this one.
 *
 * Needs nats-server on PATH and datasets/mnist.npy (npm run datasets). Prints the figures; --json
 * prints them as one object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chooseKernel, makeKernel } from '../kernels/index.js';
import { Cluster } from '../src/cluster/coordinator.js';
import { fit, type FitOptions } from '../src/index.js';
import { openNpy } from '../src/io/npyFile.js';
import { median } from './timing.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}
const trainSize = Number(option('train-size', '10000'));
const epochs = Number(option('epochs', '2'));
const reps = Number(option('reps', '3'));
const backend = option('backend', 'onnx') as FitOptions['backend'];
const json = process.argv.includes('--json');
const verbose = process.argv.includes('--verbose');
const LINK = { delayMs: 0.5, bitsPerSecond: 1e9 };

const log = (text: string) => {
  if (!json) process.stdout.write(text + '\n');
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function waitFor(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" from ${child.spawnfile}: ${seen}`)), 60_000);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

async function startServer(): Promise<{ port: number; monitor: number }> {
  const [port, monitor] = [await freePort(), await freePort()];
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  await waitFor(child, 'Server is ready');
  return { port, monitor };
}

async function startWorkers(url: string, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'worker', '--server', url, '--threads', '1', '--backend', backend!], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      // Read what it prints (a pipe nobody reads would fill and stop it); show it with --verbose.
      child.stdout!.on('data', (chunk: Buffer) => verbose && process.stderr.write(chunk));
      child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
      children.push(child);
      await waitFor(child, 'waiting for a run');
    }),
  );
}

/** The delaying proxy (bench/delayProxy.ts) in a process of its own, in front of `port`; returns the port it listens on. */
async function startProxy(port: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/delayProxy.ts'), String(port), String(LINK.delayMs), String(LINK.bitsPerSecond)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const line = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  return Number(/listening (\d+)/.exec(line)![1]);
}

interface Varz {
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  connections: number;
}
async function varz(monitor: number): Promise<Varz> {
  return (await (await fetch(`http://127.0.0.1:${monitor}/varz`)).json()) as Varz;
}

async function waitForConnections(monitor: number, count: number): Promise<void> {
  for (let i = 0; i < 200 && (await varz(monitor)).connections < count; i++) await new Promise((resolve) => setTimeout(resolve, 100));
}

interface RunFigures {
  stepSeconds: number;
  epochSeconds: number[];
  iterations: number;
  batchSize: number;
}

/** One training run: its median seconds per step (the epochs' first steps left out: they also draw the permutation). */
async function train(X: Float32Array, y: Float64Array, extra: FitOptions): Promise<RunFigures> {
  const seconds: number[] = [];
  let last: number | undefined;
  const model = await fit({ data: X, rows: trainSize, cols: 784 }, y, {
    kernel: 'gaussian',
    bandwidth: 5,
    epochs,
    seed: 0,
    backend,
    threads: 2,
    ...extra,
    onIteration: (report) => {
      const now = performance.now();
      if (report.iteration > 1 && last !== undefined) seconds.push((now - last) / 1000);
      last = now;
    },
  });
  const figures = { stepSeconds: median(seconds), epochSeconds: model.history.map((h) => h.seconds), iterations: model.history[0].iterations, batchSize: model.plan.batchSize };
  await model.dispose();
  return figures;
}

async function main(): Promise<void> {
  const file = openNpy(path.join(ROOT, 'datasets/mnist.npy'));
  const X = file.columns(0, 784).readRange(0, trainSize);
  const y = file.columns(784, 785).readColumnFloat64().subarray(0, trainSize);
  const load = () => loadavg().map((v) => v.toFixed(2)).join(' ');
  log(`MNIST ${trainSize}, gaussian σ = 5, ${epochs} epochs, backend ${backend}, ${reps} repetitions; load average ${load()}`);

  // Two servers, each with two workers of 1 thread: one on loopback, one that every process reaches through the proxy.
  const server = await startServer();
  const direct = `nats://127.0.0.1:${server.port}`;
  const far = await startServer();
  const proxy = await startProxy(far.port);
  const slow = `nats://127.0.0.1:${proxy}`;
  await startWorkers(direct, 2);
  await startWorkers(slow, 2);
  await waitForConnections(server.monitor, 2);
  await waitForConnections(far.monitor, 2);

  // The baseline fixes the plan (batch size, device limit) for all: the runs differ only in where they compute.
  const runs: Record<'single' | 'singleCached' | 'cluster' | 'proxied' | 'replicated' | 'replicatedProxied', RunFigures[]> = { single: [], singleCached: [], cluster: [], proxied: [], replicated: [], replicatedProxied: [] };
  const baseline = await train(X, y, { cache: 'off' });
  const fixed = { batchSize: baseline.batchSize, deviceBatchLimit: baseline.batchSize };
  for (let r = 0; r < reps; r++) {
    runs.single.push(await train(X, y, { ...fixed, cache: 'off' }));
    runs.singleCached.push(await train(X, y, fixed));
    runs.cluster.push(await train(X, y, { ...fixed, cluster: { server: direct, workers: 2 } }));
    runs.proxied.push(await train(X, y, { ...fixed, cluster: { server: slow, workers: 2 } }));
    runs.replicated.push(await train(X, y, { ...fixed, cluster: { server: direct, workers: 2, replicate: true } }));
    runs.replicatedProxied.push(await train(X, y, { ...fixed, cluster: { server: slow, workers: 2, replicate: true } }));
    const each = (Object.keys(runs) as (keyof typeof runs)[]).map((k) => `${k} ${runs[k][r].stepSeconds.toFixed(3)}`).join(', ');
    log(`  repetition ${r + 1}: s/step ${each} (load ${load()})`);
  }
  const step = (k: keyof typeof runs) => median(runs[k].map((f) => f.stepSeconds));
  const epoch = (k: keyof typeof runs) => median(runs[k].map((f) => median(f.epochSeconds)));

  // One step's traffic and latency, with the cluster's own calls (what a step sends), on each address.
  const m = baseline.batchSize;
  const s = Math.min(trainSize, 2000);
  const traffic = async (url: string, monitor: number, replicate: boolean) => {
    const kernel = makeKernel(chooseKernel('gaussian'), 5);
    const cluster = await Cluster.start({ server: url, workers: 2, replicate }, { kernel, centers: { data: X, rows: trainSize, cols: 784 }, outputs: 10 });
    try {
      const batch = Int32Array.from({ length: m }, (_, i) => (i * 7) % trainSize);
      const subsample = Int32Array.from({ length: s }, (_, i) => (i * 5) % trainSize);
      const XB = { data: new Float32Array(m * 784).fill(0.1), rows: m, cols: 784 };
      const one = { data: new Float32Array(784).fill(0.1), rows: 1, cols: 784 };
      const out = new Float32Array(m * 10);
      const doStep = async () => {
        await (replicate ? cluster.centers.predictOwnRows(batch, out) : cluster.centers.predict(XB, out));
        await cluster.centers.addToWeights(batch, new Float32Array(m * 10).fill(1e-3));
        await cluster.centers.addToWeights(subsample, new Float64Array(s * 10).fill(1e-3));
      };
      await doStep();
      await cluster.centers.predict(one, out, 0, 1); // flushes the updates
      const before = await varz(monitor);
      await doStep();
      await cluster.centers.predict(one, out, 0, 1);
      const after = await varz(monitor);
      const flushBefore = await varz(monitor);
      await cluster.centers.predict(one, out, 0, 1);
      const flushAfter = await varz(monitor);
      // The monitoring requests themselves are HTTP, not NATS: they do not count.
      const minus = (key: keyof Varz) => after[key] - before[key] - (flushAfter[key] - flushBefore[key]);
      const latency: number[] = [];
      const rows: number[] = [];
      for (let i = 0; i < 9; i++) {
        let started = performance.now();
        await cluster.centers.predict(one, out, 0, 1);
        latency.push((performance.now() - started) / 1000);
        started = performance.now();
        await cluster.centers.predict(XB, out, 0, 1); // the batch's rows to both workers, one center's work
        rows.push((performance.now() - started) / 1000);
      }
      return { inBytes: minus('in_bytes'), outBytes: minus('out_bytes'), inMsgs: minus('in_msgs'), outMsgs: minus('out_msgs'), roundTrip: median(latency), rowsTransfer: median(rows) };
    } finally {
      await cluster.close();
    }
  };
  const loopback = await traffic(direct, server.monitor, false);
  const proxied = await traffic(slow, far.monitor, false);
  const loopbackReplicated = await traffic(direct, server.monitor, true);
  const proxiedReplicated = await traffic(slow, far.monitor, true);

  // The model: a step is the workers' compute, the coordinator's correction, and its communication.
  // Communication on a link of one-way delay δ and bandwidth B: the rows, the request and reply,
  // the updates — Δt(proxy) = (extra round trip) + bytes / B over the slowest link.
  const rowsBytes = m * 784 * 4;
  const updateBytes = m * (4 + 40) + s * (4 + 80);
  const replyBytes = 2 * m * 10 * 4;
  const B = LINK.bitsPerSecond / 8;
  const extraRoundTrip = proxied.roundTrip - loopback.roundTrip;
  const predictedProxied = step('cluster') + extraRoundTrip + (rowsBytes + replyBytes + updateBytes) / B;
  const predictedReplicatedProxied = step('replicated') + extraRoundTrip + (m * 4 + replyBytes + updateBytes) / B;

  const flopsPerStep = 2 * m * (trainSize + s) * 784;
  const machineRate = flopsPerStep / step('single'); // flop/s of one whole machine, as trained here
  const paper = [1e6, 8e6].flatMap((n) =>
    [4, 16, 64].map((W) => {
      const S = 12_000;
      const M = 4096;
      const steps = n / M;
      const compute = (2 * M * (n / W) * 784) / machineRate;
      const correction = (2 * M * S * 784) / machineRate;
      // nats-server sends the rows once to each worker: W copies leave its machine's link.
      const rowsComm = (W * M * 784 * 4) / B + 3 * (extraRoundTrip + loopback.roundTrip);
      const indexComm = (W * M * 4 + W * M * 40) / B + 3 * (extraRoundTrip + loopback.roundTrip);
      return { n, workers: W, epochHoursRows: (steps * (compute + correction + rowsComm)) / 3600, epochHoursIndices: (steps * (compute + correction + indexComm)) / 3600, computeShare: compute / (compute + correction + rowsComm) };
    }),
  );

  const result = {
    load: load(),
    trainSize,
    epochs,
    backend,
    batchSize: m,
    iterationsPerEpoch: baseline.iterations,
    stepSeconds: Object.fromEntries(Object.keys(runs).map((k) => [k, step(k as keyof typeof runs)])),
    epochSeconds: Object.fromEntries(Object.keys(runs).map((k) => [k, epoch(k as keyof typeof runs)])),
    overhead: step('cluster') / step('single') - 1,
    overheadReplicated: step('replicated') / step('single') - 1,
    perStep: { loopback, proxied, loopbackReplicated, proxiedReplicated },
    model: { rowsBytes, replyBytes, updateBytes, extraRoundTrip, predictedProxied, measuredProxied: step('proxied'), predictedReplicatedProxied, measuredReplicatedProxied: step('replicatedProxied'), machineGflops: machineRate / 1e9 },
    paper,
    runs,
  };
  if (json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
    log(`\nbatch m = ${m}, ${baseline.iterations} steps an epoch`);
    log(`                              s/step    s/epoch   vs baseline`);
    log(`  1 process, 2 threads       ${step('single').toFixed(3)}    ${epoch('single').toFixed(2)}      —   (cache 'off', as a cluster)`);
    log(`  the same, kernel cache     ${step('singleCached').toFixed(3)}    ${epoch('singleCached').toFixed(2)}     ${pct(step('singleCached') / step('single') - 1)}   (cache 'auto': the matrix in memory; not a cluster's option)`);
    log(`  2 workers × 1 thread       ${step('cluster').toFixed(3)}    ${epoch('cluster').toFixed(2)}     ${pct(step('cluster') / step('single') - 1)}`);
    log(`  the same through the proxy ${step('proxied').toFixed(3)}    ${epoch('proxied').toFixed(2)}     ${pct(step('proxied') / step('single') - 1)}`);
    log(`  2 workers, rows replicated  ${step('replicated').toFixed(3)}    ${epoch('replicated').toFixed(2)}     ${pct(step('replicated') / step('single') - 1)}`);
    log(`  the same through the proxy ${step('replicatedProxied').toFixed(3)}    ${epoch('replicatedProxied').toFixed(2)}     ${pct(step('replicatedProxied') / step('single') - 1)}`);
    for (const [name, t] of Object.entries({ loopback, proxied, loopbackReplicated, proxiedReplicated })) {
      log(`\none step's traffic at the server (${name}): in ${(t.inBytes / 1e6).toFixed(2)} MB in ${t.inMsgs} messages, out ${(t.outBytes / 1e6).toFixed(2)} MB in ${t.outMsgs} messages`);
      log(`  round trip of a 1-row prediction ${(t.roundTrip * 1000).toFixed(2)} ms; the batch's rows to both workers ${(t.rowsTransfer * 1000).toFixed(1)} ms`);
    }
    log(`\nmodel: proxied step = loopback step + extra round trip ${(extraRoundTrip * 1000).toFixed(2)} ms + ${((rowsBytes + replyBytes + updateBytes) / 1e6).toFixed(2)} MB / 1 Gbit/s`);
    log(`  predicted ${predictedProxied.toFixed(3)} s, measured ${step('proxied').toFixed(3)} s`);
    log(`model, rows replicated: loopback step + ${(extraRoundTrip * 1000).toFixed(2)} ms + ${((m * 4 + replyBytes + updateBytes) / 1e6).toFixed(2)} MB / 1 Gbit/s: predicted ${predictedReplicatedProxied.toFixed(3)} s, measured ${step('replicatedProxied').toFixed(3)} s`);
    log(`\non paper (m = 4096, s = 12 000, ${(machineRate / 1e9).toFixed(0)} GFLOP/s a machine as measured, 1 Gbit/s): hours per epoch`);
    log(`  n     machines   rows sent   indices sent   compute share (rows)`);
    for (const p of paper) log(`  ${p.n / 1e6}M    ${String(p.workers).padStart(3)}       ${p.epochHoursRows.toFixed(2).padStart(7)}     ${p.epochHoursIndices.toFixed(2).padStart(7)}        ${pct(p.computeShare)}`);
    log(`\nload average at the end ${load()}`);
  }
  for (const child of children) child.kill('SIGTERM');
  process.exit(0);
}

await main();
