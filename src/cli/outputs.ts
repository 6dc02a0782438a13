/**
 * The files a training command writes, the model and its checkpoint: that they land on none of
 * the files it reads, and what it says when they cannot be written. A checkpoint that fails is a
 * warning (training goes on); a model that cannot be saved is an error that says where the run
 * can still be found.
 */
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CheckpointReport } from '../options.js';
import { KmfitError } from '../errors.js';
import { folderProblem } from '../io/atomicWrite.js';
import { BUILTIN_DATASETS } from './data.js';

/** The files of a training command that a checkpoint names: the model it writes (false: --no-save), the data it reads. */
const RUN_FILE_OPTIONS = ['save', 'data', 'labels', 'test'] as const;
export type RunFiles = { readonly [option in (typeof RUN_FILE_OPTIONS)[number]]?: option extends 'save' ? string | false : string };

/** A path as one word of a shell command: as it is when plain, else in single quotes. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

/** The directory's real path (symbolic links resolved), or the path itself if it does not exist. */
export function realDirectory(directory: string): string {
  try {
    return realpathSync(directory);
  } catch {
    return directory;
  }
}

/**
 * Whether `kmfit resume` uses a file its checkpoint names only when it is named again: a path outside
 * the checkpoint's folder (an edited checkpoint must not make resume read or write any file it likes).
 */
export function outsideCheckpointFolder(option: keyof RunFiles, file: string, checkpoint: string): boolean {
  if (option === 'data' && Object.hasOwn(BUILTIN_DATASETS, file)) return false; // a dataset's name, not a path
  return !(path.isAbsolute(file) && realDirectory(path.dirname(file)) === realDirectory(path.dirname(path.resolve(checkpoint))));
}

/**
 * A file the run will write can be: it is not a directory, and its directory exists and takes
 * files. Checked before training, so that a typo in a path does not cost the training.
 */
function checkWritable(output: string, file: string, noun: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new KmfitError('INVALID_OPTION', `${output} ${file} is a directory; give the ${noun} a file name (e.g. ${path.join(file, `run.${noun === 'model' ? 'kmfit' : noun}`)}).`);
  }
  const problem = folderProblem(file);
  if (problem) throw new KmfitError(problem.code, `${output} ${file}: ${problem.reason}; give another path.`);
  try {
    accessSync(path.dirname(file), constants.W_OK);
  } catch {
    throw new KmfitError('IO_ERROR', `${output} ${file}: the directory ${path.dirname(file)} is not writable; give a path where you can write.`);
  }
}

/**
 * The model (none after --no-save) and the checkpoint must not land on the files the run reads,
 * nor on each other, and must be writable where they are.
 */
export function checkOutputPaths(inputs: readonly (readonly [role: string, file: string | undefined])[], modelPath: string | undefined, checkpointPath: string | undefined): void {
  const read = inputs.filter(([, file]) => file !== undefined && existsSync(file));
  const outputs = [...(modelPath === undefined ? [] : [['--save', modelPath, 'model'] as const]), ...(checkpointPath === undefined ? [] : [['the checkpoint', checkpointPath, 'checkpoint'] as const])];
  for (const [output, file, noun] of outputs) {
    const clash = read.find(([, input]) => path.resolve(input!) === file);
    if (clash) throw new KmfitError('INVALID_OPTION', `${output} ${file} is also the ${clash[0]} file the run reads; give the ${noun} a path of its own.`);
    checkWritable(output, file, noun);
  }
  if (modelPath !== undefined && modelPath === checkpointPath) {
    throw new KmfitError('INVALID_OPTION', `--save ${modelPath} is also the checkpoint's path; give the model a path of its own (e.g. ending in .kmfit).`);
  }
}

/** Follows a run's checkpoint writes: the last one written, and whether a later one failed. */
export class CheckpointLog {
  private last: CheckpointReport | undefined;
  /** The message of the last write that failed since the last one written. */
  private failure: string | undefined;

  /**
   * @param files the run's files, as its checkpoint keeps them: those outside the checkpoint's folder
   *   are named in the resume commands it gives, as resume asks for them.
   */
  constructor(
    private readonly path: string,
    private readonly warn: (text: string) => void,
    private readonly files: RunFiles = {},
  ) {}

  /** `kmfit resume PATH`, with the files it would not find by itself, and `--save` or not. */
  private resumeCommand(save: 'save' | 'no save'): string {
    const named = RUN_FILE_OPTIONS.flatMap((option) => {
      const file = this.files[option];
      return typeof file === 'string' && (option !== 'save' || save === 'save') && outsideCheckpointFolder(option, file, this.path) ? [`--${option} ${shellWord(file)}`] : [];
    });
    return ['kmfit resume', shellWord(this.path), ...named].join(' ');
  }

  /** For fit()'s onCheckpoint. */
  readonly record = (report: CheckpointReport): void => {
    if (!report.error) {
      this.last = report;
      this.failure = undefined;
      return;
    }
    // Once per cause: a full disk stays full for many checkpoints.
    if (report.error.message !== this.failure) this.warn(`checkpoint not written: ${report.error.message}; training goes on`);
    this.failure = report.error.message;
  };

  /** Whether a checkpoint was written at the path (the last write may have failed since). */
  get written(): boolean {
    return this.last !== undefined;
  }

  /** What an interrupted run says about its checkpoint, and how to continue, if it can. */
  interrupted(): { saved: string; resume?: string } {
    // A run that writes none (a bandwidth search) has nothing to resume from.
    if (this.failure === undefined && this.last === undefined) return { saved: 'no checkpoint was written, so the run cannot be resumed' };
    if (this.failure === undefined) return { saved: `checkpoint saved to ${this.path}`, resume: `Continue with: ${this.resumeCommand('save')}` };
    const saved = `the checkpoint could not be saved (${this.failure})`;
    return this.last ? { saved, resume: `Continue from iteration ${this.last.totalIterations} with: ${this.resumeCommand('save')}` } : { saved };
  }

  /** A lost cluster worker, with where the run can be continued from. */
  workerLost(error: KmfitError, server: string): KmfitError {
    const what = error.message.replace(/ Training stopped;.*$/, '');
    const where = this.last
      ? `Training stopped; the checkpoint ${this.path} holds its first ${this.last.totalIterations} iterations. ` +
        `Start a worker again (kmfit worker --server ${server}) and continue with: ${this.resumeCommand('save')}`
      : `Training stopped before its first checkpoint: start the workers again (kmfit worker --server ${server}) and train anew.`;
    return new KmfitError(error.code, `${what} ${where}`, { cause: error });
  }

  /** A failed save of the model, with where the run can still be found. */
  modelNotSaved(error: KmfitError): KmfitError {
    // A run that wrote none (--no-checkpoint, a search) has no checkpoint to hold it.
    const holds = !this.last ? undefined : this.failure === undefined ? 'as it ended' : `up to iteration ${this.last.totalIterations}`;
    const where = holds
      ? `The checkpoint ${this.path} holds the run ${holds}: free some space, or write the model to another disk with: ` +
        `${this.resumeCommand('no save')} --save OTHER/PATH.kmfit`
      : this.failure !== undefined
        ? 'No checkpoint could be written either: free some space, or train again with --save and --checkpoint on another disk.'
        : 'No checkpoint holds the run: free some space, or train again with --save on another disk.';
    return new KmfitError(error.code, `the model was not saved: ${error.message}. ${where}`, { cause: error });
  }
}
