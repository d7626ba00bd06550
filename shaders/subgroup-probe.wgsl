// Probe for shaders/workgroup-sum-subgroup.wgsl's assumption on this adapter, at workgroup size WG:
// each invocation writes 1 when its subgroup is a full, consecutive run of local_invocation_index
// (lane = index mod subgroup size, first lane's index = index - lane) and WG is a multiple of the
// subgroup size; 0 otherwise. The kernels use subgroups at WG only if every invocation wrote 1.
@group(0) @binding(1) var<storage, read_write> flags: array<u32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(
  @builtin(local_invocation_index) tid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) size: u32,
) {
  let members = subgroupAdd(1u);
  let first = subgroupBroadcastFirst(tid);
  let ok = members == size && WG % size == 0u && lane == tid % size && first == tid - lane;
  flags[tid] = select(0u, 1u, ok);
}
