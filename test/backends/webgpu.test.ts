/**
 * The webgpu backend: the conformance suite (also with storage bindings capped at 4 KiB, so that
 * centers, batches and kernel blocks are split across buffers), the translation of kernel
 * expressions to WGSL, weight updates with repeated rows, and a clean process exit after dispose.
 *
 * Without a GPU these run on Mesa's lavapipe (.ci/install-vulkan.sh; XDG_RUNTIME_DIR must be set).
 * In CI (CI=true) a missing adapter fails the tests; elsewhere the device tests are skipped with
 * the reason.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel, type KernelOption } from '../../kernels/index.js';
import type { KernelExpression } from '../../kernels/kernel.js';
import { f32Literal, wgslKernelExpression } from '../../kernels/webgpu/expression.js';
import { GENERATED_FILE, generatedSource } from '../../kernels/webgpu/generate.js';
import { fusedShader } from '../../kernels/webgpu/shaders.js';
import { JsBackend } from '../../src/backends/js/index.js';
import { WebGpuCenterSet } from '../../src/backends/webgpu/centers.js';
import { createWebGpuBackend, webGpuSupport } from '../../src/backends/webgpu/index.js';
import type { Matrix } from '../../src/matrix.js';
import { asyncErrorOf, errorOf } from '../helpers/errors.js';
import { SUITE_BANDWIDTH, TRANSLATED_KERNELS } from './agreement.js';
import { describeConformance } from './conformance.js';
import { randomMatrix } from '../helpers/data.js';
import { BACKEND_LIFE_OUTPUT, backendLifeScript, runChild } from '../helpers/child.js';

const support = await webGpuSupport();
const IN_CI = process.env.CI === 'true';
/** In CI the device tests always run, so that a missing driver fails them instead of skipping. */
const RUN_DEVICE = support.available || IN_CI;
const SKIPPED = RUN_DEVICE ? '' : ` (skipped: ${support.reason})`;


/** Evaluates emitted WGSL in float64 with JS's Math, to check what the translation means. */
function evaluateWgsl(wgsl: string, r2: number): number {
  const js = wgsl.replace(/(\d)f\b/g, '$1');
  const clamp = (x: number, lo: number, hi: number): number => Math.min(Math.max(x, lo), hi);
  const names = ['r', 'r2', 'exp', 'log', 'sqrt', 'abs', 'sin', 'cos', 'tanh', 'cosh', 'sinh', 'min', 'max', 'pow_js', 'clamp'];
  const fn = new Function(...names, `"use strict"; return ${js};`);
  const { exp, log, sqrt, abs, sin, cos, tanh, cosh, sinh, min, max, pow } = Math;
  const value: unknown = fn(Math.sqrt(r2), r2, exp, log, sqrt, abs, sin, cos, tanh, cosh, sinh, min, max, pow, clamp);
  if (typeof value !== 'number') throw new Error(`${wgsl} did not evaluate to a number`);
  return value;
}

