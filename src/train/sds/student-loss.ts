/** METHOD.md stage 2, steps 4 and 5 for one student on one mixed input (X_l or X_u). */
import type { Backend } from '../../backend/backend.js';
import type { Tensor } from '../../core/tensor.js';
import { mixedLoss } from '../../nn/loss.js';
import { add, disagreementMse, scale } from '../../ops/index.js';
import type { LossAndGrad } from '../../contract/kernels.js';
import type { CutMixPair } from './cut-mix-batch.js';

/**
 * L_mix(Z; A, B; w_out, w_in) + corWeight * L_xor(Z), with L_xor the disagreement correction against
 * the other student's logits on the same input (no gradient through the other student or through the
 * disagreement mask). With `other` null (one student: the mean-teacher baseline) it is L_mix alone.
 * Summing this over X_l and X_u gives the student's step-6 loss L^k = L_sup^k + corWeight * L_cor^k.
 * The loss (scalar) and d loss / d logits are new tensors the caller owns.
 */
export function studentLoss(
  backend: Backend,
  logits: Tensor,
  other: Tensor | null,
  pair: CutMixPair,
  mask: Tensor,
  corWeight: number,
): LossAndGrad {
  const mix = mixedLoss(backend, logits, mask, pair.targets);
  if (other === null) return mix;
  const xor = disagreementMse(backend, logits, other, pair.mixedLabels, mask, {
    weightOutside: pair.targets.weightOutside,
    weightInside: pair.targets.weightInside,
  });
  const weighted = { loss: scale(backend, xor.loss, corWeight), grad: scale(backend, xor.grad, corWeight) };
  const out = { loss: add(backend, mix.loss, weighted.loss), grad: add(backend, mix.grad, weighted.grad) };
  for (const t of [mix.loss, mix.grad, xor.loss, xor.grad, weighted.loss, weighted.grad]) backend.dispose(t);
  return out;
}
