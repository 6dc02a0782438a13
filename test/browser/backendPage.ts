/**
 * Runs in a real browser page (test/browser/backends.test.ts serves it, cross-origin isolated):
 * starts the backend named in the query (?backend=wasm or webgpu), runs the conformance sums against
 * float64, times one fused block, and posts the report back to the server.
 */
import type { Backend } from '../../src/backends/backend.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import { benchKernel, timeMedian, uniformMatrix } from '../../bench/timing.js';
import { conformanceKernels, disagreements } from '../backends/agreement.js';

/** The page's report; the test reads the same shape. */
export interface PageReport {
  crossOriginIsolated?: boolean;
  device?: { device: string; threads?: number; software?: boolean };
  memory?: string;
  failures?: string[];
  /** The fused block at `shape`, GFLOP/s-equivalent (2·m·n·d / s), median of 5. */
  gflops?: number;
  shape?: number[];
  error?: string;
}

async function fusedGflops(backend: Backend, [m, n, d, l]: number[]): Promise<number> {
  const centers = await backend.createCenterSet(benchKernel(d), uniformMatrix(n, d, 1), l);
  await centers.setWeights(uniformMatrix(n, l, 2).data.map((a) => a - 0.5));
  const X = uniformMatrix(m, d, 3);
  const out = new Float32Array(m * l);
  const seconds = await timeMedian(5, () => centers.predict(X, out));
  centers.dispose();
  return (2 * m * n * d) / seconds / 1e9;
}

async function main(): Promise<void> {
  const query = new URLSearchParams(String(Reflect.get(Reflect.get(globalThis, 'location') ?? {}, 'search') ?? ''));
  const name = query.get('backend');
  const report: PageReport = { crossOriginIsolated: Reflect.get(globalThis, 'crossOriginIsolated') as boolean };
  try {
    const backend = name === 'webgpu' ? await createWebGpuBackend({ allowSoftware: true }) : await createWasmBackend();
    report.device = backend.describe();
    report.memory = backend.memoryBudget().source;
    const failures: string[] = [];
    for (const kernel of conformanceKernels()) failures.push(...(await disagreements(backend, kernel, 1e-4)));
    report.failures = failures;
    // A software GPU is slow: time a smaller block there.
    report.shape = report.device.software ? [256, 2048, 784, 10] : [1024, 8192, 784, 10];
    report.gflops = await fusedGflops(backend, report.shape);
    await backend.dispose();
  } catch (error) {
    report.error = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  }
  await fetch('/result', { method: 'POST', body: JSON.stringify(report) });
}

void main();
