import type { Vec3 } from '../../../core/shape.js';
import type { Tensor } from '../../../core/tensor.js';
import type { KernelSignatures } from '../../../contract/kernels.js';
import type { Cube, SpatialAxis } from '../../../contract/params.js';
import cubeMaskSource from '../../../../shaders/cube-mask.wgsl';
import cutMixSource from '../../../../shaders/cut-mix.wgsl';
import spatialGatherSource from '../../../../shaders/spatial-gather.wgsl';
import type { WebGpuContext } from '../context.js';
import type { ProgramInfo } from '../program.js';
import { grid1d } from '../runtime.js';

/** One invocation per output element; 256 is within every adapter's guaranteed workgroup limits. */
const WG = 256;

const gatherProgram: ProgramInfo = {
  name: 'spatialGather',
  source: spatialGatherSource,
  uniforms: [
    ['count', 'u32'],
    ['out_d', 'u32'],
    ['out_h', 'u32'],
    ['out_w', 'u32'],
    ['in_d', 'u32'],
    ['in_h', 'u32'],
    ['in_w', 'u32'],
    ['src_d', 'u32'],
    ['src_h', 'u32'],
    ['src_w', 'u32'],
    ['flip_mask', 'u32'],
  ],
  constants: { WG },
};
const cubeMaskProgram: ProgramInfo = {
  name: 'cubeMask',
  source: cubeMaskSource,
  uniforms: [
    ['depth', 'u32'],
    ['height', 'u32'],
    ['width', 'u32'],
    ['start_d', 'i32'],
    ['start_h', 'i32'],
    ['start_w', 'i32'],
    ['size_d', 'i32'],
    ['size_h', 'i32'],
    ['size_w', 'i32'],
  ],
  constants: { WG },
};
// One pipeline for every dtype: the shader chooses raw 32-bit words (see shaders/cut-mix.wgsl).
const cutMixProgram: ProgramInfo = {
  name: 'cutMix',
  source: cutMixSource,
  uniforms: [
    ['count', 'u32'],
    ['voxels', 'u32'],
  ],
  constants: { WG },
};

/**
 * Input voxel p of output voxel q, per input spatial axis j: p[j] = q[source[j]], reversed when bit j of
 * flipMask is set. This is the whole vocabulary flip and rot90 need.
 */
export interface SpatialGather {
  readonly outSpatial: Vec3;
  readonly source: Vec3;
  readonly flipMask: number;
}

export function flipGather(spatial: Vec3, axes: readonly SpatialAxis[]): SpatialGather {
  // Flipping an axis twice restores it, as applying the flips one after another would.
  const flipMask = axes.reduce<number>((m, a) => m ^ (1 << a), 0);
  return { outSpatial: spatial, source: [0, 1, 2], flipMask };
}

/**
 * numpy.rot90(m, k, axes=(a, b)) on the spatial axes, for k mod 4:
 *   k = 1: transpose(flip(m, b))  ->  p[a] = q[b],            p[b] = L_b - 1 - q[a]
 *   k = 2: flip(flip(m, a), b)    ->  p[a] = L_a - 1 - q[a],  p[b] = L_b - 1 - q[b]
 *   k = 3: flip(transpose(m), b)  ->  p[a] = L_a - 1 - q[b],  p[b] = q[a]
 * where transpose swaps a and b (and so their lengths in the output) and L is the input length.
 */
export function rot90Gather(spatial: Vec3, k: number, [a, b]: readonly [SpatialAxis, SpatialAxis]): SpatialGather {
  const turns = ((k % 4) + 4) % 4;
  const source: [number, number, number] = [0, 1, 2];
  const outSpatial: [number, number, number] = [...spatial];
  if (turns === 0) return { outSpatial, source, flipMask: 0 };
  if (turns === 2) return { outSpatial, source, flipMask: (1 << a) | (1 << b) };
  source[a] = b;
  source[b] = a;
  outSpatial[a] = spatial[b];
  outSpatial[b] = spatial[a];
  return { outSpatial, source, flipMask: turns === 1 ? 1 << b : 1 << a };
}

/** Flips, quarter turns, cube masks and cut-mix: index remapping and selection, exact for every dtype. */
export function makeGeometryKernels(ctx: WebGpuContext) {
  function gather(x: Tensor, g: SpatialGather): Tensor {
    const lead = x.shape.slice(0, -3);
    const inSpatial = x.shape.slice(-3);
    const out = ctx.alloc([...lead, ...g.outSpatial], x.dtype, 'spatialGather');
    ctx.runtime.run(gatherProgram, {
      buffers: [ctx.buffer(x), ctx.buffer(out)],
      uniforms: [out.size, ...g.outSpatial, ...inSpatial, ...g.source, g.flipMask],
      workgroups: grid1d(out.size, WG),
    });
    return out;
  }

  const spatialOf = (x: Tensor): Vec3 => x.shape.slice(-3) as unknown as Vec3;

  return {
    flip: (x: Tensor, axes: readonly SpatialAxis[]): Tensor => gather(x, flipGather(spatialOf(x), axes)),
    rot90: (x: Tensor, k: number, axes: readonly [SpatialAxis, SpatialAxis]): Tensor => gather(x, rot90Gather(spatialOf(x), k, axes)),

    cubeMask(spatial: Vec3, cube: Cube): Tensor {
      const out = ctx.alloc(spatial, 'uint8', 'cubeMask');
      ctx.runtime.run(cubeMaskProgram, {
        buffers: [ctx.buffer(out)],
        uniforms: [...spatial, ...cube.start, ...cube.size],
        workgroups: grid1d(out.size, WG),
      });
      return out;
    },

    cutMix(a: Tensor, b: Tensor, mask: Tensor): Tensor {
      const out = ctx.alloc(a.shape, a.dtype, 'cutMix');
      ctx.runtime.run(cutMixProgram, {
        buffers: [ctx.buffer(a), ctx.buffer(b), ctx.buffer(mask), ctx.buffer(out)],
        uniforms: [a.size, mask.size],
        workgroups: grid1d(a.size, WG),
      });
      return out;
    },
  } satisfies Partial<KernelSignatures>;
}
