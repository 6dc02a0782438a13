/**
 * The scaling study's figure as a Vega-Lite specification: three panels over the batch size m
 * (log axes) — iterations to target with the predicted curve and m* of each setting, seconds per
 * iteration with m_G, and time to target. Pure data → spec; rendering to SVG/PNG is the plot
 * module's job, so the same spec serves files, notebooks and the docs.
 */
import type { VegaLiteSpec } from '../plot/vega.js';
import { predictedShape, type ScalingReport, type ScalingSetting } from './scaling.js';

const PANEL = { width: 260, height: 220 };

function label(setting: ScalingSetting): string {
  return setting.name === 'plain' ? 'plain kernel (q = 0)' : `EigenPro (q = ${setting.q})`;
}

/** m = 2^(k/8) from 1 to the largest batch tried, for the predicted curves. */
function grid(largest: number): number[] {
  const points: number[] = [];
  for (let k = 0; 2 ** (k / 8) <= largest * 1.0001; k++) points.push(2 ** (k / 8));
  return points;
}

const logAxis = (title: string) => ({ type: 'quantitative', scale: { type: 'log' }, title });

export function scalingFigure(report: ScalingReport): VegaLiteSpec {
  const runs = report.settings.flatMap((setting) =>
    setting.runs.map((run) => ({
      setting: label(setting),
      m: run.m,
      iterations: run.iterations,
      secondsPerIteration: run.secondsPerIteration,
      timeToTarget: run.reached ? run.timeToTarget : null,
      status: run.reached ? 'reached the target' : 'stopped at a cap (a lower bound)',
    })),
  );
  const largest = Math.max(1, ...runs.map((r) => r.m));
  const predicted = report.settings.flatMap((setting) =>
    setting.theoryScale === undefined
      ? []
      : grid(largest).map((m) => ({ setting: label(setting), m, iterations: setting.theoryScale! * predictedShape(m, setting) })),
  );
  const criticals = report.settings.map((setting) => ({ setting: label(setting), m: setting.mStar, text: `m* = ${Math.round(setting.mStar)}` }));
  const color = { field: 'setting', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 0 } };
  const m = logAxis('batch size m');
  const targetText =
    report.target.kind === 'trainMse'
      ? `train mse ≤ ${(report.target.value / report.target.initial).toPrecision(2)} × its initial value`
      : `validation error ≤ ${report.target.value}`;

  const iterations = {
    title: 'iterations to target',
    ...PANEL,
    layer: [
      {
        data: { values: predicted },
        mark: { type: 'line', strokeDash: [4, 3], opacity: 0.8 },
        encoding: { x: { field: 'm', ...m }, y: { field: 'iterations', ...logAxis('iterations') }, color },
      },
      {
        data: { values: runs },
        mark: { type: 'point', size: 50, filled: true },
        encoding: {
          x: { field: 'm', ...m },
          y: { field: 'iterations', ...logAxis('iterations') },
          color,
          shape: { field: 'status', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 0 } },
        },
      },
      {
        data: { values: criticals },
        mark: { type: 'rule', strokeDash: [2, 2] },
        encoding: { x: { field: 'm', ...m }, color },
      },
      {
        data: { values: criticals },
        mark: { type: 'text', angle: 270, dx: -6, dy: -8, align: 'right', fontSize: 10 },
        encoding: { x: { field: 'm', ...m }, y: { value: 0 }, text: { field: 'text' }, color },
      },
    ],
  };
  const device = [{ m: report.mG, text: `m_G = ${report.mG}` }];
  const seconds = {
    title: 'seconds per iteration',
    ...PANEL,
    layer: [
      {
        data: { values: runs },
        mark: { type: 'line', point: true },
        encoding: { x: { field: 'm', ...m }, y: { field: 'secondsPerIteration', ...logAxis('seconds') }, color },
      },
      { data: { values: device }, mark: { type: 'rule', strokeDash: [2, 2], color: 'gray' }, encoding: { x: { field: 'm', ...m } } },
      {
        data: { values: device },
        mark: { type: 'text', angle: 270, dx: -6, dy: -8, align: 'right', fontSize: 10, color: 'gray' },
        encoding: { x: { field: 'm', ...m }, y: { value: 0 }, text: { field: 'text' } },
      },
    ],
  };
  const time = {
    title: 'time to target',
    ...PANEL,
    data: { values: runs.filter((r) => r.timeToTarget !== null) },
    mark: { type: 'line', point: true },
    encoding: { x: { field: 'm', ...m }, y: { field: 'timeToTarget', ...logAxis('seconds') }, color },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `Linear scaling: ${report.kernel}, n = ${report.n}, ${report.backend}`,
      subtitle: `target: ${targetText}; analytic step size η(m), no tuning per batch size`,
    },
    hconcat: [iterations, seconds, time],
    resolve: { scale: { color: 'shared' } },
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}
