// workgroup_sum of shaders/workgroup-sum.wgsl over subgroup operations (the program enables
// `subgroups`): each subgroup adds its values in registers, its first lane writes the subgroup's sum,
// and every thread adds those sums in subgroup order. Two barriers a call instead of log2(WG) + 2.
// Same contract: all threads call it in uniform control flow and get the total; the order is fixed
// on a given adapter, so results repeat bit for bit there (they differ from the tree's in rounding).
//
// The slot of a subgroup's sum is tid / size, which assumes subgroups are consecutive runs of
// local_invocation_index, full, with WG a multiple of their size. WGSL does not promise that, so the
// backend runs a probe on the adapter first (src/backend/webgpu/subgroups.ts) and uses this file only
// for the workgroup sizes where the probe held.
var<workgroup> wg_sum_partials: array<f32, WG>;

fn workgroup_sum(tid: u32, value: f32) -> f32 {
  let sum = subgroupAdd(value);
  let size = subgroupAdd(1u);
  if (tid % size == 0u) {
    wg_sum_partials[tid / size] = sum;
  }
  workgroupBarrier();
  var total = 0.0;
  for (var s = 0u; s < WG / size; s++) {
    total += wg_sum_partials[s];
  }
  // The next call overwrites the partials: wait until every thread has read them.
  workgroupBarrier();
  return total;
}
