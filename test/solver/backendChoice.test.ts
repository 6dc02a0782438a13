/**
 * 'auto''s choice among CPU backends: the fastest of given times, the times cached per shape class
 * (d, l, the centers timed, the kernel's formula, the backends' devices), and the plan's sentence.
 * No speed is asserted: the measured times only decide which backend the choice names, and the
 * tests that check a choice give the times themselves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { platform } from '#platform';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import type { Backend, CenterSet } from '../../src/backends/backend.js';
import { JsBackend } from '../../src/backends/js/index.js';
import { rowSlice, type Matrix } from '../../src/matrix.js';
import { backendChoiceText, planRows } from '../../src/model/summary.js';
import { CHOICE_CENTERS, choiceRows, fastestBackend, timeBackends, type BackendTime } from '../../src/solver/capacity.js';
import { fit } from '../../src/index.js';
import { lcg, randomPoints } from '../helpers/data.js';

describe('the fastest backend from measured times', () => {
  it('takes the smallest time', () => {
    expect(fastestBackend([{ backend: 'onnx', seconds: 0.45 }, { backend: 'wasm', seconds: 0.09 }])).toBe('wasm');
    expect(fastestBackend([{ backend: 'onnx', seconds: 0.05 }, { backend: 'wasm', seconds: 0.09 }])).toBe('onnx');
    expect(fastestBackend([{ backend: 'wasm', seconds: 1 }])).toBe('wasm');
  });

  it('gives a tie to the earlier one (BACKENDS order), and refuses an empty list', () => {
    expect(fastestBackend([{ backend: 'onnx', seconds: 0.1 }, { backend: 'wasm', seconds: 0.1 }])).toBe('onnx');
    expect(() => fastestBackend([])).toThrow();
  });
});

/**
 * A js backend under another name and device, counting the center sets timeBackends makes on it;
 * their predict does nothing but wait the milliseconds given for its call (0, 1, … in the order
 * made): the tests give the times, none is measured.
 */
function counted(name: string, millisecondsOfCall: (call: number) => number = () => 0): { backend: Backend; sets: () => number } {
  const inner = new JsBackend();
  let sets = 0;
  let calls = 0;
  const predict = () => new Promise<void>((resolve) => setTimeout(resolve, millisecondsOfCall(calls++)));
  const backend: Backend = {
    name,
    createCenterSet: async (kernel, centers, outputs) => {
      sets++;
      const set = await inner.createCenterSet(kernel, centers.rows > 1 ? rowSlice(centers, 0, 1) : centers, outputs);
      return Object.assign(Object.create(set) as CenterSet, { predict, dispose: () => set.dispose() });
    },
    kernelBlock: (kernel, X, Y) => inner.kernelBlock(kernel, X, Y),
    memoryBudget: () => inner.memoryBudget(),
    describe: () => ({ ...inner.describe(), device: `test device ${name}`, threads: 1, parallel: true }),
    dispose: () => inner.dispose(),
  };
  return { backend, sets: () => sets };
}

function matrix(rows: number, cols: number, seed: number): Matrix {
  const next = lcg(seed);
  return { data: Float32Array.from({ length: rows * cols }, next), rows, cols };
}

/** The cached times of 'auto' choices, by key. */
function cachedChoices(): [string, { times: BackendTime[] }][] {
  const all = platform.capacityCache.read() as Record<string, unknown>;
  return Object.entries(all).filter(([key]) => key.includes('|auto|')) as [string, { times: BackendTime[] }][];
}

describe('the timed block', () => {
  it('has about 2^28 multiply-adds, 64 to 1 024 rows, no more than the data has', () => {
    expect(choiceRows(8192, 16, 26, 16_000)).toBe(780); // ⌊2^28 / (8192 · 42)⌋
    expect(choiceRows(8192, 64, 10, 16_000)).toBe(442); // ⌊2^28 / (8192 · 74)⌋
    expect(choiceRows(8192, 784, 10, 60_000)).toBe(64); // 41, raised to the least
    expect(choiceRows(2000, 4, 1, 2000)).toBe(1024); // 26 843, capped
    expect(choiceRows(300, 3, 2, 300)).toBe(300); // the data's rows
  });
});

