// diceCeLoss pass 2, one workgroup: folds the per-chunk partials into per-sample totals, then turns
// them into the loss and the coefficients the gradient pass needs.
// stats layout: [N * Q totals | per (n, c): ratio r, dice gradient scale k | cross-entropy scale].
//   r_nc = (2 I + smooth) / den, den = sum p + sum y + smooth,  k_nc = weight / (2 N C den),
//   so d loss / d p_c(v) (Dice part) = k_nc * (r_nc - 2 y_c(v)); ce scale = weight / (2 (|R| + eps)).
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

override WG: u32 = 256u;
override C: u32 = 2u;
override Q: u32;

const DICE_SMOOTH: f32 = 1e-5;
const REGION_EPS: f32 = 1e-16;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32) {
  let samples = params.samples;
  let chunks = params.chunks;
  for (var j = 0u; j < samples * Q; j++) {
    let n = j / Q;
    let q = j % Q;
    var part = 0.0;
    for (var g = tid; g < chunks; g += WG) {
      part += partials[(n * chunks + g) * Q + q];
    }
    let total = workgroup_sum(tid, part);
    if (tid == 0u) {
      stats[j] = total;
    }
  }
  // The rest is N*C scalars: one thread, in a fixed order, so the loss is reproducible.
  if (tid != 0u) {
    return;
  }
  let pairs = f32(samples * C);
  let coef = samples * Q;
  var ratio_sum = 0.0;
  var cross_entropy = 0.0;
  var region_size = 0.0;
  for (var n = 0u; n < samples; n++) {
    for (var c = 0u; c < C; c++) {
      let intersection = stats[n * Q + c];
      let den = stats[n * Q + C + c] + stats[n * Q + 2u * C + c] + DICE_SMOOTH;
      let ratio = (2.0 * intersection + DICE_SMOOTH) / den;
      ratio_sum += ratio;
      stats[coef + 2u * (n * C + c)] = ratio;
      stats[coef + 2u * (n * C + c) + 1u] = params.weight / (2.0 * pairs * den);
    }
    cross_entropy += stats[n * Q + 3u * C];
    region_size += stats[n * Q + 3u * C + 1u];
  }
  let ce_norm = region_size + REGION_EPS;
  stats[coef + 2u * samples * C] = params.weight / (2.0 * ce_norm);
  loss[0] = params.weight * ((1.0 - ratio_sum / pairs) + cross_entropy / ce_norm) / 2.0;
}
