import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { type Dense, type FloatArray, at, dense, allocLike } from './dense.js';
import { expectFloat, expectTensorsOn } from './validate.js';

/** Sum of all elements, as a scalar (shape []) tensor. */
export function sum(backend: Backend, x: Tensor): Tensor {
  expectTensorsOn(backend, 'sum', { x });
  expectFloat('sum: x', x);
  return backend.kernels.sum(x);
}

/** Mean of all elements, as a scalar (shape []) tensor; an empty tensor has no mean. */
export function mean(backend: Backend, x: Tensor): Tensor {
  expectTensorsOn(backend, 'mean', { x });
  expectFloat('mean: x', x);
  if (x.size === 0) throw new SdsError('E_SHAPE_MISMATCH', `mean: expected at least one element, found shape [${x.shape.join(', ')}]`);
  return backend.kernels.mean(x);
}

export const scalarLike = <F extends FloatArray>(like: F, value: number): Dense<F> => {
  const data = allocLike(like, 1);
  data[0] = value;
  return dense(data, []);
};

function total(x: Dense<FloatArray>): number {
  let acc = 0;
  for (let i = 0; i < x.data.length; i++) acc += at(x.data, i);
  return acc;
}

export const sumReference = <F extends FloatArray>(x: Dense<F>): Dense<F> => scalarLike(x.data, total(x));

export const meanReference = <F extends FloatArray>(x: Dense<F>): Dense<F> => scalarLike(x.data, total(x) / x.data.length);