describe('timing the candidates on the data, cached per shape class', () => {
  const saved = platform.capacityCache.read();
  afterEach(() => platform.capacityCache.write(saved ?? {}));

  it('counts the least of the timed calls: a spell of load that slows two of three does not decide', async () => {
    platform.capacityCache.write({});
    // Calls: the warm-up, then per round an untimed call and the timed one (2, 4, 6). wasm's first
    // two timed calls run into a spell of load (40 ms against its 0); onnx takes 10 ms each time.
    const wasm = counted('wasm', (call) => (call === 2 || call === 4 ? 40 : 0));
    const onnx = counted('onnx', (call) => (call > 0 && call % 2 === 0 ? 10 : 0));
    const choice = await timeBackends([onnx.backend, wasm.backend], makeKernel(chooseKernel('laplacian'), 1), matrix(300, 3, 1), 2, { cache: false });
    expect(choice.name).toBe('wasm');
    const [onnxTime, wasmTime] = choice.times.map((t) => t.seconds);
    expect(wasmTime).toBeLessThan(0.009);
    expect(onnxTime).toBeGreaterThanOrEqual(0.009);
  });

  it('measures once per shape class, and chooses from the cached times afterwards', async () => {
    platform.capacityCache.write({});
    const a = counted('onnx');
    const b = counted('wasm');
    const laplacian = makeKernel(chooseKernel('laplacian'), 1);
    const X = matrix(300, 3, 1);

    const first = await timeBackends([a.backend, b.backend], laplacian, X, 2);
    expect(first.cached).toBe(false);
    expect([a.sets(), b.sets()]).toEqual([1, 1]);
    expect(first.times.map((t) => t.backend)).toEqual(['onnx', 'wasm']);
    expect(first.name).toBe(fastestBackend(first.times));
    expect({ rows: first.rows, centers: first.centers }).toEqual({ rows: 300, centers: 300 });

    // The same class: recalled, nothing timed.
    const again = await timeBackends([a.backend, b.backend], laplacian, matrix(300, 3, 2), 2);
    expect(again).toMatchObject({ cached: true, times: first.times, name: first.name });
    expect([a.sets(), b.sets()]).toEqual([1, 1]);

    // Another process rewrote the file without this entry: this process keeps what it measured.
    const [[key, entry]] = cachedChoices();
    platform.capacityCache.write({});
    expect(await timeBackends([a.backend, b.backend], laplacian, X, 2)).toMatchObject({ cached: true, times: first.times });
    expect([a.sets(), b.sets()]).toEqual([1, 1]);
    platform.capacityCache.write({ [key]: entry });

    // The choice follows the cached times: given ones here, onnx 5× slower, then 5× faster.
    for (const [onnx, expected] of [[0.5, 'wasm'], [0.02, 'onnx']] as const) {
      platform.capacityCache.write({ ...(platform.capacityCache.read() as object), [key]: { times: [{ backend: 'onnx', seconds: onnx }, { backend: 'wasm', seconds: 0.1 }] } });
      expect((await timeBackends([a.backend, b.backend], laplacian, X, 2)).name).toBe(expected);
    }
    expect([a.sets(), b.sets()]).toEqual([1, 1]);

    // Another l, d or kernel formula is another class: timed again.
    await timeBackends([a.backend, b.backend], laplacian, X, 26);
    await timeBackends([a.backend, b.backend], laplacian, matrix(300, 16, 3), 2);
    await timeBackends([a.backend, b.backend], makeKernel(chooseKernel('gaussian'), 1), X, 2);
    expect([a.sets(), b.sets()]).toEqual([4, 4]);
    // The bandwidth is not (the same formula), nor more rows past the centers timed.
    await timeBackends([a.backend, b.backend], makeKernel(chooseKernel('laplacian'), 7), X, 2);
    expect([a.sets(), b.sets()]).toEqual([4, 4]);
    const large = matrix(CHOICE_CENTERS + 50, 2, 4);
    await timeBackends([a.backend, b.backend], laplacian, large, 1);
    await timeBackends([a.backend, b.backend], laplacian, { ...large, rows: CHOICE_CENTERS + 10 }, 1);
    expect([a.sets(), b.sets()]).toEqual([5, 5]);
    expect(cachedChoices()).toHaveLength(5);
  });
});

