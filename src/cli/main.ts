/**
 * The `kmfit` command: yargs wiring only. Training and file formats live in the library; the
 * rendering of its reports lives in render.ts.
 */
import path from 'node:path';
import yargs, { type Options } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadFashionMnist, loadMnist, type Dataset } from '../../datasets/mnist.js';
import { BUILTIN_KERNEL_NAMES } from '../../kernels/index.js';
import { KmfitError } from '../errors.js';
import { fit } from '../fit.js';
import { loadModel } from '../model/load.js';
import { BACKEND_NAMES, closestName, type BackendName, type FitOptions } from '../options.js';
import { version } from '../version.js';
import { bench, type BenchArgs } from './bench.js';
import { formatNumber, percent, renderEpoch, renderPlan } from './render.js';

const DATASETS: Readonly<Record<string, (o: { trainSize?: number; testSize?: number }) => Promise<Dataset>>> = {
  mnist: loadMnist,
  'fashion-mnist': loadFashionMnist,
};

interface TrainArgs {
  data: string;
  kernel?: string;
  bandwidth?: number;
  epochs?: number;
  'train-size'?: number;
  'test-size'?: number;
  'early-stopping'?: number;
  backend?: string;
  'batch-size'?: number;
  q?: number;
  subsample?: number;
  seed?: number;
  scale?: string;
  save?: string;
  json?: boolean;
  quiet?: boolean;
}

async function train(args: TrainArgs): Promise<void> {
  const load = DATASETS[args.data];
  if (!load) {
    throw new KmfitError(
      'FILE_NOT_FOUND',
      `Unknown dataset ${JSON.stringify(args.data)}. Built-in datasets: ${Object.keys(DATASETS).join(', ')}. ` +
        '(Reading your own .npy/.csv/.npz files comes with the command-line issue; from TypeScript, pass arrays to fit().)',
    );
  }
  const say = (text: string) => {
    if (!args.quiet && !args.json) process.stdout.write(text + '\n');
  };
  const data = await load({ trainSize: args['train-size'], testSize: args['test-size'] });
  say(`kmfit ${version} · ${data.name}: ${data.train.X.rows} training and ${data.test.X.rows} test points, ${data.train.X.cols} features`);
  const progress = process.stderr.isTTY && !args.quiet && !args.json;
  const options: FitOptions = {
    kernel: args.kernel,
    bandwidth: args.bandwidth,
    epochs: args.epochs,
    earlyStopping: args['early-stopping'],
    backend: args.backend as BackendName | undefined,
    batchSize: args['batch-size'],
    q: args.q,
    subsampleSize: args.subsample,
    seed: args.seed,
    scale: args.scale as FitOptions['scale'],
    validation: {
      X: { data: data.test.X.data, shape: [data.test.X.rows, data.test.X.cols] },
      y: data.test.y,
    },
    onPlan: (plan) => say('plan\n' + renderPlan(plan)),
    onEpoch: (report) => {
      if (progress) process.stderr.write('\r\x1b[K');
      say(renderEpoch(report, 'test'));
    },
    onIteration: progress
      ? (r) => process.stderr.write(`\r\x1b[K  epoch ${r.epoch}: iteration ${r.iteration}/${r.iterationsPerEpoch}, batch mse ${formatNumber(r.batchMse)}`)
      : undefined,
  };
  const model = await fit({ data: data.train.X.data, shape: [data.train.X.rows, data.train.X.cols] }, data.train.y, options);
  const kept = model.history[model.keptEpoch - 1];
  const savePath = args.save ?? path.resolve(`${args.data}.kmfit`);
  await model.save(savePath);
  // maxRSS is in KiB: the process's peak resident memory, for the benchmark's memory figure.
  const peakBytes = process.resourceUsage().maxRSS * 1024;
  say(`test error ${percent(kept?.validationError)} after epoch ${model.keptEpoch} (${model.stoppedBy}); model saved to ${savePath}`);
  say(`peak memory ${(peakBytes / 2 ** 30).toFixed(2)} GiB (resident)`);
  if (args.json) {
    const result = { plan: model.plan, history: model.history, keptEpoch: model.keptEpoch, testError: kept?.validationError, model: savePath, peakBytes };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  }
  await model.dispose();
}

