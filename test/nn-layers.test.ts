import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import type { Backend } from '../src/backend/backend.js';
import type { Tensor } from '../src/core/tensor.js';
import { sizeOf } from '../src/core/shape.js';
import { Conv3d } from '../src/nn/layers/conv3d.js';
import { ConvTranspose3d } from '../src/nn/layers/conv-transpose3d.js';
import { Dropout3d } from '../src/nn/layers/dropout3d.js';
import { InstanceNorm3d } from '../src/nn/layers/instance-norm3d.js';
import { BatchNorm3d } from '../src/nn/layers/batch-norm3d.js';
import { ReLU } from '../src/nn/layers/relu.js';
import { Sequential, fusedNormReluAt } from '../src/nn/layers/sequential.js';
import { batchNormBackwardReference, batchNormTrainReference, dropoutMask } from '../src/ops/index.js';
import { trackAllocations } from './support/tracking-backend.js';

const rand = (n: number, seed: number): Float32Array => {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
};
const read = async (b: Backend, t: Tensor): Promise<Float32Array> => (await b.read(t)) as Float32Array;
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const expectClose = (ours: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void => {
  expect(ours.length, what).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(ours[i] - want[i]));
  expect(worst, what).toBeLessThanOrEqual(tol);
};

describe('ConvTranspose3d', () => {
  // Direct definition: y[n, co, o] = b[co] + sum over (ci, i, k) with o = i * s - p + k of x[n, ci, i] w[ci, co, k].
  for (const geom of [
    { kernel: 2, stride: 2, padding: 0, inSpatial: [2, 3, 1] },
    { kernel: 3, stride: 2, padding: 1, inSpatial: [3, 2, 2] },
  ]) {
    it(`forward and backward equal the scatter definition (k${geom.kernel} s${geom.stride} p${geom.padding})`, async () => {
      const be = createReferenceBackend();
      const [N, Ci, Co, k, s, p] = [2, 3, 5, geom.kernel, geom.stride, geom.padding];
      const layer = new ConvTranspose3d(be, { name: 'up', inChannels: Ci, outChannels: Co, kernel: k, stride: s, padding: p, seed: 3 });
      const inSp = geom.inSpatial;
      const outSp = inSp.map((v) => (v - 1) * s - 2 * p + k);
      const xData = rand(N * Ci * sizeOf(inSp), 1);
      const x = be.upload(xData, [N, Ci, ...inSp]);
      const y = layer.forward(x);
      expect(y.shape).toEqual([N, Co, ...outSp]);
      const w = await read(be, layer.weight.value);
      const bias = await read(be, layer.bias.value);
      expect(layer.weight.value.shape).toEqual([Ci, Co, k, k, k]);
      const dyData = rand(y.size, 2);
      const want = new Float64Array(y.size);
      const wantDx = new Float64Array(x.size);
      const wantDw = new Float64Array(w.length);
      const V = sizeOf(outSp);
      for (let n = 0; n < N; n++) for (let co = 0; co < Co; co++) for (let v = 0; v < V; v++) want[(n * Co + co) * V + v] = bias[co];
      const idx3 = (a: number, b: number, c: number, sp: number[]): number => (a * sp[1] + b) * sp[2] + c;
      for (let n = 0; n < N; n++)
        for (let ci = 0; ci < Ci; ci++)
          for (let i0 = 0; i0 < inSp[0]; i0++)
            for (let i1 = 0; i1 < inSp[1]; i1++)
              for (let i2 = 0; i2 < inSp[2]; i2++)
                for (let co = 0; co < Co; co++)
                  for (let k0 = 0; k0 < k; k0++)
                    for (let k1 = 0; k1 < k; k1++)
                      for (let k2 = 0; k2 < k; k2++) {
                        const o = [i0 * s - p + k0, i1 * s - p + k1, i2 * s - p + k2];
                        if (o.some((v, a) => v < 0 || v >= outSp[a])) continue;
                        const xi = (n * Ci + ci) * sizeOf(inSp) + idx3(i0, i1, i2, inSp);
                        const wi = ((ci * Co + co) * k + k0) * k * k + k1 * k + k2;
                        const yi = (n * Co + co) * V + idx3(o[0], o[1], o[2], outSp);
                        want[yi] += xData[xi] * w[wi];
                        wantDx[xi] += dyData[yi] * w[wi];
                        wantDw[wi] += xData[xi] * dyData[yi];
                      }
      expectClose(await read(be, y), want, 1e-5, 'forward');
      const dy = be.upload(dyData, y.shape);
      const dx = layer.backward(dy);
      expectClose(await read(be, dx), wantDx, 1e-5, 'dx');
      expectClose(await read(be, layer.weight.grad as Tensor), wantDw, 1e-4, 'dw');
      const wantDb = Array.from({ length: Co }, (_, co) => {
        let t = 0;
        for (let n = 0; n < N; n++) for (let v = 0; v < V; v++) t += dyData[(n * Co + co) * V + v];
        return t;
      });
      expectClose(await read(be, layer.bias.grad as Tensor), wantDb, 1e-4, 'db');
    });
  }
});

