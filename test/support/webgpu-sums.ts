import { expect } from 'vitest';
import { GPU_PROFILES, type GpuProfile } from '../../src/backend/webgpu/profile.js';
import { PROBED_WORKGROUPS, probeSubgroupWorkgroups } from '../../src/backend/webgpu/subgroups.js';

export type SumVariant = 'tree' | 'subgroup';

/** Every profile with each workgroup sum (src/backend/webgpu/subgroups.ts), so both paths stay tested on one adapter. */
export const SUM_VARIANTS: readonly { readonly profile: GpuProfile; readonly sums: SumVariant }[] = GPU_PROFILES.flatMap((profile) =>
  (['tree', 'subgroup'] as const).map((sums) => ({ profile, sums })),
);

/**
 * The context's subgroup sizes for a variant. Where the adapter offers subgroups (SwiftShader does, size
 * 4) the probe must pass at every size, so a 'subgroup' run cannot quietly fall back to the tree.
 */
export async function sumWorkgroups(device: GPUDevice, sums: SumVariant): Promise<ReadonlySet<number>> {
  if (sums === 'tree') return new Set();
  const sizes = await probeSubgroupWorkgroups(device, device.limits);
  if (device.features.has('subgroups'))
    expect([...sizes]).toEqual(PROBED_WORKGROUPS.filter((wg) => wg <= device.limits.maxComputeInvocationsPerWorkgroup));
  return sizes;
}
