// @ts-nocheck — AssemblyScript, compiled by kernels/wasm/build.mjs (asc), not by tsc.
/**
 * The `wasm` backend's device code: SIMD128 kernels over raw pointers into one shared memory that
 * the host lays out (src/backends/wasm/heap.ts). Nothing here allocates and there is no mutable
 * state, so every worker instantiates the module over the same memory. The only data segment (the
 * constants of exp and log, below 64 KiB) is rewritten with the same bytes by each instantiation.
 *
 * Layouts (float32, 16-byte aligned):
 * - "row panels" (the vector side: batch rows X, or Y in kernelBlock): 8 rows per panel,
 *   panel[k·8 + r] = X[8p + r][k]; padding rows are zero.
 * - "center panels" (the broadcast side: centers Z, or X in kernelBlock): 4 rows per panel,
 *   panel[k·4 + c] = Z[4p + c][k].
 * - distance / kernel tiles are column-major: tile[(center)·ldt + row], so that the 8-row × 4-center
 *   register block stores two whole vectors per center, and the product with α reads 8 rows at once.
 *
 * Squared norms are accumulated with the same multiply-add, in the same order, as the dot products
 * in the micro-kernel, so a point's distance to itself comes out exactly 0.
 *
 * Two builds come from this file: with relaxed SIMD (f32x4.relaxed_madd, an FMA where the CPU has
 * one) and with plain SIMD128 (mul + add). ASC_FEATURE_RELAXED_SIMD is a compile-time constant, so
 * each build contains only one of the branches in `madd`.
 */

/** a·b + c, lane-wise. */
// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

// ---------------------------------------------------------------------------------------------
// Packing

/**
 * Packs `rows` rows of `src` (row-major, `d` floats each) into panels of `width` rows (a multiple
 * of 4) at `dst`: a panel holds value k of its rows side by side, for k = 0 … d − 1, the rows past
 * `rows` as zeros. Writes each padded row's squared norm (0 for padding) to `norms`.
 */
@inline
function packPanels(src: usize, rows: i32, d: i32, dst: usize, norms: usize, width: i32): void {
  const panels = (rows + width - 1) / width;
  const rowBytes = <usize>d << 2;
  const valueStride = <usize>width << 2; // bytes between a row's value k and k + 1 in a panel
  for (let p = 0; p < panels; p++) {
    const panel = dst + <usize>p * <usize>d * valueStride;
    for (let r = 0; r < width; r++) {
      const row = p * width + r;
      let out = panel + (<usize>r << 2);
      if (row < rows) {
        let from = src + <usize>row * rowBytes;
        for (let k = 0; k < d; k++) {
          store<f32>(out, load<f32>(from));
          from += 4;
          out += valueStride;
        }
      } else {
        for (let k = 0; k < d; k++) {
          store<f32>(out, 0);
          out += valueStride;
        }
      }
    }
    for (let r = 0; r < width; r += 4) {
      let acc = f32x4.splat(0);
      let at = panel + (<usize>r << 2);
      for (let k = 0; k < d; k++) {
        const a = v128.load(at);
        acc = madd(a, a, acc);
        at += valueStride;
      }
      v128.store(norms + (<usize>(p * width + r) << 2), acc);
    }
  }
}

/** The rows' panels of 8 (packPanels), which the distance kernels take as X. */
export function packRowPanels(src: usize, rows: i32, d: i32, dst: usize, norms: usize): void {
  packPanels(src, rows, d, dst, norms, 8);
}

/** The centers' panels of 4 (packPanels, panel index starting at 0), which the distance kernels take as Y. */
export function packCenterPanels(src: usize, rows: i32, d: i32, dst: usize, norms: usize): void {
  packPanels(src, rows, d, dst, norms, 4);
}

// ---------------------------------------------------------------------------------------------
// Squared distances

/**
 * Squared distances between the row panels [0, rowPanels) at `xp` (norms `xn`) and the center
 * panels [0, centerPanels) at `zp` (norms `zn`), written column-major to `out` with leading
 * dimension `ldt` (floats): out[(4q + c)·ldt + 8p + r] = ‖x‖² + ‖z‖² − 2·x·z.
 *
 * When `direct` is non-zero the distances are summed as Σ(x − z)² instead: twice the work per
 * element but no cancellation, for small d where the GEMM is cheap anyway and close points are
 * common.
 */
export function squaredDistances(
  xp: usize,
  xn: usize,
  rowPanels: i32,
  zp: usize,
  zn: usize,
  centerPanels: i32,
  d: i32,
  out: usize,
  ldt: i32,
  direct: i32,
): void {
  const xStride = <usize>d << 5;
  const zStride = <usize>d << 4;
  const colBytes = <usize>ldt << 2;
  for (let q = 0; q < centerPanels; q++) {
    const z = zp + <usize>q * zStride;
    const zNorms = v128.load(zn + (<usize>q << 4));
    let o = out + ((<usize>q * colBytes) << 2);
    for (let p = 0; p < rowPanels; p++) {
      const x = xp + <usize>p * xStride;
      const target = o + (<usize>p << 5);
      if (direct) {
        microDirect(x, z, d, target, colBytes);
      } else {
        micro(x, z, d, xn + (<usize>p << 5), zNorms, target, colBytes);
      }
    }
  }
}

