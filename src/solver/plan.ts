/**
 * The analytic choices of EigenPro 2 as pure functions (Ma & Belkin 2019; see
 * docs/how-it-works.md and docs/notation.md). Symbols follow the paper:
 * n points, d features, l outputs, s subsample size, q preconditioner level, λ_i the eigenvalues of
 * K_SS / s in descending order, β = max k(x, x), m batch size, η step size, m_G the device's limit.
 */

/** The damping exponent of the preconditioner (α in the paper's reference code). */
export const PRECONDITIONER_EXPONENT = 0.95;
/** The fewest eigen-directions the automatic choice of q uses. */
export const MIN_AUTO_Q = 5;
/** Pairs the eigensolver is ever asked for. */
export const MAX_EIGENPAIRS = 1000;

/** s = min(n, 2000) below 100 000 points, else 12 000. */
export function defaultSubsampleSize(n: number): number {
  return n < 100_000 ? Math.min(n, 2000) : Math.min(n, 12_000);
}

/**
 * The reference code's memory model: training with batch m needs
 * ((d + 3l + m + 1)·n + 1000·s)·4 bytes; returns the largest m within the budget (at least 1,
 * at most n), or 0 if even m = 1 does not fit.
 */
export function memoryBatchLimit(budgetBytes: number, n: number, d: number, l: number, s: number): number {
  const floats = budgetBytes / 4 - 1000 * s;
  const m = Math.floor(floats / n - (d + 3 * l + 1));
  return Math.max(0, Math.min(m, n));
}

/** The largest batch the preconditioner is designed for: min(max(s/5, m_G), s). */
export function designBatchSize(s: number, deviceBatchLimit: number): number {
  return Math.min(Math.max(s / 5, deviceBatchLimit), s);
}

/**
 * Eigenvalues above this are the ones the preconditioner flattens: (1/λ)^α < maxBatch ⟺
 * λ > maxBatch^(−1/α).
 */
export function eigenvalueThreshold(maxBatch: number): number {
  return Math.pow(maxBatch, -1 / PRECONDITIONER_EXPONENT);
}

/** q = #{ i : (1/λ_i)^α < maxBatch } − 1, at least MIN_AUTO_Q (values descending). */
export function chooseQ(values: Float64Array, maxBatch: number): number {
  const threshold = eigenvalueThreshold(maxBatch);
  let above = 0;
  while (above < values.length && values[above] > threshold) above++;
  return Math.max(above - 1, MIN_AUTO_Q);
}

/** The largest q whose λ_q is computed and clearly positive (λ_q > 1e-12·λ_1). */
export function lastUsableIndex(values: Float64Array, available: number): number {
  let q = Math.min(values.length, available);
  while (q > 1 && !(values[q - 1] > 1e-12 * values[0])) q--;
  return q;
}

export interface Preconditioner {
  /** D_i = (1 − (λ_q/λ_i)^α)/λ_i for i = 1..q−1. */
  readonly scales: Float64Array;
  /** λ_new = λ_1^(1−α) · λ_q^α: the top eigenvalue of the preconditioned kernel. */
  readonly lambdaNew: number;
  readonly lambdaQ: number;
}

/** The preconditioner for level q ≥ 1 from the descending eigenvalues λ_1..λ_q. */
export function preconditioner(values: Float64Array, q: number): Preconditioner {
  const a = PRECONDITIONER_EXPONENT;
  const lambdaQ = values[q - 1];
  const scales = new Float64Array(q - 1);
  for (let i = 0; i < q - 1; i++) scales[i] = (1 - Math.pow(lambdaQ / values[i], a)) / values[i];
  return { scales, lambdaNew: Math.pow(values[0], 1 - a) * Math.pow(lambdaQ, a), lambdaQ };
}

/** m* = β/λ: beyond it, larger batches stop paying off. */
export function criticalBatchSize(beta: number, lambda: number): number {
  return beta / lambda;
}

/** m = min(⌊β/λ + 1⌋, m_G). */
export function analyticBatchSize(beta: number, lambda: number, deviceBatchLimit: number): number {
  return Math.max(1, Math.min(Math.floor(beta / lambda + 1), deviceBatchLimit));
}

export type StepRegime = 'linear' | 'saturation';

/**
 * η(m) = m/β in the linear-scaling regime (m < β/λ + 1), else 0.99 · 2m/(β + (m − 1)λ).
 */
export function analyticStepSize(m: number, beta: number, lambda: number): { eta: number; regime: StepRegime } {
  if (m < beta / lambda + 1) return { eta: m / beta, regime: 'linear' };
  return { eta: (0.99 * 2 * m) / (beta + (m - 1) * lambda), regime: 'saturation' };
}
