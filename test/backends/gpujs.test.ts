import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import type { Backend } from '../../src/backends/backend.js';
import { createGpuJsBackend, gpuJsSupport } from '../../src/backends/gpujs/index.js';
import { JsBackend } from '../../src/backends/js/index.js';
import { KmfitError } from '../../src/errors.js';
import { describeConformance } from './conformance.js';
import { randomMatrix } from '../helpers/data.js';

/** Why a gpu.js mode cannot start here, or undefined when it can. */
async function failureOf(mode: string): Promise<string | undefined> {
  try {
    await (await createGpuJsBackend({ mode })).dispose();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * gpu.js is optional: without it this file skips, except in CI, where a gpu.js that does not load
 * is a failure (the conformance suite then fails on createGpuJsBackend's error).
 */
const failure = await failureOf('cpu');
const required = process.env.CI === 'true';
const run = failure === undefined || required;
/** A WebGPU adapter (a GPU, or Mesa ≥ 25 lavapipe in software) for gpu.js's webgpu mode, if any. */
const webgpu = failure ?? (await failureOf('webgpu'));


if (run) {
  // The mode CI runs: gpu.js's plain-JavaScript kernels.
  describeConformance('gpujs (cpu mode)', () => createGpuJsBackend({ mode: 'cpu' }));
  // WebAssembly SIMD on worker threads: what 'auto' picks in Node without a GPU.
  describeConformance('gpujs (webasm mode)', () => createGpuJsBackend({ mode: 'webasm' }));
} else {
  describe.skip(`gpujs backend (gpu.js does not load: ${failure})`, () => {
    it('conformance', () => {});
  });
}

if (webgpu === undefined) {
  describeConformance('gpujs (webgpu mode)', () => createGpuJsBackend({ mode: 'webgpu' }));
} else {
  describe.skip(`gpujs webgpu mode (${webgpu})`, () => {
    it('conformance', () => {});
  });
}

const modes = ['cpu', 'webasm', ...(webgpu === undefined ? ['webgpu'] : [])];

describe.runIf(run)('gpujs backend', () => {
  it('reports its mode, device and memory budget', async () => {
    const support = await gpuJsSupport();
    expect(support.available).toBe(true);
    expect(['webgpu', 'headlessgl', 'webasm', 'cpu']).toContain(support.mode);
    for (const mode of modes) {
      const backend = await createGpuJsBackend({ mode });
      expect(backend.name).toBe('gpujs');
      const info = backend.describe();
      expect(info.device).toContain(`gpu.js ${mode} mode`);
      expect(info.parallel).toBe(mode !== 'cpu');
      const budget = backend.memoryBudget();
      expect(budget.bytes).toBeGreaterThan(0);
      expect(budget.source.length).toBeGreaterThan(0);
      await backend.dispose();
    }
  });

  it('rejects unknown and unavailable modes with KmfitError', async () => {
    await expect(createGpuJsBackend({ mode: 'quantum' })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    // headless-gl (`gl`) is not installed in this project; where it is, the mode may work.
    const headless = await createGpuJsBackend({ mode: 'headlessgl' }).then(
      async (backend) => {
        await backend.dispose();
        return undefined;
      },
      (error: unknown) => error,
    );
    if (headless !== undefined) {
      expect(headless).toBeInstanceOf(KmfitError);
      expect(headless).toMatchObject({ code: 'UNKNOWN_BACKEND' });
      expect((headless as Error).message).toMatch(/headless-gl|gl/);
    }
  });

  it.each(modes)('%s: tiles over rows and centers, ranges, repeated weight updates', async (mode) => {
    const backend: Backend = await createGpuJsBackend({ mode });
    const reference = new JsBackend();
    // n > 1024 centers per tile and m > 1024 / (tile width) rows: several tiles both ways.
    const [m, n, d, l] = [1030, 1100, 2, 2];
    const kernel = makeKernel(chooseKernel('laplacian'), 0.5);
    const X = randomMatrix(m, d, 11);
    const Z = randomMatrix(n, d, 12);
    const sets = [await backend.createCenterSet(kernel, Z, l), await reference.createCenterSet(kernel, Z, l)];
    const rows = [3, 1050, 3, 7];
    const deltas = Float64Array.from({ length: rows.length * l }, (_, i) => (i % 3) - 1);
    for (const set of sets) {
      await set.setWeights(randomMatrix(n, l, 13).data.map((a) => a - 0.5));
      await set.addToWeights(rows, deltas);
    }
    expect(await sets[0].readWeights()).toEqual(await sets[1].readWeights());
    for (const [j0, j1] of [[0, n], [3, 1090], [1024, 1025], [7, 7]]) {
      const outs = [new Float32Array(m * l).fill(9), new Float32Array(m * l).fill(9)];
      await sets[0].predict(X, outs[0], j0, j1);
      await sets[1].predict(X, outs[1], j0, j1);
      for (let i = 0; i < m * l; i++) expect(Math.abs(outs[0][i] - outs[1][i])).toBeLessThanOrEqual(1e-4 * (j1 - j0) + 1e-6);
    }
    for (const set of sets) set.dispose();
    const Y = randomMatrix(1500, d, 14);
    const block = await backend.kernelBlock(kernel, randomMatrix(5, d, 15), Y);
    const expected = await reference.kernelBlock(kernel, randomMatrix(5, d, 15), Y);
    for (let i = 0; i < expected.length; i++) expect(Math.abs(block[i] - expected[i])).toBeLessThanOrEqual(1e-4 * expected[i] + 1e-6);
    expect(backend.describe().device).not.toContain('fell back');
    await backend.dispose();
  });

  it.each(modes)('%s: dispose() releases gpu.js so the process can exit', (mode) => {
    const child = runChild(
      `import { createGpuJsBackend } from ${JSON.stringify(entry)};
const backend = await createGpuJsBackend({ mode: ${JSON.stringify(mode)} });
const kernel = { spec: { name: 'gaussian', bandwidth: 1, params: {} }, expression: { js: 'Math.exp(r2 * c)', constants: { c: -0.5 } } };
const set = await backend.createCenterSet(kernel, { data: new Float32Array(4096 * 3).fill(0.5), rows: 4096, cols: 3 }, 2);
const out = new Float32Array(2 * 64);
await set.predict({ data: new Float32Array(64 * 3), rows: 64, cols: 3 }, out);
set.dispose();
await backend.dispose();
console.log('done', out[0]);
`,
    );
    expect(child.stdout).toContain('done 0');
    expect(child.status).toBe(0);
  });
});

const here = path.dirname(fileURLToPath(import.meta.url));
const entry = pathToFileURL(path.resolve(here, '../../src/backends/gpujs/index.ts')).href;

/** Runs an ES module (TypeScript through tsx) in a fresh Node process; fails on a hang. */
function runChild(source: string): { stdout: string; status: number | null } {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'kmfit-gpujs-'));
  try {
    const script = path.join(directory, 'child.mts');
    writeFileSync(script, source);
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: path.resolve(here, '../..'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.error, child.stderr).toBeUndefined();
    return { stdout: child.stdout, status: child.status };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

// Whether or not gpu.js is installed here: a Node where it cannot be resolved.
describe('gpujs backend without gpu.js', () => {
  it('throws UNKNOWN_BACKEND with the reason, and gpuJsSupport says why', () => {
    const child = runChild(
      `import { register } from 'node:module';
const hooks = 'export async function resolve(specifier, context, next) {' +
  ' if (specifier === "gpu.js") { const e = new Error("Cannot find package gpu.js"); e.code = "ERR_MODULE_NOT_FOUND"; throw e; }' +
  ' return next(specifier, context); }';
register('data:text/javascript,' + encodeURIComponent(hooks));
const { createGpuJsBackend, gpuJsSupport } = await import(${JSON.stringify(entry)});
const support = await gpuJsSupport();
try {
  await createGpuJsBackend({ mode: 'cpu' });
  console.log('created');
} catch (error) {
  console.log(JSON.stringify({ code: error.code, message: error.message, support }));
}
`,
    );
    expect(child.status).toBe(0);
    const report = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}');
    expect(report.code).toBe('UNKNOWN_BACKEND');
    expect(report.message).toMatch(/gpu\.js is not installed/);
    expect(report.support).toMatchObject({ available: false });
    expect(report.support.reason).toMatch(/gpu\.js/);
  });
});
