/**
 * Turns a backend name into a Backend. 'auto' takes webgpu on a hardware adapter; else it times the
 * CPU backends that run here (onnx where onnxruntime-node is installed, in Node; wasm) on the
 * data's own shape and takes the fastest (src/solver/capacity.ts timeBackends: which one wins
 * depends on d, l and the kernel); else js. A software GPU (lavapipe, SwiftShader) and gpu.js are
 * never chosen by 'auto' — both are slower than wasm (docs/benchmarks.md) — but run when named.
 *
 * Every backend is one entry of BACKENDS, in 'auto''s order of preference; each function below is a loop over it.
 */
import { platform } from '#platform';
import { KmfitError } from '../errors.js';
import type { Backend } from './backend.js';
import { createGpuJsBackend, gpuJsSupport } from './gpujs/index.js';
import { JsBackend } from './js/index.js';
import { createWasmBackend, wasmSupport } from './wasm/index.js';
import { hardwareGpuPossible } from './webgpu/gpu.js';
import { createWebGpuBackend, webGpuSupport } from './webgpu/index.js';

export interface BackendOptions {
  /** CPU threads of the wasm and onnx backends; default one per core. */
  readonly threads?: number;
}

/** What a backend would run on here, or why it cannot run. */
interface Probe {
  readonly available: boolean;
  /** Whether 'auto' would consider it. */
  readonly fast: boolean;
  /** The device, or why it is not available. */
  readonly detail: string;
}

interface BackendEntry {
  readonly name: string;
  /** What it runs on here; may load the optional GPU packages. */
  probe(): Promise<Probe>;
  /**
   * How 'auto' sees it: `usable` checks, cheaply, whether 'auto' takes it here; `chosen` and
   * `passedOver` are the clauses of explainAuto's sentence. Absent: 'auto' never takes it.
   */
  readonly auto?: {
    usable(): Promise<boolean>;
    /** One of the CPU backends 'auto' times on the data's shape, taking the fastest of those usable. */
    readonly timed?: true;
    /** Why it was taken (absent: the clauses of those passed over say it all). */
    readonly chosen?: (detail: string) => string;
    /** Absent for the last resort, which is never passed over. */
    readonly passedOver?: (probe: Probe | undefined) => string;
    /** A failure to start makes 'auto' go on to the next entry instead of failing. */
    readonly fallsThrough?: boolean;
  };
  create(options: BackendOptions, by: 'auto' | 'name'): Promise<Backend>;
}

/** The WebGPU adapter if it is hardware; on Linux without GPU device nodes Dawn is not even loaded. */
async function hardwareGpu(): Promise<boolean> {
  if (!(await hardwareGpuPossible())) return false;
  const gpu = await webGpuSupport();
  return gpu.available && gpu.software !== true;
}

/**
 * Every backend, in 'auto''s order: a hardware GPU first; then the CPU backends it times on the
 * data (`timed`: their order only breaks ties, and picks the one taken without data); js last.
 */
