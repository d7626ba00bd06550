import type { Tensor } from '../../../core/tensor.js';
import { convOutputSize } from '../../../contract/conv-size.js';
import type { KernelSignatures } from '../../../contract/kernels.js';
import type { Conv3dBackwardDataParams, Conv3dBackwardFilterParams, Conv3dParams } from '../../../contract/params.js';
import directSource from '../../../../shaders/conv3d-direct.wgsl';
import gemmSource from '../../../../shaders/conv3d-gemm.wgsl';
import gatherSource from '../../../../shaders/conv3d.wgsl';
import filterSource from '../../../../shaders/conv3d-backward-filter.wgsl';
import reduceSource from '../../../../shaders/conv3d-split-reduce.wgsl';
import type { WebGpuContext } from '../context.js';
import type { GpuProfile } from '../profile.js';
import type { ProgramInfo, UniformField } from '../program.js';
import { grid1d } from '../runtime.js';
import { axisClasses } from './conv-classes.js';
import { type ConvLayout, chooseConvLayout, kChunkFor, planSplit } from './conv-tiling.js';

const i32 = (name: string): UniformField => [name, 'i32'];
const perAxis = (stem: string): UniformField[] => ['D', 'H', 'W'].map((a) => i32(`${stem}${a}`));

/** Read by the skeletons (shaders/conv3d-gemm.wgsl, conv3d-direct.wgsl) themselves; each program appends the fields its hooks read. */
const GEMM_UNIFORMS: readonly UniformField[] = [
  ['tilesM', 'u32'],
  ['tilesN', 'u32'],
  ['addBias', 'u32'],
  ...['M', 'NCOLS', 'kCount', 'kChunk', 'gC', 'gD', 'gH', 'gW', 'aRowStride', 'outRowStride', 'outSize'].map(i32),
];

const GATHER_UNIFORMS: readonly UniformField[] = [
  ...GEMM_UNIFORMS,
  ...['q', 'gs', 'go', 'c', 'f', 't', 'dOff', 'dMul', 'dDiv', 'o', 'os', 'oo'].flatMap(perAxis),
  ...['KH', 'KW', 'aChanStride'].map(i32),
];

const FILTER_UNIFORMS: readonly UniformField[] = [
  ...GEMM_UNIFORMS,
  ...['o', 's', 'p', 'dil'].flatMap(perAxis),
  ...['KD', 'KH', 'KW'].map(i32),
];

const REDUCE_WG = 256;
const reduceProgram: ProgramInfo = {
  name: 'conv3d-split-reduce',
  source: reduceSource,
  uniforms: [
    ['count', 'u32'],
    ['splits', 'u32'],
  ],
  constants: { WG: REDUCE_WG },
};

/** The program `source` (which defines the hooks) over the layout's skeleton; the name keeps their pipelines apart. */
const gemmProgram = (name: string, source: string, uniforms: readonly UniformField[], layout: ConvLayout): ProgramInfo => ({
  name: `${name}-${layout.skeleton}`,
  source,
  includes: [layout.skeleton === 'direct' ? directSource : gemmSource],
  uniforms,
  constants: layout.constants,
});

/** Packs named values in the order of the uniform list, so the two cannot drift apart. */
function ordered(fields: readonly UniformField[], values: Readonly<Record<string, number>>): number[] {
  return fields.map(([name]) => {
    const v = values[name];
    if (v === undefined) throw new Error(`conv kernels: no value for uniform '${name}'`);
    return v;
  });
}

const axes = (stem: string, v: readonly number[]): Record<string, number> => ({
  [`${stem}D`]: v[0],
  [`${stem}H`]: v[1],
  [`${stem}W`]: v[2],
});
const volume = (v: readonly number[]): number => v[0] * v[1] * v[2];

/** One GEMM dispatch: its columns, reduction length and the program-specific uniform values. */
interface GemmDispatch {
  readonly columns: number;
  readonly kCount: number;
  readonly values: Record<string, number>;
}

