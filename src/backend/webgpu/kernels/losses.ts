import type { Tensor } from '../../../core/tensor.js';
import agreementPartialsSource from '../../../../shaders/agreement-ce-partials.wgsl';
import type { KernelSignatures, LossAndGrad } from '../../../contract/kernels.js';
import type { DiceCeParams, DisagreementMseParams } from '../../../contract/params.js';
import diceCeFinalizeSource from '../../../../shaders/dice-ce-finalize.wgsl';
import diceCeGradSource from '../../../../shaders/dice-ce-grad.wgsl';
import diceCePartialsSource from '../../../../shaders/dice-ce-partials.wgsl';
import mseCommonSource from '../../../../shaders/disagreement-mse-common.wgsl';
import mseFinalizeSource from '../../../../shaders/disagreement-mse-finalize.wgsl';
import mseGradSource from '../../../../shaders/disagreement-mse-grad.wgsl';
import msePartialsSource from '../../../../shaders/disagreement-mse-partials.wgsl';
import softmaxSource from '../../../../shaders/loss-softmax.wgsl';
import type { WebGpuContext } from '../context.js';
import type { ProgramInfo } from '../program.js';
import { reductionShape } from '../profile.js';
import { grid1d } from '../runtime.js';
import { workgroupSum } from '../subgroups.js';

/**
 * The two losses of METHOD.md steps 4 and 5, each as three dispatches with no read-back: partial sums
 * per chunk of voxels (tree-summed in workgroup memory; diceCeLoss gives each class its own workgroup), one workgroup that folds the partials into the
 * scalar loss and the coefficients the gradient needs, and a per-voxel gradient pass. The loss stays
 * in a device buffer for the next kernel (laEmaAlpha) to read. Every sum runs in a fixed order, so
 * the same inputs give bit-identical results.
 */

/** Threads per workgroup at most; 256 is the WebGPU default limit and enough to hide latency. */
const PREFERRED_WORKGROUP = 256;
/** Partial sums per voxel chunk for diceCeLoss: intersection, sum p, sum y per class, then CE and count. */
const diceQuantities = (classes: number): number => 3 * classes + 2;

const floorPowerOfTwo = (v: number): number => 2 ** Math.floor(Math.log2(v));

/** Program descriptions depend only on the class count: build them once per count. */
function perClassCount<T>(build: (classes: number) => T): (classes: number) => T {
  const built = new Map<number, T>();
  return (classes) => {
    let programs = built.get(classes);
    if (programs === undefined) built.set(classes, (programs = build(classes)));
    return programs;
  };
}

const region = (mask: Tensor | null, p: DiceCeParams): number => (mask === null ? 0 : p.region === 'outside' ? 1 : 2);

/** Shared by the disagreementMse partial-sum and gradient passes (partials adds `items`). */
const mseUniforms = [
  ['voxels', 'u32'],
  ['spatial', 'u32'],
  ['weight_outside', 'f32'],
  ['weight_inside', 'f32'],
] as const;

