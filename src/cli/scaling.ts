/**
 * `kmfit scaling <data>`: the linear-scaling study (src/study/scaling.ts) on a file or a built-in
 * dataset — a table on the terminal, `--json`, and with `--out DIR` the JSON, a CSV and the figure
 * (SVG and PNG).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { KmfitError } from '../errors.js';
import { checkValue } from '../options.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { requireChartPackages, writeFigure } from '../plot/vega.js';
import { scalingFigure } from '../study/figure.js';
import { STUDY_RULES, scalingStudy, type ScalingOptions, type ScalingReport, type ScalingRun, type ScalingSetting } from '../study/scaling.js';
import { version } from '../version.js';
import { formatNumber } from './render.js';
import { fitOptionsOf, flagOf, type FitFlags } from './usage.js';
import { resolveSplits, shaped, type DataArgs } from './data.js';

export interface ScalingArgs extends DataArgs, FitFlags {
  'batch-sizes'?: string;
  'target-mse'?: number;
  'target-error'?: number;
  'max-iterations'?: number;
  'max-seconds'?: number;
  'monitor-size'?: number;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

/** The study's own number flags and the options they set. */
const STUDY_FLAGS = [
  ['q', 'q'],
  ['target-mse', 'targetMse'],
  ['target-error', 'targetError'],
  ['max-iterations', 'maxIterations'],
  ['max-seconds', 'maxSeconds'],
  ['monitor-size', 'monitorSize'],
] as const satisfies readonly (readonly [keyof ScalingArgs, keyof ScalingOptions])[];

/** "1,2,4,8" → [1, 2, 4, 8]; anything else is a usage error. */
export function parseBatchSizes(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const sizes = text.split(',').map((part) => Number(part.trim()));
  if (sizes.length === 0 || sizes.some((m) => !Number.isInteger(m) || m < 1)) {
    throw new KmfitError('INVALID_OPTION', `--batch-sizes takes whole numbers ≥ 1 separated by commas (e.g. 1,2,4,8); got ${JSON.stringify(text)}.`);
  }
  return sizes;
}

function settingName(setting: ScalingSetting): string {
  return setting.name === 'plain' ? 'plain kernel (q = 0)' : `EigenPro (q = ${setting.q})`;
}

function seconds(x: number): string {
  return x < 1 ? `${formatNumber(x * 1000, 3)} ms` : `${formatNumber(x, 3)} s`;
}

function runRow(run: ScalingRun): string[] {
  const stop = run.reached ? '' : `  (${run.stoppedBy === 'diverged' ? 'diverged' : `stopped: ${run.stoppedBy} cap`})`;
  return [
    String(run.m),
    formatNumber(run.eta, 3),
    `${run.reached ? '' : '≥ '}${formatNumber(run.iterations, 4)}`,
    formatNumber(run.epochs, 3),
    seconds(run.secondsPerIteration),
    run.reached ? seconds(run.timeToTarget) + stop : `—${stop}`,
  ];
}

const HEADER = ['m', 'η(m)', 'iterations', 'epochs', 's/iteration', 'time to target'];

function table(rows: string[][]): string {
  const widths = HEADER.map((_, c) => Math.max(...[HEADER, ...rows].map((r) => r[c].replace(/\s+\(.*$/, '').length)));
  return [HEADER, ...rows].map((r) => '  ' + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padStart(widths[c]))).join('  ')).join('\n');
}

export function renderScaling(report: ScalingReport): string {
  const lines: string[] = [];
  const target =
    report.target.kind === 'trainMse'
      ? `train mse ≤ ${formatNumber(report.target.value)} (${formatNumber(report.target.value / report.target.initial, 2)} × the initial ${formatNumber(report.target.initial)})`
      : `validation error ≤ ${formatNumber(100 * report.target.value, 3)} %`;
  lines.push(`target: ${target}`);
  lines.push(`device limit m_G = ${report.mG}   (${report.mGSource})`);
  for (const setting of report.settings) {
    const knees = [
      `m* = β/λ = ${formatNumber(setting.mStar)}`,
      setting.predictedKnee !== undefined ? `predicted knee ${formatNumber(setting.predictedKnee, 3)}` : undefined,
      `measured knee ${setting.knee !== undefined ? formatNumber(setting.knee, 3) : '—'}`,
    ].filter(Boolean);
    lines.push('', `${settingName(setting)}: ${knees.join(', ')}`, table(setting.runs.map(runRow)));
  }
  lines.push('', `${formatNumber(report.seconds, 3)} s in all`);
  return lines.join('\n');
}

