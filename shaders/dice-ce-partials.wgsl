// diceCeLoss pass 1: partial sums over the voxels of region R, one workgroup per (chunk, sample n,
// class c). Workgroup (chunk, n, c) covers voxels [chunk * WG * items, (chunk + 1) * WG * items) of
// sample n and writes, in row (n, chunk) of Q = 3C + 2 values: sum p_c*y_c at [c], sum p_c at [C + c],
// sum y_c at [2C + c]; the class-0 workgroup also writes the cross-entropy sum at [3C] and the voxel
// count at [3C + 1]. Classes go to separate workgroups, not to per-thread arrays in workgroup memory:
// a WG x Q array costs SwiftShader seconds of compile time per class count, and the softmax each
// workgroup recomputes is a few cached reads.
// A voxel labeled IGNORE_LABEL is outside R. Any other label outside [0, C) matches no class and adds
// no cross-entropy (the GPU cannot raise; the reference refuses such labels).
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
// The cube mask; when the region is every voxel (region 0) any buffer is bound here and never read.
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

override WG: u32 = 256u;
override C: u32 = 2u;
override Q: u32;
const IGNORE_LABEL: u32 = 255u;

fn in_region(s: u32) -> bool {
  if (params.region == 0u) {
    return true;
  }
  // region 1 = outside the cube (mask bit 1), region 2 = inside (mask bit 0).
  return u32(mask[s] != 0u) == select(0u, 1u, params.region == 1u);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let chunk = wid.x;
  let n = wid.y;
  let c = wid.z;
  let spatial = params.spatial;
  var intersection = 0.0;
  var prob_sum = 0.0;
  var label_sum = 0.0;
  var cross_entropy = 0.0;
  var count = 0.0;
  let start = chunk * WG * params.items;
  for (var k = 0u; k < params.items; k++) {
    let s = start + k * WG + tid;
    if (s < spatial && in_region(s) && labels[n * spatial + s] != IGNORE_LABEL) {
      let base = n * C * spatial + s;
      let shift = softmax_shift(base, spatial);
      let label = labels[n * spatial + s];
      let p = exp(logits[base + c * spatial] - shift);
      let hit = label == c;
      intersection += select(0.0, p, hit);
      prob_sum += p;
      label_sum += select(0.0, 1.0, hit);
      if (label < C) {
        cross_entropy += shift - logits[base + label * spatial];
      }
      count += 1.0;
    }
  }
  let row = (n * params.chunks + chunk) * Q;
  let intersection_total = workgroup_sum(tid, intersection);
  let prob_total = workgroup_sum(tid, prob_sum);
  let label_total = workgroup_sum(tid, label_sum);
  if (tid == 0u) {
    partials[row + c] = intersection_total;
    partials[row + C + c] = prob_total;
    partials[row + 2u * C + c] = label_total;
  }
  // workgroup_id is uniform, so the barriers inside these sums stay in uniform control flow.
  if (c == 0u) {
    let cross_entropy_total = workgroup_sum(tid, cross_entropy);
    let count_total = workgroup_sum(tid, count);
    if (tid == 0u) {
      partials[row + 3u * C] = cross_entropy_total;
      partials[row + 3u * C + 1u] = count_total;
    }
  }
}
