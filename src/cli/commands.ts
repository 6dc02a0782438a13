/**
 * The `kmfit` command's commands and options: yargs wiring only. Training and file formats live in
 * the library; the rendering of its reports lives in render.ts; main.ts runs it as a process.
 */
import yargs, { type Argv } from 'yargs';
import { KmfitError } from '../errors.js';
import { version } from '../version.js';
import { bench, type BenchArgs } from './bench.js';
import { devices } from './devices.js';
import { info } from './info.js';
import { predict, type PredictArgs } from './predict.js';
import { resume, type ResumeArgs } from './resume.js';
import { scaling, type ScalingArgs } from './scaling.js';
import { BUILTIN_DATASETS } from './data.js';
import { train, type TrainArgs } from './train.js';
import { worker, type WorkerArgs } from './worker.js';
import {
  BENCH_OPTIONS, DEBUG_OPTION, DEVICES_OPTIONS, INFO_OPTIONS, PREDICT_OPTIONS, RESUME_OPTIONS, SCALING_OPTIONS, TRAIN_OPTIONS, WORKER_OPTIONS, checkValues, usageError,
} from './usage.js';

/** `kmfit <data> [options]`: its positional and options (also what a checkpoint's command line is held to). */
function trainingCommand(y: Argv) {
  return y
    .positional('data', {
      describe: `a .npy, .npz, IDX, libsvm or CSV/TSV file, or a built-in dataset: ${Object.keys(BUILTIN_DATASETS).join(', ')}`,
      type: 'string',
      demandOption: true,
    })
    .options(TRAIN_OPTIONS);
}

/**
 * Parses a training command line exactly as `kmfit <data> …` parses it (types, choices, unknown
 * options), without running it: `kmfit resume` holds a checkpoint's stored command line to it.
 * @throws KmfitError UNKNOWN_OPTION or INVALID_OPTION, as the typed command would.
 */
async function parseTrainingCommand(argv: readonly string[]): Promise<TrainArgs> {
  const parsed = await yargs([...argv])
    .command('$0 <data>', '', trainingCommand)
    .option('debug', DEBUG_OPTION)
    .strict()
    .check((parsed) => (checkValues(parsed, argv), true))
    .help(false)
    .version(false)
    .fail((message, error) => {
      if (error && error.name !== 'YError') throw error; // a YError is yargs' own usage failure (--epochs without a value)
      throw usageError(message, argv);
    })
    .parseAsync();
  return parsed as unknown as TrainArgs;
}