/** `profile` picks the skeleton (profile.ts); tests pass it explicitly to run both on one adapter. */
export function makeConvKernels(ctx: WebGpuContext, profile: GpuProfile = ctx.profile) {
  const layoutFor = (m: number): ConvLayout => chooseConvLayout(profile, ctx.limits, m);

  /**
   * Runs dispatches that share one output tensor (several for the residue classes of a transposed
   * convolution, each writing its own voxels), splitting K over `splits` workgroup layers when the
   * output has too few blocks to fill the adapter, then sums the split slices in a fixed order.
   */
  function runGemm(
    program: ProgramInfo,
    layout: ConvLayout,
    m: number,
    a: Tensor,
    b: Tensor,
    bias: Tensor | null,
    out: Tensor,
    dispatches: readonly GemmDispatch[],
  ) {
    const tilesM = Math.ceil(m / layout.blockM);
    const totalTiles = dispatches.reduce((s, d) => s + tilesM * Math.ceil(d.columns / layout.blockN), 0);
    const deepest = Math.max(...dispatches.map((d) => d.kCount));
    const { splits } = planSplit(layout, totalTiles, deepest, out.size, ctx.limits);
    const partial = splits > 1 ? ctx.alloc([splits, out.size], 'float32', 'conv3d-split') : out;
    const aBuffer = ctx.buffer(a);
    // Without a bias, the bias binding gets the (read-only) A buffer: addBias = 0 never reads it.
    const biasBuffer = bias ? ctx.buffer(bias) : aBuffer;
    for (const d of dispatches) {
      const tilesN = Math.ceil(d.columns / layout.blockN);
      const [x, y] = grid1d(tilesM * tilesN, layout.blocksPerWorkgroup, ctx.limits.maxComputeWorkgroupsPerDimension);
      const values = {
        ...d.values,
        tilesM,
        tilesN,
        addBias: bias ? 1 : 0,
        M: m,
        NCOLS: d.columns,
        kCount: d.kCount,
        kChunk: kChunkFor(layout, d.kCount, splits),
        outSize: out.size,
      };
      ctx.runtime.run(program, {
        buffers: [aBuffer, ctx.buffer(b), biasBuffer, ctx.buffer(partial)],
        uniforms: ordered(program.uniforms, values),
        workgroups: [x, y, splits],
      });
    }
    if (partial !== out) {
      ctx.runtime.run(reduceProgram, {
        buffers: [ctx.buffer(partial), ctx.buffer(out)],
        uniforms: [out.size, splits],
        workgroups: grid1d(out.size, REDUCE_WG, ctx.limits.maxComputeWorkgroupsPerDimension),
      });
      ctx.release(partial);
    }
  }

  return {
    conv3d(x: Tensor, w: Tensor, bias: Tensor | null, p: Conv3dParams): Tensor {
      const [n, ci, ...inSpatial] = x.shape;
      const [co, , ...kernel] = w.shape;
      const outSpatial = [0, 1, 2].map((a) => convOutputSize(inSpatial[a], kernel[a], p.stride[a], p.padding[a], p.dilation[a]));
      const y = ctx.alloc([n, co, ...outSpatial], 'float32', 'conv3d');
      const layout = layoutFor(co);
      const taps = volume(kernel);
      const values = {
        ...axes('q', outSpatial),
        ...axes('o', outSpatial),
        ...axes('g', inSpatial),
        ...axes('gs', p.stride),
        ...axes(
          'go',
          p.padding.map((v) => -v),
        ),
        ...axes('c', kernel),
        ...axes('f', [0, 0, 0]),
        ...axes('t', [1, 1, 1]),
        ...axes('dOff', [0, 0, 0]),
        ...axes('dMul', p.dilation),
        ...axes('dDiv', [1, 1, 1]),
        ...axes('os', [1, 1, 1]),
        ...axes('oo', [0, 0, 0]),
        gC: ci,
        KH: kernel[1],
        KW: kernel[2],
        aChanStride: taps,
        aRowStride: ci * taps,
        outRowStride: volume(outSpatial),
      };
      const program = gemmProgram('conv3d-gather', gatherSource, GATHER_UNIFORMS, layout);
      runGemm(program, layout, co, w, x, bias, y, [{ columns: n * volume(outSpatial), kCount: ci * taps, values }]);
      return y;
    },

    conv3dBackwardData(dy: Tensor, w: Tensor, p: Conv3dBackwardDataParams): Tensor {
      const [n, co, ...outSpatial] = dy.shape;
      const [, ci, ...kernel] = w.shape;
      const inSpatial = p.inputSpatial;
      const dx = ctx.alloc([n, ci, ...inSpatial], 'float32', 'conv3d-dx');
      const layout = layoutFor(ci);
      const [cd, ch, cw] = [0, 1, 2].map((a) => axisClasses(inSpatial[a], kernel[a], p.stride[a], p.padding[a], p.dilation[a]));
      const dispatches: GemmDispatch[] = [];
      // One dispatch per residue class (derivation in conv-classes.ts); stride 1 has a single class.
      for (const rd of cd)
        for (const rh of ch)
          for (const rw of cw) {
            const cls = [rd, rh, rw];
            const positions = cls.map((c) => c.positions);
            const residues = cls.map((c) => c.residue);
            const values = {
              ...axes('q', positions),
              ...axes('o', inSpatial),
              ...axes('g', outSpatial),
              ...axes('gs', [1, 1, 1]),
              ...axes('go', [0, 0, 0]),
              ...axes(
                'c',
                cls.map((c) => c.taps),
              ),
              ...axes(
                'f',
                cls.map((c) => c.first),
              ),
              ...axes(
                't',
                cls.map((c) => c.step),
              ),
              ...axes(
                'dOff',
                residues.map((r, a) => r + p.padding[a]),
              ),
              ...axes(
                'dMul',
                p.dilation.map((v) => -v),
              ),
              ...axes('dDiv', p.stride),
              ...axes('os', p.stride),
              ...axes('oo', residues),
              gC: co,
              KH: kernel[1],
              KW: kernel[2],
              aChanStride: ci * volume(kernel),
              aRowStride: volume(kernel),
              outRowStride: volume(inSpatial),
            };
            dispatches.push({ columns: n * volume(positions), kCount: co * rd.taps * rh.taps * rw.taps, values });
          }
      const program = gemmProgram('conv3d-gather', gatherSource, GATHER_UNIFORMS, layout);
      runGemm(program, layout, ci, w, dy, null, dx, dispatches);
      return dx;
    },

    conv3dBackwardFilter(x: Tensor, dy: Tensor, p: Conv3dBackwardFilterParams): Tensor {
      const [n, ci, ...inSpatial] = x.shape;
      const [, co, ...outSpatial] = dy.shape;
      const dw = ctx.alloc([co, ci, ...p.kernel], 'float32', 'conv3d-dw');
      const layout = layoutFor(co);
      const values = {
        ...axes('o', outSpatial),
        ...axes('g', inSpatial),
        ...axes('s', p.stride),
        ...axes('p', p.padding),
        ...axes('dil', p.dilation),
        KD: p.kernel[0],
        KH: p.kernel[1],
        KW: p.kernel[2],
        gC: ci,
        aRowStride: volume(outSpatial),
        outRowStride: ci * volume(p.kernel),
      };
      const program = gemmProgram('conv3d-backward-filter', filterSource, FILTER_UNIFORMS, layout);
      runGemm(program, layout, co, dy, x, null, dw, [{ columns: ci * volume(p.kernel), kCount: n * volume(outSpatial), values }]);
      return dw;
    },
  } satisfies Partial<KernelSignatures>;
}
