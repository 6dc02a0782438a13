/**
 * EigenPro's set-up: the Nyström subsample, the top eigensystem of K_SS/s, β, the device's batch
 * limit m_G, q, and the batch and step sizes, with where each figure came from. Pure arithmetic,
 * the Plan and its assembly live in plan.ts; this module gathers their inputs.
 */
import type { Kernel } from '../../kernels/kernel.js';
import type { Backend } from '../backends/backend.js';
import { PLATEAU, measureParallelCapacity, type CalibrationPoint } from './capacity.js';
import { KmfitError } from '../errors.js';
import { takeRows, type Matrix } from '../matrix.js';
import type { Preconditioning } from './eigenpro.js';
import { topEigenpairs } from './eigensystem.js';
import { checkMemory } from './memory.js';
import {
  MAX_EIGENPAIRS,
  analyticBatchSize,
  cachedBatchSize,
  analyticStepSize,
  chooseQ,
  criticalBatchSize,
  defaultSubsampleSize,
  subsampleSizeFor,
  designBatchSize,
  eigenvalueThreshold,
  setupEigenTolerance,
  lastUsableIndex,
  memoryBatchLimit,
  preconditioner,
  defaultProjectionInterval,
  projectionIterations,
  PROJECTION_PASSES,
  cachedPassCost,
  type CentersPlan,
  type SetupNumbers,
} from './plan.js';
import type { ProjectionSetup } from './eigenpro3.js';
import type { SeededRandom } from './random.js';

export interface SetupRequest {
  readonly backend: Backend;
  readonly kernel: Kernel;
  readonly X: Matrix;
  readonly outputs: number;
  readonly random: SeededRandom;
  readonly subsampleSize?: number;
  readonly q?: number;
  readonly batchSize?: number;
  readonly stepSize?: number;
  /** Override of m_G. */
  readonly deviceBatchLimit?: number;
  /** Rows scored after each epoch (monitored training rows and validation), for the memory guard. */
  readonly monitorRows?: number;
  /** The training points a batch is drawn from, when they are not X (EigenPro 3: X is the centers). */
  readonly dataRows?: number;
  /**
   * Why a step's cost per point does not depend on the batch size (the kernel cache will hold the
   * matrix): then no parallel capacity is measured, and m_G is the memory model's.
   */
  readonly flatStepCost?: string;
}

export interface Setup {
  readonly preconditioning?: Preconditioning;
  readonly numbers: SetupNumbers;
}

/** Where q came from; a given q that the subsample capped says so, and why. */
function qSourceOf(given: number | undefined, q: number, s: number): SetupNumbers['qSource'] {
  if (given === undefined) return 'analytic';
  if (q >= given) return 'given';
  return `given ${given}, capped at ${q}: ${given > Math.min(s - 1, MAX_EIGENPAIRS) ? `at most s − 1 and ${MAX_EIGENPAIRS}` : 'the last eigenvalue of K_SS clearly above 0'}`;
}

