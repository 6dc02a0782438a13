/**
 * The analytic choices of EigenPro 2 as pure functions (Ma & Belkin 2019; see
 * docs/how-it-works.md and docs/notation.md). Symbols follow the paper:
 * n points, d features, l outputs, s subsample size, q preconditioner level, λ_i the eigenvalues of
 * K_SS / s in descending order, β = max k(x, x), m batch size, η step size, m_G the device's limit.
 */
import type { BackendChoice, CalibrationPoint } from './capacity.js';
import type { StepHalving } from './events.js';
import type { CachePlan } from './kernelCache.js';
import type { StoppingRule } from './convergence.js';
import type { ClassLabel } from '../data/labels.js';

/** The damping exponent of the preconditioner (α in the paper's reference code). */
export const PRECONDITIONER_EXPONENT = 0.95;
/** The fewest eigen-directions the automatic choice of q uses. */
export const MIN_AUTO_Q = 5;
/** Pairs the eigensolver is ever asked for. */
export const MAX_EIGENPAIRS = 1000;

/**
 * s where the kernel cache will hold the matrix. In the linear-scaling regime an epoch makes the
 * same progress at any batch size (η = m/β, n/m steps); the subsample bounds m (m ≤ s, and q < s
 * sets m*) and costs set-up (the eigensolver grows with s²·q) and every epoch (the correction is
 * n·s·l). Without the cache a large m uses the device's parallel capacity; with it a step reads
 * cached rows at the same cost per point at any m. So a smaller s loses nothing but the steps'
 * fixed costs, provided the batch keeps a margin below m* (CACHED_BATCH_SHARE). Measured
 * 2026-12-07 (2 threads; docs/benchmarks.md, "Again on 2026-12-07, evening"), s = 1 000 with
 * m = 750 against the default s = m = 2 000: the same epochs (letter 8, fashion-5k 7, MNIST 10 000
 * with the gaussian kernel 9) or fewer (diamonds 30 against 32), the test errors within 0.06
 * points, set-up 0.21–0.25 s against 0.50–0.56 s (diamonds), 0.56–0.61 s against 1.09–1.15 s
 * (fashion-5k), 1.1 s against 3.1–3.5 s (MNIST 10 000). At s = 500 the later epochs grew longer
 * (more steps' fixed costs) for little set-up saved.
 */
export const CACHED_SUBSAMPLE_SIZE = 1000;

/**
 * The share of the critical batch m* = β/λ_new a run with the kernel cache takes as its batch
 * (where the device limit, at most s, does not bind first). λ_new is estimated on the subsample,
 * too low for a smooth kernel on 1 000 points: on MNIST 10 000 with the gaussian kernel (σ = 5,
 * s = 1 000, m* = 1 096) m = 1 000 took 16 epochs to the stopping rule where m = 750 took 9 and
 * m = 500 took 8 (s = m = 2 000, the default without the cache: 9). With the cache a smaller
 * batch costs only its steps' fixed costs (letter's later epochs 0.37–0.40 s at m = 750 against
 * 0.35–0.37 s at 1 000, 0.57 s at 500).
 */
export const CACHED_BATCH_SHARE = 0.7;

/** The batch of a run with the kernel cache: CACHED_BATCH_SHARE of m* = β/λ, at most the device limit. */
export function cachedBatchSize(beta: number, lambda: number, deviceBatchLimit: number): number {
  return Math.max(1, Math.min(Math.floor((CACHED_BATCH_SHARE * beta) / lambda), deviceBatchLimit));
}

/** s = min(n, 2000) below 100 000 points, else 12 000; min(n, CACHED_SUBSAMPLE_SIZE) where the kernel cache will hold the matrix. */
export function defaultSubsampleSize(n: number, cached = false): number {
  if (cached) return Math.min(n, CACHED_SUBSAMPLE_SIZE);
  return n < 100_000 ? Math.min(n, 2000) : Math.min(n, 12_000);
}

