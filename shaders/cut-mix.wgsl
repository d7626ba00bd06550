// out = a * M + b * (1 - M) with the [D, H, W] cube mask M (0 or 1) broadcast over N and C. With M a
// bit, the mix is a choice: a where M = 1 (outside the cube), b inside. Choosing raw 32-bit words moves
// float32 images and label maps (u32/i32 words) alike, bit for bit, and never forms 0 * b (NaN for an
// infinite b) as the arithmetic form would.
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  out[i] = select(b[i], a[i], mask[i % params.voxels] == 1u);
}
