/**
 * The device calibration: which backend 'auto' takes for a data shape (timeBackends), and the
 * device's parallel capacity, the largest batch size it still computes at its best throughput.
 * Measured by timing the fused block for m = 16, 32, … against the training rows themselves (up
 * to CALIBRATION_CENTERS of them), and cached per device, feature count and center count in
 * ~/.cache/kmfit/capacity.json (in a page: localStorage, platform/browser.ts).
 *
 * On a GPU, seconds per iteration are flat up to the device's saturation and grow linearly after
 * it; on a CPU they grow linearly almost from the start. Either way the seconds per point fall to
 * a plateau and stay there, unless a batch grows past what the device keeps close (a cache, its
 * memory), when they rise again. Every batch on the plateau computes at the device's best
 * throughput; the capacity is the largest one, because an iteration also has fixed costs the
 * fused block does not show — the correction on the subsample, thread and device round trips, the
 * JavaScript between calls — and a larger batch pays them fewer times per epoch. (Measured on full
 * MNIST with the onnx backend on 2 cores: 57 s per epoch at m = 64, 38 s at 256, 35.5 s at 2 000,
 * with the same fused-block throughput at all three.)
 *
 * "On the plateau" is within PLATEAU of the plateau's level, which is taken as the second-lowest
 * seconds per point measured: the timings of one calibration on a shared machine scatter by ±10 %,
 * and a single lucky timing must not set the bar. A burst of other work on the machine does the
 * opposite: the sizes it overlaps look slow, and once it gave m_G = 64 where the device's is
 * 2 000 (onnx, MNIST's d with 20 000 centers, while two builds ran on the 2 cores), cached for good;
 * so the sizes past the capacity are timed again.
 */
import { platform } from '#platform';
import type { Kernel } from '../../kernels/kernel.js';
import { rowSlice, takeRows, type Matrix } from '../matrix.js';
import type { Backend, CenterSet } from '../backends/backend.js';

/**
 * At most this many training rows are the calibration's centers. Each step streams all n centers,
 * and the cost per point depends on how many. Full MNIST with onnx on 2 cores: calibrations
 * against 16 384 centers (51 MB, which the caches keep between calls) gave 128, 2 000 and 512 —
 * and 45 s per epoch at 128; against the 60 000 real centers m = 16 costs about twice as much per
 * point as m ≥ 128, and three calibrations all gave 2 000 (35.5 s per epoch). Calibrating against
 * the real centers takes ≈ 11 s there with onnx, ≈ 30 s with wasm, once per data shape.
 */
const CALIBRATION_CENTERS = 65_536;
const SMALLEST_BATCH = 16;
/** Seconds per point within this factor of the plateau's level are on the plateau. */
export const PLATEAU = 1.15;
/**
 * Each batch size is timed at least this many times and for at least MIN_SECONDS in all; the median
 * counts (for sizes past the capacity, the faster of two such medians).
 */
const MIN_REPEATS = 3;
const MIN_SECONDS = 0.3;
/** A batch larger than this (bytes of rows and outputs) gets a warm-up call of its own: new buffers. */
const WARM_BYTES = 4 * 1024 * 1024;
/** Bump when the method changes, so that cached capacities from the old one are measured again. */
const METHOD = 6;

export interface CalibrationPoint {
  readonly batch: number;
  readonly seconds: number;
}

export interface ParallelCapacity {
  readonly batch: number;
  readonly curve: readonly CalibrationPoint[];
  readonly cached: boolean;
}

/** The plateau's level: the second-lowest seconds per point (the lowest with one point). */
export function plateauLevel(curve: readonly CalibrationPoint[]): number {
  const perPoint = curve.map((p) => p.seconds / p.batch).sort((a, b) => a - b);
  return perPoint[Math.min(1, perPoint.length - 1)];
}

/** The capacity from a measured curve: the largest m with t(m)/m ≤ PLATEAU · the plateau's level. */
export function capacityFromCurve(curve: readonly CalibrationPoint[]): number {
  const level = plateauLevel(curve);
  let capacity = curve[0].batch;
  for (const point of curve) if (point.seconds / point.batch <= PLATEAU * level) capacity = Math.max(capacity, point.batch);
  return capacity;
}

/** A capacity, or the times of 'auto''s backends on a shape (keys `…|auto|…`). */
type CacheEntry = { batch: number; curve: CalibrationPoint[] } | { times: BackendTime[] };
type CacheEntries = Record<string, CacheEntry | undefined>;

/** The host's cache of capacities and backend times (platform/): a file in Node, localStorage in a page. */
function readCache(): CacheEntries {
  const all = platform.capacityCache.read();
  return typeof all === 'object' && all !== null && !Array.isArray(all) ? (all as CacheEntries) : {}; // none or unreadable: calibrate again
}

function writeCache(key: string, entry: CacheEntry): void {
  platform.capacityCache.write({ ...readCache(), [key]: entry });
}

/** The cache key of a backend's device; entries add `|d=…|l=…|max=…|n=…`. */
function deviceKey(backend: Backend): string {
  const device = backend.describe();
  return `v${METHOD}|${backend.name}|${device.device}|${device.threads ?? 'gpu'}`;
}