const BACKENDS = [
  {
    name: 'webgpu',
    async probe() {
      const gpu = await webGpuSupport();
      return {
        available: gpu.available,
        fast: gpu.available && gpu.software !== true,
        detail: gpu.available ? `${gpu.device ?? 'adapter'}${gpu.software ? ' (software: slower than wasm)' : ''}` : gpu.reason ?? 'no adapter',
      };
    },
    auto: {
      usable: hardwareGpu,
      chosen: (detail) => `a hardware GPU: ${detail}`,
      passedOver: (probe) => (probe?.available ? 'the only WebGPU adapter is a software one' : 'no hardware GPU'),
      // The adapter was there but no device opened (lost, out of memory): the CPU still works.
      fallsThrough: true,
    },
    // Named explicitly, a software adapter is accepted: correct, only slow.
    create: (_options, by) => createWebGpuBackend(by === 'name' ? { allowSoftware: true } : {}),
  },
  {
    name: 'onnx',
    async probe() {
      const onnx = await platform.onnx.support();
      return {
        available: onnx.available,
        fast: onnx.available,
        detail: onnx.available ? `onnxruntime-node ${onnx.version}: native CPU kernels (MLAS)` : onnx.reason ?? 'unavailable',
      };
    },
    auto: {
      usable: async () => (await platform.onnx.support()).available,
      timed: true,
      chosen: () => 'onnxruntime-node is installed: native CPU kernels',
      // The entry's detail says why it does not run; the reason only points there.
      passedOver: () => 'onnxruntime-node does not load here (see the onnx entry)',
    },
    // onnxruntime-node loaded means the backend starts (it opens no device): a bad thread count
    // is the caller's to hear about, as with wasm.
    // Through the host (platform/): a browser build leaves onnxruntime-node's code out.
    create: (options) => platform.onnx.create(options),
  },
  {
    name: 'wasm',
    async probe() {
      const wasm = wasmSupport();
      return {
        available: wasm.available,
        fast: wasm.available,
        detail: wasm.available ? `WebAssembly ${wasm.variant === 'relaxed' ? 'relaxed SIMD (FMA)' : 'SIMD'}` : wasm.reason ?? 'unavailable',
      };
    },
    auto: {
      usable: async () => wasmSupport().available,
      timed: true,
      chosen: () => 'WebAssembly SIMD on every core',
      passedOver: () => 'no WebAssembly SIMD with threads here (see the wasm entry)',
    },
    create: (options) => createWasmBackend(options),
  },
  {
    name: 'gpujs',
    async probe() {
      const gpujs = await gpuJsSupport();
      return { available: gpujs.available, fast: false, detail: gpujs.available ? `gpu.js mode ${gpujs.mode}` : gpujs.reason ?? 'unavailable' };
    },
    create: () => createGpuJsBackend(),
  },
  {
    name: 'js',
    probe: async () => ({ available: true, fast: true, detail: 'plain JavaScript, one thread (the reference)' }),
    auto: { usable: async () => true },
    create: async () => new JsBackend(),
  },
] as const satisfies readonly BackendEntry[];

export type ConcreteBackendName = (typeof BACKENDS)[number]['name'];
export type BackendName = 'auto' | ConcreteBackendName;
/** 'auto', then every backend in the order 'auto' tries them. */
export const BACKEND_NAMES: readonly BackendName[] = ['auto', ...BACKENDS.map((b) => b.name)];

export interface BackendAvailability extends Probe {
  readonly name: ConcreteBackendName;
}

type AutoEntry = Extract<(typeof BACKENDS)[number], { auto: object }>;
/** The backends 'auto' considers, in order; the last (js) always runs. */
const AUTO_ORDER: readonly AutoEntry[] = BACKENDS.filter((b): b is AutoEntry => 'auto' in b);

/** What each backend would run on here, or why it cannot run. Loads the optional GPU packages. */
export async function probeBackends(): Promise<BackendAvailability[]> {
  const found: BackendAvailability[] = [];
  for (const entry of BACKENDS) found.push({ name: entry.name, ...(await entry.probe()) });
  return found;
}

/**
 * What 'auto' does given a probe (probeBackends), and why, in one sentence: `names` is the one
 * backend it takes, or the CPU backends it times on each data shape (several: the fastest wins).
 */
