/**
 * The one error type kmfit throws on bad input or an impossible request. `code` is a closed set so
 * that callers (and the CLI) can branch on it; `message` says what is wrong, the value found, and
 * what to do about it. A broken internal invariant (a bug in kmfit, not in the input) is a plain
 * Error instead.
 */
/** Every code a KmfitError carries. docs/errors.md is the table of what each means, when it is thrown and what to do. */
export const KMFIT_ERROR_CODES = [
  'EMPTY_DATA',
  'INVALID_SHAPE',
  'LENGTH_MISMATCH',
  'NON_FINITE',
  'INVALID_LABELS',
  'SINGLE_CLASS',
  'FEATURE_MISMATCH',
  'INVALID_OPTION',
  'UNKNOWN_OPTION',
  'UNKNOWN_KERNEL',
  'INVALID_KERNEL_FORMULA',
  'UNKNOWN_BACKEND',
  'MODEL_FILE_FOREIGN',
  'MODEL_FILE_TRUNCATED',
  'MODEL_FILE_VERSION',
  'INVALID_FILE',
  'FILE_NOT_FOUND',
  'IO_ERROR',
  'DATASET_UNAVAILABLE',
  'MISSING_PACKAGE',
  'ABORTED',
  'DIVERGED',
  'INSUFFICIENT_MEMORY',
  'CHECKPOINT_MISMATCH',
  'CLUSTER_UNREACHABLE',
  'CLUSTER_WORKERS',
  'WORKER_LOST',
  'UNSUPPORTED_HERE',
] as const;

export type KmfitErrorCode = (typeof KMFIT_ERROR_CODES)[number];

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

/** A file path argument is a non-empty string; else INVALID_OPTION naming the call, e.g. "model.save(path)". */
export function checkPath(path: unknown, what: string): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new KmfitError('INVALID_OPTION', `${what} takes a file path, a non-empty string; got ${describeValue(path)}.`);
  }
}
