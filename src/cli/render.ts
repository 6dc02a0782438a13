/** Text rendering of plans, epochs and results for the terminal. No math here, only formatting. */
import type { CacheLeft, DivergenceReport, EpochReport, StepHalving } from '../solver/events.js';
import type { Plan } from '../solver/plan.js';
import type { ClusterReport } from '../cluster/options.js';
import { formatNumber, halvingsText, percent, planRows, residualText, searchTable } from '../model/summary.js';
import type { SearchPlan } from '../solver/plan.js';

export { formatNumber, percent, stoppedText } from '../model/summary.js';

/** The plan as aligned "name  value  (why)" rows; `validationName`: what the validation data are called (the CLI's --test file: 'test'). */
export function renderPlan(plan: Plan, validationName?: string): string {
  const rows = planRows(plan, validationName);
  const width = Math.max(...rows.map((r) => r.name.length));
  return rows.map((r) => `  ${r.name.padEnd(width)}  ${r.value}${r.why ? `   (${r.why})` : ''}`).join('\n');
}

export function renderEpoch(report: EpochReport, validationName: string): string {
  // A run that stops by itself shows how far it has to go instead of a planned count.
  const parts = [
    ...(report.candidate !== undefined ? [`candidate ${report.candidate + 1}`] : []),
    report.stopping ? `epoch ${String(report.epoch).padStart(String(report.epochs).length)}` : `epoch ${String(report.epoch).padStart(String(report.epochs).length)}/${report.epochs}`,
    `${report.seconds.toFixed(1)} s${report.elapsedSeconds === undefined ? '' : ` (at ${report.elapsedSeconds.toFixed(1)} s)`}`,
    `train mse ${formatNumber(report.trainMse)}`,
  ];
  if (report.trainError !== undefined) parts.push(`train error ${percent(report.trainError)}`);
  if (report.residual !== undefined) parts.push(`train residual ${residualText(report.residual)}${report.stopping ? ` (stops at ${residualText(report.stopping.residual)})` : ''}`);
  if (report.validationMse !== undefined) parts.push(`${validationName} mse ${formatNumber(report.validationMse)}`);
  if (report.validationError !== undefined) parts.push(`${validationName} error ${percent(report.validationError)}`);
  const line = parts.join('  ') + (report.best && report.validationMse !== undefined ? '  *' : '');
  return report.cacheLeft ? `${line}\n${renderCacheLeft(report.cacheLeft)}` : line;
}

/** The line under the epoch after which training left its reduced-precision kernel cache. */
function renderCacheLeft(left: CacheLeft): string {
  const why = `  the ${left.precision} kernel cache's rounding is ${Math.round(100 * left.share)} % of the residual (it would hold the residual up): `;
  return left.refilled
    ? `${why}training goes on with a ${left.refilled} cache of exact values, filled again over the next epoch`
    : `${why}training goes on without the cache, with exact kernel blocks (--cache float32 keeps exact values where memory allows)`;
}

/** The warning on the first divergence. */
export function renderDivergence(report: DivergenceReport): string {
  return (
    `training diverged at epoch ${report.epoch}, iteration ${report.iteration} (${report.reason}): back to the start ` +
    `of the epoch with the step size halved to ${formatNumber(report.to)} (it gives up after ${report.maxHalvings} halvings)`
  );
}

/** The closing line of a run whose step size was halved. */
export function renderHalvings(halvings: readonly StepHalving[]): string {
  return `step size halved ${halvingsText(halvings)} after divergence (see kmfit info for where)`;
}

/** Who holds the centers of a cluster run. */
export function renderCluster(report: ClusterReport): string {
  const shards = report.workers.map(({ worker, centers }, k) => `  shard ${k + 1}: ${centers} centers on ${worker.id} (pid ${worker.pid} on ${worker.host}, ${worker.backend})`);
  return [`cluster run '${report.run}' on ${report.server}: ${report.workers.length} workers`, ...shards].join('\n');
}

/** A bandwidth search's table: each candidate's held-out figure per epoch, the kept one marked. */
export function renderSearch(search: SearchPlan): string {
  const { header, rows } = searchTable(search);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => '  ' + cells.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();
  return [`held-out ${search.candidates.some((c) => c.validationError) ? 'error' : 'mse'} per epoch (${search.heldOut})`, line(header), ...rows.map(line)].join('\n');
}
