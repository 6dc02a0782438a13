// @ts-nocheck — AssemblyScript, compiled by kernels/wasm/build.mjs (asc), not by tsc.
/**
 * Float64 kernels for the eigensolver (src/solver/eigensystem.ts through src/solver/dense/): the
 * Lanczos matrix-vector product, the Gram–Schmidt pass of full reorthogonalization, the
 * eigenvectors of the projected tridiagonal matrix (its QL rotations) and the Ritz vectors. They
 * are the loops that take nearly all of its time; in f64x2 SIMD they run 3–5×
 * faster than the same loops in JavaScript. Pointers are byte offsets into the memory the host
 * lays out (src/solver/dense/wasm.ts); nothing here allocates.
 *
 * Every sum runs in float64. The matrix is float32 (the kernel block as the backends compute it)
 * and is widened lane by lane as it is read.
 */

/** a·b + c, lane-wise (an FMA in the relaxed build). */
// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f64x2.relaxed_madd(a, b, c);
  } else {
    return f64x2.add(f64x2.mul(a, b), c);
  }
}

// @ts-ignore: decorator
@inline
function sum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** The upper two float32 lanes of v, moved down so that promote_low widens them. */
// @ts-ignore: decorator
@inline
function high(v: v128): v128 {
  return v128.shuffle<f32>(v, v, 2, 3, 0, 1);
}

/**
 * y = scale · A·x for rows [first, last) of the row-major n×n float32 matrix A: four rows per
 * pass share each load of x; two accumulators per row cover the low and high halves of four
 * floats. A row's sum does not depend on the range it is computed in when `first` is a multiple
 * of 4 (threads split the rows there: src/solver/dense/wasm.ts).
 */
export function multiply(a: usize, n: i32, x: usize, y: usize, scale: f64, first: i32, last: i32): void {
  const rowBytes = <usize>n << 2;
  let i = first;
  for (; i + 3 < last; i += 4) {
    let r0 = a + <usize>i * rowBytes;
    let r1 = r0 + rowBytes;
    let r2 = r1 + rowBytes;
    let r3 = r2 + rowBytes;
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    let s2 = f64x2.splat(0);
    let s3 = f64x2.splat(0);
    let t0 = f64x2.splat(0);
    let t1 = f64x2.splat(0);
    let t2 = f64x2.splat(0);
    let t3 = f64x2.splat(0);
    let xp = x;
    let j = 0;
    for (; j + 3 < n; j += 4) {
      const xa = v128.load(xp);
      const xb = v128.load(xp, 16);
      const a0 = v128.load(r0);
      const a1 = v128.load(r1);
      const a2 = v128.load(r2);
      const a3 = v128.load(r3);
      s0 = madd(f64x2.promote_low_f32x4(a0), xa, s0);
      t0 = madd(f64x2.promote_low_f32x4(high(a0)), xb, t0);
      s1 = madd(f64x2.promote_low_f32x4(a1), xa, s1);
      t1 = madd(f64x2.promote_low_f32x4(high(a1)), xb, t1);
      s2 = madd(f64x2.promote_low_f32x4(a2), xa, s2);
      t2 = madd(f64x2.promote_low_f32x4(high(a2)), xb, t2);
      s3 = madd(f64x2.promote_low_f32x4(a3), xa, s3);
      t3 = madd(f64x2.promote_low_f32x4(high(a3)), xb, t3);
      xp += 32;
      r0 += 16;
      r1 += 16;
      r2 += 16;
      r3 += 16;
    }
    let y0 = sum(f64x2.add(s0, t0));
    let y1 = sum(f64x2.add(s1, t1));
    let y2 = sum(f64x2.add(s2, t2));
    let y3 = sum(f64x2.add(s3, t3));
    for (; j < n; j++) {
      const xj = load<f64>(xp);
      y0 += <f64>load<f32>(r0) * xj;
      y1 += <f64>load<f32>(r1) * xj;
      y2 += <f64>load<f32>(r2) * xj;
      y3 += <f64>load<f32>(r3) * xj;
      xp += 8;
      r0 += 4;
      r1 += 4;
      r2 += 4;
      r3 += 4;
    }
    const out = y + (<usize>i << 3);
    store<f64>(out, y0 * scale);
    store<f64>(out, y1 * scale, 8);
    store<f64>(out, y2 * scale, 16);
    store<f64>(out, y3 * scale, 24);
  }
  for (; i < last; i++) {
    let r = a + <usize>i * rowBytes;
    let s: f64 = 0;
    for (let j = 0; j < n; j++) {
      s += <f64>load<f32>(r) * load<f64>(x + (<usize>j << 3));
      r += 4;
    }
    store<f64>(y + (<usize>i << 3), s * scale);
  }
}

