/**
 * How the cost of one EigenPro 3 epoch grows with n (fixed p) and with p (fixed n), against the
 * n·p·d·2 FLOP that the method promises and the full work model of src/solver/eigenpro3.ts, both
 * divided by the fused-block rate of the same backend measured in the same run.
 *
 *   npx tsx bench/centersCost.ts [--out docs/centers] [--epochs 1] [--backend onnx]
 *       [--n-values 7500,15000,30000,60000] [--fixed-p 5000]
 *       [--p-values 1250,2500,5000,10000] [--fixed-n 60000]
 *       [--data datasets/mnist-deformed-1m.npy]
 *   npx tsx bench/centersCost.ts --figure-only [--out docs/centers]   redraws the figure from centers-cost.json
 *
 * Data: rows 0..n of mnist-deformed-1m.npy (uint8 pixels 0–255, label last), read into memory with
 * readRange (fit() then gets an in-memory matrix); gaussian kernel, bandwidth 5·255 = 1275 (σ = 5
 * on [0, 1] pixels); seed 0. The test error is on the real MNIST test set in the same uint8 scale
 * (datasets/mnist-test-u8.npy when `npm run datasets` wrote it, else mnist-test.npy × 255, rounded).
 * The defaults are a scaled-down version of n ∈ {125k … 1M}, p ∈ {5k … 40k}, which take hours per
 * point on a 2-core machine: pass the full sizes with the flags above to run them elsewhere.
 *
 * Work model of one epoch (kernel work only, counted as the fused block is, 2·rows·centers·d; the
 * float64 products of the preconditioners, O(q·s·l) per batch, and the ·l products are left out),
 * with B = ⌈n/m⌉ batches of size m_b, I the interval, s, q the data level's subsample and level,
 * and per projection T = ⌈passes·p/m'⌉ inner iterations of batch m' with subsample s':
 *   predictions      Σ_b m_b·p·d·2                      = n·p·d·2
 *   pending          Σ_b m_b·(rows pending before b)·d·2 ≈ n·((I − 1)·m/2)·d·2
 *   values at Z      Σ_b p·m_b·d·2                      = n·p·d·2, or 0 on a backend with the fused
 *                    step (CenterSet.predictAndPullBack), which takes them from the predictions' block
 *   projections      ⌈B/I⌉ × ( p·s·d·2                   (K_ZQ·c, when q > 0)
 *                            + (T − 1)·m'·p·d·2          (θ's predictions; the first step skips them, θ = 0)
 *                            + T·m'·s'·d·2 )             (the inner correction k(Q', X_B'), when q' > 0)
 *                    ≈ (n/(I·m))·(passes·(p² + p·s')·d·2 + p·s·d·2)
 * The data level's correction needs no kernel block (its k(Q, X_B) are rows of the values at Z).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chooseKernel, makeKernel } from '../kernels/index.js';
import { createBackend } from '../src/backends/select.js';
import type { Backend } from '../src/backends/backend.js';
import { fit } from '../src/fit.js';
import { openNpy } from '../src/io/npyFile.js';
import type { Plan } from '../src/solver/plan.js';
import { renderSvg, type VegaLiteSpec } from '../src/plot/vega.js';
import { median } from './timing.js';
import { backendBlock, benchInterleaved, timedPredict, type BenchShape } from './fusedBlock.js';
import type { BackendName } from '../src/backends/select.js';

const BANDWIDTH = 5 * 255;
const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '..');

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/centers' },
    epochs: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'onnx' },
    'n-values': { type: 'string', default: '7500,15000,30000,60000' },
    'p-values': { type: 'string', default: '1250,2500,5000,10000' },
    'fixed-n': { type: 'string', default: '60000' },
    'fixed-p': { type: 'string', default: '5000' },
    data: { type: 'string', default: path.join(root, 'datasets/mnist-deformed-1m.npy') },
    'rate-repetitions': { type: 'string', default: '7' },
    /** Redraws the figure from a centers-cost.json written earlier (no training). */
    'figure-only': { type: 'boolean', default: false },
  },
});
const list = (text: string) => text.split(',').map((v) => Number(v.trim()));
const nValues = list(args['n-values']!);
const pValues = list(args['p-values']!);
const fixedN = Number(args['fixed-n']);
const fixedP = Number(args['fixed-p']);
const epochs = Number(args.epochs);
const backendName = args.backend as BackendName;

