/**
 * Load in one process: 16 `fit` calls at once on the wasm backend and 10 000 `predict` calls from
 * 8 concurrent callers give what the same calls give one at a time (bit for bit), within bounded
 * memory, and leave no thread behind; the process then exits by itself. The counts come from the
 * OS (/proc/self/task) in a separate process (helpers/load.mjs); the figures are in
 * docs/reliability.md.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';

const FITS = 16;
/** A fit's wasm workers (2 here); predictions use the same. */
const THREADS_PER_FIT = 2;
/** Set-up's eigensolver may share its loops with the backend's threads less one (src/solver/dense/team.ts; from 1 000 subsample points). */
const EIGENSOLVER_HELPERS = THREADS_PER_FIT - 1;
/** Resident memory a small wasm fit may hold while it runs (measured ≈ 18 MiB, mostly its 2 workers' V8 heaps). */
const MIB_PER_FIT = 40;
/** Growth of resident memory allowed over 10 000 predictions: a leak of 4 KiB per call would pass 39 MiB. */
const PREDICT_GROWTH_MIB = 32;

it('16 concurrent fits and 10 000 predictions from 8 callers: the results of one at a time, bounded memory, no thread left', () => {
  const out = spawnSync(process.execPath, ['--expose-gc', path.resolve(__dirname, 'helpers/load.mjs')], { encoding: 'utf8', timeout: 300_000 });
  expect(out.signal, out.stderr).toBeNull();
  expect(out.status, out.stderr).toBe(0); // and it exited by itself: nothing left running
  const r = JSON.parse(out.stdout.trim().split('\n').at(-1)!);
  expect(r.fitsIdentical).toBe(FITS);
  expect(r.fitPeakThreads).toBeLessThanOrEqual(r.baseThreads + FITS * (THREADS_PER_FIT + EIGENSOLVER_HELPERS));
  expect(r.fitPeakRssMiB - r.baseRssMiB).toBeLessThan(FITS * MIB_PER_FIT);
  expect(r.predictions).toBe(10_000);
  expect(r.predictMismatches).toBe(0);
  expect(r.predictPeakThreads).toBeLessThanOrEqual(r.baseThreads + THREADS_PER_FIT);
  expect(r.predictPeakRssMiB - r.rssBeforePredictionsMiB).toBeLessThan(PREDICT_GROWTH_MIB);
  expect(r.threadsAfter).toBeLessThanOrEqual(r.baseThreads);
}, 300_000);
