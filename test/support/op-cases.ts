/**
 * The op-suite case table: every kernel on odd shapes (not multiples of tile sizes), strides 1 and 2,
 * paddings 0 and 1, kernels 1/2/3, dilations 1 and 2, batches 1 and 3, channels 1, 3, 16, 33. Each
 * builder turns one line of parameters into a case; shapes stay small because the table also runs
 * on WebGPU over SwiftShader (a CPU-emulated GPU).
 */
import type { Backend } from '../../src/backend/backend.js';
import type { Vec3 } from '../../src/core/shape.js';
import type { Tensor } from '../../src/core/tensor.js';
import * as ops from '../../src/ops/index.js';
import type { KernelName } from '../../src/contract/kernels.js';
import type { Conv3dParams, MaskRegion, SpatialAxis } from '../../src/contract/params.js';
import { type HostArray, hostCubeMask, randomFloat32, randomLabels, randomLevels, scalarHost } from './random-data.js';

type Inputs = Record<string, HostArray>;
type Uploaded = Record<string, Tensor>;

export interface OpCase {
  readonly kernel: KernelName;
  readonly name: string;
  /** Seeded host inputs, built when the case runs. */
  readonly inputs: () => Inputs;
  /** Runs the op through its dispatch function; returns outputs and, for in-place kernels, the mutated inputs. */
  readonly run: (backend: Backend, t: Uploaded) => Record<string, Tensor>;
}

let seedCounter = 1000;
/** A fresh seed per generated input; deterministic because the table is built in one fixed order. */
const seed = (): number => seedCounter++;
const shape = (s: readonly number[]): string => s.join('x');
const vec = (v: number | Vec3): Vec3 => (typeof v === 'number' ? [v, v, v] : v);
const convName = (k: Vec3, p: Conv3dParams): string => `k${shape(k)} s${shape(p.stride)} p${shape(p.padding)} d${shape(p.dilation)}`;

interface ConvGeometry {
  readonly x: readonly [number, number, number, number, number];
  readonly co: number;
  readonly k: number | Vec3;
  readonly s?: number | Vec3;
  readonly p?: number | Vec3;
  readonly d?: number | Vec3;
  readonly bias?: boolean;
}

function convSetup(g: ConvGeometry): { params: Conv3dParams; kernel: Vec3; out: Vec3 } {
  const kernel = vec(g.k);
  const params = { stride: vec(g.s ?? 1), padding: vec(g.p ?? 0), dilation: vec(g.d ?? 1) };
  const out = ops.convOutputSpatial('op-case', [g.x[2], g.x[3], g.x[4]], kernel, params);
  return { params, kernel, out };
}

function conv3dCase(g: ConvGeometry): OpCase {
  const { params, kernel } = convSetup(g);
  return {
    kernel: 'conv3d',
    name: `x ${shape(g.x)} -> ${g.co} ${convName(kernel, params)}${g.bias ? ' bias' : ''}`,
    inputs: () => ({
      x: randomFloat32(seed(), g.x),
      w: randomFloat32(seed(), [g.co, g.x[1], ...kernel], -0.5, 0.5),
      ...(g.bias ? { b: randomFloat32(seed(), [g.co]) } : {}),
    }),
    run: (b, t) => ({ y: ops.conv3d(b, t.x, t.w, t.b ?? null, params) }),
  };
}

function conv3dBackwardDataCase(g: ConvGeometry): OpCase {
  const { params, kernel, out } = convSetup(g);
  const inputSpatial: Vec3 = [g.x[2], g.x[3], g.x[4]];
  return {
    kernel: 'conv3dBackwardData',
    name: `dx ${shape(g.x)} from ${g.co} ${convName(kernel, params)}`,
    inputs: () => ({ dy: randomFloat32(seed(), [g.x[0], g.co, ...out]), w: randomFloat32(seed(), [g.co, g.x[1], ...kernel], -0.5, 0.5) }),
    run: (b, t) => ({ dx: ops.conv3dBackwardData(b, t.dy, t.w, { ...params, inputSpatial }) }),
  };
}

