/**
 * Moving golden tensors onto a backend and holding results to them. The error measure for float data
 * is max |actual - expected| / max |expected|: a float32 kernel's rounding grows with the magnitude of
 * what it sums, so the largest expected value is the natural scale, and elements near zero (where a
 * pure relative error explodes) are judged on that same scale.
 */
import { expect } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { TypedArray } from '../../src/core/dtype.js';
import { SdsError } from '../../src/core/errors.js';
import { shapeString } from '../../src/core/shape.js';
import type { Tensor } from '../../src/core/tensor.js';
import type { GoldenTensor } from './golden.js';

/** Uploads a fixture input; float64 tensors are expected values and never inputs. Labels may be widened to int32. */
export function uploadGolden(backend: Backend, t: GoldenTensor, as?: 'int32'): Tensor {
  if (t.dtype === 'float64')
    throw new SdsError(
      'E_DTYPE_MISMATCH',
      'uploadGolden: expected a float32/uint8/int32 fixture input, found an expected (float64) tensor',
    );
  if (as === 'int32') return backend.upload(Int32Array.from(t.data), t.shape);
  return backend.upload(t.data as Float32Array | Uint8Array | Int32Array, t.shape);
}

export interface Closeness {
  /** max |actual - expected| / max |expected| (the raw max error when every expected value is 0). */
  readonly error: number;
  readonly worstIndex: number;
}

export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>): Closeness {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  let worstIndex = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    // NaN compares false everywhere: turn it into an infinite error so it cannot pass.
    const d = Number.isNaN(diff) ? Infinity : diff;
    if (d > worst) {
      worst = d;
      worstIndex = i;
    }
  }
  return { error: scale > 0 ? worst / scale : worst, worstIndex };
}

function expectSameShapeAs(what: string, actual: Tensor, expected: GoldenTensor): void {
  expect(shapeString(actual.shape), `${what}: shape`).toBe(shapeString(expected.shape));
}

/** Reads `actual` and checks it is finite and within `tolerance` of the fixture (see file comment). */
export async function expectGoldenClose(
  backend: Backend,
  what: string,
  actual: Tensor,
  expected: GoldenTensor,
  tolerance: number,
): Promise<number> {
  expectSameShapeAs(what, actual, expected);
  const data = await backend.read(actual);
  expect(data.length, `${what}: element count`).toBe(expected.data.length);
  let nonFinite = -1;
  for (let i = 0; i < data.length && nonFinite < 0; i++) if (!Number.isFinite(data[i])) nonFinite = i;
  expect(nonFinite, `${what}: first non-finite element`).toBe(-1);
  const { error, worstIndex } = closeness(data, expected.data);
  const detail = `${what}: error ${error.toExponential(2)} (tolerance ${tolerance.toExponential(0)}), worst at flat index ${worstIndex}: got ${data[worstIndex]}, expected ${expected.data[worstIndex]}`;
  expect(error, detail).toBeLessThanOrEqual(tolerance);
  return error;
}

/** For results that must be bit-exact: index outputs, masks, and pure data movement (rot90, flip). */
export async function expectGoldenExact(backend: Backend, what: string, actual: Tensor, expected: GoldenTensor): Promise<void> {
  expectSameShapeAs(what, actual, expected);
  const data: TypedArray = await backend.read(actual);
  const wantInteger = expected.dtype === 'uint8' || expected.dtype === 'int32';
  if (wantInteger) expect(actual.dtype, `${what}: dtype`).toBe(expected.dtype);
  let mismatch = -1;
  for (let i = 0; i < expected.data.length && mismatch < 0; i++) if (data[i] !== expected.data[i]) mismatch = i;
  const detail =
    mismatch < 0 ? '' : `${what}: first mismatch at flat index ${mismatch}: got ${data[mismatch]}, expected ${expected.data[mismatch]}`;
  expect(mismatch, detail).toBe(-1);
}
