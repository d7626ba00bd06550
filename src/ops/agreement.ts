import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../core/tensor.js';
import { REGION_EPS, labelAt } from './dice-ce.js';
import { type Dense, type FloatArray, type LabelArray, Layout5, at } from './dense.js';
import { scalarLike } from './reduce.js';
import { softmaxVoxel } from './softmax.js';
import { expectImage, expectLabelsFor, expectTensorsOn } from './validate.js';

/**
 * METHOD.md stage 2, step 7: one student's switch score
 *   c = sum_v A(v) CE(logits(v), labels(v)) / (sum_v A(v) + 1e-16),  A = [labels == other],
 * over every voxel of the batch: the student's own cross-entropy against its cleaned labels Y^k on the
 * voxels where the other student's Y agrees. A scalar left on the device, so the switch reads back
 * only c_1 and c_2 instead of both students' logits.
 */
export function agreementCrossEntropy(backend: Backend, logits: Tensor, labels: Tensor, other: Tensor): Tensor {
  expectTensorsOn(backend, 'agreementCrossEntropy', { logits, labels, other });
  expectImage('agreementCrossEntropy: logits', logits);
  expectLabelsFor('agreementCrossEntropy: labels', labels, logits.shape);
  expectLabelsFor('agreementCrossEntropy: other', other, logits.shape);
  return backend.kernels.agreementCrossEntropy(logits, labels, other);
}

export function agreementCrossEntropyReference<F extends FloatArray>(
  logits: Dense<F>,
  labels: Dense<LabelArray>,
  other: Dense<LabelArray>,
): Dense<F> {
  const l = new Layout5(logits.shape);
  const probs = new Float64Array(l.c);
  let total = 0;
  let agreeing = 0;
  for (let n = 0; n < l.n; n++)
    for (let v = 0; v < l.spatialSize; v++) {
      const i = n * l.spatialSize + v;
      const y = labelAt(labels.data, i, l.c);
      if (at(other.data, i) !== y) continue;
      agreeing++;
      // CE = log-sum-exp(z) - z_y.
      total += softmaxVoxel(logits.data, l, n, v, probs) - at(logits.data, l.voxel(n, y, v));
    }
  return scalarLike(logits.data, total / (agreeing + REGION_EPS));
}
