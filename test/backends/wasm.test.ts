import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SOURCE_FILES, SOURCE_HASH } from '../../kernels/wasm/generated/modules.js';
import { chooseKernel, makeKernel, type KernelOption } from '../../kernels/index.js';
import type { Backend } from '../../src/backends/backend.js';
import { JsBackend } from '../../src/backends/js/index.js';
import { webAssembly } from '../../src/backends/wasm/engine.js';
import { createWasmBackend, wasmSupport } from '../../src/backends/wasm/index.js';
import { bindExports, compileVariant, type WasmVariant } from '../../src/backends/wasm/modules.js';
import {
  KERNEL_CAUCHY, KERNEL_EXPPOWER, KERNEL_GAUSSIAN, KERNEL_LAPLACIAN, KERNEL_MATERN32, KERNEL_MATERN52,
} from '../../src/backends/wasm/transforms.js';
import type { Matrix } from '../../src/matrix.js';
import { lcg, relativeError } from '../helpers/data.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { BACKEND_LIFE_OUTPUT, backendLifeScript, ROOT, runChild } from '../helpers/child.js';
import { describeConformance } from './conformance.js';

const TRANSFORM_IDS = {
  KERNEL_LAPLACIAN, KERNEL_GAUSSIAN, KERNEL_EXPPOWER, KERNEL_CAUCHY, KERNEL_MATERN32, KERNEL_MATERN52,
};

describeConformance('wasm', () => createWasmBackend());
describeConformance('wasm, plain SIMD128', () => createWasmBackend({ variant: 'simd' }));
describeConformance('wasm, one thread', () => createWasmBackend({ threads: 1 }));
// Kernel blocks of 4 KiB of output rows a job: many chunks through both alternating regions.
describeConformance('wasm, small block chunks', () => createWasmBackend({ blockChunkBytes: 4096 }));

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const next = lcg(seed);
  return { data: Float32Array.from({ length: rows * cols }, next), rows, cols };
}

async function fusedBlock(backend: Backend, kernel: KernelOption, sigma: number, X: Matrix, Z: Matrix, alpha: Float32Array, l: number): Promise<Float32Array> {
  const set = await backend.createCenterSet(makeKernel(chooseKernel(kernel), sigma), Z, l);
  await set.setWeights(alpha);
  const out = new Float32Array(X.rows * l);
  await set.predict(X, out);
  set.dispose();
  return out;
}


