/**
 * The float64 eigensystem behind EigenPro's setup: the top eigenpairs of the (scaled) Nyström
 * kernel matrix K_SS/s. A dense O(s³) decomposition is too slow in JavaScript, so only the pairs
 * needed are computed: Lanczos with full reorthogonalization (the matrix stays float32, everything
 * else is float64), a symmetric tridiagonal QL solver for the projected matrix's values, inverse
 * iteration for its eigenvectors (./inverseIteration.ts), and Ritz vectors formed in float64.
 *
 * Single-vector Lanczos cannot see a second copy of an eigenvalue (its Krylov space holds one
 * direction per eigenspace), so after convergence a short Lanczos run on the complement of the
 * pairs found looks for any eigenvalue that was missed, and adds it if there is one.
 */
import { KmfitError, describeValue } from '../errors.js';
import { rotateRows } from './dense/js.js';
import { inverseIterationPairs, negligibleCoupling } from './inverseIteration.js';
import { denseKernels } from './dense/choose.js';
import { hardwareThreads } from '../backends/system.js';
import type { DenseKernels } from './dense/kernels.js';

export interface Eigensystem {
  /** Eigenvalues of the (scaled) matrix in descending order. */
  readonly values: Float64Array;
  /** Unit eigenvectors, column j for values[j], stored column-major: vectors[j * size + i]. */
  readonly vectors: Float64Array;
  readonly size: number;
  readonly count: number;
  /** Lanczos steps (= matrix-vector products) taken, the check for missed eigenvalues included. */
  readonly lanczosSteps: number;
}

export interface EigenOptions {
  /** Multiply the matrix by this (e.g. 1/s). Default 1. */
  scale?: number;
  /** Return exactly this many top pairs (when known). */
  count?: number;
  /**
   * Otherwise: return every pair with value > `above`, plus the next one (so the caller sees where
   * the spectrum crosses), capped at maxCount.
   */
  above?: number;
  /**
   * Upper bound on pairs returned; default min(size - 1, 1000) but at least 1. With `count` the
   * default is `size`, so that an explicit count is honoured.
   */
  maxCount?: number;
  /** Convergence tolerance on eigenvalues, relative to λ_1. Default 1e-9. */
  tolerance?: number;
  /** Source of uniform [0,1) numbers for the start vector; default a fixed-seed generator. */
  random?: () => number;
  /** Which dense loops to run: default the fastest available ('wasm' where the engine has it). */
  kernels?: 'wasm' | 'js';
  /**
   * Threads that share the dense loops (the wasm ones, in Node): default one per core, at most
   * DEFAULT_THREADS. The result is the same, bit for bit, on any number.
   */
  threads?: number;
}

/** More threads than this gain little: the reorthogonalization is bound by memory bandwidth. */
const DEFAULT_THREADS = 4;

/** Which rows of the eigenvector matrix `tridiagonalEigen` returns. */
export type EigenvectorRows = 'all' | 'last' | 'none';

export interface TridiagonalEigensystem {
  /** All n eigenvalues, in descending order. */
  readonly values: Float64Array;
  /**
   * The requested rows of the eigenvector matrix Z for the first `columnCount` values,
   * column-major with `rowCount` entries per column: vectors[j * rowCount + r] is row r of the
   * eigenvector for values[j] ('all': rowCount = n; 'last': rowCount = 1, the entry Z[n-1][j];
   * 'none': empty).
   */
  readonly vectors: Float64Array;
  readonly rowCount: number;
  readonly columnCount: number;
}

/** A residual below this fraction of ‖A‖ means the Krylov space is invariant: restart. */
const BREAKDOWN = 1e-12;
/** Steps the search for missed eigenvalues takes when it finds nothing above the floor. */
const MISSED_SEARCH_STEPS = 30;
/**
 * a/b of stepsToNextCheck: a check's cost per k² over a step's per (s² + 4·k·s). Measured on MNIST's
 * K_SS (s = 2 000, the dense loops on 2 threads): a check at k = 1 500 took 56 ms (a = 2.5e-8 s),
 * a step ≈ 2 ms at k ≈ 1 000 (b = 1.6e-10 s).
 */
