import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../core/tensor.js';
import { cubeMaskBit } from './cut-mix.js';
import { ignored, labelAt, REGION_EPS, type LossAndGradReference } from './dice-ce.js';
import { type Dense, type FloatArray, type LabelArray, Layout5, put, zerosLike } from './dense.js';
import type { LossAndGrad } from '../contract/kernels.js';
import type { DisagreementMseParams } from '../contract/params.js';
import { scalarLike } from './reduce.js';
import { argmaxVoxel, softmaxVoxel } from './softmax.js';
import { expectFinite, expectImage, expectLabelsFor, expectMaskFor, expectSameShape, expectTensorsOn } from './validate.js';

/**
 * METHOD.md step 5: L = sum_v D(v) e(v) / (sum_v D(v) + 1e-16) over every voxel of the batch, with
 * D = [argmax logits != argmax other] and e(v) = w(v) * mean_c (softmax(logits)_c - onehot(target)_c)^2,
 * w = weightOutside where the cube mask is 1, weightInside where it is 0. The gradient flows into the
 * logits only: D and `other` (the other student) are constants. A voxel whose target is IGNORE_LABEL
 * has no target to correct towards: it counts in neither sum.
 */
export function disagreementMse(
  backend: Backend,
  logits: Tensor,
  other: Tensor,
  target: Tensor,
  mask: Tensor,
  p: DisagreementMseParams,
): LossAndGrad {
  expectTensorsOn(backend, 'disagreementMse', { logits, other, target, mask });
  expectImage('disagreementMse: logits', logits);
  expectImage('disagreementMse: other', other);
  expectSameShape('disagreementMse: other', logits, other);
  expectLabelsFor('disagreementMse: target', target, logits.shape);
  expectMaskFor('disagreementMse: mask', mask, logits.shape);
  expectFinite('disagreementMse: weightOutside', p.weightOutside);
  expectFinite('disagreementMse: weightInside', p.weightInside);
  return backend.kernels.disagreementMse(logits, other, target, mask, p);
}

export function disagreementMseReference<F extends FloatArray>(
  logits: Dense<F>,
  other: Dense<FloatArray>,
  target: Dense<LabelArray>,
  mask: Dense<Uint8Array>,
  p: DisagreementMseParams,
): LossAndGradReference<F> {
  const l = new Layout5(logits.shape);
  const ol = new Layout5(other.shape);
  const probs = new Float64Array(l.c);
  const grad = zerosLike(logits.data, logits.shape);
  let weightedError = 0;
  let disagreeing = 0;
  const counts = (n: number, v: number): boolean =>
    !ignored(target.data, n * l.spatialSize + v) && argmaxVoxel(logits.data, l, n, v) !== argmaxVoxel(other.data, ol, n, v);
  // First pass: the normaliser sum_v D(v), which every voxel's gradient is divided by.
  for (let n = 0; n < l.n; n++) for (let v = 0; v < l.spatialSize; v++) if (counts(n, v)) disagreeing++;
  const norm = disagreeing + REGION_EPS;
  for (let n = 0; n < l.n; n++)
    for (let v = 0; v < l.spatialSize; v++) {
      if (!counts(n, v)) continue;
      const weight = cubeMaskBit(mask.data, v) === 1 ? p.weightOutside : p.weightInside;
      const y = labelAt(target.data, n * l.spatialSize + v, l.c);
      softmaxVoxel(logits.data, l, n, v, probs);
      // e = w/C sum_c (p_c - y_c)^2, so de/dp_c = 2w/C (p_c - y_c); then the softmax Jacobian.
      let squares = 0;
      let weighted = 0;
      for (let c = 0; c < l.c; c++) {
        const diff = probs[c] - (c === y ? 1 : 0);
        squares += diff * diff;
        weighted += probs[c] * diff;
      }
      weightedError += (weight * squares) / l.c;
      const k = (2 * weight) / (l.c * norm);
      for (let c = 0; c < l.c; c++) {
        const diff = probs[c] - (c === y ? 1 : 0);
        put(grad.data, l.voxel(n, c, v), k * probs[c] * (diff - weighted));
      }
    }
  return { loss: scalarLike(logits.data, weightedError / norm), grad };
}