/**
 * The 8 × 4 register block: 8 accumulators of 4 lanes, two row vectors, one broadcast (11 of V8's
 * 16 xmm registers). Not unrolled over k: V8 then schedules the second step's loads early and
 * spills three accumulators to the stack (measured 27 instead of 37 GFLOP/s).
 */
function micro(x: usize, z: usize, d: i32, xn: usize, zNorms: v128, out: usize, colBytes: usize): void {
  let a0 = f32x4.splat(0), b0 = f32x4.splat(0);
  let a1 = f32x4.splat(0), b1 = f32x4.splat(0);
  let a2 = f32x4.splat(0), b2 = f32x4.splat(0);
  let a3 = f32x4.splat(0), b3 = f32x4.splat(0);
  for (let k = 0; k < d; k++) {
    const lo = v128.load(x);
    const hi = v128.load(x, 16);
    let s = v128.load32_splat(z);
    a0 = madd(lo, s, a0);
    b0 = madd(hi, s, b0);
    s = v128.load32_splat(z, 4);
    a1 = madd(lo, s, a1);
    b1 = madd(hi, s, b1);
    s = v128.load32_splat(z, 8);
    a2 = madd(lo, s, a2);
    b2 = madd(hi, s, b2);
    s = v128.load32_splat(z, 12);
    a3 = madd(lo, s, a3);
    b3 = madd(hi, s, b3);
    x += 32;
    z += 16;
  }
  // r² = (‖x‖² + ‖z‖²) − 2·x·z
  const minus2 = f32x4.splat(-2);
  const nlo = v128.load(xn);
  const nhi = v128.load(xn, 16);
  let zc = f32x4.splat(f32x4.extract_lane(zNorms, 0));
  v128.store(out, madd(a0, minus2, f32x4.add(nlo, zc)));
  v128.store(out, madd(b0, minus2, f32x4.add(nhi, zc)), 16);
  out += colBytes;
  zc = f32x4.splat(f32x4.extract_lane(zNorms, 1));
  v128.store(out, madd(a1, minus2, f32x4.add(nlo, zc)));
  v128.store(out, madd(b1, minus2, f32x4.add(nhi, zc)), 16);
  out += colBytes;
  zc = f32x4.splat(f32x4.extract_lane(zNorms, 2));
  v128.store(out, madd(a2, minus2, f32x4.add(nlo, zc)));
  v128.store(out, madd(b2, minus2, f32x4.add(nhi, zc)), 16);
  out += colBytes;
  zc = f32x4.splat(f32x4.extract_lane(zNorms, 3));
  v128.store(out, madd(a3, minus2, f32x4.add(nlo, zc)));
  v128.store(out, madd(b3, minus2, f32x4.add(nhi, zc)), 16);
}

/** The same block as Σ(x − z)². */
function microDirect(x: usize, z: usize, d: i32, out: usize, colBytes: usize): void {
  let a0 = f32x4.splat(0), b0 = f32x4.splat(0);
  let a1 = f32x4.splat(0), b1 = f32x4.splat(0);
  let a2 = f32x4.splat(0), b2 = f32x4.splat(0);
  let a3 = f32x4.splat(0), b3 = f32x4.splat(0);
  for (let k = 0; k < d; k++) {
    const lo = v128.load(x);
    const hi = v128.load(x, 16);
    let s = v128.load32_splat(z);
    let u = f32x4.sub(lo, s);
    let v = f32x4.sub(hi, s);
    a0 = madd(u, u, a0);
    b0 = madd(v, v, b0);
    s = v128.load32_splat(z, 4);
    u = f32x4.sub(lo, s);
    v = f32x4.sub(hi, s);
    a1 = madd(u, u, a1);
    b1 = madd(v, v, b1);
    s = v128.load32_splat(z, 8);
    u = f32x4.sub(lo, s);
    v = f32x4.sub(hi, s);
    a2 = madd(u, u, a2);
    b2 = madd(v, v, b2);
    s = v128.load32_splat(z, 12);
    u = f32x4.sub(lo, s);
    v = f32x4.sub(hi, s);
    a3 = madd(u, u, a3);
    b3 = madd(v, v, b3);
    x += 32;
    z += 16;
  }
  v128.store(out, a0);
  v128.store(out, b0, 16);
  out += colBytes;
  v128.store(out, a1);
  v128.store(out, b1, 16);
  out += colBytes;
  v128.store(out, a2);
  v128.store(out, b2, 16);
  out += colBytes;
  v128.store(out, a3);
  v128.store(out, b3, 16);
}

// ---------------------------------------------------------------------------------------------
// Kernel transforms: squared distances → kernel values, in place

