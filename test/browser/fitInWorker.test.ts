/**
 * fitInWorker's page side, in Node: what crosses to the worker (src/worker/protocol.ts) and what is
 * refused before a worker starts. Training in a real Web Worker is demo.test.ts's, in Chromium.
 */
import { describe, expect, it } from 'vitest';
import { KmfitError } from '../../src/errors.js';
import { fitInWorker } from '../../src/worker/fitInWorker.js';
import { CALLBACK_NAMES, fitRequest } from '../../src/worker/protocol.js';

const X = Array.from({ length: 20 }, (_, i) => [i, i % 3]);
const y = X.map((_, i) => i % 2);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'nothing thrown';
  } catch (error) {
    return error instanceof KmfitError ? `${error.code}: ${error.message}` : String(error);
  }
}

describe('fitInWorker', () => {
  it('sends data, lists the callbacks it forwards, and keeps the signal on the page', () => {
    const onEpoch = () => undefined;
    const controller = new AbortController();
    controller.abort();
    const request = fitRequest(X, y, { epochs: 2, kernel: { name: 'gaussian', bandwidth: 2 }, onEpoch, signal: controller.signal });
    expect(request.X).toEqual({ data: expect.any(Float32Array), rows: 20, cols: 2 });
    expect(request.options).toEqual({ epochs: 2, kernel: { name: 'gaussian', bandwidth: 2 } });
    expect(request.callbacks).toEqual(['onEpoch']);
    expect(request.aborted).toBe(true);
    expect(() => structuredClone(request)).not.toThrow();
    expect(CALLBACK_NAMES).toEqual(expect.arrayContaining(['onPlan', 'onEpoch', 'onIteration', 'onDivergence']));
  });

  it('converts the data options to one Float32Array each', () => {
    const request = fitRequest(X, y, { validation: { X: X.slice(0, 5), y: y.slice(0, 5) }, centers: X.slice(0, 4) });
    expect(request.options.validation).toEqual({ X: { data: expect.any(Float32Array), rows: 5, cols: 2 }, y: y.slice(0, 5) });
    expect(request.options.centers).toEqual({ data: expect.any(Float32Array), rows: 4, cols: 2 });
    expect(fitRequest(X, y, { centers: 4 }).options.centers).toBe(4);
  });

  it('sends only its part of a typed array that views a larger buffer', () => {
    const whole = new Float32Array(1000);
    const request = fitRequest({ data: whole.subarray(0, 40), shape: [20, 2] }, new Int32Array(100).subarray(0, 20), {});
    expect((request.X.data as Float32Array).buffer.byteLength).toBe(40 * 4);
    expect((request.y as Int32Array).buffer.byteLength).toBe(20 * 4);
  });

  it('refuses a function it cannot send, naming where it is, before any worker starts', async () => {
    const kernel = { name: 'gaussian', weight: () => 1 };
    expect(await codeOf(fitInWorker(X, y, { kernel }))).toMatch(/^INVALID_OPTION: fitInWorker cannot send the 'kernel' option .*kernel\.weight is a function.*onPlan, /);
    // fit()'s own checks come first, with fit()'s messages.
    expect(await codeOf(fitInWorker(X, y, { epochs: 0 }))).toMatch(/^INVALID_OPTION: The 'epochs' option must be/);
    expect(await codeOf(fitInWorker(X, y, { epohcs: 2 } as object))).toMatch(/^UNKNOWN_OPTION: .*Did you mean 'epochs'/);
  });

  it('says that it needs Web Workers where there are none (Node.js)', async () => {
    expect(await codeOf(fitInWorker(X, y, {}))).toMatch(/^UNSUPPORTED_HERE: fitInWorker needs Web Workers.*Call fit\(\) instead/);
  });
});
