// Term of channel-reduce.wgsl: the element itself (sums, means, and every pass after the first).
@group(0) @binding(2) var<storage, read> x: array<f32>;

fn term(i: u32, c: u32) -> f32 {
  return x[i];
}
