// target = alpha * target + (1 - alpha) * source in place, named `averaged` and `incoming` here because
// WGSL reserves `target`. alpha is a device scalar (e.g. from la-ema-alpha.wgsl): no read-back needed.
@group(0) @binding(1) var<storage, read_write> averaged: array<f32>;
@group(0) @binding(2) var<storage, read> incoming: array<f32>;
@group(0) @binding(3) var<storage, read> alpha: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let a = alpha[0];
  averaged[i] = a * averaged[i] + (1.0 - a) * incoming[i];
}
