import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { type Dense, type NumericArray, Layout5, at, put, zerosLike } from './dense.js';
import type { SpatialAxis } from '../contract/params.js';
import { expectInteger, expectSpatialRank, expectTensorsOn } from './validate.js';

/** Augmentations on the spatial axes (0 = D, 1 = H, 2 = W) of NCDHW images or NDHW label maps, any dtype. */

function expectAxes(op: string, axes: readonly number[]): void {
  const valid = axes.every((a) => a === 0 || a === 1 || a === 2) && new Set(axes).size === axes.length;
  if (!valid)
    throw new SdsError('E_INVALID_ARGUMENT', `${op}: axes: expected distinct spatial axes from {0, 1, 2}, found [${axes.join(', ')}]`);
}

export function flip(backend: Backend, x: Tensor, axes: readonly SpatialAxis[]): Tensor {
  expectTensorsOn(backend, 'flip', { x });
  expectSpatialRank('flip: x', x);
  expectAxes('flip', axes);
  return backend.kernels.flip(x, axes);
}

/** numpy.rot90(x, k, axes) on spatial axes: k quarter turns from axes[0] towards axes[1]; any integer k. */
export function rot90(backend: Backend, x: Tensor, k: number, axes: readonly [SpatialAxis, SpatialAxis]): Tensor {
  expectTensorsOn(backend, 'rot90', { x });
  expectSpatialRank('rot90: x', x);
  expectInteger('rot90: k', k, Number.MIN_SAFE_INTEGER);
  if (axes.length !== 2) throw new SdsError('E_INVALID_ARGUMENT', `rot90: axes: expected 2 axes, found [${axes.join(', ')}]`);
  expectAxes('rot90', axes);
  return backend.kernels.rot90(x, k, axes);
}

/** NCDHW or NDHW as [N, C, D, H, W] with C = 1 for label maps. */
const spatialLayout = (shape: readonly number[]): Layout5 => (shape.length === 5 ? new Layout5(shape) : Layout5.ofLabels(shape));

/** Shape of the result: x's shape with the spatial sizes replaced. */
const withSpatial = (shape: readonly number[], spatial: readonly number[]): number[] => [...shape.slice(0, shape.length - 3), ...spatial];

/**
 * Calls `source(outCoords)` for every output voxel to learn which input voxel it copies; the one loop
 * behind flip and rot90, so both share one checked gather.
 */
function gatherSpatial<A extends NumericArray>(x: Dense<A>, outSpatial: number[], source: (o: number[]) => number[]): Dense<A> {
  const xl = spatialLayout(x.shape);
  const y = zerosLike(x.data, withSpatial(x.shape, outSpatial));
  const yl = spatialLayout(y.shape);
  const o = [0, 0, 0];
  for (let n = 0; n < yl.n; n++)
    for (let c = 0; c < yl.c; c++)
      for (o[0] = 0; o[0] < yl.d; o[0]++)
        for (o[1] = 0; o[1] < yl.h; o[1]++)
          for (o[2] = 0; o[2] < yl.w; o[2]++) {
            const s = source(o);
            put(y.data, yl.offset(n, c, o[0], o[1], o[2]), at(x.data, xl.offset(n, c, s[0], s[1], s[2])));
          }
  return y;
}

export function flipReference<A extends NumericArray>(x: Dense<A>, axes: readonly SpatialAxis[]): Dense<A> {
  const size = x.shape.slice(-3);
  return gatherSpatial(x, size, (o) => o.map((i, a) => (axes.includes(a as SpatialAxis) ? size[a] - 1 - i : i)));
}

/**
 * numpy.rot90 for k mod 4 = 1 is transpose(flip(x, axes[1])), for 3 flip(transpose(x), axes[1]), for 2
 * flip on both axes. With P, Q the input sizes along axes[0], axes[1] and output coordinates (i, j) on
 * those axes, the input voxel read is:
 *   k = 1: (j, Q - 1 - i)      k = 2: (P - 1 - i, Q - 1 - j)      k = 3: (P - 1 - j, i)
 * and for odd k the output swaps the two sizes.
 */
export function rot90Reference<A extends NumericArray>(x: Dense<A>, k: number, axes: readonly [SpatialAxis, SpatialAxis]): Dense<A> {
  const turns = ((k % 4) + 4) % 4;
  const [a0, a1] = axes;
  const size = x.shape.slice(-3);
  const P = size[a0];
  const Q = size[a1];
  const outSize = [...size];
  if (turns % 2 === 1) [outSize[a0], outSize[a1]] = [Q, P];
  return gatherSpatial(x, outSize, (o) => {
    const s = [...o];
    const [i, j] = [o[a0], o[a1]];
    if (turns === 1) [s[a0], s[a1]] = [j, Q - 1 - i];
    else if (turns === 2) [s[a0], s[a1]] = [P - 1 - i, Q - 1 - j];
    else if (turns === 3) [s[a0], s[a1]] = [P - 1 - j, i];
    return s;
  });
}