/** One row per run, for spreadsheets. */
export function scalingCsv(report: ScalingReport): string {
  const header = 'setting,q,mStar,m,eta,iterations,epochs,secondsPerIteration,timeToTarget,reached,stoppedBy';
  const rows = report.settings.flatMap((s) =>
    s.runs.map((r) =>
      [s.name, s.q, s.mStar, r.m, r.eta, r.iterations, r.epochs, r.secondsPerIteration, r.timeToTarget, r.reached, r.stoppedBy ?? ''].join(','),
    ),
  );
  return [header, ...rows].join('\n') + '\n';
}

export async function scaling(args: ScalingArgs): Promise<void> {
  const say = (text: string) => {
    if (!args.quiet && !args.json) process.stdout.write(text + '\n');
  };
  const batchSizes = parseBatchSizes(args['batch-sizes']);
  // The flags are checked under their own names, before the data is read.
  const fitOptions = fitOptionsOf(args);
  for (const [flag, name] of STUDY_FLAGS) {
    if (args[flag] !== undefined) checkValue(flagOf(flag), STUDY_RULES[name], args[flag]);
  }
  if (args['target-error'] !== undefined && args.test === undefined && args['test-split'] === undefined) {
    throw new KmfitError('INVALID_OPTION', '--target-error is an error on validation data: give --test FILE or --test-split FRACTION too.');
  }
  // --out ends with the figure: without the chart packages, say so now rather than after the study.
  if (args.out !== undefined) {
    checkOutDirectory(args.out);
    await requireChartPackages();
  }
  const data = await resolveSplits({ ...args, onDisk: false });
  const { train, test } = data;
  say(`kmfit ${version} scaling · ${data.name}: ${train.X.rows} training points, ${train.X.cols} features`);
  const report = await scalingStudy(shaped(train), train.y!, {
    ...fitOptions,
    batchSizes,
    targetMse: args['target-mse'],
    targetError: args['target-error'],
    maxIterations: args['max-iterations'],
    maxSeconds: args['max-seconds'],
    monitorSize: args['monitor-size'],
    ...(test && args['target-error'] !== undefined ? { validation: { X: shaped(test), y: test.y! } } : {}),
    onRun: (setting, run) => {
      const [m, , iterations, epochs, perIteration, time] = runRow(run);
      if (!args.quiet && !args.json) {
        process.stderr.write(`${setting.name} m = ${m}: ${iterations} iterations, ${epochs} epochs, ${perIteration} each, ${time}\n`);
      }
    },
  });
  if (args.out !== undefined) await writeOutputs(args.out, report);
  if (args.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return;
  }
  say(renderScaling(report));
  if (args.out !== undefined) say(`wrote scaling.json, scaling.csv, scaling.svg and scaling.png to ${path.resolve(args.out)}`);
}

/** --out's directory is made after the study: a path where it cannot be (a file there) is refused before. */
function checkOutDirectory(out: string): void {
  let existing = path.resolve(out);
  while (!existsSync(existing)) existing = path.dirname(existing);
  if (!statSync(existing).isDirectory()) {
    throw new KmfitError('INVALID_OPTION', `--out ${out}: ${existing} is a file; --out takes a directory (for scaling.json, scaling.csv and the figure).`);
  }
}

/** The report, its runs as CSV and the figure as SVG and PNG, each written atomically. */
async function writeOutputs(directory: string, report: ScalingReport): Promise<void> {
  await mkdir(directory, { recursive: true });
  const text = (name: string, content: string) => writeFileAtomic(path.join(directory, name), new TextEncoder().encode(content));
  await text('scaling.json', JSON.stringify(report, null, 2) + '\n');
  await text('scaling.csv', scalingCsv(report));
  const figure = scalingFigure(report);
  await writeFigure(figure, path.join(directory, 'scaling.svg'));
  await writeFigure(figure, path.join(directory, 'scaling.png'));
}
