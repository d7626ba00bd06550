// The optimizer family (ops/optimizer.ts): SGD, the LA-EMA weight and the EMA update. They compute in
// float64 from float32 storage, so they round exactly as the float64 reference does.
// SGD and the EMA update are Range kernels over chunks of ELEMENT_CHUNK values (elementUnits), so
// the pool shares the big parameters (a 256 -> 256 k3 weight is 1.8 M values).
import { ELEMENT_CHUNK } from './chunks';

/**
 * PyTorch SGD: buf = momentum * buf + (g + wd * p); p -= lr * buf (the stored, rounded buf), over
 * units [begin, end) of elementUnits(count).
 */
export function sgdStepRange(
  param: usize, grad: usize, buf: usize, count: i32, lr: f64, momentum: f64, weightDecay: f64, begin: i32, end: i32,
): void {
  for (let i = begin * ELEMENT_CHUNK, last = min(count, end * ELEMENT_CHUNK); i < last; i++) {
    const o = <usize>i << 2;
    const p = <f64>load<f32>(param + o);
    const g = <f64>load<f32>(grad + o) + weightDecay * p;
    const m = <f32>(momentum * <f64>load<f32>(buf + o) + g);
    store<f32>(buf + o, m);
    store<f32>(param + o, <f32>(p - lr * <f64>m));
  }
}

/** alpha = 1 - max(1 / (1 + t), floor) * exp(-temperature * loss), from a scalar loss on the device. */
export function laEmaAlphaF32(loss: usize, out: usize, t: f64, temperature: f64, floor: f64): void {
  const globalWeight = max(1 / (1 + t), floor);
  store<f32>(out, <f32>(1 - globalWeight * Math.exp(-temperature * <f64>load<f32>(loss))));
}

/** target = alpha * target + (1 - alpha) * source, alpha read from a scalar tensor; units as sgdStepRange. */
export function emaUpdateRange(target: usize, source: usize, alphaPtr: usize, count: i32, begin: i32, end: i32): void {
  const a = <f64>load<f32>(alphaPtr);
  for (let i = begin * ELEMENT_CHUNK, last = min(count, end * ELEMENT_CHUNK); i < last; i++) {
    const o = <usize>i << 2;
    store<f32>(target + o, <f32>(a * <f64>load<f32>(target + o) + (1 - a) * <f64>load<f32>(source + o)));
  }
}
