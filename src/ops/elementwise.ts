import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../core/tensor.js';
import { type Dense, type FloatArray, at, put, zerosLike } from './dense.js';
import { expectFinite, expectFloat, expectSameShape, expectTensorsOn } from './validate.js';

/** a + b, same shapes (no broadcasting: the additive skip connections and gradient sums need none). */
export function add(backend: Backend, a: Tensor, b: Tensor): Tensor {
  expectTensorsOn(backend, 'add', { a, b });
  expectFloat('add: a', a);
  expectFloat('add: b', b);
  expectSameShape('add: b', a, b);
  return backend.kernels.add(a, b);
}

/** a * x for a finite scalar a. */
export function scale(backend: Backend, x: Tensor, a: number): Tensor {
  expectTensorsOn(backend, 'scale', { x });
  expectFloat('scale: x', x);
  expectFinite('scale: a', a);
  return backend.kernels.scale(x, a);
}

export function addReference<F extends FloatArray>(a: Dense<F>, b: Dense<F>): Dense<F> {
  const y = zerosLike(a.data, a.shape);
  for (let i = 0; i < a.data.length; i++) put(y.data, i, at(a.data, i) + at(b.data, i));
  return y;
}

export function scaleReference<F extends FloatArray>(x: Dense<F>, a: number): Dense<F> {
  const y = zerosLike(x.data, x.shape);
  for (let i = 0; i < x.data.length; i++) put(y.data, i, a * at(x.data, i));
  return y;
}
