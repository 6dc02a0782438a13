/**
 * Eigenvectors of a symmetric tridiagonal matrix by inverse iteration, once its eigenvalues are
 * known to working accuracy (from QL, ./eigensystem.ts). Each vector costs O(n): one LU
 * factorization of T − λI with partial pivoting and two or three solves, against O(n²) per vector
 * for accumulating QL's rotations, which took half of a 999-pair eigensystem's time (4.9 of
 * 12 s at s = 2000).
 *
 * Vectors computed independently are orthogonal to about ε‖T‖/gap (Wilkinson), so values closer
 * than CLUSTER_GAP·‖T‖ form a cluster whose vectors are orthogonalized against one another during
 * the iteration. The matrix is first split where QL itself would split it, so that each vector is
 * exactly zero outside its block and copies of a value in different blocks need no
 * orthogonalization. Where this cannot work well — a cluster too large for its O(size²·n) cost, or
 * a solve that does not converge — the caller is told (null) and accumulates rotations instead.
 */

/** Values closer than this, relative to the block's norm, are orthogonalized against each other. */
const CLUSTER_GAP = 1e-6;
/** A cluster larger than this would cost more than rotations: the caller takes over. */
const MAX_CLUSTER = 64;
/** Converged when the residual ‖(T − λI)x‖ ≤ this·‖T‖ (then one more solve, for orthogonality). */
const RESIDUAL_TARGET = 1e-11;
const MAX_SOLVES = 6;

export interface TridiagonalPairs {
  /** All n eigenvalues, descending. */
  readonly values: Float64Array;
  /** Unit eigenvectors of values[0..columns), column-major: vectors[j·n + r]. */
  readonly vectors: Float64Array;
}

interface Block {
  readonly start: number;
  readonly size: number;
  /** max row sum of |T| over the block: ≥ its spectral norm. */
  readonly norm: number;
}

/**
 * The top `columns` eigenpairs of the tridiagonal matrix with diagonal d and off-diagonal e
 * (e[i] couples i and i+1; length ≥ n − 1), or null where rotations should be accumulated
 * instead (see above). `blockValues` returns the eigenvalues of an unreduced block, descending.
 */
export function inverseIterationPairs(
  d: Float64Array,
  e: Float64Array,
  columns: number,
  blockValues: (diag: Float64Array, offDiag: Float64Array) => Float64Array,
): TridiagonalPairs | null {
  const n = d.length;
  const blocks = unreducedBlocks(d, e);
  const perBlock = blocks.map((b) => blockValues(d.slice(b.start, b.start + b.size), e.slice(b.start, b.start + b.size - 1)));
  // Every value with its block, descending; ties keep block order so the result is deterministic.
  const order: { block: number; index: number }[] = [];
  perBlock.forEach((values, block) => values.forEach((_, index) => order.push({ block, index })));
  order.sort((a, b) => perBlock[b.block][b.index] - perBlock[a.block][a.index] || a.block - b.block || a.index - b.index);
  const values = Float64Array.from(order, ({ block, index }) => perBlock[block][index]);

  const vectors = new Float64Array(columns * n);
  // The picked values of each block are its top ones, in the same order as in `order`.
  const columnOf: number[][] = blocks.map(() => []);
  for (let j = 0; j < columns; j++) columnOf[order[j].block].push(j);
  for (let b = 0; b < blocks.length; b++) {
    if (columnOf[b].length === 0) continue;
    const solved = blockVectors(d, e, blocks[b], perBlock[b], columnOf[b].length);
    if (solved === null) return null;
    const { start, size } = blocks[b];
    columnOf[b].forEach((j, k) => vectors.set(solved.subarray(k * size, (k + 1) * size), j * n + start));
  }
  return { values, vectors };
}

/**
 * Whether the coupling e[i] of entries i and i+1 is negligible, |e_i| ≤ ε(|d_i| + |d_{i+1}|): where
 * QL (./eigensystem.ts) and the blocks below split the matrix.
 */
export function negligibleCoupling(d: Float64Array, e: Float64Array, i: number): boolean {
  return Math.abs(e[i]) <= Number.EPSILON * (Math.abs(d[i]) + Math.abs(d[i + 1]));
}

/** The unreduced blocks: split wherever a coupling is negligible. */
function unreducedBlocks(d: Float64Array, e: Float64Array): Block[] {
  const n = d.length;
  const blocks: Block[] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const last = i === n - 1 || negligibleCoupling(d, e, i);
    if (!last) continue;
    let norm = 0;
    for (let r = start; r <= i; r++) {
      const left = r > start ? Math.abs(e[r - 1]) : 0;
      const right = r < i ? Math.abs(e[r]) : 0;
      norm = Math.max(norm, left + Math.abs(d[r]) + right);
    }
    blocks.push({ start, size: i - start + 1, norm });
    start = i + 1;
  }
  return blocks;
}

