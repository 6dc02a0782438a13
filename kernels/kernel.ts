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

export interface Kernel {
  readonly spec: KernelSpec;
  /** k as a function of the squared distance, in float64. */
  value(r2: number): number;
  /** k(x, x) = k at r = 0. */
  readonly diagonal: number;
  /** Maps squared distances to kernel values in place over buf[start, end). Negative r² (rounding) counts as 0. */
  transformSquaredDistances(buf: Float32Array, start: number, end: number): void;
  /** A one-line description for plans and logs, e.g. "gaussian(σ = 5)". */
  describe(): string;
}