export const KERNEL_LAPLACIAN: i32 = 1; // exp(c·r)
export const KERNEL_GAUSSIAN: i32 = 2; // exp(c·r²)
export const KERNEL_EXPPOWER: i32 = 3; // exp(c·(r²)^h)
export const KERNEL_CAUCHY: i32 = 4; // 1 / (1 + c·r²)
export const KERNEL_MATERN32: i32 = 5; // (1 + a·r)·exp(−a·r)
export const KERNEL_MATERN52: i32 = 6; // (1 + a·r + b·r²)·exp(−a·r)

/**
 * Constants of the exp and log approximations. They live in memory rather than in the code: V8
 * rebuilds a SIMD constant from general registers at every use inside a loop (three instructions
 * and a cross-domain move each), while a broadcast load from memory is one cheap load.
 * Offsets in bytes: see EXP_* and LOG_* below.
 */
const CONSTANTS = memory.data<f32>([
  // exp: clamp range, log2(e) with the rounding magic, ln 2 in two parts, polynomial (Cephes expf)
  -87.33654, 88.0, 1.44269504088896341, 12583039.0, -0.693359375, 2.12194440e-4,
  1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
  5.0000001201e-1, 1.0,
  // log: smallest normal, 2^24, √½, polynomial (Cephes logf), ln 2 in two parts, −½
  1.17549435e-38, 16777216.0, 0.707106781186547524, 7.0376836292e-2, -1.1514610310e-1,
  1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1,
  -2.4999993993e-1, 3.3333331174e-1, -2.12194440e-4, 0.693359375, -0.5,
  // exp: below this, 0
  -69.0,
]);

/** Integer constants of the log: exponent bias − 1, 24, mantissa mask, the bits of 0.5. */
const INT_CONSTANTS = memory.data<i32>([126, 24, 0x007fffff, 0x3f000000]);

// @ts-ignore: decorator
@inline
function k(index: usize): v128 {
  return v128.load32_splat(CONSTANTS + (index << 2));
}

// @ts-ignore: decorator
@inline
function ki(index: usize): v128 {
  return v128.load32_splat(INT_CONSTANTS + (index << 2));
}

/**
 * e^x: x clamped to [−87.3, 88] (the kernels only need x ≤ 0), x = n·ln 2 + f with |f| ≤ ln2/2
 * (Cody–Waite), a degree-6 polynomial for e^f (the Cephes expf coefficients, ≈1 ulp), and 2^n put
 * into the exponent bits. n is rounded by adding 1.5·2^23 + 127, which leaves n + 127 in the low
 * mantissa bits of t, ready to be shifted into an exponent.
 * Below x = −69 the result is 0: a kernel value under 1e-30 is nothing, and its products with the
 * weights would be denormal numbers, which many CPUs process a hundred times slower.
 */
// @ts-ignore: decorator
@inline
function vexp(x: v128): v128 {
  const negligible = f32x4.lt(x, k(28));
  x = f32x4.pmin(f32x4.pmax(x, k(0)), k(1));
  const t = madd(x, k(2), k(3));
  const n = f32x4.sub(t, k(3));
  let f = madd(n, k(4), x);
  f = madd(n, k(5), f);
  let p = madd(k(6), f, k(7));
  p = madd(p, f, k(8));
  p = madd(p, f, k(9));
  p = madd(p, f, k(10));
  p = madd(p, f, k(11));
  p = f32x4.add(madd(p, f32x4.mul(f, f), f), k(12));
  return v128.andnot(f32x4.mul(p, i32x4.shl(t, 23)), negligible);
}

/**
 * ln x for x > 0, denormals included: x = m·2^e with m in [√½, √2), a degree-9 polynomial in m − 1
 * (the Cephes logf coefficients). Returns a finite garbage value for x = 0; callers mask it.
 */
// @ts-ignore: decorator
@inline
function vlog(x: v128): v128 {
  // Denormals: scale by 2^24 and take 24 off the exponent.
  const tiny = f32x4.lt(x, k(13));
  x = v128.bitselect(f32x4.mul(x, k(14)), x, tiny);
  let e = i32x4.sub(i32x4.shr_u(x, 23), ki(0));
  e = i32x4.sub(e, v128.and(tiny, ki(1)));
  // m in [0.5, 1); if m < √½: e −= 1, m = 2m − 1, else m = m − 1
  let m = v128.or(v128.and(x, ki(2)), ki(3));
  const small = f32x4.lt(m, k(15));
  e = i32x4.add(e, small); // true lanes are −1
  m = f32x4.sub(f32x4.add(m, v128.and(m, small)), k(12));
  const ef = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(m, m);
  let y = madd(k(16), m, k(17));
  y = madd(y, m, k(18));
  y = madd(y, m, k(19));
  y = madd(y, m, k(20));
  y = madd(y, m, k(21));
  y = madd(y, m, k(22));
  y = madd(y, m, k(23));
  y = madd(y, m, k(24));
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = madd(ef, k(25), y);
  y = madd(z, k(27), y);
  return madd(ef, k(26), f32x4.add(m, y));
}