const CHECK_COST_IN_STEPS = 150;
/** QL sweeps allowed per eigenvalue before giving up (convergence is cubic; 2–3 is typical). */
const MAX_QL_SWEEPS = 60;

// ---------------------------------------------------------------------------------------------
// Symmetric tridiagonal eigensolver: implicit QL with Wilkinson shifts.

/**
 * Eigen-decomposition of the symmetric tridiagonal matrix with diagonal `diag` (length n) and
 * off-diagonal `offDiag` (length n-1), by implicit QL with Wilkinson shifts. Values come back in
 * DESCENDING order, with the requested rows of the eigenvectors of the first `columns` of them.
 *
 * The eigenvector matrix is the product Z = G_1·G_2···G_N of the sweeps' Givens rotations. 'last'
 * follows row n-1 of Z through the sweeps as they happen (O(n²) in all): that is what the Lanczos
 * residual bounds |β_k·z_{k,j}| need. 'all' finds the wanted columns by inverse iteration on the
 * values (./inverseIteration.ts: O(n) each); where that declines, it records the rotations and
 * applies them in reverse to the unit vectors of the wanted columns only (O(n²·columns)).
 */
export function tridiagonalEigen(
  diag: ArrayLike<number>,
  offDiag: ArrayLike<number>,
  rows: EigenvectorRows = 'all',
  columns: number = diag.length,
  rotate: DenseKernels['rotateRows'] = rotateRows,
): TridiagonalEigensystem {
  const n = diag.length;
  if (n > 0 && offDiag.length < n - 1) {
    throw new RangeError(`tridiagonalEigen: ${n} diagonal entries need ${n - 1} off-diagonal ones, got ${offDiag.length}`);
  }
  const d = Float64Array.from(diag);
  // e[i] couples i and i+1; e[n-1] is a zero sentinel.
  const e = new Float64Array(n);
  for (let i = 0; i + 1 < n; i++) e[i] = offDiag[i];
  if (rows === 'all') {
    const columnCount = Math.max(0, Math.min(columns, n));
    const pairs = inverseIterationPairs(d, e, columnCount, (blockDiag, blockOff) => tridiagonalEigen(blockDiag, blockOff, 'none').values);
    if (pairs !== null) return { ...pairs, rowCount: n, columnCount };
  }
  const log = createRotationLog(n, rows);
  for (let l = 0; l < n; l++) {
    let sweeps = 0;
    for (let m = splitPoint(d, e, l); m !== l; m = splitPoint(d, e, l)) {
      if (++sweeps > MAX_QL_SWEEPS) throw new Error('tridiagonalEigen: QL iteration did not converge');
      qlSweep(d, e, l, m, log);
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[j] - d[i]);
  const columnCount = rows === 'none' ? 0 : Math.max(0, Math.min(columns, n));
  const picked = order.slice(0, columnCount);
  const vectors =
    rows === 'all' ? eigenvectorColumns(log, picked, rotate) : Float64Array.from(picked, (j) => log.lastRow[j]);
  return { values: Float64Array.from(order, (j) => d[j]), vectors, rowCount: rows === 'all' ? n : rows === 'last' ? 1 : 0, columnCount };
}

/**
 * Where the Givens rotations of the QL sweeps go. Sweep t consists of the rotations i = highs[t]-1
 * down to lows[t] (rotation i mixes columns i and i+1 of Z), stored from starts[t] on. 'last'
 * applies each sweep to `lastRow` at once and then forgets it; 'all' keeps them all.
 */
interface RotationLog {
  readonly rows: EigenvectorRows;
  readonly n: number;
  readonly lastRow: Float64Array;
  cos: Float64Array;
  sin: Float64Array;
  used: number;
  readonly lows: number[];
  readonly highs: number[];
  readonly starts: number[];
}

function createRotationLog(n: number, rows: EigenvectorRows): RotationLog {
  const lastRow = new Float64Array(rows === 'last' ? n : 0);
  if (rows === 'last' && n > 0) lastRow[n - 1] = 1;
  const capacity = rows === 'none' ? 0 : rows === 'last' ? n : 4 * n;
  return {
    rows,
    n,
    lastRow,
    cos: new Float64Array(capacity),
    sin: new Float64Array(capacity),
    used: 0,
    lows: [],
    highs: [],
    starts: [],
  };
}

/** Room for `count` more rotations. */
function reserveRotations(log: RotationLog, count: number): void {
  if (log.used + count <= log.cos.length) return;
  const capacity = Math.max(log.used + count, 2 * log.cos.length);
  log.cos = growTo(log.cos, capacity);
  log.sin = growTo(log.sin, capacity);
}

/** The first m ≥ l whose coupling e[m] to the next entry is negligible (n-1 if none). */
function splitPoint(d: Float64Array, e: Float64Array, l: number): number {
  const last = d.length - 1;
  for (let m = l; m < last; m++) {
    if (negligibleCoupling(d, e, m)) return m;
  }
  return last;
}

/**
 * One implicit QL sweep on the unreduced block l..m, shifted by the eigenvalue of the leading 2×2
 * block nearer d[l]. Its rotations go to the log.
 */
function qlSweep(d: Float64Array, e: Float64Array, l: number, m: number, log: RotationLog): void {
  const tracking = log.rows !== 'none';
  if (tracking) reserveRotations(log, m - l);
  const start = log.used;
  let g = (d[l + 1] - d[l]) / (2 * e[l]);
  let r = Math.hypot(g, 1);
  g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
  let s = 1;
  let c = 1;
  let p = 0;
  let i = m - 1;
  for (; i >= l; i--) {
    const f = s * e[i];
    const b = c * e[i];
    r = hypot(f, g);
    e[i + 1] = r;
    if (r === 0) {
      // The bulge vanished (underflow): the block splits at i+1; the caller starts over.
      d[i + 1] -= p;
      e[m] = 0;
      break;
    }
    s = f / r;
    c = g / r;
    if (tracking) {
      log.cos[start + m - 1 - i] = c;
      log.sin[start + m - 1 - i] = s;
    }
    g = d[i + 1] - p;
    r = (d[i] - g) * s + 2 * c * b;
    p = s * r;
    d[i + 1] = g + p;
    g = c * r - b;
  }
  if (i < l) {
    d[l] -= p;
    e[l] = g;
    e[m] = 0;
  }
  if (tracking && i + 1 < m) recordSweep(log, i + 1, m, start);
}

function recordSweep(log: RotationLog, low: number, high: number, start: number): void {
  if (log.rows === 'last') {
    rotateLastRow(log, low, high);
    return;
  }
  log.lows.push(low);
  log.highs.push(high);
  log.starts.push(start);
  log.used = start + (high - low);
}

/**
 * z ← z·G_{high-1}···G_{low} for the last row z of Z: rotation i turns (z_i, z_{i+1}) into
 * (c·z_i − s·z_{i+1}, s·z_i + c·z_{i+1}); the freshly rotated entry rides along in `carry`.
 */
function rotateLastRow(log: RotationLog, low: number, high: number): void {
  const { lastRow: z, cos, sin } = log;
  let k = 0;
  let carry = z[high];
  for (let i = high - 1; i >= low; i--, k++) {
    const zi = z[i];
    z[i + 1] = sin[k] * zi + cos[k] * carry;
    carry = cos[k] * zi - sin[k] * carry;
  }
  z[low] = carry;
}

/**
 * Columns `picked` of Z = G_1···G_N, as Z·e_j = G_1(G_2(···(G_N·e_j))). The columns are rotated
 * together, held row by row (z[r·count + c]), so that a rotation of rows i and i+1 is one pass
 * over independent entries rather than a chain through one column; returned column-major, n
 * entries per column.
 */
function eigenvectorColumns(log: RotationLog, picked: number[], rotate: DenseKernels['rotateRows']): Float64Array {
  const n = log.n;
  const count = picked.length;
  const z = new Float64Array(n * count);
  picked.forEach((j, c) => (z[j * count + c] = 1));
  rotate(z, count, log);
  const out = new Float64Array(count * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < count; c++) out[c * n + r] = z[r * count + c];
  return out;
}

/**
 * √(a² + b²) without overflow or underflow, as Math.hypot, which V8 makes several times slower
 * (it takes any number of arguments): the QL sweeps' inner loop calls it once a rotation.
 */
function hypot(a: number, b: number): number {
  const x = Math.abs(a);
  const y = Math.abs(b);
  const big = Math.max(x, y);
  // 0, ∞ and NaN (which Math.max passes on) are their own answers.
  if (!(big > 0) || big === Infinity) return big;
  const ratio = Math.min(x, y) / big;
  return big * Math.sqrt(1 + ratio * ratio);
}

// ---------------------------------------------------------------------------------------------
// Small vector helpers (the heavy loops are in ./dense/).

function norm(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

function scaleInPlace(x: Float64Array, factor: number): void {
  for (let i = 0; i < x.length; i++) x[i] *= factor;
}

// ---------------------------------------------------------------------------------------------
// Lanczos with full reorthogonalization.

interface Operator {
  readonly kernels: DenseKernels;
  readonly size: number;
  readonly scale: number;
}

/**
 * A Lanczos run. `basis` holds `locked` fixed orthonormal vectors (pairs already found, which the
 * run stays orthogonal to) followed by the Lanczos vectors v_0..v_{steps-1}; T has diagonal
 * alpha[0..steps) and off-diagonal beta[0..steps-1), and beta[steps-1] is the residual norm of the
 * last step (0 after a breakdown, when the next vector is a fresh random one).
 */
interface LanczosRun {
  readonly op: Operator;
  readonly random: () => number;
  readonly locked: number;
  basis: Float64Array;
  steps: number;
  alpha: Float64Array;
  beta: Float64Array;
  /** The normalized next Lanczos vector, or null when the next step must restart. */
  next: Float64Array | null;
  /** Largest ‖A v‖ seen: a lower bound on ‖A‖, the scale for breakdown decisions. */
  normEstimate: number;
  /** True once basis and Lanczos vectors span the whole space: T is then exact. */
  exhausted: boolean;
  readonly work: Float64Array;
  readonly coefficients: Float64Array;
}

function startRun(op: Operator, random: () => number, lockedVectors: Float64Array, locked: number): LanczosRun {
  const n = op.size;
  const capacity = Math.min(n - locked, 64);
  const basis = op.kernels.newBasis(locked + capacity);
  basis.set(lockedVectors.subarray(0, locked * n));
  return {
    op,
    random,
    locked,
    basis,
    steps: 0,
    alpha: new Float64Array(capacity),
    beta: new Float64Array(capacity),
    next: null,
    normEstimate: 0,
    exhausted: locked >= n,
    work: new Float64Array(n),
    coefficients: new Float64Array(n),
  };
}

function rowsInUse(run: LanczosRun): number {
  return run.locked + run.steps;
}

/** Makes room for one more Lanczos vector, growing the storage by half when full. */
function reserveStep(run: LanczosRun): void {
  if (run.steps < run.alpha.length) return;
  const n = run.op.size;
  const capacity = Math.min(n - run.locked, Math.max(run.steps + 16, Math.ceil(run.steps * 1.5)));
  run.basis = run.op.kernels.growBasis(run.basis, run.locked + capacity);
  run.alpha = growTo(run.alpha, capacity);
  run.beta = growTo(run.beta, capacity);
}

function growTo(a: Float64Array, length: number): Float64Array {
  const grown = new Float64Array(length);
  grown.set(a);
  return grown;
}

/**
 * A random unit vector orthogonal to the basis rows in use, or null if none can be found (the
 * basis spans the space to working precision). Should the caller's generator keep producing
 * vectors inside the basis (a constant one, say), the built-in one takes over.
 */
function randomOrthogonalVector(run: LanczosRun): Float64Array | null {
  const v = new Float64Array(run.op.size);
  const fallback = seededRandom(run.locked + run.steps + 1);
  for (let attempt = 0; attempt < 6; attempt++) {
    const random = attempt < 3 ? run.random : fallback;
    for (let i = 0; i < v.length; i++) v[i] = random() - 0.5;
    const before = norm(v);
    run.op.kernels.projectOut(run.basis, rowsInUse(run), v, run.coefficients);
    run.op.kernels.projectOut(run.basis, rowsInUse(run), v, run.coefficients);
    const after = norm(v);
    if (after > 1e-4 * before) {
      scaleInPlace(v, 1 / after);
      return v;
    }
  }
  return null;
}

/**
 * One Lanczos step: appends the next vector v_j (a fresh random one after a breakdown), then
 * w = A v_j − α_j v_j − β_{j-1} v_{j-1}, reorthogonalized against the whole basis. β_j = ‖w‖ is
 * set to 0 when w is negligible (an invariant subspace), so that T stays exactly block diagonal
 * across restarts. Returns false when no vector can be appended: the space is exhausted.
 */
function lanczosStep(run: LanczosRun): boolean {
  const n = run.op.size;
  if (run.exhausted) return false;
  const v = run.next ?? randomOrthogonalVector(run);
  if (v === null) {
    run.exhausted = true;
    return false;
  }
  reserveStep(run);
  const j = run.steps;
  run.basis.set(v, rowsInUse(run) * n);
  run.steps++;

  const w = run.work;
  run.op.kernels.multiply(v, w, run.op.scale);
  run.normEstimate = Math.max(run.normEstimate, norm(w));
  const own = run.locked + j;
  const alpha = recurrence(run, j, w) + reorthogonalize(run, w, own);
  run.alpha[j] = alpha;
  const beta = norm(w);
  const negligible = beta <= BREAKDOWN * run.normEstimate || beta === 0;
  if (rowsInUse(run) >= n) run.exhausted = true;
  if (negligible || run.exhausted) {
    run.beta[j] = 0;
    run.next = null;
  } else {
    run.beta[j] = beta;
    // A plain loop: Float64Array.from with a mapping function costs several times as much, every step.
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) next[i] = w[i] / beta;
    run.next = next;
  }
  return true;
}

/** The three-term recurrence: w -= α_j v_j + β_{j-1} v_{j-1}; returns α_j = <v_j, A v_j>. */
function recurrence(run: LanczosRun, j: number, w: Float64Array): number {
  const n = run.op.size;
  const v = (run.locked + j) * n;
  const basis = run.basis;
  let alpha = 0;
  for (let r = 0; r < n; r++) alpha += basis[v + r] * w[r];
  const beta = j > 0 ? run.beta[j - 1] : 0;
  if (beta === 0) {
    for (let r = 0; r < n; r++) w[r] -= alpha * basis[v + r];
  } else {
    const u = v - n;
    for (let r = 0; r < n; r++) w[r] -= alpha * basis[v + r] + beta * basis[u + r];
  }
  return alpha;
}

/**
 * Full reorthogonalization against every basis row, locked ones included, by classical
 * Gram–Schmidt: a second pass when the first removed a large part of w ("twice is enough"), and w
 * is rounding noise — set to zero — if the second pass removes a large part again. Returns the
 * correction to α_j (the v_j coefficients removed).
 */
function reorthogonalize(run: LanczosRun, w: Float64Array, own: number): number {
  const rows = rowsInUse(run);
  const before = norm(w);
  run.op.kernels.projectOut(run.basis, rows, w, run.coefficients);
  let correction = run.coefficients[own];
  const once = norm(w);
  if (once >= Math.SQRT1_2 * before) return correction;
  run.op.kernels.projectOut(run.basis, rows, w, run.coefficients);
  correction += run.coefficients[own];
  if (norm(w) < Math.SQRT1_2 * once) w.fill(0);
  return correction;
}

interface RitzEstimate {
  /** Ritz values, descending. */
  readonly values: Float64Array;
  /** Residual bounds ‖A x_j − θ_j x_j‖ = |β_last · z_{last,j}|. */
  readonly residuals: Float64Array;
  /** max |θ|: the scale tolerances are relative to (λ_1 for a PSD matrix). */
  readonly norm: number;
}

function ritzEstimate(run: LanczosRun): RitzEstimate {
  const k = run.steps;
  const t = tridiagonalEigen(run.alpha.subarray(0, k), run.beta.subarray(0, k - 1), 'last');
  const lastBeta = Math.abs(run.beta[k - 1]);
  const residuals = t.vectors.map((z) => Math.abs(z) * lastBeta);
  const normT = k > 0 ? Math.max(Math.abs(t.values[0]), Math.abs(t.values[k - 1])) : 0;
  return { values: t.values, residuals, norm: Math.max(normT, run.normEstimate) };
}

function allConverged(ritz: RitzEstimate, count: number, tolerance: number): boolean {
  const bound = tolerance * ritz.norm;
  for (let j = 0; j < count; j++) if (ritz.residuals[j] > bound) return false;
  return true;
}

/**
 * Decides, from the current Ritz estimate, whether a run is done: returns the number of top Ritz
 * pairs to keep, or null to take more steps. `exhausted` means no more steps are possible.
 */
type StopRule = (ritz: RitzEstimate, steps: number, exhausted: boolean) => number | null;

interface Pairs {
  values: Float64Array;
  /** One unit vector per value, each contiguous: vectors[j * n + i]. */
  vectors: Float64Array;
  count: number;
}

/**
 * Runs Lanczos until `stop` says how many pairs to keep, checking every so often (a check costs
 * O(k²), a step O(s² + k·s)), and returns those Ritz pairs.
 */
function runLanczos(run: LanczosRun, stop: StopRule, firstCheck: number): Pairs {
  let nextCheck = Math.max(1, firstCheck);
  for (;;) {
    const stepped = lanczosStep(run);
    if (stepped && run.steps < nextCheck && !run.exhausted) continue;
    const exhausted = !stepped || run.exhausted;
    const keep = run.steps > 0 ? stop(ritzEstimate(run), run.steps, exhausted) : 0;
    if (keep !== null) return ritzPairs(run, Math.min(keep, run.steps));
    if (exhausted) throw new Error('topEigenpairs: stop rule refused an exhausted Lanczos run');
    nextCheck = run.steps + stepsToNextCheck(run.steps, run.op.size);
  }
}

/**
 * Lanczos steps from step k to the next convergence check, on a matrix of size s. A check (QL on
 * the k × k tridiagonal) costs ≈ a·k², a step ≈ b·(s² + 4·k·s) (the product with the matrix and
 * two Gram–Schmidt passes over the basis). Checking every c·k steps up to convergence at step K
 * spends ≈ a·K²/(2c) on checks and ≈ c·K/2 steps past K, least at c = √((a/b)·K/(s² + 4·K·s)),
 * with k standing in for the K not yet known.
 */
function stepsToNextCheck(k: number, s: number): number {
  return Math.max(5, Math.ceil(k * Math.sqrt((CHECK_COST_IN_STEPS * k) / (s * s + 4 * k * s))));
}

/** The top `count` Ritz pairs: θ_j and x_j = V z_j from the full eigenvectors of T. */
function ritzPairs(run: LanczosRun, count: number): Pairs {
  const n = run.op.size;
  const k = run.steps;
  const t = tridiagonalEigen(run.alpha.subarray(0, k), run.beta.subarray(0, k - 1), 'all', count, run.op.kernels.rotateRows);
  const vectors = run.op.kernels.combineRows(run.basis, run.locked, k, t.vectors, count);
  for (let j = 0; j < count; j++) normalizeSign(vectors.subarray(j * n, (j + 1) * n));
  return { values: t.values.slice(0, count), vectors, count };
}

/** Unit length, and the largest-magnitude component positive, so that results do not depend on
 * the sign Lanczos happened to produce. */
function normalizeSign(x: Float64Array): void {
  let largest = 0;
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) > Math.abs(largest)) largest = x[i];
  const length = norm(x);
  if (length > 0) scaleInPlace(x, (largest < 0 ? -1 : 1) / length);
}