async function info(args: { model: string; json?: boolean }): Promise<void> {
  const model = await loadModel(args.model);
  if (args.json) {
    process.stdout.write(JSON.stringify({ kernel: model.kernel, task: model.task, classes: model.classes, plan: model.plan, history: model.history }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`${args.model}: ${model.task}, ${model.plan.n} centers × ${model.features} features, ${model.outputs} outputs\nplan\n${renderPlan(model.plan)}\nhistory\n`);
  for (const h of model.history) process.stdout.write(renderEpoch({ ...h, epochs: model.plan.epochs, best: h.epoch === model.keptEpoch }, 'validation') + '\n');
}

/** The training command's options, for yargs and for "did you mean". */
const TRAIN_OPTIONS = {
  kernel: { type: 'string', describe: `${BUILTIN_KERNEL_NAMES.join(', ')}, or a formula of r such as 'exp(-r^1.5/sigma)'` },
  bandwidth: { type: 'number', describe: 'kernel bandwidth σ (default: from the median pairwise distance)' },
  epochs: { type: 'number', describe: 'passes over the training data (default 5)' },
  'train-size': { type: 'number', describe: 'use the first N training points' },
  'test-size': { type: 'number', describe: 'use the first N test points' },
  'early-stopping': { type: 'number', describe: 'stop after N epochs without a better test error' },
  backend: { type: 'string', choices: BACKEND_NAMES, describe: 'compute backend' },
  'batch-size': { type: 'number', describe: 'override the analytic batch size' },
  q: { type: 'number', describe: 'override the preconditioner level (0: plain kernel)' },
  subsample: { type: 'number', describe: 'Nyström subsample size s' },
  seed: { type: 'number', describe: 'random seed (default 0)' },
  scale: { type: 'string', choices: ['minmax', 'standard', 'none'], describe: 'feature scaling' },
  save: { type: 'string', describe: 'model path (default: ./<data>.kmfit)' },
  json: { type: 'boolean', describe: 'print one JSON object instead of text' },
  quiet: { type: 'boolean', describe: 'print nothing but errors' },
} as const satisfies Record<string, Options>;

/** "Did you mean --epochs?" for an unknown option. */
function suggestion(message: string): string {
  const unknown = /^Unknown arguments?: (.+)$/.exec(message)?.[1]?.split(', ')[0];
  if (!unknown) return '';
  const guess = closestName(unknown, Object.keys(TRAIN_OPTIONS));
  return guess ? ` Did you mean --${guess}?` : '';
}

export async function main(argv: string[]): Promise<number> {
  try {
    await yargs(argv)
      .scriptName('kmfit')
      .version(version)
      .command(
        '$0 <data>',
        'Train a kernel machine on a dataset and save it',
        (y) =>
          y
            .positional('data', { describe: `a built-in dataset: ${Object.keys(DATASETS).join(', ')}`, type: 'string', demandOption: true })
            .options(TRAIN_OPTIONS)
            .example('kmfit mnist --train-size 5000 --kernel gaussian --bandwidth 5 --epochs 3', 'MNIST, 5 000 points, 3 epochs')
            .example('kmfit fashion-mnist --kernel laplacian', 'Fashion-MNIST with the default bandwidth'),
        (a) => train(a as TrainArgs),
      )
      .command(
        'bench',
        'Time the fused kernel block on each backend, side by side with numpy/OpenBLAS',
        (y) =>
          y
            .option('backends', { type: 'string', describe: 'comma-separated backends (default: all available)' })
            .option('reps', { type: 'number', default: 5, describe: 'repetitions; the median is reported' })
            .option('shape', { type: 'string', array: true, describe: 'm,n,d,l (repeatable); default 1024,8192,784,10 and 1024,8192,64,10' })
            .option('json', { type: 'boolean', describe: 'print a JSON array of results' })
            .example('kmfit bench', 'all backends, default shapes')
            .example('kmfit bench --backends wasm,js --shape 1024,8192,784,10 --json', 'one shape, JSON'),
        (a) => bench(a as BenchArgs),
      )
      .command(
        'info <model>',
        'Describe a saved model: kernel, sizes, plan, training history',
        (y) => y.positional('model', { type: 'string', demandOption: true }).option('json', { type: 'boolean' }),
        (a) => info(a as { model: string; json?: boolean }),
      )
      .strict()
      .recommendCommands()
      .fail((message, error) => {
        if (error) throw error;
        throw new KmfitError('INVALID_OPTION', `${message}${suggestion(message)}\nRun kmfit --help for the options.`);
      })
      .help()
      .parseAsync();
    return 0;
  } catch (error) {
    if (error instanceof KmfitError) {
      process.stderr.write(`kmfit: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

// A closed pipe (`kmfit info model | head`) is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.exitCode = await main(hideBin(process.argv));
