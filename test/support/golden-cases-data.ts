/**
 * Golden cases for the activation and data-movement ops: softmax and argmax over channels, ReLU
 * forward/backward, and rot90/flip against numpy (np.rot90 / np.flip on the spatial axes).
 */
import { describe, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import type { SpatialAxis } from '../../src/contract/params.js';
import { goldenCase, loadGolden, paramIntegers, paramNumber, tensorOf } from './golden.js';
import { expectGoldenClose, expectGoldenExact, uploadGolden } from './golden-compare.js';
import type { GoldenContext } from './golden-suite.js';

export function describeGoldenDataOps(ctx: GoldenContext): void {
  const elementwise = loadGolden('elementwise.json');
  describe('activations', () => {
    it('softmax and argmax over the channel axis', async () => {
      const b = ctx.backend();
      const c = goldenCase(elementwise, 'softmax and argmax');
      const x = uploadGolden(b, tensorOf(c, 'x', 'float32'));
      await expectGoldenClose(b, 'softmax', ops.softmax(b, x), tensorOf(c, 'softmax'), ctx.tolerance.elementwise);
      await expectGoldenExact(b, 'argmax', ops.argmax(b, x), tensorOf(c, 'argmax', 'uint8'));
    });

    it('relu forward and backward', async () => {
      const b = ctx.backend();
      const c = goldenCase(elementwise, 'relu forward and backward');
      const y = ops.relu(b, uploadGolden(b, tensorOf(c, 'x', 'float32')));
      await expectGoldenClose(b, 'y', y, tensorOf(c, 'y'), ctx.tolerance.elementwise);
      const dx = ops.reluBackward(b, uploadGolden(b, tensorOf(c, 'dy', 'float32')), y);
      await expectGoldenClose(b, 'dx', dx, tensorOf(c, 'dx'), ctx.tolerance.elementwise);
    });
  });

  const moves = loadGolden('rot90-flip.json');
  describe('rot90 and flip (numpy semantics)', () => {
    for (const c of moves.cases) {
      // Pure data movement: the result must be bit-exact, images and label maps alike.
      it(c.name, async () => {
        const b = ctx.backend();
        const x = uploadGolden(b, tensorOf(c, 'x'));
        const axes = paramIntegers(c, 'axes') as SpatialAxis[];
        const y = c.name.startsWith('rot90') ? ops.rot90(b, x, paramNumber(c, 'k'), [axes[0], axes[1]]) : ops.flip(b, x, axes);
        await expectGoldenExact(b, 'y', y, tensorOf(c, 'y'));
      });
    }
  });
}
