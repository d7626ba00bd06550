// Index of the largest probability per (n, voxel) of NCDHW, plus 128 where that probability is below
// `threshold` (src/ops/confidence.ts), written as NDHW labels (u32 words). The strict `>` keeps the
// first channel on ties, as the argmax kernel does.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let n = i / params.voxels;
  let base = n * params.channels * params.voxels + i % params.voxels;
  var best = 0u;
  var best_value = x[base];
  for (var c = 1u; c < params.channels; c++) {
    let v = x[base + c * params.voxels];
    if (v > best_value) {
      best = c;
      best_value = v;
    }
  }
  out[i] = best + select(0u, 128u, best_value < params.threshold);
}
