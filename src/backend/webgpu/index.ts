import type { DType, TypedArray } from '../../core/dtype.js';
import { allocate } from '../../core/dtype.js';
import type { Shape } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import type { Backend, BackendInfo } from '../backend.js';
import { WebGpuContext } from './context.js';
import { type GpuDeviceOptions, acquireDevice } from './device.js';
import { makeWebGpuKernels } from './kernels/index.js';
import { type GpuProfile, profileForAdapter } from './profile.js';
import { WebGpuRuntime } from './runtime.js';
import { probeSubgroupWorkgroups } from './subgroups.js';

export interface WebGpuBackendOptions extends GpuDeviceOptions {
  /** Program variants to use; by default chosen from the adapter info (profile.ts). */
  readonly profile?: GpuProfile;
  /**
   * Sum workgroups with subgroup operations where the adapter has the `subgroups` feature and the
   * layout probe holds (subgroups.ts). Default true; false keeps the workgroup-memory tree everywhere.
   */
  readonly subgroups?: boolean;
}

export interface WebGpuBackend extends Backend {
  /** Buffer-pool and submission counters, for memory plans, soak tests and the read-back budget. */
  stats(): {
    liveBytes: number;
    pooledBytes: number;
    peakLiveBytes: number;
    buffersCreated: number;
    dispatches: number;
    submits: number;
    readBacks: number;
  };
  resetPeak(): void;
}

export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const { device, adapterInfo } = await acquireDevice(options);
  const runtime = new WebGpuRuntime(device);
  const profile = options.profile ?? profileForAdapter(adapterInfo);
  const subgroupSizes = options.subgroups === false ? new Set<number>() : await probeSubgroupWorkgroups(device, device.limits);
  const ctx = new WebGpuContext(runtime, device.limits, profile, subgroupSizes);
  const kernels = makeWebGpuKernels(ctx);
  const limits = device.limits;

  return {
    name: 'webgpu',
    kernels,
    upload: (data: TypedArray, shape: Shape) => ctx.upload(data, shape),
    zeros: (shape: Shape, dtype: DType) => ctx.zeros(shape, dtype),
    async read(t: Tensor): Promise<TypedArray> {
      const bytes = await runtime.readBuffer(ctx.buffer(t), Math.max(4, t.size * 4));
      if (t.dtype === 'float32') return new Float32Array(bytes, 0, t.size);
      if (t.dtype === 'int32') return new Int32Array(bytes, 0, t.size);
      const out = allocate('uint8', t.size);
      out.set(new Uint32Array(bytes, 0, t.size));
      return out;
    },
    dispose: (t: Tensor) => ctx.release(t),
    sync: () => runtime.flush(),
    info(): BackendInfo {
      const name = [adapterInfo.vendor, adapterInfo.architecture, adapterInfo.device, adapterInfo.description].filter(Boolean).join(' ');
      return {
        name: 'webgpu',
        description: `WebGPU on ${name || 'an unnamed adapter'}`,
        limits: {
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxBufferSize: limits.maxBufferSize,
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
          maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        },
        details: { ...adapterInfo, profile, subgroups: [...subgroupSizes].join(',') || 'none' },
      };
    },
    stats: () => ({
      ...runtime.pool.stats(),
      dispatches: runtime.dispatchCount,
      submits: runtime.submitCount,
      readBacks: runtime.readBackCount,
    }),
    resetPeak: () => runtime.pool.resetPeak(),
    destroy() {
      runtime.destroy();
      if (!options.device) device.destroy();
    },
  };
}