/** Σ_r b[r]·w[r] over n entries. */
// @ts-ignore: decorator
@inline
function dot(b: usize, w: usize, n: i32): f64 {
  let s = f64x2.splat(0);
  let j = 0;
  for (; j + 1 < n; j += 2) {
    s = madd(v128.load(b), v128.load(w), s);
    b += 16;
    w += 16;
  }
  let total = sum(s);
  if (j < n) total += load<f64>(b) * load<f64>(w);
  return total;
}

/**
 * <b_k, w> for the four rows b_0 … b_3 at `rows`, `rowBytes` apart (n entries each), stored at
 * out, out + stride, out + 2·stride, out + 3·stride: one pass over w for the four sums, two lanes each.
 */
// @ts-ignore: decorator
@inline
function dotsOfFour(rows: usize, rowBytes: usize, w: usize, n: i32, out: usize, stride: usize): void {
  let b0 = rows;
  let b1 = b0 + rowBytes;
  let b2 = b1 + rowBytes;
  let b3 = b2 + rowBytes;
  let s0 = f64x2.splat(0);
  let s1 = f64x2.splat(0);
  let s2 = f64x2.splat(0);
  let s3 = f64x2.splat(0);
  let wp = w;
  let j = 0;
  for (; j + 1 < n; j += 2) {
    const wv = v128.load(wp);
    s0 = madd(v128.load(b0), wv, s0);
    s1 = madd(v128.load(b1), wv, s1);
    s2 = madd(v128.load(b2), wv, s2);
    s3 = madd(v128.load(b3), wv, s3);
    wp += 16;
    b0 += 16;
    b1 += 16;
    b2 += 16;
    b3 += 16;
  }
  let c0 = sum(s0);
  let c1 = sum(s1);
  let c2 = sum(s2);
  let c3 = sum(s3);
  if (j < n) {
    const wj = load<f64>(wp);
    c0 += load<f64>(b0) * wj;
    c1 += load<f64>(b1) * wj;
    c2 += load<f64>(b2) * wj;
    c3 += load<f64>(b3) * wj;
  }
  store<f64>(out, c0);
  store<f64>(out + stride, c1);
  store<f64>(out + 2 * stride, c2);
  store<f64>(out + 3 * stride, c3);
}

/**
 * The first half of a classical Gram–Schmidt pass against the row-major basis (n entries a row):
 * coefficients[i] = <b_i, w> for the rows i in [first, last). Four basis rows per pass over w.
 * Each coefficient is the same whatever range it is computed in.
 */
export function coefficientsOf(basis: usize, first: i32, last: i32, n: i32, w: usize, coefficients: usize): void {
  const rowBytes = <usize>n << 3;
  let i = first;
  for (; i + 3 < last; i += 4) dotsOfFour(basis + <usize>i * rowBytes, rowBytes, w, n, coefficients + (<usize>i << 3), 8);
  for (; i < last; i++) {
    store<f64>(coefficients + (<usize>i << 3), dot(basis + <usize>i * rowBytes, w, n));
  }
}

/**
 * The second half: w -= Σ_i coefficients[i]·b_i over the first `rows` basis rows, for the entries
 * [first, last) of w. Four basis rows per pass; an entry's result is the same whatever range it is
 * computed in when `first` is even (the SIMD lanes pair entries from 0).
 */
