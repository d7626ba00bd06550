// PyTorch SGD (dampening 0, no Nesterov), in place:
//   g = grad + weight_decay * param;  buf = momentum * buf + g;  param = param - lr * buf.
// A zero-initialised buffer makes the first step buf = g, as PyTorch's clone on first use does.
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> momentum_buffer: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  let g = grad[i] + params.weight_decay * param[i];
  let buf = params.momentum * momentum_buffer[i] + g;
  momentum_buffer[i] = buf;
  param[i] = param[i] - params.lr * buf;
}