/** One vector of squared distances → kernel values; `kind` is a constant after inlining. */
// @ts-ignore: decorator
@inline
function kernelValues(kind: i32, raw: v128, c0: v128, c1: v128): v128 {
  const r2 = f32x4.pmax(raw, f32x4.splat(0)); // rounding can make r² slightly negative
  if (kind == KERNEL_LAPLACIAN) return vexp(f32x4.mul(f32x4.sqrt(r2), c0));
  if (kind == KERNEL_GAUSSIAN) return vexp(f32x4.mul(r2, c0));
  if (kind == KERNEL_EXPPOWER) {
    // exp(c0·(r²)^c1), (r²)^h = exp(h·ln r²), and 0^h = 0 for h > 0.
    const power = v128.and(vexp(f32x4.mul(vlog(r2), c1)), f32x4.gt(r2, f32x4.splat(0)));
    return vexp(f32x4.mul(power, c0));
  }
  if (kind == KERNEL_CAUCHY) return f32x4.div(k(12), madd(r2, c0, k(12)));
  // Matérn: c0 = −a, so nar = −a·r and (1 + a·r) = 1 − nar.
  const nar = f32x4.mul(f32x4.sqrt(r2), c0);
  if (kind == KERNEL_MATERN32) return f32x4.mul(f32x4.sub(k(12), nar), vexp(nar));
  return f32x4.mul(madd(r2, c1, f32x4.sub(k(12), nar)), vexp(nar));
}

// @ts-ignore: decorator
@inline
function transformLoop(kind: i32, at: usize, end: usize, c0: v128, c1: v128): void {
  // Two independent vectors per iteration: the approximations are long dependency chains.
  for (; at + 32 <= end; at += 32) {
    const a = kernelValues(kind, v128.load(at), c0, c1);
    const b = kernelValues(kind, v128.load(at, 16), c0, c1);
    v128.store(at, a);
    v128.store(at, b, 16);
  }
  if (at < end) v128.store(at, kernelValues(kind, v128.load(at), c0, c1));
}

/**
 * Maps `count` squared distances at `ptr` (count a multiple of 4) to kernel values in place.
 * Negative r² (rounding) counts as 0. Constants: laplacian and gaussian exp(c0·r) / exp(c0·r²);
 * exppower exp(c0·(r²)^c1); cauchy 1/(1 + c0·r²); Matérn 3/2 (1 + a·r)·exp(−a·r) and
 * 5/2 (1 + a·r + c1·r²)·exp(−a·r) with c0 = a.
 */
export function transform(ptr: usize, count: i32, kind: i32, c0: f32, c1: f32): void {
  const end = ptr + (<usize>count << 2);
  const v0 = f32x4.splat(c0);
  const v1 = f32x4.splat(c1);
  if (kind == KERNEL_LAPLACIAN) transformLoop(KERNEL_LAPLACIAN, ptr, end, v0, v1);
  else if (kind == KERNEL_GAUSSIAN) transformLoop(KERNEL_GAUSSIAN, ptr, end, v0, v1);
  else if (kind == KERNEL_EXPPOWER) transformLoop(KERNEL_EXPPOWER, ptr, end, v0, v1);
  else if (kind == KERNEL_CAUCHY) transformLoop(KERNEL_CAUCHY, ptr, end, v0, v1);
  else if (kind == KERNEL_MATERN32) transformLoop(KERNEL_MATERN32, ptr, end, f32x4.neg(v0), v1);
  else if (kind == KERNEL_MATERN52) transformLoop(KERNEL_MATERN52, ptr, end, f32x4.neg(v0), v1);
}

/** Elementwise e^x over `count` floats (a multiple of 4), in place; for tests of the approximation. */
export function expInPlace(ptr: usize, count: i32): void {
  const end = ptr + (<usize>count << 2);
  for (let at = ptr; at < end; at += 16) v128.store(at, vexp(v128.load(at)));
}

/** Elementwise ln x over `count` floats (a multiple of 4), in place; for tests of the approximation. */
export function logInPlace(ptr: usize, count: i32): void {
  const end = ptr + (<usize>count << 2);
  for (let at = ptr; at < end; at += 16) v128.store(at, vlog(v128.load(at)));
}

// ---------------------------------------------------------------------------------------------
// The product with the weights

/**
 * outT[c·ldo + i] += Σ_{j<cols} tile[j·ldt + i] · alpha[j·l + c] for the 8·rowPanels rows i and
 * the l outputs c: the kernel tile times the weights of its centers, into a transposed (l × rows)
 * accumulator. Register block: 8 rows × 4 outputs.
 */
export function timesWeights(tile: usize, ldt: i32, rowPanels: i32, cols: i32, alpha: usize, l: i32, outT: usize, ldo: i32): void {
  timesWeightsOf(false, tile, ldt, rowPanels, cols, alpha, l, outT, ldo);
}

/**
 * timesWeights for tile rows j that lie anywhere: row j's 8·rowPanels values start at
 * load<u32>(rows + 4j) + offset (a kernel cache's rows, read where they are kept).
 */
export function timesWeightsOfRows(rows: usize, offset: usize, rowPanels: i32, cols: i32, alpha: usize, l: i32, outT: usize, ldo: i32): void {
  timesWeightsOf(true, rows, <i32>offset, rowPanels, cols, alpha, l, outT, ldo);
}