export function subtractCombination(basis: usize, rows: i32, n: i32, first: i32, last: i32, w: usize, coefficients: usize): void {
  const rowBytes = <usize>n << 3;
  const offset = <usize>first << 3;
  let i = 0;
  for (; i + 3 < rows; i += 4) {
    let b0 = basis + <usize>i * rowBytes + offset;
    let b1 = b0 + rowBytes;
    let b2 = b1 + rowBytes;
    let b3 = b2 + rowBytes;
    const at = coefficients + (<usize>i << 3);
    const c0 = load<f64>(at);
    const c1 = load<f64>(at, 8);
    const c2 = load<f64>(at, 16);
    const c3 = load<f64>(at, 24);
    const v0 = f64x2.splat(c0);
    const v1 = f64x2.splat(c1);
    const v2 = f64x2.splat(c2);
    const v3 = f64x2.splat(c3);
    let wp = w + offset;
    let j = first;
    for (; j + 1 < last; j += 2) {
      let change = f64x2.mul(v0, v128.load(b0));
      change = madd(v1, v128.load(b1), change);
      change = madd(v2, v128.load(b2), change);
      change = madd(v3, v128.load(b3), change);
      v128.store(wp, f64x2.sub(v128.load(wp), change));
      wp += 16;
      b0 += 16;
      b1 += 16;
      b2 += 16;
      b3 += 16;
    }
    if (j < last) {
      const change = c0 * load<f64>(b0) + c1 * load<f64>(b1) + c2 * load<f64>(b2) + c3 * load<f64>(b3);
      store<f64>(wp, load<f64>(wp) - change);
    }
  }
  for (; i < rows; i++) {
    let b = basis + <usize>i * rowBytes + offset;
    const c = load<f64>(coefficients + (<usize>i << 3));
    let wp = w + offset;
    for (let j = first; j < last; j++) {
      store<f64>(wp, load<f64>(wp) - c * load<f64>(b));
      wp += 8;
      b += 8;
    }
  }
}

/**
 * out (count × n, row-major) = Yᵀ·B: output row j is Σ_i y[j·k + i]·b_i over the k basis rows,
 * with y column-major (k coefficients per output). Four outputs × four basis rows per pass, so
 * that each load of a basis row feeds four outputs. `out` is overwritten.
 */
