/**
 * What a plan and a training history say, as labelled fields: one source for the terminal's text
 * (cli/render.ts) and the HTML (model/html.ts), so the two cannot disagree.
 */
import type { EpochMetrics, StepHalving, StopReason } from '../solver/events.js';
import { LATE_CACHE_CANDIDATES, SEARCH_WITHOUT_CACHE, type CentersPlan, type Plan, type SearchPlan, type UnseenLabels } from '../solver/plan.js';
import type { CachePlan } from '../solver/kernelCache.js';
import type { BackendChoice } from '../solver/capacity.js';
import { describeValue } from '../errors.js';

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
 * from (the CLI's plan block, the notebook's table, the browser demo's). `validationName`: what the
 * validation data are called in its rows (the CLI's --test file: 'test').
 * @example
 * for (const row of planRows(model.plan)) console.log(row.name, row.value, row.why ?? '');
 */
export function planRows(plan: Plan, validationName = 'validation'): PlanRow[] {
  const outputs = outputsText(plan);
  return [
    { name: 'data', value: `n = ${plan.n} points, d = ${plan.d} features, ${outputs} (${plan.task})` },
    { name: 'kernel', value: plan.kernel, why: plan.bandwidthSource === 'given' ? 'bandwidth given' : plan.bandwidthSource },
    { name: 'subsample s', value: String(plan.subsampleSize), ...(plan.subsampleSize === plan.n ? { why: 'all the training points' } : plan.subsampleSource ? { why: plan.subsampleSource } : {}) },
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
    ...searchRows(plan),
    epochsRow(plan),
    ...(plan.unseenValidationLabels
      ? [{ name: `${validationName} labels`, value: unseenLabelsText(plan.unseenValidationLabels, validationName), why: 'each counts as an error' }]
      : []),
    {
      name: 'backend',
      value: plan.device ? `${plan.backend} on ${plan.device}` : plan.backend,
      ...(plan.backendChoice ? { why: backendChoiceText(plan.backendChoice) } : {}),
    },
    ...(plan.distances ? [{ name: 'distances', value: plan.distances }] : []),
    { name: 'set-up', value: `${plan.setupSeconds.toFixed(2)} s`, why: eigensystemText(plan) },
  ];
}

/** The eigensystem's seconds; a search's set-up (not its refit's) made one per candidate. */
function eigensystemText(plan: Plan): string {
  const each = plan.search && !plan.search.refit ? plan.search.eigenSeconds ?? [] : [];
  if (each.length < 2) return `eigensystem ${plan.eigenSeconds.toFixed(2)} s`;
  return `eigensystems ${each.reduce((a, b) => a + b, 0).toFixed(2)} s, one per candidate: ${each.map((x) => x.toFixed(2)).join(' + ')}`;
}

/**
 * A bandwidth search's part of the plan: its candidates, what judges them, how many train at once.
 * A refit's plan (the kept candidate trained again) keeps what chose it; the rest is its own.
 */
function searchRows(plan: Plan): PlanRow[] {
  const search = plan.search;
  if (!search) return [];
  const chosen: PlanRow[] = [
    { name: 'search', value: `${search.candidates.length} candidates: ${search.candidates.map((c) => c.kernel).join(', ')}`, why: search.grid },
    { name: 'judged on', value: search.heldOut },
  ];
  if (search.refit) return [...chosen, { name: 'refit', value: search.refit, why: 'the candidates were judged on rows held out of the training data' }];
  return [
    ...chosen,
    { name: 'common batch', value: String(plan.batchSize), why: search.batchSizeWhy },
    {
      name: 'per pass',
      value: `${search.perPass} of ${search.candidates.length} (${search.passes} pass${search.passes === 1 ? '' : 'es'})`,
      why: `${search.perPassWhy}; ${search.sharesDistances ? "each block's distances computed once for them" : 'this backend computes the distances once per candidate'}`,
    },
    searchCacheRow(search),
  ];
}

/** Off while more candidates than LATE_CACHE_CANDIDATES train; for the last ones, their own caches where they fit. */
function searchCacheRow(search: SearchPlan): PlanRow {
  const late = search.lateCache;
  const last = `the last ${LATE_CACHE_CANDIDATES} candidates still training`;
  if (!late?.precision) return { name: 'cache', value: 'off', why: `${SEARCH_WITHOUT_CACHE}${late ? `; nor for ${last}: ${late.reason}` : ''}` };
  const each = `${late.precision}, ${(late.bytes / 2 ** 30).toFixed(1)} GiB each`;
  return { name: 'cache', value: `${LATE_CACHE_CANDIDATES} late (${each})`, why: `off while more candidates train (${SEARCH_WITHOUT_CACHE}); then each of ${last} keeps its own: ${late.reason}` };
}

/** The search's table: one row per candidate, its held-out figure per epoch, the winner marked. */
export function searchTable(search: SearchPlan): { header: string[]; rows: string[][] } {
  const epochs = Math.max(0, ...search.candidates.map((c) => (c.validationError ?? c.validationMse ?? []).length));
  const byError = search.candidates.some((c) => c.validationError);
  const header = ['candidate', 'q', 'η', ...Array.from({ length: epochs }, (_, e) => `epoch ${e + 1}`), ''];
  const rows = search.candidates.map((c, k) => {
    const figures = (byError ? c.validationError : c.validationMse) ?? [];
    const cells = Array.from({ length: epochs }, (_, e) => (figures[e] === undefined ? '—' : byError ? percent(figures[e]) : formatNumber(figures[e])));
    const mark = k === search.winner ? '← kept' : c.status === 'diverged' ? 'diverged' : '';
    return [c.kernel, String(c.q), formatNumber(c.stepSize), ...cells, mark];
  });
  return { header, rows };
}

/** The epochs: a count, or until the stopping rule (at most the count). */
function epochsRow(plan: Plan): PlanRow {
  const perEpoch = `× ${plan.iterationsPerEpoch} iterations`;
  if (!plan.stopping) return { name: 'epochs', value: `${plan.epochs} ${perEpoch}` };
  return {
    name: 'epochs',
    value: `until the train residual is at most ${residualText(plan.stopping.residual)} of the targets' spread, at most ${plan.epochs} ${perEpoch}`,
    why: "epochs left out: ‖y − f‖/‖y − ȳ‖ on the monitored subsample, the exact interpolant's answer",
  };
}

/**
 * "3 of the 4000 test labels are not among the training classes (A, B, …), the first "Z" at row 17
 * (0-based)"; `classes`: a preview of them (previewClasses), where known.
 */
export function unseenLabelsText(unseen: UnseenLabels, what: string, classes?: string): string {
  const verb = unseen.count === 1 ? 'is' : 'are';
  const among = classes === undefined ? 'the training classes' : `the training classes (${classes})`;
  return `${unseen.count} of the ${unseen.rows} ${what} labels ${verb} not among ${among}, the first ${describeValue(unseen.label)} at row ${unseen.row} (0-based)`;
}

/** A relative residual as a percentage: "4.6 %". */
export function residualText(residual: number): string {
  return `${Number((100 * residual).toPrecision(2))} %`;
}

/** Why the run stopped, in words: "converged: train residual 4.6 % ≤ 5 %", "early-stopping", …. */
export function stoppedText(model: { readonly stoppedBy: StopReason; readonly plan: Plan; readonly history: readonly EpochMetrics[] }): string {
  const last = model.history[model.history.length - 1];
  if (model.stoppedBy === 'converged' && model.plan.stopping && last?.residual !== undefined) {
    return `converged: train residual ${residualText(last.residual)} ≤ ${residualText(model.plan.stopping.residual)} of the targets' spread`;
  }
  if (model.stoppedBy === 'epochs') return model.plan.stopping ? `not converged in ${model.plan.epochs} epochs` : 'the epochs asked for';
  return model.stoppedBy;
}

/**
 * "auto: the fastest on this data's shape: onnx 8.1 ms, wasm 12 ms per fused block of 256 × 8192;
 * choosing took 0.21 s, once for this shape class".
 */
export function backendChoiceText(choice: BackendChoice): string {
  const times = choice.times.map((t) => `${t.backend} ${formatNumber(t.seconds * 1000, 2)} ms`).join(', ');
  const cached = choice.cached ? ', from the calibration cache' : '';
  const took = choice.seconds === undefined ? '' : `; choosing took ${choice.seconds.toFixed(2)} s${choice.cached ? '' : ', once for this shape class'}`;
  return `auto: the fastest on this data's shape: ${times} per fused block of ${choice.rows} × ${choice.centers}${cached}${took}`;
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
    ...(c.averaging === undefined ? [] : [averagingRow(c.averaging, c.averagingSource, Math.ceil(Math.ceil(plan.n / plan.batchSize) / j.interval))]),
    { name: 'memory', value: `${(c.memoryBytes / 2 ** 20).toFixed(0)} MB`, why: c.memoryNote },
  ];
}

function averagingRow(on: boolean, source: CentersPlan['averagingSource'], projections: number): PlanRow {
  const why =
    source === 'given'
      ? 'given'
      : on
        ? "fewer centers than points: the fit does not pass through the targets, so each epoch's last weights hold the stochastic steps' noise, and their mean lies nearer the least-squares fit"
        : 'all points are centers: the iteration goes to the interpolant itself, with no noise to average';
  const mean = `each epoch's model: the mean of the weights at its ${projections} projection${projections === 1 ? '' : 's'}`;
  return { name: 'averaging', value: on ? mean : "off: each epoch's last weights", why };
}

/** The columns of a history table that have a value in some epoch, with each epoch's cell text. */
export function historyColumns(history: readonly EpochMetrics[], validationName = 'validation'): { name: string; cells: string[] }[] {
  const columns: { name: string; cell: (h: EpochMetrics) => string | undefined }[] = [
    { name: 'epoch', cell: (h) => String(h.epoch) },
    { name: 'seconds', cell: (h) => h.seconds.toFixed(1) },
    { name: 'since start', cell: (h) => (h.elapsedSeconds === undefined ? undefined : `${h.elapsedSeconds.toFixed(1)} s`) },
    { name: 'train mse', cell: (h) => formatNumber(h.trainMse) },
    { name: 'train error', cell: (h) => (h.trainError === undefined ? undefined : percent(h.trainError)) },
    { name: 'train residual', cell: (h) => (h.residual === undefined ? undefined : residualText(h.residual)) },
    { name: `${validationName} mse`, cell: (h) => (h.validationMse === undefined ? undefined : formatNumber(h.validationMse)) },
    { name: `${validationName} error`, cell: (h) => (h.validationError === undefined ? undefined : percent(h.validationError)) },
  ];
  return columns
    .filter((c) => history.some((h) => c.cell(h) !== undefined))
    .map((c) => ({ name: c.name, cells: history.map((h) => c.cell(h) ?? '—') }));
}
