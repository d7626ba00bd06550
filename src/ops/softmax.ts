import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { type Dense, type FloatArray, Layout5, at, put, zerosLike } from './dense.js';
import { expectImage, expectTensorsOn } from './validate.js';

/** Softmax over the channel axis of NCDHW logits. */
export function softmax(backend: Backend, x: Tensor): Tensor {
  expectTensorsOn(backend, 'softmax', { x });
  expectImage('softmax: x', x);
  return backend.kernels.softmax(x);
}

/** Index of the largest channel, first on ties: NCDHW -> NDHW uint8 (so at most 256 channels). */
export function argmax(backend: Backend, x: Tensor): Tensor {
  expectTensorsOn(backend, 'argmax', { x });
  expectImage('argmax: x', x);
  if (x.shape[1] > 256) throw new SdsError('E_SHAPE_MISMATCH', `argmax: expected at most 256 channels (uint8 output), found ${x.shape[1]}`);
  return backend.kernels.argmax(x);
}

/**
 * Softmax of voxel v of sample n into `probs` (length C), shifted by the maximum so exp cannot
 * overflow. Returns log-sum-exp of the logits, which cross-entropy needs: -log p_y = lse - z_y.
 */
export function softmaxVoxel(z: FloatArray, l: Layout5, n: number, v: number, probs: Float64Array): number {
  let max = -Infinity;
  for (let c = 0; c < l.c; c++) max = Math.max(max, at(z, l.voxel(n, c, v)));
  let total = 0;
  for (let c = 0; c < l.c; c++) {
    const e = Math.exp(at(z, l.voxel(n, c, v)) - max);
    probs[c] = e;
    total += e;
  }
  for (let c = 0; c < l.c; c++) probs[c] /= total;
  return max + Math.log(total);
}

/** First index of the largest logit of voxel v of sample n. */
export function argmaxVoxel(z: FloatArray, l: Layout5, n: number, v: number): number {
  let best = 0;
  let bestValue = at(z, l.voxel(n, 0, v));
  for (let c = 1; c < l.c; c++) {
    const value = at(z, l.voxel(n, c, v));
    if (value > bestValue) {
      best = c;
      bestValue = value;
    }
  }
  return best;
}

export function softmaxReference<F extends FloatArray>(x: Dense<F>): Dense<F> {
  const l = new Layout5(x.shape);
  const y = zerosLike(x.data, x.shape);
  const probs = new Float64Array(l.c);
  for (let n = 0; n < l.n; n++)
    for (let v = 0; v < l.spatialSize; v++) {
      softmaxVoxel(x.data, l, n, v, probs);
      for (let c = 0; c < l.c; c++) put(y.data, l.voxel(n, c, v), probs[c]);
    }
  return y;
}

export function argmaxReference(x: Dense<FloatArray>): Dense<Uint8Array> {
  const l = new Layout5(x.shape);
  const data = new Uint8Array(l.n * l.spatialSize);
  for (let n = 0; n < l.n; n++) for (let v = 0; v < l.spatialSize; v++) put(data, n * l.spatialSize + v, argmaxVoxel(x.data, l, n, v));
  return { data, shape: [l.n, l.d, l.h, l.w] };
}