export interface CachedCapacity {
  /** The feature count d and outputs l it was measured for, the largest batch tried, the centers. */
  readonly features: number;
  readonly outputs: number;
  readonly maxBatch: number;
  readonly centers: number;
  readonly batch: number;
}

/** The capacities measured so far on this backend's device (for `kmfit devices`). */
export function cachedCapacities(backend: Backend): CachedCapacity[] {
  const prefix = `${deviceKey(backend)}|`;
  return Object.entries(readCache()).flatMap(([key, entry]) => {
    const sizes = /^d=(\d+)\|l=(\d+)\|max=(\d+)\|n=(\d+)$/.exec(key.startsWith(prefix) ? key.slice(prefix.length) : '');
    if (!sizes || !entry || !('batch' in entry)) return [];
    const [features, outputs, maxBatch, centers] = sizes.slice(1).map(Number);
    return [{ features, outputs, maxBatch, centers, batch: entry.batch }];
  });
}

/**
 * Measures (or recalls) the backend's parallel capacity for d-dimensional data, up to `maxBatch`.
 * `X` is the training data: its rows are the centers and the batches, and the kernel's cost is
 * part of what is measured.
 */
export async function measureParallelCapacity(
  backend: Backend,
  kernel: Kernel,
  X: Matrix,
  outputs: number,
  maxBatch: number,
): Promise<ParallelCapacity> {
  const count = Math.min(X.rows, CALIBRATION_CENTERS);
  const key = `${deviceKey(backend)}|d=${X.cols}|l=${outputs}|max=${maxBatch}|n=${count}`;
  const known = readCache()[key];
  if (known && 'batch' in known) return { ...known, cached: true };

  const centers = rowSlice(X, 0, count);
  const set = await backend.createCenterSet(kernel, centers, outputs);
  /** Seconds of one call for m rows: the median of the timed calls, after a warm-up call where `warm`. */
  const timeBatch = async (m: number, warm: boolean): Promise<number> => {
    const batch = takeRows(X, Array.from({ length: m }, (_, i) => (i * 7919) % X.rows));
    const out = new Float32Array(m * outputs);
    if (warm) await set.predict(batch, out);
    const times: number[] = [];
    for (let total = 0; times.length < MIN_REPEATS || total < MIN_SECONDS; ) {
      const started = performance.now();
      await set.predict(batch, out);
      times.push((performance.now() - started) / 1000);
      total += times[times.length - 1];
    }
    return times.sort((a, b) => a - b)[times.length >> 1];
  };
  let curve: CalibrationPoint[] = [];
  try {
    for (let m = Math.min(SMALLEST_BATCH, maxBatch); ; m = Math.min(2 * m, maxBatch)) {
      // Warm-up: compilation and allocation on the first size; later sizes only allocate.
      curve.push({ batch: m, seconds: await timeBatch(m, curve.length === 0 || m * (X.cols + outputs) * 4 > WARM_BYTES) });
      if (m >= maxBatch) break;
    }
    // Work from elsewhere that starts during the sweep slows the sizes it reaches, the largest,
    // and a capacity is kept for good: the sizes past the capacity (all off the plateau) are timed
    // again, and the faster timing of each counts (load only ever adds time).
    const capacity = capacityFromCurve(curve);
    const retimed: CalibrationPoint[] = [];
    for (const point of curve) {
      retimed.push(point.batch > capacity ? { batch: point.batch, seconds: Math.min(point.seconds, await timeBatch(point.batch, true)) } : point);
    }
    curve = retimed;
  } finally {
    set.dispose();
  }
  const batch = capacityFromCurve(curve);
  writeCache(key, { batch, curve });
  return { batch, curve, cached: false };
}

/**
 * 'auto''s choice among CPU backends: each times one fused block on the run's own data, a batch of
 * rows against up to CHOICE_CENTERS of its rows (the kernel's elementwise work and the m×n×l
 * product weigh as in training: at small d they, not the distance GEMM, decide), interleaved so
 * that a change of load slows all alike; the least of CHOICE_REPEATS calls counts, each right
 * after an untimed call of the same backend, as in training, where its calls follow one another
 * (timed right after another backend's, onnx's parked threads and cold caches made it look up to
 * 1.5× slower than it is at d = 4 and 16, and 'auto' took wasm). The batch has
 * about CHOICE_WORK multiply-adds (rows · centers · (d + l)), within CHOICE_ROWS: large enough that
 * fixed costs per call weigh as in a training batch, small enough to keep the timing short
 * (once per shape class, but on every first run). CHOICE_REPEATS is three: at 16 000 × 16 on this
 * project's 2-core machine the timed calls took 0.25 s, five 0.38–0.43 s, of a choice of 0.5–0.8 s
 * in all (starting both backends and their first calls are the rest); where two backends are
 * closer than the timings' scatter either is within 10 % of the fastest, and where one is 2×
 * faster three calls show it. The least, not the median: load only slows a call, and on this
 * project's VMs it comes in spells of tens of milliseconds, longer than the interleaving: wasm's
 * block of 1 024 × 4 000 × 9 (diamonds) took 3.4 or 6.7 ms in runs of consecutive calls, one of its
 * two threads without a core, and three such calls in a row made the median 6.7 ms and 'auto'
 * take onnx (4.6 ms) for a run 1.4× slower (2.1 s against 1.4–1.5 s, 1 of 5 cold runs). What
 * matters is the ratio, which the bench grid (`kmfit bench --grid`) checks against blocks of
 * 2 000 × 16 000. On a quiet machine wasm was up to 2.3× faster at d = 4, onnx 2–3× at d ≥ 64
 * (docs/benchmarks.md): no fixed order serves both.
 */
