/**
 * The built-in kernels: one record each, with its formula (as a JS expression of r2 = r² and r),
 * its parameters, and its data-driven default bandwidth. k(x, x) = 1 for all of them, but the
 * solver computes β from `value(0)` rather than assuming it.
 *
 * Default bandwidths are scaled from the median pairwise distance of the data (a subsample); on
 * MNIST with [0,1] pixels that median is ≈10, which reproduces the published choices
 * (laplacian σ = 10, gaussian σ = 5).
 */
export interface BuiltinKernel {
  readonly name: string;
  readonly formula: string; // for humans: docs, plans, errors
  /** Names of the extra parameters and their defaults. */
  readonly params: Readonly<Record<string, number>>;
  /** Checks extra parameters; returns an error message or undefined. */
  validate?(params: Readonly<Record<string, number>>): string | undefined;
  /**
   * The kernel for bandwidth σ and the parameters: its JS expression of r2 / r and the constants it
   * uses (the text backends translate to device code), and the same expression as a function of r²
   * and a loop over it, written out here (r = √r²), which the CPU runs: built-ins compile no code, so
   * they work where a page's Content Security Policy forbids eval. test/kernels/kernels.test.ts
   * checks that they agree with the expression bit for bit.
   */
  expression(sigma: number, params: Readonly<Record<string, number>>): BuiltinExpression;
  /** Default σ from the median pairwise distance. */
  defaultBandwidth(medianDistance: number, params: Readonly<Record<string, number>>): number;
}

export interface BuiltinExpression {
  readonly js: string;
  readonly constants: Record<string, number>;
  /** k(r²) for r² ≥ 0, computed as `js` computes it. */
  readonly evaluate: (r2: number) => number;
  /** Maps squared distances to kernel values in place over buf[start, end), clamping r² < 0 to 0. */
  readonly transform: (buf: Float32Array, start: number, end: number) => void;
}

/** r² below 0 comes from rounding in ‖x‖² + ‖z‖² − 2x·z: clamp before any square root. */
export const clamped = (raw: number): number => (raw > 0 ? raw : 0);

// Each kernel writes its own transform loop, the same line each time, on purpose: a loop shared by
// all kernels calls a different `k` for each kind, and once a process has used two kinds V8 no
// longer inlines it (cauchy's transform was 7× slower after a laplacian had run). Generated code
// had one loop per kernel too; built-ins generate none, so that they run under a strict CSP.

const MATERN_NU = [0.5, 1.5, 2.5];

export const BUILTIN_KERNELS: readonly BuiltinKernel[] = [
  {
    name: 'laplacian',
    formula: 'exp(−r/σ)',
    params: {},
    expression: (sigma) => {
      const c = -1 / sigma;
      const k = (r2: number) => Math.exp(Math.sqrt(r2) * c);
      return {
        js: 'Math.exp(r * c)',
        constants: { c },
        evaluate: k,
        transform: (buf, start, end) => { for (let i = start; i < end; i++) buf[i] = k(clamped(buf[i])); },
      };
    },
    defaultBandwidth: (median) => median,
  },
  {
    name: 'gaussian',
    formula: 'exp(−r²/(2σ²))',
    params: {},
    expression: (sigma) => {
      const c = -1 / (2 * sigma * sigma);
      const k = (r2: number) => Math.exp(r2 * c);
      return {
        js: 'Math.exp(r2 * c)',
        constants: { c },
        evaluate: k,
        transform: (buf, start, end) => { for (let i = start; i < end; i++) buf[i] = k(clamped(buf[i])); },
      };
    },
    defaultBandwidth: (median) => median / 2,
  },
  {
    name: 'exppower',
    formula: 'exp(−r^γ/σ), γ ∈ (0, 2] (σ is not raised to γ)',
    params: { gamma: 1 },
    validate: ({ gamma }) =>
      gamma > 0 && gamma <= 2 ? undefined : `gamma must be in (0, 2]; got ${gamma}`,
    // r^γ = (r²)^(γ/2): no square root needed.
    expression: (sigma, { gamma }) => {
      const c = -1 / sigma;
      const h = gamma / 2;
      const k = (r2: number) => Math.exp(Math.pow(r2, h) * c);
      return {
        js: 'Math.exp(Math.pow(r2, h) * c)',
        constants: { c, h },
        evaluate: k,
        transform: (buf, start, end) => { for (let i = start; i < end; i++) buf[i] = k(clamped(buf[i])); },
      };
    },
    // Matches the laplacian at γ = 1 and the gaussian at γ = 2.
    defaultBandwidth: (median, { gamma }) => Math.pow(median, gamma) / Math.pow(2, gamma - 1),
  },
  {
    name: 'cauchy',
    formula: '1/(1 + r²/σ²)',
    params: {},
    expression: (sigma) => {
      const c = 1 / (sigma * sigma);
      const k = (r2: number) => 1 / (1 + r2 * c);
      return {
        js: '1 / (1 + r2 * c)',
        constants: { c },
        evaluate: k,
        transform: (buf, start, end) => { for (let i = start; i < end; i++) buf[i] = k(clamped(buf[i])); },
      };
    },
    defaultBandwidth: (median) => median / 2,
  },
  {
    name: 'matern',
    formula:
      'ν=1/2: exp(−r/σ); ν=3/2: (1 + √3·r/σ)·exp(−√3·r/σ); ν=5/2: (1 + √5·r/σ + 5r²/(3σ²))·exp(−√5·r/σ)',
    params: { nu: 1.5 },
    validate: ({ nu }) =>
      MATERN_NU.includes(nu) ? undefined : `nu must be one of 0.5, 1.5, 2.5; got ${nu}`,
    expression: (sigma, { nu }): BuiltinExpression => {
      if (nu === 0.5) {
        const a = 1 / sigma;
        const k = (r2: number) => Math.exp(-Math.sqrt(r2) * a);
        return {
          js: 'Math.exp(-r * a)',
          constants: { a },
          evaluate: k,
          transform: (buf, start, end) => { for (let i = start; i < end; i++) buf[i] = k(clamped(buf[i])); },
        };
      }
      if (nu === 1.5) {
        const a = Math.sqrt(3) / sigma;
        const k = (r2: number) => {
          const r = Math.sqrt(r2);
          return (1 + a * r) * Math.exp(-a * r);
        };
        return {
          js: '(1 + a * r) * Math.exp(-a * r)',
          constants: { a },
          evaluate: k,
          transform: (buf, start, end) => { for (let i = start; i < end; i++) buf[i] = k(clamped(buf[i])); },
        };
      }
      const a = Math.sqrt(5) / sigma;
      const b = 5 / (3 * sigma * sigma);
      const k = (r2: number) => {
        const r = Math.sqrt(r2);
        return (1 + a * r + b * r2) * Math.exp(-a * r);
      };
      return {
        js: '(1 + a * r + b * r2) * Math.exp(-a * r)',
        constants: { a, b },
        evaluate: k,
        transform: (buf, start, end) => { for (let i = start; i < end; i++) buf[i] = k(clamped(buf[i])); },
      };
    },
    defaultBandwidth: (median, { nu }) => (nu === 0.5 ? median : median / 2),
  },
];

export const BUILTIN_KERNEL_NAMES = BUILTIN_KERNELS.map((k) => k.name);

export function findBuiltinKernel(name: string): BuiltinKernel | undefined {
  return BUILTIN_KERNELS.find((k) => k.name === name);
}
