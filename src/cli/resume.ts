/**
 * `kmfit resume CHECKPOINT`: continues a training the kmfit command checkpointed, with the
 * arguments it kept in the checkpoint (the same data files, options and model path, or no model
 * after --no-save unless this invocation gives --save); only how and how long it runs may change
 * (--epochs, --backend, --threads, --checkpoint-every, --json, --quiet).
 *
 * A checkpoint is a file that can be edited or received from someone else, so its command line is
 * parsed as if typed (the same types, choices and unknown options), and the files it names are
 * used only in the checkpoint's own folder: elsewhere resume refuses and says how to name the file
 * in this invocation (--save, --data, --labels, --test).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readCheckpoint } from '../checkpoint/file.js';
import { KmfitError, describeValue } from '../errors.js';
import { BUILTIN_DATASETS } from './data.js';
import { outsideCheckpointFolder, realDirectory, shellWord } from './outputs.js';
import { train, type CommandContext, type TrainArgs } from './train.js';
import { RESUME_OPTIONS } from './usage.js';

export interface ResumeArgs {
  checkpoint: string;
  epochs?: number;
  /** false: --no-save. */
  save?: string | false;
  data?: string;
  labels?: string;
  test?: string;
  backend?: string;
  threads?: number;
  'checkpoint-every'?: number;
  json?: boolean;
  quiet?: boolean;
}

/** Parses a training command line as `kmfit <data> …` does (commands.ts). */
export type TrainingCommandParser = (argv: readonly string[]) => Promise<TrainArgs>;

/** The files of a training command, and whether resume writes or reads each. */
const FILE_OPTIONS = [
  { option: 'save', role: 'model', writes: true },
  { option: 'data', role: 'training data', writes: false },
  { option: 'labels', role: 'labels file', writes: false },
  { option: 'test', role: 'test file', writes: false },
] as const;

function unusable(checkpoint: string, what: string): KmfitError {
  return new KmfitError('MODEL_FILE_FOREIGN', `${checkpoint} is not a checkpoint this kmfit can use: ${what}. Resume from another checkpoint, or train anew.`);
}

function storedContext(context: unknown, checkpoint: string): { args: Record<string, unknown>; keep: boolean } {
  if (typeof context !== 'object' || context === null) {
    throw new KmfitError(
      'INVALID_FILE',
      `${checkpoint} was written by fit() in a program, not by the kmfit command, so it does not say which files to ` +
        'read: resume it from that program with fit(X, y, { resumeFrom }).',
    );
  }
  const { command, args, keep } = context as Partial<Record<keyof CommandContext, unknown>>;
  if (command !== 'kmfit' || typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw unusable(checkpoint, 'its context is not the command line of a kmfit training');
  }
  return { args: args as Record<string, unknown>, keep: keep === true };
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * The stored arguments as the words of a command line. Every option is one `--name=value` word,
 * so that no value can read as another option. Checkpoints of kmfit 0.1 also hold yargs'
 * bookkeeping (`_`, `$0`, camelCase twins of each option), which no command line types.
 */
function commandLine(args: Record<string, unknown>, checkpoint: string): string[] {
  const { data, _: extra, $0: _program, ...options } = args;
  if (typeof data !== 'string' || data === '' || data.startsWith('-')) throw unusable(checkpoint, `its data is ${describeValue(data)}`);
  if (extra !== undefined && !(Array.isArray(extra) && extra.length === 0)) throw unusable(checkpoint, `its command line has extra words ${describeValue(extra)}`);
  const words = [data];
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || value === null) continue;
    if (/[A-Z]/.test(name) && options[kebab(name)] === value) continue; // yargs' twin of --kebab-name
    if (typeof value === 'boolean') words.push(value ? `--${name}` : `--no-${name}`);
    else if (typeof value === 'string' || typeof value === 'number') words.push(`--${name}=${value}`);
    else throw unusable(checkpoint, `its --${name} is ${describeValue(value)}, which no command line gives`);
  }
  return words;
}

/**
 * Refuses the files the checkpoint names outside its own folder, unless this invocation names them
 * itself: an edited checkpoint must not make resume overwrite, or read, any file it likes.
 */
function checkStoredFiles(stored: TrainArgs, given: ResumeArgs, checkpoint: string): void {
  const outside = FILE_OPTIONS.filter(({ option }) => {
    const file = stored[option]; // false: a --no-save run, which names no model
    return typeof file === 'string' && given[option] === undefined && outsideCheckpointFolder(option, file, checkpoint);
  });
  if (outside.length === 0) return;
  const folder = realDirectory(path.dirname(path.resolve(checkpoint)));
  const named = outside.map(({ option, role }) => `${role} ${describeValue(stored[option])}`).join(' and ');
  // The model's path is left for the user to choose: the stored one may be any file.
  const options = outside.map(({ option, writes }) => `--${option} ${writes ? 'MODEL.kmfit' : shellWord(stored[option]!)}`).join(' ');
  throw new KmfitError(
    'INVALID_OPTION',
    `${checkpoint} names its ${named} outside the checkpoint's folder ${folder}; kmfit resume reads and writes only ` +
      `the files there and the ones you name. Name them yourself: kmfit resume ${shellWord(checkpoint)} ${options}`,
  );
}

/** The files the checkpoint reads must still be there, unless this invocation names them: else how to name them. */
function checkStoredFilesExist(stored: TrainArgs, given: ResumeArgs, checkpoint: string): void {
  for (const { option, role, writes } of FILE_OPTIONS) {
    const file = stored[option];
    if (writes || typeof file !== 'string' || given[option] !== undefined || existsSync(file)) continue;
    if (option === 'data' && Object.hasOwn(BUILTIN_DATASETS, file)) continue;
    throw new KmfitError(
      'FILE_NOT_FOUND',
      `the ${role} ${file} that ${checkpoint} was trained with is gone; if it moved, name it: kmfit resume ${shellWord(checkpoint)} --${option} NEW/PATH`,
    );
  }
}

export async function resume(args: ResumeArgs, parseTrainingCommand: TrainingCommandParser): Promise<number> {
  const from = path.resolve(args.checkpoint);
  const checkpoint = await readCheckpoint(from);
  const context = storedContext(checkpoint.context, args.checkpoint);
  let stored: TrainArgs;
  try {
    stored = await parseTrainingCommand(commandLine(context.args, args.checkpoint));
  } catch (error) {
    if (!(error instanceof KmfitError)) throw error;
    throw unusable(args.checkpoint, `its command line is refused (${error.message.replace(/ \(kmfit --help.*\)$/, '')})`);
  }
  checkStoredFiles(stored, args, args.checkpoint);
  checkStoredFilesExist(stored, args, args.checkpoint);
  const { state, plan } = checkpoint;
  const epochs = args.epochs ?? plan.epochs;
  const where =
    state.finished !== undefined && epochs <= state.epochsDone
      ? `it finished (${state.finished}) after ${state.epochsDone} epochs`
      : `${state.epochsDone} of ${epochs} epochs done${state.order ? `, ${state.epochIterations} iterations into epoch ${state.epochsDone + 1}` : ''}`;
  const changes = Object.keys(RESUME_OPTIONS).filter((name) => args[name as keyof ResumeArgs] !== undefined);
  const merged: TrainArgs = {
    ...stored,
    ...Object.fromEntries(changes.map((name) => [name, args[name as keyof ResumeArgs]])),
    json: args.json,
    quiet: args.quiet,
  };
  return train(merged, { from, note: `resuming ${from}: ${where}`, keep: context.keep });
}
