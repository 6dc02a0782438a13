/**
 * The one error type kmfit throws on bad input or an impossible request. `code` is a closed set so
 * that callers (and the CLI) can branch on it; `message` says what is wrong, the value found, and
 * what to do about it.
 */
export type KmfitErrorCode =
  | 'EMPTY_DATA' // no rows, or no columns
  | 'INVALID_SHAPE' // ragged rows, wrong rank, data length that does not match the shape
  | 'LENGTH_MISMATCH' // X and y of different lengths
  | 'NON_FINITE' // NaN or ±Inf in the input
  | 'INVALID_LABELS' // labels of mixed or unsupported types
  | 'SINGLE_CLASS' // classification with one class
  | 'FEATURE_MISMATCH' // predict input with a different number of features than training
  | 'INVALID_OPTION' // an option with a value out of range or of the wrong type
  | 'UNKNOWN_OPTION' // an option kmfit does not have
  | 'UNKNOWN_KERNEL' // a kernel name kmfit does not know
  | 'INVALID_KERNEL_FORMULA' // a custom kernel formula that does not parse or is not a valid kernel
  | 'UNKNOWN_BACKEND' // a backend name kmfit does not know, or one that is not available here
  | 'MODEL_FILE_FOREIGN' // a file that is not a kmfit model
  | 'MODEL_FILE_TRUNCATED' // a kmfit model file that is cut short or damaged
  | 'MODEL_FILE_VERSION' // a kmfit model file from a newer, unknown format version
  | 'INVALID_FILE' // a data file in a format kmfit does not read, or without the expected arrays
  | 'FILE_NOT_FOUND'
  | 'IO_ERROR'
  | 'DATASET_UNAVAILABLE' // a built-in dataset whose files are not installed
  | 'MISSING_PACKAGE' // an optional package the call needs (the chart libraries) is not installed
  | 'ABORTED' // training cancelled through an AbortSignal before anything could be kept
  | 'DIVERGED' // the training loss kept growing after several halvings of the step size
  | 'INSUFFICIENT_MEMORY' // a plan that does not fit the memory of the backend or the process
  | 'CHECKPOINT_MISMATCH'; // resuming a checkpoint with other data or other training options

const BRAND = Symbol.for('kmfit.KmfitError');

export class KmfitError extends Error {
  readonly code: KmfitErrorCode;

  /**
   * `instanceof KmfitError` holds for a KmfitError from any copy of this class: kmfit's CommonJS
   * entry points (kmfit, kmfit/notebook, kmfit/plot) each bundle their own.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  constructor(code: KmfitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KmfitError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Short, readable rendering of a value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'function') return 'a function';
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}