export function makeLossKernels(ctx: WebGpuContext) {
  const limits = ctx.limits;
  const maxWorkgroup = floorPowerOfTwo(
    Math.min(PREFERRED_WORKGROUP, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX),
  );
  const maxGroupsPerDim = limits.maxComputeWorkgroupsPerDimension;
  // The partial-sum and finalize passes tree-sum in workgroup memory (profile.ts says why the width
  // depends on the adapter); the per-voxel gradient passes keep the full width.
  const { workgroup: sumWorkgroup, itemsPerInvocation: itemsPerThread } = reductionShape(ctx.profile, maxWorkgroup);
  // workgroup_sum for the passes that tree-sum: over subgroups where the adapter allows (subgroups.ts).
  const sum = workgroupSum(ctx, sumWorkgroup);

  /** Chunks of `wg * items` voxels covering `voxels`, with items raised until the chunks fit one grid axis. */
  function chunking(voxels: number, wg: number): { chunks: number; items: number } {
    const items = Math.max(itemsPerThread, Math.ceil(voxels / (wg * maxGroupsPerDim)));
    return { chunks: Math.max(1, Math.ceil(voxels / (wg * items))), items };
  }

  const diceCePrograms = perClassCount(buildDiceCePrograms);
  const msePrograms = perClassCount(buildMsePrograms);
  const agreementPrograms = perClassCount(buildAgreementPrograms);

  function buildDiceCePrograms(classes: number) {
    const constants = { C: classes, Q: diceQuantities(classes), WG: maxWorkgroup };
    const sumConstants = { ...constants, WG: sumWorkgroup };
    return {
      partials: {
        name: `dice-ce-partials${sum.tag}`,
        source: diceCePartialsSource,
        includes: [softmaxSource, ...sum.includes],
        enables: sum.enables,
        uniforms: [
          ['spatial', 'u32'],
          ['items', 'u32'],
          ['chunks', 'u32'],
          ['region', 'u32'],
        ],
        constants: sumConstants,
      } satisfies ProgramInfo,
      finalize: {
        name: `dice-ce-finalize${sum.tag}`,
        source: diceCeFinalizeSource,
        includes: [...sum.includes],
        enables: sum.enables,
        uniforms: [
          ['samples', 'u32'],
          ['chunks', 'u32'],
          ['weight', 'f32'],
        ],
        constants: sumConstants,
      } satisfies ProgramInfo,
      grad: {
        name: 'dice-ce-grad',
        source: diceCeGradSource,
        includes: [softmaxSource],
        uniforms: [
          ['voxels', 'u32'],
          ['spatial', 'u32'],
          ['samples', 'u32'],
          ['region', 'u32'],
        ],
        constants,
      } satisfies ProgramInfo,
    };
  }

  function buildMsePrograms(classes: number) {
    return {
      partials: {
        name: `disagreement-mse-partials${sum.tag}`,
        source: msePartialsSource,
        includes: [softmaxSource, mseCommonSource, ...sum.includes],
        enables: sum.enables,
        uniforms: [...mseUniforms, ['items', 'u32']],
        constants: { C: classes, WG: sumWorkgroup },
      } satisfies ProgramInfo,
      finalize: {
        name: `disagreement-mse-finalize${sum.tag}`,
        source: mseFinalizeSource,
        includes: [...sum.includes],
        enables: sum.enables,
        uniforms: [['chunks', 'u32']],
        constants: { WG: sumWorkgroup },
      } satisfies ProgramInfo,
      grad: {
        name: 'disagreement-mse-grad',
        source: mseGradSource,
        includes: [softmaxSource, mseCommonSource],
        uniforms: mseUniforms,
        constants: { C: classes, WG: maxWorkgroup },
      } satisfies ProgramInfo,
    };
  }

  /** The switch's score: its own partial sums, then the disagreement loss's finalize (same partials layout). */
  function buildAgreementPrograms(classes: number) {
    return {
      partials: {
        name: `agreement-ce-partials${sum.tag}`,
        source: agreementPartialsSource,
        includes: [softmaxSource, ...sum.includes],
        enables: sum.enables,
        uniforms: [
          ['voxels', 'u32'],
          ['spatial', 'u32'],
          ['items', 'u32'],
        ],
        constants: { C: classes, WG: sumWorkgroup },
      } satisfies ProgramInfo,
      finalize: msePrograms(classes).finalize,
    };
  }

  return {
    agreementCrossEntropy(logits: Tensor, labels: Tensor, other: Tensor): Tensor {
      const [samples, classes] = logits.shape;
      const voxels = logits.size / classes;
      const programs = agreementPrograms(classes);
      const { chunks, items } = chunking(voxels, sumWorkgroup);
      const partials = ctx.alloc([chunks, 2], 'float32', 'agreement-ce-partials');
      const stats = ctx.alloc([1], 'float32', 'agreement-ce-stats');
      const score = ctx.alloc([], 'float32', 'agreement-ce');
      ctx.runtime.run(programs.partials, {
        buffers: [
          ctx.buffer(logits, 'agreementCrossEntropy: logits'),
          ctx.buffer(labels, 'agreementCrossEntropy: labels'),
          ctx.buffer(other, 'agreementCrossEntropy: other'),
          ctx.buffer(partials),
        ],
        uniforms: [voxels, voxels / samples, items],
        workgroups: [chunks],
      });
      ctx.runtime.run(programs.finalize, {
        buffers: [ctx.buffer(partials), ctx.buffer(stats), ctx.buffer(score)],
        uniforms: [chunks],
        workgroups: [1],
      });
      ctx.release(partials);
      ctx.release(stats);
      return score;
    },

    diceCeLoss(logits: Tensor, labels: Tensor, mask: Tensor | null, p: DiceCeParams): LossAndGrad {
      const [samples, classes] = logits.shape;
      const spatial = logits.size / (samples * classes);
      const programs = diceCePrograms(classes);
      const Q = diceQuantities(classes);
      const { chunks, items } = chunking(spatial, sumWorkgroup);
      const partials = ctx.alloc([samples, chunks, Q], 'float32', 'dice-ce-partials');
      // Totals per sample, then (ratio, scale) per (n, c), then the cross-entropy scale.
      const stats = ctx.alloc([samples * Q + 2 * samples * classes + 1], 'float32', 'dice-ce-stats');
      const loss = ctx.alloc([], 'float32', 'dice-ce-loss');
      const grad = ctx.alloc(logits.shape, 'float32', 'dice-ce-grad');
      const logitsBuffer = ctx.buffer(logits, 'diceCeLoss: logits');
      const labelsBuffer = ctx.buffer(labels, 'diceCeLoss: labels');
      // Without a mask every voxel counts and the shader never reads binding 3; labels fill the slot.
      const maskBuffer = mask === null ? labelsBuffer : ctx.buffer(mask, 'diceCeLoss: mask');
      const regionCode = region(mask, p);
      ctx.runtime.run(programs.partials, {
        buffers: [logitsBuffer, labelsBuffer, maskBuffer, ctx.buffer(partials)],
        uniforms: [spatial, items, chunks, regionCode],
        workgroups: [chunks, samples, classes],
      });
      ctx.runtime.run(programs.finalize, {
        buffers: [ctx.buffer(partials), ctx.buffer(stats), ctx.buffer(loss)],
        uniforms: [samples, chunks, p.weight],
        workgroups: [1],
      });
      ctx.runtime.run(programs.grad, {
        buffers: [logitsBuffer, labelsBuffer, maskBuffer, ctx.buffer(stats), ctx.buffer(grad)],
        uniforms: [samples * spatial, spatial, samples, regionCode],
        workgroups: grid1d(samples * spatial, maxWorkgroup, maxGroupsPerDim),
      });
      // Safe to recycle now: WebGPU runs work in submission order, so a later owner writes after these reads.
      ctx.release(partials);
      ctx.release(stats);
      return { loss, grad };
    },

    disagreementMse(logits: Tensor, other: Tensor, target: Tensor, mask: Tensor, p: DisagreementMseParams): LossAndGrad {
      const [samples, classes] = logits.shape;
      const voxels = logits.size / classes;
      const spatial = voxels / samples;
      const programs = msePrograms(classes);
      const { chunks, items } = chunking(voxels, sumWorkgroup);
      const partials = ctx.alloc([chunks, 2], 'float32', 'disagreement-mse-partials');
      const stats = ctx.alloc([1], 'float32', 'disagreement-mse-stats');
      const loss = ctx.alloc([], 'float32', 'disagreement-mse-loss');
      const grad = ctx.alloc(logits.shape, 'float32', 'disagreement-mse-grad');
      const inputs = [
        ctx.buffer(logits, 'disagreementMse: logits'),
        ctx.buffer(other, 'disagreementMse: other'),
        ctx.buffer(target, 'disagreementMse: target'),
        ctx.buffer(mask, 'disagreementMse: mask'),
      ];
      const shared = [voxels, spatial, p.weightOutside, p.weightInside];
      ctx.runtime.run(programs.partials, {
        buffers: [...inputs, ctx.buffer(partials)],
        uniforms: [...shared, items],
        workgroups: [chunks],
      });
      ctx.runtime.run(programs.finalize, {
        buffers: [ctx.buffer(partials), ctx.buffer(stats), ctx.buffer(loss)],
        uniforms: [chunks],
        workgroups: [1],
      });
      ctx.runtime.run(programs.grad, {
        buffers: [...inputs, ctx.buffer(stats), ctx.buffer(grad)],
        uniforms: shared,
        workgroups: grid1d(voxels, maxWorkgroup, maxGroupsPerDim),
      });
      ctx.release(partials);
      ctx.release(stats);
      return { loss, grad };
    },
  } satisfies Partial<KernelSignatures>;
}