function conv3dBackwardFilterCase(g: ConvGeometry): OpCase {
  const { params, kernel, out } = convSetup(g);
  return {
    kernel: 'conv3dBackwardFilter',
    name: `dw of x ${shape(g.x)} -> ${g.co} ${convName(kernel, params)}`,
    inputs: () => ({ x: randomFloat32(seed(), g.x), dy: randomFloat32(seed(), [g.x[0], g.co, ...out]) }),
    run: (b, t) => ({ dw: ops.conv3dBackwardFilter(b, t.x, t.dy, { ...params, kernel }) }),
  };
}

/** A case for a kernel whose inputs are independent random float tensors. */
function floatCase(
  kernel: KernelName,
  name: string,
  shapes: Record<string, readonly number[]>,
  run: OpCase['run'],
  lo = -1,
  hi = 1,
): OpCase {
  return {
    kernel,
    name,
    inputs: () => Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randomFloat32(seed(), s, lo, hi)])),
    run,
  };
}

type BatchNormKernel = 'batchNormTrain' | 'batchNormEval' | 'batchNormBackward' | 'batchNormReluTrain' | 'batchNormReluBackward';

function batchNormCase(kernel: BatchNormKernel, x: readonly number[], momentum = 0.1): OpCase {
  const c = x[1];
  const eps = 1e-5;
  return {
    kernel,
    name: `x ${shape(x)}`,
    inputs: () => ({
      // An offset and scale far from (0, 1), so normalisation has real work to do.
      x: randomFloat32(seed(), x, 1.5, 4.5),
      dy: randomFloat32(seed(), x),
      gamma: randomFloat32(seed(), [c], 0.5, 1.5),
      beta: randomFloat32(seed(), [c]),
      runningMean: randomFloat32(seed(), [c]),
      runningVar: randomFloat32(seed(), [c], 0.5, 1.5),
    }),
    run: (b, t): Record<string, Tensor> => {
      if (kernel === 'batchNormEval') return { y: ops.batchNormEval(b, t.x, t.gamma, t.beta, t.runningMean, t.runningVar, { eps }) };
      const fused = kernel === 'batchNormReluTrain' || kernel === 'batchNormReluBackward';
      const r = (fused ? ops.batchNormReluTrain : ops.batchNormTrain)(b, t.x, t.gamma, t.beta, t.runningMean, t.runningVar, {
        momentum,
        eps,
      });
      if (kernel === 'batchNormTrain' || kernel === 'batchNormReluTrain')
        return { ...r, runningMean: t.runningMean, runningVar: t.runningVar };
      const g = fused
        ? ops.batchNormReluBackward(b, t.dy, t.x, r.y, t.gamma, r.mean, r.invStd)
        : ops.batchNormBackward(b, t.dy, t.x, t.gamma, r.mean, r.invStd);
      return { dx: g.dx, dgamma: g.dgamma, dbeta: g.dbeta };
    },
  };
}

const ignoring = (share: number): string => (share > 0 ? `, ${share * 100}% IGNORE_LABEL` : '');

/** `ignoredShare` of the labels (drawn from their own stream) become IGNORE_LABEL. */
function lossInputs(x: readonly number[], labelDType: 'uint8' | 'int32', cube: boolean, ignoredShare = 0): Inputs {
  const spatial: Vec3 = [x[2], x[3], x[4]];
  const labels = randomLabels(seed(), [x[0], ...spatial], x[1], labelDType);
  if (ignoredShare > 0) {
    const draws = seed();
    labels.data.forEach((_, i) => {
      if (ops.uniformAt(draws, i) < ignoredShare) labels.data[i] = ops.IGNORE_LABEL;
    });
  }
  return {
    logits: randomFloat32(seed(), x, -3, 3),
    other: randomFloat32(seed(), x, -3, 3),
    labels,
    ...(cube
      ? {
          mask: hostCubeMask(
            spatial,
            [1, 1, 1],
            spatial.map((s) => Math.max(1, Math.floor((2 * s) / 3))),
          ),
        }
      : {}),
  };
}

