/**
 * A kind of kmfit file (a model, a checkpoint: io/modelFile.ts) and the error for a file that is
 * not one, apart from the container so that whole-file readers (io/wholeFile.ts, a host's file
 * access) can name the kind without depending on the container.
 */
import { KmfitError } from '../errors.js';

/** A kind of kmfit file in this container: its format name and version, and how messages name it. */
export interface FileKind {
  readonly format: string;
  /** The newest formatVersion this kmfit writes and reads. */
  readonly version: number;
  /** "model", "checkpoint". */
  readonly noun: string;
  /** Where files of this kind come from. */
  readonly writtenBy: string;
  /** What to do about a damaged one. */
  readonly damagedHint: string;
  /** What a file of this kind is, said when another kind was expected. */
  readonly isInstead: string;
  /** What to do where there is no file system (a web page), as a clause. */
  readonly withoutFiles: string;
}

/** The file at `source` is not a kmfit file of `kind`: `what` says what it is instead. */
export function foreignFileError(source: string, what: string, kind: FileKind): KmfitError {
  return new KmfitError('MODEL_FILE_FOREIGN', `${source} is not a kmfit ${kind.noun} file (${what}); ${kind.writtenBy}`);
}
