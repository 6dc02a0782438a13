/**
 * The memory guard: what a plan needs, part by part, against what the backend and the process
 * have. A plan that cannot fit is refused before its big arrays exist, with the change that would
 * make it fit (fewer points, a smaller subsample or batch, another backend) — rather than a crash
 * halfway through set-up, or an allocation failure deep inside a worker or the GPU.
 *
 * The figures are the arrays the solver and the backends allocate (float32 data, float64 for the
 * eigensystem and the correction), grouped by the option that scales them. Set-up and training
 * peak at different times (K_SS and the Lanczos basis are freed before the centers go on the
 * device), so each phase is checked on its own. Backends that compute on the CPU keep their
 * buffers in the process's memory, so there both sums count against it.
 */
import type { Backend, MemoryBudget } from '../backends/backend.js';
import { freeMemoryBytes } from '../backends/system.js';
import { KmfitError } from '../errors.js';
import { MAX_EIGENPAIRS } from './plan.js';
import { planCache, type CacheOption, type CachePlan } from './kernelCache.js';

/** The sizes that decide a plan's memory. */
export interface PlanSize {
  readonly n: number;
  readonly d: number;
  readonly l: number;
  /** s, the subsample size. */
  readonly s: number;
  /** q, or undefined before set-up has chosen it (then the most the eigensolver may compute). */
  readonly q?: number;
  /** m, the batch size (1 before set-up has chosen it, unless given). */
  readonly m: number;
  /** Rows scored after each epoch: the monitored training subsample and the validation data. */
  readonly monitorRows: number;
  /** Whether the eigensystem is still to be computed (false when resuming a checkpoint). */
  readonly setup: boolean;
}

/** The option that scales a part, for the advice. */
type Knob = 'points' | 'subsampleSize' | 'batchSize';

interface Part {
  readonly what: string;
  readonly bytes: number;
  readonly knob: Knob;
  readonly on: 'device' | 'host';
  readonly phase: 'setup' | 'training';
}

const F32 = 4;
const F64 = 8;
/** Lanczos keeps its basis and grows it by copying: about three s-vectors of float64 per pair. */
const LANCZOS_VECTORS_PER_PAIR = 3;
/** Extra Lanczos vectors beyond the pairs wanted (its first block). */
const LANCZOS_SLACK = 64;
/** Copies of α the training loop holds besides the centers' own: epoch start, best, snapshot. */
const WEIGHT_COPIES = 3;

export function memoryParts(size: PlanSize): Part[] {
  const { n, d, l, s, m, monitorRows } = size;
  const q = size.q ?? Math.min(Math.max(s - 1, 1), MAX_EIGENPAIRS);
  const parts: Part[] = [
    { what: `centers and weights (n = ${n}, d = ${d}, l = ${l})`, bytes: n * (d + l + 1) * F32, knob: 'points', on: 'device', phase: 'training' },
    // The batch is uploaded twice: as rows to predict, and as the centers of the correction's
    // fused block k(X_S, X_B)·G, which the subsample's points are predicted against.
    { what: `a batch and its correction (m = ${m}, s = ${s})`, bytes: (m * (2 * d + 2 * l + 1) + s * (d + l)) * F32, knob: 'batchSize', on: 'device', phase: 'training' },
    { what: `the batch's host arrays (m = ${m}, s = ${s})`, bytes: (m * (d + 2 * l) + s * l) * F32 + s * l * F64, knob: 'batchSize', on: 'host', phase: 'training' },
    { what: `copies of the weights (n = ${n}, l = ${l})`, bytes: WEIGHT_COPIES * n * l * F32, knob: 'points', on: 'host', phase: 'training' },
    { what: `the monitored rows (${monitorRows})`, bytes: monitorRows * (d + 2 * l) * F32, knob: 'points', on: 'host', phase: 'training' },
    { what: `the preconditioner (s = ${s}, q = ${q})`, bytes: s * q * F64 + s * d * F32, knob: 'subsampleSize', on: 'host', phase: 'training' },
  ];
  if (size.setup) {
    parts.push(
      { what: `the subsample's kernel matrix (s = ${s})`, bytes: (s * s + 3 * s * d) * F32, knob: 'subsampleSize', on: 'device', phase: 'setup' },
      {
        what: `its copy and the eigensolver (s = ${s}, up to ${q} eigenpairs)`,
        bytes: s * s * F32 + LANCZOS_VECTORS_PER_PAIR * (q + LANCZOS_SLACK) * s * F64,
        knob: 'subsampleSize',
        on: 'host',
        phase: 'setup',
      },
    );
  }
  return parts;
}

/**
 * Bytes of the process's memory that training needs (the training phase's parts; with the
 * backend's buffers when they are in the process, as on a CPU): what a kernel cache must leave.
 */
export function trainingHostBytes(size: PlanSize, deviceOnHost: boolean): number {
  return peak(memoryParts({ ...size, setup: false }), (part) => part.on === 'host' || deviceOnHost).bytes;
}

