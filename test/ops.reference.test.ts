/**
 * The reference backward ops against central finite differences in float64, and the forward
 * semantics against tiny cases worked out by hand (or by numpy where stated). Every reference function
 * is generic over Float32Array | Float64Array; these tests run them in float64.
 * Tolerances: linear maps (conv backward, bias) 1e-8 relative, as differences of a linear function are
 * exact up to rounding; nonlinear ones (batch norm, ReLU, losses) 1e-6 relative (truncation O(h^2)).
 */
import { describe, expect, it } from 'vitest';
import type { Vec3 } from '../src/core/shape.js';
import * as ops from '../src/ops/index.js';
import type { Dense } from '../src/ops/dense.js';
import type { Conv3dParams, MaskRegion } from '../src/contract/params.js';
import { dot, expectGradientsClose, numericGradient } from './support/finite-difference.js';
import { hostCubeMask, randomFloat64, randomLabels } from './support/random-data.js';

const LINEAR_TOL = 1e-8;
const NONLINEAR_TOL = 1e-6;
const f64 = (seed: number, shape: readonly number[], lo = -1, hi = 1): Dense<Float64Array> =>
  ops.dense(randomFloat64(seed, shape, lo, hi).data, shape);
const d64 = (values: number[], shape: readonly number[]): Dense<Float64Array> => ops.dense(Float64Array.from(values), shape);
const vec = (v: number | Vec3): Vec3 => (typeof v === 'number' ? [v, v, v] : v);

interface Geometry {
  readonly x: readonly [number, number, number, number, number];
  readonly co: number;
  readonly k: number | Vec3;
  readonly s: number | Vec3;
  readonly p: number | Vec3;
  readonly d: number | Vec3;
}

const geometries: Geometry[] = [
  { x: [1, 2, 3, 4, 3], co: 2, k: 1, s: 1, p: 0, d: 1 },
  { x: [2, 2, 4, 5, 3], co: 3, k: 2, s: 2, p: 0, d: 1 },
  { x: [1, 2, 4, 3, 5], co: 2, k: 3, s: 1, p: 1, d: 1 },
  { x: [1, 3, 5, 4, 4], co: 2, k: 3, s: 2, p: 1, d: 1 },
  { x: [1, 1, 5, 6, 5], co: 2, k: 3, s: 1, p: 1, d: 2 },
  // Stride 2 over 7 with k3 p0 leaves the last input row unused: its gradient must be exactly 0.
  { x: [1, 2, 7, 4, 3], co: 2, k: 3, s: 2, p: 0, d: 1 },
  { x: [2, 2, 5, 4, 6], co: 3, k: [3, 2, 1], s: [2, 1, 1], p: [1, 0, 0], d: [1, 1, 2] },
];