// ---------------------------------------------------------------------------------------------
// The request: how many pairs, and when they are converged.

interface Request {
  readonly count: number | undefined;
  readonly above: number | undefined;
  readonly cap: number;
  readonly tolerance: number;
}

/** How many of these descending values the request wants, before capping at what exists. */
function targetCount(request: Request, values: ArrayLike<number>): number {
  if (request.count !== undefined) return Math.min(request.count, request.cap);
  if (request.above === undefined) return request.cap;
  return Math.min(countAbove(values, request.above) + 1, request.cap);
}

function wantedCount(request: Request, values: ArrayLike<number>): number {
  return Math.min(targetCount(request, values), values.length);
}

function countAbove(values: ArrayLike<number>, threshold: number): number {
  let over = 0;
  while (over < values.length && values[over] > threshold) over++;
  return over;
}

/**
 * Stop rule for the main run: as many Ritz values as wanted exist (for 'above', one at or below
 * the threshold too), and every wanted pair has a residual ≤ tolerance·λ_1.
 */
function convergedRequest(request: Request): StopRule {
  return (ritz, steps, exhausted) => {
    const target = targetCount(request, ritz.values);
    if (exhausted) return Math.min(target, steps);
    return target <= steps && allConverged(ritz, target, request.tolerance) ? target : null;
  };
}