export async function setUp(request: SetupRequest): Promise<Setup> {
  const { backend, kernel, X, outputs: l, random } = request;
  const n = X.rows;
  // With the kernel cache: the smaller default subsample (CACHED_SUBSAMPLE_SIZE says why), and a
  // batch with a margin below m* (CACHED_BATCH_SHARE).
  const cached = request.flatStepCost !== undefined;
  const cachedDefault = cached && request.subsampleSize === undefined;
  const s = subsampleSizeFor(n, request.subsampleSize, cached);
  const size = { n, d: X.cols, l, s, monitorRows: request.monitorRows ?? 0 };
  // Before K_SS and the eigensolver's basis exist: with the batch size and q if given.
  checkMemory(backend, { ...size, m: Math.min(request.batchSize ?? 1, n), q: request.q, setup: true });

  const limit = await deviceBatchLimit(request, s);
  const indices = random.subsample(n, s);
  const points = takeRows(X, indices);
  const eigenStarted = performance.now();
  const kSS = await backend.kernelBlock(kernel, points, points);
  const maxBatch = designBatchSize(s, limit.batch);
  const maxPairs = Math.max(1, Math.min(s - 1, MAX_EIGENPAIRS));
  const threshold = eigenvalueThreshold(maxBatch);
  // A given q asks for its pairs at the eigensolver's default tolerance: no threshold bounds them.
  const eigenRequest =
    request.q === undefined
      ? { above: threshold, tolerance: setupEigenTolerance(threshold, kernel.diagonal) }
      : { count: Math.max(1, Math.min(request.q, maxPairs)) };
  // One stream for both solves: set-up then draws the same from the run's random source whatever
  // the kernel, so that a bandwidth search's candidates go on with the same permutations.
  const eigenRandom = random.uniformStream();
  // The eigensolver shares its loops among the backend's CPU threads (idle meanwhile).
  const threads = backend.describe().threads;
  let eigen = topEigenpairs(kSS, s, { scale: 1 / s, maxCount: maxPairs, random: eigenRandom, threads, ...eigenRequest });
  let q = Math.min(request.q ?? chooseQ(eigen.values, maxBatch), maxPairs);
  if (q > eigen.count) {
    // The automatic minimum q can ask for more pairs than the threshold search returned.
    eigen = topEigenpairs(kSS, s, { scale: 1 / s, maxCount: maxPairs, count: q, random: eigenRandom, threads });
  }
  // λ_q must be clearly positive: a rank-deficient subsample caps q.
  if (q > 0) q = Math.min(q, lastUsableIndex(eigen.values, eigen.count));
  const eigenSeconds = (performance.now() - eigenStarted) / 1000;

  const beta = kernel.diagonal;
  const lambda1 = eigen.values[0];
  if (!(lambda1 > 0)) {
    throw new KmfitError(
      'INVALID_OPTION',
      `The kernel matrix on the subsample has no positive eigenvalue (λ_1 = ${lambda1}); ` +
        'the bandwidth is probably far too small or too large for this data.',
    );
  }
  const precond = q >= 1 ? preconditioner(eigen.values, q) : undefined;
  const lambdaNew = precond ? precond.lambdaNew : lambda1;

  const dataRows = request.dataRows ?? n;
  let batchSize: number;
  let batchSizeSource: Setup['numbers']['batchSizeSource'];
  if (request.batchSize !== undefined) {
    batchSize = Math.min(request.batchSize, dataRows);
    batchSizeSource = request.batchSize > dataRows ? 'data size' : 'given';
  } else {
    const analytic = (cached ? cachedBatchSize : analyticBatchSize)(beta, lambdaNew, Number.POSITIVE_INFINITY);
    batchSize = Math.min(analytic, limit.batch, dataRows);
    batchSizeSource = batchSize !== analytic ? (batchSize === limit.batch ? 'device limit' : 'data size') : cached ? 'analytic, below m* with the kernel cache' : 'analytic';
  }
  checkMemory(backend, { ...size, m: batchSize, q, setup: false });
  const analyticStep = analyticStepSize(batchSize, beta, lambdaNew);
  const stepSize = request.stepSize ?? analyticStep.eta;

  const preconditioning: Preconditioning | undefined =
    precond && q >= 2
      ? {
          points,
          indices,
          vectors: scaledVectors(eigen.vectors, s, q - 1),
          scales: precond.scales,
        }
      : undefined;

  return {
    preconditioning,
    numbers: {
      subsampleSize: s,
      ...(cachedDefault && s < defaultSubsampleSize(n) ? { subsampleSource: 'smaller while the kernel cache holds the matrix: a smaller batch trains as fast per epoch, for less set-up' } : {}),
      q,
      qSource: qSourceOf(request.q, q, s),
      lambda1,
      lambdaQ: precond ? precond.lambdaQ : lambda1,
      lambdaNew,
      beta,
      criticalBatchPlain: criticalBatchSize(beta, lambda1),
      criticalBatch: criticalBatchSize(beta, lambdaNew),
      deviceBatchLimit: limit.batch,
      deviceBatchLimitSource: limit.source,
      ...(limit.curve ? { capacityCurve: limit.curve } : {}),
      batchSize,
      batchSizeSource,
      stepSize,
      stepSizeSource: request.stepSize === undefined ? 'analytic' : 'given',
      stepRegime: analyticStep.regime,
      eigenSeconds,
    },
  };
}

