import { describe, expect, test } from 'vitest';
import { WebGpuContext } from '../src/backend/webgpu/context.js';
import { acquireDevice, getGpu } from '../src/backend/webgpu/device.js';
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { WebGpuRuntime } from '../src/backend/webgpu/runtime.js';
import { PROBED_WORKGROUPS, probeSubgroupWorkgroups, workgroupSum } from '../src/backend/webgpu/subgroups.js';

/**
 * Feature detection of the subgroup workgroup sums (src/backend/webgpu/subgroups.ts). The sums
 * themselves are checked against the float64 references with and without subgroups in
 * webgpu-kernels.test.ts and webgpu-losses.test.ts. SwiftShader offers `subgroups` (size 4).
 */
describe('subgroup workgroup sums', () => {
  test('the backend probes the adapter and reports where it sums with subgroups; the option turns it off', async () => {
    const { device } = await acquireDevice();
    expect(device.features.has('subgroups')).toBe(true);
    const sizes = await probeSubgroupWorkgroups(device, device.limits);
    expect([...sizes]).toEqual(PROBED_WORKGROUPS);
    device.destroy();

    const on = await createWebGpuBackend();
    expect(on.info().details.subgroups).toBe(PROBED_WORKGROUPS.join(','));
    on.destroy();
    const off = await createWebGpuBackend({ subgroups: false });
    expect(off.info().details.subgroups).toBe('none');
    off.destroy();
  });

  test('a program gets the subgroup sum only at a probed workgroup size, and the tree elsewhere', async () => {
    const { device } = await acquireDevice();
    const ctx = new WebGpuContext(new WebGpuRuntime(device), device.limits, 'gpu', new Set([4, 256]));
    const probed = workgroupSum(ctx, 256);
    expect(probed.enables).toEqual(['subgroups']);
    expect(probed.tag).toBe('-subgroup');
    expect(probed.includes[0]).toContain('subgroupAdd');
    const other = workgroupSum(ctx, 64);
    expect(other.enables).toEqual([]);
    expect(other.includes[0]).not.toContain('subgroupAdd');
    expect(other.includes[0]).toContain('workgroupBarrier');
    ctx.runtime.destroy();
    device.destroy();
  });

  test('a device created without the feature probes to no sizes', async () => {
    const adapter = await (await getGpu()).requestAdapter();
    const device = await adapter!.requestDevice();
    expect(device.features.has('subgroups')).toBe(false);
    expect((await probeSubgroupWorkgroups(device, device.limits)).size).toBe(0);
    device.destroy();
  });
});
