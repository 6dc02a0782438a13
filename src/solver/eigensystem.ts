/**
 * The float64 eigensystem behind EigenPro's setup: the top eigenpairs of the (scaled) Nyström
 * kernel matrix K_SS/s. A dense O(s³) decomposition is too slow in JavaScript, so only the pairs
 * needed are computed: Lanczos with full reorthogonalization (the matrix stays float32, everything
 * else is float64), a symmetric tridiagonal QL solver for the projected matrix, and Ritz vectors
 * formed in float64.
 *
 * Single-vector Lanczos cannot see a second copy of an eigenvalue (its Krylov space holds one
 * direction per eigenspace), so after convergence a short Lanczos run on the complement of the
 * pairs found looks for any eigenvalue that was missed, and adds it if there is one.
 */
import { KmfitError, describeValue } from '../errors.js';

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
}

/** Which rows of the eigenvector matrix `tridiagonalEigen` accumulates. */
export type EigenvectorRows = 'all' | 'last' | 'none';

export interface TridiagonalEigensystem {
  /** Eigenvalues in descending order. */
  readonly values: Float64Array;
  /**
   * The requested rows of the eigenvector matrix Z, column-major with `rowCount` entries per
   * column: vectors[j * rowCount + r] is row r of the eigenvector for values[j] ('all': row r;
   * 'last': rowCount is 1 and the entry is Z[n-1][j]; 'none': empty).
   */
  readonly vectors: Float64Array;
  readonly rowCount: number;
}

const EPSILON = Number.EPSILON;
/** A residual below this fraction of ‖A‖ means the Krylov space is invariant: restart. */
const BREAKDOWN = 1e-12;
/** Steps the search for missed eigenvalues takes when it finds nothing above the floor. */
const MISSED_SEARCH_STEPS = 30;
/** QL sweeps allowed per eigenvalue before giving up (convergence is cubic; 2–3 is typical). */
const MAX_QL_SWEEPS = 60;

// ---------------------------------------------------------------------------------------------
// Symmetric tridiagonal eigensolver: implicit QL with Wilkinson shifts.

/**
 * Eigen-decomposition of the symmetric tridiagonal matrix with diagonal `diag` (length n) and
 * off-diagonal `offDiag` (length n-1). Values come back in DESCENDING order. The same QL sweeps
 * update either every row of the eigenvector matrix (O(n³)) or only its last row (O(n²)), which
 * is all that Lanczos residual bounds |β_k·z_{k,j}| need.
 */
export function tridiagonalEigen(
  diag: ArrayLike<number>,
  offDiag: ArrayLike<number>,
  rows: EigenvectorRows = 'all',
): TridiagonalEigensystem {
  const n = diag.length;
  if (n > 0 && offDiag.length < n - 1) {
    throw new RangeError(`tridiagonalEigen: ${n} diagonal entries need ${n - 1} off-diagonal ones, got ${offDiag.length}`);
  }
  const d = Float64Array.from(diag);
  // e[i] couples i and i+1; e[n-1] is a zero sentinel.
  const e = new Float64Array(n);
  for (let i = 0; i + 1 < n; i++) e[i] = offDiag[i];
  const rowCount = rows === 'all' ? n : rows === 'last' && n > 0 ? 1 : 0;
  const log = createRotationLog(n, rowCount);
  for (let l = 0; l < n; l++) {
    let sweeps = 0;
    for (let m = splitPoint(d, e, l); m !== l; m = splitPoint(d, e, l)) {
      if (++sweeps > MAX_QL_SWEEPS) throw new Error('tridiagonalEigen: QL iteration did not converge');
      qlSweep(d, e, l, m, log);
    }
  }
  applyRotations(log);
  return sortDescending(d, log.z, rowCount);
}

/**
 * The tracked rows of Z (row-major: row r is z[r·n .. r·n+n)) and the Givens rotations of recent
 * sweeps not yet applied to them. Rotations are applied in batches, a few rows at a time through
 * all the batch's sweeps, so that those rows stay in cache.
 */
interface RotationLog {
  readonly z: Float64Array;
  readonly n: number;
  readonly rowCount: number;
  /** Sweep t has rotations i = highs[t]-1 down to lows[t], stored from starts[t] on. */
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  readonly lows: number[];
  readonly highs: number[];
  readonly starts: number[];
  used: number;
}