/** The first `count` eigenvectors (column-major) divided by √s: V = E/√s. */
function scaledVectors(vectors: Float64Array, s: number, count: number): Float64Array {
  const out = vectors.slice(0, s * count);
  const factor = 1 / Math.sqrt(s);
  for (let i = 0; i < out.length; i++) out[i] *= factor;
  return out;
}

/**
 * m_G: the smaller of the memory model's limit and, for parallel devices, the measured parallel
 * capacity; never more than s (the memory model's range). A user's value wins.
 */
async function deviceBatchLimit(
  request: SetupRequest,
  s: number,
): Promise<{ batch: number; source: string; curve?: readonly CalibrationPoint[] }> {
  const { backend, kernel, X, outputs } = request;
  if (request.deviceBatchLimit !== undefined) {
    return { batch: Math.min(request.deviceBatchLimit, X.rows), source: 'given' };
  }
  const budget = backend.memoryBudget();
  const byMemory = memoryBatchLimit(budget.bytes, X.rows, X.cols, outputs, s);
  if (byMemory < 1) {
    throw new KmfitError(
      'INSUFFICIENT_MEMORY',
      `Training ${X.rows} points of ${X.cols} features needs more memory than the ${backend.name} backend has ` +
        `(${budget.source}). Train on fewer points, a smaller subsampleSize, or another backend.`,
    );
  }
  const memoryText = `memory model ((d + 3l + m + 1)·n + 1000·s)·4 bytes within ${budget.source}`;
  let batch = Math.min(byMemory, s);
  let source = byMemory <= s ? memoryText : `the subsample size s (the ${memoryText} allows more)`;
  if (!backend.describe().parallel) {
    return { batch, source: `${source}; ${backend.name} computes one point at a time, so no parallel capacity is measured` };
  }
  if (request.flatStepCost) return { batch, source: `${source}; ${request.flatStepCost}, so no parallel capacity is measured` };
  const capacity = await measureParallelCapacity(backend, kernel, X, outputs, s);
  const cached = capacity.cached ? ', from the calibration cache' : '';
  const tolerance = `${Math.round((PLATEAU - 1) * 100)} %`;
  if (capacity.batch < batch) {
    batch = capacity.batch;
    source =
      `parallel capacity of ${backend.describe().device}: beyond m = ${capacity.batch} the seconds per point ` +
      `rise more than ${tolerance} above their plateau${cached}`;
  } else {
    source += `; the device keeps its best seconds per point (within ${tolerance}) up to that batch${cached}`;
  }
  return { batch, source, curve: capacity.curve };
}

/** The projection's figures that decide whether K_ZZ fits in the kernel cache. */
export interface ProjectionCacheSize {
  readonly p: number;
  readonly s: number;
  readonly q: number;
  readonly batchSize: number;
}

/** EigenPro 3's set-up: the data level's and the projection's, both from subsamples of the centers. */
export interface CentersSetup extends Setup {
  readonly projection: ProjectionSetup;
  readonly centersPlan: CentersPlan;
}

/**
 * Set-up for a model on the centers `request.X` (p×d) trained on `dataRows` points: the data
 * level is EigenPro 2's set-up with its subsample drawn from the centers (see eigenpro3.ts for
 * why), and the projection, EigenPro 2 on K_ZZ, gets a set-up of its own (its own subsample; the
 * device limit measured once, for the data level).
 */
