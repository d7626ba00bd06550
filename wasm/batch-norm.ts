// BatchNorm3d (PyTorch semantics) over [N][C][inner], and the V-Net's batch norm -> ReLU stage fused
// into it, as passes that the thread pool shares (src/backend/wasm/norm-kernels.ts submits them).
// Units are chunks of channel planes: plane p = n C + c holds `inner` floats, cut into chunks of
// CHUNK. A pass writes each unit's sums to that unit's own slot, and a per-channel finalize adds the
// slots in one fixed order, so results do not depend on how threads split the units.
// Statistics are float64 sums with two passes for the variance (the reference's algorithm: the
// centred sum of squares does not cancel); the elementwise outputs are float32 SIMD, within a few
// ulps of the float64 reference. One pass per value instead of one scalar float64 loop per
// channel: the single-threaded kernels cost 9% of a V-Net step and ReLU another 4% (profile of
// bench:vnet, 2026-12-06), while the convolutions around them ran on every thread.

/** Floats per unit: 64 KB, large enough that a unit's fixed cost vanishes, small enough to balance. */
const CHUNK: i32 = 16384;

// @ts-ignore: decorator
@inline
function chunksPerPlane(inner: i32): i32 {
  return (inner + CHUNK - 1) / CHUNK;
}

/** Units of every pass over an [n][c][inner] tensor. */
export function normUnits(n: i32, c: i32, inner: i32): i32 {
  return n * c * chunksPerPlane(inner);
}

// @ts-ignore: decorator
@inline
function unitStart(u: i32, inner: i32): usize {
  const cpp = chunksPerPlane(inner);
  return (<usize>(u / cpp) * <usize>inner + <usize>((u % cpp) * CHUNK)) << 2;
}

// @ts-ignore: decorator
@inline
function unitCount(u: i32, inner: i32): i32 {
  return min(CHUNK, inner - (u % chunksPerPlane(inner)) * CHUNK);
}

// @ts-ignore: decorator
@inline
function unitChannel(u: i32, c: i32, inner: i32): i32 {
  return (u / chunksPerPlane(inner)) % c;
}

// @ts-ignore: decorator
@inline
function lanesSum(a: v128, b: v128): f64 {
  const s = f64x2.add(a, b);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

/** The high two lanes of a f32x4 as f64x2. */
// @ts-ignore: decorator
@inline
function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3));
}

/** partial[2u] = sum of unit u's floats (float64). Every pass keeps two f64 slots per unit. */
export function normSumRange(x: usize, partial: usize, inner: i32, begin: i32, end: i32): void {
  for (let u = begin; u < end; u++) {
    const p = x + unitStart(u, inner), count = unitCount(u, inner);
    let a0 = f64x2.splat(0), a1 = a0;
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const v = v128.load(p + (<usize>i << 2));
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
      a1 = f64x2.add(a1, promoteHigh(v));
    }
    let s = lanesSum(a0, a1);
    for (; i < count; i++) s += <f64>load<f32>(p + (<usize>i << 2));
    store<f64>(partial + (<usize>u << 4), s);
  }
}

/** The slots of channel ch added in order: n outer, chunk inner. */
function channelTotal(partial: usize, slot: i32, ch: i32, n: i32, c: i32, inner: i32): f64 {
  const cpp = chunksPerPlane(inner);
  let s: f64 = 0;
  for (let b = 0; b < n; b++) {
    const first = (b * c + ch) * cpp;
    for (let k = 0; k < cpp; k++) s += load<f64>(partial + (<usize>((first + k) * 2 + slot) << 3));
  }
  return s;
}

/** mean64[ch] = channel mean from normSumRange's slots. */
export function normMeans(partial: usize, mean64: usize, n: i32, c: i32, inner: i32): void {
  const count = <f64>n * <f64>inner;
  for (let ch = 0; ch < c; ch++) store<f64>(mean64 + (<usize>ch << 3), channelTotal(partial, 0, ch, n, c, inner) / count);
}

/** partial[2u] = sum of unit u's (x - mean)^2 (float64). */
export function normSquaresRange(x: usize, mean64: usize, partial: usize, c: i32, inner: i32, begin: i32, end: i32): void {
  for (let u = begin; u < end; u++) {
    const p = x + unitStart(u, inner), count = unitCount(u, inner);
    const mu = load<f64>(mean64 + (<usize>unitChannel(u, c, inner) << 3)), m = f64x2.splat(mu);
    let a0 = f64x2.splat(0), a1 = a0;
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const v = v128.load(p + (<usize>i << 2));
      const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), m), d1 = f64x2.sub(promoteHigh(v), m);
      a0 = f64x2.add(a0, f64x2.mul(d0, d0));
      a1 = f64x2.add(a1, f64x2.mul(d1, d1));
    }
    let s = lanesSum(a0, a1);
    for (; i < count; i++) {
      const d = <f64>load<f32>(p + (<usize>i << 2)) - mu;
      s += d * d;
    }
    store<f64>(partial + (<usize>u << 4), s);
  }
}