describe('kernel expressions in WGSL', () => {
  it('writes constants and literals as f32 literals', () => {
    expect(wgslKernelExpression({ js: 'Math.exp(r * c)', constants: { c: -0.5 } })).toBe('exp((r * (-0.5f)))');
    expect(f32Literal(1)).toBe('1.0f');
    expect(f32Literal(1e-7)).toBe(`${Math.fround(1e-7)}f`);
    expect(f32Literal(-2.5e30)).toMatch(/^\(-[\d.e+]+f\)$/);
    expect(() => f32Literal(1e39)).toThrow(RangeError);
  });

  for (const option of TRANSLATED_KERNELS) {
    const kernel = makeKernel(chooseKernel(option), 1.7);
    it(`translates ${kernel.describe()} faithfully`, () => {
      const wgsl = wgslKernelExpression(kernel.expression);
      // Nothing but the vocabulary reaches the shader.
      const words = wgsl.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
      const allowed = new Set(['r', 'r2', 'f', 'e', 'exp', 'log', 'sqrt', 'abs', 'sin', 'cos', 'tanh', 'cosh', 'sinh', 'min', 'max', 'pow_js', 'clamp']);
      expect(words.filter((w) => !allowed.has(w))).toEqual([]);
      for (const r of [0, 1e-3, 0.3, 1, 2.5, 9]) {
        const expected = kernel.value(r * r);
        expect(Math.abs(evaluateWgsl(wgsl, r * r) - expected)).toBeLessThanOrEqual(1e-6 * Math.abs(expected) + 1e-12);
      }
    });
  }

  it('guards pow where WGSL leaves it undefined: pow_js, never pow', () => {
    const exppower = makeKernel(chooseKernel({ name: 'exppower', gamma: 0.5 }), 1);
    const wgsl = wgslKernelExpression(exppower.expression);
    expect(wgsl).toContain('pow_js(r2, 0.25f)');
    expect(wgsl).not.toMatch(/\bpow\(/);
    expect(fusedShader(exppower.expression).code).toContain('fn pow_js(');
  });

  it('folds constant parts in float64, as the JS reference computes them', () => {
    // WGSL would evaluate pow(0, 0) or 1/0 at shader creation and refuse to compile.
    expect(wgslKernelExpression({ js: 'Math.pow(0, 0) * Math.exp(-r) + Math.sqrt(a) * r2', constants: { a: 4 } })).toBe(
      '((1.0f * exp((-r))) + (2.0f * r2))',
    );
    // Unary minus binds tighter than *, as in JS.
    expect(evaluateWgsl(wgslKernelExpression({ js: '-r * 2 - -3', constants: {} }), 4)).toBe(-1);
    expect(evaluateWgsl(wgslKernelExpression({ js: 'Math.min(r, 2, Math.max(r2, 5))', constants: {} }), 16)).toBe(2);
  });

  const REJECTED: [KernelExpression, RegExp][] = [
    [{ js: 'Math.foo(r)', constants: {} }, /Math\.foo is not supported/],
    [{ js: 'alert(r)', constants: {} }, /unknown function or object "alert"/],
    [{ js: 'process.exit(1) + r', constants: {} }, /unknown function or object "process"/],
    [{ js: 'r2 + q', constants: { c: 1 } }, /unknown name "q"/],
    [{ js: 'r ** 2', constants: {} }, /unexpected "\*"/],
    [{ js: 'r; r2', constants: {} }, /unexpected character ";"/],
    [{ js: 'r > 1 ? 1 : 0', constants: {} }, /unexpected character ">"/],
    [{ js: 'Math.exp(r', constants: {} }, /ends too early/],
    [{ js: 'Math.pow(r)', constants: {} }, /takes 2 argument/],
    [{ js: 'Math.exp(c) * r', constants: { c: 1000 } }, /not a finite f32/],
    [{ js: '', constants: {} }, /empty/],
  ];
  for (const [expression, reason] of REJECTED) {
    it(`rejects ${JSON.stringify(expression.js)}`, () => {
      expect(errorOf(() => wgslKernelExpression(expression), 'INVALID_KERNEL_FORMULA')).toMatch(reason);
    });
  }

  it('sources.generated.ts matches the .wgsl files (npx tsx kernels/webgpu/generate.ts)', () => {
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(generatedSource());
  });
});

describe(`webgpu device${SKIPPED}`, () => {
  it.runIf(IN_CI)('finds an adapter in CI (lavapipe at least)', () => {
    expect(support.reason).toBeUndefined();
    expect(support.available).toBe(true);
  });
});

describe.runIf(RUN_DEVICE)('webgpu backend', () => {
  describeConformance('webgpu', () => createWebGpuBackend({ allowSoftware: true }));
  // 16 KiB bindings: 240 centers of d = 17 per block, 5 MNIST rows per block and per batch call.
  describeConformance('webgpu, bindings split at 16 KiB', () => createWebGpuBackend({ allowSoftware: true, maxBindingBytes: 16_384 }));

  it('describes the adapter, its limits as the memory budget, and refuses software unless allowed', async () => {
    const backend = await createWebGpuBackend({ allowSoftware: true });
    const info = backend.describe();
    expect(backend.name).toBe('webgpu');
    expect(info.parallel).toBe(true);
    expect(info.software).toBe(support.software);
    expect(info.device).toBe(support.device);
    const budget = backend.memoryBudget();
    expect(budget.bytes).toBeGreaterThan(2 ** 27);
    expect(budget.source).toMatch(/maxBufferSize/);
    await backend.dispose();
    if (support.software) {
      expect(await asyncErrorOf(createWebGpuBackend(), 'UNKNOWN_BACKEND')).toMatch(/software adapter.*allowSoftware/);
    }
  });

  it('splits centers across buffers and agrees with the js backend across block edges', async () => {
    const backend = await createWebGpuBackend({ allowSoftware: true, maxBindingBytes: 4096 });
    const reference = new JsBackend();
    const kernel = makeKernel(chooseKernel('laplacian'), SUITE_BANDWIDTH);
    const [m, n, d, l] = [70, 517, 17, 3];
    const Z = randomMatrix(n, d, 5);
    const X = randomMatrix(m, d, 6);
    const alpha = randomMatrix(n, l, 7).data.map((a) => a - 0.5);
    const sets = [await backend.createCenterSet(kernel, Z, l), await reference.createCenterSet(kernel, Z, l)];
    const gpuSet = sets[0];
    expect(gpuSet).toBeInstanceOf(WebGpuCenterSet);
    if (gpuSet instanceof WebGpuCenterSet) expect(gpuSet.blockCount).toBe(Math.ceil(n / Math.floor(4096 / (4 * d))));
    // Repeated rows, in different blocks, in one call.
    const rows = [0, 59, 60, 59, 516, 0, 300, 59];
    const deltas = Float64Array.from({ length: rows.length * l }, (_, i) => (i % 7) - 3.25);
    for (const set of sets) {
      await set.setWeights(alpha);
      await set.addToWeights(rows, deltas);
    }
    // The js backend adds repeated rows one by one in float32, the webgpu backend sums them first.
    const [gpuAlpha, jsAlpha] = await Promise.all(sets.map((s) => s.readWeights()));
    for (let i = 0; i < gpuAlpha.length; i++) expect(gpuAlpha[i]).toBeCloseTo(jsAlpha[i], 5);
    for (const [j0, j1] of [[0, n], [55, 125], [59, 61], [200, 201]]) {
      const outs = [new Float32Array(m * l), new Float32Array(m * l)];
      await Promise.all(sets.map((s, i) => s.predict(X, outs[i], j0, j1))); // concurrent calls queue up
      for (let i = 0; i < outs[0].length; i++) expect(outs[0][i]).toBeCloseTo(outs[1][i], 4);
    }
    const blocks = await Promise.all([backend.kernelBlock(kernel, X, Z), reference.kernelBlock(kernel, X, Z)]);
    for (let i = 0; i < blocks[0].length; i++) expect(blocks[0][i]).toBeCloseTo(blocks[1][i], 5);
    sets.forEach((s) => s.dispose());
    await backend.dispose();
  });

  it('adds repeated rows correctly at scale (many repeats of few rows)', async () => {
    const backend = await createWebGpuBackend({ allowSoftware: true });
    const l = 10;
    const set = await backend.createCenterSet(makeKernel(chooseKernel('gaussian'), SUITE_BANDWIDTH), randomMatrix(50, 4, 9), l);
    const rows = Array.from({ length: 4000 }, (_, i) => (i * 7) % 13);
    const deltas = new Float32Array(rows.length * l).fill(0.25);
    await set.addToWeights(rows, deltas);
    await set.addToWeights(new Uint32Array([12, 49]), new Float32Array(2 * l).fill(1));
    const alpha = await set.readWeights();
    const expected = new Float32Array(50 * l);
    for (const row of rows) for (let c = 0; c < l; c++) expected[row * l + c] += 0.25;
    for (let c = 0; c < l; c++) {
      expected[12 * l + c] += 1;
      expected[49 * l + c] += 1;
    }
    expect(Array.from(alpha)).toEqual(Array.from(expected));
    await expect(set.addToWeights([50], new Float32Array(l))).rejects.toThrow(/not a center index/);
    set.dispose();
    await backend.dispose();
  });

  it('computes k(0) exactly where r² = 0, for kernels with pow and sqrt', async () => {
    const backend = await createWebGpuBackend({ allowSoftware: true });
    const zeros: Matrix = { data: new Float32Array(12), rows: 3, cols: 4 };
    const options: KernelOption[] = [{ name: 'exppower', gamma: 0.7 }, 'exp(-sqrt(r) / sigma)', 'exp(-(r / sigma)^1.5)', 'matern'];
    for (const option of options) {
      const kernel = makeKernel(chooseKernel(option), SUITE_BANDWIDTH);
      const block = await backend.kernelBlock(kernel, zeros, zeros);
      expect(Array.from(block)).toEqual(new Array(9).fill(kernel.diagonal));
    }
    await backend.dispose();
  });

  it('prints the final WGSL through the debug flag', async () => {
    const seen: string[] = [];
    const backend = await createWebGpuBackend({ allowSoftware: true, debugWgsl: (label, code) => seen.push(`${label}\n${code}`) });
    const kernel = makeKernel(chooseKernel('cauchy'), SUITE_BANDWIDTH);
    const set = await backend.createCenterSet(kernel, randomMatrix(5, 3, 1), 1);
    await set.predict(randomMatrix(2, 3, 2), new Float32Array(2));
    await set.predict(randomMatrix(2, 3, 3), new Float32Array(2)); // cached: no second print
    expect(seen.filter((s) => s.startsWith('fused\n'))).toHaveLength(1);
    expect(seen.find((s) => s.startsWith('fused\n'))).toContain(`(1.0f / (1.0f + (r2 * ${f32Literal(1 / (SUITE_BANDWIDTH * SUITE_BANDWIDTH))})))`);
    set.dispose();
    await backend.dispose();
  });

  it('lets a Node process exit after dispose', () => {
    const script = backendLifeScript('src/backends/webgpu/index.ts', 'createWebGpuBackend', 'createWebGpuBackend({ allowSoftware: true })');
    const child = runChild(script, { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toContain(BACKEND_LIFE_OUTPUT);
  });
});
