import type { DType, TypedArray } from '../core/dtype.js';
import type { Shape } from '../core/shape.js';
import type { BackendName, Tensor } from '../core/tensor.js';
import type { Kernels } from '../contract/kernels.js';

export interface BackendInfo {
  readonly name: BackendName;
  /** Human-readable description: adapter name, thread count, SIMD flavour. */
  readonly description: string;
  /** Limits the backend enforces, in bytes where they are sizes. */
  readonly limits: Readonly<Record<string, number>>;
  /** Anything else worth showing a user (vendor, architecture, relaxed SIMD, why single-threaded). */
  readonly details: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The small contract every backend fulfils: memory (upload, zeros, read, dispose) plus the kernel
 * table. Everything else is an op in ops/.
 */
export interface Backend {
  readonly name: BackendName;
  readonly kernels: Kernels;
  /** Copies `data` to the backend. */
  upload(data: TypedArray, shape: Shape): Tensor;
  zeros(shape: Shape, dtype: DType): Tensor;
  /** Resolves with a copy of the tensor's contents once the work that produces it is done. */
  read(t: Tensor): Promise<TypedArray>;
  dispose(t: Tensor): void;
  /** Submits pending work and resolves when the device has finished it. */
  sync(): Promise<void>;
  info(): BackendInfo;
  /** Releases every resource; the backend is unusable afterwards. */
  destroy(): void;
}
