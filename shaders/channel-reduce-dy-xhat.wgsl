// Term of channel-reduce.wgsl: dy * xhat with xhat = (x - mean) * inv_std, whose channel sum is the
// batch-norm gamma gradient.
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> inv_std: array<f32>;

fn term(i: u32, c: u32) -> f32 {
  return dy[i] * (x[i] - mean[c]) * inv_std[c];
}
