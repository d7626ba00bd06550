// Deterministic per-channel sum, shared by sum, mean, channelSum and the batch-norm statistics. It is
// included after a small "term" file that declares the inputs (bindings 2, 3, ...) and
// `fn term(i: u32, c: u32) -> f32`, the value element i of channel c contributes.
//
// The input is viewed as [outer, channels, inner]; channel c's values, taken in (outer, inner) order,
// form one sequence of length = outer * inner. Each workgroup sums one chunk of WG * ITEMS values of
// one channel's sequence: every invocation adds ITEMS values WG apart (neighbouring invocations read
// neighbouring addresses), then the workgroup adds its WG partial sums with workgroup_sum (included
// before this file: pairwise in a tree, shaders/workgroup-sum.wgsl, or by subgroups where the adapter
// has them). Rounding error grows with log2 of the length instead of linearly, and the order is fixed,
// so results repeat bit for bit. Partial sums land as [channels, chunks]; the host repeats the pass on them (outer = 1)
// until one value per channel is left, and the last pass divides by `divisor` (1, or the count for
// a mean). Chunking the whole sequence rather than each (outer, channel) row keeps the grid small
// when rows are short (e.g. [N, C] inputs).
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;

override WG: u32 = 256u;
override ITEMS: u32 = 4u;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  // Depends on the workgroup only, so the early return keeps the barriers below in uniform control flow.
  let group = wid.x + wid.y * nwg.x;
  if (group >= params.channels * params.chunks) { return; }
  let c = group / params.chunks;
  let chunk = group % params.chunks;

  let first = chunk * WG * ITEMS + lid;
  var acc = 0.0;
  for (var k = 0u; k < ITEMS; k++) {
    let j = first + k * WG;
    if (j < params.length) {
      let a = j / params.inner;
      let v = j - a * params.inner;
      acc += term((a * params.channels + c) * params.inner + v, c);
    }
  }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) {
    partials[group] = total / params.divisor;
  }
}
