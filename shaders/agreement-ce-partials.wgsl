// agreementCrossEntropy pass 1: per-chunk partial sums of A(v) CE(v) and A(v) over the whole batch,
// A(v) = [labels == other] (the two students' cleaned labels agree) and CE(v) = lse(logits) - z_label.
// Workgroup `chunk` covers flat voxels [chunk * WG * items, (chunk + 1) * WG * items) of the N*D*H*W
// grid and writes 2 values; disagreement-mse-finalize folds them into the scalar, as it does for the
// disagreement loss (same layout: value sum, then count).
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> other: array<u32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

override WG: u32 = 256u;
override C: u32 = 2u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let chunk = wid.x;
  let spatial = params.spatial;
  var ce_sum = 0.0;
  var count = 0.0;
  let start = chunk * WG * params.items;
  for (var k = 0u; k < params.items; k++) {
    let i = start + k * WG + tid;
    if (i < params.voxels) {
      let label = labels[i];
      if (other[i] == label) {
        let base = (i / spatial) * C * spatial + i % spatial;
        ce_sum += softmax_shift(base, spatial) - logits[base + label * spatial];
        count += 1.0;
      }
    }
  }
  let ce_total = workgroup_sum(tid, ce_sum);
  let count_total = workgroup_sum(tid, count);
  if (tid == 0u) {
    partials[2u * chunk] = ce_total;
    partials[2u * chunk + 1u] = count_total;
  }
}
