/**
 * The rules of resuming: which options a resumed run takes from its checkpoint and which it may
 * change, and the check that the data is the data the checkpoint was trained on.
 *
 * Options that decide what is trained (kernel, seed, sizes, step size, scaling, …) come from the
 * checkpoint; giving one with another value is refused, since the result would be neither the
 * original training nor a new one. Options about how and how long it runs (backend, threads,
 * callbacks, signal, checkpoint, epochs) are free: more epochs extend a finished run.
 */
import { crc32 } from '../io/npz.js';
import { float32Crc, isOpenedNpy, type OpenedNpy } from '../io/openedNpy.js';
import type { ClassLabel } from '../data/labels.js';
import { KmfitError } from '../errors.js';
import type { Matrix } from '../matrix.js';
import { DEFINING_OPTIONS, keptValue, type FitOptions } from '../options.js';
import type { Checkpoint, DataFingerprint } from './file.js';

/** The defining options that were given, as JSON data. */
export function definingOptions(options: FitOptions): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const key of DEFINING_OPTIONS) if (options[key] !== undefined) kept[key] = keptValue(key, options[key]);
  return kept;
}

function mismatch(path: string, what: string, remedy: string): KmfitError {
  return new KmfitError('CHECKPOINT_MISMATCH', `Cannot resume ${path}: ${what}. ${remedy}`);
}

/**
 * The options of the resumed run: the checkpoint's defining options, the given ones for the rest.
 * @throws KmfitError CHECKPOINT_MISMATCH for a defining option given with another value, fewer
 *   epochs than were done, or validation data given to a run trained without it (or the reverse).
 */
export function resumedOptions(checkpoint: Checkpoint, given: FitOptions, path: string): FitOptions {
  for (const key of DEFINING_OPTIONS) {
    const value = given[key];
    if (value === undefined) continue;
    const saved = checkpoint.options[key];
    const kept = keptValue(key, value);
    if (JSON.stringify(kept) !== JSON.stringify(saved)) {
      throw mismatch(
        path,
        `it was trained with ${key} ${saved === undefined ? 'left out' : JSON.stringify(saved)}, and ${JSON.stringify(kept)} was given`,
        `Leave ${key} out to continue with the checkpoint's, or train anew without resumeFrom.`,
      );
    }
  }
  const epochs = given.epochs;
  if (epochs !== undefined && epochs < checkpoint.state.epochsDone) {
    throw mismatch(path, `it has already done ${checkpoint.state.epochsDone} epochs, more than the ${epochs} asked for`, 'Ask for more epochs, or leave epochs out.');
  }
  const hadValidation = checkpoint.fingerprint.validation !== undefined;
  if (hadValidation !== (given.validation !== undefined)) {
    throw mismatch(
      path,
      hadValidation ? 'it was trained with validation data, and none was given' : 'it was trained without validation data, and some was given',
      hadValidation ? 'Pass the same validation data again.' : 'Leave validation out.',
    );
  }
  return { ...given, ...(checkpoint.options as FitOptions), epochs };
}

/**
 * CRC-32 of the float32 values, row-major. Features opened from disk are hashed as converted,
 * chunk by chunk: the same value as for the same data in memory, so a checkpoint trained either
 * way resumes either way.
 */
function crcOf(m: Matrix | OpenedNpy): number {
  if (isOpenedNpy(m)) return float32Crc(m);
  return crc32(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
}

/**
 * Sizes and CRC-32s of the training features (before scaling), targets and validation data. The
 * features may be a file opened with openNpy (the view of the feature columns), read once.
 */
export function dataFingerprint(X: Matrix | OpenedNpy, Y: Matrix, validation?: { readonly X: Matrix; readonly Y: Matrix }): DataFingerprint {
  return {
    rows: X.rows,
    features: X.cols,
    outputs: Y.cols,
    x: crcOf(X),
    y: crcOf(Y),
    ...(validation ? { validation: { rows: validation.X.rows, x: crcOf(validation.X), y: crcOf(validation.Y) } } : {}),
  };
}

/**
 * Checks that the data given to a resumed run is the checkpoint's.
 * @throws KmfitError CHECKPOINT_MISMATCH naming what differs.
 */
export function checkSameData(checkpoint: Checkpoint, actual: DataFingerprint, classes: readonly ClassLabel[] | undefined, path: string): void {
  const saved = checkpoint.fingerprint;
  const remedy = 'Resume with the data the checkpoint was trained on, or train anew without resumeFrom.';
  if (saved.rows !== actual.rows || saved.features !== actual.features) {
    throw mismatch(path, `it was trained on ${saved.rows} points of ${saved.features} features, and ${actual.rows} × ${actual.features} were given`, remedy);
  }
  if (JSON.stringify(checkpoint.classes ?? null) !== JSON.stringify(classes ?? null) || saved.outputs !== actual.outputs) {
    throw mismatch(path, `its ${checkpoint.task} targets have ${saved.outputs} columns${checkpoint.classes ? ` (classes ${JSON.stringify(checkpoint.classes)})` : ''}, unlike the labels given`, remedy);
  }
  if (saved.x !== actual.x) throw mismatch(path, 'the training features differ from those it was trained on (same size, other values)', remedy);
  if (saved.y !== actual.y) throw mismatch(path, 'the training labels differ from those it was trained on', remedy);
  const v = saved.validation;
  const w = actual.validation;
  if (v && w && (v.rows !== w.rows || v.x !== w.x || v.y !== w.y)) {
    throw mismatch(path, 'the validation data differs from the data it was validated on', 'Pass the same validation data again.');
  }
}