function diceCeCase(
  x: readonly number[],
  region: MaskRegion | null,
  weight: number,
  labelDType: 'uint8' | 'int32' = 'uint8',
  ignoredShare = 0,
): OpCase {
  return {
    kernel: 'diceCeLoss',
    name: `logits ${shape(x)} ${region ?? 'no mask'} weight ${weight} ${labelDType} labels${ignoring(ignoredShare)}`,
    inputs: () => lossInputs(x, labelDType, region !== null, ignoredShare),
    run: (b, t) => ({ ...ops.diceCeLoss(b, t.logits, t.labels, region === null ? null : t.mask, { weight, region: region ?? 'outside' }) }),
  };
}

function disagreementCase(
  x: readonly number[],
  weightOutside: number,
  weightInside: number,
  labelDType: 'uint8' | 'int32' = 'uint8',
  ignoredShare = 0,
): OpCase {
  return {
    kernel: 'disagreementMse',
    name: `logits ${shape(x)} weights ${weightOutside}/${weightInside} ${labelDType} target${ignoring(ignoredShare)}`,
    inputs: () => lossInputs(x, labelDType, true, ignoredShare),
    run: (b, t) => ({ ...ops.disagreementMse(b, t.logits, t.other, t.labels, t.mask, { weightOutside, weightInside }) }),
  };
}

/**
 * The switch's score: each student's own labels and the other's; `agreeing` 'none' shifts the other's
 * labels by one class, so no voxel counts and the score is 0 / (0 + 1e-16) = 0.
 */
function agreementCase(x: readonly number[], labelDType: 'uint8' | 'int32', agreeing: 'some' | 'none' = 'some'): OpCase {
  const labelShape = [x[0], ...x.slice(2)];
  return {
    kernel: 'agreementCrossEntropy',
    name: `logits ${shape(x)} ${labelDType} labels, ${agreeing} agreeing`,
    inputs: () => {
      const labels = randomLabels(seed(), labelShape, x[1], labelDType);
      const other =
        agreeing === 'none'
          ? { data: labels.data.map((y) => (y + 1) % x[1]), shape: labels.shape }
          : randomLabels(seed(), labelShape, Math.min(x[1], 2), labelDType);
      return { logits: randomFloat32(seed(), x, -4, 4), labels, other };
    },
    run: (b, t) => ({ c: ops.agreementCrossEntropy(b, t.logits, t.labels, t.other) }),
  };
}

/** A case over one tensor x given ready-made (labels, levels, floats) so dtype-generic ops see every dtype. */
function hostCase(kernel: KernelName, name: string, inputs: () => Inputs, run: OpCase['run']): OpCase {
  return { kernel, name, inputs, run };
}

const scaled = (h: HostArray<Float32Array>, k: number): HostArray<Float32Array> => ({ data: h.data.map((v) => v * k), shape: h.shape });
const img = (s: readonly number[]) => () => ({ x: randomFloat32(seed(), s) });
const lab =
  (s: readonly number[], dtype: 'uint8' | 'int32' = 'uint8') =>
  () => ({ x: randomLabels(seed(), s, 5, dtype) });
const pair = (s: readonly number[], dtype?: 'uint8' | 'int32') => () => {
  const make = (): HostArray => (dtype ? randomLabels(seed(), s, 4, dtype) : randomFloat32(seed(), s));
  const spatial: Vec3 = [s[s.length - 3], s[s.length - 2], s[s.length - 1]];
  return { a: make(), b: make(), mask: hostCubeMask(spatial, [1, 0, 2], [2, 3, 3]) };
};

/** 109620 values: several wasm pass units of 16 K floats with an odd tail, enough to be split across threads. */
const BIG = [2, 3, 21, 30, 29] as const;
const BIG_NAME = shape(BIG);

