// disagreementMse pass 2, one workgroup: loss = sum D e / (sum D + eps); stats[0] keeps
// 1 / (sum D + eps), the factor every voxel's gradient shares.
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

override WG: u32 = 256u;

const REGION_EPS: f32 = 1e-16;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32) {
  var error_part = 0.0;
  var count_part = 0.0;
  for (var g = tid; g < params.chunks; g += WG) {
    error_part += partials[2u * g];
    count_part += partials[2u * g + 1u];
  }
  let error_total = workgroup_sum(tid, error_part);
  let count_total = workgroup_sum(tid, count_part);
  if (tid == 0u) {
    let norm = count_total + REGION_EPS;
    stats[0] = 1.0 / norm;
    loss[0] = error_total / norm;
  }
}
