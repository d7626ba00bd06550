import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../core/tensor.js';
import { add, diceCeLoss } from '../ops/index.js';
import type { LossAndGrad } from '../contract/kernels.js';

/**
 * Segmentation losses over the diceCeLoss op, which computes weight * (Dice_R + CE_R) / 2 on a region
 * R of a cube mask and its logit gradient in one pass (METHOD.md steps 1 and 4).
 */

/** Stage 1: (CE + Dice) / 2 over every voxel. */
export function supervisedLoss(backend: Backend, logits: Tensor, labels: Tensor): LossAndGrad {
  return diceCeLoss(backend, logits, labels, null, { weight: 1, region: 'outside' });
}

export interface MixedTargets {
  /** Targets outside the cube (M = 1) and their weight. */
  readonly outside: Tensor;
  readonly weightOutside: number;
  /** Targets inside the cube (M = 0) and their weight. */
  readonly inside: Tensor;
  readonly weightInside: number;
}

/**
 * METHOD.md step 4: L_mix = 1/2 [w_out (Dice_M + CE_M)(A) + w_in (Dice_(1-M) + CE_(1-M))(B)], i.e. the sum
 * of two diceCe terms, one per region. The loss and gradient returned are new tensors the caller owns.
 */
export function mixedLoss(backend: Backend, logits: Tensor, mask: Tensor, t: MixedTargets): LossAndGrad {
  const out = diceCeLoss(backend, logits, t.outside, mask, { weight: t.weightOutside, region: 'outside' });
  const inn = diceCeLoss(backend, logits, t.inside, mask, { weight: t.weightInside, region: 'inside' });
  const result = { loss: add(backend, out.loss, inn.loss), grad: add(backend, out.grad, inn.grad) };
  for (const x of [out.loss, out.grad, inn.loss, inn.grad]) backend.dispose(x);
  return result;
}
