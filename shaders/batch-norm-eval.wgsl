// Eval-mode batch norm: y = (x - running_mean[c]) * scale + beta[c], scale = gamma[c] / sqrt(running_var[c] + eps).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> running_mean: array<f32>;
@group(0) @binding(5) var<storage, read> running_var: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let c = (i / params.voxels) % params.channels;
  let scale = gamma[c] / sqrt(running_var[c] + params.eps);
  y[i] = (x[i] - running_mean[c]) * scale + beta[c];
}