/**
 * Stop rule for the search on the complement of the pairs found: keep every Ritz pair above
 * `floor` once converged; if there are none after MISSED_SEARCH_STEPS (or once the top one has
 * converged below the floor), nothing was missed.
 */
function missedAbove(floor: number, tolerance: number): StopRule {
  return (ritz, steps, exhausted) => {
    const over = countAbove(ritz.values, floor);
    if (over === 0) {
      const settled = steps >= MISSED_SEARCH_STEPS || allConverged(ritz, 1, tolerance);
      return settled || exhausted ? 0 : null;
    }
    return exhausted || allConverged(ritz, over, tolerance) ? over : null;
  };
}

function mergeDescending(a: Pairs, b: Pairs, n: number): Pairs {
  const count = a.count + b.count;
  const values = new Float64Array(count);
  const vectors = new Float64Array(count * n);
  let i = 0;
  let j = 0;
  for (let k = 0; k < count; k++) {
    const fromA = j >= b.count || (i < a.count && a.values[i] >= b.values[j]);
    const [source, index] = fromA ? [a, i++] : [b, j++];
    values[k] = source.values[index];
    vectors.set(source.vectors.subarray(index * n, (index + 1) * n), k * n);
  }
  return { values, vectors, count };
}

function truncate(pairs: Pairs, count: number, n: number): Pairs {
  if (count >= pairs.count) return pairs;
  return { values: pairs.values.slice(0, count), vectors: pairs.vectors.slice(0, count * n), count };
}