/**
 * Per channel, from the means and normSquaresRange's slots: the batch mean and 1/std outputs, the
 * running statistics (unbiased variance) and the apply coefficients coef[ch] = (mean, gamma/std, beta).
 */
export function normTrainFinalize(
  partial: usize, mean64: usize, gamma: usize, beta: usize, runMean: usize, runVar: usize, meanOut: usize, invStdOut: usize,
  coef: usize, n: i32, c: i32, inner: i32, momentum: f64, eps: f64,
): void {
  const count = <f64>n * <f64>inner;
  for (let ch = 0; ch < c; ch++) {
    const o = <usize>ch << 2;
    const mu = load<f64>(mean64 + (<usize>ch << 3));
    const squares = channelTotal(partial, 0, ch, n, c, inner);
    const inv = 1 / Math.sqrt(squares / count + eps);
    store<f32>(meanOut + o, <f32>mu);
    store<f32>(invStdOut + o, <f32>inv);
    store<f32>(runMean + o, <f32>((1 - momentum) * <f64>load<f32>(runMean + o) + momentum * mu));
    store<f32>(runVar + o, <f32>((1 - momentum) * <f64>load<f32>(runVar + o) + momentum * (squares / (count - 1))));
    const at = coef + (<usize>ch << 4);
    store<f32>(at, <f32>mu);
    store<f32>(at, <f32>(<f64>load<f32>(gamma + o) * inv), 4);
    store<f32>(at, load<f32>(beta + o), 8);
  }
}

/** Eval-mode apply coefficients coef[ch] = (running mean, gamma / sqrt(running var + eps), beta). */
export function normEvalCoefficients(gamma: usize, beta: usize, runMean: usize, runVar: usize, coef: usize, c: i32, eps: f64): void {
  for (let ch = 0; ch < c; ch++) {
    const o = <usize>ch << 2, at = coef + (<usize>ch << 4);
    store<f32>(at, load<f32>(runMean + o));
    store<f32>(at, <f32>(<f64>load<f32>(gamma + o) / Math.sqrt(<f64>load<f32>(runVar + o) + eps)), 4);
    store<f32>(at, load<f32>(beta + o), 8);
  }
}

/**
 * y = (x - mean) * scale + beta per channel (coef as above), then max(y, 0) when `relu` is 1. The
 * max propagates NaN like the reference's Math.max, so a diverging network still shows NaN.
 */
export function normApplyRange(x: usize, y: usize, coef: usize, c: i32, inner: i32, relu: i32, begin: i32, end: i32): void {
  const zero = f32x4.splat(0);
  for (let u = begin; u < end; u++) {
    const start = unitStart(u, inner), count = unitCount(u, inner);
    const p = x + start, q = y + start, at = coef + (<usize>unitChannel(u, c, inner) << 4);
    const mu = load<f32>(at), scale = load<f32>(at, 4), shift = load<f32>(at, 8);
    const m = f32x4.splat(mu), s = f32x4.splat(scale), b = f32x4.splat(shift);
    let i = 0;
    if (relu) {
      for (; i + 4 <= count; i += 4) {
        const o = <usize>i << 2;
        v128.store(q + o, f32x4.max(f32x4.add(f32x4.mul(f32x4.sub(v128.load(p + o), m), s), b), zero));
      }
    } else {
      for (; i + 4 <= count; i += 4) {
        const o = <usize>i << 2;
        v128.store(q + o, f32x4.add(f32x4.mul(f32x4.sub(v128.load(p + o), m), s), b));
      }
    }
    for (; i < count; i++) {
      const o = <usize>i << 2;
      const v = (load<f32>(p + o) - mu) * scale + shift;
      store<f32>(q + o, relu ? max(v, 0) : v);
    }
  }
}

/**
 * The gradient reaching batch norm: dy, or with the fused ReLU (y its output, not 0) dy where y > 0
 * and 0 elsewhere (a NaN y gives 0, as reluBackward's reference does).
 */
