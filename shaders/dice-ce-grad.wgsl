// diceCeLoss pass 3: d loss / d logits per voxel from the coefficients of the finalize pass, zero
// outside region R and on voxels labeled IGNORE_LABEL. Dice acts through the softmax Jacobian, dz_c = p_c (g_c - sum_k p_k g_k) with
// g_k = d loss / d p_k; cross-entropy's logit gradient is simply scale * (p_c - y_c).
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;

override WG: u32 = 256u;
override C: u32 = 2u;
override Q: u32;
const IGNORE_LABEL: u32 = 255u;

fn in_region(s: u32) -> bool {
  if (params.region == 0u) {
    return true;
  }
  return u32(mask[s] != 0u) == select(0u, 1u, params.region == 1u);
}

// d loss / d p_c at a voxel of sample n whose label is `label` (Dice part only).
fn dice_dp(n: u32, c: u32, label: u32) -> f32 {
  let at = params.samples * Q + 2u * (n * C + c);
  return stats[at + 1u] * (stats[at] - select(0.0, 2.0, label == c));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.voxels) {
    return;
  }
  let spatial = params.spatial;
  let n = i / spatial;
  let s = i % spatial;
  let base = n * C * spatial + s;
  if (!in_region(s) || labels[i] == IGNORE_LABEL) {
    for (var c = 0u; c < C; c++) {
      grad[base + c * spatial] = 0.0;
    }
    return;
  }
  let shift = softmax_shift(base, spatial);
  let label = labels[i];
  var weighted = 0.0;
  for (var c = 0u; c < C; c++) {
    weighted += exp(logits[base + c * spatial] - shift) * dice_dp(n, c, label);
  }
  let ce_scale = stats[params.samples * Q + 2u * params.samples * C];
  for (var c = 0u; c < C; c++) {
    let p = exp(logits[base + c * spatial] - shift);
    let y = select(0.0, 1.0, label == c);
    grad[base + c * spatial] = p * (dice_dp(n, c, label) - weighted) + ce_scale * (p - y);
  }
}
