/** Element types: float32 for images, activations and parameters; uint8/int32 for label maps. */
export type DType = 'float32' | 'int32' | 'uint8';

export type TypedArray = Float32Array | Int32Array | Uint8Array;

export type ArrayFor<D extends DType> = D extends 'float32' ? Float32Array : D extends 'int32' ? Int32Array : Uint8Array;

export function allocate<D extends DType>(dtype: D, size: number): ArrayFor<D> {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size) as ArrayFor<D>;
    case 'int32':
      return new Int32Array(size) as ArrayFor<D>;
    default:
      return new Uint8Array(size) as ArrayFor<D>;
  }
}

export function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  return 'uint8';
}