// @ts-ignore: decorator
@inline
function gradAt(dy: usize, y: usize, o: usize): v128 {
  const g = v128.load(dy + o);
  return y == 0 ? g : v128.and(g, f32x4.gt(v128.load(y + o), f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline
function gradScalar(dy: usize, y: usize, o: usize): f32 {
  return y == 0 || load<f32>(y + o) > 0 ? load<f32>(dy + o) : 0;
}

/** partial[2u] = sum g, partial[2u + 1] = sum g (x - mean) over unit u (float64); g from gradAt. */
export function normGradSumsRange(
  dy: usize, x: usize, y: usize, mean: usize, partial: usize, c: i32, inner: i32, begin: i32, end: i32,
): void {
  for (let u = begin; u < end; u++) {
    const start = unitStart(u, inner), count = unitCount(u, inner);
    const mu = <f64>load<f32>(mean + (<usize>unitChannel(u, c, inner) << 2)), m = f64x2.splat(mu);
    let g0 = f64x2.splat(0), g1 = g0, h0 = g0, h1 = g0;
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const o = start + (<usize>i << 2);
      const g = gradAt(dy, y, o), v = v128.load(x + o);
      const gl = f64x2.promote_low_f32x4(g), gh = promoteHigh(g);
      g0 = f64x2.add(g0, gl);
      g1 = f64x2.add(g1, gh);
      h0 = f64x2.add(h0, f64x2.mul(gl, f64x2.sub(f64x2.promote_low_f32x4(v), m)));
      h1 = f64x2.add(h1, f64x2.mul(gh, f64x2.sub(promoteHigh(v), m)));
    }
    let sg = lanesSum(g0, g1), sh = lanesSum(h0, h1);
    for (; i < count; i++) {
      const o = start + (<usize>i << 2);
      const g = <f64>gradScalar(dy, y, o);
      sg += g;
      sh += g * (<f64>load<f32>(x + o) - mu);
    }
    store<f64>(partial + (<usize>u << 4), sg);
    store<f64>(partial + (<usize>u << 4), sh, 8);
  }
}

/**
 * dbeta = sum g, dgamma = sum g xhat (xhat = (x - mean) invStd), and the coefficients of
 * dx = gamma invStd / M (M g - dbeta - xhat dgamma) = g A - ((x - mean) B + K):
 * coef[ch] = (mean, A = gamma invStd, B = A invStd dgamma / M, K = A dbeta / M).
 */
export function normBackwardFinalize(
  partial: usize, gamma: usize, mean: usize, invStd: usize, dgamma: usize, dbeta: usize, coef: usize, n: i32, c: i32, inner: i32,
): void {
  const count = <f64>n * <f64>inner;
  for (let ch = 0; ch < c; ch++) {
    const o = <usize>ch << 2;
    const inv = <f64>load<f32>(invStd + o);
    const sumG = channelTotal(partial, 0, ch, n, c, inner), sumGXhat = channelTotal(partial, 1, ch, n, c, inner) * inv;
    store<f32>(dgamma + o, <f32>sumGXhat);
    store<f32>(dbeta + o, <f32>sumG);
    const a = <f64>load<f32>(gamma + o) * inv;
    const at = coef + (<usize>ch << 4);
    store<f32>(at, load<f32>(mean + o));
    store<f32>(at, <f32>a, 4);
    store<f32>(at, <f32>((a * inv * sumGXhat) / count), 8);
    store<f32>(at, <f32>((a * sumG) / count), 12);
  }
}

/** dx = g A - ((x - mean) B + K) per channel (coef from normBackwardFinalize, g from gradAt). */
export function normGradApplyRange(
  dy: usize, x: usize, y: usize, coef: usize, dx: usize, c: i32, inner: i32, begin: i32, end: i32,
): void {
  for (let u = begin; u < end; u++) {
    const start = unitStart(u, inner), count = unitCount(u, inner);
    const at = coef + (<usize>unitChannel(u, c, inner) << 4);
    const mu = load<f32>(at), a = load<f32>(at, 4), b = load<f32>(at, 8), k = load<f32>(at, 12);
    const mv = f32x4.splat(mu), av = f32x4.splat(a), bv = f32x4.splat(b), kv = f32x4.splat(k);
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const o = start + (<usize>i << 2);
      const g = gradAt(dy, y, o);
      const t = f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + o), mv), bv), kv);
      v128.store(dx + o, f32x4.sub(f32x4.mul(g, av), t));
    }
    for (; i < count; i++) {
      const o = start + (<usize>i << 2);
      store<f32>(dx + o, gradScalar(dy, y, o) * a - ((load<f32>(x + o) - mu) * b + k));
    }
  }
}