function createRotationLog(n: number, rowCount: number): RotationLog {
  const capacity = rowCount > 0 ? Math.max(n, 4096) : 0;
  return {
    z: initialRows(n, rowCount),
    n,
    rowCount,
    cos: new Float64Array(capacity),
    sin: new Float64Array(capacity),
    lows: [],
    highs: [],
    starts: [],
    used: 0,
  };
}

/** Z = I restricted to the tracked rows (all of them, or the last). */
function initialRows(n: number, rowCount: number): Float64Array {
  const z = new Float64Array(n * rowCount);
  if (rowCount === n) for (let j = 0; j < n; j++) z[j * n + j] = 1;
  else if (rowCount === 1) z[n - 1] = 1;
  return z;
}

/** The first m ≥ l whose coupling e[m] to the next entry is negligible (n-1 if none). */
function splitPoint(d: Float64Array, e: Float64Array, l: number): number {
  const last = d.length - 1;
  for (let m = l; m < last; m++) {
    if (Math.abs(e[m]) <= EPSILON * (Math.abs(d[m]) + Math.abs(d[m + 1]))) return m;
  }
  return last;
}

/**
 * One implicit QL sweep on the unreduced block l..m, shifted by the eigenvalue of the leading 2×2
 * block nearer d[l]. Its Givens rotations go to the log.
 */
function qlSweep(d: Float64Array, e: Float64Array, l: number, m: number, log: RotationLog): void {
  const tracking = log.rowCount > 0;
  if (tracking && log.used + (m - l) > log.cos.length) applyRotations(log);
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
    r = Math.hypot(f, g);
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
  const low = i + 1;
  if (i < l) {
    d[l] -= p;
    e[l] = g;
    e[m] = 0;
  }
  if (tracking && low < m) {
    log.lows.push(low);
    log.highs.push(m);
    log.starts.push(start);
    log.used = start + (m - low);
  }
}

function applyRotations(log: RotationLog): void {
  let row = 0;
  for (; row + 3 < log.rowCount; row += 4) {
    for (let t = 0; t < log.lows.length; t++) rotateFourRows(log, row, t);
  }
  for (; row < log.rowCount; row++) {
    for (let t = 0; t < log.lows.length; t++) rotateRow(log, row, t);
  }
  log.lows.length = 0;
  log.highs.length = 0;
  log.starts.length = 0;
  log.used = 0;
}

/**
 * Applies sweep t to one row: rotation i turns (z_i, z_{i+1}) into (c·z_i − s·z_{i+1},
 * s·z_i + c·z_{i+1}); walking down the row keeps the freshly rotated entry in a register.
 */
function rotateRow(log: RotationLog, row: number, t: number): void {
  const { z, cos, sin } = log;
  const base = row * log.n;
  const low = log.lows[t];
  const high = log.highs[t];
  let k = log.starts[t];
  let carry = z[base + high];
  for (let i = high - 1; i >= low; i--, k++) {
    const zi = z[base + i];
    z[base + i + 1] = sin[k] * zi + cos[k] * carry;
    carry = cos[k] * zi - sin[k] * carry;
  }
  z[base + low] = carry;
}

/** rotateRow on four rows at once, to hide the latency of the carried dependency. */
function rotateFourRows(log: RotationLog, row: number, t: number): void {
  const { z, cos, sin } = log;
  const b0 = row * log.n;
  const b1 = b0 + log.n;
  const b2 = b1 + log.n;
  const b3 = b2 + log.n;
  const low = log.lows[t];
  const high = log.highs[t];
  let k = log.starts[t];
  let c0 = z[b0 + high];
  let c1 = z[b1 + high];
  let c2 = z[b2 + high];
  let c3 = z[b3 + high];
  for (let i = high - 1; i >= low; i--, k++) {
    const c = cos[k];
    const s = sin[k];
    const z0 = z[b0 + i];
    const z1 = z[b1 + i];
    const z2 = z[b2 + i];
    const z3 = z[b3 + i];
    z[b0 + i + 1] = s * z0 + c * c0;
    z[b1 + i + 1] = s * z1 + c * c1;
    z[b2 + i + 1] = s * z2 + c * c2;
    z[b3 + i + 1] = s * z3 + c * c3;
    c0 = c * z0 - s * c0;
    c1 = c * z1 - s * c1;
    c2 = c * z2 - s * c2;
    c3 = c * z3 - s * c3;
  }
  z[b0 + low] = c0;
  z[b1 + low] = c1;
  z[b2 + low] = c2;
  z[b3 + low] = c3;
}

