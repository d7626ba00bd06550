import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import { convOutputSize } from '../contract/conv-size.js';
import type { Conv3dParams } from '../contract/params.js';
import { expectVec3 } from './validate.js';

/**
 * Geometry shared by conv3d and its two backward ops (PyTorch semantics). Along one axis, output
 * position o with kernel tap k reads input position
 *
 *     i = o * stride - padding + k * dilation                                    (1)
 *
 * and positions outside [0, inputSize) read zero padding.
 */

export { convOutputSize };

/** Input position read by output o at tap k: equation (1), possibly outside the input (padding). */
export const convInputIndex = (o: number, k: number, stride: number, padding: number, dilation: number): number =>
  o * stride - padding + k * dilation;

/**
 * The transposed direction, written once: which output position o does input position i receive a
 * contribution from through tap k? Solving (1) for o:
 *
 *     o = (i + padding - k * dilation) / stride
 *
 * which is a tap only when the numerator is >= 0 and divisible by stride, and o < outputSize. So the
 * gradient of conv3d with respect to its input (and ConvTranspose3d's forward) is a gather:
 *
 *     dx[n, ci, i] = sum over co and taps k with o = transposedTap(i, k) >= 0 of w[co, ci, k] * dy[n, co, o]
 *
 * Returns o, or -1 when tap k of input position i meets no output position.
 */
export function transposedTap(i: number, k: number, stride: number, padding: number, dilation: number, outputSize: number): number {
  const numerator = i + padding - k * dilation;
  if (numerator < 0 || numerator % stride !== 0) return -1;
  const o = numerator / stride;
  return o < outputSize ? o : -1;
}

/** Output spatial size for `inputSpatial`; throws E_INVALID_ARGUMENT when an axis would be < 1. */
export function convOutputSpatial(op: string, inputSpatial: Vec3, kernel: Vec3, p: Conv3dParams): Vec3 {
  const out = [0, 1, 2].map((a) => convOutputSize(inputSpatial[a], kernel[a], p.stride[a], p.padding[a], p.dilation[a]));
  if (out.some((o) => o < 1)) {
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `${op}: input [${inputSpatial.join(', ')}] with kernel [${kernel.join(', ')}], stride [${p.stride.join(', ')}], ` +
        `padding [${p.padding.join(', ')}], dilation [${p.dilation.join(', ')}] gives output [${out.join(', ')}]; expected every axis >= 1`,
    );
  }
  return [out[0], out[1], out[2]];
}

/** stride and dilation positive integers, padding non-negative integers, groups 1. */
export function expectConvParams(op: string, p: Conv3dParams): void {
  expectVec3(`${op}: stride`, p.stride, 1);
  expectVec3(`${op}: padding`, p.padding, 0);
  expectVec3(`${op}: dilation`, p.dilation, 1);
  if (p.groups !== undefined && p.groups !== 1)
    throw new SdsError('E_INVALID_ARGUMENT', `${op}: groups: expected 1, found ${p.groups}: grouped convolutions are not supported`);
}

export const spatialOf = (shape: readonly number[]): Vec3 => [shape[shape.length - 3], shape[shape.length - 2], shape[shape.length - 1]];
