/**
 * The eigensolver's dense loops in plain JavaScript: the fallback where WebAssembly SIMD (or a
 * shared WebAssembly memory) is unavailable. Register blocking by hand — four rows per pass over a
 * vector — because V8 does not vectorize.
 */
import type { DenseKernels, RotationSweeps, CorrectionKernels } from './kernels.js';

export function jsDenseKernels(matrix: Float32Array, n: number): DenseKernels {
  return {
    engine: 'js',
    multiply: (x, y, scale) => multiply(matrix, n, x, y, scale),
    newBasis: (rows) => new Float64Array(rows * n),
    growBasis: (basis, rows) => {
      if (basis.length >= rows * n) return basis;
      const grown = new Float64Array(rows * n);
      grown.set(basis);
      return grown;
    },
    projectOut: (basis, rows, w, coefficients) => projectOut(basis, rows, n, w, coefficients),
    combineRows: (basis, skip, k, y, count) => combineRows(basis, skip, k, n, y, count),
    rotateRows,
    threads: () => 1,
    ready: Promise.resolve(),
    release: () => undefined,
  };
}

/** The preconditioner's correction with V (s×r, column-major) in JavaScript. */
export function jsCorrectionKernels(vectors: Float64Array, r: number, s: number): CorrectionKernels {
  return {
    engine: 'js',
    correction(t, l, weights, rows) {
      // T's columns, contiguous: the two products below are then dot products and axpys over s.
      const columns = new Float64Array(l * s);
      for (let i = 0; i < s; i++) {
        const row = rows ? rows[i] : i;
        for (let c = 0; c < l; c++) columns[c * s + i] = t[row * l + c];
      }
      const u = projectOntoVectors(vectors, r, s, columns, l); // Vᵀ·T, r×l
      for (let k = 0; k < r; k++) for (let c = 0; c < l; c++) u[k * l + c] *= weights[k];
      const deltaColumns = combineVectors(vectors, r, s, u, l); // V·u, column c at c·s
      const delta = new Float64Array(s * l);
      for (let i = 0; i < s; i++) for (let c = 0; c < l; c++) delta[i * l + c] = deltaColumns[c * s + i];
      return delta;
    },
  };
}

/** The sweeps, last first, each a pass of independent entries per rotation. */
export function rotateRows(z: Float64Array, count: number, sweeps: RotationSweeps): void {
  const { cos, sin } = sweeps;
  for (let t = sweeps.lows.length - 1; t >= 0; t--) {
    const low = sweeps.lows[t];
    const high = sweeps.highs[t];
    let k = sweeps.starts[t] + (high - 1 - low);
    for (let i = low; i < high; i++, k--) {
      const c = cos[k];
      const s = sin[k];
      const upper = i * count;
      const lower = upper + count;
      for (let col = 0; col < count; col++) {
        const a = z[upper + col];
        const b = z[lower + col];
        z[upper + col] = c * a + s * b;
        z[lower + col] = c * b - s * a;
      }
    }
  }
}

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

/** coefficients[i] = <b_i, w> for the first `count` rows, then w -= Σ coefficients[i]·b_i. */
function projectOut(basis: Float64Array, count: number, n: number, w: Float64Array, coefficients: Float64Array): void {
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

/**
 * Four outputs × four basis rows per pass, so that each load of a basis row feeds four outputs.
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

/*
 * The correction's float64 products with V (s×r, column-major), per iteration whatever m is:
 * 2·r·s·l multiply-adds (20 M at s = 2 000, q = 503, l = 10). Four columns of V at a time, over
 * contiguous columns of the other operand, take 20–28 ms there against 44–47 ms for the triple
 * loop with l innermost (Node 20, one core). No array destructuring here: with it, V8
 * threw the optimized code away once an epoch during training (node --trace-deopt: "code
 * dependencies"), and that step's products took 25–38 ms instead of 2–4 ms (s = 500, r = 151).
 */

/** Vᵀ·B for B (s×l) given by its columns (column c at c·s); returns r×l, row-major. */
function projectOntoVectors(V: Float64Array, r: number, s: number, columns: Float64Array, l: number): Float64Array {
  const out = new Float64Array(r * l);
  let k = 0;
  for (; k + 4 <= r; k += 4) {
    const v0 = k * s, v1 = v0 + s, v2 = v1 + s, v3 = v2 + s;
    for (let c = 0; c < l; c++) {
      const b = c * s;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < s; i++) {
        const x = columns[b + i];
        s0 += V[v0 + i] * x;
        s1 += V[v1 + i] * x;
        s2 += V[v2 + i] * x;
        s3 += V[v3 + i] * x;
      }
      out[k * l + c] = s0;
      out[(k + 1) * l + c] = s1;
      out[(k + 2) * l + c] = s2;
      out[(k + 3) * l + c] = s3;
    }
  }
  for (; k < r; k++) {
    for (let c = 0; c < l; c++) {
      let sum = 0;
      for (let i = 0; i < s; i++) sum += V[k * s + i] * columns[c * s + i];
      out[k * l + c] = sum;
    }
  }
  return out;
}

/** V·U for U (r×l, row-major); returns s×l by columns (column c at c·s). */
function combineVectors(V: Float64Array, r: number, s: number, U: Float64Array, l: number): Float64Array {
  const out = new Float64Array(l * s);
  let k = 0;
  for (; k + 4 <= r; k += 4) {
    const v0 = k * s, v1 = v0 + s, v2 = v1 + s, v3 = v2 + s;
    for (let c = 0; c < l; c++) {
      const b = c * s;
      const a0 = U[k * l + c], a1 = U[(k + 1) * l + c], a2 = U[(k + 2) * l + c], a3 = U[(k + 3) * l + c];
      for (let i = 0; i < s; i++) out[b + i] += V[v0 + i] * a0 + V[v1 + i] * a1 + V[v2 + i] * a2 + V[v3 + i] * a3;
    }
  }
  for (; k < r; k++) {
    for (let c = 0; c < l; c++) {
      const a = U[k * l + c];
      for (let i = 0; i < s; i++) out[c * s + i] += V[k * s + i] * a;
    }
  }
  return out;
}
