/**
 * Golden cases for the layers with parameters: conv3d and its gradients, ConvTranspose3d built from
 * conv3dBackwardData (forward) / conv3d and conv3dBackwardFilter with roles swapped (backward), and
 * BatchNorm3d in train and eval mode.
 */
import { describe, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import type { Conv3dParams } from '../../src/contract/params.js';
import { type GoldenCase, goldenCase, loadGolden, paramNumber, paramVec3, tensorOf } from './golden.js';
import { expectGoldenClose, uploadGolden } from './golden-compare.js';
import type { GoldenContext } from './golden-suite.js';

const geometryOf = (c: GoldenCase): Conv3dParams => ({
  stride: paramVec3(c, 'stride'),
  padding: paramVec3(c, 'padding'),
  dilation: paramVec3(c, 'dilation'),
});

export function describeGoldenConvolution(ctx: GoldenContext): void {
  const conv = loadGolden('conv3d.json');
  describe('conv3d', () => {
    for (const c of conv.cases) {
      it(`${c.name}: forward, d x, d w, d b`, async () => {
        const b = ctx.backend();
        const tol = ctx.tolerance.conv;
        const geometry = geometryOf(c);
        const x = uploadGolden(b, tensorOf(c, 'x', 'float32'));
        const w = uploadGolden(b, tensorOf(c, 'w', 'float32'));
        const bias = c.tensors.b ? uploadGolden(b, tensorOf(c, 'b', 'float32')) : null;
        const dy = uploadGolden(b, tensorOf(c, 'dy', 'float32'));
        await expectGoldenClose(b, 'y', ops.conv3d(b, x, w, bias, geometry), tensorOf(c, 'y'), tol);
        const dx = ops.conv3dBackwardData(b, dy, w, { ...geometry, inputSpatial: paramVec3(c, 'inputSpatial') });
        await expectGoldenClose(b, 'dx', dx, tensorOf(c, 'dx'), tol);
        const dw = ops.conv3dBackwardFilter(b, x, dy, { ...geometry, kernel: paramVec3(c, 'kernel') });
        await expectGoldenClose(b, 'dw', dw, tensorOf(c, 'dw'), tol);
        await expectGoldenClose(b, 'db', ops.channelSum(b, dy), tensorOf(c, 'db'), tol);
      });
    }
  });

  const transposed = loadGolden('conv-transpose3d.json');
  describe('ConvTranspose3d from conv3dBackwardData', () => {
    for (const c of transposed.cases) {
      it(`${c.name}: forward, d x, d w, d b`, async () => {
        const b = ctx.backend();
        const tol = ctx.tolerance.conv;
        const geometry = geometryOf(c);
        // PyTorch's transposed weight [Cin_t, Cout_t, k] is the weight [Co, Ci, k] of the conv3d whose
        // input gradient the transposed conv computes: its input has Cout_t channels, its output Cin_t.
        const x = uploadGolden(b, tensorOf(c, 'x', 'float32'));
        const w = uploadGolden(b, tensorOf(c, 'w', 'float32'));
        const bias = uploadGolden(b, tensorOf(c, 'b', 'float32'));
        const dy = uploadGolden(b, tensorOf(c, 'dy', 'float32'));
        const pre = ops.conv3dBackwardData(b, x, w, { ...geometry, inputSpatial: paramVec3(c, 'outSpatial') });
        await expectGoldenClose(b, 'y', ops.addChannelBias(b, pre, bias), tensorOf(c, 'y'), tol);
        await expectGoldenClose(b, 'dx', ops.conv3d(b, dy, w, null, geometry), tensorOf(c, 'dx'), tol);
        const dw = ops.conv3dBackwardFilter(b, dy, x, { ...geometry, kernel: paramVec3(c, 'kernel') });
        await expectGoldenClose(b, 'dw', dw, tensorOf(c, 'dw'), tol);
        await expectGoldenClose(b, 'db', ops.channelSum(b, dy), tensorOf(c, 'db'), tol);
      });
    }
  });

  const norm = loadGolden('batch-norm.json');
  describe('BatchNorm3d', () => {
    const upload = (c: GoldenCase, key: string) => uploadGolden(ctx.backend(), tensorOf(c, key, 'float32'));

    it('train mode: output, batch statistics, running statistics, backward', async () => {
      const b = ctx.backend();
      const tol = ctx.tolerance.batchNorm;
      const c = goldenCase(norm, 'batchNorm train');
      const [x, gamma, beta, runningMean, runningVar, dy] = ['x', 'gamma', 'beta', 'runningMean', 'runningVar', 'dy'].map((k) =>
        upload(c, k),
      );
      const params = { momentum: paramNumber(c, 'momentum'), eps: paramNumber(c, 'eps') };
      const result = ops.batchNormTrain(b, x, gamma, beta, runningMean, runningVar, params);
      await expectGoldenClose(b, 'y', result.y, tensorOf(c, 'y'), tol);
      await expectGoldenClose(b, 'mean', result.mean, tensorOf(c, 'mean'), tol);
      await expectGoldenClose(b, 'invStd', result.invStd, tensorOf(c, 'invStd'), tol);
      await expectGoldenClose(b, 'running mean (in place)', runningMean, tensorOf(c, 'runningMeanAfter'), tol);
      await expectGoldenClose(b, 'running var (in place, unbiased)', runningVar, tensorOf(c, 'runningVarAfter'), tol);
      const grads = ops.batchNormBackward(b, dy, x, gamma, result.mean, result.invStd);
      await expectGoldenClose(b, 'dx', grads.dx, tensorOf(c, 'dx'), tol);
      await expectGoldenClose(b, 'dgamma', grads.dgamma, tensorOf(c, 'dgamma'), tol);
      await expectGoldenClose(b, 'dbeta', grads.dbeta, tensorOf(c, 'dbeta'), tol);
    });

    it('eval mode: output from running statistics', async () => {
      const b = ctx.backend();
      const c = goldenCase(norm, 'batchNorm eval');
      const [x, gamma, beta, runningMean, runningVar] = ['x', 'gamma', 'beta', 'runningMean', 'runningVar'].map((k) => upload(c, k));
      const y = ops.batchNormEval(b, x, gamma, beta, runningMean, runningVar, { eps: paramNumber(c, 'eps') });
      await expectGoldenClose(b, 'y', y, tensorOf(c, 'y'), ctx.tolerance.batchNorm);
    });
  });
}
