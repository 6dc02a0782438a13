/** The error per epoch as a line chart on a canvas: training error and, when given, test (validation) error. */
import type { EpochMetrics } from 'kmfit';

export const CHART_COLORS = { train: '#d9480f', test: '#1864ab', axes: '#495057' };

export function drawErrorChart(canvas: HTMLCanvasElement, epochs: number, history: readonly EpochMetrics[]): void {
  const context = canvas.getContext('2d')!;
  const { width, height } = canvas;
  const margin = { left: 48, right: 12, top: 12, bottom: 28 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const errors = history.flatMap((e) => [e.trainError ?? 0, e.validationError ?? 0]);
  // The vertical scale: at least 5 %, so that small errors are not magnified into noise.
  const top = Math.max(0.05, ...errors) * 1.1;
  const x = (epoch: number) => margin.left + (plotWidth * epoch) / Math.max(1, epochs);
  const y = (error: number) => margin.top + plotHeight * (1 - error / top);

  context.clearRect(0, 0, width, height);
  context.strokeStyle = CHART_COLORS.axes;
  context.fillStyle = CHART_COLORS.axes;
  context.lineWidth = 1;
  context.font = '11px sans-serif';
  context.strokeRect(margin.left, margin.top, plotWidth, plotHeight);
  for (const fraction of [0, 0.5, 1]) context.fillText(`${((top * fraction) * 100).toFixed(1)} %`, 4, y(top * fraction) + 4);
  for (let epoch = 0; epoch <= epochs; epoch++) context.fillText(String(epoch), x(epoch) - 3, height - 10);

  const line = (color: string, value: (e: EpochMetrics) => number | undefined) => {
    const points = history.filter((e) => value(e) !== undefined).map((e) => [x(e.epoch), y(value(e)!)] as const);
    context.strokeStyle = color;
    context.fillStyle = color;
    context.lineWidth = 3;
    context.beginPath();
    points.forEach(([px, py], i) => (i === 0 ? context.moveTo(px, py) : context.lineTo(px, py)));
    context.stroke();
    for (const [px, py] of points) context.fillRect(px - 4, py - 4, 8, 8);
  };
  line(CHART_COLORS.train, (e) => e.trainError);
  line(CHART_COLORS.test, (e) => e.validationError);
}
