// Dropout3d mask [N, C]: element i = n * C + c is kept iff uniform_at(seed, i) >= p (src/ops/random.ts).
// uniform_at is (top 24 bits of the hash) / 2^24, so the test is done on those integer bits against
// threshold = ceil(p * 2^24): it is then exact, whereas comparing with an f32 copy of p could flip
// draws that lie between p and its nearest f32.
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let bits = mix32(mix32(params.seed) ^ i) >> 8u;
  out[i] = select(0.0, params.keep_scale, bits >= params.threshold);
}
