// The tile both kernel shaders share (fused.wgsl and block.wgsl are appended to this text):
// k(x_i, z_j) for a TILE × TILE block of rows of X and centers Z, from
// r² = ‖x‖² + ‖z‖² − 2·x·z, clamped at 0, then the kernel's formula.
//
// A workgroup is 16 × 16 invocations; each owns a 4 × 4 register block: rows 4·ly .. 4·ly + 3 and
// centers 4·lx .. 4·lx + 3 of the tile. The inner product runs DEPTH features at a time through
// workgroup memory: both operand slices are stored feature-major as vec4 of 4 consecutive rows, so
// one step of the inner loop is two vec4 loads and 16 multiply-adds.
//
// One substitution point, in kernel_value: the WGSL f32 expression of r2 and r (expression.ts).

const TILE: u32 = 64u;
const DEPTH: u32 = 32u;
// vec4 slots per operand slice: DEPTH features × TILE / 4 row quads.
const SLICE: u32 = DEPTH * 16u;
// Rows one pass of the 256 loading invocations covers.
const LOAD_STRIDE: u32 = 256u / DEPTH;

@group(0) @binding(0) var<storage, read> x_rows: array<f32>;   // rows of X, row-major, d each
@group(0) @binding(1) var<storage, read> x_norms: array<f32>;  // ‖x_i‖²
@group(0) @binding(2) var<storage, read> z_rows: array<f32>;   // one block of centers, d each
@group(0) @binding(3) var<storage, read> z_norms: array<f32>;  // ‖z_j‖² for that block

// 16 KiB, the WebGPU minimum of maxComputeWorkgroupStorageSize: the two operand slices fill it
// during the inner product; afterwards the shaders may reuse it (fused.wgsl stores the 64 × 64
// kernel tile here, one vec4 of 4 centers per slot).
var<workgroup> scratch: array<vec4<f32>, 1024>;

// Math.pow's meaning where WGSL's pow is undefined (x < 0) or implementation-defined (x = 0):
// kernels such as exppower evaluate pow(r2, h) at r2 = 0, where k(0) must come out exact.
// (Infinity and NaN cannot be written as WGSL constants: 1/x at x = 0 is computed at run time.)
fn pow_js(x: f32, y: f32) -> f32 {
  if (y == 0.0f) {
    return 1.0f;
  }
  if (x == 0.0f) {
    return select(1.0f / x, 0.0f, y > 0.0f); // 0 for y > 0, Infinity (Math.pow(0, y < 0)) else
  }
  if (x > 0.0f) {
    return pow(x, y);
  }
  if (y != floor(y)) {
    return pow(x, y); // NaN in JS; undefined in WGSL, and no kernel is defined there anyway
  }
  let magnitude = pow(-x, y);
  return select(magnitude, -magnitude, y - 2.0f * floor(y * 0.5f) == 1.0f); // odd y keeps the sign
}

fn kernel_value(distance2: f32) -> f32 {
  let r2 = max(distance2, 0.0f);
  let r = sqrt(r2);
  return {{KERNEL}};
}

// r² = ‖x‖² + ‖z‖² − 2·x·z loses its relative accuracy in f32 when r² ≪ ‖x‖² + ‖z‖² (a point
// and itself, near-duplicates, data far from the origin), which steep kernels such as the
// laplacian magnify. Such pairs are recomputed directly as Σ (x_k − z_k)²: on typical data
// r² / (‖x‖² + ‖z‖²) is near 1/2 and few pairs fall below the threshold.
const RECOMPUTE_BELOW: f32 = 0.125f;

fn direct_distance(x_row: u32, z_row: u32, d: u32) -> f32 {
  var sum = 0.0f;
  for (var k = 0u; k < d; k++) {
    let t = x_rows[x_row * d + k] - z_rows[z_row * d + k];
    sum = fma(t, t, sum);
  }
  return sum;
}

// Kernel values of this invocation's 4 × 4 block: element [i][j] is k(x[row0 + 4·ly + i],
// z[col0 + 4·lx + j]); entries outside rows < row_end and col_lo ≤ cols < col_end are 0. Every
// invocation of the workgroup must call it (it synchronizes the workgroup).
fn kernel_tile(local: vec3<u32>, row0: u32, row_end: u32, col0: u32, col_lo: u32, col_end: u32, d: u32) -> array<vec4<f32>, 4> {
  let flat = local.y * 16u + local.x;
  // Loading: invocation `flat` reads feature flat % DEPTH of rows flat / DEPTH + LOAD_STRIDE·q,
  // so that neighbouring invocations read neighbouring addresses of a row.
  let feature = flat % DEPTH;
  let first_row = flat / DEPTH;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < d; k0 += DEPTH) {
    let k = k0 + feature;
    for (var q = 0u; q < TILE / LOAD_STRIDE; q++) {
      let row = first_row + LOAD_STRIDE * q;
      var xv = 0.0f;
      if (row0 + row < row_end && k < d) {
        xv = x_rows[(row0 + row) * d + k];
      }
      var zv = 0.0f;
      if (col0 + row < col_end && k < d) {
        zv = z_rows[(col0 + row) * d + k];
      }
      scratch[feature * 16u + row / 4u][row % 4u] = xv;
      scratch[SLICE + feature * 16u + row / 4u][row % 4u] = zv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < DEPTH; kk++) {
      let a = scratch[kk * 16u + local.y];
      let b = scratch[SLICE + kk * 16u + local.x];
      acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
      acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
      acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
      acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
    }
    workgroupBarrier();
  }

  let col = col0 + 4u * local.x;
  var zn = vec4<f32>(0.0f);
  var col_ok = vec4<bool>(false);
  for (var j = 0u; j < 4u; j++) {
    if (col + j >= col_lo && col + j < col_end) {
      zn[j] = z_norms[col + j];
      col_ok[j] = true;
    }
  }
  var values: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + 4u * local.y + i;
    if (row < row_end) {
      let xn = x_norms[row];
      var r2 = xn + zn - 2.0f * acc[i];
      for (var j = 0u; j < 4u; j++) {
        if (col_ok[j] && r2[j] < RECOMPUTE_BELOW * (xn + zn[j])) {
          r2[j] = direct_distance(row, col + j, d);
        }
      }
      let k = vec4<f32>(kernel_value(r2.x), kernel_value(r2.y), kernel_value(r2.z), kernel_value(r2.w));
      values[i] = select(vec4<f32>(0.0f), k, col_ok);
    }
  }
  return values;
}
