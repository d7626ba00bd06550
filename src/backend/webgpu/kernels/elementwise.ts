import type { Tensor } from '../../../core/tensor.js';
import type { KernelSignatures } from '../../../ops/kernels.js';
import addSource from '../../../../shaders/add.wgsl';
import type { WebGpuContext } from '../context.js';
import type { ProgramInfo } from '../program.js';
import { grid1d } from '../runtime.js';

const WG = 256;

const addProgram: ProgramInfo = { name: 'add', source: addSource, uniforms: [['count', 'u32']], constants: { WG } };

export function makeElementwiseKernels(ctx: WebGpuContext) {
  return {
    add(a: Tensor, b: Tensor): Tensor {
      const out = ctx.alloc(a.shape, a.dtype, 'add');
      ctx.runtime.run(addProgram, {
        buffers: [ctx.buffer(a), ctx.buffer(b), ctx.buffer(out)],
        uniforms: [a.size],
        workgroups: grid1d(a.size, WG),
      });
      return out;
    },
  } satisfies Partial<KernelSignatures>;
}
