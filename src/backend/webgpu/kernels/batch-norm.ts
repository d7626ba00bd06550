import type { Tensor } from '../../../core/tensor.js';
import type { BatchNormGrads, BatchNormTrainResult, KernelSignatures } from '../../../contract/kernels.js';
import type { BatchNormEvalParams, BatchNormTrainParams } from '../../../contract/params.js';
import applySource from '../../../../shaders/batch-norm-apply.wgsl';
import backwardSource from '../../../../shaders/batch-norm-backward.wgsl';
import evalSource from '../../../../shaders/batch-norm-eval.wgsl';
import statsSource from '../../../../shaders/batch-norm-stats.wgsl';
import dyXhatTermSource from '../../../../shaders/channel-reduce-dy-xhat.wgsl';
import sqdevTermSource from '../../../../shaders/channel-reduce-sqdev.wgsl';
import sumTermSource from '../../../../shaders/channel-reduce-sum.wgsl';
import type { WebGpuContext } from '../context.js';
import type { ProgramInfo } from '../program.js';
import { grid1d } from '../runtime.js';
import { makeElementwiseKernels, voxelsPerSlice } from './elementwise.js';
import { makeChannelReducer } from './reduce.js';

/** Elementwise passes: one invocation per value. */
const WG = 256;
/** The statistics pass has one invocation per channel (16-256 in V-Net). */
const STATS_WG = 64;

const perValueUniforms = [
  ['count', 'u32'],
  ['voxels', 'u32'],
  ['channels', 'u32'],
] as const;

const applyProgram: ProgramInfo = { name: 'batchNormApply', source: applySource, uniforms: perValueUniforms, constants: { WG, RELU: 0 } };
/** The same shader with the ReLU of the fused batch norm -> ReLU stage (an override constant: its own pipeline). */
const applyReluProgram: ProgramInfo = { ...applyProgram, constants: { WG, RELU: 1 } };
const evalProgram: ProgramInfo = {
  name: 'batchNormEval',
  source: evalSource,
  uniforms: [...perValueUniforms, ['eps', 'f32']],
  constants: { WG },
};
const backwardProgram: ProgramInfo = {
  name: 'batchNormBackward',
  source: backwardSource,
  uniforms: [...perValueUniforms, ['per_channel', 'f32']],
  constants: { WG },
};
const statsProgram: ProgramInfo = {
  name: 'batchNormStats',
  source: statsSource,
  uniforms: [
    ['channels', 'u32'],
    ['eps', 'f32'],
    ['momentum', 'f32'],
    ['unbias', 'f32'],
  ],
  constants: { WG: STATS_WG },
};

/**
 * Batch norm over N and space per channel of NCDHW. Statistics are two tree reductions (mean, then
 * squared deviations from it) rather than one pass of sum and sum of squares, which loses the variance
 * to cancellation in f32 when |mean| >> std.
 */
export function makeBatchNormKernels(ctx: WebGpuContext) {
  const reduce = makeChannelReducer(ctx);
  const elementwise = makeElementwiseKernels(ctx);
  const buf = (t: Tensor): GPUBuffer => ctx.buffer(t);

  function perValue(program: ProgramInfo, x: Tensor, inputs: readonly Tensor[], extra: readonly number[], label: string): Tensor {
    const out = ctx.alloc(x.shape, 'float32', label);
    ctx.runtime.run(program, {
      buffers: [...inputs.map(buf), buf(out)],
      uniforms: [x.size, voxelsPerSlice(x), x.shape[1], ...extra],
      workgroups: grid1d(x.size, WG),
    });
    return out;
  }

  /** Batch statistics, running-statistics update and the output; with the fused ReLU when `relu`. */
  function train(
    relu: boolean,
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    runningMean: Tensor,
    runningVar: Tensor,
    p: BatchNormTrainParams,
  ): BatchNormTrainResult {
    const [n, c] = x.shape;
    const voxels = voxelsPerSlice(x);
    const count = n * voxels;
    const mean = reduce({ name: 'sum', source: sumTermSource, inputs: [buf(x)] }, n, c, voxels, count, [c]);
    const variance = reduce({ name: 'sqdev', source: sqdevTermSource, inputs: [buf(x), buf(mean)] }, n, c, voxels, count, [c]);
    const invStd = ctx.alloc([c], 'float32', 'invStd');
    ctx.runtime.run(statsProgram, {
      buffers: [buf(mean), buf(variance), buf(invStd), buf(runningMean), buf(runningVar)],
      uniforms: [c, p.eps, p.momentum, count / (count - 1)],
      workgroups: [Math.ceil(c / STATS_WG)],
    });
    ctx.release(variance);
    const inputs = [x, mean, invStd, gamma, beta];
    const y = relu
      ? perValue(applyReluProgram, x, inputs, [], 'batchNormReluTrain')
      : perValue(applyProgram, x, inputs, [], 'batchNormTrain');
    return { y, mean, invStd };
  }

  const kernels = {
    batchNormTrain: (x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, p: BatchNormTrainParams) =>
      train(false, x, gamma, beta, runningMean, runningVar, p),
    batchNormReluTrain: (x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, p: BatchNormTrainParams) =>
      train(true, x, gamma, beta, runningMean, runningVar, p),

    batchNormEval(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, p: BatchNormEvalParams): Tensor {
      return perValue(evalProgram, x, [x, gamma, beta, runningMean, runningVar], [p.eps], 'batchNormEval');
    },

    batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor): BatchNormGrads {
      const [n, c] = x.shape;
      const voxels = voxelsPerSlice(x);
      const dbeta = reduce({ name: 'sum', source: sumTermSource, inputs: [buf(dy)] }, n, c, voxels, 1, [c]);
      const dgamma = reduce(
        { name: 'dyXhat', source: dyXhatTermSource, inputs: [buf(dy), buf(x), buf(mean), buf(invStd)] },
        n,
        c,
        voxels,
        1,
        [c],
      );
      const dx = perValue(backwardProgram, x, [dy, x, gamma, mean, invStd, dgamma, dbeta], [n * voxels], 'batchNormBackward');
      return { dx, dgamma, dbeta };
    },

    /**
     * The ReLU's mask applied by its own pass, then batch norm's backward: on a GPU the extra pass is
     * a small share of the step, so the reductions keep their single-input shaders.
     */
    batchNormReluBackward(dy: Tensor, x: Tensor, y: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor): BatchNormGrads {
      const masked = elementwise.reluBackward(dy, y);
      const grads = kernels.batchNormBackward(masked, x, gamma, mean, invStd);
      ctx.release(masked);
      return grads;
    },
  } satisfies Partial<KernelSignatures>;
  return kernels;
}
