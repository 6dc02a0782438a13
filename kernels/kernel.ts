/**
 * What every kernel provides. Kernels here are stationary: k(x, z) depends only on r = ‖x − z‖₂, and
 * the backends compute r² from norms and a GEMM, so a kernel is described as a function of r².
 */
export interface KernelSpec {
  /** 'laplacian' | 'gaussian' | 'exppower' | 'cauchy' | 'matern' | 'custom' */
  readonly name: string;
  readonly bandwidth: number;
  /** Extra named parameters: gamma (exppower), nu (matern), or a custom formula's own. */
  readonly params: Readonly<Record<string, number>>;
  /** The mathjs formula of r, for custom kernels. */
  readonly formula?: string;
}

/**
 * A kernel's formula as device-neutral text: a JS expression of `r2` (squared distance) and `r`
 * (distance) using only numeric literals, + - * / and parentheses, Math.exp, Math.log, Math.sqrt,
 * Math.abs, Math.pow, Math.sin, Math.cos, Math.tanh, Math.cosh, Math.sinh, Math.min, Math.max,
 * Math.PI, Math.E, and the named constants. Backends compile or translate it (WGSL, wasm workers).
 */
export interface KernelExpression {
  readonly js: string;
  readonly constants: Readonly<Record<string, number>>;
}

export interface Kernel {
  readonly spec: KernelSpec;
  /** The formula as text, for backends that generate device code from it. */
  readonly expression: KernelExpression;
  /** k as a function of the squared distance, in float64. */
  value(r2: number): number;
  /** k(x, x) = k at r = 0. */
  readonly diagonal: number;
  /** Maps squared distances to kernel values in place over buf[start, end). Negative r² (rounding) counts as 0. */
  transformSquaredDistances(buf: Float32Array, start: number, end: number): void;
  /** A one-line description for plans and logs, e.g. "gaussian(σ = 5)". */
  describe(): string;
}