const convGeometries: ConvGeometry[] = [
  { x: [1, 3, 5, 7, 6], co: 5, k: 3, p: 1, bias: true },
  { x: [3, 1, 9, 4, 11], co: 3, k: 2, s: 2 },
  { x: [1, 16, 5, 4, 6], co: 16, k: 3, s: 2, p: 1, bias: true },
  { x: [1, 3, 7, 6, 5], co: 2, k: 3, p: 1, d: 2, bias: true },
  { x: [1, 33, 3, 4, 5], co: 1, k: 1, bias: true },
  { x: [3, 2, 5, 7, 6], co: 4, k: [3, 2, 1], s: [1, 2, 1], p: [1, 0, 1], d: [2, 1, 1] },
  // ConvTranspose3d k2 s2 as in V-Net's up-sampling: backward-data of a stride-2 conv.
  { x: [1, 8, 6, 8, 10], co: 16, k: 2, s: 2 },
  // The V-Net's coarse levels, rows 4 and 2 wide (wasm tiles whole planes there), Co not a multiple of 4.
  { x: [2, 8, 4, 6, 4], co: 8, k: 3, p: 1 },
  { x: [2, 12, 2, 3, 2], co: 6, k: 3, p: 1, bias: true },
  // Rows a multiple of the tile (wasm: row tiles on the interleaved input), also with dilation along D.
  { x: [1, 5, 4, 3, 16], co: 6, k: 3, p: 1, bias: true },
  { x: [1, 4, 7, 4, 8], co: 5, k: 3, p: [2, 1, 1], d: [2, 1, 1] },
  // Rows longer than the wasm forward's L1 segment (40 outputs at 16 channels): two segments per row.
  { x: [1, 16, 3, 12, 50], co: 4, k: 3, p: 1 },
  // One input channel, as the V-Net's first convolution: 7 pair groups, so the wasm backward-filter
  // also splits the 2640 positions into slabs.
  { x: [2, 1, 12, 10, 11], co: 4, k: 3, p: 1, bias: true },
];

