import type { DType } from '../core/dtype.js';
import { SdsError } from '../core/errors.js';
import { type Shape, expectRank, expectShape, shapeString } from '../core/shape.js';
import { type Tensor, expectLive } from '../core/tensor.js';
import type { Backend } from '../backend/backend.js';

/**
 * Validation shared by the dispatch functions: one check per constraint, each message naming the op,
 * the argument, what was expected and what was found. Kernels trust these checks and validate nothing.
 */

/** Every tensor is alive and belongs to `backend`. */
export function expectTensorsOn(backend: Backend, op: string, tensors: Record<string, Tensor | null>): void {
  for (const [name, t] of Object.entries(tensors)) if (t !== null) expectLive(t, backend.name, `${op}: ${name}`);
}

export function expectDType(what: string, t: Tensor, ...allowed: DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new SdsError('E_DTYPE_MISMATCH', `${what}: expected dtype ${allowed.join(' or ')}, found ${t.dtype}`, {
      expected: allowed,
      actual: t.dtype,
    });
  }
}

export const expectFloat = (what: string, t: Tensor): void => expectDType(what, t, 'float32');

/** A float32 tensor of rank 5 (NCDHW). */
export function expectImage(what: string, t: Tensor): void {
  expectFloat(what, t);
  expectRank(what, t.shape, 5);
}

/** A float32 [C] vector, one value per channel. */
export function expectChannelVector(what: string, t: Tensor, channels: number): void {
  expectFloat(what, t);
  expectShape(what, t.shape, [channels]);
}

/** A label map [N, D, H, W] (uint8 or int32) matching an NCDHW image. */
export function expectLabelsFor(what: string, labels: Tensor, image: Shape): void {
  expectDType(what, labels, 'uint8', 'int32');
  expectShape(what, labels.shape, [image[0], image[2], image[3], image[4]]);
}

/** A cube mask [D, H, W] uint8 matching the last three axes of `of`. */
export function expectMaskFor(what: string, mask: Tensor, of: Shape): void {
  expectDType(what, mask, 'uint8');
  expectShape(what, mask.shape, of.slice(-3));
}

/** A scalar (shape []) float32 tensor. */
export function expectScalar(what: string, t: Tensor): void {
  expectFloat(what, t);
  expectShape(what, t.shape, []);
}

export function expectSameShape(what: string, a: Tensor, b: Tensor): void {
  expectShape(what, b.shape, a.shape);
}

/** An NCDHW (rank 5) or NDHW (rank 4) tensor: the spatial ops work on both images and label maps. */
export function expectSpatialRank(what: string, t: Tensor): void {
  if (t.shape.length !== 4 && t.shape.length !== 5) {
    throw new SdsError('E_SHAPE_MISMATCH', `${what}: expected an NCDHW (rank 5) or NDHW (rank 4) tensor, found ${shapeString(t.shape)}`);
  }
}

export function expectFinite(what: string, value: number): void {
  if (!Number.isFinite(value)) throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected a finite number, found ${value}`);
}

/** lo <= value <= hi (or < hi when `hiOpen`). */
export function expectInRange(what: string, value: number, lo: number, hi: number, hiOpen = false): void {
  const ok = Number.isFinite(value) && value >= lo && (hiOpen ? value < hi : value <= hi);
  if (!ok) throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected a number in [${lo}, ${hi}${hiOpen ? ')' : ']'}, found ${value}`);
}

export function expectInteger(what: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected an integer in [${min}, ${max}], found ${value}`);
  }
}

export function expectIntegers(what: string, values: readonly number[], min: number): void {
  if (!values.every((v) => Number.isInteger(v) && v >= min)) {
    throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected integers >= ${min}, found ${shapeString(values)}`);
  }
}

/** A [D, H, W] triple of integers >= min. */
export function expectVec3(what: string, values: readonly number[], min: number): void {
  if (values.length !== 3) throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected 3 values [D, H, W], found ${shapeString(values)}`);
  expectIntegers(what, values, min);
}
