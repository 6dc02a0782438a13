import { describe, expect, it } from 'vitest';
import { BUILTIN_KERNELS } from '../../kernels/builtin.js';
import { compileExpression } from '../../kernels/compile.js';
import { BUILTIN_KERNEL_NAMES, chooseKernel, defaultBandwidth, kernelFromSpec, makeKernel, type KernelOption } from '../../kernels/index.js';
import { KmfitError } from '../../src/errors.js';

// Hand-computed values (Python's math module) at σ = 2 for r = 0, a small r, 1 and a large r.
const CASES: { option: KernelOption; at: [number, number][] }[] = [
  { option: 'laplacian', at: [[0, 1], [0.01, 0.9950124791926823], [1, 0.6065306597126334], [20, 4.5399929762484854e-5]] },
  { option: 'gaussian', at: [[0, 1], [0.01, 0.9999875000781246], [1, 0.8824969025845955], [10, 3.726653172078671e-6]] },
  { option: { name: 'exppower', gamma: 1.5 }, at: [[0, 1], [1, 0.6065306597126334], [4, 0.01831563888873418]] },
  { option: 'cauchy', at: [[0, 1], [1, 0.8], [20, 0.009900990099009901]] },
  { option: { name: 'matern', nu: 0.5 }, at: [[0, 1], [1, 0.6065306597126334], [20, 4.5399929762484854e-5]] },
  { option: { name: 'matern', nu: 1.5 }, at: [[0, 1], [1, 0.7848876539574506], [20, 5.504735201255522e-7]] },
  { option: { name: 'matern', nu: 2.5 }, at: [[0, 1], [1, 0.8286491424181253], [20, 3.6956962220528686e-8]] },
  { option: 'exp(-r^1.5 / sigma)', at: [[0, 1], [1, 0.6065306597126334], [4, 0.01831563888873418]] },
];

describe('built-in and custom kernels', () => {
  for (const { option, at } of CASES) {
    const kernel = makeKernel(chooseKernel(option), 2);
    it(`${kernel.describe()} matches hand-computed values`, () => {
      for (const [r, expected] of at) {
        expect(kernel.value(r * r)).toBeCloseTo(expected, 14);
      }
      expect(kernel.diagonal).toBe(1);
    });
    it(`${kernel.describe()} transforms float32 squared distances in place, clamping r² < 0`, () => {
      const buf = new Float32Array([...at.map(([r]) => r * r), -1e-6]);
      kernel.transformSquaredDistances(buf, 0, buf.length);
      at.forEach(([, expected], i) => expect(Math.abs(buf[i] - expected)).toBeLessThanOrEqual(1e-6 * expected + 1e-12));
      expect(buf[at.length]).toBeCloseTo(1, 7);
    });
  }

  it('cauchy is the true 1/(1 + r²/σ²), not a scaled gaussian', () => {
    const k = makeKernel(chooseKernel('cauchy'), 3);
    expect(k.value(9)).toBeCloseTo(0.5, 15); // r = σ
    expect(k.value(900)).toBeCloseTo(1 / 101, 15); // heavy tail
  });

  it('β is k(0) even for a kernel whose diagonal is not 1', () => {
    const k = makeKernel(chooseKernel({ formula: '3 * exp(-r / sigma)' }), 1);
    expect(k.diagonal).toBe(3);
  });

  it('custom formulas may use named parameters', () => {
    const k = makeKernel(chooseKernel({ formula: 'exp(-r^g / sigma)', params: { g: 2 } }), 4);
    expect(k.value(4)).toBeCloseTo(Math.exp(-1), 14);
  });

  it('data-driven default bandwidths reproduce the published MNIST choices at a median distance of 10', () => {
    expect(defaultBandwidth(chooseKernel('laplacian'), 10)).toBe(10);
    expect(defaultBandwidth(chooseKernel('gaussian'), 10)).toBe(5);
    expect(defaultBandwidth(chooseKernel({ name: 'exppower', gamma: 1 }), 10)).toBeCloseTo(10, 12);
    expect(defaultBandwidth(chooseKernel({ name: 'exppower', gamma: 2 }), 10)).toBeCloseTo(50, 12); // = 2σ² at σ = 5
  });
});

