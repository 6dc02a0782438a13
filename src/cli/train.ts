/**
 * `kmfit <data>`: read the data (a file or a built-in dataset: data.ts), train, report, save (unless
 * --no-save). Training checkpoints to a file as it goes (kept when asked for with --checkpoint,
 * removed after a successful run otherwise), so that a killed run can be resumed (resume.ts);
 * Ctrl-C, SIGTERM and SIGHUP stop it after the current iteration, save the checkpoint and the best
 * model so far, and exit with the signal's code (interrupt.ts). A checkpoint that cannot be written
 * is a warning; a model that cannot be saved is an error that says where the run can still be found.
 */
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { KmfitError } from '../errors.js';
import { previewClasses } from '../data/labels.js';
import { fit } from '../fit.js';
import type { KernelModel } from '../model/model.js';
import { unseenLabelsText } from '../model/summary.js';
import { CHECKPOINT_SCHEDULE_RULES, checkValue, type FitOptions } from '../options.js';
import { version } from '../version.js';
import { exitCodeOf, interruptOnSignals, stoppingNote } from './interrupt.js';
import { CheckpointLog, checkOutputPaths } from './outputs.js';
import { progressOnStderr } from './progress.js';
import { formatNumber, percent, renderCluster, renderDivergence, renderEpoch, renderHalvings, renderPlan, renderSearch, stoppedText } from './render.js';
import { isSearch } from '../../kernels/candidates.js';
import { TRAIN_OPTIONS, fitOptionsOf, type FitFlags } from './usage.js';
import { fitInput, resolveSplits, shaped, sizeOf, type DataArgs } from './data.js';
import { serverAccessOf, type ClusterAccessArgs } from './cluster.js';
import type { ClusterOptions } from '../cluster/options.js';

/** The training command's arguments: its data, fit()'s flags, what to write and print. */
export interface TrainArgs extends DataArgs, FitFlags, ClusterAccessArgs {
  cluster?: string;
  workers?: number;
  'cluster-run'?: string;
  'cluster-replicate'?: boolean;
  /** false: --no-save, the model is not written. */
  save?: string | false;
  /** false: --no-checkpoint, none is written. */
  checkpoint?: string | false;
  'checkpoint-every'?: number;
  json?: boolean;
  quiet?: boolean;
}

/** What a checkpoint written by the command keeps of its invocation, for `kmfit resume`. */
export interface CommandContext {
  readonly command: 'kmfit';
  /** The arguments, with file paths made absolute (json and quiet are the resuming call's). */
  readonly args: TrainArgs;
  /** Whether the checkpoint was asked for (--checkpoint or --checkpoint-every): it stays after success. */
  readonly keep: boolean;
}

/** A resumed run: the checkpoint, and a line saying where it stood. */
export interface Resuming {
  readonly from: string;
  readonly note: string;
  readonly keep: boolean;
}

/**
 * The arguments as a later `kmfit resume` needs them: the training options as typed (yargs'
 * camelCase twins and bookkeeping left out), files by absolute path; no model path after --no-save
 * (a resume writes none either, unless given --save).
 */
function resumableArgs(args: TrainArgs, modelPath: string | undefined): TrainArgs {
  const absolute = (file: string | undefined) => (file !== undefined && existsSync(file) ? path.resolve(file) : file);
  const kept = Object.fromEntries(
    Object.keys(TRAIN_OPTIONS)
      .filter((name) => name !== 'json' && name !== 'quiet' && args[name as keyof TrainArgs] !== undefined)
      .map((name) => [name, args[name as keyof TrainArgs]]),
  );
  return { ...kept, data: absolute(args.data)!, labels: absolute(args.labels), test: absolute(args.test), save: modelPath ?? false };
}

/** Beside the model: digits.kmfit → digits.checkpoint. */
function defaultCheckpointPath(modelPath: string): string {
  const parsed = path.parse(modelPath);
  return path.join(parsed.dir, `${parsed.ext === '.kmfit' ? parsed.name : parsed.base}.checkpoint`);
}

