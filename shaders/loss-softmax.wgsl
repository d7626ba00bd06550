// Included by the loss shaders: a numerically stable softmax over the C channels of one voxel of the
// NCDHW `logits` binding the including shader declares (module-scope names resolve in any order).
// `base` is the voxel's offset in channel 0 and `stride` the spatial size D*H*W between channels.

// max_c z_c + log sum_c exp(z_c - max): p_c = exp(z_c - shift), and -log p_c = shift - z_c.
// Subtracting the maximum first keeps exp from overflowing on large logits.
fn softmax_shift(base: u32, stride: u32) -> f32 {
  var top = logits[base];
  for (var c = 1u; c < C; c++) {
    top = max(top, logits[base + c * stride]);
  }
  var total = 0.0;
  for (var c = 0u; c < C; c++) {
    total += exp(logits[base + c * stride] - top);
  }
  return top + log(total);
}
