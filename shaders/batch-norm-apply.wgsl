// Training-mode batch norm output: y = gamma[c] * (x - mean[c]) * inv_std[c] + beta[c], with the batch
// statistics from batch-norm-stats.wgsl; with RELU = 1, max(y, 0) as relu.wgsl computes it (on the
// bits: NaN passes, negatives and -0 give +0), the fused batch norm -> ReLU stage.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> inv_std: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

override WG: u32 = 256u;
override RELU: u32 = 0u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let c = (i / params.voxels) % params.channels;
  let v = gamma[c] * (x[i] - mean[c]) * inv_std[c] + beta[c];
  let bits = bitcast<u32>(v);
  let keep = RELU == 0u || (bits & 0x80000000u) == 0u || (bits & 0x7fffffffu) > 0x7f800000u;
  y[i] = select(0.0, v, keep);
}
