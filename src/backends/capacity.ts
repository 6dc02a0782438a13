/**
 * A device's parallel capacity: the batch size past which a bigger batch no longer makes an
 * iteration cheaper per point. Measured by timing the fused block for m = 16, 32, … on a sample of
 * the centers, and cached per device and feature count in ~/.cache/kmfit/capacity.json.
 *
 * On a GPU, seconds per iteration are flat up to the device's saturation and grow linearly after
 * it; on a CPU, a fixed cost per iteration (streaming the centers, synchronizing threads) is
 * amortized as m grows. In both cases the capacity is the smallest m whose seconds per point are
 * within 10 % of the best measured.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kernel } from '../../kernels/kernel.js';
import { rowSlice, takeRows, type Matrix } from '../matrix.js';
import type { Backend } from './backend.js';

/** Centers the calibration runs over: enough to fill a device, little enough to take seconds. */
const CALIBRATION_CENTERS = 8192;
const SMALLEST_BATCH = 16;
/** Seconds per point within this factor of the best count as "no longer cheaper". */
const PLATEAU = 1.1;

export interface CalibrationPoint {
  readonly batch: number;
  readonly seconds: number;
}

export interface ParallelCapacity {
  readonly batch: number;
  readonly curve: readonly CalibrationPoint[];
  readonly cached: boolean;
}

/** The capacity from a measured curve: smallest m with t(m)/m ≤ PLATEAU · min t/m. */
export function capacityFromCurve(curve: readonly CalibrationPoint[]): number {
  const perPoint = curve.map((p) => p.seconds / p.batch);
  const best = Math.min(...perPoint);
  const index = perPoint.findIndex((c) => c <= PLATEAU * best);
  return curve[index].batch;
}

function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'kmfit', 'capacity.json');
}

function readCache(): Record<string, { batch: number; curve: CalibrationPoint[] }> {
  try {
    return JSON.parse(readFileSync(cacheFile(), 'utf8'));
  } catch {
    return {}; // missing or unreadable: calibrate again
  }
}

function writeCache(key: string, entry: { batch: number; curve: CalibrationPoint[] }): void {
  try {
    const file = cacheFile();
    mkdirSync(path.dirname(file), { recursive: true });
    const all = { ...readCache(), [key]: entry };
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(all, null, 1));
    renameSync(temporary, file);
  } catch {
    // A read-only home only costs a new calibration next time.
  }
}

/**
 * Measures (or recalls) the backend's parallel capacity for d-dimensional data, up to `maxBatch`.
 * `X` supplies realistic rows (training data); the kernel's cost is part of what is measured.
 */
export async function measureParallelCapacity(
  backend: Backend,
  kernel: Kernel,
  X: Matrix,
  outputs: number,
  maxBatch: number,
): Promise<ParallelCapacity> {
  const device = backend.describe();
  const key = `${backend.name}|${device.device}|${device.threads ?? 'gpu'}|d=${X.cols}|l=${outputs}|max=${maxBatch}`;
  const known = readCache()[key];
  if (known) return { ...known, cached: true };

  const centers = rowSlice(X, 0, Math.min(X.rows, CALIBRATION_CENTERS));
  const set = await backend.createCenterSet(kernel, centers, outputs);
  const curve: CalibrationPoint[] = [];
  try {
    for (let m = Math.min(SMALLEST_BATCH, maxBatch); ; m = Math.min(2 * m, maxBatch)) {
      const batch = takeRows(X, Array.from({ length: m }, (_, i) => (i * 7919) % X.rows));
      const out = new Float32Array(m * outputs);
      await set.predict(batch, out); // warm-up: compilation, allocation
      const times: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        const started = performance.now();
        await set.predict(batch, out);
        times.push((performance.now() - started) / 1000);
      }
      curve.push({ batch: m, seconds: times.sort((a, b) => a - b)[1] });
      if (m >= maxBatch) break;
    }
  } finally {
    set.dispose();
  }
  const batch = capacityFromCurve(curve);
  writeCache(key, { batch, curve });
  return { batch, curve, cached: false };
}