// ---------------------------------------------------------------------------------------------

/** Top eigenpairs of a symmetric matrix given as a row-major s×s Float32Array. */
export function topEigenpairs(matrix: Float32Array, size: number, options: EigenOptions = {}): Eigensystem {
  const request = resolveRequest(matrix, size, options);
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
    invalid('threads', options.threads, 'a positive integer');
  }
  const threads = options.threads ?? Math.min(hardwareThreads(), DEFAULT_THREADS);
  const kernels = denseKernels(matrix, size, options.kernels, threads);
  try {
    return lanczosEigenpairs({ kernels, size, scale: options.scale ?? 1 }, request, options.random ?? seededRandom(0x2545f491));
  } finally {
    kernels.release();
  }
}

function lanczosEigenpairs(op: Operator, request: Request, random: () => number): Eigensystem {
  const size = op.size;

  const main = startRun(op, random, new Float64Array(0), 0);
  const firstCheck = request.count !== undefined ? Math.min(request.count, request.cap) : 10;
  let pairs = runLanczos(main, convergedRequest(request), firstCheck);
  let steps = main.steps;

  // Look for eigenvalues the Krylov space could not see (second copies in particular) in the
  // complement of the pairs found; repeat while that turns something up.
  while (pairs.count > 0 && pairs.count < size && !main.exhausted) {
    const floor = pairs.values[pairs.count - 1] + missedMargin(pairs, request.tolerance);
    const search = startRun(op, random, pairs.vectors, pairs.count);
    const missed = runLanczos(search, missedAbove(floor, request.tolerance), MISSED_SEARCH_STEPS / 3);
    steps += search.steps;
    if (missed.count === 0) break;
    const merged = mergeDescending(pairs, missed, size);
    pairs = truncate(merged, wantedCount(request, merged.values), size);
  }
  return { values: pairs.values, vectors: pairs.vectors, size, count: pairs.count, lanczosSteps: steps };
}

