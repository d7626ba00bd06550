// dx = dy where the forward output y > 0, else 0: the ReLU gradient from its saved output. y > 0 is
// read from the bits (sign clear, not zero, not NaN) because WGSL compilers may assume no NaN, and
// a NaN y must give 0 as in the reference.
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let bits = bitcast<u32>(y[i]);
  let positive = (bits & 0x80000000u) == 0u && bits != 0u && bits <= 0x7f800000u;
  dx[i] = select(0.0, dy[i], positive);
}
