import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { type Dense, type NumericArray, Layout5, at, put, zerosLike } from './dense.js';
import type { Cube } from '../contract/params.js';
import { expectMaskFor, expectSameShape, expectSpatialRank, expectTensorsOn, expectVec3 } from './validate.js';

/** [D, H, W] uint8 cube mask M: 1 outside the cube, 0 inside (METHOD.md stage 1, step 1). */
export function cubeMask(backend: Backend, spatial: Vec3, cube: Cube): Tensor {
  expectVec3('cubeMask: spatial', spatial, 1);
  expectVec3('cubeMask: cube.start', cube.start, 0);
  expectVec3('cubeMask: cube.size', cube.size, 0);
  for (let a = 0; a < 3; a++) {
    if (cube.start[a] + cube.size[a] > spatial[a]) {
      throw new SdsError(
        'E_INVALID_ARGUMENT',
        `cubeMask: cube start [${cube.start.join(', ')}] + size [${cube.size.join(', ')}] must fit in [${spatial.join(', ')}]; axis ${a} ends at ${cube.start[a] + cube.size[a]}`,
      );
    }
  }
  return backend.kernels.cubeMask(spatial, cube);
}

/**
 * a * M + b * (1 - M) with M broadcast over N (and C): a outside the cube, b inside. Works on NCDHW
 * images and NDHW label maps alike; a and b share shape and dtype.
 */
export function cutMix(backend: Backend, a: Tensor, b: Tensor, mask: Tensor): Tensor {
  expectTensorsOn(backend, 'cutMix', { a, b, mask });
  expectSpatialRank('cutMix: a', a);
  expectSameShape('cutMix: b', a, b);
  if (a.dtype !== b.dtype) throw new SdsError('E_DTYPE_MISMATCH', `cutMix: b: expected dtype ${a.dtype} (a's), found ${b.dtype}`);
  expectMaskFor('cutMix: mask', mask, a.shape);
  return backend.kernels.cutMix(a, b, mask);
}

/**
 * Value of cube-mask voxel v. Masks hold 0 or 1 only; the mix is a selection, so any other value is a
 * caller bug (it would mean 2a - b), refused here rather than given a meaning.
 */
export function cubeMaskBit(mask: Uint8Array, v: number): number {
  const m = at(mask, v);
  if (m !== 0 && m !== 1) throw new RangeError(`reference: cube mask value ${m} at voxel ${v}; expected 0 or 1`);
  return m;
}

export function cubeMaskReference(spatial: Vec3, cube: Cube): Dense<Uint8Array> {
  const l = Layout5.ofMask(spatial);
  const data = new Uint8Array(l.spatialSize);
  const inside = (i: number, a: number): boolean => i >= cube.start[a] && i < cube.start[a] + cube.size[a];
  for (let d = 0; d < l.d; d++)
    for (let h = 0; h < l.h; h++)
      for (let w = 0; w < l.w; w++) put(data, l.offset(0, 0, d, h, w), inside(d, 0) && inside(h, 1) && inside(w, 2) ? 0 : 1);
  return { data, shape: [...spatial] };
}

/** Mask-selected mix of a and b, [N, (C,) D, H, W]. */
export function cutMixReference<A extends NumericArray>(a: Dense<A>, b: Dense<A>, mask: Dense<Uint8Array>): Dense<A> {
  const spatialSize = mask.data.length;
  const y = zerosLike(a.data, a.shape);
  for (let i = 0; i < a.data.length; i++) put(y.data, i, cubeMaskBit(mask.data, i % spatialSize) === 1 ? at(a.data, i) : at(b.data, i));
  return y;
}