/** Exit codes: 0 success, 2 bad usage or bad input (a KmfitError), 128 + the signal's number when a signal stopped training (Ctrl-C 130, SIGTERM 143, SIGHUP 129), 1 anything else. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  try {
    await yargs(argv)
      .scriptName('kmfit')
      .version(version)
      .command(
        '$0 <data>',
        'Train a kernel machine on a dataset and save it',
        (y) =>
          trainingCommand(y)
            .example('kmfit datasets/mnist.npy --test datasets/mnist-test.npy', 'features with the label in the last column (npm run datasets writes these)')
            .example('kmfit iris.csv --label species --test-split 0.2', 'a CSV with a header; 20 % held out (seeded)')
            .example('kmfit a9a.svm --test a9a-test.svm', 'libsvm text (densified; the test file takes the training width)')
            .example('kmfit mnist --train-size 5000 --kernel gaussian --bandwidth 5 --epochs 3', 'the built-in MNIST, 5 000 points, 3 epochs'),
        async (a) => {
          code = await train(a as TrainArgs);
        },
      )
      .command(
        'resume <checkpoint>',
        'Continue a training from its checkpoint (after a kill, a crash or Ctrl-C), with the same data and options',
        (y) =>
          y
            .positional('checkpoint', { type: 'string', demandOption: true, describe: 'a checkpoint written by kmfit (--checkpoint, or the one Ctrl-C saves)' })
            .options(RESUME_OPTIONS)
            .example('kmfit resume digits.checkpoint', 'continue where the interrupted run stopped')
            .example('kmfit resume digits.checkpoint --epochs 10', 'train a finished run for more epochs'),
        async (a) => {
          code = await resume(a as ResumeArgs, parseTrainingCommand);
        },
      )
      .command(
        'worker',
        'Join a NATS server as a worker that holds a shard of the centers of a training run (kmfit <data> --cluster)',
        (y) =>
          y
            .options(WORKER_OPTIONS)
            .example('kmfit worker --server nats://10.0.0.5:4222 --threads 16', 'wait for a run, compute its shard on 16 threads')
            .example('kmfit worker --server tls://nats.lan:4222 --cluster-user kmfit --cluster-password-file ~/.kmfit-nats --cluster-tls-ca ca.pem', 'with a password and TLS'),
        async (a) => {
          code = await worker(a as unknown as WorkerArgs);
        },
      )
      .command(
        'predict <model> <data>',
        'Predict labels or values for each row of a data file, and score them when it has labels',
        (y) =>
          y
            .positional('model', { type: 'string', demandOption: true, describe: 'a .kmfit model file' })
            .positional('data', { type: 'string', demandOption: true, describe: 'a data file (with or without its label column), or a built-in dataset (its test set)' })
            .options(PREDICT_OPTIONS)
            .example('kmfit predict mnist.kmfit datasets/mnist-test.npy', 'labels on stdout, the error on stderr')
            .example('kmfit predict model.kmfit new.csv --out predictions.csv', 'predictions to a file'),
        (a) => predict(a as PredictArgs),
      )
      .command(
        'scaling <data>',
        'Measure how iterations and time to a target depend on the batch size, plain and preconditioned',
        (y) =>
          y
            .positional('data', { type: 'string', demandOption: true, describe: 'a data file or a built-in dataset, as for training' })
            .options(SCALING_OPTIONS)
            .example('kmfit scaling mnist --train-size 10000 --kernel gaussian --bandwidth 5 --out scaling/', 'the study behind docs/scaling.md')
            .example('kmfit scaling data.npy --batch-sizes 1,4,16,64,256 --max-seconds 30 --json', 'chosen batch sizes, shorter caps, JSON'),
        (a) => scaling(a as ScalingArgs),
      )
      .command(
        'bench',
        'Time the fused kernel block on each backend, side by side with numpy/OpenBLAS',
        (y) =>
          y
            .options(BENCH_OPTIONS)
            .example('kmfit bench', 'all backends, default shapes')
            .example('kmfit bench --backends wasm,js --shape 1024,8192,784,10 --json', 'one shape, JSON')
            .example('kmfit bench --grid --reps 3', "'auto''s choice on each shape of the grid, against the fastest backend"),
        (a) => bench(a as BenchArgs),
      )
      .command(
        'devices',
        "List the backends that run here, their devices, and the one 'auto' picks",
        (y) => y.options(DEVICES_OPTIONS).example('kmfit devices', 'a table: backend, available or why not, device').example('kmfit devices --json', 'as JSON'),
        (a) => devices(a as { json?: boolean }),
      )
      .command(
        'info <model>',
        'Describe a saved model: kernel, sizes, plan, training history',
        (y) =>
          y
            .positional('model', { type: 'string', demandOption: true, describe: 'a .kmfit model file' })
            .options(INFO_OPTIONS)
            .example('kmfit info mnist.kmfit', 'what the model is and how it was trained')
            .example('kmfit info mnist.kmfit --json', 'the same as one JSON object'),
        (a) => info(a as { model: string; json?: boolean }),
      )
      .option('debug', DEBUG_OPTION)
      .strict()
      .check((parsed) => (checkValues(parsed, argv), true))
      .recommendCommands()
      .fail((message, error) => {
        if (error && error.name !== 'YError') throw error; // a YError is yargs' own usage failure (--epochs without a value)
        throw usageError(message, argv);
      })
      .help()
      .alias('help', 'h')
      .parseAsync();
    return code;
  } catch (error) {
    if (error instanceof KmfitError) {
      process.stderr.write(`kmfit: ${error.message}\n`);
      return 2;
    }
    const detail = argv.includes('--debug') && error instanceof Error ? `\n${error.stack}` : ' (run with --debug for the stack trace)';
    process.stderr.write(`kmfit: unexpected error: ${error instanceof Error ? error.message : String(error)}${detail}\n`);
    return 1;
  }
}
