import type { Shape } from '../core/shape.js';
import { shapeString, sizeOf } from '../core/shape.js';

/**
 * Host arrays the CPU references compute on. Float data is generic over Float32Array | Float64Array:
 * the reference backend stores float32, and the finite-difference tests run the same functions in
 * float64. Sums are accumulated in plain JS numbers (float64) either way.
 */
export type FloatArray = Float32Array | Float64Array;
export type LabelArray = Uint8Array | Int32Array;
export type NumericArray = FloatArray | LabelArray;

/** A row-major host array and its shape. */
export interface Dense<A extends NumericArray = FloatArray> {
  readonly data: A;
  readonly shape: Shape;
}

export const dense = <A extends NumericArray>(data: A, shape: Shape): Dense<A> => {
  if (data.length !== sizeOf(shape)) throw new RangeError(`dense: ${data.length} values for shape ${shapeString(shape)}`);
  return { data, shape: Object.freeze([...shape]) };
};

/** A zero-filled array of the same kind as `like` (Float32Array stays Float32Array, ...). */
export function allocLike<A extends NumericArray>(like: A, size: number): A {
  const Ctor = like.constructor as new (n: number) => A;
  return new Ctor(size);
}

/** A zero-filled Dense of the same kind as `like`, with `shape`. */
export const zerosLike = <A extends NumericArray>(like: A, shape: Shape): Dense<A> => dense(allocLike(like, sizeOf(shape)), shape);

// Typed arrays read `undefined` and drop writes out of range; the reference is the specification, so a
// wrong index must fail loudly instead (STYLE.md point 2). These checks are why the reference is slow.
function outOfRange(i: number, length: number): never {
  throw new RangeError(`reference: flat index ${i} outside [0, ${length})`);
}

export function at(a: ArrayLike<number>, i: number): number {
  if (!(i >= 0 && i < a.length)) outOfRange(i, a.length);
  return a[i];
}

export function put(a: NumericArray, i: number, v: number): void {
  if (!(i >= 0 && i < a.length)) outOfRange(i, a.length);
  a[i] = v;
}

/**
 * Checked offsets into an [N, C, D, H, W] array: each coordinate is range-checked on its own, so an
 * index that runs off one row cannot silently land in the next. Label maps NDHW are viewed with C = 1,
 * cube masks DHW with N = C = 1.
 */
export class Layout5 {
  readonly n: number;
  readonly c: number;
  readonly d: number;
  readonly h: number;
  readonly w: number;
  /** Voxels per (n, c) slice: D * H * W. */
  readonly spatialSize: number;

  constructor(shape: Shape) {
    if (shape.length !== 5) throw new RangeError(`Layout5: expected rank 5, found ${shapeString(shape)}`);
    [this.n, this.c, this.d, this.h, this.w] = shape;
    this.spatialSize = this.d * this.h * this.w;
  }

  static ofLabels(shape: Shape): Layout5 {
    return new Layout5([shape[0], 1, shape[1], shape[2], shape[3]]);
  }

  static ofMask(shape: Shape): Layout5 {
    return new Layout5([1, 1, shape[0], shape[1], shape[2]]);
  }

  offset(n: number, c: number, d: number, h: number, w: number): number {
    if (!(n >= 0 && n < this.n && c >= 0 && c < this.c && d >= 0 && d < this.d && h >= 0 && h < this.h && w >= 0 && w < this.w)) {
      throw new RangeError(
        `reference: index [${n}, ${c}, ${d}, ${h}, ${w}] outside [${this.n}, ${this.c}, ${this.d}, ${this.h}, ${this.w}]`,
      );
    }
    return (((n * this.c + c) * this.d + d) * this.h + h) * this.w + w;
  }

  /** Offset of spatial voxel v (0 <= v < D*H*W) of slice (n, c). */
  voxel(n: number, c: number, v: number): number {
    if (!(v >= 0 && v < this.spatialSize)) throw new RangeError(`reference: voxel ${v} outside [0, ${this.spatialSize})`);
    return this.offset(n, c, 0, 0, 0) + v;
  }
}
