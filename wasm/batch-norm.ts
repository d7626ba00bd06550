// BatchNorm3d (PyTorch semantics) over [N][C][inner]: statistics per channel in float64, two passes
// for the variance so the centred sum of squares does not cancel.

// @ts-ignore: decorator
@inline
function planeAt(x: usize, b: i32, ch: i32, c: i32, inner: i32): usize {
  return x + (<usize>(b * c + ch) * <usize>inner << 2);
}

export function batchNormTrainF32(
  x: usize, gamma: usize, beta: usize, runMean: usize, runVar: usize, y: usize, meanOut: usize, invStdOut: usize,
  n: i32, c: i32, inner: i32, momentum: f64, eps: f64,
): void {
  const count = <f64>n * <f64>inner;
  for (let ch = 0; ch < c; ch++) {
    let sum: f64 = 0;
    for (let b = 0; b < n; b++) {
      const p = planeAt(x, b, ch, c, inner);
      for (let i = 0; i < inner; i++) sum += <f64>load<f32>(p + (<usize>i << 2));
    }
    const mu = sum / count;
    let squares: f64 = 0;
    for (let b = 0; b < n; b++) {
      const p = planeAt(x, b, ch, c, inner);
      for (let i = 0; i < inner; i++) {
        const d = <f64>load<f32>(p + (<usize>i << 2)) - mu;
        squares += d * d;
      }
    }
    const inv = 1 / Math.sqrt(squares / count + eps);
    const g = <f64>load<f32>(gamma + (<usize>ch << 2)), bt = <f64>load<f32>(beta + (<usize>ch << 2));
    for (let b = 0; b < n; b++) {
      const p = planeAt(x, b, ch, c, inner), q = planeAt(y, b, ch, c, inner);
      for (let i = 0; i < inner; i++) {
        const o = <usize>i << 2;
        store<f32>(q + o, <f32>(g * (<f64>load<f32>(p + o) - mu) * inv + bt));
      }
    }
    const o = <usize>ch << 2;
    store<f32>(meanOut + o, <f32>mu);
    store<f32>(invStdOut + o, <f32>inv);
    store<f32>(runMean + o, <f32>((1 - momentum) * <f64>load<f32>(runMean + o) + momentum * mu));
    store<f32>(runVar + o, <f32>((1 - momentum) * <f64>load<f32>(runVar + o) + momentum * (squares / (count - 1))));
  }
}

export function batchNormEvalF32(
  x: usize, gamma: usize, beta: usize, runMean: usize, runVar: usize, y: usize, n: i32, c: i32, inner: i32, eps: f64,
): void {
  for (let ch = 0; ch < c; ch++) {
    const o = <usize>ch << 2;
    const scale = <f64>load<f32>(gamma + o) / Math.sqrt(<f64>load<f32>(runVar + o) + eps);
    const mu = <f64>load<f32>(runMean + o), bt = <f64>load<f32>(beta + o);
    for (let b = 0; b < n; b++) {
      const p = planeAt(x, b, ch, c, inner), q = planeAt(y, b, ch, c, inner);
      for (let i = 0; i < inner; i++) {
        const e = <usize>i << 2;
        store<f32>(q + e, <f32>((<f64>load<f32>(p + e) - mu) * scale + bt));
      }
    }
  }
}

/** dbeta = sum dy, dgamma = sum dy xhat, dx = gamma invStd / M (M dy - dbeta - xhat dgamma). */
export function batchNormBackwardF32(
  dy: usize, x: usize, gamma: usize, mean: usize, invStd: usize, dx: usize, dgamma: usize, dbeta: usize,
  n: i32, c: i32, inner: i32,
): void {
  const count = <f64>n * <f64>inner;
  for (let ch = 0; ch < c; ch++) {
    const o = <usize>ch << 2;
    const mu = <f64>load<f32>(mean + o), inv = <f64>load<f32>(invStd + o);
    let sumDy: f64 = 0, sumDyXhat: f64 = 0;
    for (let b = 0; b < n; b++) {
      const p = planeAt(x, b, ch, c, inner), g = planeAt(dy, b, ch, c, inner);
      for (let i = 0; i < inner; i++) {
        const e = <usize>i << 2;
        const d = <f64>load<f32>(g + e);
        sumDy += d;
        sumDyXhat += d * (<f64>load<f32>(p + e) - mu) * inv;
      }
    }
    const k = (<f64>load<f32>(gamma + o) * inv) / count;
    for (let b = 0; b < n; b++) {
      const p = planeAt(x, b, ch, c, inner), g = planeAt(dy, b, ch, c, inner), q = planeAt(dx, b, ch, c, inner);
      for (let i = 0; i < inner; i++) {
        const e = <usize>i << 2;
        const xhat = (<f64>load<f32>(p + e) - mu) * inv;
        store<f32>(q + e, <f32>(k * (count * <f64>load<f32>(g + e) - sumDy - xhat * sumDyXhat)));
      }
    }
    store<f32>(dgamma + o, <f32>sumDyXhat);
    store<f32>(dbeta + o, <f32>sumDy);
  }
}