describe('wasm backend', () => {
  it('is supported here, with relaxed SIMD', () => {
    expect(wasmSupport()).toEqual({ available: true, variant: 'relaxed' });
  });

  it('runs generated kernels that are up to date with kernels/wasm/assembly (else: node kernels/wasm/build.mjs)', () => {
    const hash = createHash('sha256');
    for (const file of SOURCE_FILES) {
      hash.update(`${file}\0`);
      hash.update(readFileSync(path.join(ROOT, file)));
      hash.update('\0');
    }
    expect(hash.digest('hex')).toBe(SOURCE_HASH);
    const listed = new Set(SOURCE_FILES);
    const assembly = path.join(ROOT, 'kernels/wasm/assembly');
    for (const name of ['blocks.ts']) expect(listed.has(path.relative(ROOT, path.join(assembly, name)))).toBe(true);
  });

  for (const variant of ['relaxed', 'simd'] as const) {
    it(`approximates exp and log to ~1e-7 relative (${variant} build)`, async () => {
      const wasm = webAssembly();
      if (!wasm) throw new Error('no WebAssembly');
      const memory = new wasm.Memory({ initial: 2, maximum: 65536, shared: true });
      const instance = await wasm.instantiate(await compileVariant(variant), { env: { memory } });
      const exports = bindExports(instance.exports);
      // The host's transform ids are the device code's.
      for (const [name, id] of Object.entries(TRANSFORM_IDS)) expect(Reflect.get(Object(instance.exports[name]), 'value')).toBe(id);
      const count = 4096;
      const at = 65536;
      const view = new Float32Array(memory.buffer, at, count);
      const xs = Float32Array.from({ length: count }, (_, i) => -68.9 + (77 * i) / count);
      view.set(xs);
      exports.expInPlace(at, count);
      let worst = 0;
      for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(view[i] / Math.exp(xs[i]) - 1));
      expect(worst).toBeLessThan(3e-7);
      // Below −69 (e^x < 1e-30) exp is 0: no denormal products with the weights.
      view.set([-69.5, -87, -100, -Infinity]);
      exports.expInPlace(at, 4);
      expect(Array.from(view.subarray(0, 4))).toEqual([0, 0, 0, 0]);
      // log over normal and denormal numbers, relative to |ln x| away from 1 and absolute near 1
      const ys = Float32Array.from({ length: count }, (_, i) => Math.fround(2 ** (-140 + (268 * i) / count)));
      view.set(ys);
      exports.logInPlace(at, count);
      worst = 0;
      for (let i = 0; i < count; i++) {
        const exact = Math.log(ys[i]);
        worst = Math.max(worst, Math.abs(view[i] - exact) / Math.max(1, Math.abs(exact)));
      }
      expect(worst).toBeLessThan(3e-7);
    });
  }

  it('gives the same blocks from the relaxed and the plain SIMD build, with 1 and 2 threads', async () => {
    const X = randomMatrix(100, 50, 1);
    const Z = randomMatrix(3000, 50, 2);
    const l = 10;
    const alpha = randomMatrix(3000, l, 3).data.map((a) => a - 0.5);
    const outputs: Float32Array[] = [];
    const blocks: Float32Array[] = [];
    for (const options of [{ variant: 'relaxed' as const }, { variant: 'simd' as const, threads: 1 }, { variant: 'simd' as const, threads: 2 }]) {
      const backend = await createWasmBackend(options);
      outputs.push(await fusedBlock(backend, 'laplacian', 2, X, Z, alpha, l));
      blocks.push(await backend.kernelBlock(makeKernel(chooseKernel('gaussian'), 2), X, Z));
      await backend.dispose();
    }
    expect(relativeError(outputs[1], outputs[0])).toBeLessThan(1e-5);
    expect(relativeError(blocks[1], blocks[0])).toBeLessThan(1e-6);
    // Threads split the centers: the same terms, summed in another order.
    expect(relativeError(outputs[2], outputs[1])).toBeLessThan(1e-5);
    expect(Array.from(blocks[2])).toEqual(Array.from(blocks[1]));
  });

  it('gives k(x, x) = k(0) exactly on the diagonal of K(X, X), also at d = 784', async () => {
    const backend = await createWasmBackend();
    for (const d of [784, 3]) {
      const X = randomMatrix(37, d, 5);
      const block = await backend.kernelBlock(makeKernel(chooseKernel('laplacian'), 10), X, X);
      for (let i = 0; i < X.rows; i++) expect(block[i * X.rows + i]).toBe(1);
    }
    await backend.dispose();
  });

  it('runs custom formula kernels in the workers, each with its own constants', async () => {
    const backend = await createWasmBackend();
    const reference = new JsBackend();
    const X = randomMatrix(45, 20, 7);
    const Z = randomMatrix(700, 20, 8);
    const l = 3;
    const alpha = randomMatrix(700, l, 9).data.map((a) => a - 0.5);
    const kernels: KernelOption[] = [
      'exp(-r^1.5 / sigma)',
      { formula: '1 / (1 + (r / sigma)^2)^beta', params: { beta: 0.5 } },
      { formula: '1 / (1 + (r / sigma)^2)^beta', params: { beta: 2 } },
      { formula: 'max(0, 1 - r / sigma)^2 * cos(0 * r)' },
    ];
    const results: Float32Array[] = [];
    for (const kernel of kernels) {
      const fast = await fusedBlock(backend, kernel, 3, X, Z, alpha, l);
      const slow = await fusedBlock(reference, kernel, 3, X, Z, alpha, l);
      expect(relativeError(fast, slow)).toBeLessThan(1e-5);
      const k = makeKernel(chooseKernel(kernel), 3);
      const block = await backend.kernelBlock(k, X, Z);
      const expected = await reference.kernelBlock(k, X, Z);
      expect(relativeError(block, expected)).toBeLessThan(1e-5);
      results.push(fast);
    }
    // The two beta values are different kernels, not one cached transform.
    expect(relativeError(results[1], results[2])).toBeGreaterThan(1e-2);
    await backend.dispose();
  });

  it('serializes calls made without awaiting each other', async () => {
    const backend = await createWasmBackend();
    const Z = randomMatrix(500, 8, 11);
    const X = randomMatrix(20, 8, 12);
    const set = await backend.createCenterSet(makeKernel(chooseKernel('gaussian'), 1), Z, 1);
    const before = new Float32Array(20);
    const after = new Float32Array(20);
    const ones = new Float32Array(500).fill(1);
    const calls = [set.setWeights(ones), set.predict(X, before), set.addToWeights([0, 1], Float64Array.from([1, 1])), set.predict(X, after)];
    await Promise.all(calls);
    const block = await backend.kernelBlock(makeKernel(chooseKernel('gaussian'), 1), X, Z);
    for (let i = 0; i < 20; i++) {
      let sum = 0;
      for (let j = 0; j < 500; j++) sum += block[i * 500 + j];
      expect(before[i]).toBeCloseTo(sum, 3);
      expect(after[i]).toBeCloseTo(sum + block[i * 500] + block[i * 500 + 1], 3);
    }
    await backend.dispose();
    await expect(set.readWeights()).rejects.toThrow(/disposed/);
  });

  it('says what to change when the centers cannot fit in 4 GiB', async () => {
    const backend = await createWasmBackend({ threads: 1 });
    const kernel = makeKernel(chooseKernel('laplacian'), 10);
    // The size is checked before the data is read: a matrix that only claims 2 000 000 × 784.
    const huge: Matrix = { data: new Float32Array(0), rows: 2_000_000, cols: 784 };
    const message = await asyncErrorOf(backend.createCenterSet(kernel, huge, 10), 'INSUFFICIENT_MEMORY');
    expect(message).toContain('4 GiB');
    expect(message).toContain('2000000 centers × 784 features');
    expect(message).toMatch(/fewer centers \(at most about \d+ here\) or another backend/);
    const budget = backend.memoryBudget();
    expect(budget.bytes).toBeLessThanOrEqual(2 ** 32);
    // The backend still works after the refusal.
    const set = await backend.createCenterSet(kernel, randomMatrix(10, 784, 1), 10);
    await set.predict(randomMatrix(3, 784, 2), new Float32Array(30));
    await backend.dispose();
  });

  it("keeps a kernel cache's values in its memory within half of 4 GiB, and reads them there, not copies", async () => {
    const backend = await createWasmBackend({ threads: 2 });
    const engine = await backend.cacheEngine!('float32');
    const rows = 9;
    const cols = 16;
    const kept = engine.allocate!(rows * cols)!;
    expect(kept).toBeInstanceOf(Float32Array);
    kept.fill(1);
    const A = new Float32Array(cols).fill(1);
    // Row 0 is zeroed while the last row is asked for: a copy made when row 0 was asked for still
    // holds ones; values read in place, after every row was asked for, are zeros.
    const out = new Float32Array(rows);
    await engine.multiplyRows!(rows, cols, (i) => {
      if (i === rows - 1) kept.fill(0, 0, cols);
      return kept.subarray(i * cols, (i + 1) * cols);
    }, A, 1, out);
    expect(Array.from(out)).toEqual([0, ...Array(rows - 1).fill(cols)]);
    // The same rows outside its memory are copied when asked for.
    const plain = new Float32Array(rows * cols).fill(1);
    await engine.multiplyRows!(rows, cols, (i) => {
      if (i === rows - 1) plain.fill(0, 0, cols);
      return plain.subarray(i * cols, (i + 1) * cols);
    }, A, 1, out);
    expect(Array.from(out)).toEqual(Array(rows).fill(cols));
    engine.free!(kept);
    // More than half of the 4 GiB is not taken (the cache then stays in the process's memory).
    expect(engine.allocate!(2 ** 29 + 1)).toBeUndefined();
    await backend.dispose();
  });

  it('rejects bad options with a KmfitError', async () => {
    await asyncErrorOf(createWasmBackend({ threads: 0 }), 'INVALID_OPTION');
    await asyncErrorOf(createWasmBackend({ threads: 1.5 }), 'INVALID_OPTION');
    await asyncErrorOf(createWasmBackend({ variant: 'avx' as WasmVariant }), 'INVALID_OPTION');
  });

  it('describes the CPU, the threads and the SIMD build', async () => {
    const backend = await createWasmBackend({ threads: 2, variant: 'simd' });
    const info = backend.describe();
    expect(info).toMatchObject({ threads: 2, parallel: true });
    expect(info.device).toContain('2 threads');
    expect(info.device).toContain('WebAssembly SIMD128');
    await backend.dispose();
  });

  it('lets the process exit after dispose (and without it: idle workers are unref’d)', () => {
    for (const dispose of [true, false]) {
      const child = runChild(backendLifeScript('src/backends/wasm/index.ts', 'createWasmBackend', 'createWasmBackend({ threads: 2 })', dispose));
      expect(child.stderr).toBe('');
      expect(child.stdout.trim()).toBe(BACKEND_LIFE_OUTPUT);
      expect(child.status).toBe(0);
    }
  });
});