interface Run {
  series: 'n' | 'p' | 'both';
  n: number;
  p: number;
  d: number;
  setupSeconds: number;
  epochSeconds: number;
  /** All epochs' seconds, when more than one was asked for. */
  epochSecondsAll: number[];
  batchSize: number;
  interval: number;
  projections: number;
  passes: number;
  projectionIterations: number;
  projectionBatchSize: number;
  q: number;
  subsampleSize: number;
  projectionQ: number;
  projectionSubsampleSize: number;
  /** n·p·d·2. */
  npd2: number;
  work: WorkModel;
  /** npd2 / rate and work.total / rate, seconds. */
  npd2Seconds: number;
  workSeconds: number;
  ratioToNpd2: number;
  ratioToWork: number;
  /** The fused block's rate measured right before this run (GFLOP/s), and the one the ratios use. */
  rateBeforeGflops: number;
  rateUsedGflops: number;
  /**
   * From the iterations' timestamps (onIteration): median seconds of a batch that does not project,
   * and the projections' seconds inside the epoch ≈ Σ over projecting batches of (its seconds − that
   * median); null when every batch projects (interval 1). The first batch is left out (no start time).
   */
  plainBatchSeconds: number | null;
  projectionSecondsEstimate: number | null;
  trainError: number | null;
  testError: number;
  wallSeconds: number;
}

interface WorkModel {
  predictions: number;
  pending: number;
  valuesAtCenters: number;
  projections: number;
  /** Projections inside steps, and the one at the epoch's end (when the batches are not a multiple of the interval): history[].seconds leaves the latter out. */
  projectionsInSteps: number;
  endProjection: boolean;
  perProjection: number;
  total: number;
  /** total less the end-of-epoch projection: the work that history[].seconds times. */
  timed: number;
  /** The brief's closed forms, for comparison: predictions + pending n·(I·m/2)·d·2 + values + (n/(I·m))·(passes·(p² + p·s')·d·2 + p·s·d·2). */
  approximate: number;
}

/** The kernel FLOP of one epoch, batch by batch as eigenpro3.ts and training.ts run it. */
function workModel(plan: Plan, fusedStep: boolean): WorkModel {
  const { n, d, batchSize: m } = plan;
  const c = plan.centers!;
  const p = c.count;
  const pr = c.projection;
  const I = pr.interval;
  const s = plan.q > 0 ? plan.subsampleSize : 0;
  const sInner = pr.q > 0 ? pr.subsampleSize : 0;
  const T = pr.iterations;
  const mInner = pr.batchSize;
  let predictions = 0;
  let pending = 0;
  let values = 0;
  let settles = 0;
  let endProjection = false;
  let pendingRows = 0;
  let pendingBatches = 0;
  for (let start = 0; start < n; start += m) {
    const mb = Math.min(m, n - start);
    predictions += 2 * mb * p * d;
    pending += 2 * mb * pendingRows * d;
    if (!fusedStep) values += 2 * p * mb * d;
    pendingRows += mb;
    pendingBatches++;
    if (pendingBatches >= I) {
      settles++;
      pendingRows = 0;
      pendingBatches = 0;
    }
  }
  const projectionsInSteps = settles;
  if (pendingBatches > 0) {
    settles++; // the epoch's end settles the rest (training.ts endEpoch, outside the epoch's seconds)
    endProjection = true;
  }
  // The inner batches: T batches of m' over passes of p (the last of a pass may be shorter).
  let innerRows = 0;
  let innerRowsAfterFirst = 0;
  let cursor = 0;
  for (let it = 0; it < T; it++) {
    if (cursor >= p) cursor = 0;
    const rows = Math.min(cursor + mInner, p) - cursor;
    cursor += rows;
    innerRows += rows;
    if (it > 0) innerRowsAfterFirst += rows;
  }
  const perProjection = 2 * p * s * d + 2 * innerRowsAfterFirst * p * d + 2 * innerRows * sInner * d;
  const projections = settles * perProjection;
  const approximate = 2 * n * p * d + 2 * n * ((I * m) / 2) * d + (fusedStep ? 0 : 2 * n * p * d) + (n / (I * m)) * (pr.passes * (p * p + p * sInner) * d * 2 + p * s * d * 2);
  const total = predictions + pending + values + projections;
  return {
    predictions, pending, valuesAtCenters: values, projections, projectionsInSteps, endProjection, perProjection,
    total, timed: total - (endProjection ? perProjection : 0), approximate,
  };
}

