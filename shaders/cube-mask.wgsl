// Cube mask [D, H, W]: 1 outside the cube [start, start + size) along every axis, 0 inside (METHOD.md).
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

override WG: u32 = 256u;

fn inside(v: i32, start: i32, size: i32) -> bool {
  return v >= start && v < start + size;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.depth * params.height * params.width) { return; }
  let w = i32(i % params.width);
  let h = i32((i / params.width) % params.height);
  let d = i32(i / (params.width * params.height));
  let in_cube = inside(d, params.start_d, params.size_d) && inside(h, params.start_h, params.size_h) &&
    inside(w, params.start_w, params.size_w);
  out[i] = select(1u, 0u, in_cube);
}