/** s for n points: the given size (the subsampleSize option) capped at n, else the default. */
export function subsampleSizeFor(n: number, given: number | undefined, cached = false): number {
  return Math.min(given ?? defaultSubsampleSize(n, cached), n);
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

/**
 * The eigensolver's tolerance (its residual bound ‖K v − θ v‖/s ≤ tolerance·λ_1) when set-up asks
 * for the pairs above `threshold`: a thousandth of the threshold, which every pair the
 * preconditioner uses (λ_1..λ_q, and λ_new) exceeds, so that none is off by more than 0.1 %
 * (λ_1 ≤ β for K/s, since |k(x, z)| ≤ β). Tighter buys nothing the preconditioner can use: the
 * eigensolver's default (1e-9) took 8–10 % more Lanczos steps on the tables of docs/benchmarks.md.
 * Never tighter than that default, never looser than 1e-4.
 */
export function setupEigenTolerance(threshold: number, beta: number): number {
  return Math.min(1e-4, Math.max(1e-9, (1e-3 * threshold) / beta));
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

/** Labels of scored rows that are none of the model's classes (Plan.unseenValidationLabels). */
export interface UnseenLabels {
  readonly count: number;
  readonly rows: number;
  /** The first such row (0-based), and its label. */
  readonly row: number;
  readonly label: ClassLabel;
}

/** The set-up block: every analytic choice, its inputs, and where it came from. */
export interface Plan {
  readonly n: number;
  readonly d: number;
  readonly outputs: number;
  readonly task: 'classification' | 'regression';
  readonly kernel: string;
  readonly bandwidth: number;
  readonly bandwidthSource: string;
  readonly backend: string;
  /** The backend's device, e.g. "AMD EPYC (2 threads), WebAssembly SIMD + relaxed FMA" (absent in older model files). */
  readonly device?: string;
  /** How the backend computes distances to these centers where that is not its usual form (Backend.distancesFor). */
  readonly distances?: string;
  /** How 'auto' chose among CPU backends: each one's time on this data (absent when named, or with one candidate). */
  readonly backendChoice?: BackendChoice;
  /** s: Nyström subsample size. */
  readonly subsampleSize: number;
  /** Why s is what it is where that is not the usual default nor given (the kernel cache's smaller one). */
  readonly subsampleSource?: string;
  /** q: eigen-directions flattened by the preconditioner (0: plain kernel). */
  readonly q: number;
  /** 'given …, capped at …' where the given q was more than the subsample allows. */
  readonly qSource: 'analytic' | 'given' | `given ${number}, capped at ${number}${string}`;
  /** λ_1, λ_q of K_SS/s and λ_new, the top eigenvalue after preconditioning (λ_1 when q = 0). */
  readonly lambda1: number;
  readonly lambdaQ: number;
  readonly lambdaNew: number;
  /** β = max k(x, x). */
  readonly beta: number;
  /** m* = β/λ_1, the critical batch size of the plain kernel. */
  readonly criticalBatchPlain: number;
  /** m* = β/λ_new, the critical batch size after preconditioning. */
  readonly criticalBatch: number;
  /** m_G: the largest batch the device handles in one step, and why. */
  readonly deviceBatchLimit: number;
  readonly deviceBatchLimitSource: string;
  /** Seconds per iteration against batch size, when the device's parallel capacity was measured. */
  readonly capacityCurve?: readonly CalibrationPoint[];
  readonly batchSize: number;
  readonly batchSizeSource: 'analytic' | 'analytic, below m* with the kernel cache' | 'device limit' | 'given' | 'data size' | 'search';
  readonly stepSize: number;
  readonly stepSizeSource: 'analytic' | 'given';
  readonly stepRegime: StepRegime;
  /** The divergence guard's halvings of the step size during training, if any (stepSize is the planned one). */
  readonly stepSizeHalvings?: readonly StepHalving[];
  /**
   * EigenPro 3: the model's p centers are not the n training points (the figures above are then the
   * data level's, from a subsample of the centers), and the projection onto them has its own plan.
   */
  readonly centers?: CentersPlan;
  /** The kernel cache: EigenPro 2's matrix kept in memory after the first epoch, or EigenPro 3's K_ZZ; or why not (absent in older model files). */
  readonly cache?: CachePlan;
  /** A bandwidth search: its candidates, the held-out data that judged them, how they were trained, and the results. */
  readonly search?: SearchPlan;
  /**
   * Validation labels that are none of the training classes (each counts as an error, whatever
   * the model predicts): how many of how many rows, and the first. Most often the wrong file or
   * label column. Absent where every label is a class (and for regression).
   */
  readonly unseenValidationLabels?: UnseenLabels;
  /** The most epochs; exactly these unless `stopping` ends the run before. */
  readonly epochs: number;
  /** When the epochs were left out (EigenPro 2): the run stops once its relative residual reaches this rule's (convergence.ts). */
  readonly stopping?: StoppingRule;
  readonly iterationsPerEpoch: number;
  readonly seed: number;
  readonly eigenSeconds: number;
  readonly setupSeconds: number;
}

/** The set-up's figures (setup.ts computes them from the subsample, the device and these formulas). */
export type SetupNumbers = Pick<
  Plan,
  | 'subsampleSize' | 'subsampleSource' | 'q' | 'qSource' | 'lambda1' | 'lambdaQ' | 'lambdaNew' | 'beta'
  | 'criticalBatchPlain' | 'criticalBatch' | 'deviceBatchLimit' | 'deviceBatchLimitSource' | 'capacityCurve'
  | 'batchSize' | 'batchSizeSource' | 'stepSize' | 'stepSizeSource' | 'stepRegime' | 'eigenSeconds'
>;

/** What the plan says of the run besides the set-up's figures. */
export type PlanContext = Pick<
  Plan,
  'n' | 'd' | 'outputs' | 'task' | 'kernel' | 'bandwidth' | 'bandwidthSource' | 'backend' | 'device' | 'epochs' | 'stopping' | 'seed' | 'setupSeconds'
>;

/** The plan of a run: its context, the set-up's figures, and the iterations an epoch takes. */
export function assemblePlan(context: PlanContext, numbers: SetupNumbers & Pick<Plan, 'centers'>): Plan {
  const { epochs, stopping, seed, setupSeconds, ...facts } = context;
  return { ...facts, ...numbers, epochs, ...(stopping ? { stopping } : {}), iterationsPerEpoch: Math.ceil(context.n / numbers.batchSize), seed, setupSeconds };
}

/**
 * Passes over the centers per projection, as EigenPro 4's reference makes. The projection is
 * solved inexactly and its error slows every step: on full MNIST with 10 000 centers (gaussian σ = 5,
 * onnx, 2 epochs) one pass gave 2.20 % test error at 30–40 s an epoch, two passes 2.22 % at 59–70 s;
 * on the small problems of test/solver/centers.test.ts more passes come closer to the exact answer
 * in the same epochs (projectionPasses raises it).
 */
export const PROJECTION_PASSES = 1;

/** The projection's inner iterations: `passes` passes over the p centers. */
export function projectionIterations(p: number, innerBatch: number, passes = PROJECTION_PASSES): number {
  return Math.ceil((passes * p) / innerBatch);
}

/**
 * What a cached kernel value costs a projection, in floating-point operations of a computed kernel
 * block: read, widened and multiplied, with the inner steps' float64 eigenvector products spread
 * over the values. Measured from whole projections: 0.689 s cached against 2.994 s computed at
 * p = 20 000, d = 784 with the onnx backend, 0.230 = 360 / (2·784) (docs/benchmarks.md, "K_ZZ in
 * the cache").
 */
export const CACHED_VALUE_FLOPS = 360;

/**
 * A projection pass's cost with K_ZZ cached, relative to one that computes its kernel values (2·d
 * flops each). All three products of a pass read the cache then: the inner steps' predictions and
 * subsample corrections, and the data level's correction at the centers. Never above 1: where
 * computing a value costs less than reading it (small d), the plan assumes nothing gained.
 */
export function cachedPassCost(d: number): number {
  return Math.min(1, CACHED_VALUE_FLOPS / (2 * d));
}

/**
 * Batches between projections when not given. With x temporary centers pending at a projection,
 * an epoch's extra work over its predictions n·p·d is about n·(x/2)·d for the pending centers and
 * (n/x)·passes·p²·d·c for the projections, c the cost of a pass relative to computing its blocks
 * (1, or cachedPassCost with K_ZZ cached): least at x = p·√(2·passes·c) (EigenPro 4's default
 * is x = p), where each costs about n·p·d·√(passes·c/2).
 */
export function defaultProjectionInterval(p: number, batchSize: number, passes = PROJECTION_PASSES, passCost = 1): number {
  return Math.max(1, Math.round((p * Math.sqrt(2 * passes * passCost)) / batchSize));
}

/** EigenPro 3's second level: the projection onto the centers, EigenPro 2 on K_ZZ. */
export interface ProjectionPlan {
  readonly subsampleSize: number;
  readonly q: number;
  readonly lambda1: number;
  readonly lambdaQ: number;
  readonly lambdaNew: number;
  readonly beta: number;
  readonly criticalBatch: number;
  readonly batchSize: number;
  readonly stepSize: number;
  readonly stepRegime: StepRegime;
  /** Passes over the centers per projection, and the inner iterations they take. */
  readonly passes: number;
  readonly iterations: number;
  /** Data batches between projections (1: EigenPro 3's projection after every step). */
  readonly interval: number;
  readonly intervalSource: 'analytic' | 'given';
  /** A pass's cost relative to computing its blocks, where K_ZZ is cached (cachedPassCost); absent otherwise. */
  readonly passCost?: number;
  readonly eigenSeconds: number;
}

/** Why a model on centers averages its weights or not (setup.ts decides). */
export const AVERAGING_SOURCES = ['fewer centers than points', 'all points are centers', 'given'] as const;
export type AveragingSource = (typeof AVERAGING_SOURCES)[number];

/** A model whose centers are not the training points (EigenPro 3): the plan's second part. */
export interface CentersPlan {
  /** p: the model's centers. */
  readonly count: number;
  readonly source: string;
  readonly projection: ProjectionPlan;
  /** Whether each epoch's model is the mean of the weights at its projections (training.ts), and why. */
  readonly averaging?: boolean;
  readonly averagingSource?: AveragingSource;
  /** What training holds in memory, whatever n is: centers, batch, pending centers, subsamples. */
  readonly memoryBytes: number;
  readonly memoryNote: string;
}

/** One candidate of a bandwidth search. */
export interface SearchCandidate {
  /** The kernel, as plans describe it, e.g. "gaussian(σ = 5)". */
  readonly kernel: string;
  readonly name: string;
  readonly bandwidth: number;
  /** 'given', or its place in the grid around the median heuristic. */
  readonly bandwidthSource: string;
  readonly q: number;
  readonly stepSize: number;
  /** Filled in after training: the held-out mse and error (classification) after each epoch. */
  readonly validationMse?: readonly number[];
  readonly validationError?: readonly number[];
  /** 'trained', or 'diverged' (its step size had to be halved: it left the search). */
  readonly status?: 'trained' | 'diverged';
  /** The held-out figure it was judged by (error, else mse) at its kept epoch. */
  readonly score?: number;
  /** The first epoch it trained with a kernel cache of its own (one of the last still training: lateCache). */
  readonly cachedFrom?: number;
}

/** Why a search runs without the kernel cache (the plan's cache row, and the refusal of a cache precision). */
export const SEARCH_WITHOUT_CACHE =
  "each candidate's kernel values differ, so a cache would hold one matrix per candidate; the search saves by computing each block's distances once instead";

/**
 * Candidates still training when a search's last ones get a kernel cache each: once the others
 * have stopped, the distances shared among so few save less than a cache does in every later epoch
 * (MNIST 10 000 on onnx: σ = 10 trained 22 epochs alone after σ = 7 stopped, 0.6 s each through the
 * group against 0.1–0.2 s for a cached epoch of σ = 5 alone).
 */
export const LATE_CACHE_CANDIDATES = 2;

/** How a bandwidth search ran, and (after training) what it found. */
export interface SearchPlan {
  readonly candidates: readonly SearchCandidate[];
  /** Where the bandwidths came from: given, or a grid around the median pairwise distance. */
  readonly grid: string;
  /** The data the candidates are judged on: the validation data, or a seeded held-out split. */
  readonly heldOut: string;
  /** The common batch size and why. */
  readonly batchSizeWhy: string;
  /** Candidates trained together per pass over the data, and the passes. */
  readonly perPass: number;
  readonly passes: number;
  readonly perPassWhy: string;
  /** Whether the backend computed each block's distances once for a pass's candidates. */
  readonly sharesDistances: boolean;
  /** The index of the chosen candidate (after training). */
  readonly winner?: number;
  /** When the model returned is the chosen candidate trained again on every row, which rows. */
  readonly refit?: string;
  /**
   * The cache of each of the last LATE_CACHE_CANDIDATES candidates still training, from the epoch
   * after the others stopped (planCache's decision for them; absent in files of earlier versions).
   */
  readonly lateCache?: CachePlan;
  /** Each candidate's eigensystem seconds at set-up, in candidate order (absent in earlier files). */
  readonly eigenSeconds?: readonly number[];
}
