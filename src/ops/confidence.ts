import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { type Dense, type FloatArray, Layout5, at, put } from './dense.js';
import { argmaxVoxel } from './softmax.js';
import { expectImage, expectInRange, expectTensorsOn } from './validate.js';

/**
 * A label voxel the losses skip (diceCeLoss, disagreementMse): outside every region, counted nowhere.
 * PyTorch's CrossEntropyLoss calls it ignore_index; 255 is the value segmentation data sets use for it.
 */
export const IGNORE_LABEL = 255;

/** Set by confidentArgmax on the voxels whose largest probability is below the threshold. */
export const LOW_CONFIDENCE_BIT = 128;

/**
 * argmax of class probabilities [N, C, D, H, W] (first on ties) as NDHW uint8, with LOW_CONFIDENCE_BIT
 * added where the largest probability is below `threshold` (compared in float32). The class and the
 * flag travel in one byte, so pseudo-labels and their confidence come back in one read-back.
 */
export function confidentArgmax(backend: Backend, probs: Tensor, threshold: number): Tensor {
  expectTensorsOn(backend, 'confidentArgmax', { probs });
  expectImage('confidentArgmax: probs', probs);
  if (probs.shape[1] > LOW_CONFIDENCE_BIT)
    throw new SdsError('E_SHAPE_MISMATCH', `confidentArgmax: expected at most ${LOW_CONFIDENCE_BIT} channels, found ${probs.shape[1]}`);
  expectInRange('confidentArgmax: threshold', threshold, 0, 1);
  return backend.kernels.confidentArgmax(probs, threshold);
}

export function confidentArgmaxReference(probs: Dense<FloatArray>, threshold: number): Dense<Uint8Array> {
  const l = new Layout5(probs.shape);
  const bar = Math.fround(threshold);
  const data = new Uint8Array(l.n * l.spatialSize);
  for (let n = 0; n < l.n; n++)
    for (let v = 0; v < l.spatialSize; v++) {
      const best = argmaxVoxel(probs.data, l, n, v);
      const low = at(probs.data, l.voxel(n, best, v)) < bar;
      put(data, n * l.spatialSize + v, best + (low ? LOW_CONFIDENCE_BIT : 0));
    }
  return { data, shape: [l.n, l.d, l.h, l.w] };
}