/**
 * The body of both: TABLE (a constant after inlining) says whether `tile` is a table of row
 * addresses (and `ldt` the offset into each row) or the tile itself (rows ldt floats apart).
 */
// @ts-ignore: decorator
@inline
function timesWeightsOf(TABLE: bool, tile: usize, ldt: i32, rowPanels: i32, cols: i32, alpha: usize, l: i32, outT: usize, ldo: i32): void {
  const colBytes: usize = TABLE ? 0 : <usize>ldt << 2;
  const alphaRow = <usize>l << 2;
  const outBytes = <usize>ldo << 2;
  for (let p = 0; p < rowPanels; p++) {
    // TABLE: rows j are at rowAt(j) + panelBytes; else at rows + j·colBytes.
    const panelBytes = <usize>p << 5;
    const rows = TABLE ? panelBytes + <usize>ldt : tile + panelBytes;
    const o = outT + (<usize>p << 5);
    let c = 0;
    for (; c + 4 <= l; c += 4) {
      const o0 = o + <usize>c * outBytes;
      const o1 = o0 + outBytes;
      const o2 = o1 + outBytes;
      const o3 = o2 + outBytes;
      let a0 = v128.load(o0), b0 = v128.load(o0, 16);
      let a1 = v128.load(o1), b1 = v128.load(o1, 16);
      let a2 = v128.load(o2), b2 = v128.load(o2, 16);
      let a3 = v128.load(o3), b3 = v128.load(o3, 16);
      let t = TABLE ? rowAt(tile, 0) + rows : rows;
      let w = alpha + (<usize>c << 2);
      for (let j = 0; j < cols; j++) {
        const lo = v128.load(t);
        const hi = v128.load(t, 16);
        let s = v128.load32_splat(w);
        a0 = madd(lo, s, a0);
        b0 = madd(hi, s, b0);
        s = v128.load32_splat(w, 4);
        a1 = madd(lo, s, a1);
        b1 = madd(hi, s, b1);
        s = v128.load32_splat(w, 8);
        a2 = madd(lo, s, a2);
        b2 = madd(hi, s, b2);
        s = v128.load32_splat(w, 12);
        a3 = madd(lo, s, a3);
        b3 = madd(hi, s, b3);
        t = TABLE ? rowAt(tile, j + 1) + rows : t + colBytes;
        w += alphaRow;
      }
      v128.store(o0, a0);
      v128.store(o0, b0, 16);
      v128.store(o1, a1);
      v128.store(o1, b1, 16);
      v128.store(o2, a2);
      v128.store(o2, b2, 16);
      v128.store(o3, a3);
      v128.store(o3, b3, 16);
    }
    if (c + 2 <= l) {
      const o0 = o + <usize>c * outBytes;
      const o1 = o0 + outBytes;
      // Two independent chains per output to hide the multiply-add latency.
      let a0 = v128.load(o0), b0 = v128.load(o0, 16);
      let a1 = v128.load(o1), b1 = v128.load(o1, 16);
      let t = TABLE ? rowAt(tile, 0) + rows : rows;
      let w = alpha + (<usize>c << 2);
      for (let j = 0; j < cols; j++) {
        const lo = v128.load(t);
        const hi = v128.load(t, 16);
        let s = v128.load32_splat(w);
        a0 = madd(lo, s, a0);
        b0 = madd(hi, s, b0);
        s = v128.load32_splat(w, 4);
        a1 = madd(lo, s, a1);
        b1 = madd(hi, s, b1);
        t = TABLE ? rowAt(tile, j + 1) + rows : t + colBytes;
        w += alphaRow;
      }
      v128.store(o0, a0);
      v128.store(o0, b0, 16);
      v128.store(o1, a1);
      v128.store(o1, b1, 16);
      c += 2;
    }
    if (c < l) {
      const o0 = o + <usize>c * outBytes;
      let a0 = v128.load(o0), b0 = v128.load(o0, 16);
      let a1 = f32x4.splat(0), b1 = f32x4.splat(0);
      let t = TABLE ? rowAt(tile, 0) + rows : rows;
      let w = alpha + (<usize>c << 2);
      let j = 0;
      for (; j + 2 <= cols; j += 2) {
        let s = v128.load32_splat(w);
        a0 = madd(v128.load(t), s, a0);
        b0 = madd(v128.load(t, 16), s, b0);
        t = TABLE ? rowAt(tile, j + 1) + rows : t + colBytes;
        w += alphaRow;
        s = v128.load32_splat(w);
        a1 = madd(v128.load(t), s, a1);
        b1 = madd(v128.load(t, 16), s, b1);
        t = TABLE ? rowAt(tile, j + 2) + rows : t + colBytes;
        w += alphaRow;
      }
      if (j < cols) {
        const s = v128.load32_splat(w);
        a0 = madd(v128.load(t), s, a0);
        b0 = madd(v128.load(t, 16), s, b0);
      }
      v128.store(o0, f32x4.add(a0, a1));
      v128.store(o0, f32x4.add(b0, b1), 16);
    }
  }
}

