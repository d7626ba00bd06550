import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebGpuContext } from '../src/backend/webgpu/context.js';
import { acquireDevice } from '../src/backend/webgpu/device.js';
import { makeBatchNormKernels } from '../src/backend/webgpu/kernels/batch-norm.js';
import { makeElementwiseKernels } from '../src/backend/webgpu/kernels/elementwise.js';
import { makeGeometryKernels } from '../src/backend/webgpu/kernels/spatial.js';
import { makeOptimKernels } from '../src/backend/webgpu/kernels/optimizer.js';
import { makeReduceKernels } from '../src/backend/webgpu/kernels/reduce.js';
import { makeSoftmaxKernels } from '../src/backend/webgpu/kernels/softmax.js';
import { WebGpuRuntime } from '../src/backend/webgpu/runtime.js';
import { SUM_VARIANTS, sumWorkgroups } from './support/webgpu-sums.js';
import type { TypedArray } from '../src/core/dtype.js';
import type { Shape } from '../src/core/shape.js';
import type { Tensor } from '../src/core/tensor.js';
import * as ops from '../src/ops/index.js';
import type { SpatialAxis } from '../src/contract/params.js';
import { type HostArray, hostCubeMask, randomFloat32, randomLabels, randomLevels } from './support/random-data.js';

/**
 * The WebGPU kernels outside convolution and the losses, driven directly (no dispatch layer, so they
 * run before the whole backend exists) against the float64 references in src/ops. Beyond the shared op
 * suite this covers what is specific to the GPU: multi-pass tree reductions (rows longer than one
 * workgroup tile, more partials than one pass can fold, bit-for-bit repeatability), workgroup grids
 * folded past 65,535 in x, dropout masks equal to the TypeScript RNG bit for bit, NaN through ReLU,
 * and exact flips/rotations/cut-mix of float and label tensors. Both profiles run (profile.ts): their
 * reductions differ in workgroup width and serial folding.
 */
