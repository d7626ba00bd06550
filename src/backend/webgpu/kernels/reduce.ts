import type { Shape } from '../../../core/shape.js';
import type { Tensor } from '../../../core/tensor.js';
import type { KernelSignatures } from '../../../contract/kernels.js';
import channelReduceSource from '../../../../shaders/channel-reduce.wgsl';
import sumTermSource from '../../../../shaders/channel-reduce-sum.wgsl';
import type { WebGpuContext } from '../context.js';
import type { ProgramInfo } from '../program.js';
import { reductionShape } from '../profile.js';
import { grid1d } from '../runtime.js';
import { workgroupSum } from '../subgroups.js';
import { voxelsPerSlice } from './elementwise.js';

const REDUCE_UNIFORMS = [
  ['channels', 'u32'],
  ['inner', 'u32'],
  ['length', 'u32'],
  ['chunks', 'u32'],
  ['divisor', 'f32'],
] as const;

/**
 * The largest power of two up to 256 that the adapter allows as a workgroup, with one f32 of
 * workgroup memory per invocation; the tree halves the workgroup each step, so it must be a power of 2
 * (and the subgroup sum is probed at powers of two only, subgroups.ts).
 */
export function reduceWorkgroupSize(limits: GPUSupportedLimits): number {
  const cap = Math.min(
    256,
    limits.maxComputeInvocationsPerWorkgroup,
    limits.maxComputeWorkgroupSizeX,
    Math.floor(limits.maxComputeWorkgroupStorageSize / 4),
  );
  return 2 ** Math.floor(Math.log2(cap));
}

/** A first-pass term program (shaders/channel-reduce-*.wgsl) and the buffers it reads at bindings 2, 3, ... */
export interface ReduceTerm {
  readonly name: string;
  readonly source: string;
  readonly inputs: readonly GPUBuffer[];
}

export interface ChannelReducer {
  /**
   * Sums term(i, c) over an input viewed as [outer, channels, inner] into one value per channel,
   * divided by `divisor`, as a new float32 tensor of shape `outShape` (channels values).
   */
  (term: ReduceTerm, outer: number, channels: number, inner: number, divisor: number, outShape: Shape): Tensor;
}

export function makeChannelReducer(ctx: WebGpuContext): ChannelReducer {
  const { workgroup: WG, itemsPerInvocation: ITEMS } = reductionShape(ctx.profile, reduceWorkgroupSize(ctx.limits));
  const tile = WG * ITEMS;
  const sum = workgroupSum(ctx, WG);
  const programs = new Map<string, ProgramInfo>();
  const programFor = (name: string, source: string): ProgramInfo => {
    let program = programs.get(name);
    if (!program) {
      program = {
        name: `channelReduce-${name}${sum.tag}`,
        source,
        includes: [...sum.includes, channelReduceSource],
        enables: sum.enables,
        uniforms: REDUCE_UNIFORMS,
        constants: { WG, ITEMS },
      };
      programs.set(name, program);
    }
    return program;
  };

  return (term, outer, channels, inner, divisor, outShape) => {
    let program = programFor(term.name, term.source);
    let inputs = term.inputs;
    let length = outer * inner;
    let previous: Tensor | null = null;
    for (;;) {
      // At least one chunk, so an empty input still gives every channel its 0 / divisor.
      const chunks = Math.max(1, Math.ceil(length / tile));
      const last = chunks === 1;
      const out = ctx.alloc(last ? outShape : [channels, chunks], 'float32', last ? 'reduced' : 'partials');
      ctx.runtime.run(program, {
        buffers: [ctx.buffer(out), ...inputs],
        uniforms: [channels, Math.max(1, inner), length, chunks, last ? divisor : 1],
        workgroups: grid1d(channels * chunks, 1),
      });
      // Released once recorded: the pool hands it out again only to work submitted after this read.
      if (previous) ctx.release(previous);
      if (last) return out;
      previous = out;
      program = programFor('sum', sumTermSource);
      inputs = [ctx.buffer(out)];
      [inner, length] = [chunks, chunks];
    }
  };
}

export function makeReduceKernels(ctx: WebGpuContext) {
  const reduce = makeChannelReducer(ctx);
  const plain = (x: Tensor): ReduceTerm => ({ name: 'sum', source: sumTermSource, inputs: [ctx.buffer(x)] });
  return {
    channelSum: (x: Tensor): Tensor => reduce(plain(x), x.shape[0], x.shape[1], voxelsPerSlice(x), 1, [x.shape[1]]),
    sum: (x: Tensor): Tensor => reduce(plain(x), 1, 1, x.size, 1, []),
    mean: (x: Tensor): Tensor => reduce(plain(x), 1, 1, x.size, x.size, []),
  } satisfies Partial<KernelSignatures>;
}
