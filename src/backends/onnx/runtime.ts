/**
 * onnxruntime-node, an optional peer dependency: loaded only when the onnx backend is created or
 * probed, so that kmfit installs and runs without it. Only the few calls used here are typed (and
 * checked on the loaded module), so that kmfit's own type declarations never mention the package.
 */
import { missingPackageReason } from '../../optionalPackages.js';
import { nodeBuiltin } from '../system.js';

export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}

export interface OrtSession {
  /** `fetches`: outputs to write into the given tensors' memory (plain, not shared) instead of new memory. */
  run(feeds: Readonly<Record<string, OrtTensor>>, fetches?: Readonly<Record<string, OrtTensor>>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

/** The session options kmfit sets (onnxruntime-common's InferenceSession.SessionOptions). */
export interface OrtSessionOptions {
  readonly intraOpNumThreads: number;
  readonly interOpNumThreads: number;
  readonly executionMode: 'sequential';
  readonly graphOptimizationLevel: 'all';
  readonly enableCpuMemArena: boolean;
  readonly enableMemPattern: boolean;
  readonly logSeverityLevel: 0 | 1 | 2 | 3 | 4;
  /** Session configuration entries, nested by the dots of their keys. */
  readonly extra: Readonly<Record<string, unknown>>;
}

interface OrtModule {
  readonly InferenceSession: { create(model: Uint8Array, options: OrtSessionOptions): Promise<OrtSession> };
  readonly Tensor: new (
    type: 'float32' | 'float64' | 'float16' | 'uint8' | 'int8' | 'int32',
    data: Float32Array | Float64Array | Uint16Array | Uint8Array | Int8Array | Int32Array,
    dims: readonly number[],
  ) => OrtTensor;
  readonly env: { readonly versions?: Readonly<Record<string, string | undefined>> };
}

export interface OnnxRuntime {
  createSession(model: Uint8Array, options: OrtSessionOptions): Promise<OrtSession>;
  /** A float32 or float64 tensor (as `data`) over `data` (a view: onnxruntime-node reads the memory it is given). */
  tensor(data: Float32Array | Float64Array, dims: readonly number[]): OrtTensor;
  /** A float16 tensor over `data`, the values' bit patterns (the binding has no bfloat16). */
  float16Tensor(data: Uint16Array, dims: readonly number[]): OrtTensor;
  /** A uint8, int8 or int32 tensor (as `data`) over `data`: the byte form's inputs (kernels/onnx/bytes.ts). */
  integerTensor(data: Uint8Array | Int8Array | Int32Array, dims: readonly number[]): OrtTensor;
  /** onnxruntime-node's version, e.g. "1.30.0". */
  readonly version: string;
}

/** Why onnxruntime-node cannot be had here; the message says what to do. */
export class NoOnnxRuntimeError extends Error {}

function isOrtModule(value: unknown): value is OrtModule {
  if (typeof value !== 'object' || value === null) return false;
  const session: unknown = Reflect.get(value, 'InferenceSession');
  return (
    typeof session === 'function' &&
    typeof Reflect.get(session, 'create') === 'function' &&
    typeof Reflect.get(value, 'Tensor') === 'function' &&
    typeof Reflect.get(value, 'env') === 'object'
  );
}

async function load(): Promise<OnnxRuntime> {
  if (nodeBuiltin('node:os') === undefined) {
    throw new NoOnnxRuntimeError('onnxruntime-node runs only in Node (in a browser, use the wasm or webgpu backend)');
  }
  // A specifier in a variable: bundlers leave the optional native package alone.
  const specifier = 'onnxruntime-node';
  let loaded: unknown;
  try {
    loaded = await import(specifier);
  } catch (error) {
    throw new NoOnnxRuntimeError(missingPackageReason('onnx', error));
  }
  // A CommonJS package: the ES-module namespace may carry it as `default`.
  const ort = isOrtModule(loaded) ? loaded : typeof loaded === 'object' && loaded !== null ? Reflect.get(loaded, 'default') : undefined;
  if (!isOrtModule(ort)) throw new NoOnnxRuntimeError('the package onnxruntime-node does not export InferenceSession, Tensor and env');
  return {
    createSession: (model, options) => ort.InferenceSession.create(model, options),
    tensor: (data, dims) => new ort.Tensor(data instanceof Float64Array ? 'float64' : 'float32', data, dims),
    float16Tensor: (data, dims) => new ort.Tensor('float16', data, dims),
    integerTensor: (data, dims) => new ort.Tensor(data instanceof Uint8Array ? 'uint8' : data instanceof Int8Array ? 'int8' : 'int32', data, dims),
    version: ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown version',
  };
}

let loading: Promise<OnnxRuntime> | undefined;

/** The process's onnxruntime-node. @throws NoOnnxRuntimeError */
export function onnxRuntime(): Promise<OnnxRuntime> {
  loading ??= load().catch((error: unknown) => {
    loading = undefined; // a later call may try again (e.g. after an install)
    throw error;
  });
  return loading;
}
