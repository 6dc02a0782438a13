// The materialized block result = k(X, Y), appended to tile.wgsl (Y is bound as the "centers").
// Grid: (row tiles of X, column tiles of Y); each invocation writes its 4 × 4 values.

struct BlockParams {
  m: u32,   // rows of X
  d: u32,
  n: u32,   // rows of Y = columns of the result
  pad0: u32,
}

@group(0) @binding(4) var<storage, read_write> result: array<f32>;   // m × n, row-major
@group(0) @binding(5) var<uniform> params: BlockParams;

@compute @workgroup_size(16, 16)
fn block(@builtin(local_invocation_id) local: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
  let row0 = group.x * TILE;
  let col0 = group.y * TILE;
  let values = kernel_tile(local, row0, params.m, col0, 0u, params.n, params.d);
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + 4u * local.y + i;
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + 4u * local.x + j;
      if (row < params.m && col < params.n) {
        result[row * params.n + col] = values[i][j];
      }
    }
  }
}