describe.each(SUM_VARIANTS)(
  'webgpu kernels (elementwise, reduce, batch norm, softmax, optimiser, geometry), profile $profile, $sums sums',
  ({ profile, sums }) => {
    let runtime: WebGpuRuntime;
    let ctx: WebGpuContext;
    let k: ReturnType<typeof makeAll>;

    const makeAll = (c: WebGpuContext) => ({
      ...makeElementwiseKernels(c),
      ...makeReduceKernels(c),
      ...makeBatchNormKernels(c),
      ...makeSoftmaxKernels(c),
      ...makeOptimKernels(c),
      ...makeGeometryKernels(c),
    });

    beforeAll(async () => {
      const { device } = await acquireDevice();
      runtime = new WebGpuRuntime(device);
      ctx = new WebGpuContext(runtime, device.limits, profile, await sumWorkgroups(device, sums));
      k = makeAll(ctx);
    });
    afterAll(() => runtime.destroy());

    const up = (h: HostArray): Tensor => ctx.upload(h.data instanceof Float64Array ? Float32Array.from(h.data) : h.data, h.shape);
    const readF32 = async (t: Tensor): Promise<Float32Array> =>
      new Float32Array(await runtime.readBuffer(ctx.buffer(t), Math.max(1, t.size) * 4));
    const readU32 = async (t: Tensor): Promise<Uint32Array> =>
      new Uint32Array(await runtime.readBuffer(ctx.buffer(t), Math.max(1, t.size) * 4));
    const dense = (h: HostArray<TypedArray>) => ops.dense(h.data, h.shape);
    const f64 = (h: HostArray): ops.Dense<Float64Array> => ops.dense(Float64Array.from(h.data), h.shape);

    /** max |actual - expected| <= tol * max(1, max |expected|). */
    function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = ''): void {
      expect(actual.length, what).toBe(expected.length);
      let scale = 1;
      let worst = 0;
      for (let i = 0; i < expected.length; i++) {
        scale = Math.max(scale, Math.abs(expected[i]));
        worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
      }
      expect(worst, what).toBeLessThanOrEqual(tol * scale);
    }

    describe('elementwise', () => {
      test('relu keeps positives, zeroes the rest, passes NaN through; reluBackward gates on y > 0', async () => {
        const x = randomFloat32(1, [2, 3, 5, 7, 11]);
        const bits = new Uint32Array(x.data.buffer);
        bits[3] = 0x7fc00000; // NaN
        bits[5] = 0xffc00001; // NaN with the sign bit set
        bits[4] = 0x80000000; // -0
        x.data[6] = 0;
        const y = await readF32(k.relu(up(x)));
        const expected = ops.reluReference(dense(x) as ops.Dense<Float32Array>).data;
        for (const i of [3, 5]) {
          expect(Number.isNaN(y[i]), `element ${i}`).toBe(true);
          y[i] = expected[i] = 0;
        }
        expect(Object.is(y[4], 0)).toBe(true);
        expect(y).toEqual(expected);

        const dy = randomFloat32(2, x.shape);
        const yRef = ops.reluReference(f64(randomFloat32(1, x.shape)));
        const dx = await readF32(k.reluBackward(up(dy), up(yRef)));
        expect(dx).toEqual(Float32Array.from(ops.reluBackwardReference(f64(dy), yRef).data));
      });

      test('add, scale, channelScale and addChannelBias on an odd NCDHW shape', async () => {
        const shape = [3, 5, 4, 7, 9];
        const a = randomFloat32(3, shape);
        const b = randomFloat32(4, shape);
        expect(await readF32(k.add(up(a), up(b)))).toEqual(Float32Array.from(ops.addReference(f64(a), f64(b)).data));
        expectClose(await readF32(k.scale(up(a), -0.37)), ops.scaleReference(f64(a), -0.37).data, 1e-7);
        const s = randomFloat32(5, [3, 5], 0, 2);
        expectClose(await readF32(k.channelScale(up(a), up(s))), ops.channelScaleReference(f64(a), f64(s)).data, 1e-7);
        const bias = randomFloat32(6, [5]);
        expect(await readF32(k.addChannelBias(up(a), up(bias)))).toEqual(
          Float32Array.from(ops.addChannelBiasReference(f64(a), f64(bias)).data),
        );
      });

      test('dropoutMask equals the TypeScript counter-based RNG bit for bit', async () => {
        // p = 0.3 and 0.1 are not float32 numbers; (2^23 + 0.5) / 2^24 rounds to 0.5 in float32, so a
        // kernel that compared in f32 would keep draws the reference drops.
        for (const p of [0, 0.1, 0.3, 0.5, (2 ** 23 + 0.5) / 2 ** 24, 0.9]) {
          for (const seed of [0, 7, 0xfffffffe]) {
            const got = await readF32(k.dropoutMask(5, 2001, { p, seed }));
            expect(got, `p ${p} seed ${seed}`).toEqual(ops.dropoutMaskReference(5, 2001, { p, seed }).data);
          }
        }
        // p placed just above and exactly on actual draws: draw bits b are kept iff b / 2^24 >= p, so
        // p = (b + 0.3) / 2^24 drops them (a rounded or f32 threshold would keep them), p = b / 2^24 keeps them.
        const seed = 7;
        const draws = Array.from({ length: 6 }, (_, i) => ops.uniformAt(seed, i) * 2 ** 24);
        for (const [i, b] of draws.entries()) {
          for (const p of [(b + 0.3) / 2 ** 24, b / 2 ** 24]) {
            const got = await readF32(k.dropoutMask(2, 3, { p, seed }));
            const want = ops.dropoutMaskReference(2, 3, { p, seed }).data;
            expect(got[i] === 0, `draw ${i} p ${p}`).toBe(p > b / 2 ** 24);
            expect(got, `draw ${i} p ${p}`).toEqual(want);
          }
        }
      });

      test('copy and assign copy every dtype exactly', async () => {
        const labels = randomLabels(8, [2, 3, 4, 5], 4);
        const c = await readU32(k.copy(up(labels)));
        expect(Array.from(c)).toEqual(Array.from(labels.data));
        const src = randomFloat32(9, [4, 3, 5]);
        const dst = up(randomFloat32(10, [4, 3, 5]));
        k.assign(dst, up(src));
        expect(await readF32(dst)).toEqual(src.data);
      });
    });

    describe('reductions', () => {
      test.each([[[1]], [[255]], [[1025]], [[3, 7, 11, 13]], [[300_001]]] as [Shape][])('sum and mean of %j', async (shape) => {
        // Offset data: a naive running sum in f32 drifts visibly on 300k values; a tree does not.
        const x = randomFloat32(11, shape, 0.5, 1.5);
        const t = up(x);
        const expected = ops.sumReference(f64(x)).data[0];
        const [sum] = await readF32(k.sum(t));
        const [mean] = await readF32(k.mean(t));
        expect(Math.abs(sum - expected)).toBeLessThanOrEqual(2e-6 * Math.abs(expected));
        expect(Math.abs(mean - expected / x.data.length)).toBeLessThanOrEqual(2e-6 * Math.abs(expected / x.data.length));
      });

      test('sums repeat bit for bit (fixed reduction order)', async () => {
        const t = up(randomFloat32(12, [123_457]));
        const runs = await Promise.all([0, 1, 2].map(async () => (await readF32(k.sum(t)))[0]));
        expect(new Set(runs).size).toBe(1);
      });

      test.each([[[3, 5, 7, 11, 13]], [[2, 33, 2, 3, 5]], [[1, 3, 19, 23, 29]], [[5, 4]]] as [Shape][])(
        'channelSum of %j',
        async (shape) => {
          const x = randomFloat32(13, shape);
          expectClose(await readF32(k.channelSum(up(x))), ops.channelSumReference(f64(x)).data, 2e-6);
        },
      );

      test('channelSum of many short rows ([66001, 1]: one value per row)', async () => {
        const x = randomFloat32(14, [66_001, 1]);
        expectClose(await readF32(k.channelSum(up(x))), ops.channelSumReference(f64(x)).data, 2e-6);
      });
    });

    test('a grid of more than 65,535 workgroups folds into y and covers every element once', async () => {
      // 257 * 256 * 256 voxels = 65,792 workgroups of 256: the dispatch needs y = 2.
      const spatial = [257, 256, 256] as const;
      const cube = { start: [100, 3, 250] as const, size: [157, 250, 6] as const };
      const got = await readU32(k.cubeMask(spatial, cube));
      let wrong = 0;
      for (let d = 0, i = 0; d < spatial[0]; d++)
        for (let h = 0; h < spatial[1]; h++)
          for (let w = 0; w < spatial[2]; w++, i++) {
            const inside = d >= 100 && h >= 3 && h < 253 && w >= 250;
            if (got[i] !== (inside ? 0 : 1)) wrong++;
          }
      expect(wrong).toBe(0);
    });

    describe('batch norm', () => {
      // Several tiles per channel row (1,680 voxels) and a mean far from 0, where sum-of-squares
      // variance would cancel in f32.
      const shape = [3, 4, 10, 12, 14];
      const x = randomFloat32(20, shape, 9, 11);
      const gamma = randomFloat32(21, [4], 0.5, 1.5);
      const beta = randomFloat32(22, [4]);
      const rm = randomFloat32(23, [4]);
      const rv = randomFloat32(24, [4], 0.5, 2);
      const params = { momentum: 0.1, eps: 1e-5 };
      const gamma3 = randomFloat32(29, [3], 0.5, 1.5);
      const beta3 = randomFloat32(30, [3]);

      test('batchNormTrain: y, mean, invStd and running statistics', async () => {
        const [rmT, rvT] = [up(rm), up(rv)];
        const r = k.batchNormTrain(up(x), up(gamma), up(beta), rmT, rvT, params);
        const [rmRef, rvRef] = [f64(rm), f64(rv)];
        const ref = ops.batchNormTrainReference(f64(x), f64(gamma), f64(beta), rmRef, rvRef, params);
        expectClose(await readF32(r.mean), ref.mean.data, 1e-6, 'mean');
        expectClose(await readF32(r.invStd), ref.invStd.data, 1e-4, 'invStd');
        expectClose(await readF32(r.y), ref.y.data, 1e-4, 'y');
        expectClose(await readF32(rmT), rmRef.data, 1e-6, 'runningMean');
        expectClose(await readF32(rvT), rvRef.data, 1e-5, 'runningVar');
      });

      test('batchNormTrain with few values per channel: unbiased running variance (n / (n - 1) = 4 / 3)', async () => {
        const small = randomFloat32(28, [2, 3, 1, 1, 2], -2, 2);
        const [rm3, rv3] = [randomFloat32(23, [3]), randomFloat32(24, [3], 0.5, 2)];
        const [rmT, rvT] = [up(rm3), up(rv3)];
        const [rmRef, rvRef] = [f64(rm3), f64(rv3)];
        const p = { momentum: 0.7, eps: 1e-5 };
        const r = k.batchNormTrain(up(small), up(gamma3), up(beta3), rmT, rvT, p);
        const ref = ops.batchNormTrainReference(f64(small), f64(gamma3), f64(beta3), rmRef, rvRef, p);
        expectClose(await readF32(r.y), ref.y.data, 1e-5, 'y');
        expectClose(await readF32(rmT), rmRef.data, 1e-6, 'runningMean');
        expectClose(await readF32(rvT), rvRef.data, 1e-6, 'runningVar');
      });

      test('batchNormEval', async () => {
        const y = k.batchNormEval(up(x), up(gamma), up(beta), up(rm), up(rv), { eps: 1e-5 });
        expectClose(
          await readF32(y),
          ops.batchNormEvalReference(f64(x), f64(gamma), f64(beta), f64(rm), f64(rv), { eps: 1e-5 }).data,
          1e-6,
        );
      });

      test('batchNormBackward: dx, dgamma, dbeta', async () => {
        const dy = randomFloat32(25, shape);
        const mean = randomFloat32(26, [4], 9.9, 10.1);
        const invStd = randomFloat32(27, [4], 1.5, 2);
        const g = k.batchNormBackward(up(dy), up(x), up(gamma), up(mean), up(invStd));
        const ref = ops.batchNormBackwardReference(f64(dy), f64(x), f64(gamma), f64(mean), f64(invStd));
        expectClose(await readF32(g.dbeta), ref.dbeta.data, 1e-5, 'dbeta');
        expectClose(await readF32(g.dgamma), ref.dgamma.data, 1e-5, 'dgamma');
        expectClose(await readF32(g.dx), ref.dx.data, 1e-4, 'dx');
      });
    });

    describe('softmax and argmax', () => {
      test('softmax over channels, large logits do not overflow', async () => {
        const x = randomFloat32(30, [2, 3, 5, 6, 7], -30, 30);
        x.data[0] = 200;
        expectClose(await readF32(k.softmax(up(x))), ops.softmaxReference(f64(x)).data, 1e-6);
      });

      test('argmax takes the first channel on ties', async () => {
        const x = randomLevels(31, [3, 5, 4, 6, 7], 3);
        const got = await readU32(k.argmax(up(x)));
        expect(Array.from(got)).toEqual(Array.from(ops.argmaxReference(f64(x)).data));
      });
    });

    describe('optimiser and teacher updates', () => {
      test('sgdStep twice in place, from a zero momentum buffer', async () => {
        const shape = [7, 3, 3, 3, 3];
        const [param, g1, g2] = [randomFloat32(40, shape), randomFloat32(41, shape), randomFloat32(42, shape)];
        const p = { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 };
        const [pt, bt] = [up(param), ctx.zeros(shape, 'float32')];
        k.sgdStep(pt, up(g1), bt, p);
        k.sgdStep(pt, up(g2), bt, p);
        const [pr, br] = [f64(param), ops.dense(new Float64Array(param.data.length), shape)];
        ops.sgdStepReference(pr, f64(g1), br, p);
        ops.sgdStepReference(pr, f64(g2), br, p);
        expectClose(await readF32(pt), pr.data, 1e-6, 'param');
        expectClose(await readF32(bt), br.data, 1e-6, 'buffer');
      });

      test('laEmaAlpha from a device loss feeds emaUpdate without a read-back', async () => {
        for (const [t, loss] of [
          [1, 0],
          [7, 2.5],
          [150, 0.35],
          [5000, 4],
        ]) {
          const p = { t, temperature: 0.3, floor: 0.01 };
          const lossT = up({ data: Float32Array.of(loss), shape: [] });
          const alpha = k.laEmaAlpha(lossT, p);
          const [target, source] = [randomFloat32(43, [5, 3, 7]), randomFloat32(44, [5, 3, 7])];
          const targetT = up(target);
          k.emaUpdate(targetT, up(source), alpha);
          const alphaRef = ops.laEmaAlphaReference(ops.dense(Float64Array.of(loss), []), p);
          expectClose(await readF32(alpha), alphaRef.data, 1e-6, `alpha t=${t}`);
          const targetRef = f64(target);
          ops.emaUpdateReference(targetRef, f64(source), alphaRef);
          expectClose(await readF32(targetT), targetRef.data, 1e-6, `ema t=${t}`);
        }
      });
    });

    describe('geometry', () => {
      const axisPairs: [SpatialAxis, SpatialAxis][] = [
        [0, 1],
        [1, 2],
        [0, 2],
        [2, 0],
        [1, 0],
      ];

      test('rot90 for k in -1..4 on every axis pair, float NCDHW and label NDHW, exactly', async () => {
        const x = randomFloat32(50, [2, 3, 3, 4, 5]);
        const labels = randomLabels(51, [2, 3, 4, 5], 5);
        const [xt, lt] = [up(x), up(labels)];
        for (const axes of axisPairs) {
          for (let turns = -1; turns <= 4; turns++) {
            const y = k.rot90(xt, turns, axes);
            const ref = ops.rot90Reference(dense(x), turns, axes);
            expect(y.shape, `k ${turns} axes ${axes}`).toEqual(ref.shape);
            expect(await readF32(y), `k ${turns} axes ${axes}`).toEqual(ref.data);
            const yl = k.rot90(lt, turns, axes);
            expect(yl.dtype).toBe('uint8');
            expect(Array.from(await readU32(yl)), `labels k ${turns} axes ${axes}`).toEqual(
              Array.from(ops.rot90Reference(dense(labels), turns, axes).data),
            );
          }
        }
      });

      test('flip of every axis set, float and int32 labels, exactly', async () => {
        const x = randomFloat32(52, [1, 2, 3, 4, 5]);
        const labels = randomLabels(53, [2, 3, 4, 5], 7, 'int32');
        const [xt, lt] = [up(x), up(labels)];
        const sets: SpatialAxis[][] = [[], [0], [1], [2], [0, 2], [2, 1], [0, 1, 2]];
        for (const axes of sets) {
          expect(await readF32(k.flip(xt, axes)), `axes ${axes}`).toEqual(ops.flipReference(dense(x), axes).data);
          const got = new Int32Array((await readU32(k.flip(lt, axes))).buffer);
          expect(got, `labels axes ${axes}`).toEqual(ops.flipReference(dense(labels), axes).data);
        }
      });

      test('cubeMask: 1 outside the cube, 0 inside, including empty and full cubes', async () => {
        const cases: [readonly [number, number, number], readonly [number, number, number], readonly [number, number, number]][] = [
          [
            [5, 6, 7],
            [1, 2, 0],
            [3, 4, 5],
          ],
          [
            [4, 3, 5],
            [0, 0, 0],
            [0, 0, 0],
          ],
          [
            [4, 3, 5],
            [0, 0, 0],
            [4, 3, 5],
          ],
          [
            [17, 9, 23],
            [5, 0, 7],
            [11, 9, 15],
          ],
        ];
        for (const [spatial, start, size] of cases) {
          const got = await readU32(k.cubeMask(spatial, { start, size }));
          expect(Array.from(got), `${spatial} ${start} ${size}`).toEqual(Array.from(ops.cubeMaskReference(spatial, { start, size }).data));
        }
      });

      test('cutMix of float images (with non-finite values) and uint8/int32 label maps, exactly', async () => {
        const mask = hostCubeMask([3, 4, 5], [1, 1, 2], [2, 2, 2]);
        const a = randomFloat32(54, [2, 3, 3, 4, 5]);
        const b = randomFloat32(55, [2, 3, 3, 4, 5]);
        b.data[0] = Infinity;
        a.data[31] = NaN;
        const ref = ops.cutMixReference(dense(a), dense(b), dense(mask) as ops.Dense<Uint8Array>);
        const got = await readF32(k.cutMix(up(a), up(b), up(mask)));
        expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array((ref.data as Float32Array).buffer));
        for (const dtype of ['uint8', 'int32'] as const) {
          const la = randomLabels(56, [2, 3, 4, 5], 3, dtype);
          const lb = randomLabels(57, [2, 3, 4, 5], 3, dtype);
          const mixed = k.cutMix(up(la), up(lb), up(mask));
          expect(mixed.dtype).toBe(dtype);
          expect(Array.from(await readU32(mixed))).toEqual(
            Array.from(ops.cutMixReference(dense(la), dense(lb), dense(mask) as ops.Dense<Uint8Array>).data),
          );
        }
      });
    });
  },
);