function loadTest(d: number): { X: { data: Float32Array; rows: number; cols: number }; y: number[]; source: string } {
  const u8 = path.join(root, 'datasets/mnist-test-u8.npy');
  const f32 = path.join(root, 'datasets/mnist-test.npy');
  const file = existsSync(u8) ? u8 : f32;
  const opened = openNpy(file);
  try {
    if (opened.cols !== d + 1) throw new Error(`${file}: ${opened.cols} columns, ${d + 1} expected`);
    const X = opened.columns(0, d).readRange(0, opened.rows);
    if (file === f32) for (let i = 0; i < X.length; i++) X[i] = Math.round(X[i] * 255);
    const y = Array.from(opened.columns(d, d + 1).readRange(0, opened.rows));
    return { X: { data: X, rows: opened.rows, cols: d }, y, source: path.relative(root, file) + (file === f32 ? ' × 255, rounded' : '') };
  } finally {
    opened.close?.();
  }
}

/** The fused block of `kmfit bench` (laplacian, uniform data) and the gaussian one of these runs, on rows of the data. */
async function measureRate(backend: Backend, rows: Float32Array, d: number, repetitions: number) {
  const shape: BenchShape = { m: 1024, n: 8192, d, l: 10 };
  const laplacian = await backendBlock(backend, shape);
  const kernel = makeKernel(chooseKernel('gaussian'), BANDWIDTH);
  const centers = await backend.createCenterSet(kernel, { data: rows.subarray(0, shape.n * d), rows: shape.n, cols: d }, shape.l);
  const weights = new Float32Array(shape.n * shape.l);
  for (let i = 0; i < weights.length; i++) weights[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  await centers.setWeights(weights);
  const X = { data: rows.subarray(shape.n * d, (shape.n + shape.m) * d), rows: shape.m, cols: d };
  const gaussian = await timedPredict(`${backend.name} (gaussian, data rows)`, backend, centers, X);
  try {
    const [lap, gau] = await benchInterleaved([laplacian, gaussian], shape, repetitions);
    return { shape, laplacianGflops: lap.gflops, gaussianGflops: gau.gflops, device: backend.describe() };
  } finally {
    laplacian.dispose();
    gaussian.dispose();
  }
}

function figure(runs: Run[], meta: { backend: string; rateGflops: number; d: number; fixedN: number; fixedP: number }): VegaLiteSpec {
  const rows = (series: 'n' | 'p', x: 'n' | 'p') =>
    runs
      .filter((r) => r.series === series || r.series === 'both')
      .flatMap((r) => [
        { x: r[x], seconds: r.epochSeconds, what: 'measured epoch' },
        { x: r[x], seconds: r.npd2Seconds, what: 'n·p·d·2 ÷ rate' },
        { x: r[x], seconds: r.workSeconds, what: 'full work model ÷ rate' },
      ]);
  const color = { field: 'what', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 0 }, sort: ['measured epoch', 'n·p·d·2 ÷ rate', 'full work model ÷ rate'] };
  const panel = (title: string, values: object[], xTitle: string) => ({
    title,
    width: 280,
    height: 240,
    data: { values },
    layer: [
      {
        transform: [{ filter: "datum.what !== 'measured epoch'" }],
        mark: { type: 'line', strokeDash: [4, 3], point: { size: 20 } },
        encoding: { x: { field: 'x', type: 'quantitative', scale: { type: 'log' }, title: xTitle }, y: { field: 'seconds', type: 'quantitative', scale: { type: 'log' }, title: 'seconds per epoch' }, color },
      },
      {
        transform: [{ filter: "datum.what === 'measured epoch'" }],
        mark: { type: 'line', point: { size: 60, filled: true } },
        encoding: { x: { field: 'x', type: 'quantitative', scale: { type: 'log' } }, y: { field: 'seconds', type: 'quantitative', scale: { type: 'log' } }, color },
      },
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `EigenPro 3: one epoch's seconds against n and p (${meta.backend})`,
      subtitle: [
        `deformed MNIST (uint8, d = ${meta.d}), gaussian σ = 1275, one epoch, seed 0`,
        `lines: FLOP ÷ the fused block's rate (${meta.rateGflops.toFixed(0)} GFLOP/s at the run's start, less where re-measured lower before a point)`,
      ],
    },
    hconcat: [panel(`p = ${meta.fixedP}`, rows('n', 'n'), 'n (training points)'), panel(`n = ${meta.fixedN}`, rows('p', 'p'), 'p (centers)')],
    resolve: { scale: { color: 'shared' } },
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const outDir = path.resolve(args.out!);
  if (args['figure-only']) {
    const saved = JSON.parse(readFileSync(path.join(outDir, 'centers-cost.json'), 'utf8')) as { runs: Run[]; backend: string; rate: { gaussianGflops: number }; fixedN: number; fixedP: number };
    const spec = figure(saved.runs, { backend: saved.backend, rateGflops: saved.rate.gaussianGflops, d: saved.runs[0].d, fixedN: saved.fixedN, fixedP: saved.fixedP });
    writeFileSync(path.join(outDir, 'centers-cost.vl.json'), JSON.stringify(spec, null, 2) + '\n');
    writeFileSync(path.join(outDir, 'centers-cost.svg'), await renderSvg(spec));
    console.log(`redrew ${path.join(outDir, 'centers-cost.svg')} from centers-cost.json`);
    return;
  }
  const opened = openNpy(args.data!);
  const d = opened.cols - 1;
  const maxN = Math.max(...nValues, fixedN);
  if (maxN > opened.rows) throw new Error(`${args.data}: ${opened.rows} rows, ${maxN} asked for`);
  const loadStart = performance.now();
  const X = opened.columns(0, d).readRange(0, maxN);
  const y = Array.from(opened.columns(d, d + 1).readRange(0, maxN));
  const rateRows = opened.columns(0, d).readRange(0, Math.min(opened.rows, 8192 + 1024));
  opened.close?.();
  console.log(`loaded rows 0..${maxN} of ${args.data} (${opened.dtype}, ${d} features + label) into memory in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
  const test = loadTest(d);
  console.log(`test set: ${test.source}, ${test.X.rows} rows`);

  const backend = await createBackend(backendName);
  const probe = await backend.createCenterSet(makeKernel(chooseKernel('gaussian'), 1), { data: new Float32Array(1), rows: 1, cols: 1 }, 1);
  const fusedStep = probe.predictAndPullBack !== undefined;
  probe.dispose();
  console.log(`${backendName}: ${fusedStep ? 'a fused step (the values at the centers come from the predictions’ block)' : 'no fused step (the values at the centers are a second block)'}`);
  const rate = await measureRate(backend, rateRows, d, Number(args['rate-repetitions']));
  const rateGflops = rate.gaussianGflops;
  console.log(
    `fused block on ${backendName} (${rate.device.device ?? ''}), m = ${rate.shape.m}, p = ${rate.shape.n}, d = ${d}: ` +
      `${rate.laplacianGflops.toFixed(1)} GFLOP/s (kmfit bench's laplacian, uniform data), ${rate.gaussianGflops.toFixed(1)} GFLOP/s (gaussian σ = 1275, data rows; used below)`,
  );

  const points: { series: Run['series']; n: number; p: number }[] = [];
  for (const n of nValues) points.push({ series: n === fixedN && pValues.includes(fixedP) ? 'both' : 'n', n, p: fixedP });
  for (const p of pValues) if (!(p === fixedP && nValues.includes(fixedN))) points.push({ series: 'p', n: fixedN, p });

  const runs: Run[] = [];
  for (const point of points) {
    const { n, p } = point;
    const before = await measureRate(backend, rateRows, d, 3);
    // The machine may be shared: the ratios use the lower of the run's first rate and this one.
    const used = Math.min(rateGflops, before.gaussianGflops);
    const marks: { t: number; iteration: number }[] = [];
    const wall = performance.now();
    const model = await fit({ data: X.subarray(0, n * d), rows: n, cols: d }, y.slice(0, n), {
      centers: p,
      kernel: 'gaussian',
      bandwidth: BANDWIDTH,
      epochs,
      seed: 0,
      backend: backendName,
      task: 'classification',
      onIteration: (report) => {
        if (report.epoch === 1) marks.push({ t: performance.now(), iteration: report.iteration });
      },
    });
    try {
      const plan = model.plan;
      const pr = plan.centers!.projection;
      const work = workModel(plan, fusedStep);
      const npd2 = 2 * n * p * d;
      const epochSeconds = model.history[0].seconds;
      const accuracy = await model.score(test.X, test.y);
      const interval = pr.interval;
      const durations = marks.slice(1).map((mark, i) => ({ seconds: (mark.t - marks[i].t) / 1000, iteration: mark.iteration }));
      const plain = durations.filter((x) => x.iteration % interval !== 0).map((x) => x.seconds);
      const plainBatchSeconds = plain.length > 0 ? median(plain) : null;
      const projectionSecondsEstimate =
        plainBatchSeconds === null ? null : durations.filter((x) => x.iteration % interval === 0).reduce((sum, x) => sum + x.seconds - plainBatchSeconds, 0);
      const run: Run = {
        series: point.series,
        n,
        p,
        d,
        setupSeconds: plan.setupSeconds,
        epochSeconds,
        epochSecondsAll: model.history.map((h) => h.seconds),
        batchSize: plan.batchSize,
        interval: pr.interval,
        projections: Math.ceil(Math.ceil(n / plan.batchSize) / pr.interval),
        passes: pr.passes,
        projectionIterations: pr.iterations,
        projectionBatchSize: pr.batchSize,
        q: plan.q,
        subsampleSize: plan.subsampleSize,
        projectionQ: pr.q,
        projectionSubsampleSize: pr.subsampleSize,
        npd2,
        work,
        npd2Seconds: npd2 / (used * 1e9),
        workSeconds: work.timed / (used * 1e9),
        ratioToNpd2: epochSeconds / (npd2 / (used * 1e9)),
        ratioToWork: epochSeconds / (work.timed / (used * 1e9)),
        rateBeforeGflops: before.gaussianGflops,
        rateUsedGflops: used,
        plainBatchSeconds,
        projectionSecondsEstimate,
        trainError: model.history[model.history.length - 1].trainError ?? null,
        testError: 1 - accuracy,
        wallSeconds: (performance.now() - wall) / 1000,
      };
      runs.push(run);
      console.log(
        `n = ${n}, p = ${p}: set-up ${run.setupSeconds.toFixed(1)} s, epoch ${epochSeconds.toFixed(1)} s ` +
          `(n·p·d·2 ÷ rate ${run.npd2Seconds.toFixed(1)} s, work model ÷ rate ${run.workSeconds.toFixed(1)} s), m = ${run.batchSize}, ` +
          `interval ${run.interval}, q = ${run.q}/${run.projectionQ}, test error ${(100 * run.testError).toFixed(2)} %, wall ${run.wallSeconds.toFixed(0)} s`,
      );
    } finally {
      await model.dispose();
    }
  }
  await backend.dispose();

  const header = ['n', 'p', 'setup s', 'epoch s', 'npd2/rate s', 'ratio', 'work/rate s', 'ratio', 'work/npd2', 'rate', 'proj s≈', 'proj/rate s', 'm', 'interval', 'proj', 'proj its', "m'", 'q', "q'", 'test err %'];
  const table = runs.map((r) => [
    r.n, r.p, r.setupSeconds.toFixed(1), r.epochSeconds.toFixed(1), r.npd2Seconds.toFixed(1), r.ratioToNpd2.toFixed(2), r.workSeconds.toFixed(1), r.ratioToWork.toFixed(2),
    (r.work.timed / r.npd2).toFixed(2), r.rateUsedGflops.toFixed(0), r.projectionSecondsEstimate?.toFixed(1) ?? '-',
    ((r.work.projectionsInSteps * r.work.perProjection) / (r.rateUsedGflops * 1e9)).toFixed(1), r.batchSize, r.interval, r.projections, r.projectionIterations, r.projectionBatchSize, r.q, r.projectionQ, (100 * r.testError).toFixed(2),
  ].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  console.log(`\n${line(header)}\n${table.map(line).join('\n')}`);

  const report = {
    what: 'one EigenPro 3 epoch: seconds against n (fixed p) and p (fixed n), with n·p·d·2 and the full kernel work model divided by the measured fused-block rate',
    data: `${path.relative(root, path.resolve(args.data!))}, rows 0..n read into memory (readRange)`,
    test: test.source,
    kernel: 'gaussian',
    bandwidth: BANDWIDTH,
    backend: backendName,
    device: rate.device,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '', node: process.version },
    epochs,
    seed: 0,
    fixedN,
    fixedP,
    rate: {
      ...rate,
      note:
        'laplacian: kmfit bench’s shape and data; gaussian: σ = 1275 on rows of the training data, the kernel of the runs. ' +
        'Each run re-measures the gaussian rate (3 repetitions) just before it; its ratios use the lower of that and this one (the machine is shared)',
    },
    epochSecondsNote: 'history[0].seconds: the batches, projections inside them included; the projection that training.ts endEpoch runs after the last batch (batches not a multiple of the interval) is not in it, nor in work.timed',
    workModel:
      'predictions Σ m_b·p·d·2; pending Σ m_b·(rows pending)·d·2 ≈ n·((I−1)·m/2)·d·2; values at centers Σ p·m_b·d·2; ' +
      "projections ⌈B/I⌉·(p·s·d·2 [q>0] + (T−1)·m'·p·d·2 + T·m'·s'·d·2 [q'>0]), T = ⌈passes·p/m'⌉; float64 preconditioner products and ·l terms left out",
    runs,
    totalSeconds: (performance.now() - started) / 1000,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'centers-cost.json'), JSON.stringify(report, null, 2) + '\n');
  const spec = figure(runs, { backend: backendName, rateGflops, d, fixedN, fixedP });
  writeFileSync(path.join(outDir, 'centers-cost.vl.json'), JSON.stringify(spec, null, 2) + '\n');
  writeFileSync(path.join(outDir, 'centers-cost.svg'), await renderSvg(spec));
  console.log(`\nwrote ${path.join(outDir, 'centers-cost.json')}, .vl.json and .svg; total ${report.totalSeconds.toFixed(0)} s`);
}

await main();