describe('conv3d backward ops against finite differences (float64)', () => {
  it.each(geometries.map((g) => [`x ${g.x.join('x')} -> ${g.co} k${g.k} s${g.s} p${g.p} d${g.d}`, g] as const))('%s', (_name, g) => {
    const kernel = vec(g.k);
    const p: Conv3dParams = { stride: vec(g.s), padding: vec(g.p), dilation: vec(g.d) };
    const x = f64(1, g.x);
    const w = f64(2, [g.co, g.x[1], ...kernel]);
    const b = f64(3, [g.co]);
    const yShape = ops.conv3dReference(x, w, b, p).shape;
    const dy = f64(4, yShape);
    // L = sum(conv3d(x, w, b) * dy), so dL/dx, dL/dw, dL/db are the three backward ops applied to dy.
    const loss = (): number => dot(ops.conv3dReference(x, w, b, p).data, dy.data);
    const inputSpatial: Vec3 = [g.x[2], g.x[3], g.x[4]];
    expectGradientsClose('dx', ops.conv3dBackwardDataReference(dy, w, { ...p, inputSpatial }).data, numericGradient(x, loss), LINEAR_TOL);
    expectGradientsClose('dw', ops.conv3dBackwardFilterReference(x, dy, { ...p, kernel }).data, numericGradient(w, loss), LINEAR_TOL);
    expectGradientsClose('db = channelSum(dy)', ops.channelSumReference(dy).data, numericGradient(b, loss), LINEAR_TOL);
  });

  it('ConvTranspose3d k2 s2 doubles the grid and places w * x at 2i + k', () => {
    // One input voxel of value 3 at (0, 1, 0) of a 1x2x1 grid; weight [Cin_t=1, Cout_t=1, 2, 2, 2] = 1..8.
    const x = d64([0, 3], [1, 1, 1, 2, 1]);
    const w = d64([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 2, 2]);
    const y = ops.conv3dBackwardDataReference(x, w, {
      stride: [2, 2, 2],
      padding: [0, 0, 0],
      dilation: [1, 1, 1],
      inputSpatial: [2, 4, 2],
    });
    expect(y.shape).toEqual([1, 1, 2, 4, 2]);
    const expected = new Float64Array(16);
    for (let kd = 0; kd < 2; kd++)
      for (let kh = 0; kh < 2; kh++) for (let kw = 0; kw < 2; kw++) expected[(kd * 4 + 2 + kh) * 2 + kw] = 3 * (1 + kd * 4 + kh * 2 + kw);
    expect(Array.from(y.data)).toEqual(Array.from(expected));
  });

  it('conv3d forward on a hand-computed 1-D case with padding and bias', () => {
    // x = [1, 2, 3] along W, w = [1, 10, 100], padding 1: y_o = x_{o-1} + 10 x_o + 100 x_{o+1} + 0.5.
    const y = ops.conv3dReference(d64([1, 2, 3], [1, 1, 1, 1, 3]), d64([1, 10, 100], [1, 1, 1, 1, 3]), d64([0.5], [1]), {
      stride: [1, 1, 1],
      padding: [0, 0, 1],
      dilation: [1, 1, 1],
    });
    expect(Array.from(y.data)).toEqual([210.5, 321.5, 32.5]);
  });
});

describe('batch norm, relu and bias against finite differences (float64)', () => {
  it.each([
    [2, 3, 3, 2, 4],
    [1, 2, 2, 3, 2],
  ])('batchNormBackward on x %ix%ix%ix%ix%i', (...shape) => {
    const x = f64(10, shape, -2, 3);
    const gamma = f64(11, [shape[1]], 0.5, 1.5);
    const beta = f64(12, [shape[1]]);
    const dy = f64(13, shape);
    const forward = () => {
      const running = [f64(14, [shape[1]]), f64(15, [shape[1]], 0.5, 1)];
      return ops.batchNormTrainReference(x, gamma, beta, running[0], running[1], { momentum: 0.1, eps: 1e-5 });
    };
    const loss = (): number => dot(forward().y.data, dy.data);
    const { mean, invStd } = forward();
    const grads = ops.batchNormBackwardReference(dy, x, gamma, mean, invStd);
    expectGradientsClose('dx', grads.dx.data, numericGradient(x, loss), NONLINEAR_TOL);
    expectGradientsClose('dgamma', grads.dgamma.data, numericGradient(gamma, loss), NONLINEAR_TOL);
    expectGradientsClose('dbeta', grads.dbeta.data, numericGradient(beta, loss), NONLINEAR_TOL);
  });

  it('reluBackward and addChannelBias', () => {
    // Keep x away from the kink at 0, where ReLU has no derivative for differences to find.
    const x = f64(20, [2, 3, 2, 3, 2], -1, 1);
    x.data.forEach((v, i) => (x.data[i] = v + Math.sign(v) * 0.05));
    const b = f64(21, [3]);
    const dy = f64(22, x.shape);
    const loss = (): number => dot(ops.reluReference(ops.addChannelBiasReference(x, b)).data, dy.data);
    const y = ops.reluReference(ops.addChannelBiasReference(x, b));
    const dz = ops.reluBackwardReference(dy, y);
    expectGradientsClose('dx', dz.data, numericGradient(x, loss), NONLINEAR_TOL);
    expectGradientsClose('db', ops.channelSumReference(dz).data, numericGradient(b, loss), NONLINEAR_TOL);
  });

  it('batchNormTrain normalises with the biased variance and updates running_var with the unbiased one', () => {
    // One channel, values 1, 2, 3, 6: mean 3, biased variance 14/4, unbiased 14/3.
    const x = d64([1, 2, 3, 6], [2, 1, 1, 1, 2]);
    const runningMean = d64([0.5], [1]);
    const runningVar = d64([2], [1]);
    const r = ops.batchNormTrainReference(x, d64([2], [1]), d64([0.25], [1]), runningMean, runningVar, { momentum: 0.1, eps: 1e-5 });
    const invStd = 1 / Math.sqrt(3.5 + 1e-5);
    expect(r.mean.data[0]).toBe(3);
    expect(r.invStd.data[0]).toBeCloseTo(invStd, 14);
    [1, 2, 3, 6].forEach((v, i) => expect(r.y.data[i]).toBeCloseTo(2 * (v - 3) * invStd + 0.25, 13));
    expect(runningMean.data[0]).toBeCloseTo(0.9 * 0.5 + 0.1 * 3, 15);
    expect(runningVar.data[0]).toBeCloseTo(0.9 * 2 + (0.1 * 14) / 3, 14);
    const evalY = ops.batchNormEvalReference(x, d64([2], [1]), d64([0.25], [1]), runningMean, runningVar, { eps: 1e-5 });
    expect(evalY.data[3]).toBeCloseTo((2 * (6 - 0.75)) / Math.sqrt(0.9 * 2 + 1.4 / 3 + 1e-5) + 0.25, 13);
  });
});