/** fit()'s cluster option from --cluster, --workers, --cluster-run and the access flags. */
function clusterOf(args: TrainArgs): ClusterOptions {
  if (args['cluster-run'] !== undefined && args.cluster === undefined) throw new KmfitError('INVALID_OPTION', '--cluster-run names a run on a cluster: give --cluster nats://HOST:PORT as well.');
  return {
    ...serverAccessOf(args.cluster!, args),
    workers: args.workers ?? 1,
    ...(args['cluster-run'] !== undefined ? { run: args['cluster-run'] } : {}),
    ...(args['cluster-replicate'] !== undefined ? { replicate: args['cluster-replicate'] } : {}),
  };
}

export async function train(args: TrainArgs, resuming?: Resuming): Promise<number> {
  if (args.workers !== undefined && args.cluster === undefined) throw new KmfitError('INVALID_OPTION', '--workers is the number of cluster workers: give --cluster nats://HOST:PORT as well.');
  const started = performance.now();
  // The flags are checked before the data is read: a typo should not wait for a large file.
  const flags = fitOptionsOf(args);
  // A search judges its candidates on held-out training data (the holdout): the test set stays a test.
  const searching = isSearch(flags);
  if (args['checkpoint-every'] !== undefined) checkValue('--checkpoint-every', CHECKPOINT_SCHEDULE_RULES.everyIterations, args['checkpoint-every']);
  if (args.checkpoint === false && args['checkpoint-every'] !== undefined) {
    throw new KmfitError('INVALID_OPTION', '--no-checkpoint writes no checkpoint, and --checkpoint-every asks for them: drop one of the two.');
  }
  if (searching && (typeof args.checkpoint === 'string' || args['checkpoint-every'] !== undefined)) {
    throw new KmfitError(
      'INVALID_OPTION',
      'a bandwidth search (several --bandwidth or --kernel values, or --bandwidth search) keeps no checkpoint to resume from: drop --checkpoint and --checkpoint-every, or train one bandwidth.',
    );
  }
  const say = (text: string) => {
    if (!args.quiet && !args.json) process.stdout.write(text + '\n');
  };
  const data = await resolveSplits({ ...args, onDisk: args.centers !== undefined });
  const { train: trainSet, test } = data;
  if (args['early-stopping'] !== undefined && (searching || !test)) {
    throw new KmfitError(
      'INVALID_OPTION',
      searching
        ? '--early-stopping judges epochs on the test data, which a bandwidth search keeps apart: drop --early-stopping, or train one bandwidth.'
        : '--early-stopping judges epochs on test data: give --test FILE or --test-split FRACTION as well.',
    );
  }
  const size = sizeOf(trainSet);
  say(
    `kmfit ${version} · ${data.name}: ${size.rows} training` +
      `${test ? ` and ${test.X.rows} test` : ''} points, ${size.cols} features` +
      ('file' in trainSet ? ' (read from disk batch by batch)' : ''),
  );
  if (data.inMemoryBecause) say(`note: ${data.name} is read into memory: ${data.inMemoryBecause}.`);
  const progress = progressOnStderr(!args.quiet && !args.json);
  const warn = (text: string) => {
    if (!args.quiet) {
      progress.clear();
      process.stderr.write(`kmfit: warning: ${text}\n`);
    }
  };
  if (data.labelsWarning) warn(data.labelsWarning);
  // --no-save: no model is written, so none is checked; the checkpoint still goes where it would.
  const defaultModelPath = path.resolve(data.defaultSave);
  const modelPath = args.save === false ? undefined : path.resolve(args.save ?? defaultModelPath);
  // --no-checkpoint (or a search): none is written, so its path is not checked either.
  const writesCheckpoint = resuming !== undefined || (args.checkpoint !== false && !searching);
  const checkpointPath = resuming?.from ?? path.resolve(args.checkpoint || defaultCheckpointPath(modelPath ?? defaultModelPath));
  const keepCheckpoint = resuming?.keep ?? (typeof args.checkpoint === 'string' || args['checkpoint-every'] !== undefined);
  checkOutputPaths([['data', args.data], ['labels', args.labels], ['test', args.test]], modelPath, writesCheckpoint ? checkpointPath : undefined);
  const context: CommandContext = { command: 'kmfit', args: resumableArgs(args, modelPath), keep: keepCheckpoint };
  const checkpoints = new CheckpointLog(checkpointPath, warn, context.args);
  if (resuming) say(resuming.note);
  const interrupt = interruptOnSignals((signal) => {
    progress.clear();
    say(stoppingNote(signal));
  });
  const interruptedCode = () => exitCodeOf(interrupt.received() ?? 'SIGINT');
  // Seconds since the process started (performance.now()'s origin) at each epoch's report, for
  // --json: what a benchmark timing the whole process puts beside its wall time.
  const reportedAt = new Map<number, number>();
  const options: FitOptions = {
    ...flags,
    ...(args.cluster !== undefined ? { cluster: clusterOf(args), onCluster: (report) => report && say(renderCluster(report)) } : {}),
    copyX: false, // the data read from the file is ours: no second copy of n·d floats
    labelName: 'labelName' in trainSet ? trainSet.labelName : undefined,
    validation: searching ? undefined : test && { X: shaped(test), y: test.y!, name: test.source },
    checkpoint: writesCheckpoint ? { path: checkpointPath, everyIterations: args['checkpoint-every'], context } : undefined,
    resumeFrom: resuming?.from,
    signal: interrupt.signal,
    // A search's refit (the kept candidate trained again on all rows) has a plan of its own.
    onPlan: (plan) => {
      say(`${plan.search?.refit ? `plan of the refit (${plan.search.refit})` : 'plan'}\n` + renderPlan(plan, searching ? 'held-out' : 'test'));
    },
    onEpoch: (report) => {
      reportedAt.set(report.epoch, performance.now() / 1000);
      progress.clear();
      say(renderEpoch(report, searching ? 'held-out' : 'test'));
    },
    onIteration: (report) => progress.iteration(report),
    onDivergence: (report) => {
      // Once: later halvings are in the plan (kmfit info) and the closing line.
      if (report.halvings === 1) warn(renderDivergence(report));
    },
    onCheckpoint: checkpoints.record,
  };
  let model: KernelModel;
  try {
    model = await fit(fitInput(trainSet), trainSet.y!, options);
  } catch (error) {
    if (error instanceof KmfitError && error.code === 'ABORTED' && interrupt.signal.aborted) {
      say('interrupted before the first iteration: nothing to save.');
      return interruptedCode();
    }
    if (error instanceof KmfitError && error.code === 'WORKER_LOST') throw checkpoints.workerLost(error, args.cluster!);
    throw error;
  } finally {
    interrupt.remove();
    progress.clear();
  }
  const kept = model.history[model.keptEpoch - 1];
  const testResult = test && (searching ? await scoredAfter(model, test) : {
    mse: kept?.validationMse,
    ...(model.task === 'classification' ? { error: kept?.validationError } : { r2: await model.score(shaped(test), test.y!) }),
  });
  if (model.search) say(renderSearch(model.search));
  try {
    if (modelPath !== undefined) await model.save(modelPath);
  } catch (error) {
    await model.dispose();
    // The checkpoint stays (it is not removed below): it is where the run can still be found.
    throw error instanceof KmfitError ? checkpoints.modelNotSaved(error) : error;
  }
  await model.dispose();
  const interrupted = model.stoppedBy === 'aborted';
  // A checkpoint nobody asked for served only while the run could be killed.
  if (writesCheckpoint && !interrupted && !keepCheckpoint) await unlink(checkpointPath).catch(() => undefined);
  const totalSeconds = (performance.now() - started) / 1000;
  // maxRSS is in KiB: the process's peak resident memory, for the benchmarks' memory figure.
  const peakBytes = process.resourceUsage().maxRSS * 1024;
  // On stderr, with --json too: the report on stdout stays JSON alone.
  const unseen = searching ? undefined : unseenTestLabels(model);
  if (unseen) warn(unseen);
  if (args.json) {
    // model.history's figures (the residual, halvings, a cache left among them), the test set's as val*.
    const history = model.history.map(({ validationMse, validationError, ...metrics }) => ({
      ...metrics,
      valMse: validationMse,
      valError: validationError,
      processSeconds: reportedAt.get(metrics.epoch),
    }));
    const result = {
      plan: model.plan,
      ...(model.search ? { search: model.search } : {}),
      history,
      keptEpoch: model.keptEpoch,
      stoppedBy: model.stoppedBy,
      test: testResult,
      modelPath: modelPath ?? null, // null: --no-save
      ...((interrupted || keepCheckpoint) && checkpoints.written ? { checkpointPath } : {}),
      totalSeconds,
      peakBytes,
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return interrupted ? interruptedCode() : 0;
  }
  if (testResult) {
    const score = 'error' in testResult ? `test error ${percent(testResult.error)}` : `test R² ${formatNumber(testResult.r2 ?? Number.NaN)}`;
    say(`${score} · test mse ${testResult.mse === undefined ? '—' : formatNumber(testResult.mse)} (epoch ${model.keptEpoch}, ${stoppedText(model)})`);
  }
  const halvings = model.plan.stepSizeHalvings;
  if (halvings) say(renderHalvings(halvings));
  if (interrupted) {
    const which = test && model.keptEpoch > 0 ? `the best model so far (epoch ${model.keptEpoch}, by test error)` : 'the model as it stood';
    const { saved, resume } = checkpoints.interrupted();
    say(`interrupted in epoch ${model.history.length + 1}: ${saved}; ${modelPath === undefined ? 'the model was not saved (--no-save)' : `${which} saved to ${modelPath}`}.`);
    if (resume) say(resume);
    return interruptedCode();
  }
  // Without test data the run shows no figure of how well it predicts: say how to get one.
  if (!testResult) say(`${model.history.length} epoch${model.history.length === 1 ? '' : 's'}: ${stoppedText(model)}; no test set scored (--test FILE, or --test-split 0.2 to hold out a fifth)`);
  say(`${totalSeconds.toFixed(1)} s in all · peak memory ${(peakBytes / 2 ** 30).toFixed(2)} GiB (resident) · ${modelPath === undefined ? 'model not saved (--no-save)' : `model saved to ${modelPath}`}`);
  if (keepCheckpoint) say(`checkpoint at ${checkpointPath}`);
  return 0;
}

/**
 * Where test labels are not among the training classes (each counts as an error), how many and
 * the first: most often the wrong file or label column, which would otherwise show only as a high
 * test error.
 */
function unseenTestLabels(model: KernelModel): string | undefined {
  const unseen = model.plan.unseenValidationLabels;
  if (!unseen || !model.classes) return undefined;
  return `${unseenLabelsText(unseen, 'test', previewClasses(model.classes))}; each counts as an error (is the label column the same in both files?)`;
}

/** The test figures of a model whose training did not see the test set (a search's). */
async function scoredAfter(model: KernelModel, test: Parameters<typeof shaped>[0] & { y?: unknown }): Promise<{ mse?: number; error?: number; r2?: number }> {
  const X = shaped(test);
  const y = test.y as Parameters<KernelModel['score']>[1];
  if (model.task === 'classification') return { error: 1 - (await model.score(X, y)) };
  return { mse: await model.meanSquaredError(X, y), r2: await model.score(X, y) };
}
