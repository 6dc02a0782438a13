/** Backend selection: what 'auto' may pick, named backends, and clear errors. */
import { describe, expect, it, vi } from 'vitest';
import { platform } from '#platform';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import type { Backend } from '../../src/backends/backend.js';
import { autoFor, createAutoCandidates, createBackend, explainAuto, probeBackends, type BackendAvailability, type ConcreteBackendName } from '../../src/backends/select.js';
import { onnxSupport } from '../../src/backends/onnx/index.js';
import { hardwareGpuPossible } from '../../src/backends/webgpu/gpu.js';
import { wasmSupport } from '../../src/backends/wasm/index.js';
import { fit, KmfitError } from '../../src/index.js';
import { randomPoints } from '../helpers/data.js';

/** Both timed candidates run here; in CI always, so that a missing onnxruntime-node fails the test that needs both instead of skipping it. */
const BOTH_TIMED = ((await onnxSupport()).available && wasmSupport().available) || process.env.CI === 'true';

describe('backend selection', () => {
  it("'auto' considers a hardware GPU, else onnx and wasm (timed), else js — never a software adapter nor gpu.js", async () => {
    const candidates = await createAutoCandidates({});
    const backend = await createBackend('auto');
    try {
      const found = await probeBackends();
      const gpu = found.find((b) => b.name === 'webgpu')!;
      const names = candidates.map((b) => b.name);
      if (backend.name === 'webgpu') {
        expect(backend.describe().software).not.toBe(true);
        expect(names).toEqual(['webgpu']);
      } else {
        // Without a hardware adapter the CPU path: onnx where onnxruntime-node loads and wasm
        // wherever WebAssembly SIMD and threads exist, both timed on the data; js if neither.
        expect(gpu.fast && (await hardwareGpuPossible())).toBe(false);
        const cpu = [...((await onnxSupport()).available ? ['onnx'] : []), ...(wasmSupport().available ? ['wasm'] : [])];
        expect(names).toEqual(cpu.length > 0 ? cpu : ['js']);
        expect(explainAuto(found).names).toEqual(names);
        // Without data to time on (a loaded model's predictions), the first of them.
        expect(backend.name).toBe(names[0]);
      }
      expect(found.find((b) => b.name === 'gpujs')!.fast).toBe(false);
    } finally {
      await backend.dispose();
      await Promise.all(candidates.map((b) => b.dispose()));
    }
  });

  it("a saved model predicts on the backend it was trained on where 'auto' would consider it here", async () => {
    const gpu = await hardwareGpuPossible();
    if (wasmSupport().available && !gpu) expect(await autoFor('wasm')).toBe('wasm');
    expect(await autoFor('js')).toBe('js');
    // gpu.js is never 'auto''s; an unknown name (a newer kmfit's backend) falls back to 'auto'.
    expect(await autoFor('gpujs')).toBe('auto');
    expect(await autoFor('cuda')).toBe('auto');
  });

  it('a named backend is that backend', async () => {
    for (const name of ['wasm', 'js'] as const) {
      const backend = await createBackend(name, { threads: 1 });
      expect(backend.name).toBe(name);
      if (name === 'wasm') expect(backend.describe().threads).toBe(1);
      await backend.dispose();
    }
  });

  it('an unknown name or a bad thread count is a KmfitError that says what to pass', async () => {
    await expect(createBackend('cuda' as never)).rejects.toMatchObject({ code: 'UNKNOWN_BACKEND', message: expect.stringContaining('webgpu, onnx, wasm, gpujs, js') });
    const X = randomPoints(20, 2, 1);
    const y = X.map((x) => x[0]);
    const error = await fit(X, y, { backend: 'wasm', threads: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KmfitError);
    expect((error as KmfitError).code).toBe('INVALID_OPTION');
    expect((error as KmfitError).message).toContain('threads');
    // 'auto' starts its timed candidates side by side: the first one's refusal is the error.
    await expect(createAutoCandidates({ threads: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('threads must be') });
  });

  it.skipIf(!BOTH_TIMED)("'auto' disposes the candidates it started when another one fails to start", async () => {
    const failure = new Error('onnx did not start');
    const create = vi.spyOn(platform.onnx, 'create').mockRejectedValue(failure);
    const started: Backend[] = [];
    const wasm = await import('../../src/backends/wasm/index.js');
    const createWasm = vi.spyOn(wasm, 'createWasmBackend');
    try {
      await expect(createAutoCandidates({})).rejects.toBe(failure);
      expect(create).toHaveBeenCalledTimes(1);
      for (const result of createWasm.mock.results) started.push(await (result.value as Promise<Backend>));
      expect(started).toHaveLength(1);
      // Disposed: a disposed backend refuses new work.
      await expect(started[0].createCenterSet(makeKernel(chooseKernel('gaussian'), 1), { data: new Float32Array(2), rows: 1, cols: 2 }, 1)).rejects.toThrow();
    } finally {
      create.mockRestore();
      createWasm.mockRestore();
    }
  });

  it('explains its choice from what runs here', () => {
    const entry = (name: ConcreteBackendName, available: boolean, fast: boolean, detail: string): BackendAvailability => ({ name, available, fast, detail });
    const cpuOnly = [
      entry('webgpu', false, false, 'no adapter'),
      entry('onnx', false, false, 'the optional package onnxruntime-node could not be loaded'),
      entry('wasm', true, true, 'WebAssembly SIMD'),
      entry('js', true, true, 'plain JavaScript'),
    ];
    expect(explainAuto(cpuOnly)).toEqual({
      names: ['wasm'],
      reason: 'no hardware GPU; onnxruntime-node does not load here (see the onnx entry); WebAssembly SIMD on every core',
    });
    const withOnnx = cpuOnly.map((b) => (b.name === 'onnx' ? entry('onnx', true, true, 'onnxruntime-node 1.30.0') : b));
    expect(explainAuto(withOnnx)).toEqual({
      names: ['onnx', 'wasm'],
      reason: 'no hardware GPU; it times onnx and wasm on each data shape and takes the fastest (cached per shape)',
    });
    const onnxOnly = withOnnx.map((b) => (b.name === 'wasm' ? entry('wasm', false, false, 'no SIMD') : b));
    expect(explainAuto(onnxOnly).names).toEqual(['onnx']);
    const neither = cpuOnly.map((b) => (b.name === 'wasm' ? entry('wasm', false, false, 'no SIMD') : b));
    expect(explainAuto(neither).names).toEqual(['js']);
    const withGpu = [entry('webgpu', true, true, 'NVIDIA H200'), ...withOnnx.slice(1)];
    expect(explainAuto(withGpu)).toEqual({ names: ['webgpu'], reason: 'a hardware GPU: NVIDIA H200' });
  });
});

describe('a page whose Content Security Policy forbids compiling WebAssembly', () => {
  it("reports wasm unavailable, saying what allows it, so that 'auto' does not pick it", () => {
    const before = wasmSupport().available;
    // The project's TypeScript lib has no WebAssembly value (no DOM): reach it as the backend does.
    const wasm = Reflect.get(globalThis, 'WebAssembly') as { Module: unknown; CompileError: new (message: string) => Error };
    const original = wasm.Module;
    // What Chromium throws there (checked in headless Chromium under script-src 'self').
    wasm.Module = function refused() {
      throw new wasm.CompileError('WebAssembly.Module(): Compiling or instantiating WebAssembly module violates the following Content Security policy directive');
    };
    try {
      const support = wasmSupport();
      expect(support.available).toBe(false);
      expect(support.reason).toContain("'wasm-unsafe-eval'");
    } finally {
      wasm.Module = original;
    }
    expect(wasmSupport().available).toBe(before);
  });
});
