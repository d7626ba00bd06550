import type { DType } from './dtype.js';
import { SdsError } from './errors.js';
import { type Shape, shapeString, sizeOf } from './shape.js';

export type BackendName = 'reference' | 'webgpu' | 'wasm';

/**
 * A handle to an N-d array that lives on one backend. Layout is always row-major with the last axis
 * fastest; image tensors are NCDHW, label maps NDHW. The handle is cheap: the data stays where the
 * backend keeps it (a typed array, a GPU buffer, a region of wasm memory) and comes back only through
 * `backend.read()`. Backends may run kernels lazily, so a tensor's contents are observable only by
 * reading it.
 */
export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
  readonly backend: BackendName;
  /** The backend's storage for this tensor. Only that backend looks inside. @internal */
  readonly storage: unknown;
  private released = false;

  constructor(backend: BackendName, shape: Shape, dtype: DType, storage: unknown) {
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.storage = storage;
  }

  get disposed(): boolean {
    return this.released;
  }

  /** Marks the handle dead; called by the owning backend's `dispose`. @internal */
  markDisposed(): void {
    this.released = true;
  }

  toString(): string {
    return `Tensor(${this.backend}, ${this.dtype}, ${shapeString(this.shape)})`;
  }
}

/** Throws unless `t` is alive and belongs to `backend`. */
export function expectLive(t: Tensor, backend: BackendName, what = 'tensor'): void {
  if (t.disposed) throw new SdsError('E_DISPOSED', `${what} ${t} was used after dispose()`);
  if (t.backend !== backend) {
    throw new SdsError('E_WRONG_BACKEND', `${what}: expected a tensor of backend '${backend}', found one of '${t.backend}'`);
  }
}
