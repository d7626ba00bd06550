// Flips and quarter-turns of the three spatial axes of an [outer, D, H, W] tensor (outer = N * C for
// images, N for label maps), as one gather: output voxel q reads input voxel p with
//   p[j] = q[src_j]                  or, when bit j of flip_mask is set,
//   p[j] = in_dim[j] - 1 - q[src_j].
// flip uses src_j = j; rot90 swaps the two plane axes and reverses one or both (see geometry.ts).
// Elements are moved as raw 32-bit words, so one pipeline serves float32 and label tensors.
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let qw = i % params.out_w;
  let qh = (i / params.out_w) % params.out_h;
  let rest = i / (params.out_w * params.out_h);
  let qd = rest % params.out_d;
  let slice = rest / params.out_d;

  let q = array<u32, 3>(qd, qh, qw);
  let in_dim = array<u32, 3>(params.in_d, params.in_h, params.in_w);
  let src = array<u32, 3>(params.src_d, params.src_h, params.src_w);
  var p = array<u32, 3>(0u, 0u, 0u);
  for (var j = 0u; j < 3u; j++) {
    let v = q[src[j]];
    p[j] = select(v, in_dim[j] - 1u - v, ((params.flip_mask >> j) & 1u) == 1u);
  }
  out[i] = x[((slice * params.in_d + p[0]) * params.in_h + p[1]) * params.in_w + p[2]];
}
