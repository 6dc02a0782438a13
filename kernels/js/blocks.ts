/**
 * The `js` backend's device code: plain Float32Array loops, the reference every faster backend is
 * checked against. Distances come from ‖x‖² + ‖z‖² − 2x·z with a 4×4 register block (16
 * accumulators, 8 loads per step of the inner product); operands are padded to a multiple of 4
 * rows so that only the 4×4 case exists. Sums are carried in float64 (JS numbers).
 */

/** Rows of a matrix, padded with zero rows to a multiple of 4, and their squared norms. */
export interface PackedRows {
  readonly data: Float32Array; // paddedRows × dim
  readonly norms: Float64Array; // paddedRows
  readonly rows: number; // real rows
  readonly paddedRows: number;
  readonly dim: number;
}

export function packRows(data: Float32Array, rows: number, dim: number): PackedRows {
  const paddedRows = Math.ceil(rows / 4) * 4;
  const packed = paddedRows === rows ? data : new Float32Array(paddedRows * dim);
  if (packed !== data) packed.set(data.subarray(0, rows * dim));
  const norms = new Float64Array(paddedRows);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    const base = i * dim;
    for (let k = 0; k < dim; k++) sum += packed[base + k] * packed[base + k];
    norms[i] = sum;
  }
  return { data: packed, norms, rows, paddedRows, dim };
}

/**
 * tile[i·width + (j − j0)] = ‖x_i‖² + ‖z_j‖² − 2 x_i·z_j for all padded rows i of X and
 * j in [j0, j1) (j0 and j1 multiples of 4, within Z's padded rows); width = j1 − j0.
 */
export function squaredDistances(X: PackedRows, Z: PackedRows, j0: number, j1: number, tile: Float32Array): void {
  const d = X.dim;
  const x = X.data;
  const z = Z.data;
  const width = j1 - j0;
  for (let i = 0; i < X.paddedRows; i += 4) {
    const a0 = i * d, a1 = a0 + d, a2 = a1 + d, a3 = a2 + d;
    const xn0 = X.norms[i], xn1 = X.norms[i + 1], xn2 = X.norms[i + 2], xn3 = X.norms[i + 3];
    for (let j = j0; j < j1; j += 4) {
      const b0 = j * d, b1 = b0 + d, b2 = b1 + d, b3 = b2 + d;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
      let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
      let s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let k = 0; k < d; k++) {
        const x0 = x[a0 + k], x1 = x[a1 + k], x2 = x[a2 + k], x3 = x[a3 + k];
        const z0 = z[b0 + k], z1 = z[b1 + k], z2 = z[b2 + k], z3 = z[b3 + k];
        s00 += x0 * z0; s01 += x0 * z1; s02 += x0 * z2; s03 += x0 * z3;
        s10 += x1 * z0; s11 += x1 * z1; s12 += x1 * z2; s13 += x1 * z3;
        s20 += x2 * z0; s21 += x2 * z1; s22 += x2 * z2; s23 += x2 * z3;
        s30 += x3 * z0; s31 += x3 * z1; s32 += x3 * z2; s33 += x3 * z3;
      }
      const zn0 = Z.norms[j], zn1 = Z.norms[j + 1], zn2 = Z.norms[j + 2], zn3 = Z.norms[j + 3];
      let o = i * width + (j - j0);
      tile[o] = xn0 + zn0 - 2 * s00; tile[o + 1] = xn0 + zn1 - 2 * s01;
      tile[o + 2] = xn0 + zn2 - 2 * s02; tile[o + 3] = xn0 + zn3 - 2 * s03;
      o += width;
      tile[o] = xn1 + zn0 - 2 * s10; tile[o + 1] = xn1 + zn1 - 2 * s11;
      tile[o + 2] = xn1 + zn2 - 2 * s12; tile[o + 3] = xn1 + zn3 - 2 * s13;
      o += width;
      tile[o] = xn2 + zn0 - 2 * s20; tile[o + 1] = xn2 + zn1 - 2 * s21;
      tile[o + 2] = xn2 + zn2 - 2 * s22; tile[o + 3] = xn2 + zn3 - 2 * s23;
      o += width;
      tile[o] = xn3 + zn0 - 2 * s30; tile[o + 1] = xn3 + zn1 - 2 * s31;
      tile[o + 2] = xn3 + zn2 - 2 * s32; tile[o + 3] = xn3 + zn3 - 2 * s33;
    }
  }
}

/**
 * acc[i·l + c] += Σ_{j ∈ [j0, jEnd)} tile[i·width + (j − j0)] · alpha[j·l + c] for the real rows i.
 * jEnd ≤ the real number of centers, so padded centers never contribute.
 */
export function accumulateTimesWeights(
  tile: Float32Array,
  width: number,
  rows: number,
  alpha: Float32Array,
  l: number,
  j0: number,
  jEnd: number,
  acc: Float64Array,
): void {
  for (let i = 0; i < rows; i++) {
    const t = i * width - j0;
    const o = i * l;
    if (l === 1) {
      let sum = 0;
      for (let j = j0; j < jEnd; j++) sum += tile[t + j] * alpha[j];
      acc[o] += sum;
      continue;
    }
    for (let j = j0; j < jEnd; j++) {
      const w = tile[t + j];
      const a = j * l;
      for (let c = 0; c < l; c++) acc[o + c] += w * alpha[a + c];
    }
  }
}