export async function setUpCenters(
  request: SetupRequest & {
    readonly dataRows: number;
    readonly projectionInterval?: number;
    readonly projectionPasses?: number;
    readonly averaging?: boolean;
    readonly source: string;
    /** Whether the run will keep K_ZZ in the kernel cache, given the projection's figures (then passes cost less, and projections come more often). */
    readonly cachesProjection?: (projection: ProjectionCacheSize) => boolean;
  },
): Promise<CentersSetup> {
  const outer = await setUp(request);
  const innerRequest: SetupRequest = {
    dataRows: undefined,
    backend: request.backend,
    kernel: request.kernel,
    X: request.X,
    outputs: request.outputs,
    random: request.random,
    subsampleSize: request.subsampleSize,
    deviceBatchLimit: outer.numbers.deviceBatchLimit,
    monitorRows: request.monitorRows,
  };
  const inner = await setUp(innerRequest);
  const p = request.X.rows;
  const d = request.X.cols;
  const l = request.outputs;
  const numbers = inner.numbers;
  const passes = request.projectionPasses ?? PROJECTION_PASSES;
  const iterations = projectionIterations(p, numbers.batchSize, passes);
  const cached = request.cachesProjection?.({ p, s: numbers.subsampleSize, q: numbers.q, batchSize: numbers.batchSize }) ?? false;
  const passCost = cached ? cachedPassCost(d) : 1;
  const interval = request.projectionInterval ?? defaultProjectionInterval(p, outer.numbers.batchSize, passes, passCost);
  const m = outer.numbers.batchSize;
  const memory = centersMemory({ p, d, l, m, interval, s: outer.numbers.subsampleSize, q: outer.numbers.q, innerS: numbers.subsampleSize, innerQ: numbers.q });
  return {
    ...outer,
    projection: { preconditioning: inner.preconditioning, batchSize: numbers.batchSize, stepSize: numbers.stepSize, iterations },
    centersPlan: {
      count: p,
      source: request.source,
      // With p < n the fit does not interpolate, so fixed-size steps leave noise to average away.
      averaging: request.averaging ?? p < request.dataRows,
      averagingSource: request.averaging !== undefined ? 'given' : p < request.dataRows ? 'fewer centers than points' : 'all points are centers',
      projection: {
        subsampleSize: numbers.subsampleSize,
        q: numbers.q,
        lambda1: numbers.lambda1,
        lambdaQ: numbers.lambdaQ,
        lambdaNew: numbers.lambdaNew,
        beta: numbers.beta,
        criticalBatch: numbers.criticalBatch,
        batchSize: numbers.batchSize,
        stepSize: numbers.stepSize,
        stepRegime: numbers.stepRegime,
        passes,
        iterations,
        interval,
        intervalSource: request.projectionInterval === undefined ? 'analytic' : 'given',
        ...(cached ? { passCost } : {}),
        eigenSeconds: numbers.eigenSeconds,
      },
      memoryBytes: memory.bytes,
      memoryNote: memory.note,
    },
  };
}

/**
 * What EigenPro 3's training holds, whatever the number of data points: the centers three times
 * (the model's weights, the copy a backend's fused step keeps (CenterSet.predictAndPullBack), and
 * the projection's), the pending temporary centers, a batch, and the two preconditioners (float64
 * vectors and their points).
 */
function centersMemory(size: { p: number; d: number; l: number; m: number; interval: number; s: number; q: number; innerS: number; innerQ: number }): { bytes: number; note: string } {
  const { p, d, l, m, interval, s, q, innerS, innerQ } = size;
  const centers = 3 * p * (d + l + 2) * 4 + p * l * 8;
  const pending = interval * m * (d + l + 2) * 4;
  const batch = 2 * m * (d + 2 * l) * 4;
  const preconditioners = (s * q + innerS * innerQ) * 8 + (s + innerS) * d * 4;
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
  return {
    bytes: centers + pending + batch + preconditioners,
    note: `centers ${mb(centers)} + pending ${mb(pending)} + batch ${mb(batch)} + preconditioners ${mb(preconditioners)}, independent of n`,
  };
}
