import { allocate, type DType, type TypedArray } from '../../core/dtype.js';
import { SdsError } from '../../core/errors.js';
import { type Shape, expectPositiveIntegers, shapeString, sizeOf } from '../../core/shape.js';
import { type Tensor, expectLive } from '../../core/tensor.js';
import type { Backend, BackendInfo } from '../../backend/backend.js';
import { referenceKernels, wrapStorage } from './kernels.js';

/**
 * The reference backend: tensors are plain typed arrays (float32 stored, float64 accumulated) and every
 * kernel is the op's CPU reference. It is the specification the WebGPU and wasm backends are tested
 * against, and it runs eagerly, so it is slow but simple.
 */
export function createReferenceBackend(): Backend {
  let destroyed = false;
  const expectAlive = (what: string): void => {
    if (destroyed) throw new SdsError('E_DISPOSED', `reference backend: ${what} after destroy()`);
  };
  const expectShapeArg = (what: string, shape: Shape): void => {
    // Zero-sized axes are allowed (an empty tensor is well defined); negative or fractional ones are not.
    if (shape.some((s) => !(Number.isInteger(s) && s >= 0))) expectPositiveIntegers(`${what}: shape`, shape);
  };

  return {
    name: 'reference',
    kernels: referenceKernels,
    upload(data: TypedArray, shape: Shape): Tensor {
      expectAlive('upload');
      expectShapeArg('upload', shape);
      if (!(data instanceof Float32Array || data instanceof Int32Array || data instanceof Uint8Array)) {
        throw new SdsError(
          'E_DTYPE_MISMATCH',
          `upload: expected a Float32Array, Int32Array or Uint8Array, found ${Object.prototype.toString.call(data)}`,
        );
      }
      if (data.length !== sizeOf(shape)) {
        throw new SdsError('E_SHAPE_MISMATCH', `upload: shape ${shapeString(shape)} needs ${sizeOf(shape)} values, found ${data.length}`);
      }
      return wrapStorage(data.slice(), shape);
    },
    zeros(shape: Shape, dtype: DType): Tensor {
      expectAlive('zeros');
      expectShapeArg('zeros', shape);
      if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'uint8') {
        throw new SdsError('E_DTYPE_MISMATCH', `zeros: expected dtype float32, int32 or uint8, found ${String(dtype)}`);
      }
      return wrapStorage(allocate(dtype, sizeOf(shape)), shape);
    },
    async read(t: Tensor): Promise<TypedArray> {
      expectAlive('read');
      expectLive(t, 'reference', 'read');
      return (t.storage as TypedArray).slice();
    },
    dispose(t: Tensor): void {
      expectLive(t, 'reference', 'dispose');
      t.markDisposed();
    },
    async sync(): Promise<void> {
      expectAlive('sync');
    },
    info(): BackendInfo {
      return {
        name: 'reference',
        description: 'TypeScript reference (float32 storage, float64 accumulation, bounds-checked indexing)',
        limits: {},
        details: { eager: true },
      };
    },
    destroy(): void {
      destroyed = true;
    },
  };
}
