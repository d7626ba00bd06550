// out[i] = sum over z of partial[z * count + i]: the second pass of a split-K convolution. The
// slices are summed in order z = 0, 1, ..., so results do not depend on scheduling.
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  var sum = 0.0;
  for (var z = 0u; z < params.splits; z++) {
    sum += partial[z * params.count + i];
  }
  out[i] = sum;
}
