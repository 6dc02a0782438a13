/**
 * Training progress that updates in place in a notebook: pass a display that overwrites one output
 * (tslab.newDisplay()) and spread the callbacks into fit's options. Iterations redraw at most every
 * `everyMs`; each epoch's end always redraws, so the last picture is the finished table.
 */
import { hasConverged } from '../solver/convergence.js';
import { formatNumber } from '../model/summary.js';
import type { EpochReport, IterationReport } from '../solver/events.js';
import type { Plan } from '../solver/plan.js';
import { escapeHtml, historyTable } from '../model/html.js';

/** Anything that shows HTML, replacing what it showed before: tslab's `newDisplay()` is one. */
export interface HtmlDisplay {
  html(html: string): void;
}

export interface ProgressCallbacks {
  onPlan(plan: Plan): void;
  onEpoch(report: EpochReport): void;
  onIteration(report: IterationReport): void;
}

/**
 * @example
 * import * as tslab from 'tslab';
 * const model = await fit(X, y, { epochs: 3, ...trainingProgress(tslab.newDisplay()) });
 */
export function trainingProgress(display: HtmlDisplay, options: { everyMs?: number } = {}): ProgressCallbacks {
  const everyMs = options.everyMs ?? 250;
  const started = performance.now();
  let plan: Plan | undefined;
  let latest: IterationReport | undefined;
  const epochs: EpochReport[] = [];
  let drawn = -Infinity;

  const draw = () => {
    drawn = performance.now();
    const total = plan ? plan.epochs * plan.iterationsPerEpoch : 1;
    const last = epochs[epochs.length - 1];
    const converged = plan?.stopping && last?.residual !== undefined && hasConverged(last.residual, plan.stopping);
    const finished = last !== undefined && (last.epoch === plan?.epochs || converged);
    const done = finished ? total : latest && plan ? (latest.epoch - 1) * plan.iterationsPerEpoch + latest.iteration : 0;
    const where = finished
      ? `done: ${last.epoch} epochs${converged ? ', converged' : ''}`
      : latest
        ? `epoch ${latest.epoch}${plan?.stopping ? '' : `/${plan?.epochs ?? '?'}`} · iteration ${latest.iteration}/${latest.iterationsPerEpoch} · batch mse ${formatNumber(latest.batchMse)}`
        : 'set-up done, training';
    const header = plan ? `${plan.n} points, batch size ${plan.batchSize}, step size ${formatNumber(plan.stepSize)}, ${plan.backend}` : '';
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    display.html(
      `<div><progress value="${done}" max="${total}" style="width:24em"></progress> ` +
        `${escapeHtml(where)} · ${seconds} s<br><small>${escapeHtml(header)}</small>` +
        (epochs.length ? historyTable(epochs) : '') +
        '</div>',
    );
  };

  return {
    onPlan(p) {
      plan = p;
      draw();
    },
    onIteration(report) {
      latest = report;
      if (performance.now() - drawn >= everyMs) draw();
    },
    onEpoch(report) {
      epochs.push(report);
      draw();
    },
  };
}
