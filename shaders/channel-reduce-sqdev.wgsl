// Term of channel-reduce.wgsl: squared deviation from the channel mean. Summing these in a second pass
// (rather than sum(x^2) - n * mean^2) avoids cancellation, so the batch variance stays accurate in f32.
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;

fn term(i: u32, c: u32) -> f32 {
  let d = x[i] - mean[c];
  return d * d;
}