export function combineRows(basis: usize, k: i32, n: i32, y: usize, count: i32, out: usize): void {
  const rowBytes = <usize>n << 3;
  memory.fill(out, 0, <usize>count * rowBytes);
  let j = 0;
  for (; j + 3 < count; j += 4) {
    const o0 = out + <usize>j * rowBytes;
    const o1 = o0 + rowBytes;
    const o2 = o1 + rowBytes;
    const o3 = o2 + rowBytes;
    for (let i = 0; i < k; i += 4) {
      const rows = min(4, k - i);
      // Coefficients of the (up to) four basis rows for each of the four outputs; absent rows 0
      // (their pointers repeat row i, multiplied by 0).
      let b0 = basis + <usize>i * rowBytes;
      let b1 = rows > 1 ? b0 + rowBytes : b0;
      let b2 = rows > 2 ? b1 + rowBytes : b0;
      let b3 = rows > 3 ? b2 + rowBytes : b0;
      const c00 = coefficient(y, k, j, i, 0, rows);
      const c01 = coefficient(y, k, j, i, 1, rows);
      const c02 = coefficient(y, k, j, i, 2, rows);
      const c03 = coefficient(y, k, j, i, 3, rows);
      const c10 = coefficient(y, k, j + 1, i, 0, rows);
      const c11 = coefficient(y, k, j + 1, i, 1, rows);
      const c12 = coefficient(y, k, j + 1, i, 2, rows);
      const c13 = coefficient(y, k, j + 1, i, 3, rows);
      const c20 = coefficient(y, k, j + 2, i, 0, rows);
      const c21 = coefficient(y, k, j + 2, i, 1, rows);
      const c22 = coefficient(y, k, j + 2, i, 2, rows);
      const c23 = coefficient(y, k, j + 2, i, 3, rows);
      const c30 = coefficient(y, k, j + 3, i, 0, rows);
      const c31 = coefficient(y, k, j + 3, i, 1, rows);
      const c32 = coefficient(y, k, j + 3, i, 2, rows);
      const c33 = coefficient(y, k, j + 3, i, 3, rows);
      let p0 = o0;
      let p1 = o1;
      let p2 = o2;
      let p3 = o3;
      let r = 0;
      for (; r + 1 < n; r += 2) {
        const x0 = v128.load(b0);
        const x1 = v128.load(b1);
        const x2 = v128.load(b2);
        const x3 = v128.load(b3);
        let q0 = madd(f64x2.splat(c00), x0, v128.load(p0));
        q0 = madd(f64x2.splat(c01), x1, q0);
        q0 = madd(f64x2.splat(c02), x2, q0);
        v128.store(p0, madd(f64x2.splat(c03), x3, q0));
        let q1 = madd(f64x2.splat(c10), x0, v128.load(p1));
        q1 = madd(f64x2.splat(c11), x1, q1);
        q1 = madd(f64x2.splat(c12), x2, q1);
        v128.store(p1, madd(f64x2.splat(c13), x3, q1));
        let q2 = madd(f64x2.splat(c20), x0, v128.load(p2));
        q2 = madd(f64x2.splat(c21), x1, q2);
        q2 = madd(f64x2.splat(c22), x2, q2);
        v128.store(p2, madd(f64x2.splat(c23), x3, q2));
        let q3 = madd(f64x2.splat(c30), x0, v128.load(p3));
        q3 = madd(f64x2.splat(c31), x1, q3);
        q3 = madd(f64x2.splat(c32), x2, q3);
        v128.store(p3, madd(f64x2.splat(c33), x3, q3));
        b0 += 16;
        b1 += 16;
        b2 += 16;
        b3 += 16;
        p0 += 16;
        p1 += 16;
        p2 += 16;
        p3 += 16;
      }
      if (r < n) {
        const x0 = load<f64>(b0);
        const x1 = load<f64>(b1);
        const x2 = load<f64>(b2);
        const x3 = load<f64>(b3);
        store<f64>(p0, load<f64>(p0) + c00 * x0 + c01 * x1 + c02 * x2 + c03 * x3);
        store<f64>(p1, load<f64>(p1) + c10 * x0 + c11 * x1 + c12 * x2 + c13 * x3);
        store<f64>(p2, load<f64>(p2) + c20 * x0 + c21 * x1 + c22 * x2 + c23 * x3);
        store<f64>(p3, load<f64>(p3) + c30 * x0 + c31 * x1 + c32 * x2 + c33 * x3);
      }
    }
  }
  for (; j < count; j++) {
    const o = out + <usize>j * rowBytes;
    for (let i = 0; i < k; i++) {
      const c = f64x2.splat(load<f64>(y + ((<usize>j * <usize>k + <usize>i) << 3)));
      let b = basis + <usize>i * rowBytes;
      let p = o;
      let r = 0;
      for (; r + 1 < n; r += 2) {
        v128.store(p, madd(c, v128.load(b), v128.load(p)));
        b += 16;
        p += 16;
      }
      if (r < n) store<f64>(p, load<f64>(p) + f64x2.extract_lane(c, 0) * load<f64>(b));
    }
  }
}

/** y[(j)·k + i + t] when basis row i + t exists, else 0. */
// @ts-ignore: decorator
@inline
function coefficient(y: usize, k: i32, j: i32, i: i32, t: i32, rows: i32): f64 {
  return t < rows ? load<f64>(y + ((<usize>j * <usize>k + <usize>(i + t)) << 3)) : 0;
}

/**
 * Applies recorded QL sweeps, the last first, to the columns [first, last) of the row-major
 * matrix z (rows of `count` entries). Sweep t is the triple (start, low, high) at sweeps[3t…]
 * (int32): for i = low … high−1, rotation i — stored at cos/sin[start + high − 1 − i] — turns
 * rows (z_i, z_{i+1}) into (c·z_i + s·z_{i+1}, c·z_{i+1} − s·z_i). Columns are independent, so
 * threads split them (at even columns, where the SIMD lanes pair them as in one range).
 */
export function rotateSweeps(z: usize, count: i32, first: i32, last: i32, cos: usize, sin: usize, sweeps: usize, sweepCount: i32): void {
  for (let t = sweepCount - 1; t >= 0; t--) {
    const at = sweeps + ((<usize>t * 3) << 2);
    rotateRows(z, count, first, last, cos, sin, load<i32>(at), load<i32>(at, 4), load<i32>(at, 8));
  }
}