describe('Conv3d', () => {
  it('backward is the adjoint of forward: <conv(x) - b, r> = <x, dx(r)> = <w, dw(r)>', async () => {
    const be = createReferenceBackend();
    const layer = new Conv3d(be, { name: 'c', inChannels: 3, outChannels: 4, kernel: 3, padding: 1, seed: 9 });
    const xData = rand(2 * 3 * 5 * 4 * 3, 4);
    const x = be.upload(xData, [2, 3, 5, 4, 3]);
    const y = await read(be, layer.forward(x));
    const bias = await read(be, layer.bias.value);
    const r = rand(y.length, 5);
    const dx = await read(be, layer.backward(be.upload(r, [2, 4, 5, 4, 3])) as Tensor);
    let lhs = 0;
    for (let i = 0; i < y.length; i++) lhs += (y[i] - bias[Math.floor(i / 60) % 4]) * r[i];
    expect(dot(xData, dx)).toBeCloseTo(lhs, 4);
    expect(dot(await read(be, layer.weight.value), await read(be, layer.weight.grad as Tensor))).toBeCloseTo(lhs, 4);
  });

  it('skips the input gradient when built with inputGrad: false', () => {
    const be = createReferenceBackend();
    const layer = new Conv3d(be, { name: 'c', inChannels: 1, outChannels: 2, kernel: 1, inputGrad: false, seed: 1 });
    const y = layer.forward(be.upload(rand(8, 1), [1, 1, 2, 2, 2]));
    expect(layer.backward(y)).toBeNull();
    expect(layer.weight.grad?.shape).toEqual([2, 1, 1, 1, 1]);
  });

  it('refuses backward without a training forward', () => {
    const be = createReferenceBackend();
    const layer = new Conv3d(be, { name: 'c', inChannels: 1, outChannels: 1, kernel: 1, seed: 1 });
    layer.setTraining(false);
    const y = layer.forward(be.upload(rand(8, 1), [1, 1, 2, 2, 2]));
    expect(() => layer.backward(y)).toThrow(/training-mode forward/);
  });
});

describe('InstanceNorm3d', () => {
  it('equals batch norm applied to each sample alone, forward and backward, and leaks nothing', async () => {
    const tracked = trackAllocations(createReferenceBackend());
    const be = tracked.backend;
    const shape = [2, 3, 2, 3, 4];
    const per = sizeOf(shape.slice(1));
    const xData = rand(sizeOf(shape), 11).map((v, i) => v * (1 + (i % 5)) + (i % 7));
    const dyData = rand(sizeOf(shape), 12);
    const x = be.upload(xData, shape);
    const dy = be.upload(dyData, shape);
    const norm = new InstanceNorm3d(be, { name: 'in' });
    const y = norm.forward(x);
    const dx = norm.backward(dy);
    const ys = await read(be, y);
    const dxs = await read(be, dx);
    for (let n = 0; n < 2; n++) {
      const xs = { data: Float64Array.from(xData.subarray(n * per, (n + 1) * per)), shape: [1, ...shape.slice(1)] };
      const gamma = { data: new Float64Array(3).fill(1), shape: [3] };
      const beta = { data: new Float64Array(3), shape: [3] };
      const rm = { data: new Float64Array(3), shape: [3] };
      const rv = { data: new Float64Array(3).fill(1), shape: [3] };
      const f = batchNormTrainReference(xs, gamma, beta, rm, rv, { momentum: 0.1, eps: 1e-5 });
      const g = batchNormBackwardReference(
        { data: Float64Array.from(dyData.subarray(n * per, (n + 1) * per)), shape: xs.shape },
        xs,
        gamma,
        f.mean,
        f.invStd,
      );
      expectClose(ys.subarray(n * per, (n + 1) * per), f.y.data, 1e-5, `y of sample ${n}`);
      expectClose(dxs.subarray(n * per, (n + 1) * per), g.dx.data, 1e-5, `dx of sample ${n}`);
    }
    expect(norm.parameters()).toEqual([]);
    for (const t of [x, dy, y, dx]) be.dispose(t);
    expect(tracked.liveCount()).toBe(0);
  });
});

