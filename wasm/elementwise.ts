// Elementwise and per-channel kernels. Sums and products of two float32 values are exact in
// float64, so the float32 SIMD versions round exactly as the float64 reference does; kernels with
// a float64 scalar (scale) compute in float64 for the same reason. The optimizer kernels are in optimizer.ts.
// The Range kernels are passes the thread pool shares (rangeStep in src/backend/wasm/runtime.ts):
// units are chunks of ELEMENT_CHUNK floats, or channel planes.
import { ELEMENT_CHUNK } from './chunks';

/** Units of a Range kernel over `count` floats. */
export function elementUnits(count: i32): i32 {
  return (count + ELEMENT_CHUNK - 1) / ELEMENT_CHUNK;
}

/** y = a + b over units [begin, end) of `count` floats. */
export function addRange(a: usize, b: usize, y: usize, count: i32, begin: i32, end: i32): void {
  const last = min(count, end * ELEMENT_CHUNK);
  let i = begin * ELEMENT_CHUNK;
  for (; i + 4 <= last; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < last; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** y = max(x, 0) over units [begin, end); NaN stays NaN like Math.max (f32x4.max propagates it), -0 gives +0. */
export function reluRange(x: usize, y: usize, count: i32, begin: i32, end: i32): void {
  const zero = f32x4.splat(0);
  const last = min(count, end * ELEMENT_CHUNK);
  let i = begin * ELEMENT_CHUNK;
  for (; i + 4 <= last; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.max(v128.load(x + o), zero));
  }
  for (; i < last; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, max(load<f32>(x + o), 0));
  }
}

/** dx = y > 0 ? dy : 0 over units [begin, end). */
export function reluBackwardRange(dy: usize, y: usize, dx: usize, count: i32, begin: i32, end: i32): void {
  const zero = f32x4.splat(0);
  const last = min(count, end * ELEMENT_CHUNK);
  let i = begin * ELEMENT_CHUNK;
  for (; i + 4 <= last; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(y + o), zero)));
  }
  for (; i < last; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(y + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

/** y = a * x with a float64 scalar. */
export function scaleF32(x: usize, y: usize, count: i32, a: f64): void {
  for (let i = 0; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, <f32>(a * <f64>load<f32>(x + o)));
  }
}

/**
 * Per (n, c) plane of `inner` floats, planes [begin, end) of N C: y = x + b[c] (multiply 0) or
 * y = x * s[n * C + c] (multiply 1).
 */
export function channelAffineRange(x: usize, v: usize, y: usize, c: i32, inner: i32, multiply: i32, begin: i32, end: i32): void {
  for (let p = begin; p < end; p++) {
    const plane = <usize>p * <usize>inner << 2;
    const k = multiply ? load<f32>(v + (<usize>p << 2)) : load<f32>(v + (<usize>(p % c) << 2));
    const kv = f32x4.splat(k);
    const vecEnd = <usize>(inner & ~3) << 2;
    for (let i: usize = 0; i < vecEnd; i += 16) {
      const xv = v128.load(x + plane + i);
      v128.store(y + plane + i, multiply ? f32x4.mul(xv, kv) : f32x4.add(xv, kv));
    }
    for (let i = inner & ~3; i < inner; i++) {
      const o = plane + (<usize>i << 2);
      store<f32>(y + o, multiply ? load<f32>(x + o) * k : load<f32>(x + o) + k);
    }
  }
}

/** Sum in float64 of `count` floats starting at x. */
export function sumF64(x: usize, count: i32): f64 {
  let acc: f64 = 0;
  for (let i = 0; i < count; i++) acc += <f64>load<f32>(x + (<usize>i << 2));
  return acc;
}

/** partial[p] = the float64 sum of plane p (of `inner` floats), planes [begin, end). */
export function planeSumsRange(x: usize, partial: usize, inner: i32, begin: i32, end: i32): void {
  for (let p = begin; p < end; p++) {
    const from = x + (<usize>p * <usize>inner << 2);
    let a0 = f64x2.splat(0), a1 = a0;
    let i = 0;
    for (; i + 4 <= inner; i += 4) {
      const v = v128.load(from + (<usize>i << 2));
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
      a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3)));
    }
    const s = f64x2.add(a0, a1);
    let acc = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
    for (; i < inner; i++) acc += <f64>load<f32>(from + (<usize>i << 2));
    store<f64>(partial + (<usize>p << 3), acc);
  }
}

/** out[c] = sum over n of planeSumsRange's partial[n C + c], in order of n. */
export function channelSumFinalize(partial: usize, out: usize, n: i32, c: i32): void {
  for (let ch = 0; ch < c; ch++) {
    let acc: f64 = 0;
    for (let b = 0; b < n; b++) acc += load<f64>(partial + (<usize>(b * c + ch) << 3));
    store<f32>(out + (<usize>ch << 2), <f32>acc);
  }
}

/** out[0] = sum (divide 0) or mean (divide 1) of x. */
export function reduceF32(x: usize, out: usize, count: i32, divide: i32): void {
  const total = sumF64(x, count);
  store<f32>(out, <f32>(divide ? total / <f64>count : total));
}
