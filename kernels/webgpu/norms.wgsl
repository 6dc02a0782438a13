// norms[i] = ‖row i‖² for `rows` rows of d features: the squared norms of the batch X (every
// call) and of each center block (once, when the centers are uploaded).

struct NormsParams {
  rows: u32,
  d: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read_write> norms: array<f32>;
@group(0) @binding(2) var<uniform> params: NormsParams;

@compute @workgroup_size(64)
fn squared_norms(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.x + id.y * groups.x * 64u;
  if (i >= params.rows) {
    return;
  }
  var sum = 0.0f;
  let base = i * params.d;
  for (var k = 0u; k < params.d; k++) {
    let v = data[base + k];
    sum = fma(v, v, sum);
  }
  norms[i] = sum;
}
