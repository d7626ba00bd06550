// Included by the reduction and loss shaders: a deterministic tree sum over one workgroup of WG threads
// (WG a power of two). Every thread of the workgroup must call it, in uniform control flow; every thread
// gets the total. The fixed pairing order makes the result bit-identical from run to run.
// shaders/workgroup-sum-subgroup.wgsl is the same function over subgroup operations.
var<workgroup> wg_sum_scratch: array<f32, WG>;

fn workgroup_sum(tid: u32, value: f32) -> f32 {
  wg_sum_scratch[tid] = value;
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    workgroupBarrier();
    if (tid < stride) {
      wg_sum_scratch[tid] += wg_sum_scratch[tid + stride];
    }
  }
  workgroupBarrier();
  let total = wg_sum_scratch[0];
  // The next call overwrites the scratch: wait until every thread has read this total.
  workgroupBarrier();
  return total;
}
