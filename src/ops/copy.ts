import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { type Dense, type NumericArray, at, put, zerosLike } from './dense.js';
import { expectSameShape, expectTensorsOn } from './validate.js';

/** A new tensor with the same contents, any dtype. */
export function copy(backend: Backend, x: Tensor): Tensor {
  expectTensorsOn(backend, 'copy', { x });
  return backend.kernels.copy(x);
}

/** dst = src in place: same shape and dtype (teacher initialisation, restoring checkpoints). */
export function assign(backend: Backend, dst: Tensor, src: Tensor): void {
  expectTensorsOn(backend, 'assign', { dst, src });
  expectSameShape('assign: src', dst, src);
  if (dst.dtype !== src.dtype)
    throw new SdsError('E_DTYPE_MISMATCH', `assign: src: expected dtype ${dst.dtype} (dst's), found ${src.dtype}`);
  backend.kernels.assign(dst, src);
}

export function copyReference<A extends NumericArray>(x: Dense<A>): Dense<A> {
  const y = zerosLike(x.data, x.shape);
  for (let i = 0; i < x.data.length; i++) put(y.data, i, at(x.data, i));
  return y;
}

/** Writes src into dst's array. */
export function assignReference<A extends NumericArray>(dst: Dense<A>, src: Dense<A>): void {
  for (let i = 0; i < dst.data.length; i++) put(dst.data, i, at(src.data, i));
}
