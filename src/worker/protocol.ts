/**
 * What fitInWorker (the page's side, fitInWorker.ts) and its Web Worker (fitWorker.ts) say to each
 * other, and the one place that decides what of fit()'s arguments can cross: data crosses by
 * structured clone, the progress callbacks cross as messages, an AbortSignal as an 'abort' message,
 * and anything else that cannot be cloned (a function, a symbol) is refused before a worker starts.
 */
import { toMatrix, isNdArrayLike, type MatrixInput, type RowsColsInput } from '../data/input.js';
import type { LabelInput } from '../data/labels.js';
import { KmfitError, type KmfitErrorCode } from '../errors.js';
import type { DecodedModelFile } from '../io/modelFile.js';
import { FIT_OPTIONS, validateOptions, type FitOptionName, type FitOptions } from '../options.js';

/** The options whose values are callbacks (check kind 'function' in FIT_OPTIONS): the worker calls them by message. */
export type CallbackName = { [K in FitOptionName]: (typeof FIT_OPTIONS)[K]['check'] extends { kind: 'function' } ? K : never }[FitOptionName];

export const CALLBACK_NAMES = (Object.keys(FIT_OPTIONS) as FitOptionName[]).filter(
  (name): name is CallbackName => FIT_OPTIONS[name].check.kind === 'function',
);

/** fit()'s options as they travel: no callbacks, no signal. */
export type PortableOptions = Omit<FitOptions, CallbackName | 'signal'>;

/** Page → worker: train. */
export interface FitRequest {
  readonly type: 'fit';
  readonly X: RowsColsInput;
  readonly y: LabelInput;
  readonly options: PortableOptions;
  /** The callbacks the page was given: the worker reports only these. */
  readonly callbacks: readonly CallbackName[];
  /** The page's signal had already fired. */
  readonly aborted: boolean;
}

export type ToWorker = FitRequest | { readonly type: 'abort' };

/** An error as it crosses: a KmfitError keeps its code. */
export interface ErrorMessage {
  readonly name: string;
  readonly message: string;
  readonly code?: KmfitErrorCode;
}

/** Worker → page: it has started; a callback's report; the trained model as a model file's contents, or why not. */
export type FromWorker =
  | { readonly type: 'started' }
  | { readonly type: 'callback'; readonly name: CallbackName; readonly report: unknown }
  | { readonly type: 'trained'; readonly model: DecodedModelFile }
  | { readonly type: 'failed'; readonly error: ErrorMessage };

/** A typed array that is a view of part of a larger buffer is cloned with all of that buffer: send only its part. */
function ownBuffer<T extends ArrayBufferView & { slice(): T }>(array: T): T {
  return array.byteLength === array.buffer.byteLength ? array : array.slice();
}

/**
 * A matrix as it crosses. An ndarray would lose its methods in the clone and number[][] clones
 * slowly, so both become one Float32Array here (a Float32Array given is sent as it is).
 */
function portableMatrix(input: MatrixInput, what: string): RowsColsInput {
  const { data, rows, cols } = toMatrix(input, what, { copy: false });
  return { data: ownBuffer(data), rows, cols };
}

function portableLabels(y: LabelInput): LabelInput {
  if (isNdArrayLike(y)) return portableMatrix(y, 'y');
  return ArrayBuffer.isView(y) ? ownBuffer(y as Float64Array) : y;
}

/** The first function or symbol inside `value` (which structured cloning refuses): where, and which. */
function firstUncloneable(value: unknown, path: string): { path: string; kind: string } | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') return { path, kind: typeof value };
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const found = firstUncloneable(inner, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}

/**
 * fit()'s arguments as the worker receives them, checked here first so that bad options fail at
 * once, with fit()'s own messages.
 * @throws KmfitError as fit() does for bad options and data shapes; INVALID_OPTION for an option
 *   that holds a function other than the known callbacks.
 */
export function fitRequest(X: MatrixInput, y: LabelInput, options: FitOptions | undefined): FitRequest {
  const given = validateOptions(options);
  const portable: Record<string, unknown> = {};
  const callbacks: CallbackName[] = [];
  for (const [name, value] of Object.entries(given) as [FitOptionName, unknown][]) {
    // The data options are converted below, not searched element by element.
    if (value === undefined || name === 'signal' || name === 'validation' || name === 'centers') continue;
    if ((CALLBACK_NAMES as readonly string[]).includes(name)) {
      callbacks.push(name as CallbackName);
      continue;
    }
    const found = firstUncloneable(value, name);
    if (found) {
      throw new KmfitError(
        'INVALID_OPTION',
        `fitInWorker cannot send the '${name}' option to its Web Worker: ${found.path} is a ${found.kind}, which cannot be copied to a worker. ` +
          `Only the callbacks (${CALLBACK_NAMES.join(', ')}) and signal are forwarded; pass data instead, or call fit() in a worker of your own.`,
      );
    }
    portable[name] = value;
  }
  if (given.validation) {
    const { X, y, name } = given.validation;
    portable.validation = { X: portableMatrix(X, name ?? 'validation.X'), y: portableLabels(y), ...(name === undefined ? {} : { name }) };
  }
  if (given.centers !== undefined) portable.centers = typeof given.centers === 'number' ? given.centers : portableMatrix(given.centers, 'centers');
  return { type: 'fit', X: portableMatrix(X, 'X'), y: portableLabels(y), options: portable as PortableOptions, callbacks, aborted: given.signal?.aborted ?? false };
}

export function errorMessage(error: unknown): ErrorMessage {
  if (error instanceof KmfitError) return { name: error.name, message: error.message, code: error.code };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/** The worker's error, rebuilt on the page: a KmfitError with its code, else an Error. */
export function errorFrom(message: ErrorMessage): Error {
  if (message.code) return new KmfitError(message.code, message.message);
  const error = new Error(message.message);
  error.name = message.name;
  return error;
}