/** Vectors (each `size` long, one after another) for the top `count` of the block's values. */
function blockVectors(d: Float64Array, e: Float64Array, block: Block, values: Float64Array, count: number): Float64Array | null {
  const { start, size, norm } = block;
  const out = new Float64Array(count * size);
  if (size === 1) {
    out[0] = 1;
    return out;
  }
  const lu = newFactors(size);
  const x = new Float64Array(size);
  let clusterStart = 0;
  for (let j = 0; j < count; j++) {
    if (j > 0 && values[j - 1] - values[j] > CLUSTER_GAP * norm) clusterStart = j;
    if (j - clusterStart >= MAX_CLUSTER) return null;
    const cluster = out.subarray(clusterStart * size, j * size);
    factor(d, e, start, size, values[j], Number.EPSILON * norm, lu);
    startVector(x, start + j);
    let growth = 0;
    for (let solves = 0; growth * norm * RESIDUAL_TARGET < 1; solves++) {
      if (solves === MAX_SOLVES) return null;
      growth = inverseStep(lu, x, cluster);
    }
    // One more solve: it sharpens the vector against the rest of the spectrum.
    if (!(inverseStep(lu, x, cluster) > 0)) return null;
    out.set(x, j * size);
  }
  return out;
}

/**
 * x ← (T − σI)⁻¹·x, made orthogonal to the cluster's vectors found so far and normalized; returns
 * the growth ‖(T − σI)⁻¹·x‖ (0 if it is not finite). For a unit x, 1/growth is the residual
 * ‖(T − σI)·y‖ of the new unit y.
 */
function inverseStep(lu: Factors, x: Float64Array, cluster: Float64Array): number {
  const size = x.length;
  solveInPlace(lu, x);
  // Twice: the solve amplifies the cluster's directions as much as the wanted one, and one pass
  // leaves rounding errors of that size behind.
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < cluster.length; c += size) orthogonalize(x, cluster.subarray(c, c + size));
  }
  let sum = 0;
  for (let i = 0; i < size; i++) sum += x[i] * x[i];
  const length = Math.sqrt(sum);
  if (!(length > 0 && Number.isFinite(length))) return 0;
  for (let i = 0; i < size; i++) x[i] /= length;
  return length;
}

function orthogonalize(x: Float64Array, v: Float64Array): void {
  let dot = 0;
  for (let i = 0; i < x.length; i++) dot += x[i] * v[i];
  for (let i = 0; i < x.length; i++) x[i] -= dot * v[i];
}

/** A fixed pseudo-random start, different for each vector, so that no vector depends on another's. */
function startVector(x: Float64Array, seed: number): void {
  let state = (Math.imul(seed + 1, 0x9e3779b1) >>> 0) || 1;
  for (let i = 0; i < x.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    x[i] = (state >>> 0) / 4294967296 - 0.5;
  }
}

/**
 * LU factors of T − σI with partial pivoting: row i of U is (u0[i], u1[i], u2[i]) on columns
 * i..i+2 (u2 is the fill a row exchange brings), and elimination step i used multiplier mult[i],
 * after exchanging rows i and i+1 where `swapped[i]`.
 */
interface Factors {
  readonly u0: Float64Array;
  readonly u1: Float64Array;
  readonly u2: Float64Array;
  readonly mult: Float64Array;
  readonly swapped: Uint8Array;
}

function newFactors(size: number): Factors {
  return {
    u0: new Float64Array(size),
    u1: new Float64Array(size),
    u2: new Float64Array(size),
    mult: new Float64Array(size),
    swapped: new Uint8Array(size),
  };
}

/** Factors T − σI for the block at `start`; pivots smaller than `tiny` become ±tiny. */
function factor(d: Float64Array, e: Float64Array, start: number, size: number, sigma: number, tiny: number, lu: Factors): void {
  const { u0, u1, u2, mult, swapped } = lu;
  let pivot = d[start] - sigma;
  let right = e[start];
  for (let i = 0; i < size - 1; i++) {
    const below = e[start + i];
    const nextDiag = d[start + i + 1] - sigma;
    const nextRight = i + 2 < size ? e[start + i + 1] : 0;
    if (Math.abs(pivot) >= Math.abs(below)) {
      const m = pivot === 0 ? 0 : below / pivot;
      swapped[i] = 0;
      mult[i] = m;
      u0[i] = pivot;
      u1[i] = right;
      u2[i] = 0;
      pivot = nextDiag - m * right;
      right = nextRight;
    } else {
      const m = pivot / below;
      swapped[i] = 1;
      mult[i] = m;
      u0[i] = below;
      u1[i] = nextDiag;
      u2[i] = nextRight;
      pivot = right - m * nextDiag;
      right = -m * nextRight;
    }
  }
  u0[size - 1] = pivot;
  for (let i = 0; i < size; i++) if (Math.abs(u0[i]) < tiny) u0[i] = u0[i] < 0 ? -tiny : tiny;
}

/** x ← (T − σI)⁻¹·x from the factors. */
function solveInPlace(lu: Factors, x: Float64Array): void {
  const { u0, u1, u2, mult, swapped } = lu;
  const size = x.length;
  for (let i = 0; i < size - 1; i++) {
    if (swapped[i]) {
      const top = x[i];
      x[i] = x[i + 1];
      x[i + 1] = top - mult[i] * x[i];
    } else {
      x[i + 1] -= mult[i] * x[i];
    }
  }
  x[size - 1] /= u0[size - 1];
  x[size - 2] = (x[size - 2] - u1[size - 2] * x[size - 1]) / u0[size - 2];
  for (let i = size - 3; i >= 0; i--) x[i] = (x[i] - u1[i] * x[i + 1] - u2[i] * x[i + 2]) / u0[i];
}
