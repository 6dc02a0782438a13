// out[i] (+)= Σ_chunk partials[chunk · count + i]: the second pass of the fused block, summing the
// per-chunk partial outputs of fused.wgsl. `accumulate` adds onto out (center blocks after the
// first) instead of overwriting it.

struct ReduceParams {
  count: u32,   // m × l
  chunks: u32,
  accumulate: u32,
  pad0: u32,
}

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> result: array<f32>;
@group(0) @binding(2) var<uniform> params: ReduceParams;

@compute @workgroup_size(64)
fn reduce(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.x + id.y * groups.x * 64u;
  if (i >= params.count) {
    return;
  }
  var sum = 0.0f;
  for (var chunk = 0u; chunk < params.chunks; chunk++) {
    sum += partials[chunk * params.count + i];
  }
  if (params.accumulate != 0u) {
    result[i] += sum;
  } else {
    result[i] = sum;
  }
}
