// Batch-norm input gradient from the reduced dbeta = sum(dy) and dgamma = sum(dy * xhat), per channel:
//   dx = gamma * inv_std / M * (M * dy - dbeta - xhat * dgamma),  xhat = (x - mean) * inv_std,
// where M = N * D * H * W is the number of values each channel's statistics were taken over.
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> inv_std: array<f32>;
@group(0) @binding(6) var<storage, read> dgamma: array<f32>;
@group(0) @binding(7) var<storage, read> dbeta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let c = (i / params.voxels) % params.channels;
  let s = inv_std[c];
  let xhat = (x[i] - mean[c]) * s;
  let m = params.per_channel;
  dx[i] = gamma[c] * s / m * (m * dy[i] - dbeta[c] - xhat * dgamma[c]);
}
