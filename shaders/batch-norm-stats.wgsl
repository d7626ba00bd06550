// Per channel, after the mean and biased variance are reduced: inv_std = 1 / sqrt(var + eps), and the
// running statistics move in place the PyTorch way, running = (1 - m) * running + m * batch, with the
// unbiased variance var * n / (n - 1) (`unbias` = n / (n - 1), computed on the host).
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> variance: array<f32>;
@group(0) @binding(3) var<storage, read_write> inv_std: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_var: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= params.channels) { return; }
  let m = params.momentum;
  inv_std[c] = 1.0 / sqrt(variance[c] + params.eps);
  running_mean[c] = (1.0 - m) * running_mean[c] + m * mean[c];
  running_var[c] = (1.0 - m) * running_var[c] + m * variance[c] * params.unbias;
}
