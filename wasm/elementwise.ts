// Elementwise and per-channel kernels. Sums and products of two float32 values are exact in
// float64, so the float32 SIMD versions round exactly as the float64 reference does; kernels with
// a float64 scalar (scale) compute in float64 for the same reason. The optimizer kernels are in optimizer.ts.
/** y = a + b over `count` floats. */
export function addF32(a: usize, b: usize, y: usize, count: i32): void {
  const vecEnd = <usize>(count & ~3) << 2;
  for (let i: usize = 0; i < vecEnd; i += 16) v128.store(y + i, f32x4.add(v128.load(a + i), v128.load(b + i)));
  for (let i = count & ~3; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** y = max(x, 0); NaN stays NaN like Math.max. */
export function reluF32(x: usize, y: usize, count: i32): void {
  for (let i = 0; i < count; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : v != v ? v : 0);
  }
}

/** dx = y > 0 ? dy : 0. */
export function reluBackwardF32(dy: usize, y: usize, dx: usize, count: i32): void {
  const zero = f32x4.splat(0);
  const vecEnd = <usize>(count & ~3) << 2;
  for (let i: usize = 0; i < vecEnd; i += 16) {
    v128.store(dx + i, v128.and(v128.load(dy + i), f32x4.gt(v128.load(y + i), zero)));
  }
  for (let i = count & ~3; i < count; i++) {
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

/** Per (n, c) plane of `inner` floats: y = x + b[c] (perSample 0) or y = x * s[n * C + c] (perSample 1). */
export function channelAffineF32(x: usize, v: usize, y: usize, n: i32, c: i32, inner: i32, multiply: i32): void {
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const plane = <usize>(b * c + ch) * <usize>inner << 2;
      const k = multiply ? load<f32>(v + (<usize>(b * c + ch) << 2)) : load<f32>(v + (<usize>ch << 2));
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
}

/** Sum in float64 of `count` floats starting at x. */
export function sumF64(x: usize, count: i32): f64 {
  let acc: f64 = 0;
  for (let i = 0; i < count; i++) acc += <f64>load<f32>(x + (<usize>i << 2));
  return acc;
}

/** out[c] = sum over n and the plane of x[n][c]. */
export function channelSumF32(x: usize, out: usize, n: i32, c: i32, inner: i32): void {
  for (let ch = 0; ch < c; ch++) {
    let acc: f64 = 0;
    for (let b = 0; b < n; b++) acc += sumF64(x + (<usize>(b * c + ch) * <usize>inner << 2), inner);
    store<f32>(out + (<usize>ch << 2), <f32>acc);
  }
}

/** out[0] = sum (divide 0) or mean (divide 1) of x. */
export function reduceF32(x: usize, out: usize, count: i32, divide: i32): void {
  const total = sumF64(x, count);
  store<f32>(out, <f32>(divide ? total / <f64>count : total));
}