describe('built-in kernels compile no code (a page whose Content Security Policy has no unsafe-eval)', () => {
  const PARAMS: Record<string, Record<string, number>[]> = {
    exppower: [0.25, 1, 1.5, 2].map((gamma) => ({ gamma })),
    matern: [0.5, 1.5, 2.5].map((nu) => ({ nu })),
  };

  it('each written-out function and loop agrees bit for bit with the expression the devices translate', () => {
    for (const builtin of BUILTIN_KERNELS) {
      for (const params of PARAMS[builtin.name] ?? [builtin.params]) {
        for (const sigma of [0.3, 2, 17]) {
          const { js, constants, evaluate, transform } = builtin.expression(sigma, params);
          const compiled = compileExpression(js, constants);
          const at = `${builtin.name} ${JSON.stringify(params)} σ=${sigma}`;
          const squared = [0, 1e-9, 0.25, 1, 4, 37.5, 1e4];
          for (const r2 of squared) expect(Object.is(evaluate(r2), compiled.value(r2)), `${at} r²=${r2}`).toBe(true);
          const written = new Float32Array([...squared, -1e-6]);
          const generated = written.slice();
          transform(written, 0, written.length);
          compiled.transform(generated, 0, generated.length);
          expect(written, at).toEqual(generated);
        }
      }
    }
  });

  it('built-ins work where Function is forbidden; a custom formula then says it needs unsafe-eval', () => {
    const original = globalThis.Function;
    // What V8 throws under such a policy (and under node --disallow-code-generation-from-strings).
    globalThis.Function = function forbidden() {
      throw new EvalError('Code generation from strings disallowed for this context');
    } as unknown as FunctionConstructor;
    try {
      for (const option of CASES.map((c) => c.option).filter((o) => typeof o !== 'string' || BUILTIN_KERNEL_NAMES.includes(o))) {
        const kernel = makeKernel(chooseKernel(option), 2);
        const buf = new Float32Array([0, 1, 4]);
        kernel.transformSquaredDistances(buf, 0, 3);
        expect(buf[0]).toBe(1);
        expect(kernel.value(1)).toBeGreaterThan(0);
      }
      let error: unknown;
      try {
        makeKernel(chooseKernel('exp(-r^1.5 / sigma)'), 2);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(KmfitError);
      expect((error as KmfitError).code).toBe('UNSUPPORTED_HERE');
      expect((error as KmfitError).message).toMatch(/unsafe-eval.*built-in kernel \(laplacian, gaussian/);
    } finally {
      globalThis.Function = original;
    }
  });
});

describe('kernel errors', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(KmfitError);
      return { code: (error as KmfitError).code, message: (error as KmfitError).message };
    }
    throw new Error('expected a KmfitError');
  };

  it('an unknown name lists the known kernels', () => {
    const e = code(() => chooseKernel('gausian'));
    expect(e.code).toBe('UNKNOWN_KERNEL');
    for (const name of BUILTIN_KERNEL_NAMES) expect(e.message).toContain(name);
  });

  it.each([
    ['exp(-r', 'does not parse'],
    ['exp(r)', 'exceeds k(0)'],
    ['1/r', 'at r = 0 is Infinity'],
    ['exp(-x)', 'does not depend on the distance r'],
    ['r + beta', 'parameter beta has no value'],
    ['erf(r)', 'not supported'],
    ['-exp(-r)', 'must be finite and positive'],
    // Names of Object.prototype's members, which a plain-object lookup would find.
    ['toString(r)', 'the function toString() is not supported'],
    ['valueOf(r)', 'the function valueOf() is not supported'],
    ['constructor(r)', 'the function constructor() is not supported'],
    ['exp(-r) * constructor', 'parameter constructor has no value'],
  ])('formula %s is rejected (%s)', (formula, reason) => {
    const e = code(() => makeKernel(chooseKernel({ formula }), 1));
    expect(e.code).toBe('INVALID_KERNEL_FORMULA');
    expect(e.message).toContain(reason);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('bandwidth %s is rejected', (bandwidth) => {
    expect(code(() => chooseKernel('gaussian', bandwidth)).code).toBe('INVALID_OPTION');
  });

  it('kernel parameters out of range are rejected', () => {
    expect(code(() => chooseKernel({ name: 'matern', nu: 2 })).message).toContain('nu must be one of');
    expect(code(() => chooseKernel({ name: 'exppower', gamma: 2.5 })).message).toContain('gamma must be in (0, 2]');
  });

  it('a field a kernel does not have is rejected, not ignored (which trained with the defaults)', () => {
    expect(code(() => chooseKernel({ name: 'exppower', gama: 1.5 } as KernelOption)).message).toBe(
      "The exppower kernel has no field 'gama'; its fields are name, formula, bandwidth, params, gamma. Check the spelling, or leave it out.",
    );
    expect(code(() => chooseKernel({ name: 'gaussian', sigma: 2 } as KernelOption))).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining("no field 'sigma'") });
    expect(code(() => chooseKernel({ name: 'matern', params: { mu: 1.5 } }))).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('no params.mu; its parameters are nu') });
    expect(code(() => chooseKernel({ formula: 'exp(-r^a / sigma)', gamma: 1 } as KernelOption)).message).toContain("A formula kernel has no field 'gamma'");
    // What the kernel does take still works, as fields or as params.
    expect(chooseKernel({ name: 'exppower', gamma: 1.5, bandwidth: 2 }).params).toEqual({ gamma: 1.5 });
    expect(chooseKernel({ name: 'matern', params: { nu: 2.5 } }).params).toEqual({ nu: 2.5 });
    expect(chooseKernel({ formula: 'exp(-r^a / sigma)', params: { a: 1.5 } }).params).toEqual({ a: 1.5 });
  });

  it("a formula's sigma or r in params is refused (it was ignored), while a file that kept one still loads", () => {
    expect(code(() => chooseKernel({ formula: 'exp(-r / sigma)', params: { sigma: 2 } }))).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('sigma is the bandwidth') });
    expect(code(() => chooseKernel({ formula: 'exp(-r / sigma)', params: { r: 1 } }))).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('r is the distance') });
    // A model file's spec with params.sigma 2 and bandwidth 3: the bandwidth is sigma, k(r = 3) = e^-1.
    const kernel = kernelFromSpec({ name: 'custom', formula: 'exp(-r / sigma)', bandwidth: 3, params: { sigma: 2 } });
    expect(kernel.value(9)).toBeCloseTo(Math.exp(-1), 12);
  });

  it("a formula parameter that is not a finite number says what it is, not that it is missing", () => {
    expect(code(() => makeKernel(chooseKernel({ formula: 'exp(-r^a / sigma)', params: { a: NaN } }), 1)).message).toContain('the parameter a is NaN');
    expect(code(() => makeKernel(chooseKernel({ formula: 'exp(-r^a / sigma)' }), 1)).message).toContain('the parameter a has no value');
  });
});
