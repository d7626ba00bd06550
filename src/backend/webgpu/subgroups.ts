/**
 * Subgroup operations for the workgroup sums of the reduction and loss kernels, where the adapter
 * offers the `subgroups` feature. shaders/workgroup-sum-subgroup.wgsl adds each subgroup's values in
 * registers and needs two barriers a sum, where the tree of shaders/workgroup-sum.wgsl needs
 * log2(WG) + 2. It relies on a layout WGSL does not promise (subgroups are full, consecutive runs of
 * local_invocation_index), so each workgroup size is probed on the device once; a size where the probe
 * fails keeps the tree. The tree stays the path of every adapter without the feature, and tests run
 * both on one adapter (WebGpuContext's `subgroupSizes`).
 */
import probeSource from '../../../shaders/subgroup-probe.wgsl';
import workgroupSumSource from '../../../shaders/workgroup-sum.wgsl';
import workgroupSumSubgroupSource from '../../../shaders/workgroup-sum-subgroup.wgsl';
import type { WebGpuContext } from './context.js';
import { fullSource } from './program.js';

/** The workgroup sizes the reductions use: powers of two from 4 (the 'cpu' profile's) to 256. */
export const PROBED_WORKGROUPS: readonly number[] = [4, 8, 16, 32, 64, 128, 256];

/**
 * The workgroup sizes at which this device's subgroups have the layout the subgroup sum needs (empty
 * without the `subgroups` feature, or when the driver rejects the probe). Runs once, before any kernel,
 * on the device directly rather than through the runtime, so a probe that fails to compile leaves
 * the tree in use instead of an error on the runtime: one dispatch per size, one read-back in all.
 */
export async function probeSubgroupWorkgroups(device: GPUDevice, limits: GPUSupportedLimits): Promise<ReadonlySet<number>> {
  if (!device.features.has('subgroups')) return new Set();
  const sizes = PROBED_WORKGROUPS.filter((wg) => wg <= limits.maxComputeInvocationsPerWorkgroup && wg <= limits.maxComputeWorkgroupSizeX);
  const stride = Math.max(...sizes);
  const bytes = sizes.length * stride * 4;
  const code = fullSource({ name: 'subgroup-probe', source: probeSource, enables: ['subgroups'], uniforms: [] });
  const module = device.createShaderModule({ code, label: 'subgroup-probe' });
  if ((await module.getCompilationInfo()).messages.some((m) => m.type === 'error')) return new Set();
  const flags = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, label: 'subgroup-probe' });
  const staging = device.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    label: 'subgroup-probe-read',
  });
  device.pushErrorScope('validation');
  try {
    const encoder = device.createCommandEncoder({ label: 'subgroup-probe' });
    const pass = encoder.beginComputePass();
    for (const [i, wg] of sizes.entries()) {
      const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main', constants: { WG: wg } } });
      // The probe reads no uniforms, so its 'auto' layout has binding 1 only.
      const entries: GPUBindGroupEntry[] = [{ binding: 1, resource: { buffer: flags, offset: i * stride * 4, size: wg * 4 } }];
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
      pass.dispatchWorkgroups(1);
    }
    pass.end();
    encoder.copyBufferToBuffer(flags, 0, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    if ((await device.popErrorScope()) !== null) return new Set();
    await staging.mapAsync(GPUMapMode.READ);
    const words = new Uint32Array(staging.getMappedRange().slice(0));
    return new Set(sizes.filter((wg, i) => words.subarray(i * stride, i * stride + wg).every((f) => f === 1)));
  } finally {
    for (const b of [flags, staging]) b.destroy();
  }
}

/**
 * How a program that calls `workgroup_sum(tid, value)` (WG threads) gets it on this context: the
 * include, the extension it needs and a name suffix that keeps the two variants' pipelines apart.
 */
export function workgroupSum(
  ctx: WebGpuContext,
  wg: number,
): { readonly includes: readonly string[]; readonly enables: readonly string[]; readonly tag: string } {
  return ctx.subgroupSizes.has(wg)
    ? { includes: [workgroupSumSubgroupSource], enables: ['subgroups'], tag: '-subgroup' }
    : { includes: [workgroupSumSource], enables: [], tag: '' };
}