/**
 * Row j's address in a table of u32 addresses. The table has one entry past the last row (the
 * loops read the next row's address before they know there is one).
 */
// @ts-ignore: decorator
@inline
function rowAt(table: usize, j: i32): usize {
  return <usize>load<u32>(table + (<usize>j << 2));
}

// ---------------------------------------------------------------------------------------------
// Products with a cached kernel matrix (float16, bfloat16 or float32 values)

export const CACHE_FLOAT32: i32 = 0;
export const CACHE_FLOAT16: i32 = 1;
export const CACHE_BFLOAT16: i32 = 2;

/**
 * Constants of the float16 widening, as bits: the mask that keeps the sign and the shifted
 * exponent and mantissa, 2^112 (the exponent bias 127 − 15), the exponent of float16 Inf and NaN
 * after a shift left by 17, and float32's exponent field. In memory for the reason given above.
 */
const HALF_CONSTANTS = memory.data<i32>([0x8fffffff, 0x77800000, 0xf8000000, 0x7f800000]);

/**
 * The float16 values in the high halves of the lanes of x (the low halves zero) → float32, for
 * finite values: x >> 3 (arithmetic) puts exponent and mantissa where float32 has them and copies
 * the sign into three bits that the mask clears. Read as float32, that is the value times 2^-112,
 * exact for normals and subnormals alike (which come out as float32 subnormals); the product with
 * 2^112 is then exact too.
 */
// @ts-ignore: decorator
@inline
function widenFloat16(x: v128, mask: v128, scale: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shr_s(x, 3), mask), scale);
}

/** widenFloat16 for any value: Inf and NaN (exponent 31) get float32's all-ones exponent. */
// @ts-ignore: decorator
@inline
function widenFloat16Special(x: v128, mask: v128, scale: v128, special: v128, exponent: v128): v128 {
  return v128.or(widenFloat16(x, mask, scale), v128.and(i32x4.ge_u(i32x4.shl(x, 1), special), exponent));
}

/**
 * Widens `n` values of one cached row at `src` to float32 at `dst`, then writes zeros up to the
 * next multiple of 8, so that the product's loops need no tail. Unaligned loads are fine.
 */
