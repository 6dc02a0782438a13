/**
 * Cancellation and clean-up: an AbortSignal stops training within one iteration even when it is
 * fired from a timer; worker threads and GPU devices are released after models are disposed,
 * after failed or aborted runs, and after models dropped without dispose(); many models trained
 * one after another or at once leave the thread count where it was; and the process then exits by
 * itself. The counts come from the OS (/proc/self/task), in a separate process.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { webGpuSupport } from '../../src/backends/webgpu/index.js';

const script = path.resolve(__dirname, 'helpers/lifecycle.mjs');
const gpu = await webGpuSupport();

function run(which: 'wasm' | 'webgpu'): Record<string, unknown> {
  const out = spawnSync(process.execPath, ['--expose-gc', script, which], { encoding: 'utf8', timeout: 300_000 });
  // It exits by itself, with status 0: no worker, device or timer keeps it alive, nothing threw.
  expect(out.signal, out.stderr).toBeNull();
  expect(out.status, out.stderr).toBe(0);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!);
}

describe('training leaves nothing running', () => {
  it('wasm: sequential, concurrent, aborted, failed and abandoned runs', () => {
    const counts = run('wasm') as Record<string, number> & { failures: string[]; abortedStoppedBy: string };
    expect(counts.concurrentLive).toBe(counts.base + 3 * 2); // three live models, two workers each
    for (const phase of ['sequential', 'concurrent', 'aborted', 'failed', 'abandoned']) {
      expect(counts[phase], phase).toBeLessThanOrEqual(counts.base);
    }
    expect(counts.abandonedLive).toBeGreaterThan(counts.base);
    expect(counts.abortedStoppedBy).toBe('aborted');
    expect(counts.abortedIterationsAfterSignal).toBeLessThanOrEqual(1);
    expect(counts.failures).toEqual(['DIVERGED', 'ABORTED']);
  });

  // As in test/backends/webgpu.test.ts: in CI a missing adapter fails, elsewhere it skips.
  it.runIf(gpu.available || process.env.CI === 'true')(`webgpu: models disposed and aborted${gpu.available ? '' : ` (${gpu.reason})`}`, () => {
    const counts = run('webgpu') as Record<string, number | string>;
    expect(counts.stoppedBy).toBe('aborted');
    expect(counts.after).toBeLessThanOrEqual(counts.base as number);
  }, 300_000);
});
