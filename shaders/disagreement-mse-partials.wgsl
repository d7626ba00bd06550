// disagreementMse pass 1: per-chunk partial sums of D(v) e(v) and D(v) over the whole batch,
// e(v) = w(v) * mean_c (softmax(logits)_c - onehot(target)_c)^2. Workgroup `chunk` covers flat voxels
// [chunk * WG * items, (chunk + 1) * WG * items) of the N*D*H*W grid and writes 2 values. Voxels whose
// target is IGNORE_LABEL count in neither sum.
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> other: array<f32>;
@group(0) @binding(3) var<storage, read> target_labels: array<u32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

override WG: u32 = 256u;
override C: u32 = 2u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let chunk = wid.x;
  let spatial = params.spatial;
  var error_sum = 0.0;
  var count = 0.0;
  let start = chunk * WG * params.items;
  for (var k = 0u; k < params.items; k++) {
    let i = start + k * WG + tid;
    let n = i / spatial;
    let s = i % spatial;
    let base = n * C * spatial + s;
    if (i < params.voxels && target_labels[i] != IGNORE_LABEL && disagrees(base, spatial)) {
      let shift = softmax_shift(base, spatial);
      let label = target_labels[i];
      var squares = 0.0;
      for (var c = 0u; c < C; c++) {
        let d = exp(logits[base + c * spatial] - shift) - select(0.0, 1.0, label == c);
        squares += d * d;
      }
      error_sum += voxel_weight(s) * squares / f32(C);
      count += 1.0;
    }
  }
  let error_total = workgroup_sum(tid, error_sum);
  let count_total = workgroup_sum(tid, count);
  if (tid == 0u) {
    partials[2u * chunk] = error_total;
    partials[2u * chunk + 1u] = count_total;
  }
}