describe('BatchNorm3d', () => {
  it('tracks batches and running statistics in training, uses them in eval', async () => {
    const be = createReferenceBackend();
    const bn = new BatchNorm3d(be, { name: 'bn', channels: 2 });
    const x = be.upload(Float32Array.from([1, 2, 3, 4, 10, 10, 10, 14]), [1, 2, 2, 2, 1]);
    bn.forward(x);
    expect(bn.numBatchesTracked.value).toBe(1);
    // mean 2.5 and 11, unbiased var 5/3 and 4: running = 0.9 * initial + 0.1 * batch.
    expectClose(await read(be, bn.runningMean.value), [0.25, 1.1], 1e-6, 'running_mean');
    expectClose(await read(be, bn.runningVar.value), [0.9 + 0.1 * (5 / 3), 0.9 + 0.4], 1e-6, 'running_var');
    bn.setTraining(false);
    const y = await read(be, bn.forward(x));
    expect(y[0]).toBeCloseTo((1 - 0.25) / Math.sqrt(0.9 + 0.1 * (5 / 3) + 1e-5), 5);
    expect(bn.numBatchesTracked.value).toBe(1);
  });
});

describe('Sequential batch norm -> ReLU fusion', () => {
  it('runs a training pair as one kernel with the results of the two layers, and leaks nothing', async () => {
    const tracked = trackAllocations(createReferenceBackend());
    const be = tracked.backend;
    const shape = [2, 3, 4, 3, 5];
    const conv = (): Conv3d => new Conv3d(be, { name: 'c', inChannels: 3, outChannels: 3, kernel: 3, padding: 1, seed: 7 });
    const stage = (): Sequential => new Sequential(be, [conv(), new BatchNorm3d(be, { name: 'bn', channels: 3 }), new ReLU(be, 'r')]);
    const fused = stage();
    const apart = stage();
    // The reference pair: each layer on its own, as Sequential ran them before the fusion.
    const [c, bn, relu] = apart.layers;
    const x = be.upload(rand(sizeOf(shape), 5), shape);
    const dy = be.upload(rand(sizeOf(shape), 6), shape);
    expect(fusedNormReluAt(fused.layers, 1)).toBe(fused.layers[1]);
    const y = fused.forward(x);
    const h = c.forward(x);
    const z = bn.forward(h);
    const want = relu.forward(z);
    expectClose(await read(be, y), await read(be, want), 1e-6, 'forward');
    const dx = fused.backward(dy)!;
    const dz = relu.backward(dy)!;
    const dh = bn.backward(dz)!;
    const wantDx = c.backward(dh)!;
    expectClose(await read(be, dx), await read(be, wantDx), 1e-5, 'dx');
    for (const [i, p] of fused.parameters().entries()) {
      expectClose(await read(be, p.grad!), await read(be, apart.parameters()[i].grad!), 1e-5, `grad of ${p.name}`);
    }
    const bnFused = fused.layers[1] as BatchNorm3d;
    expectClose(await read(be, bnFused.runningVar.value), await read(be, (bn as BatchNorm3d).runningVar.value), 1e-7, 'running_var');
    // Eval mode and frozen statistics are not fused.
    fused.setTraining(false);
    expect(fusedNormReluAt(fused.layers, 1)).toBeNull();
    fused.setTraining(true);
    bnFused.setStatistics('frozen');
    expect(fusedNormReluAt(fused.layers, 1)).toBeNull();
    for (const t of [x, dy, y, h, z, want, dx, dz, dh, wantDx]) be.dispose(t);
    fused.dispose();
    apart.dispose();
    expect(tracked.liveCount()).toBe(0);
  });
});

describe('Dropout3d', () => {
  it('draws its mask with dropoutMask, zeroes whole channels, and scales dy by the same mask', async () => {
    const be = createReferenceBackend();
    const drop = new Dropout3d(be, { name: 'd', p: 0.5, seed: 42 });
    const seed = drop.nextSeed();
    const x = be.upload(rand(3 * 4 * 8, 6), [3, 4, 2, 2, 2]);
    const y = await read(be, drop.forward(x));
    const mask = await read(be, dropoutMask(be, 3, 4, { p: 0.5, seed }));
    expect(new Set(mask)).toEqual(new Set([0, 2]));
    const xs = await read(be, x);
    for (let i = 0; i < xs.length; i++) expect(y[i]).toBeCloseTo(xs[i] * mask[Math.floor(i / 8)], 6);
    const dy = rand(x.size, 7);
    const dx = await read(be, drop.backward(be.upload(dy, x.shape)));
    for (let i = 0; i < dy.length; i++) expect(dx[i]).toBeCloseTo(dy[i] * mask[Math.floor(i / 8)], 6);
    expect(drop.nextSeed()).not.toBe(seed);
  });

  it('uses an injected mask, and is the identity in eval mode', async () => {
    const be = createReferenceBackend();
    const drop = new Dropout3d(be, { name: 'd', p: 0.5, seed: 1 });
    const x = be.upload(Float32Array.from([1, 2, 3, 4]), [2, 2, 1, 1, 1]);
    drop.injectMask(be.upload(Float32Array.from([0, 2, 2, 0]), [2, 2]));
    expect(Array.from(await read(be, drop.forward(x)))).toEqual([0, 4, 6, 0]);
    drop.setTraining(false);
    expect(Array.from(await read(be, drop.forward(x)))).toEqual([1, 2, 3, 4]);
  });
});