/** Values descending; the eigenvector entries transposed to column-major in the same order. */
function sortDescending(d: Float64Array, z: Float64Array, rowCount: number): TridiagonalEigensystem {
  const n = d.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[b] - d[a]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * rowCount);
  order.forEach((from, to) => {
    values[to] = d[from];
    for (let row = 0; row < rowCount; row++) vectors[to * rowCount + row] = z[row * n + from];
  });
  return { values, vectors, rowCount };
}

// ---------------------------------------------------------------------------------------------
// Dense kernels. The matrix-vector product dominates the cost: four rows per pass share each
// load of x, and two columns per iteration halve the loop overhead.

/** y = scale · A x for the row-major n×n float32 matrix A, accumulated in float64. */
function multiply(a: Float32Array, n: number, x: Float64Array, y: Float64Array, scale: number): void {
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const r0 = i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = 0;
    for (; j + 1 < n; j += 2) {
      const x0 = x[j];
      const x1 = x[j + 1];
      s0 += a[r0 + j] * x0 + a[r0 + j + 1] * x1;
      s1 += a[r1 + j] * x0 + a[r1 + j + 1] * x1;
      s2 += a[r2 + j] * x0 + a[r2 + j + 1] * x1;
      s3 += a[r3 + j] * x0 + a[r3 + j + 1] * x1;
    }
    if (j < n) {
      const xj = x[j];
      s0 += a[r0 + j] * xj;
      s1 += a[r1 + j] * xj;
      s2 += a[r2 + j] * xj;
      s3 += a[r3 + j] * xj;
    }
    y[i] = s0 * scale;
    y[i + 1] = s1 * scale;
    y[i + 2] = s2 * scale;
    y[i + 3] = s3 * scale;
  }
  for (; i < n; i++) {
    const r = i * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += a[r + j] * x[j];
    y[i] = s * scale;
  }
}

function norm(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

function scaleInPlace(x: Float64Array, factor: number): void {
  for (let i = 0; i < x.length; i++) x[i] *= factor;
}

/**
 * One classical Gram–Schmidt pass: coefficients[i] = <b_i, w> for the first `count` rows of the
 * row-major basis, then w -= Σ coefficients[i]·b_i. Four basis rows per pass over w.
 */
function projectOut(basis: Float64Array, count: number, w: Float64Array, coefficients: Float64Array): void {
  const n = w.length;
  let i = 0;
  for (; i + 3 < count; i += 4) {
    const b0 = i * n;
    const b1 = b0 + n;
    const b2 = b1 + n;
    const b3 = b2 + n;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < n; j++) {
      const wj = w[j];
      s0 += basis[b0 + j] * wj;
      s1 += basis[b1 + j] * wj;
      s2 += basis[b2 + j] * wj;
      s3 += basis[b3 + j] * wj;
    }
    coefficients[i] = s0;
    coefficients[i + 1] = s1;
    coefficients[i + 2] = s2;
    coefficients[i + 3] = s3;
  }
  for (; i < count; i++) {
    const b = i * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += basis[b + j] * w[j];
    coefficients[i] = s;
  }
  i = 0;
  for (; i + 3 < count; i += 4) {
    const b0 = i * n;
    const b1 = b0 + n;
    const b2 = b1 + n;
    const b3 = b2 + n;
    const c0 = coefficients[i];
    const c1 = coefficients[i + 1];
    const c2 = coefficients[i + 2];
    const c3 = coefficients[i + 3];
    for (let j = 0; j < n; j++) {
      w[j] -= c0 * basis[b0 + j] + c1 * basis[b1 + j] + c2 * basis[b2 + j] + c3 * basis[b3 + j];
    }
  }
  for (; i < count; i++) {
    const b = i * n;
    const c = coefficients[i];
    for (let j = 0; j < n; j++) w[j] -= c * basis[b + j];
  }
}

// ---------------------------------------------------------------------------------------------
// Lanczos with full reorthogonalization.

interface Operator {
  readonly matrix: Float32Array;
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
  const basis = new Float64Array((locked + capacity) * n);
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
  const basis = new Float64Array((run.locked + capacity) * n);
  basis.set(run.basis.subarray(0, rowsInUse(run) * n));
  run.basis = basis;
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
 * basis spans the space to working precision).
 */
function randomOrthogonalVector(run: LanczosRun): Float64Array | null {
  const v = new Float64Array(run.op.size);
  for (let attempt = 0; attempt < 5; attempt++) {
    for (let i = 0; i < v.length; i++) v[i] = run.random() - 0.5;
    const before = norm(v);
    projectOut(run.basis, rowsInUse(run), v, run.coefficients);
    projectOut(run.basis, rowsInUse(run), v, run.coefficients);
    const after = norm(v);
    if (after > 1e-4 * before) {
      scaleInPlace(v, 1 / after);
      return v;
    }
  }
  return null;
}

