import type { Tensor } from '../../../core/tensor.js';
import type { KernelSignatures } from '../../../contract/kernels.js';
import type { LaEmaParams, SgdParams } from '../../../contract/params.js';
import emaUpdateSource from '../../../../shaders/ema-update.wgsl';
import laEmaAlphaSource from '../../../../shaders/la-ema-alpha.wgsl';
import sgdStepSource from '../../../../shaders/sgd-step.wgsl';
import type { WebGpuContext } from '../context.js';
import type { ProgramInfo } from '../program.js';
import { grid1d } from '../runtime.js';

const WG = 256;

const sgdProgram: ProgramInfo = {
  name: 'sgdStep',
  source: sgdStepSource,
  uniforms: [
    ['count', 'u32'],
    ['lr', 'f32'],
    ['momentum', 'f32'],
    ['weight_decay', 'f32'],
  ],
  constants: { WG },
};
const laEmaAlphaProgram: ProgramInfo = {
  name: 'laEmaAlpha',
  source: laEmaAlphaSource,
  uniforms: [
    ['global_weight', 'f32'],
    ['temperature', 'f32'],
  ],
};
const emaUpdateProgram: ProgramInfo = { name: 'emaUpdate', source: emaUpdateSource, uniforms: [['count', 'u32']], constants: { WG } };

/**
 * Optimiser and teacher updates, all in place and all reading device scalars where the value comes
 * from the device (the loss, alpha): a training step never waits on a read-back.
 */
export function makeOptimKernels(ctx: WebGpuContext) {
  return {
    sgdStep(param: Tensor, grad: Tensor, momentumBuffer: Tensor, p: SgdParams): void {
      ctx.runtime.run(sgdProgram, {
        buffers: [ctx.buffer(param), ctx.buffer(grad), ctx.buffer(momentumBuffer)],
        uniforms: [param.size, p.lr, p.momentum, p.weightDecay],
        workgroups: grid1d(param.size, WG),
      });
    },

    laEmaAlpha(loss: Tensor, p: LaEmaParams): Tensor {
      const alpha = ctx.alloc([], 'float32', 'laEmaAlpha');
      // w_global depends on the iteration alone, so it is computed here in float64 and passed in.
      const globalWeight = Math.max(1 / (1 + p.t), p.floor);
      ctx.runtime.run(laEmaAlphaProgram, {
        buffers: [ctx.buffer(loss), ctx.buffer(alpha)],
        uniforms: [globalWeight, p.temperature],
        workgroups: [1],
      });
      return alpha;
    },

    emaUpdate(target: Tensor, source: Tensor, alpha: Tensor): void {
      ctx.runtime.run(emaUpdateProgram, {
        buffers: [ctx.buffer(target), ctx.buffer(source), ctx.buffer(alpha)],
        uniforms: [target.size],
        workgroups: grid1d(target.size, WG),
      });
    },
  } satisfies Partial<KernelSignatures>;
}
