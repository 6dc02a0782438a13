/**
 * HTML for notebooks and a model's toHTML() (tslab's display.html, Jupyter, any page): the plan block, the training
 * history and a model summary, as small self-contained tables with no scripts and no external CSS.
 */
import { historyColumns, outputsText, planRows, stoppedText } from './summary.js';
import type { EpochMetrics, StopReason } from '../solver/events.js';
import type { Plan } from '../solver/plan.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe to put inside HTML elements and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const TABLE = 'style="border-collapse:collapse;font-size:0.9em"';
const CELL = 'style="padding:1px 8px;text-align:left"';
const NOTE = 'style="padding:1px 8px;text-align:left;color:#666"';

/** A table with a header row; cells are text (escaped here). */
export function htmlTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = `<tr>${header.map((h) => `<th ${CELL}>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => `<td ${CELL}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<table ${TABLE}>${head}${body}</table>`;
}

/** The plan block (model.plan) as a three-column table: what, value, where it came from. */
export function planTable(plan: Plan): string {
  const rows = planRows(plan)
    .map((r) => `<tr><td ${CELL}><b>${escapeHtml(r.name)}</b></td><td ${CELL}>${escapeHtml(r.value)}</td><td ${NOTE}>${escapeHtml(r.why ?? '')}</td></tr>`)
    .join('');
  return `<table ${TABLE}>${rows}</table>`;
}

/** One row per epoch; the kept epoch (if given) is marked with ★. */
export function historyTable(history: readonly EpochMetrics[], keptEpoch?: number): string {
  const columns = historyColumns(history);
  const rows = history.map((h, i) => columns.map((c, j) => (j === 0 && h.epoch === keptEpoch && history.length > 1 ? `${c.cells[i]} ★` : c.cells[i])));
  return htmlTable(
    columns.map((c) => c.name),
    rows,
  );
}

/** What a model's summary shows (a KernelModel has all of it). */
export interface SummarizedModel {
  readonly task: string;
  readonly features: number;
  readonly outputs: number;
  readonly classes?: readonly unknown[];
  readonly plan: Plan;
  readonly history: readonly EpochMetrics[];
  readonly stoppedBy: StopReason;
  readonly keptEpoch: number;
}

/** A model's summary: task, sizes, kernel, then its plan and history tables. */
export function modelSummary(model: SummarizedModel): string {
  const { plan } = model;
  const classes = model.classes ? `: ${model.classes.slice(0, 20).join(', ')}${model.classes.length > 20 ? ', …' : ''}` : '';
  const kept =
    model.stoppedBy === 'epochs' && !plan.stopping
      ? `${model.history.length} epoch${model.history.length === 1 ? '' : 's'}`
      : `stopped by ${stoppedText(model)}, weights of epoch ${model.keptEpoch}`;
  const title =
    `<b>kmfit ${escapeHtml(model.task)} model</b>: ${plan.centers?.count ?? plan.n} centers × ${model.features} features → ` +
    `${outputsText(model)}${escapeHtml(classes)}; ` +
    `kernel ${escapeHtml(plan.kernel)}; ${escapeHtml(kept)}`;
  return (
    `<div>${title}<details open><summary>plan</summary>${planTable(plan)}</details>` +
    `<details open><summary>history</summary>${historyTable(model.history, model.keptEpoch)}</details></div>`
  );
}