describe('losses against finite differences (float64)', () => {
  const shape = [2, 3, 3, 4, 3] as const;
  const spatial: Vec3 = [3, 4, 3];
  const labels = ops.dense(randomLabels(30, [2, ...spatial], 3, 'int32').data as Int32Array, [2, ...spatial]);
  const mask = ops.dense(hostCubeMask(spatial, [1, 1, 0], [2, 2, 2]).data, spatial);

  it.each<[string, MaskRegion | null]>([
    ['outside the cube', 'outside'],
    ['inside the cube', 'inside'],
    ['no mask', null],
  ])('diceCeLoss gradient, %s', (_name, region) => {
    const logits = f64(31, shape, -2, 2);
    const p = { weight: 0.7, region: region ?? 'outside' };
    const m = region === null ? null : mask;
    const loss = (): number => ops.diceCeLossReference(logits, labels, m, p).loss.data[0];
    expectGradientsClose('dlogits', ops.diceCeLossReference(logits, labels, m, p).grad.data, numericGradient(logits, loss), NONLINEAR_TOL);
  });

  it('disagreementMse gradient (D and the other student held constant)', () => {
    const logits = f64(32, shape, -2, 2);
    const other = f64(33, shape, -2, 2);
    const p = { weightOutside: 1, weightInside: 0.5 };
    const disagreeing = Array.from(ops.argmaxReference(logits).data).filter((c, i) => c !== ops.argmaxReference(other).data[i]).length;
    expect(disagreeing).toBeGreaterThan(5);
    expect(disagreeing).toBeLessThan(labels.data.length - 5);
    const loss = (): number => ops.disagreementMseReference(logits, other, labels, mask, p).loss.data[0];
    const grad = ops.disagreementMseReference(logits, other, labels, mask, p).grad.data;
    expectGradientsClose('dlogits', grad, numericGradient(logits, loss), NONLINEAR_TOL);
  });

  it('diceCeLoss on a hand-computed case: zero logits (p = 1/2), labels [0, 1]', () => {
    const logits = d64([0, 0, 0, 0], [1, 2, 1, 1, 2]);
    const y = ops.dense(Uint8Array.of(0, 1), [1, 1, 1, 2]);
    const e = 1e-5;
    // Every voxel: each class has I = 1/2, sum p = 1, sum y = 1; CE = 2 ln 2 over 2 voxels.
    const all = ops.diceCeLossReference(logits, y, null, { weight: 1, region: 'outside' }).loss.data[0];
    expect(all).toBeCloseTo((1 - (1 + e) / (2 + e) + Math.LN2) / 2, 14);
    // Mask [1, 0], region outside: only voxel 0 (label 0). Class 0: I = 1/2, p = 1/2, y = 1; class 1: I = 0, p = 1/2, y = 0.
    const outside = ops.diceCeLossReference(logits, y, ops.dense(Uint8Array.of(1, 0), [1, 1, 2]), { weight: 0.5, region: 'outside' });
    const dice = 1 - ((1 + e) / (1.5 + e) + e / (0.5 + e)) / 2;
    expect(outside.loss.data[0]).toBeCloseTo((0.5 * (dice + Math.LN2)) / 2, 14);
    expect(outside.grad.data[1]).toBe(0); // voxel 1 lies outside the region
  });

  it('IGNORE_LABEL voxels are outside every loss: diceCe with the cube inside ignored equals diceCe over the outside region', () => {
    const logits = f64(34, shape, -2, 2);
    const hidden = ops.dense(
      Uint8Array.from(labels.data, (y, i) => (mask.data[i % mask.data.length] === 0 ? ops.IGNORE_LABEL : y)),
      labels.shape,
    );
    const p = { weight: 0.7, region: 'outside' as const };
    const byRegion = ops.diceCeLossReference(logits, labels, mask, p);
    const byIgnore = ops.diceCeLossReference(logits, hidden, null, p);
    expect(byIgnore.loss.data[0]).toBeCloseTo(byRegion.loss.data[0], 14);
    expect(Array.from(byIgnore.grad.data)).toEqual(Array.from(byRegion.grad.data));
    // And the gradient stays the loss's derivative with ignored voxels present.
    const loss = (): number => ops.diceCeLossReference(logits, hidden, null, p).loss.data[0];
    expectGradientsClose('dlogits', byIgnore.grad.data, numericGradient(logits, loss), NONLINEAR_TOL);
  });

  it('IGNORE_LABEL targets count in neither sum of disagreementMse: same as the loss over the other voxels', () => {
    const logits = f64(35, shape, -2, 2);
    const other = f64(36, shape, -2, 2);
    const p = { weightOutside: 1, weightInside: 0.5 };
    // Ignore every voxel inside the cube; making `other` agree there drops the same voxels from D.
    const inside = (v: number): boolean => mask.data[v % mask.data.length] === 0;
    const hidden = ops.dense(
      Uint8Array.from(labels.data, (y, v) => (inside(v) ? ops.IGNORE_LABEL : y)),
      labels.shape,
    );
    const l = new ops.Layout5(shape);
    const agreeing = ops.dense(Float64Array.from(other.data), shape);
    for (let n = 0; n < l.n; n++)
      for (let v = 0; v < l.spatialSize; v++)
        if (inside(n * l.spatialSize + v)) for (let c = 0; c < l.c; c++) agreeing.data[l.voxel(n, c, v)] = logits.data[l.voxel(n, c, v)];
    const byIgnore = ops.disagreementMseReference(logits, other, hidden, mask, p);
    const byAgreement = ops.disagreementMseReference(logits, agreeing, labels, mask, p);
    expect(byIgnore.loss.data[0]).toBeGreaterThan(0);
    expect(byIgnore.loss.data[0]).toBeCloseTo(byAgreement.loss.data[0], 14);
    expect(Array.from(byIgnore.grad.data)).toEqual(Array.from(byAgreement.grad.data));
  });

  it('confidentArgmax flags voxels whose largest probability is below the threshold (strict), class in the low bits', () => {
    // Voxels: (0.7, 0.3) confident class 0; (0.4, 0.6) low class 1; (0.5, 0.5) tie at the threshold: class 0, confident.
    const probs = ops.dense(Float32Array.of(0.7, 0.4, 0.5, 0.3, 0.6, 0.5), [1, 2, 1, 1, 3]);
    expect(Array.from(ops.confidentArgmaxReference(probs, 0.5).data)).toEqual([0, 1, 0]);
    expect(Array.from(ops.confidentArgmaxReference(probs, 0.65).data)).toEqual([0, 1 + ops.LOW_CONFIDENCE_BIT, ops.LOW_CONFIDENCE_BIT]);
  });

  it('disagreementMse on a hand-computed case', () => {
    // Voxel 0: argmax 0 vs other's 1 (disagree), target 1, outside the cube; voxel 1 agrees.
    const logits = d64([1, 0, 0, 1], [1, 2, 1, 1, 2]);
    const other = d64([0, 0, 1, 1], [1, 2, 1, 1, 2]);
    const r = ops.disagreementMseReference(
      logits,
      other,
      ops.dense(Int32Array.of(1, 0), [1, 1, 1, 2]),
      ops.dense(Uint8Array.of(1, 0), [1, 1, 2]),
      {
        weightOutside: 1,
        weightInside: 0.5,
      },
    );
    const p0 = 1 / (1 + Math.exp(-1));
    // e = mean((p0 - 0)^2, (p1 - 1)^2) = p0^2, and sum D = 1.
    expect(r.loss.data[0]).toBeCloseTo(p0 * p0, 14);
    expect([r.grad.data[1], r.grad.data[3]]).toEqual([0, 0]);
  });
});

