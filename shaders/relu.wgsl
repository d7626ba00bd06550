// out = max(x, 0), NaN passing through as in the reference (Math.max) and torch.relu, so a diverging
// network shows up as NaN instead of being silently zeroed. WGSL lets compilers assume floats are
// never NaN (SwiftShader folds `x <= 0` to true for NaN), so the test is done on the bits: keep x when
// its sign bit is clear (+0 included) or when it is a NaN; a negative value and -0 give +0.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let bits = bitcast<u32>(x[i]);
  let keep = (bits & 0x80000000u) == 0u || (bits & 0x7fffffffu) > 0x7f800000u;
  out[i] = select(0.0, x[i], keep);
}
