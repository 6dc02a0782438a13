/**
 * Vega-Lite specs for the figures a kernel-machine notebook needs (a confusion matrix, predicted
 * against true values, a bandwidth search's held-out figures per epoch); render them with
 * kmfit/plot's renderSvg. Plain data in, a spec out: nothing here draws or loads vega.
 */
import type { VegaLiteSpec } from '../plot/vega.js';
import type { SearchPlan } from '../solver/plan.js';
import type { ConfusionMatrix } from './confusion.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * A heat map of counts: true class down, predicted class across, each cell labelled with its
 * count (cells on the diagonal are right). Colour is on a log scale so that the few mistakes
 * stay visible next to the large diagonal.
 */
export function confusionMatrixSpec(matrix: ConfusionMatrix, options: { title?: string; size?: number } = {}): VegaLiteSpec {
  const values = matrix.counts.flatMap((row, i) =>
    row.map((count, j) => ({ truth: String(matrix.labels[i]), predicted: String(matrix.labels[j]), count })),
  );
  const order = matrix.labels.map(String);
  const size = options.size ?? 28 * order.length;
  const max = Math.max(1, ...values.map((v) => v.count));
  return {
    $schema: SCHEMA,
    ...(options.title ? { title: options.title } : {}),
    width: size,
    height: size,
    data: { values },
    encoding: {
      x: { field: 'predicted', type: 'ordinal', sort: order, title: 'predicted' },
      y: { field: 'truth', type: 'ordinal', sort: order, title: 'true class' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: {
            condition: { test: 'datum.count === 0', value: '#f7f7f7' },
            field: 'count',
            type: 'quantitative',
            // A log scale needs a domain without 0; empty cells take the condition's grey instead.
            scale: { type: 'log', scheme: 'blues', domain: [1, max] },
            legend: null,
          },
        },
      },
      {
        mark: { type: 'text', fontSize: 10 },
        transform: [{ filter: 'datum.count > 0' }],
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: `datum.count > ${Math.sqrt(max)}`, value: 'white' }, value: 'black' },
        },
      },
    ],
  };
}

/** One model's predictions against the truth, for predictedVsTrueSpec. */
export interface PredictionSeries {
  readonly name: string;
  readonly truth: ArrayLike<number>;
  readonly predicted: ArrayLike<number>;
}

/**
 * Predicted against true values, one panel per series, with the line y = x (a perfect model puts
 * every point on it). `log` draws both axes on a log scale (for prices and other positive targets).
 */
export function predictedVsTrueSpec(
  series: readonly PredictionSeries[],
  options: { title?: string; label?: string; log?: boolean; size?: number } = {},
): VegaLiteSpec {
  const values = series.flatMap((s) => Array.from(s.truth, (truth, i) => ({ model: s.name, truth, predicted: s.predicted[i] })));
  const finite = values.flatMap((v) => [v.truth, v.predicted]).filter((v) => Number.isFinite(v) && (!options.log || v > 0));
  const domain = [Math.min(...finite), Math.max(...finite)];
  const scale = { domain, ...(options.log ? { type: 'log' } : {}), nice: false };
  const label = options.label ?? 'value';
  const size = options.size ?? 260;
  return {
    $schema: SCHEMA,
    ...(options.title ? { title: options.title } : {}),
    data: { values },
    ...(options.log ? { transform: [{ filter: 'datum.predicted > 0' }] } : {}),
    facet: { field: 'model', type: 'nominal', title: null, sort: series.map((s) => s.name) },
    spec: {
      width: size,
      height: size,
      layer: [
        {
          // aria: false drops a text label per point, two thirds of the SVG's size.
          mark: { type: 'point', filled: true, size: 10, opacity: 0.4, aria: false },
          encoding: {
            x: { field: 'truth', type: 'quantitative', scale, title: `true ${label}` },
            y: { field: 'predicted', type: 'quantitative', scale, title: `predicted ${label}` },
          },
        },
        {
          data: { values: [{ a: domain[0] }, { a: domain[1] }] },
          mark: { type: 'line', color: '#d62728', strokeWidth: 1 },
          encoding: { x: { field: 'a', type: 'quantitative', scale }, y: { field: 'a', type: 'quantitative', scale } },
        },
      ],
    },
  };
}

/**
 * A bandwidth search (model.search): each candidate's held-out error (classification; mse for
 * regression) after each epoch, one line per candidate, the kept one drawn thick with its name in
 * the legend marked "(kept)". Diverged candidates have no figures and no line.
 */
export function searchSpec(search: SearchPlan, options: { title?: string; width?: number; height?: number } = {}): VegaLiteSpec {
  const classification = search.candidates.some((c) => c.validationError !== undefined);
  const nameOf = (k: number) => `${search.candidates[k].kernel}${k === search.winner ? ' (kept)' : ''}`;
  const values = search.candidates.flatMap((candidate, k) =>
    (classification ? candidate.validationError : candidate.validationMse)?.map((figure, e) => ({ candidate: nameOf(k), epoch: e + 1, figure, kept: k === search.winner })) ?? [],
  );
  const figure = classification ? 'held-out error' : 'held-out mse';
  return {
    $schema: SCHEMA,
    ...(options.title ? { title: options.title } : {}),
    width: options.width ?? 320,
    height: options.height ?? 220,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'ordinal', title: 'epoch' },
      y: { field: 'figure', type: 'quantitative', title: figure, ...(classification ? { axis: { format: '.1%' } } : {}), scale: { zero: false } },
      color: { field: 'candidate', type: 'nominal', sort: search.candidates.map((_, k) => nameOf(k)), title: null },
      strokeWidth: { condition: { test: 'datum.kept', value: 3 }, value: 1.2 },
    },
  };
}
