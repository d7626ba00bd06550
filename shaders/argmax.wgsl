// Index of the largest channel per (n, voxel) of NCDHW, written as NDHW labels (u32 words). The strict
// `>` keeps the first channel on ties, as numpy and torch do. With FLAG_LOW (confidentArgmax, whose
// input is probabilities) 128 is added where the largest value is below `threshold`
// (src/ops/confidence.ts).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

override WG: u32 = 256u;
override FLAG_LOW: bool = false;

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
  out[i] = best + select(0u, 128u, FLAG_LOW && best_value < params.threshold);
}
