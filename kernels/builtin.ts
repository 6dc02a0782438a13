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
  /** The JS expression of r2 / r and the constants it uses, for bandwidth σ and the parameters. */
  expression(sigma: number, params: Readonly<Record<string, number>>): {
    js: string;
    constants: Record<string, number>;
  };
  /** Default σ from the median pairwise distance. */
  defaultBandwidth(medianDistance: number, params: Readonly<Record<string, number>>): number;
}

const MATERN_NU = [0.5, 1.5, 2.5];

export const BUILTIN_KERNELS: readonly BuiltinKernel[] = [
  {
    name: 'laplacian',
    formula: 'exp(−r/σ)',
    params: {},
    expression: (sigma) => ({ js: 'Math.exp(r * c)', constants: { c: -1 / sigma } }),
    defaultBandwidth: (median) => median,
  },
  {
    name: 'gaussian',
    formula: 'exp(−r²/(2σ²))',
    params: {},
    expression: (sigma) => ({ js: 'Math.exp(r2 * c)', constants: { c: -1 / (2 * sigma * sigma) } }),
    defaultBandwidth: (median) => median / 2,
  },
  {
    name: 'exppower',
    formula: 'exp(−r^γ/σ), γ ∈ (0, 2] (σ is not raised to γ)',
    params: { gamma: 1 },
    validate: ({ gamma }) =>
      gamma > 0 && gamma <= 2 ? undefined : `gamma must be in (0, 2]; got ${gamma}`,
    // r^γ = (r²)^(γ/2): no square root needed.
    expression: (sigma, { gamma }) => ({
      js: 'Math.exp(Math.pow(r2, h) * c)',
      constants: { c: -1 / sigma, h: gamma / 2 },
    }),
    // Matches the laplacian at γ = 1 and the gaussian at γ = 2.
    defaultBandwidth: (median, { gamma }) => Math.pow(median, gamma) / Math.pow(2, gamma - 1),
  },
  {
    name: 'cauchy',
    formula: '1/(1 + r²/σ²)',
    params: {},
    expression: (sigma) => ({ js: '1 / (1 + r2 * c)', constants: { c: 1 / (sigma * sigma) } }),
    defaultBandwidth: (median) => median / 2,
  },
  {
    name: 'matern',
    formula:
      'ν=1/2: exp(−r/σ); ν=3/2: (1 + √3·r/σ)·exp(−√3·r/σ); ν=5/2: (1 + √5·r/σ + 5r²/(3σ²))·exp(−√5·r/σ)',
    params: { nu: 1.5 },
    validate: ({ nu }) =>
      MATERN_NU.includes(nu) ? undefined : `nu must be one of 0.5, 1.5, 2.5; got ${nu}`,
    expression: (sigma, { nu }): { js: string; constants: Record<string, number> } => {
      if (nu === 0.5) return { js: 'Math.exp(-r * a)', constants: { a: 1 / sigma } };
      if (nu === 1.5) {
        return { js: '(1 + a * r) * Math.exp(-a * r)', constants: { a: Math.sqrt(3) / sigma } };
      }
      return {
        js: '(1 + a * r + b * r2) * Math.exp(-a * r)',
        constants: { a: Math.sqrt(5) / sigma, b: 5 / (3 * sigma * sigma) },
      };
    },
    defaultBandwidth: (median, { nu }) => (nu === 0.5 ? median : median / 2),
  },
];

export const BUILTIN_KERNEL_NAMES = BUILTIN_KERNELS.map((k) => k.name);

export function findBuiltinKernel(name: string): BuiltinKernel | undefined {
  return BUILTIN_KERNELS.find((k) => k.name === name);
}
