/**
 * Which program variants the kernels use on an adapter. Chosen once per device from the adapter
 * info (createWebGpuBackend), overridable by an option (tests run both on one machine).
 *
 * - 'gpu': a real GPU. Convolutions run as tiled implicit GEMMs staged through workgroup memory
 *   (shaders/conv3d-gemm.wgsl), which saves off-chip bandwidth.
 * - 'cpu': a CPU-emulated Vulkan adapter (SwiftShader, which our tests and CI use; lavapipe). These
 *   run a workgroup as 4-wide SIMD groups on one thread and implement workgroupBarrier() by switching
 *   between them, so barriers and workgroup-memory staging cost more than the loads they save.
 *   Convolutions use the barrier-free direct skeleton (shaders/conv3d-direct.wgsl) instead.
 */
export type GpuProfile = 'gpu' | 'cpu';

export const GPU_PROFILES: readonly GpuProfile[] = ['gpu', 'cpu'];

export interface AdapterIdentity {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
}

/** SwiftShader reports vendor 'google', architecture 'swiftshader'; Mesa's lavapipe names llvmpipe. */
const CPU_ADAPTER = /swiftshader|llvmpipe|lavapipe/i;

export function profileForAdapter(info: AdapterIdentity): GpuProfile {
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return CPU_ADAPTER.test(text) ? 'cpu' : 'gpu';
}

/** How wide a tree-summing workgroup is and how many values each of its invocations folds first. */
export interface ReductionShape {
  readonly workgroup: number;
  readonly itemsPerInvocation: number;
}

/**
 * Reductions (channel sums, batch-norm statistics, loss partials) tree-sum a workgroup in workgroup
 * memory. On a GPU a wide workgroup hides latency: up to 256 invocations folding 4 values each.
 * On a 'cpu' adapter each workgroupBarrier() of that tree switches between the workgroup's 64 SIMD
 * groups, which made a 64K-value channel sum cost ~9 ms on SwiftShader (40x an elementwise pass
 * over the same data; 70 % of a tiny SDS iteration). One 4-wide SIMD group per workgroup makes the
 * barriers free; each invocation folds 64 values serially instead, so a chunk still covers 256.
 */
export function reductionShape(profile: GpuProfile, maxWorkgroup: number): ReductionShape {
  return profile === 'cpu'
    ? { workgroup: Math.min(4, maxWorkgroup), itemsPerInvocation: 64 }
    : { workgroup: maxWorkgroup, itemsPerInvocation: 4 };
}
