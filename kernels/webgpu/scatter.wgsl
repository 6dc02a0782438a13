// α[c][rows[p]] += deltas[p, c] for pairs p in [first, first + count / l): the solver's weight
// update, applied on the device. Rows are distinct within a dispatch (the host sums repeated rows
// first), so no two invocations touch the same weight and no atomics are needed.

struct ScatterParams {
  count: u32,   // pairs × l
  l: u32,
  first: u32,   // first pair of this dispatch
  stride: u32,  // floats per output row of alpha (padded block rows)
}

@group(0) @binding(0) var<storage, read_write> alpha: array<f32>;   // output-major, as in fused.wgsl
@group(0) @binding(1) var<storage, read> rows: array<u32>;
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<uniform> params: ScatterParams;

@compute @workgroup_size(64)
fn scatter_add(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.x + id.y * groups.x * 64u;
  if (i >= params.count) {
    return;
  }
  let p = params.first + i / params.l;
  let c = i % params.l;
  alpha[c * params.stride + rows[p]] += deltas[p * params.l + c];
}
