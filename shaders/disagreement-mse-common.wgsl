// Included by the disagreementMse shaders, which declare the `logits`, `other` and `mask` bindings.

// src/ops/confidence.ts: a target voxel the loss skips.
const IGNORE_LABEL: u32 = 255u;

// D(v): the two students' argmax differ at this voxel. Argmax takes the first maximum on ties, as the
// argmax kernel does, so both backends agree on which voxels count.
fn disagrees(base: u32, stride: u32) -> bool {
  var best_mine = 0u;
  var top_mine = logits[base];
  var best_other = 0u;
  var top_other = other[base];
  for (var c = 1u; c < C; c++) {
    let mine = logits[base + c * stride];
    if (mine > top_mine) {
      top_mine = mine;
      best_mine = c;
    }
    let theirs = other[base + c * stride];
    if (theirs > top_other) {
      top_other = theirs;
      best_other = c;
    }
  }
  return best_mine != best_other;
}

// w(v): voxels outside the cube (mask 1) and inside it (mask 0) carry their own weights.
fn voxel_weight(s: u32) -> f32 {
  return select(params.weight_inside, params.weight_outside, mask[s] != 0u);
}