/** Free memory of the process: the system's available memory, within a cgroup limit if any. */
export function hostMemory(): MemoryBudget | undefined {
  const free = freeMemoryBytes();
  if (free === undefined) return undefined; // a browser does not say
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  const left = constrained > 0 ? constrained - process.memoryUsage().rss : Number.POSITIVE_INFINITY;
  if (left < free) return { bytes: Math.max(0, left), source: `the ${gib(left)} GiB left of the process's ${gib(constrained)} GiB memory limit` };
  return { bytes: free, source: `the ${gib(free)} GiB of available system memory` };
}

function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(bytes < 2 ** 30 / 10 ? 3 : 1);
}

interface Budgets {
  readonly device: MemoryBudget;
  readonly host?: MemoryBudget;
  /** Whether the backend's buffers are in the process's memory (CPU backends). */
  readonly deviceOnHost: boolean;
}

/** The largest need of either phase, and the parts of that phase. */
function peak(parts: readonly Part[], include: (part: Part) => boolean): { bytes: number; parts: Part[] } {
  let best = { bytes: 0, parts: [] as Part[] };
  for (const phase of ['setup', 'training'] as const) {
    const these = parts.filter((p) => p.phase === phase && include(p));
    const bytes = these.reduce((sum, p) => sum + p.bytes, 0);
    if (bytes > best.bytes) best = { bytes, parts: these };
  }
  return best;
}

/** The budget a plan overruns, with the need and its parts; undefined when it fits. */
function overrun(size: PlanSize, budgets: Budgets): { need: number; budget: MemoryBudget; parts: Part[]; on: Part['on'] } | undefined {
  const parts = memoryParts(size);
  const device = peak(parts, (p) => p.on === 'device');
  if (device.bytes > budgets.device.bytes) return { need: device.bytes, budget: budgets.device, parts: device.parts, on: 'device' };
  if (budgets.host) {
    const host = peak(parts, (p) => p.on === 'host' || budgets.deviceOnHost);
    if (host.bytes > budgets.host.bytes) return { need: host.bytes, budget: budgets.host, parts: host.parts, on: 'host' };
  }
  return undefined;
}

/** The largest value of `knob` (below its current one) with which the plan fits, if any. */
function largestFitting(size: PlanSize, knob: Knob, budgets: Budgets): number | undefined {
  const current = knob === 'points' ? size.n : knob === 'subsampleSize' ? size.s : size.m;
  const resized = (v: number): PlanSize =>
    knob === 'points'
      ? { ...size, n: v, s: Math.min(size.s, v), m: Math.min(size.m, v), monitorRows: Math.min(size.monitorRows, v) }
      : knob === 'subsampleSize'
        ? { ...size, s: v, q: size.q === undefined ? undefined : Math.min(size.q, v) }
        : { ...size, m: v };
  if (current <= 1 || overrun(resized(1), budgets)) return undefined;
  let lo = 1; // resized(lo) fits, resized(hi) does not
  let hi = current;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (overrun(resized(mid), budgets)) hi = mid;
    else lo = mid;
  }
  return lo;
}

const ADVICE: Record<Knob, (value: number) => string> = {
  points: (v) => `train on fewer points (at most about ${v} fit)`,
  subsampleSize: (v) => `use a smaller subsampleSize (at most about ${v} fits)`,
  batchSize: (v) => `use a smaller batchSize (at most about ${v} fits)`,
};

/**
 * Refuses a plan that cannot fit the backend's memory budget or the process's free memory.
 * @throws KmfitError INSUFFICIENT_MEMORY, naming the largest parts and what to change.
 */
export function checkMemory(backend: Backend, size: PlanSize): void {
  const budgets: Budgets = { device: backend.memoryBudget(), host: hostMemory(), deviceOnHost: backend.describe().threads !== undefined };
  const problem = overrun(size, budgets);
  if (!problem) return;
  const largest = [...problem.parts].sort((a, b) => b.bytes - a.bytes);
  const listed = largest.slice(0, 3).map((p) => `${p.what} ${gib(p.bytes)} GiB`).join(', ');
  const knobs = [...new Set(largest.map((p) => p.knob))];
  const advice = knobs.flatMap((knob) => {
    const value = largestFitting(size, knob, budgets);
    return value === undefined ? [] : [ADVICE[knob](value)];
  });
  const need =
    problem.on === 'device'
      ? `${gib(problem.need)} GiB on the ${backend.name} backend (${listed}), more than the ${gib(problem.budget.bytes)} GiB it may use`
      : `${gib(problem.need)} GiB of this process's memory (${listed}), more than the ${gib(problem.budget.bytes)} GiB available`;
  throw new KmfitError(
    'INSUFFICIENT_MEMORY',
    `Training n = ${size.n} points needs about ${need} (${problem.budget.source}). ` +
      `${[...advice, 'use another backend'].join(', or ').replace(/^./, (c) => c.toUpperCase())}.`,
  );
}

