// disagreementMse pass 3: d loss / d logits, zero where the students agree (no gradient flows
// through D or through `other`) and where the target is IGNORE_LABEL. With g_k = d loss / d p_k = w (2 / C) (p_k - onehot_k) / (sum D + eps),
// the softmax Jacobian gives dz_c = p_c (g_c - sum_k p_k g_k).
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> other: array<f32>;
@group(0) @binding(3) var<storage, read> target_labels: array<u32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad: array<f32>;

override WG: u32 = 256u;
override C: u32 = 2u;

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
  if (target_labels[i] == IGNORE_LABEL || !disagrees(base, spatial)) {
    for (var c = 0u; c < C; c++) {
      grad[base + c * spatial] = 0.0;
    }
    return;
  }
  let shift = softmax_shift(base, spatial);
  let label = target_labels[i];
  let scale = voxel_weight(s) * (2.0 / f32(C)) * stats[0];
  var weighted = 0.0;
  for (var c = 0u; c < C; c++) {
    let p = exp(logits[base + c * spatial] - shift);
    weighted += p * scale * (p - select(0.0, 1.0, label == c));
  }
  for (var c = 0u; c < C; c++) {
    let p = exp(logits[base + c * spatial] - shift);
    grad[base + c * spatial] = p * (scale * (p - select(0.0, 1.0, label == c)) - weighted);
  }
}