/**
 * Values this close above the floor are not worth a search: the locked vectors are eigenvectors
 * only to the tolerance, which shifts the complement's spectrum by about as much.
 */
function missedMargin(pairs: Pairs, tolerance: number): number {
  const scale = Math.max(Math.abs(pairs.values[0]), Math.abs(pairs.values[pairs.count - 1]));
  return 10 * Math.sqrt(pairs.count) * tolerance * scale;
}

function resolveRequest(matrix: Float32Array, size: number, options: EigenOptions): Request {
  if (!Number.isInteger(size) || size < 1) invalid('size', size, 'a positive integer');
  if (matrix.length !== size * size) {
    throw new RangeError(`topEigenpairs: matrix has ${matrix.length} entries, not ${size}×${size}; pass the full row-major matrix`);
  }
  const bad = firstNonFinite(matrix);
  if (bad >= 0) {
    throw new KmfitError('NON_FINITE', `topEigenpairs: matrix entry (${Math.floor(bad / size)}, ${bad % size}) is ${matrix[bad]}`);
  }
  const { count, above, maxCount, tolerance = 1e-9, scale = 1 } = options;
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) invalid('count', count, 'a positive integer');
  if (maxCount !== undefined && (!Number.isInteger(maxCount) || maxCount < 1)) {
    invalid('maxCount', maxCount, 'a positive integer');
  }
  if (above !== undefined && Number.isNaN(above)) invalid('above', above, 'a number');
  if (!(tolerance > 0 && tolerance < 1)) invalid('tolerance', tolerance, 'a number in (0, 1)');
  if (!(Number.isFinite(scale) && scale !== 0)) invalid('scale', scale, 'a finite non-zero number');
  const defaultCap = count !== undefined ? size : Math.max(1, Math.min(size - 1, 1000));
  const cap = Math.min(size, maxCount ?? defaultCap);
  return { count: count === undefined ? undefined : Math.min(count, size), above, cap, tolerance };
}

function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) {
    // x − x is NaN exactly for NaN and ±Infinity.
    if (values[i] - values[i] !== 0) return i;
  }
  return -1;
}

/** A bad argument is a bug in the caller (kmfit's own solver), not in the user's input: a plain Error. */
function invalid(name: string, value: unknown, expected: string): never {
  throw new RangeError(`topEigenpairs: ${name} must be ${expected}, got ${describeValue(value)}`);
}

/** A small deterministic generator (xorshift32) for the default start vectors. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}
