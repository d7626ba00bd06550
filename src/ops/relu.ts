import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../core/tensor.js';
import { type Dense, type FloatArray, at, put, zerosLike } from './dense.js';
import { expectFloat, expectSameShape, expectTensorsOn } from './validate.js';

export function relu(backend: Backend, x: Tensor): Tensor {
  expectTensorsOn(backend, 'relu', { x });
  expectFloat('relu: x', x);
  return backend.kernels.relu(x);
}

/** dx = dy where y > 0, else 0; takes the forward output y, so the input need not be kept. */
export function reluBackward(backend: Backend, dy: Tensor, y: Tensor): Tensor {
  expectTensorsOn(backend, 'reluBackward', { dy, y });
  expectFloat('reluBackward: dy', dy);
  expectFloat('reluBackward: y', y);
  expectSameShape('reluBackward: y', dy, y);
  return backend.kernels.reluBackward(dy, y);
}

export function reluReference<F extends FloatArray>(x: Dense<F>): Dense<F> {
  const y = zerosLike(x.data, x.shape);
  for (let i = 0; i < x.data.length; i++) put(y.data, i, Math.max(at(x.data, i), 0));
  return y;
}

export function reluBackwardReference<F extends FloatArray>(dy: Dense<F>, y: Dense<F>): Dense<F> {
  const dx = zerosLike(dy.data, dy.shape);
  for (let i = 0; i < dy.data.length; i++) put(dx.data, i, at(y.data, i) > 0 ? at(dy.data, i) : 0);
  return dx;
}
