// LA-EMA weight from a loss left on the device (no read-back): alpha = 1 - w_global * exp(-T * loss).
// w_global = max(1 / (1 + t), floor) depends on the iteration only, so the host passes it.
@group(0) @binding(1) var<storage, read> loss: array<f32>;
@group(0) @binding(2) var<storage, read_write> alpha: array<f32>;

@compute @workgroup_size(1)
fn main() {
  alpha[0] = 1.0 - params.global_weight * exp(-params.temperature * loss[0]);
}
