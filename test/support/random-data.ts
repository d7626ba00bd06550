/**
 * Seeded test data. Values come from the same counter-based generator the kernels use for dropout
 * (src/ops/random.ts), so a (seed, index) pair always gives the same number and test data never
 * depends on call order or on Math.random.
 */
import { sizeOf, type Shape } from '../../src/core/shape.js';
import { uniformAt } from '../../src/ops/random.js';

export interface HostArray<A = Float32Array | Float64Array | Int32Array | Uint8Array> {
  readonly data: A;
  readonly shape: Shape;
}

/** Uniform floats in [lo, hi), float32. */
export function randomFloat32(seed: number, shape: Shape, lo = -1, hi = 1): HostArray<Float32Array> {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * uniformAt(seed, i);
  return { data, shape };
}

/** Uniform floats in [lo, hi), float64 (finite-difference checks). */
export function randomFloat64(seed: number, shape: Shape, lo = -1, hi = 1): HostArray<Float64Array> {
  const data = new Float64Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * uniformAt(seed, i);
  return { data, shape };
}

/** Uniform integers in [0, classes), as a uint8 or int32 label map. */
export function randomLabels(
  seed: number,
  shape: Shape,
  classes: number,
  dtype: 'uint8' | 'int32' = 'uint8',
): HostArray<Uint8Array | Int32Array> {
  const data = dtype === 'uint8' ? new Uint8Array(sizeOf(shape)) : new Int32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(classes * uniformAt(seed, i));
  return { data, shape };
}

/** Integer-valued floats in [0, levels): many exact ties, for argmax's first-index rule. */
export function randomLevels(seed: number, shape: Shape, levels: number): HostArray<Float32Array> {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(levels * uniformAt(seed, i));
  return { data, shape };
}

export const scalarHost = (value: number): HostArray<Float32Array> => ({ data: Float32Array.of(value), shape: [] });

/** A cube mask (1 outside, 0 inside) built on the host, for tests that need one as an input. */
export function hostCubeMask(
  spatial: readonly [number, number, number],
  start: readonly number[],
  size: readonly number[],
): HostArray<Uint8Array> {
  const [D, H, W] = spatial;
  const data = new Uint8Array(D * H * W);
  const inside = (i: number, a: number): boolean => i >= start[a] && i < start[a] + size[a];
  for (let d = 0; d < D; d++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) data[(d * H + h) * W + w] = inside(d, 0) && inside(h, 1) && inside(w, 2) ? 0 : 1;
  return { data, shape: spatial };
}