export const CHOICE_CENTERS = 16_384;
const CHOICE_WORK = 2 ** 28;
const CHOICE_ROWS = { min: 64, max: 1024 };
const CHOICE_REPEATS = 3;

/** Rows of the timed batch for `centers` centers of d features and l outputs, at most `available`. */
export function choiceRows(centers: number, d: number, l: number, available: number): number {
  const rows = Math.floor(CHOICE_WORK / (centers * (d + l)));
  return Math.min(available, Math.max(CHOICE_ROWS.min, Math.min(CHOICE_ROWS.max, rows)));
}

export interface BackendTime {
  readonly backend: string;
  /** Seconds of the timed block, the least of the calls. */
  readonly seconds: number;
}

/** What 'auto' chose among CPU backends, from which times; the plan reports it. */
export interface BackendChoice {
  readonly name: string;
  /** Each candidate's time, in BACKENDS order. */
  readonly times: readonly BackendTime[];
  /** The timed block: rows × centers. */
  readonly rows: number;
  readonly centers: number;
  readonly cached: boolean;
  /**
   * Seconds the choice took in this run: starting every candidate, and timing them unless the
   * times were cached (absent in older model files). The cold start's cost, paid once per shape class.
   */
  readonly seconds?: number;
}

/** The fastest of measured times; a tie goes to the earlier (BACKENDS order). */
export function fastestBackend(times: readonly BackendTime[]): string {
  if (times.length === 0) throw new Error('no backend times to choose from');
  return times.reduce((best, time) => (time.seconds < best.seconds ? time : best)).backend;
}

/**
 * The times this process measured or read, by key: a choice stays the same within a process even
 * when another process rewrote the cache file without it (the file is read, changed and written
 * whole), so that two trainings on the same data and seed here take the same backend.
 */
const timesSeen = new Map<string, readonly BackendTime[]>();

/** The shape class of a choice: the backends' devices, d, l, the centers timed and the kernel's formula. */
function choiceKey(backends: readonly Backend[], kernel: Kernel, d: number, l: number, centers: number): string {
  return `v${METHOD}|auto|${backends.map(deviceKey).join('+')}|d=${d}|l=${l}|n=${centers}|k=${kernel.expression.js}`;
}

/**
 * Times `backends` (the candidates of 'auto', BACKENDS order) on the run's data X (rows of the
 * training set, or the model's centers) for `outputs` outputs, or recalls their times for this
 * shape class; the fastest is the choice. `cache: false` times them afresh and keeps nothing (the
 * bench grid).
 */
export async function timeBackends(backends: readonly Backend[], kernel: Kernel, X: Matrix, outputs: number, options: { cache?: boolean } = {}): Promise<BackendChoice> {
  const useCache = options.cache ?? true;
  const centers = Math.min(X.rows, CHOICE_CENTERS);
  const rows = choiceRows(centers, X.cols, outputs, X.rows);
  const key = choiceKey(backends, kernel, X.cols, outputs, centers);
  const inFile = useCache ? readCache()[key] : undefined;
  const known = inFile && 'times' in inFile && inFile.times.length === backends.length ? inFile.times : useCache ? timesSeen.get(key) : undefined;
  if (known) {
    timesSeen.set(key, known);
    return { name: fastestBackend(known), times: known, rows, centers, cached: true };
  }
  const points = rowSlice(X, 0, centers);
  const batch = takeRows(X, Array.from({ length: rows }, (_, i) => (i * 7919) % X.rows));
  const out = new Float32Array(rows * outputs);
  const sets: CenterSet[] = [];
  const seconds = backends.map((): number[] => []);
  try {
    for (const backend of backends) {
      const set = await backend.createCenterSet(kernel, points, outputs);
      sets.push(set);
      await set.predict(batch, out); // warm-up: compilation, sessions, allocation
    }
    for (let round = 0; round < CHOICE_REPEATS; round++) {
      for (let k = 0; k < sets.length; k++) {
        const which = (round + k) % sets.length;
        await sets[which].predict(batch, out);
        const started = performance.now();
        await sets[which].predict(batch, out);
        seconds[which].push((performance.now() - started) / 1000);
      }
    }
  } finally {
    for (const set of sets) set.dispose();
  }
  const times = backends.map((backend, i) => ({ backend: backend.name, seconds: Math.min(...seconds[i]) }));
  if (useCache) {
    timesSeen.set(key, times);
    writeCache(key, { times });
  }
  return { name: fastestBackend(times), times, rows, centers, cached: false };
}