/** Messages of allocation failures: V8's typed arrays, wasm memory, Node's workers, WebGPU error scopes. */
const OUT_OF_MEMORY = /allocation failed|Invalid typed array length|Invalid array buffer length|out of memory|memory is exhausted|Cannot allocate memory/i;

/**
 * An allocation failure that escaped the guard (the memory was there when checked, or the
 * estimate was short), as a KmfitError; undefined for any other error.
 */
export function memoryFailure(error: unknown, backendName: string): KmfitError | undefined {
  if (error instanceof KmfitError || !(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (code !== 'ERR_WORKER_OUT_OF_MEMORY' && !OUT_OF_MEMORY.test(error.message)) return undefined;
  return new KmfitError(
    'INSUFFICIENT_MEMORY',
    `The ${backendName} backend ran out of memory (${error.message}). Use fewer points, a smaller ` +
      'batchSize or subsampleSize, or another backend; closing other programs frees memory too.',
    { cause: error },
  );
}

/**
 * How many of a search's `count` candidates train at once: the plan's memory (memoryParts) for the
 * first, and for each further one what is its own — its weights and their copies, its
 * preconditioner, its batch residuals and corrections, its predictions of the monitored rows.
 * @throws KmfitError INSUFFICIENT_MEMORY when not even one fits (checkMemory's message).
 */
export function searchCandidatesPerPass(backend: Backend, size: PlanSize, count: number): { count: number; why: string } {
  checkMemory(backend, size);
  const { n, l, s, m, monitorRows } = size;
  const q = size.q ?? MAX_EIGENPAIRS;
  const device = n * l * F32 + (m + s) * l * F32;
  const host = (WEIGHT_COPIES * n * l + 3 * m * l + 2 * s * l + monitorRows * l) * F32 + s * (q + l) * F64;
  const budgets = { device: backend.memoryBudget(), host: hostMemory() };
  const deviceOnHost = backend.describe().threads !== undefined;
  const parts = memoryParts({ ...size, setup: false });
  const used = (on: 'device' | 'host') => peak(parts, (p) => p.on === on || (on === 'host' && deviceOnHost)).bytes;
  const each = { device, host: host + (deviceOnHost ? device : 0) };
  const room = (on: 'device' | 'host', budget: MemoryBudget | undefined) =>
    budget === undefined ? Number.POSITIVE_INFINITY : Math.floor((budget.bytes - used(on)) / each[on]);
  const further = Math.min(room('device', budgets.device), room('host', budgets.host));
  const fits = Math.max(1, Math.min(count, 1 + further));
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  const why =
    fits >= count
      ? `all ${count} fit at once: ${mb(each.host)} each besides the plan's ${mb(used('host'))}`
      : `${fits} fit at once (${mb(each.host)} each besides the plan's ${mb(used('host'))}, within ${budgets.host?.source ?? budgets.device.source})`;
  return { count: fits, why };
}

/**
 * Whether this run keeps a kernel matrix in memory, and in what precision (kernelCache.ts): EigenPro
 * 2's n×n matrix of the training points, or, for a model on p separate centers, K_ZZ for the
 * projection (its batches, `m`, are the projection's).
 */
export function planRunCache(
  option: CacheOption,
  backend: Backend,
  size: { n: number; d: number; l: number; s: number; q?: number; m: number; centers?: number },
  /** `besideBytes`: other caches kept beside this one (a search's last candidates'); `exact`: CacheContext.exact. */
  run: { cluster: boolean; monitorRows: number; validationRows: number; besideBytes?: number; exact?: boolean },
): CachePlan {
  const n = size.centers ?? size.n;
  const memory = { ...size, n, monitorRows: run.monitorRows, setup: false };
  return planCache(option, {
    n,
    d: size.d,
    batchSize: size.m,
    // EigenPro 2's validation rows are scored against the matrix's points: their block may be kept;
    // and its subsample's columns, for the correction, where the engine reads them by rows.
    ...(size.centers === undefined ? { scoredRows: run.validationRows, outputs: size.l, ...(backend.cacheTransposedProducts ? { subsample: size.s } : {}) } : {}),
    ...(size.centers !== undefined ? { matrix: `K_ZZ of the ${n} centers, for the projection (${n}²),` } : {}),
    // A cluster's workers hold EigenPro 2's centers; EigenPro 3's projection runs here.
    unsupported: run.cluster && size.centers === undefined ? "the centers and their kernel blocks are a cluster's workers'" : undefined,
    backend: backend.name,
    engine: backend.cacheEngine !== undefined,
    available: hostMemory(),
    otherBytes: trainingHostBytes(memory, backend.describe().threads !== undefined) + (run.besideBytes ?? 0),
    ...(run.exact ? { exact: true } : {}),
  });
}
