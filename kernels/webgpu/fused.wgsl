// The fused block: partials[chunk] = k(X, Z[tiles of the chunk]) · α[same centers], appended to
// tile.wgsl. The kernel matrix never reaches global memory: each 64 × 64 tile of it lives in
// workgroup memory just long enough to be multiplied by α.
//
// Grid: (row tiles of X, chunks of center tiles). A workgroup walks its chunk's tiles_per_chunk
// tiles and accumulates its 64 × l slice of partials[chunk] in place; it alone owns that slice,
// and each invocation always owns the same elements of it, so no synchronization is needed
// there. reduce.wgsl then sums the chunks.
//
// α is stored output-major and padded (alpha[c][j], c < l rounded up to 4, j < block rows rounded
// up to TILE, zeros in the padding), so that 4 consecutive centers of one output are one aligned
// vec4 load and no read leaves the buffer. Tiles start on multiples of TILE; centers outside
// [col_begin, col_end) get kernel value 0.

struct FusedParams {
  m: u32,               // rows of X in this call
  d: u32,
  l: u32,
  col_begin: u32,       // first center of the range, block-local
  col_end: u32,         // one past the last, block-local
  tiles_per_chunk: u32,
  alpha_stride: u32,    // vec4 per output row of alpha: padded block rows / 4
  pad0: u32,
}

@group(0) @binding(4) var<storage, read> alpha: array<vec4<f32>>;     // padded outputs × padded rows / 4
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;  // chunks × m × l
@group(0) @binding(6) var<uniform> params: FusedParams;

// The kernel tile's row `row`, quad q (centers 4q .. 4q + 3) lives at slot row·16 + (q ^ row % 16):
// the XOR spreads the 64 rows read side by side in the product with α over all memory banks.
fn tile_slot(row: u32, q: u32) -> u32 {
  return row * 16u + (q ^ (row % 16u));
}

@compute @workgroup_size(16, 16)
fn fused(@builtin(local_invocation_id) local: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
  let row0 = group.x * TILE;
  let chunk = group.y;
  let flat = local.y * 16u + local.x;
  let l = params.l;
  let stride = params.alpha_stride;
  let first_col = (params.col_begin / TILE) * TILE;
  // Work items of the product with α: 64 rows × groups of 4 outputs, rows varying fastest.
  let items = TILE * ((l + 3u) / 4u);
  for (var t = 0u; t < params.tiles_per_chunk; t++) {
    let col0 = first_col + (chunk * params.tiles_per_chunk + t) * TILE;
    if (col0 >= params.col_end) {
      break;
    }
    let values = kernel_tile(local, row0, params.m, col0, params.col_begin, params.col_end, params.d);
    // kernel_tile ended on a barrier: the operand slices are free to overwrite.
    for (var i = 0u; i < 4u; i++) {
      scratch[tile_slot(4u * local.y + i, local.x)] = values[i];
    }
    workgroupBarrier();
    for (var w = flat; w < items; w += 256u) {
      let row = w % TILE;
      let c0 = 4u * (w / TILE);
      if (row0 + row < params.m) {
        let base = c0 * stride + col0 / 4u;
        var sum = vec4<f32>(0.0f);
        for (var q = 0u; q < 16u; q++) {
          let k = scratch[tile_slot(row, q)];
          sum.x += dot(k, alpha[base + q]);
          sum.y += dot(k, alpha[base + stride + q]);
          sum.z += dot(k, alpha[base + 2u * stride + q]);
          sum.w += dot(k, alpha[base + 3u * stride + q]);
        }
        let index = (chunk * params.m + row0 + row) * l + c0;
        for (var c = 0u; c < min(4u, l - c0); c++) {
          if (t == 0u) {
            partials[index + c] = sum[c];
          } else {
            partials[index + c] += sum[c];
          }
        }
      }
    }
    // The next tile's operand slices overwrite the kernel tile.
    workgroupBarrier();
  }
}
