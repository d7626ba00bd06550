import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { concatShape, shapeString } from '../core/shape.js';
import { type Dense, type NumericArray, allocLike, at, dense, put, zerosLike } from './dense.js';
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

/**
 * Tensors of one dtype joined along the first axis ([n_i, ...rest] -> [sum n_i, ...rest]); scalars
 * (shape []) are joined into a vector [K]. Several small results become one buffer, read back once.
 */
export function concat(backend: Backend, xs: readonly Tensor[]): Tensor {
  if (xs.length === 0) throw new SdsError('E_INVALID_ARGUMENT', 'concat: expected at least one tensor, found none');
  expectTensorsOn(backend, 'concat', Object.fromEntries(xs.map((x, i) => [`xs[${i}]`, x])));
  const [first] = xs;
  const rest = first.shape.slice(1);
  xs.forEach((x, i) => {
    if (x.dtype !== first.dtype)
      throw new SdsError('E_DTYPE_MISMATCH', `concat: xs[${i}]: expected dtype ${first.dtype} (xs[0]'s), found ${x.dtype}`);
    const scalar = first.shape.length === 0;
    const fits = scalar ? x.shape.length === 0 : x.shape.length === first.shape.length && x.shape.slice(1).every((s, k) => s === rest[k]);
    if (!fits)
      throw new SdsError(
        'E_SHAPE_MISMATCH',
        `concat: xs[${i}]: expected ${scalar ? 'a scalar []' : `shape [*, ${rest.join(', ')}]`} like xs[0] ${shapeString(first.shape)}, found ${shapeString(x.shape)}`,
      );
  });
  return backend.kernels.concat(xs);
}

export function concatReference<A extends NumericArray>(xs: readonly Dense<A>[]): Dense<A> {
  const data = allocLike(
    xs[0].data,
    xs.reduce((n, x) => n + x.data.length, 0),
  );
  let offset = 0;
  for (const x of xs) {
    for (let i = 0; i < x.data.length; i++) put(data, offset + i, at(x.data, i));
    offset += x.data.length;
  }
  return dense(data, concatShape(xs.map((x) => x.shape)));
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
