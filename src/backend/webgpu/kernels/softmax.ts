import type { Tensor } from '../../../core/tensor.js';
import type { KernelSignatures } from '../../../contract/kernels.js';
import argmaxSource from '../../../../shaders/argmax.wgsl';
import softmaxSource from '../../../../shaders/softmax.wgsl';
import type { WebGpuContext } from '../context.js';
import type { ProgramInfo } from '../program.js';
import { grid1d } from '../runtime.js';
import { voxelsPerSlice } from './elementwise.js';

/** One invocation per (n, voxel); each loops over the few channels (classes). */
const WG = 256;

const uniforms = [
  ['count', 'u32'],
  ['voxels', 'u32'],
  ['channels', 'u32'],
] as const;

const softmaxProgram: ProgramInfo = { name: 'softmax', source: softmaxSource, uniforms, constants: { WG } };
// argmax and confidentArgmax share one shader; `threshold` is read only with FLAG_LOW.
const argmaxUniforms = [...uniforms, ['threshold', 'f32']] as const;
const argmaxProgram: ProgramInfo = { name: 'argmax', source: argmaxSource, uniforms: argmaxUniforms, constants: { WG, FLAG_LOW: 0 } };
const confidentArgmaxProgram: ProgramInfo = {
  name: 'confident-argmax',
  source: argmaxSource,
  uniforms: argmaxUniforms,
  constants: { WG, FLAG_LOW: 1 },
};

export function makeSoftmaxKernels(ctx: WebGpuContext) {
  function perVoxel(program: ProgramInfo, x: Tensor, out: Tensor, extra: readonly number[] = []): Tensor {
    const voxels = voxelsPerSlice(x);
    const count = x.shape[0] * voxels;
    ctx.runtime.run(program, {
      buffers: [ctx.buffer(x), ctx.buffer(out)],
      uniforms: [count, voxels, x.shape[1], ...extra],
      workgroups: grid1d(count, WG),
    });
    return out;
  }

  return {
    softmax: (x: Tensor): Tensor => perVoxel(softmaxProgram, x, ctx.alloc(x.shape, 'float32', 'softmax')),
    argmax: (x: Tensor): Tensor => {
      const [n, , ...spatial] = x.shape;
      return perVoxel(argmaxProgram, x, ctx.alloc([n, ...spatial], 'uint8', 'argmax'), [0]);
    },
    confidentArgmax: (x: Tensor, threshold: number): Tensor => {
      const [n, , ...spatial] = x.shape;
      return perVoxel(confidentArgmaxProgram, x, ctx.alloc([n, ...spatial], 'uint8', 'confident-argmax'), [threshold]);
    },
  } satisfies Partial<KernelSignatures>;
}
