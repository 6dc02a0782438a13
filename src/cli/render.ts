/** Text rendering of plans, epochs and results for the terminal. No math here, only formatting. */
import type { EpochReport } from '../solver/events.js';
import type { Plan } from '../solver/setup.js';

export function formatNumber(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3)) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}

export function percent(x: number | undefined): string {
  return x === undefined ? '—' : `${(100 * x).toFixed(2)} %`;
}

/** The plan as aligned "name  value  (why)" rows. */
export function renderPlan(plan: Plan): string {
  const rows: [string, string, string?][] = [
    ['data', `n = ${plan.n} points, d = ${plan.d} features, ${plan.outputs} outputs (${plan.task})`],
    ['kernel', plan.kernel, plan.bandwidthSource === 'given' ? 'bandwidth given' : plan.bandwidthSource],
    ['subsample s', String(plan.subsampleSize)],
    ['q', String(plan.q), plan.qSource],
    ['λ_1, λ_q, λ_new', [plan.lambda1, plan.lambdaQ, plan.lambdaNew].map((x) => formatNumber(x)).join(', '), 'eigenvalues of K_SS/s'],
    ['β', formatNumber(plan.beta), 'max k(x, x)'],
    ['m* plain → preconditioned', `${formatNumber(plan.criticalBatchPlain)} → ${formatNumber(plan.criticalBatch)}`, 'β/λ_1 → β/λ_new'],
    ['device limit m_G', String(plan.deviceBatchLimit), plan.deviceBatchLimitSource],
    ['batch size m', String(plan.batchSize), plan.batchSizeSource],
    ['step size η', formatNumber(plan.stepSize), `${plan.stepSizeSource}, ${plan.stepRegime} regime`],
    ['epochs', `${plan.epochs} × ${plan.iterationsPerEpoch} iterations`],
    ['backend', plan.backend],
    ['set-up', `${plan.setupSeconds.toFixed(2)} s`, `eigensystem ${plan.eigenSeconds.toFixed(2)} s`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows
    .map(([name, value, why]) => `  ${name.padEnd(width)}  ${value}${why ? `   (${why})` : ''}`)
    .join('\n');
}

export function renderEpoch(report: EpochReport, validationName: string): string {
  const parts = [
    `epoch ${String(report.epoch).padStart(String(report.epochs).length)}/${report.epochs}`,
    `${report.seconds.toFixed(1)} s`,
    `train mse ${formatNumber(report.trainMse)}`,
  ];
  if (report.trainError !== undefined) parts.push(`train error ${percent(report.trainError)}`);
  if (report.validationMse !== undefined) parts.push(`${validationName} mse ${formatNumber(report.validationMse)}`);
  if (report.validationError !== undefined) parts.push(`${validationName} error ${percent(report.validationError)}`);
  return parts.join('  ') + (report.best && report.validationMse !== undefined ? '  *' : '');
}
