import { type DType, type TypedArray, dtypeOf } from '../../core/dtype.js';
import { SdsError } from '../../core/errors.js';
import { type Shape, shapeString, sizeOf } from '../../core/shape.js';
import { Tensor, expectLive } from '../../core/tensor.js';
import type { GpuProfile } from './profile.js';
import type { WebGpuRuntime } from './runtime.js';

/**
 * How a tensor lives on the GPU. Every dtype takes 4 bytes per element: WGSL storage buffers have no
 * 8-bit type, and label maps are small beside activations, so uint8 labels are widened to u32 on
 * upload and narrowed on read.
 */
export interface GpuStorage {
  readonly buffer: GPUBuffer;
}

export const BYTES_PER_GPU_ELEMENT = 4;

/** What kernels need: allocation with limit checks, buffer access and the runtime that dispatches. */
export class WebGpuContext {
  constructor(
    readonly runtime: WebGpuRuntime,
    readonly limits: GPUSupportedLimits,
    /** Which program variants suit the adapter (profile.ts); kernels read it when they build programs. */
    readonly profile: GpuProfile = 'gpu',
    /** Workgroup sizes whose sums may use subgroup operations (subgroups.ts); empty: the tree everywhere. */
    readonly subgroupSizes: ReadonlySet<number> = new Set(),
  ) {}

  get device(): GPUDevice {
    return this.runtime.device;
  }

  /** A new tensor whose contents are undefined until a kernel writes them. */
  alloc(shape: Shape, dtype: DType, label = 'tensor'): Tensor {
    const bytes = Math.max(4, sizeOf(shape) * BYTES_PER_GPU_ELEMENT);
    this.checkLimits(shape, bytes);
    const buffer = this.runtime.pool.acquire(bytes, `${label}${shapeString(shape)}`);
    return new Tensor('webgpu', shape, dtype, { buffer } satisfies GpuStorage);
  }

  checkLimits(shape: Shape, bytes: number): void {
    const binding = this.limits.maxStorageBufferBindingSize;
    const maxBuffer = this.limits.maxBufferSize;
    if (bytes > binding || bytes > maxBuffer) {
      const limit = bytes > binding ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
      const value = Math.min(binding, maxBuffer);
      throw new SdsError(
        'E_LIMIT_EXCEEDED',
        `a tensor of shape ${shapeString(shape)} needs ${bytes} bytes, over the adapter's ${limit} of ${value} bytes ` +
          `(by ${bytes - value}); use a smaller patch or batch`,
        { limit, bytes, value, shape },
      );
    }
  }

  /** A tensor filled with zeros (in order with recorded work). */
  zeros(shape: Shape, dtype: DType): Tensor {
    const t = this.alloc(shape, dtype, 'zeros');
    this.runtime.clear(this.buffer(t));
    return t;
  }

  buffer(t: Tensor, what = 'tensor'): GPUBuffer {
    expectLive(t, 'webgpu', what);
    return (t.storage as GpuStorage).buffer;
  }

  upload(data: TypedArray, shape: Shape): Tensor {
    const dtype = dtypeOf(data);
    const t = this.alloc(shape, dtype, 'upload');
    const wide = dtype === 'uint8' ? Uint32Array.from(data) : data;
    // queue.writeBuffer runs ahead of commands still being recorded; if the pool handed us a buffer
    // that recorded work reads, that work must be submitted first so it sees the old contents.
    this.runtime.submit();
    this.device.queue.writeBuffer(this.buffer(t), 0, wide.buffer, wide.byteOffset, wide.byteLength);
    return t;
  }

  release(t: Tensor): void {
    if (t.disposed) return;
    this.runtime.pool.release((t.storage as GpuStorage).buffer);
    t.markDisposed();
  }
}