export const OP_CASES: readonly OpCase[] = [
  ...convGeometries.map(conv3dCase),
  ...convGeometries.map(conv3dBackwardDataCase),
  ...convGeometries.map(conv3dBackwardFilterCase),
  floatCase('channelSum', '3x33x5x4x3', { x: [3, 33, 5, 4, 3] }, (b, t) => ({ y: ops.channelSum(b, t.x) })),
  floatCase('channelSum', '1x1x5x7x6', { x: [1, 1, 5, 7, 6] }, (b, t) => ({ y: ops.channelSum(b, t.x) })),
  floatCase('channelSum', BIG_NAME, { x: BIG }, (b, t) => ({ y: ops.channelSum(b, t.x) })),
  floatCase('addChannelBias', '3x16x5x7x6', { x: [3, 16, 5, 7, 6], b: [16] }, (b, t) => ({ y: ops.addChannelBias(b, t.x, t.b) })),
  batchNormCase('batchNormTrain', [3, 3, 5, 7, 6]),
  batchNormCase('batchNormTrain', [1, 33, 3, 4, 5], 0.3),
  batchNormCase('batchNormEval', [3, 16, 5, 4, 3]),
  batchNormCase('batchNormBackward', [3, 3, 5, 7, 6]),
  batchNormCase('batchNormBackward', [1, 33, 3, 4, 5]),
  // Planes longer than one wasm pass unit.
  batchNormCase('batchNormTrain', BIG),
  batchNormCase('batchNormEval', BIG),
  batchNormCase('batchNormBackward', BIG),
  batchNormCase('batchNormReluTrain', [3, 3, 5, 7, 6]),
  batchNormCase('batchNormReluTrain', BIG, 0.3),
  batchNormCase('batchNormReluBackward', [1, 33, 3, 4, 5]),
  batchNormCase('batchNormReluBackward', BIG),
  floatCase('relu', '3x3x5x7x6', { x: [3, 3, 5, 7, 6] }, (b, t) => ({ y: ops.relu(b, t.x) })),
  floatCase('relu', BIG_NAME, { x: BIG }, (b, t) => ({ y: ops.relu(b, t.x) })),
  floatCase('reluBackward', BIG_NAME, { dy: BIG, y: BIG }, (b, t) => ({ dx: ops.reluBackward(b, t.dy, ops.relu(b, t.y)) })),
  floatCase('reluBackward', '3x3x9x4x11', { dy: [3, 3, 9, 4, 11], y: [3, 3, 9, 4, 11] }, (b, t) => ({
    dx: ops.reluBackward(b, t.dy, ops.relu(b, t.y)),
  })),
  hostCase(
    'dropoutMask',
    '3x33 p 0.5',
    () => ({}),
    (b) => ({ m: ops.dropoutMask(b, 3, 33, { p: 0.5, seed: 7 }) }),
  ),
  hostCase(
    'dropoutMask',
    '1x16 p 0',
    () => ({}),
    (b) => ({ m: ops.dropoutMask(b, 1, 16, { p: 0, seed: 1 }) }),
  ),
  hostCase(
    'dropoutMask',
    '2x3 p 0.3 seed 2^32-1',
    () => ({}),
    (b) => ({ m: ops.dropoutMask(b, 2, 3, { p: 0.3, seed: 0xffffffff }) }),
  ),
  floatCase('channelScale', '3x16x5x4x3', { x: [3, 16, 5, 4, 3], s: [3, 16] }, (b, t) => ({ y: ops.channelScale(b, t.x, t.s) })),
  floatCase('add', '3x3x9x4x11', { a: [3, 3, 9, 4, 11], b: [3, 3, 9, 4, 11] }, (b, t) => ({ y: ops.add(b, t.a, t.b) })),
  floatCase('add', BIG_NAME, { a: BIG, b: BIG }, (b, t) => ({ y: ops.add(b, t.a, t.b) })),
  floatCase('channelScale', BIG_NAME, { x: BIG, s: [2, 3] }, (b, t) => ({ y: ops.channelScale(b, t.x, t.s) })),
  floatCase('scale', '3x3x9x4x11 by -0.37', { x: [3, 3, 9, 4, 11] }, (b, t) => ({ y: ops.scale(b, t.x, -0.37) })),
  floatCase('softmax', '3x3x5x7x6', { x: [3, 3, 5, 7, 6] }, (b, t) => ({ y: ops.softmax(b, t.x) }), -5, 5),
  floatCase('softmax', '1x33x3x4x5', { x: [1, 33, 3, 4, 5] }, (b, t) => ({ y: ops.softmax(b, t.x) }), -5, 5),
  floatCase('softmax', '2x1x3x3x3 (one class)', { x: [2, 1, 3, 3, 3] }, (b, t) => ({ y: ops.softmax(b, t.x) })),
  floatCase('argmax', '3x3x5x7x6', { x: [3, 3, 5, 7, 6] }, (b, t) => ({ y: ops.argmax(b, t.x) })),
  floatCase('argmax', '1x33x3x4x5', { x: [1, 33, 3, 4, 5] }, (b, t) => ({ y: ops.argmax(b, t.x) })),
  hostCase(
    'argmax',
    '2x16x3x4x5 with ties',
    () => ({ x: randomLevels(seed(), [2, 16, 3, 4, 5], 3) }),
    (b, t) => ({ y: ops.argmax(b, t.x) }),
  ),
  ...[0.5, 0.2].map((threshold) =>
    floatCase('confidentArgmax', `3x3x5x7x6 threshold ${threshold}`, { x: [3, 3, 5, 7, 6] }, (b, t) => ({
      y: ops.confidentArgmax(b, ops.softmax(b, t.x), threshold),
    })),
  ),
  // Probabilities exactly at the threshold are confident (strict <); ties keep the first channel.
  hostCase(
    'confidentArgmax',
    '2x16x3x4x5 levels / 4 with ties, threshold 0.5',
    () => ({ x: scaled(randomLevels(seed(), [2, 16, 3, 4, 5], 3), 0.25) }),
    (b, t) => ({ y: ops.confidentArgmax(b, t.x, 0.5) }),
  ),
  diceCeCase([2, 3, 5, 7, 6], 'outside', 1),
  diceCeCase([2, 3, 5, 7, 6], 'outside', 1, 'uint8', 0.3),
  diceCeCase([3, 2, 4, 3, 5], null, 0.5, 'int32', 0.3),
  diceCeCase([2, 2, 17, 20, 25], 'inside', 0.5, 'uint8', 0.5),
  diceCeCase([2, 3, 5, 7, 6], 'inside', 0.5, 'int32'),
  diceCeCase([3, 2, 4, 3, 5], null, 1),
  diceCeCase([1, 16, 3, 4, 5], 'inside', 1),
  // More voxels than one wasm pass unit (4096), with and without a cube mask.
  diceCeCase([2, 2, 17, 20, 25], 'inside', 0.5),
  diceCeCase([2, 2, 17, 20, 25], null, 1),
  disagreementCase([2, 3, 5, 7, 6], 1, 0.5),
  disagreementCase([2, 3, 5, 7, 6], 1, 0.5, 'uint8', 0.3),
  disagreementCase([2, 2, 17, 20, 25], 0.5, 1, 'int32', 0.5),
  agreementCase([2, 3, 5, 7, 6], 'uint8'),
  agreementCase([1, 2, 9, 4, 11], 'int32'),
  agreementCase([2, 3, 3, 4, 5], 'uint8', 'none'),
  // More voxels than one WebGPU partial-sum chunk, so the finalize folds several.
  agreementCase([2, 3, 17, 20, 25], 'uint8'),
  hostCase(
    'concat',
    'float32 2x3x4x5x3 + 1x3x4x5x3',
    () => ({ a: randomFloat32(seed(), [2, 3, 4, 5, 3]), b: randomFloat32(seed(), [1, 3, 4, 5, 3]) }),
    (b, t) => ({ y: ops.concat(b, [t.a, t.b]) }),
  ),
  hostCase(
    'concat',
    'uint8 labels 1x5x7x6 three times',
    () => ({ a: lab([1, 5, 7, 6])().x, b: lab([1, 5, 7, 6])().x, c: lab([1, 5, 7, 6])().x }),
    (b, t) => ({ y: ops.concat(b, [t.a, t.b, t.c]) }),
  ),
  hostCase(
    'concat',
    'int32 2x3 + 3x3',
    () => ({ a: lab([2, 3], 'int32')().x, b: lab([3, 3], 'int32')().x }),
    (b, t) => ({ y: ops.concat(b, [t.a, t.b]) }),
  ),
  hostCase(
    'concat',
    'four float32 scalars -> [4]',
    () => ({ a: scalarHost(0.25), b: scalarHost(-3), c: scalarHost(1e-7), d: scalarHost(7) }),
    (b, t) => ({ y: ops.concat(b, [t.a, t.b, t.c, t.d]) }),
  ),
  disagreementCase([1, 2, 9, 4, 11], 0.5, 1, 'int32'),
  floatCase(
    'sgdStep',
    '16x3x3x3x3 momentum 0.9 decay 1e-4',
    { param: [16, 3, 3, 3, 3], grad: [16, 3, 3, 3, 3], buf: [16, 3, 3, 3, 3] },
    (b, t) => {
      ops.sgdStep(b, t.param, t.grad, t.buf, { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
      return { param: t.param, buf: t.buf };
    },
  ),
  floatCase('sgdStep', `${BIG_NAME} momentum 0.9 decay 1e-4`, { param: BIG, grad: BIG, buf: BIG }, (b, t) => {
    ops.sgdStep(b, t.param, t.grad, t.buf, { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
    return { param: t.param, buf: t.buf };
  }),
  floatCase('sgdStep', '33 momentum 0 decay 0', { param: [33], grad: [33], buf: [33] }, (b, t) => {
    ops.sgdStep(b, t.param, t.grad, t.buf, { lr: 0.1, momentum: 0, weightDecay: 0 });
    return { param: t.param, buf: t.buf };
  }),
  ...[1, 99, 1000].map((step) =>
    hostCase(
      'laEmaAlpha',
      `t ${step}`,
      () => ({ loss: scalarHost(0.8 + step / 1000) }),
      (b, t) => ({
        alpha: ops.laEmaAlpha(b, t.loss, { t: step, temperature: 0.3, floor: 0.01 }),
      }),
    ),
  ),
  hostCase(
    'emaUpdate',
    '16x3x3x3x3 alpha 0.93',
    () => ({ ...img([16, 3, 3, 3, 3])(), s: randomFloat32(seed(), [16, 3, 3, 3, 3]), alpha: scalarHost(0.93) }),
    (b, t) => {
      ops.emaUpdate(b, t.x, t.s, t.alpha);
      return { target: t.x };
    },
  ),
  hostCase(
    'emaUpdate',
    `${BIG_NAME} alpha 0.93`,
    () => ({ ...img(BIG)(), s: randomFloat32(seed(), BIG), alpha: scalarHost(0.93) }),
    (b, t) => {
      ops.emaUpdate(b, t.x, t.s, t.alpha);
      return { target: t.x };
    },
  ),
  hostCase(
    'cubeMask',
    '5x7x6',
    () => ({}),
    (b) => ({ m: ops.cubeMask(b, [5, 7, 6], { start: [1, 2, 0], size: [3, 4, 4] }) }),
  ),
  hostCase(
    'cubeMask',
    '9x4x11',
    () => ({}),
    (b) => ({ m: ops.cubeMask(b, [9, 4, 11], { start: [3, 0, 4], size: [6, 2, 7] }) }),
  ),
  hostCase(
    'cubeMask',
    'empty cube',
    () => ({}),
    (b) => ({ m: ops.cubeMask(b, [3, 4, 5], { start: [1, 1, 1], size: [0, 2, 2] }) }),
  ),
  hostCase('cutMix', 'float 3x3x5x7x6', pair([3, 3, 5, 7, 6]), (b, t) => ({ y: ops.cutMix(b, t.a, t.b, t.mask) })),
  hostCase('cutMix', 'uint8 labels 3x5x7x6', pair([3, 5, 7, 6], 'uint8'), (b, t) => ({ y: ops.cutMix(b, t.a, t.b, t.mask) })),
  hostCase('cutMix', 'int32 labels 1x9x4x11', pair([1, 9, 4, 11], 'int32'), (b, t) => ({ y: ops.cutMix(b, t.a, t.b, t.mask) })),
  ...([[0, 2], [1], [], [0, 1, 2]] as SpatialAxis[][]).map((axes) =>
    hostCase('flip', `float 2x3x5x7x6 axes [${axes}]`, img([2, 3, 5, 7, 6]), (b, t) => ({ y: ops.flip(b, t.x, axes) })),
  ),
  hostCase('flip', 'uint8 labels 2x9x4x11 axes [1]', lab([2, 9, 4, 11]), (b, t) => ({ y: ops.flip(b, t.x, [1]) })),
  ...(
    [
      [1, [0, 1]],
      [2, [1, 2]],
      [3, [2, 0]],
      [-1, [0, 2]],
      [0, [0, 1]],
    ] as [number, [SpatialAxis, SpatialAxis]][]
  ).map(([k, axes]) =>
    hostCase('rot90', `float 2x3x5x7x6 k ${k} axes [${axes}]`, img([2, 3, 5, 7, 6]), (b, t) => ({ y: ops.rot90(b, t.x, k, axes) })),
  ),
  hostCase('rot90', 'int32 labels 2x9x4x11 k 1 axes [1, 2]', lab([2, 9, 4, 11], 'int32'), (b, t) => ({ y: ops.rot90(b, t.x, 1, [1, 2]) })),
  floatCase('sum', '3x33x5x4x3', { x: [3, 33, 5, 4, 3] }, (b, t) => ({ y: ops.sum(b, t.x) })),
  floatCase('sum', 'scalar', { x: [] }, (b, t) => ({ y: ops.sum(b, t.x) })),
  floatCase('mean', '3x3x9x4x11', { x: [3, 3, 9, 4, 11] }, (b, t) => ({ y: ops.mean(b, t.x) }), 0, 1),
  floatCase('copy', 'float 3x3x5x7x6', { x: [3, 3, 5, 7, 6] }, (b, t) => ({ y: ops.copy(b, t.x) })),
  hostCase('copy', 'uint8 labels 3x5x7x6', lab([3, 5, 7, 6]), (b, t) => ({ y: ops.copy(b, t.x) })),
  floatCase('assign', 'float 16x3x3x3x3', { dst: [16, 3, 3, 3, 3], src: [16, 3, 3, 3, 3] }, (b, t) => {
    ops.assign(b, t.dst, t.src);
    return { dst: t.dst };
  }),
  hostCase(
    'assign',
    'int32 labels 2x9x4x11',
    () => ({ dst: randomLabels(seed(), [2, 9, 4, 11], 3, 'int32'), src: randomLabels(seed(), [2, 9, 4, 11], 3, 'int32') }),
    (b, t) => {
      ops.assign(b, t.dst, t.src);
      return { dst: t.dst };
    },
  ),
];
