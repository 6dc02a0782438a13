/**
 * What a plan and a training history say, as labelled fields: one source for the terminal's text
 * (cli/render.ts) and the HTML (model/html.ts), so the two cannot disagree.
 */
import type { EpochMetrics, StepHalving } from '../solver/events.js';
import type { Plan } from '../solver/plan.js';
import type { CachePlan } from '../solver/kernelCache.js';
import type { BackendChoice } from '../solver/capacity.js';

/** 4 significant digits; exponent form outside [1e-3, 1e6). */
export function formatNumber(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3)) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}

/** A fraction as "12.34 %"; "—" when absent. */
export function percent(x: number | undefined): string {
  return x === undefined ? '—' : `${(100 * x).toFixed(2)} %`;
}

/** "10 classes", "1 output", "3 outputs". */
export function outputsText(model: { readonly task: string; readonly outputs: number }): string {
  return `${model.outputs} ${model.task === 'classification' ? 'classes' : model.outputs === 1 ? 'output' : 'outputs'}`;
}

/** "3 times: 2980 → 372.5": how often the divergence guard halved the step size, from what to what. */
export function halvingsText(halvings: readonly StepHalving[]): string {
  const times = `${halvings.length} time${halvings.length === 1 ? '' : 's'}`;
  return `${times}: ${formatNumber(halvings[0].from)} → ${formatNumber(halvings[halvings.length - 1].to)}`;
}

/** One line of the plan block: its name, its value, and where the value came from. */
export interface PlanRow {
  readonly name: string;
  readonly value: string;
  readonly why?: string;
}

/**
 * The plan block, in the order kmfit prints it: one row per choice, its value and where it came
 * from (the CLI's plan block, the notebook's table, the browser demo's).
 * @example
 * for (const row of planRows(model.plan)) console.log(row.name, row.value, row.why ?? '');
 */
export function planRows(plan: Plan): PlanRow[] {
  const outputs = outputsText(plan);
  return [
    { name: 'data', value: `n = ${plan.n} points, d = ${plan.d} features, ${outputs} (${plan.task})` },
    { name: 'kernel', value: plan.kernel, why: plan.bandwidthSource === 'given' ? 'bandwidth given' : plan.bandwidthSource },
    { name: 'subsample s', value: String(plan.subsampleSize) },
    { name: 'q', value: String(plan.q), why: plan.qSource },
    {
      name: 'λ_1, λ_q, λ_new',
      value: [plan.lambda1, plan.lambdaQ, plan.lambdaNew].map((x) => formatNumber(x)).join(', '),
      why: 'eigenvalues of K_SS/s',
    },
    { name: 'β', value: formatNumber(plan.beta), why: 'max k(x, x)' },
    {
      name: 'm* plain → preconditioned',
      value: `${formatNumber(plan.criticalBatchPlain)} → ${formatNumber(plan.criticalBatch)}`,
      why: 'β/λ_1 → β/λ_new',
    },
    { name: 'device limit m_G', value: String(plan.deviceBatchLimit), why: plan.deviceBatchLimitSource },
    { name: 'batch size m', value: String(plan.batchSize), why: plan.batchSizeSource },
    { name: 'step size η', value: formatNumber(plan.stepSize), why: `${plan.stepSizeSource}, ${plan.stepRegime} regime` },
    ...(plan.stepSizeHalvings ? [{ name: 'η halved', value: halvingsText(plan.stepSizeHalvings), why: 'after divergence' }] : []),
    ...centersRows(plan),
    ...(plan.cache ? [cacheRow(plan.cache)] : []),
    { name: 'epochs', value: `${plan.epochs} × ${plan.iterationsPerEpoch} iterations` },
    {
      name: 'backend',
      value: plan.device ? `${plan.backend} on ${plan.device}` : plan.backend,
      ...(plan.backendChoice ? { why: backendChoiceText(plan.backendChoice) } : {}),
    },
    { name: 'set-up', value: `${plan.setupSeconds.toFixed(2)} s`, why: `eigensystem ${plan.eigenSeconds.toFixed(2)} s` },
  ];
}

/** "auto: the fastest here on this data: onnx 8.1 ms, wasm 12 ms per fused block of 256 × 8192". */
export function backendChoiceText(choice: BackendChoice): string {
  const times = choice.times.map((t) => `${t.backend} ${formatNumber(t.seconds * 1000, 2)} ms`).join(', ');
  const cached = choice.cached ? ', from the calibration cache' : '';
  return `auto: the fastest on this data's shape: ${times} per fused block of ${choice.rows} × ${choice.centers}${cached}`;
}

function cacheRow(cache: CachePlan): PlanRow {
  const value = cache.precision ? `${cache.precision}, ${(cache.bytes / 2 ** 30).toFixed(1)} GiB` : 'off';
  return { name: 'kernel cache', value, why: cache.reason };
}

/** EigenPro 3's part of the plan: the centers, the projection's own figures, the memory bound. */
function centersRows(plan: Plan): PlanRow[] {
  const c = plan.centers;
  if (!c) return [];
  const j = c.projection;
  return [
    { name: 'centers p', value: String(c.count), why: `${c.source}; the figures above are the data level's, from a subsample of the centers` },
    {
      name: 'projection s, q, m, η',
      value: `${j.subsampleSize}, ${j.q}, ${j.batchSize}, ${formatNumber(j.stepSize)}`,
      why: `EigenPro 2 on K_ZZ: λ_1 ${formatNumber(j.lambda1)} → λ_new ${formatNumber(j.lambdaNew)}, m* ${formatNumber(j.criticalBatch)}, ${j.stepRegime} regime`,
    },
    {
      name: 'projection',
      value: `every ${j.interval} batch${j.interval === 1 ? '' : 'es'}, ${j.iterations} iterations (${j.passes} pass${j.passes === 1 ? '' : 'es'} over the centers)`,
      why:
        j.intervalSource === 'given'
          ? 'interval given'
          : j.passCost === undefined
            ? 'about √(2·passes)·p pending centers at a projection: the least work'
            : `about √(2·passes·${formatNumber(j.passCost)})·p pending centers at a projection: the least work, a pass over the cached K_ZZ costing about ${formatNumber(j.passCost)} of one that computes it`,
    },
    { name: 'memory', value: `${(c.memoryBytes / 2 ** 20).toFixed(0)} MB`, why: c.memoryNote },
  ];
}

/** The columns of a history table that have a value in some epoch, with each epoch's cell text. */
export function historyColumns(history: readonly EpochMetrics[], validationName = 'validation'): { name: string; cells: string[] }[] {
  const columns: { name: string; cell: (h: EpochMetrics) => string | undefined }[] = [
    { name: 'epoch', cell: (h) => String(h.epoch) },
    { name: 'seconds', cell: (h) => h.seconds.toFixed(1) },
    { name: 'since start', cell: (h) => (h.elapsedSeconds === undefined ? undefined : `${h.elapsedSeconds.toFixed(1)} s`) },
    { name: 'train mse', cell: (h) => formatNumber(h.trainMse) },
    { name: 'train error', cell: (h) => (h.trainError === undefined ? undefined : percent(h.trainError)) },
    { name: `${validationName} mse`, cell: (h) => (h.validationMse === undefined ? undefined : formatNumber(h.validationMse)) },
    { name: `${validationName} error`, cell: (h) => (h.validationError === undefined ? undefined : percent(h.validationError)) },
  ];
  return columns
    .filter((c) => history.some((h) => c.cell(h) !== undefined))
    .map((c) => ({ name: c.name, cells: history.map((h) => c.cell(h) ?? '—') }));
}
