/**
 * Golden cases for the training step of METHOD.md: cube mask and cut-mix (step 2), the mixed Dice + CE
 * loss (step 4), the disagreement loss (step 5), SGD (step 6) and LA-EMA (step 8).
 */
import { describe, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import type { MaskRegion } from '../../src/contract/params.js';
import { goldenCase, loadGolden, paramNumber, paramString, paramVec3, tensorOf } from './golden.js';
import { expectGoldenClose, expectGoldenExact, uploadGolden } from './golden-compare.js';
import type { GoldenContext } from './golden-suite.js';

export function describeGoldenTraining(ctx: GoldenContext): void {
  const losses = loadGolden('losses.json');

  describe('cube mask and cut-mix', () => {
    it('cubeMask is 1 outside the cube; cutMix of labels and images', async () => {
      const b = ctx.backend();
      const c = goldenCase(losses, 'cube mask and cut-mix');
      const expectedMask = tensorOf(c, 'mask', 'uint8');
      const spatial = expectedMask.shape as unknown as readonly [number, number, number];
      const mask = ops.cubeMask(b, spatial, { start: paramVec3(c, 'cubeStart'), size: paramVec3(c, 'cubeSize') });
      await expectGoldenExact(b, 'mask', mask, expectedMask);
      const labelsA = uploadGolden(b, tensorOf(c, 'labelsA', 'uint8'));
      const labelsB = uploadGolden(b, tensorOf(c, 'labelsB', 'uint8'));
      await expectGoldenExact(b, 'mixed labels', ops.cutMix(b, labelsA, labelsB, mask), tensorOf(c, 'mixed'));
      const imageA = uploadGolden(b, tensorOf(c, 'imageA', 'float32'));
      const imageB = uploadGolden(b, tensorOf(c, 'imageB', 'float32'));
      await expectGoldenClose(b, 'mixed image', ops.cutMix(b, imageA, imageB, mask), tensorOf(c, 'imageMixed'), ctx.tolerance.elementwise);
    });
  });

  describe('diceCeLoss (METHOD.md step 4)', () => {
    for (const c of losses.cases.filter((k) => k.name.startsWith('diceCe'))) {
      // One case feeds int32 labels: the op accepts uint8 and int32 label maps alike.
      const labelsAs = c.name === 'diceCe region=inside weight=0.5' ? 'int32' : undefined;
      it(`${c.name}${labelsAs ? ' (int32 labels)' : ''}: loss and d loss / d logits`, async () => {
        const b = ctx.backend();
        const region = paramString(c, 'region');
        const logits = uploadGolden(b, tensorOf(c, 'logits', 'float32'));
        const labels = uploadGolden(b, tensorOf(c, 'labels', 'uint8'), labelsAs);
        const mask = region === null ? null : uploadGolden(b, tensorOf(c, 'mask', 'uint8'));
        // With a null mask the region is ignored (all voxels); the type still asks for one, so pass 'outside'.
        const params = { weight: paramNumber(c, 'weight'), region: (region ?? 'outside') as MaskRegion };
        const { loss, grad } = ops.diceCeLoss(b, logits, labels, mask, params);
        await expectGoldenClose(b, 'loss', loss, tensorOf(c, 'loss'), ctx.tolerance.loss);
        await expectGoldenClose(b, 'grad', grad, tensorOf(c, 'grad'), ctx.tolerance.loss);
      });
    }
  });

  describe('disagreementMse (METHOD.md step 5)', () => {
    for (const c of losses.cases.filter((k) => k.name.startsWith('disagreementMse'))) {
      it(`${c.name}: loss and d loss / d logits`, async () => {
        const b = ctx.backend();
        const [logits, other] = ['logits', 'other'].map((k) => uploadGolden(b, tensorOf(c, k, 'float32')));
        const target = uploadGolden(b, tensorOf(c, 'target', 'uint8'));
        const mask = uploadGolden(b, tensorOf(c, 'mask', 'uint8'));
        const params = { weightOutside: paramNumber(c, 'weightOutside'), weightInside: paramNumber(c, 'weightInside') };
        const { loss, grad } = ops.disagreementMse(b, logits, other, target, mask, params);
        await expectGoldenClose(b, 'loss', loss, tensorOf(c, 'loss'), ctx.tolerance.loss);
        await expectGoldenClose(b, 'grad', grad, tensorOf(c, 'grad'), ctx.tolerance.loss);
      });
    }
  });

  const sgd = loadGolden('sgd.json');
  describe('sgdStep (torch.optim.SGD)', () => {
    it('two steps with momentum and weight decay from a zero buffer', async () => {
      const b = ctx.backend();
      const tol = ctx.tolerance.optimizer;
      const c = goldenCase(sgd, 'sgd two steps');
      const params = { lr: paramNumber(c, 'lr'), momentum: paramNumber(c, 'momentum'), weightDecay: paramNumber(c, 'weightDecay') };
      const param = uploadGolden(b, tensorOf(c, 'param', 'float32'));
      const buffer = b.zeros(param.shape, 'float32');
      ops.sgdStep(b, param, uploadGolden(b, tensorOf(c, 'grad1', 'float32')), buffer, params);
      await expectGoldenClose(b, 'param after step 1', param, tensorOf(c, 'paramAfter1'), tol);
      await expectGoldenClose(b, 'momentum buffer after step 1', buffer, tensorOf(c, 'bufferAfter1'), tol);
      ops.sgdStep(b, param, uploadGolden(b, tensorOf(c, 'grad2', 'float32')), buffer, params);
      await expectGoldenClose(b, 'param after step 2', param, tensorOf(c, 'paramAfter2'), tol);
      await expectGoldenClose(b, 'momentum buffer after step 2', buffer, tensorOf(c, 'bufferAfter2'), tol);
    });
  });

  const laEma = loadGolden('la-ema.json');
  describe('LA-EMA (METHOD.md step 8)', () => {
    const paramsOf = (c: (typeof laEma.cases)[number]) => ({
      t: paramNumber(c, 't'),
      temperature: paramNumber(c, 'temperature'),
      floor: paramNumber(c, 'floor'),
    });
    for (const c of laEma.cases.filter((k) => k.name.startsWith('laEmaAlpha'))) {
      it(c.name, async () => {
        const b = ctx.backend();
        const alpha = ops.laEmaAlpha(b, uploadGolden(b, tensorOf(c, 'loss', 'float32')), paramsOf(c));
        await expectGoldenClose(b, 'alpha', alpha, tensorOf(c, 'alpha'), ctx.tolerance.optimizer);
      });
    }
    it('emaUpdate moves the teacher by the device-computed alpha', async () => {
      const b = ctx.backend();
      const c = goldenCase(laEma, 'emaUpdate after laEmaAlpha');
      const alpha = ops.laEmaAlpha(b, uploadGolden(b, tensorOf(c, 'loss', 'float32')), paramsOf(c));
      await expectGoldenClose(b, 'alpha', alpha, tensorOf(c, 'alpha'), ctx.tolerance.optimizer);
      const teacher = uploadGolden(b, tensorOf(c, 'teacher', 'float32'));
      ops.emaUpdate(b, teacher, uploadGolden(b, tensorOf(c, 'student', 'float32')), alpha);
      await expectGoldenClose(b, 'teacher (in place)', teacher, tensorOf(c, 'teacherAfter'), ctx.tolerance.optimizer);
    });
  });
}