/** One sweep of rotateSweeps. */
// @ts-ignore: decorator
@inline
function rotateRows(z: usize, count: i32, first: i32, last: i32, cos: usize, sin: usize, start: i32, low: i32, high: i32): void {
  const rowBytes = <usize>count << 3;
  const offset = <usize>first << 3;
  let k = start + (high - 1 - low);
  for (let i = low; i < high; i++, k--) {
    const c = load<f64>(cos + (<usize>k << 3));
    const s = load<f64>(sin + (<usize>k << 3));
    const cv = f64x2.splat(c);
    const sv = f64x2.splat(s);
    let upper = z + <usize>i * rowBytes + offset;
    let lower = upper + rowBytes;
    let col = first;
    for (; col + 1 < last; col += 2) {
      const a = v128.load(upper);
      const b = v128.load(lower);
      v128.store(upper, madd(cv, a, f64x2.mul(sv, b)));
      v128.store(lower, f64x2.sub(f64x2.mul(cv, b), f64x2.mul(sv, a)));
      upper += 16;
      lower += 16;
    }
    if (col < last) {
      const a = load<f64>(upper);
      const b = load<f64>(lower);
      store<f64>(upper, c * a + s * b);
      store<f64>(lower, c * b - s * a);
    }
  }
}

/*
 * The EigenPro preconditioner's products with its eigenvectors (src/solver/dense/wasm.ts,
 * vectorProducts): V is r vectors of n entries each (the basis layout above), fixed for the whole
 * training; the other operand has `count` columns of n entries (column c at c·n). Both loops read
 * each group of four vectors once per call and use it for every column, where coefficientsOf and
 * combineRows (one w, or four outputs, per pass over the basis) would read all of V once per column
 * or per four outputs.
 */

/**
 * out (rows × count, row-major) = Vᵀ·B for the vectors [first, last): out[k·count + c] =
 * <v_k, b_c>. Four vectors × two columns per pass over the entries (eight accumulators). An
 * entry's sum does not depend on the range it is computed in when `first` is a multiple of 4.
 */
export function projectColumns(vectors: usize, first: i32, last: i32, n: i32, columns: usize, count: i32, out: usize): void {
  const rowBytes = <usize>n << 3;
  let k = first;
  for (; k + 3 < last; k += 4) {
    const v = vectors + <usize>k * rowBytes;
    const o = out + ((<usize>k * <usize>count) << 3);
    let c = 0;
    for (; c + 1 < count; c += 2) {
      let v0 = v;
      let v1 = v0 + rowBytes;
      let v2 = v1 + rowBytes;
      let v3 = v2 + rowBytes;
      let b0 = columns + <usize>c * rowBytes;
      let b1 = b0 + rowBytes;
      let s00 = f64x2.splat(0);
      let s01 = f64x2.splat(0);
      let s10 = f64x2.splat(0);
      let s11 = f64x2.splat(0);
      let s20 = f64x2.splat(0);
      let s21 = f64x2.splat(0);
      let s30 = f64x2.splat(0);
      let s31 = f64x2.splat(0);
      let i = 0;
      for (; i + 1 < n; i += 2) {
        const x0 = v128.load(b0);
        const x1 = v128.load(b1);
        const a0 = v128.load(v0);
        const a1 = v128.load(v1);
        const a2 = v128.load(v2);
        const a3 = v128.load(v3);
        s00 = madd(a0, x0, s00);
        s01 = madd(a0, x1, s01);
        s10 = madd(a1, x0, s10);
        s11 = madd(a1, x1, s11);
        s20 = madd(a2, x0, s20);
        s21 = madd(a2, x1, s21);
        s30 = madd(a3, x0, s30);
        s31 = madd(a3, x1, s31);
        b0 += 16;
        b1 += 16;
        v0 += 16;
        v1 += 16;
        v2 += 16;
        v3 += 16;
      }
      let t00 = sum(s00);
      let t01 = sum(s01);
      let t10 = sum(s10);
      let t11 = sum(s11);
      let t20 = sum(s20);
      let t21 = sum(s21);
      let t30 = sum(s30);
      let t31 = sum(s31);
      if (i < n) {
        const x0 = load<f64>(b0);
        const x1 = load<f64>(b1);
        t00 += load<f64>(v0) * x0;
        t01 += load<f64>(v0) * x1;
        t10 += load<f64>(v1) * x0;
        t11 += load<f64>(v1) * x1;
        t20 += load<f64>(v2) * x0;
        t21 += load<f64>(v2) * x1;
        t30 += load<f64>(v3) * x0;
        t31 += load<f64>(v3) * x1;
      }
      const row = <usize>count << 3;
      const at = o + (<usize>c << 3);
      store<f64>(at, t00);
      store<f64>(at, t01, 8);
      store<f64>(at + row, t10);
      store<f64>(at + row, t11, 8);
      store<f64>(at + 2 * row, t20);
      store<f64>(at + 2 * row, t21, 8);
      store<f64>(at + 3 * row, t30);
      store<f64>(at + 3 * row, t31, 8);
    }
    // The last, odd column: four vectors against one (coefficientsOf's pass).
    if (c < count) dotsOfFour(v, rowBytes, columns + <usize>c * rowBytes, n, o + (<usize>c << 3), <usize>count << 3);
  }
  for (; k < last; k++) {
    const v = vectors + <usize>k * rowBytes;
    for (let c = 0; c < count; c++) {
      store<f64>(out + ((<usize>k * <usize>count + <usize>c) << 3), dot(v, columns + <usize>c * rowBytes, n));
    }
  }
}

