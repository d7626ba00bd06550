// Counter-based RNG shared by shaders that need randomness; identical to src/ops/random.ts.
fn mix32(v: u32) -> u32 {
  var x = v;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}

fn uniform_at(seed: u32, index: u32) -> f32 {
  return f32(mix32(mix32(seed) ^ index) >> 8u) / 16777216.0;
}