describe("the plan says what 'auto' measured", () => {
  it("prints each backend's time and the block timed", () => {
    const text = backendChoiceText({ name: 'wasm', times: [{ backend: 'onnx', seconds: 0.0451 }, { backend: 'wasm', seconds: 0.0087 }], rows: 256, centers: 8192, cached: false });
    expect(text).toBe("auto: the fastest on this data's shape: onnx 45 ms, wasm 8.7 ms per fused block of 256 × 8192");
    expect(backendChoiceText({ name: 'onnx', times: [{ backend: 'onnx', seconds: 0.001 }, { backend: 'wasm', seconds: 0.002 }], rows: 256, centers: 900, cached: true })).toContain(
      'from the calibration cache',
    );
    // What the choice cost this run: once per shape class when timed, only the candidates' start when recalled.
    const timed = { name: 'wasm', times: [{ backend: 'onnx', seconds: 0.0046 }, { backend: 'wasm', seconds: 0.0034 }], rows: 1024, centers: 4000, cached: false, seconds: 0.2149 };
    expect(backendChoiceText(timed)).toBe("auto: the fastest on this data's shape: onnx 4.6 ms, wasm 3.4 ms per fused block of 1024 × 4000; choosing took 0.21 s, once for this shape class");
    expect(backendChoiceText({ ...timed, cached: true, seconds: 0.061 })).toBe(
      "auto: the fastest on this data's shape: onnx 4.6 ms, wasm 3.4 ms per fused block of 1024 × 4000, from the calibration cache; choosing took 0.06 s",
    );
  });

  it("fit with 'auto' reports the times where it chose among several, and names the one it took", async () => {
    const X = randomPoints(200, 3, 5);
    const y = X.map((x) => (x[0] > 0.5 ? 1 : 0));
    const model = await fit(X, y, { epochs: 1 });
    try {
      const choice = model.plan.backendChoice;
      if (choice) {
        expect(choice.times.map((t) => t.backend)).toContain(model.plan.backend);
        expect(choice.name).toBe(model.plan.backend);
        expect(choice.name).toBe(fastestBackend(choice.times));
        // The seconds the choice took: at least the timed calls themselves (each timed twice and warmed once).
        expect(choice.seconds).toBeGreaterThan(choice.cached ? 0 : 3 * choice.times.reduce((sum, t) => sum + t.seconds, 0));
        const row = planRows(model.plan).find((r) => r.name === 'backend')!;
        expect(row.why).toBe(backendChoiceText(choice));
        // The plan, choice included, survives the model file.
        const { loadModel } = await import('../../src/index.js');
        const again = await loadModel(model.toBytes());
        expect(again.plan.backendChoice).toEqual(choice);
        await again.dispose();
      } else {
        // One candidate here (no onnxruntime-node, or a hardware GPU): nothing to time.
        expect(['webgpu', 'wasm', 'onnx', 'js']).toContain(model.plan.backend);
      }
    } finally {
      await model.dispose();
    }
  });

  it('a named backend is not timed', async () => {
    const X = randomPoints(100, 2, 6);
    const model = await fit(X, X.map((x) => x[0]), { epochs: 1, backend: 'js' });
    expect(model.plan.backendChoice).toBeUndefined();
    expect(planRows(model.plan).find((r) => r.name === 'backend')!.why).toBeUndefined();
    await model.dispose();
  });
});