/**
 * Entries per tile of combineColumns: the tile of all `count` output columns (count × 1 KiB) then
 * stays in the nearest caches while each group of four vectors passes over it.
 */
const TILE: i32 = 128;

/**
 * out (count columns of n entries, column c at c·n) = V·U for the entries [first, last), with U
 * (rows × count, row-major) at `coefficients`: out[c·n + e] = Σ_k U[k·count + c]·v_k[e]. Over
 * tiles of entries; in each, four vectors × two columns per pass. An entry's sum runs over the
 * vectors in order whatever the tile or range, which start at even entries (the SIMD lanes pair
 * entries from 0). `out` is overwritten in the range.
 */
export function combineColumns(vectors: usize, rows: i32, n: i32, coefficients: usize, count: i32, first: i32, last: i32, out: usize): void {
  const rowBytes = <usize>n << 3;
  const row = <usize>count << 3;
  for (let start = first; start < last; start += TILE) {
    const end = min(start + TILE, last);
    const offset = <usize>start << 3;
    for (let c = 0; c < count; c++) memory.fill(out + <usize>c * rowBytes + offset, 0, <usize>(end - start) << 3);
    let k = 0;
    for (; k + 3 < rows; k += 4) {
      const v = vectors + <usize>k * rowBytes + offset;
      const u = coefficients + ((<usize>k * <usize>count) << 3);
      let c = 0;
      for (; c + 1 < count; c += 2) {
        const at = u + (<usize>c << 3);
        const a00 = f64x2.splat(load<f64>(at));
        const a01 = f64x2.splat(load<f64>(at, 8));
        const a10 = f64x2.splat(load<f64>(at + row));
        const a11 = f64x2.splat(load<f64>(at + row, 8));
        const a20 = f64x2.splat(load<f64>(at + 2 * row));
        const a21 = f64x2.splat(load<f64>(at + 2 * row, 8));
        const a30 = f64x2.splat(load<f64>(at + 3 * row));
        const a31 = f64x2.splat(load<f64>(at + 3 * row, 8));
        let v0 = v;
        let v1 = v0 + rowBytes;
        let v2 = v1 + rowBytes;
        let v3 = v2 + rowBytes;
        let p0 = out + <usize>c * rowBytes + offset;
        let p1 = p0 + rowBytes;
        let e = start;
        for (; e + 1 < end; e += 2) {
          const x0 = v128.load(v0);
          const x1 = v128.load(v1);
          const x2 = v128.load(v2);
          const x3 = v128.load(v3);
          let q0 = madd(a00, x0, v128.load(p0));
          let q1 = madd(a01, x0, v128.load(p1));
          q0 = madd(a10, x1, q0);
          q1 = madd(a11, x1, q1);
          q0 = madd(a20, x2, q0);
          q1 = madd(a21, x2, q1);
          v128.store(p0, madd(a30, x3, q0));
          v128.store(p1, madd(a31, x3, q1));
          v0 += 16;
          v1 += 16;
          v2 += 16;
          v3 += 16;
          p0 += 16;
          p1 += 16;
        }
        if (e < end) {
          const x0 = load<f64>(v0);
          const x1 = load<f64>(v1);
          const x2 = load<f64>(v2);
          const x3 = load<f64>(v3);
          let q0 = load<f64>(p0) + f64x2.extract_lane(a00, 0) * x0 + f64x2.extract_lane(a10, 0) * x1;
          let q1 = load<f64>(p1) + f64x2.extract_lane(a01, 0) * x0 + f64x2.extract_lane(a11, 0) * x1;
          store<f64>(p0, q0 + f64x2.extract_lane(a20, 0) * x2 + f64x2.extract_lane(a30, 0) * x3);
          store<f64>(p1, q1 + f64x2.extract_lane(a21, 0) * x2 + f64x2.extract_lane(a31, 0) * x3);
        }
      }
      if (c < count) {
        // The last, odd column: four vectors into one.
        const at = u + (<usize>c << 3);
        const a0 = f64x2.splat(load<f64>(at));
        const a1 = f64x2.splat(load<f64>(at + row));
        const a2 = f64x2.splat(load<f64>(at + 2 * row));
        const a3 = f64x2.splat(load<f64>(at + 3 * row));
        let v0 = v;
        let v1 = v0 + rowBytes;
        let v2 = v1 + rowBytes;
        let v3 = v2 + rowBytes;
        let p = out + <usize>c * rowBytes + offset;
        let e = start;
        for (; e + 1 < end; e += 2) {
          let q = madd(a0, v128.load(v0), v128.load(p));
          q = madd(a1, v128.load(v1), q);
          q = madd(a2, v128.load(v2), q);
          v128.store(p, madd(a3, v128.load(v3), q));
          v0 += 16;
          v1 += 16;
          v2 += 16;
          v3 += 16;
          p += 16;
        }
        if (e < end) {
          store<f64>(p, load<f64>(p) + f64x2.extract_lane(a0, 0) * load<f64>(v0) + f64x2.extract_lane(a1, 0) * load<f64>(v1) +
            f64x2.extract_lane(a2, 0) * load<f64>(v2) + f64x2.extract_lane(a3, 0) * load<f64>(v3));
        }
      }
    }
    for (; k < rows; k++) {
      const v = vectors + <usize>k * rowBytes + offset;
      for (let c = 0; c < count; c++) {
        const a = f64x2.splat(load<f64>(coefficients + ((<usize>k * <usize>count + <usize>c) << 3)));
        let x = v;
        let p = out + <usize>c * rowBytes + offset;
        let e = start;
        for (; e + 1 < end; e += 2) {
          v128.store(p, madd(a, v128.load(x), v128.load(p)));
          x += 16;
          p += 16;
        }
        if (e < end) store<f64>(p, load<f64>(p) + f64x2.extract_lane(a, 0) * load<f64>(x));
      }
    }
  }
}

/**
 * columns (count columns of n float64, column c at c·n) = the row-major n×count float32 matrix t,
 * widened: the operand of projectColumns from a step's t as the backends give it.
 */
export function columnsOf(t: usize, n: i32, count: i32, columns: usize): void {
  const columnBytes = <usize>n << 3;
  let from = t;
  for (let i = 0; i < n; i++) {
    let to = columns + (<usize>i << 3);
    for (let c = 0; c < count; c++) {
      store<f64>(to, <f64>load<f32>(from));
      from += 4;
      to += columnBytes;
    }
  }
}

/** out (row-major n×count float64) = the columns (column c at c·n): combineColumns' result by rows. */
export function rowsOf(columns: usize, n: i32, count: i32, out: usize): void {
  const columnBytes = <usize>n << 3;
  let to = out;
  for (let i = 0; i < n; i++) {
    let from = columns + (<usize>i << 3);
    for (let c = 0; c < count; c++) {
      store<f64>(to, load<f64>(from));
      from += columnBytes;
      to += 8;
    }
  }
}
