import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import { type Shape, expectShape, shapeString, sizeOf } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { type Dense, type FloatArray, Layout5, at, put, zerosLike } from './dense.js';
import { expectChannelVector, expectFloat, expectTensorsOn } from './validate.js';

/** Per-channel ops over [N, C, ...] tensors (any trailing axes, NCDHW in practice). */

function expectChannelFirst(what: string, t: Tensor): void {
  expectFloat(what, t);
  if (t.shape.length < 2)
    throw new SdsError('E_SHAPE_MISMATCH', `${what}: expected [N, C, ...] (rank >= 2), found ${shapeString(t.shape)}`);
}

/** [N, C, ...] viewed as [N, C, 1, 1, rest] so one checked layout serves every rank. */
export const channelLayout = (shape: Shape): Layout5 => new Layout5([shape[0], shape[1], 1, 1, sizeOf(shape.slice(2))]);

/** Sum over N and space per channel, [N, C, ...] -> [C]: the bias gradient. */
export function channelSum(backend: Backend, x: Tensor): Tensor {
  expectTensorsOn(backend, 'channelSum', { x });
  expectChannelFirst('channelSum: x', x);
  return backend.kernels.channelSum(x);
}

/** y[n, c, ...] = x[n, c, ...] + b[c]. */
export function addChannelBias(backend: Backend, x: Tensor, b: Tensor): Tensor {
  expectTensorsOn(backend, 'addChannelBias', { x, b });
  expectChannelFirst('addChannelBias: x', x);
  expectChannelVector('addChannelBias: b', b, x.shape[1]);
  return backend.kernels.addChannelBias(x, b);
}

/** y[n, c, ...] = x[n, c, ...] * s[n, c]: dropout (whole channels) forward and backward. */
export function channelScale(backend: Backend, x: Tensor, s: Tensor): Tensor {
  expectTensorsOn(backend, 'channelScale', { x, s });
  expectChannelFirst('channelScale: x', x);
  expectFloat('channelScale: s', s);
  expectShape('channelScale: s', s.shape, [x.shape[0], x.shape[1]]);
  return backend.kernels.channelScale(x, s);
}

export function channelSumReference<F extends FloatArray>(x: Dense<F>): Dense<F> {
  const l = channelLayout(x.shape);
  const out = zerosLike(x.data, [l.c]);
  for (let c = 0; c < l.c; c++) {
    let acc = 0;
    for (let n = 0; n < l.n; n++) for (let v = 0; v < l.w; v++) acc += at(x.data, l.offset(n, c, 0, 0, v));
    put(out.data, c, acc);
  }
  return out;
}

export function addChannelBiasReference<F extends FloatArray>(x: Dense<F>, b: Dense<F>): Dense<F> {
  const l = channelLayout(x.shape);
  const y = zerosLike(x.data, x.shape);
  for (let n = 0; n < l.n; n++)
    for (let c = 0; c < l.c; c++) {
      const bias = at(b.data, c);
      for (let v = 0; v < l.w; v++) {
        const i = l.offset(n, c, 0, 0, v);
        put(y.data, i, at(x.data, i) + bias);
      }
    }
  return y;
}

export function channelScaleReference<F extends FloatArray>(x: Dense<F>, s: Dense<F>): Dense<F> {
  const l = channelLayout(x.shape);
  const y = zerosLike(x.data, x.shape);
  for (let n = 0; n < l.n; n++)
    for (let c = 0; c < l.c; c++) {
      const factor = at(s.data, n * l.c + c);
      for (let v = 0; v < l.w; v++) {
        const i = l.offset(n, c, 0, 0, v);
        put(y.data, i, at(x.data, i) * factor);
      }
    }
  return y;
}