describe('forward semantics on hand-made cases', () => {
  // numpy.rot90(np.arange(24).reshape(2, 3, 4), k, axes), flattened.
  it.each<[number, [0 | 1 | 2, 0 | 1 | 2], number[], number[]]>([
    [1, [0, 2], [4, 3, 2], [3, 15, 7, 19, 11, 23, 2, 14, 6, 18, 10, 22, 1, 13, 5, 17, 9, 21, 0, 12, 4, 16, 8, 20]],
    [3, [1, 2], [2, 4, 3], [8, 4, 0, 9, 5, 1, 10, 6, 2, 11, 7, 3, 20, 16, 12, 21, 17, 13, 22, 18, 14, 23, 19, 15]],
    [2, [0, 1], [2, 3, 4], [20, 21, 22, 23, 16, 17, 18, 19, 12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3]],
    [-1, [2, 0], [4, 3, 2], [3, 15, 7, 19, 11, 23, 2, 14, 6, 18, 10, 22, 1, 13, 5, 17, 9, 21, 0, 12, 4, 16, 8, 20]],
  ])('rot90 k=%i axes %j matches numpy on a 2x3x4 grid', (k, axes, shape, expected) => {
    const labels = ops.dense(
      Uint8Array.from({ length: 24 }, (_, i) => i),
      [1, 2, 3, 4],
    );
    const r = ops.rot90Reference(labels, k, axes);
    expect(r.shape).toEqual([1, ...shape]);
    expect(Array.from(r.data)).toEqual(expected);
  });

  it('flip reverses only the named axes', () => {
    const x = ops.dense(
      Float64Array.from({ length: 24 }, (_, i) => i),
      [1, 1, 2, 3, 4],
    );
    expect(Array.from(ops.flipReference(x, [2]).data.slice(0, 4))).toEqual([3, 2, 1, 0]);
    expect(Array.from(ops.flipReference(x, [0]).data.slice(0, 4))).toEqual([12, 13, 14, 15]);
    expect(Array.from(ops.flipReference(x, []).data)).toEqual(Array.from(x.data));
  });

  it('cubeMask is 0 inside the cube and 1 outside; cutMix takes a outside and b inside', () => {
    const m = ops.cubeMaskReference([1, 2, 2], { start: [0, 0, 1], size: [1, 2, 1] });
    expect(Array.from(m.data)).toEqual([1, 0, 1, 0]);
    const big = ops.cubeMaskReference([3, 4, 5], { start: [1, 1, 2], size: [2, 2, 2] });
    expect(Array.from(big.data).filter((v) => v === 0).length).toBe(8);
    expect(big.data[(1 * 4 + 1) * 5 + 2]).toBe(0);
    expect(big.data[(1 * 4 + 1) * 5 + 4]).toBe(1);
    const a = d64([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 1, 2, 2]);
    const b = d64([10, 20, 30, 40, 50, 60, 70, 80], [2, 1, 1, 2, 2]);
    expect(Array.from(ops.cutMixReference(a, b, m).data)).toEqual([1, 20, 3, 40, 5, 60, 7, 80]);
    const labels = ops.cutMixReference(
      ops.dense(Uint8Array.of(1, 1, 1, 1), [1, 1, 2, 2]),
      ops.dense(Uint8Array.of(2, 2, 2, 2), [1, 1, 2, 2]),
      m,
    );
    expect(Array.from(labels.data)).toEqual([1, 2, 1, 2]);
  });

  it('sgdStep matches torch.optim.SGD over two steps worked by hand', () => {
    const param = d64([1], [1]);
    const buf = d64([0], [1]);
    const grad = d64([0.5], [1]);
    const p = { lr: 0.1, momentum: 0.9, weightDecay: 0.01 };
    ops.sgdStepReference(param, grad, buf, p);
    // g = 0.5 + 0.01 * 1 = 0.51 = buf (PyTorch's first-step clone); param = 1 - 0.1 * 0.51.
    expect(buf.data[0]).toBeCloseTo(0.51, 15);
    expect(param.data[0]).toBeCloseTo(0.949, 15);
    ops.sgdStepReference(param, grad, buf, p);
    // g = 0.5 + 0.01 * 0.949 = 0.50949; buf = 0.9 * 0.51 + 0.50949 = 0.96849; param = 0.949 - 0.096849.
    expect(buf.data[0]).toBeCloseTo(0.96849, 15);
    expect(param.data[0]).toBeCloseTo(0.852151, 15);
  });

  it.each([
    [1, 1 - 0.5 * Math.exp(-0.15)],
    [99, 1 - 0.01 * Math.exp(-0.15)],
    [1000, 1 - 0.01 * Math.exp(-0.15)],
  ])('laEmaAlpha at t=%i with loss 0.5', (t, expected) => {
    // w_global = max(1/(1+t), 0.01): 1/2 at t=1, exactly 0.01 at t=99, the floor at t=1000.
    const alpha = ops.laEmaAlphaReference(d64([0.5], []), { t, temperature: 0.3, floor: 0.01 });
    expect(alpha.shape).toEqual([]);
    expect(alpha.data[0]).toBeCloseTo(expected, 15);
    const target = d64([2, -1], [2]);
    ops.emaUpdateReference(target, d64([4, 1], [2]), alpha);
    expect(target.data[0]).toBeCloseTo(expected * 2 + (1 - expected) * 4, 14);
  });

  it('dropoutMask keeps about 1 - p of the channels, scaled by 1 / (1 - p)', () => {
    const m = ops.dropoutMaskReference(100, 100, { p: 0.3, seed: 12345 });
    const kept = Array.from(m.data).filter((v) => v !== 0);
    expect(new Set(kept)).toEqual(new Set([Math.fround(1 / 0.7)]));
    // Binomial(10000, 0.7): standard deviation 46, so +-200 is over 4 sigma.
    expect(Math.abs(kept.length - 7000)).toBeLessThan(200);
    expect(Array.from(ops.dropoutMaskReference(2, 3, { p: 0, seed: 1 }).data)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('argmax takes the first index on ties; softmax sums to 1; sum and mean are scalars', () => {
    const x = d64([2, 5, 5, 1], [1, 4, 1, 1, 1]);
    expect(Array.from(ops.argmaxReference(x).data)).toEqual([1]);
    // Voxel 0 has logits (1000, 1001): exp would overflow without the max shift.
    const p = ops.softmaxReference(d64([1000, -3, 1001, 0], [1, 2, 1, 1, 2]));
    expect(p.data[0] + p.data[2]).toBeCloseTo(1, 15);
    expect(p.data[2]).toBeCloseTo(1 / (1 + Math.exp(-1)), 15);
    expect(ops.sumReference(d64([1, 2, 3.5], [3])).data[0]).toBe(6.5);
    expect(ops.meanReference(d64([1, 2, 3.5], [3, 1])).shape).toEqual([]);
  });

  it('refuses out-of-range indices, labels and mask values instead of reading garbage', () => {
    const logits = d64([0, 0, 0, 0], [1, 2, 1, 1, 2]);
    expect(() =>
      ops.diceCeLossReference(logits, ops.dense(Uint8Array.of(0, 2), [1, 1, 1, 2]), null, { weight: 1, region: 'outside' }),
    ).toThrow(RangeError);
    expect(() => ops.cutMixReference(logits, logits, ops.dense(Uint8Array.of(1, 2), [1, 1, 2]))).toThrow(/mask value 2/);
    expect(() => new ops.Layout5([1, 2, 3, 4, 5]).offset(0, 0, 0, 4, 0)).toThrow(RangeError);
    expect(() => ops.at(new Float32Array(3), 3)).toThrow(RangeError);
  });
});