/**
 * One Lanczos step: appends the next vector v_j, then w = A v_j orthogonalized twice against the
 * whole basis (classical Gram–Schmidt, "twice is enough"). α_j is the v_j coefficient; β_j = ‖w‖,
 * set to 0 when w is negligible (invariant subspace) so that T stays exactly block diagonal.
 * Returns false when no vector can be appended because the space is exhausted.
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
  multiply(run.op.matrix, n, v, w, run.op.scale);
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
    run.next = Float64Array.from(w, (x) => x / beta);
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
  projectOut(run.basis, rows, w, run.coefficients);
  let correction = run.coefficients[own];
  const once = norm(w);
  if (once >= Math.SQRT1_2 * before) return correction;
  projectOut(run.basis, rows, w, run.coefficients);
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
    nextCheck = run.steps + Math.max(5, Math.ceil(run.steps / 20));
  }
}

/** The top `count` Ritz pairs: θ_j and x_j = V z_j from the full eigenvectors of T. */
function ritzPairs(run: LanczosRun, count: number): Pairs {
  const n = run.op.size;
  const k = run.steps;
  const t = tridiagonalEigen(run.alpha.subarray(0, k), run.beta.subarray(0, k - 1), 'all');
  const vectors = combineRows(run.basis, run.locked, k, n, t.vectors, count);
  for (let j = 0; j < count; j++) normalizeSign(vectors.subarray(j * n, (j + 1) * n));
  return { values: t.values.slice(0, count), vectors, count };
}

/**
 * X = Yᵀ V for the k basis rows after the first `skip`: x_j = Σ_i y_{i,j} v_i, with y column-major
 * (k entries per column). Four outputs × four basis rows per pass, so that each load of a basis
 * row feeds four outputs.
 */
function combineRows(basis: Float64Array, skip: number, k: number, n: number, y: Float64Array, count: number): Float64Array {
  const out = new Float64Array(count * n);
  let j = 0;
  for (; j + 3 < count; j += 4) {
    for (let i = 0; i < k; i += 4) {
      const rows = Math.min(4, k - i);
      for (let q = 0; q < 4; q++) {
        combineInto(out, (j + q) * n, basis, (skip + i) * n, rows, n, y, (j + q) * k + i);
      }
    }
  }
  for (; j < count; j++) {
    for (let i = 0; i < k; i += 4) combineInto(out, j * n, basis, (skip + i) * n, Math.min(4, k - i), n, y, j * k + i);
  }
  return out;
}

/** out[o..o+n) += Σ_{t<rows} y[c+t] · basis[b + t·n ..) for up to four consecutive basis rows. */
function combineInto(
  out: Float64Array,
  o: number,
  basis: Float64Array,
  b: number,
  rows: number,
  n: number,
  y: Float64Array,
  c: number,
): void {
  const c0 = y[c];
  const c1 = rows > 1 ? y[c + 1] : 0;
  const c2 = rows > 2 ? y[c + 2] : 0;
  const c3 = rows > 3 ? y[c + 3] : 0;
  if (rows === 4) {
    const b1 = b + n;
    const b2 = b1 + n;
    const b3 = b2 + n;
    for (let r = 0; r < n; r++) {
      out[o + r] += c0 * basis[b + r] + c1 * basis[b1 + r] + c2 * basis[b2 + r] + c3 * basis[b3 + r];
    }
    return;
  }
  const cs = [c0, c1, c2];
  for (let t = 0; t < rows; t++) {
    const bt = b + t * n;
    for (let r = 0; r < n; r++) out[o + r] += cs[t] * basis[bt + r];
  }
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
  const op: Operator = { matrix, size, scale: options.scale ?? 1 };
  const random = options.random ?? seededRandom(0x2545f491);

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
    steps += search.steps; if (process.env.EIGDEBUG) console.log("main", main.steps, "search", search.steps, "missed", missed.count, Array.from(missed.values));
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
    throw new KmfitError(
      'INVALID_SHAPE',
      `topEigenpairs: matrix has ${matrix.length} entries, not ${size}×${size}; pass the full row-major matrix`,
    );
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

function invalid(name: string, value: unknown, expected: string): never {
  throw new KmfitError('INVALID_OPTION', `topEigenpairs: ${name} must be ${expected}, got ${describeValue(value)}`);
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
