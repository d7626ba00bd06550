import { SdsError } from '../core/errors.js';
import { type Shape, shapeString, sizeOf } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';

/**
 * A second handle on `t`'s storage with another shape of the same size. Every backend stores tensors
 * row-major with no shape-dependent padding, so a reshape that keeps the element order is free.
 * Both handles share one allocation: dispose exactly one of them, and stop using the other then.
 */
export function viewAs(t: Tensor, shape: Shape): Tensor {
  if (sizeOf(shape) !== t.size) {
    throw new SdsError('E_SHAPE_MISMATCH', `viewAs: ${t} holds ${t.size} elements, shape ${shapeString(shape)} needs ${sizeOf(shape)}`);
  }
  if (t.disposed) throw new SdsError('E_DISPOSED', `viewAs: ${t} was used after dispose()`);
  return new Tensor(t.backend, shape, t.dtype, t.storage);
}
