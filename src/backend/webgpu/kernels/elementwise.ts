import type { Tensor } from '../../../core/tensor.js';
import { concatShape } from '../../../core/shape.js';
import type { KernelSignatures } from '../../../contract/kernels.js';
import type { DropoutParams } from '../../../contract/params.js';
import addSource from '../../../../shaders/add.wgsl';
import addChannelBiasSource from '../../../../shaders/add-channel-bias.wgsl';
import channelScaleSource from '../../../../shaders/channel-scale.wgsl';
import dropoutMaskSource from '../../../../shaders/dropout-mask.wgsl';
import randomSource from '../../../../shaders/random.wgsl';
import reluSource from '../../../../shaders/relu.wgsl';
import reluBackwardSource from '../../../../shaders/relu-backward.wgsl';
import scaleSource from '../../../../shaders/scale.wgsl';
import { BYTES_PER_GPU_ELEMENT, type WebGpuContext } from '../context.js';
import type { ProgramInfo } from '../program.js';
import { grid1d } from '../runtime.js';

/** One invocation per element; 256 is within every adapter's guaranteed workgroup limits. */
const WG = 256;

const addProgram: ProgramInfo = { name: 'add', source: addSource, uniforms: [['count', 'u32']], constants: { WG } };
const reluProgram: ProgramInfo = { name: 'relu', source: reluSource, uniforms: [['count', 'u32']], constants: { WG } };
const reluBackwardProgram: ProgramInfo = {
  name: 'reluBackward',
  source: reluBackwardSource,
  uniforms: [['count', 'u32']],
  constants: { WG },
};
const scaleProgram: ProgramInfo = {
  name: 'scale',
  source: scaleSource,
  uniforms: [
    ['count', 'u32'],
    ['factor', 'f32'],
  ],
  constants: { WG },
};
const channelScaleProgram: ProgramInfo = {
  name: 'channelScale',
  source: channelScaleSource,
  uniforms: [
    ['count', 'u32'],
    ['voxels', 'u32'],
  ],
  constants: { WG },
};
const addChannelBiasProgram: ProgramInfo = {
  name: 'addChannelBias',
  source: addChannelBiasSource,
  uniforms: [
    ['count', 'u32'],
    ['voxels', 'u32'],
    ['channels', 'u32'],
  ],
  constants: { WG },
};
const dropoutMaskProgram: ProgramInfo = {
  name: 'dropoutMask',
  source: dropoutMaskSource,
  includes: [randomSource],
  uniforms: [
    ['count', 'u32'],
    ['seed', 'u32'],
    ['threshold', 'u32'],
    ['keep_scale', 'f32'],
  ],
  constants: { WG },
};

/** Values per (n, c) slice of an [N, C, ...] tensor: the product of the axes after C. */
export const voxelsPerSlice = (t: Tensor): number => t.shape.slice(2).reduce((a, b) => a * b, 1);

/** uniformAt(seed, i) >= p  <=>  (24-bit draw) >= ceil(p * 2^24); p * 2^24 is exact in float64. */
export const dropoutThreshold = (p: number): number => Math.ceil(p * 16777216);

export function makeElementwiseKernels(ctx: WebGpuContext) {
  /** Runs a one-invocation-per-element program writing a new tensor shaped like `like`. */
  function map(program: ProgramInfo, like: Tensor, inputs: readonly Tensor[], uniforms: readonly number[], label: string): Tensor {
    const out = ctx.alloc(like.shape, like.dtype, label);
    ctx.runtime.run(program, {
      buffers: [...inputs.map((t) => ctx.buffer(t)), ctx.buffer(out)],
      uniforms: [like.size, ...uniforms],
      workgroups: grid1d(like.size, WG),
    });
    return out;
  }

  function copyInto(dst: Tensor, src: Tensor): void {
    ctx.runtime.copy(ctx.buffer(src), 0, ctx.buffer(dst), 0, src.size * BYTES_PER_GPU_ELEMENT);
  }

  return {
    add: (a: Tensor, b: Tensor): Tensor => map(addProgram, a, [a, b], [], 'add'),
    relu: (x: Tensor): Tensor => map(reluProgram, x, [x], [], 'relu'),
    reluBackward: (dy: Tensor, y: Tensor): Tensor => map(reluBackwardProgram, dy, [dy, y], [], 'reluBackward'),
    scale: (x: Tensor, a: number): Tensor => map(scaleProgram, x, [x], [a], 'scale'),
    channelScale: (x: Tensor, s: Tensor): Tensor => map(channelScaleProgram, x, [x, s], [voxelsPerSlice(x)], 'channelScale'),
    addChannelBias: (x: Tensor, b: Tensor): Tensor =>
      map(addChannelBiasProgram, x, [x, b], [voxelsPerSlice(x), x.shape[1]], 'addChannelBias'),

    dropoutMask(n: number, c: number, p: DropoutParams): Tensor {
      const out = ctx.alloc([n, c], 'float32', 'dropoutMask');
      ctx.runtime.run(dropoutMaskProgram, {
        buffers: [ctx.buffer(out)],
        // The f32 uniform holds fround(1 / (1 - p)), the value the float32 reference stores.
        uniforms: [n * c, p.seed >>> 0, dropoutThreshold(p.p), 1 / (1 - p.p)],
        workgroups: grid1d(n * c, WG),
      });
      return out;
    },

    copy(x: Tensor): Tensor {
      const out = ctx.alloc(x.shape, x.dtype, 'copy');
      copyInto(out, x);
      return out;
    },

    assign(dst: Tensor, src: Tensor): void {
      copyInto(dst, src);
    },

    concat(xs: readonly Tensor[]): Tensor {
      const out = ctx.alloc(concatShape(xs.map((x) => x.shape)), xs[0].dtype, 'concat');
      let offset = 0;
      for (const x of xs) {
        const bytes = x.size * BYTES_PER_GPU_ELEMENT;
        ctx.runtime.copy(ctx.buffer(x, 'concat: xs'), 0, ctx.buffer(out), offset, bytes);
        offset += bytes;
      }
      return out;
    },
  } satisfies Partial<KernelSignatures>;
}
