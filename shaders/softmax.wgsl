// Softmax over the channel axis of NCDHW, one invocation per (n, voxel). Channel values of one voxel
// lie `voxels` apart, so neighbouring invocations read neighbouring addresses. The maximum is
// subtracted first so exp cannot overflow.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let n = i / params.voxels;
  let base = n * params.channels * params.voxels + i % params.voxels;
  var largest = x[base];
  for (var c = 1u; c < params.channels; c++) { largest = max(largest, x[base + c * params.voxels]); }
  var total = 0.0;
  for (var c = 0u; c < params.channels; c++) { total += exp(x[base + c * params.voxels] - largest); }
  for (var c = 0u; c < params.channels; c++) {
    let at = base + c * params.voxels;
    out[at] = exp(x[at] - largest) / total;
  }
}