function widenRow(precision: i32, src: usize, n: i32, dst: usize): void {
  let j = 0;
  if (precision == CACHE_FLOAT32) {
    for (; j + 4 <= n; j += 4) v128.store(dst + (<usize>j << 2), v128.load(src + (<usize>j << 2)));
    for (; j < n; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
  } else {
    const zero = i32x4.splat(0);
    const mask = v128.load32_splat(HALF_CONSTANTS);
    const scale = v128.load32_splat(HALF_CONSTANTS, 4);
    const special = v128.load32_splat(HALF_CONSTANTS, 8);
    const exponent = v128.load32_splat(HALF_CONSTANTS, 12);
    const half = precision == CACHE_FLOAT16;
    // The largest magnitude seen, as 16-bit patterns: Inf and NaN are rare in a kernel matrix, so
    // they are looked for once per row rather than fixed in every lane.
    let largest = zero;
    // Eight 16-bit values per load; interleaving with zeros (punpcklwd / punpckhwd) puts them in
    // the high halves of 32-bit lanes, which for bfloat16 is already the float32.
    for (; j + 8 <= n; j += 8) {
      const h = v128.load(src + (<usize>j << 1));
      let lo = i8x16.shuffle(zero, h, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
      let hi = i8x16.shuffle(zero, h, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
      if (half) {
        largest = i16x8.max_u(largest, i16x8.shl(h, 1));
        lo = widenFloat16(lo, mask, scale);
        hi = widenFloat16(hi, mask, scale);
      }
      v128.store(dst + (<usize>j << 2), lo);
      v128.store(dst + (<usize>j << 2), hi, 16);
    }
    if (half && v128.any_true(i16x8.ge_u(largest, i16x8.splat(<i16>0xf800)))) {
      for (let at: i32 = 0; at < j; at++) {
        const x = i32x4.splat(<i32>load<u16>(src + (<usize>at << 1)) << 16);
        store<f32>(dst + (<usize>at << 2), f32x4.extract_lane(widenFloat16Special(x, mask, scale, special, exponent), 0));
      }
    }
    for (; j < n; j++) {
      const x = i32x4.splat(<i32>load<u16>(src + (<usize>j << 1)) << 16);
      const value = half ? widenFloat16Special(x, mask, scale, special, exponent) : x;
      store<f32>(dst + (<usize>j << 2), f32x4.extract_lane(value, 0));
    }
  }
  for (; j & 7; j++) store<f32>(dst + (<usize>j << 2), 0);
}

/**
 * Columns of K widened at a time, and so the stride of the rows of the widened buffer: 4 rows ×
 * 4 KiB stay in L1 while every output reads them, and the rows sit at constant offsets from one
 * pointer. The host sizes each worker's buffer from this (CACHE_WIDENED_BYTES, src/backends/wasm/).
 */
export const CACHE_COL_BLOCK: i32 = 1024;
const WIDENED_ROW: usize = 4096;

/**
 * sums[r·l + c] += Σ_j widened[r·WIDENED_ROW + j] · at[c·ldaBytes + j] (4 lanes each, j < n8, a
 * multiple of 8) for 4 rows and C outputs (C = 1 or 2, a constant after inlining): 4 × C
 * accumulators, each load of A shared by the 4 rows and each load of K by the C outputs.
 */
// @ts-ignore: decorator
@inline
function productBlock4(C: i32, widened: usize, n8: i32, at: usize, ldaBytes: usize, sums: usize, sumRowBytes: usize): void {
  const s1 = sums + sumRowBytes;
  const s2 = s1 + sumRowBytes;
  const s3 = s2 + sumRowBytes;
  let a0 = v128.load(sums), a1 = v128.load(s1), a2 = v128.load(s2), a3 = v128.load(s3);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  if (C > 1) {
    b0 = v128.load(sums, 16);
    b1 = v128.load(s1, 16);
    b2 = v128.load(s2, 16);
    b3 = v128.load(s3, 16);
  }
  const end = widened + (<usize>n8 << 2);
  let a = at;
  for (let w = widened; w < end; w += 16) {
    const x = v128.load(a);
    const y = C > 1 ? v128.load(a + ldaBytes) : x;
    let k = v128.load(w);
    a0 = madd(k, x, a0);
    if (C > 1) b0 = madd(k, y, b0);
    k = v128.load(w, WIDENED_ROW);
    a1 = madd(k, x, a1);
    if (C > 1) b1 = madd(k, y, b1);
    k = v128.load(w, 2 * WIDENED_ROW);
    a2 = madd(k, x, a2);
    if (C > 1) b2 = madd(k, y, b2);
    k = v128.load(w, 3 * WIDENED_ROW);
    a3 = madd(k, x, a3);
    if (C > 1) b3 = madd(k, y, b3);
    a += 16;
  }
  v128.store(sums, a0);
  v128.store(s1, a1);
  v128.store(s2, a2);
  v128.store(s3, a3);
  if (C > 1) {
    v128.store(sums, b0, 16);
    v128.store(s1, b1, 16);
    v128.store(s2, b2, 16);
    v128.store(s3, b3, 16);
  }
}

/** productBlock4 over all l outputs, two at a time. */
function productRows4(widened: usize, n8: i32, at: usize, ldaBytes: usize, l: i32, sums: usize): void {
  const sumRowBytes = <usize>l << 4;
  let c = 0;
  for (; c + 2 <= l; c += 2) productBlock4(2, widened, n8, at + <usize>c * ldaBytes, ldaBytes, sums + (<usize>c << 4), sumRowBytes);
  if (c < l) productBlock4(1, widened, n8, at + <usize>c * ldaBytes, ldaBytes, sums + (<usize>c << 4), sumRowBytes);
}

/** The same for one row (the last rows of a range), one output at a time, two chains each. */
function productRow1(widened: usize, n8: i32, at: usize, ldaBytes: usize, l: i32, sums: usize): void {
  const end = widened + (<usize>n8 << 2);
  for (let c = 0; c < l; c++) {
    let even = v128.load(sums + (<usize>c << 4));
    let odd = f32x4.splat(0);
    let a = at + <usize>c * ldaBytes;
    for (let w = widened; w < end; w += 32) {
      even = madd(v128.load(w), v128.load(a), even);
      odd = madd(v128.load(w, 16), v128.load(a, 16), odd);
      a += 32;
    }
    v128.store(sums + (<usize>c << 4), f32x4.add(even, odd));
  }
}

/**
 * out[i·l + c] = Σ_j K[i·cols + j] · A[j·l + c] for the rows [r0, r1) of the cached values at `k`
 * (row-major, `precision`) and the weights given transposed, at[c·lda + j] (lda a multiple of 8,
 * zero past cols). K is read once: four rows at a time, CACHE_COL_BLOCK columns at a time,
 * widened to float32 into `widened` (4 × CACHE_COL_BLOCK floats) and multiplied there with the A
 * block for every output; the 4 × l accumulators (4 lanes each) wait in `sums` between blocks and
 * are added across lanes at the end. A `rowTable` other than 0 is a table of u32 addresses: row i
 * is then at load<u32>(rowTable + 4i) (a kernel cache's rows, read where they are kept), not at
 * k + i·cols values.
 */
export function cachedProduct(
  k: usize, rowTable: usize, precision: i32, r0: i32, r1: i32, cols: i32, at: usize, lda: i32, l: i32, out: usize, widened: usize, sums: usize,
): void {
  const valueBytes: usize = precision == CACHE_FLOAT32 ? 4 : 2;
  const kRowBytes = <usize>cols * valueBytes;
  const ldaBytes = <usize>lda << 2;
  for (let i = r0; i < r1; ) {
    const R = r1 - i >= 4 ? 4 : 1;
    for (let s: usize = 0; s < (<usize>(R * l) << 4); s += 16) v128.store(sums + s, f32x4.splat(0));
    for (let j0 = 0; j0 < cols; j0 += CACHE_COL_BLOCK) {
      const n = min(CACHE_COL_BLOCK, cols - j0);
      const n8 = (n + 7) & ~7;
      const from = <usize>j0 * valueBytes;
      for (let r = 0; r < R; r++) {
        const row = rowTable ? rowAt(rowTable, i + r) : k + <usize>(i + r) * kRowBytes;
        widenRow(precision, row + from, n, widened + <usize>r * WIDENED_ROW);
      }
      const atBlock = at + (<usize>j0 << 2);
      if (R == 4) productRows4(widened, n8, atBlock, ldaBytes, l, sums);
      else productRow1(widened, n8, atBlock, ldaBytes, l, sums);
    }
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < l; c++) {
        const v = v128.load(sums + (<usize>(r * l + c) << 4));
        const pair = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
        store<f32>(out + (<usize>((i + r) * l + c) << 2), f32x4.extract_lane(pair, 0) + f32x4.extract_lane(pair, 1));
      }
    }
    i += R;
  }
}

// ---------------------------------------------------------------------------------------------
// Kernel blocks rounded to a cache's precision

/**
 * Constants of the rounding, as bits: sign mask, magnitude mask, the float16 exponent rebias
 * (112 << 23), 0xfff (half a float16 ulp in float32 mantissa bits, less one), 1, float16 Inf, the
 * smallest normal float16 (2^-14), 0.5 (whose ulp is float16's smallest subnormal), float16's
 * quiet NaN, float32 Inf, 0x7fff (half a bfloat16 ulp, less one), bfloat16's quiet bit.
 */
const ROUND_CONSTANTS = memory.data<i32>([
  0x8000, 0x7fffffff, 0x38000000, 0xfff, 1, 0x7c00, 0x38800000, 0x3f000000, 0x7e00, 0x7f800000, 0x7fff, 0x40,
]);

// @ts-ignore: decorator
@inline
function kr(index: usize): v128 {
  return v128.load32_splat(ROUND_CONSTANTS + (index << 2));
}

/**
 * float32 lanes → the nearest float16 (ties to even) in the low halves of the lanes; as
 * float32BitsToFloat16 in src/backends/halfPrecision.ts. Normals: rebias the exponent and round
 * away 13 mantissa bits in integers (a carry into the exponent is right; Inf and beyond clamp to
 * 0x7c00). Subnormals: adding 0.5, whose ulp is 2^-24, lets the float adder round to the nearest
 * subnormal; the bits above 0.5's are the float16 bits.
 */
// @ts-ignore: decorator
@inline
function roundFloat16(x: v128): v128 {
  const sign = v128.and(i32x4.shr_u(x, 16), kr(0));
  const magnitude = v128.and(x, kr(1));
  const r = i32x4.sub(magnitude, kr(2));
  const normal = i32x4.min_u(i32x4.shr_u(i32x4.add(i32x4.add(r, kr(3)), v128.and(i32x4.shr_u(r, 13), kr(4))), 13), kr(5));
  const subnormal = i32x4.sub(f32x4.add(magnitude, kr(7)), kr(7));
  let h = v128.bitselect(subnormal, normal, i32x4.lt_u(magnitude, kr(6)));
  h = v128.bitselect(kr(8), h, i32x4.gt_u(magnitude, kr(9)));
  return v128.or(h, sign);
}

/** float32 lanes → the nearest bfloat16 (ties to even) in the low halves; NaN stays a quiet NaN. */
// @ts-ignore: decorator
@inline
function roundBfloat16(x: v128): v128 {
  const high = i32x4.shr_u(x, 16);
  const rounded = i32x4.shr_u(i32x4.add(i32x4.add(x, kr(10)), v128.and(high, kr(4))), 16);
  return v128.bitselect(v128.or(high, kr(11)), rounded, i32x4.gt_u(v128.and(x, kr(1)), kr(9)));
}

// @ts-ignore: decorator
@inline
function roundLanes(half: bool, x: v128): v128 {
  return half ? roundFloat16(x) : roundBfloat16(x);
}

/**
 * Rounds `rows` rows of `n` float32 values (leading dimension `ld` floats) at `src` to float16
 * (precision CACHE_FLOAT16) or bfloat16 bits, packed as rows × n at `dst`. `dst` may be `src`:
 * each write lands at or below the values already read, so the block is rounded in place.
 */
export function roundRows(src: usize, rows: i32, n: i32, ld: i32, dst: usize, precision: i32): void {
  const half = precision == CACHE_FLOAT16;
  for (let i = 0; i < rows; i++) {
    const from = src + ((<usize>i * <usize>ld) << 2);
    const to = dst + ((<usize>i * <usize>n) << 1);
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      const a = roundLanes(half, v128.load(from + (<usize>j << 2)));
      const b = roundLanes(half, v128.load(from + (<usize>j << 2), 16));
      v128.store(to + (<usize>j << 1), i8x16.shuffle(a, b, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29));
    }
    for (; j < n; j++) {
      store<u16>(to + (<usize>j << 1), <u16>i32x4.extract_lane(roundLanes(half, v128.load32_splat(from + (<usize>j << 2))), 0));
    }
  }
}