export function explainAuto(found: readonly BackendAvailability[]): { names: ConcreteBackendName[]; reason: string } {
  const passed: string[] = [];
  const timed: { name: ConcreteBackendName; chosen: string }[] = [];
  for (const entry of AUTO_ORDER) {
    const probe = found.find((b) => b.name === entry.name);
    const passedOver = 'passedOver' in entry.auto ? entry.auto.passedOver : undefined;
    const usable = !passedOver || (probe?.available && probe.fast);
    const chosen = 'chosen' in entry.auto ? entry.auto.chosen(probe?.detail ?? '') : undefined;
    if ('timed' in entry.auto) {
      if (usable) timed.push({ name: entry.name, chosen: chosen ?? entry.name });
      else passed.push(passedOver!(probe));
      continue;
    }
    if (timed.length > 0) break; // the last resort comes after the timed ones only when none runs
    if (usable) return { names: [entry.name], reason: [...passed, ...(chosen ? [chosen] : [])].join('; ') };
    passed.push(passedOver!(probe));
  }
  if (timed.length === 1) return { names: [timed[0].name], reason: [...passed, timed[0].chosen].join('; ') };
  if (timed.length > 1) {
    const names = timed.map((t) => t.name);
    return { names, reason: [...passed, `it times ${names.join(' and ')} on each data shape and takes the fastest (cached per shape)`].join('; ') };
  }
  throw new Error('the last backend of the auto order must be one that is never passed over');
}

/** Backends 'auto' would consider here, in BACKENDS order, js last. */
export async function availableBackends(): Promise<ConcreteBackendName[]> {
  const names: ConcreteBackendName[] = [];
  for (const entry of AUTO_ORDER) if (await entry.auto.usable()) names.push(entry.name);
  return names;
}

/**
 * The backends 'auto' chooses among, started: a hardware GPU's alone; else every timed CPU
 * backend that runs here (the caller times them on its data, keeps the fastest and disposes the
 * others; timeBackends in src/solver/capacity.ts); else js. `first`: only the first of them.
 */
export async function createAutoCandidates(options: BackendOptions, first = false): Promise<Backend[]> {
  const timed: AutoEntry[] = [];
  for (const entry of AUTO_ORDER) {
    if (!(await entry.auto.usable())) continue;
    if ('timed' in entry.auto) {
      timed.push(entry);
      if (first) break;
      continue;
    }
    if (timed.length > 0) break; // the last resort only where no timed backend runs
    try {
      return [await entry.create(options, 'auto')];
    } catch (error) {
      if (!('fallsThrough' in entry.auto)) throw error;
    }
  }
  if (timed.length === 0) throw new Error('the last backend of the auto order must always be usable');
  // Started side by side: wasm's workers compile on their threads while onnxruntime loads on
  // this one (one after the other, the main thread waited ≈ 70 ms for the workers).
  const started = await Promise.allSettled(timed.map((entry) => entry.create(options, 'auto')));
  const backends = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await Promise.all(backends.map((backend) => backend.dispose()));
    throw failed.reason;
  }
  return backends;
}

/**
 * The backend a saved model predicts on under 'auto': the one it was trained on where that is one
 * of 'auto''s candidates here (its choice for that data, and the same arithmetic), else 'auto'.
 */
export async function autoFor(trainedOn: string): Promise<BackendName> {
  const entry = AUTO_ORDER.find((b) => b.name === trainedOn);
  if (!entry || !(await entry.auto.usable())) return 'auto';
  // A hardware GPU outranks the CPU backends 'auto' times.
  return 'timed' in entry.auto && (await hardwareGpu()) ? 'auto' : entry.name;
}

/** 'auto' without data to time on (a cluster's worker): its first candidate. */
async function createAuto(options: BackendOptions): Promise<Backend> {
  return (await createAutoCandidates(options, true))[0];
}

/**
 * @throws KmfitError UNKNOWN_BACKEND for a name that is not a backend, or a named backend that
 *   cannot run here (with the reason).
 */
export async function createBackend(name: BackendName = 'auto', options: BackendOptions = {}): Promise<Backend> {
  if (name === 'auto') return createAuto(options);
  const entry = BACKENDS.find((b) => b.name === name);
  if (!entry) {
    throw new KmfitError('UNKNOWN_BACKEND', `Unknown backend ${JSON.stringify(name)}; the backends are ${BACKEND_NAMES.join(', ')}.`);
  }
  return entry.create(options, 'name');
}
