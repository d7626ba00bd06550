import type { TypedArray } from '../../core/dtype.js';
import { Tensor } from '../../core/tensor.js';
import type { Kernels } from '../../contract/kernels.js';
import {
  batchNormBackwardReference,
  batchNormEvalReference,
  batchNormReluBackwardReference,
  batchNormReluTrainReference,
  batchNormTrainReference,
} from '../batch-norm.js';
import { agreementCrossEntropyReference } from '../agreement.js';
import { addChannelBiasReference, channelScaleReference, channelSumReference } from '../channel.js';
import { confidentArgmaxReference } from '../confidence.js';
import { conv3dReference } from '../conv3d.js';
import { conv3dBackwardDataReference, conv3dBackwardFilterReference } from '../conv3d-backward.js';
import { assignReference, concatReference, copyReference } from '../copy.js';
import { cubeMaskReference, cutMixReference } from '../cut-mix.js';
import type { Dense, FloatArray, LabelArray, NumericArray } from '../dense.js';
import { diceCeLossReference } from '../dice-ce.js';
import { disagreementMseReference } from '../disagreement.js';
import { dropoutMaskReference } from '../dropout.js';
import { addReference, scaleReference } from '../elementwise.js';
import { emaUpdateReference, laEmaAlphaReference, sgdStepReference } from '../optimizer.js';
import { meanReference, sumReference } from '../reduce.js';
import { reluBackwardReference, reluReference } from '../relu.js';
import { argmaxReference, softmaxReference } from '../softmax.js';
import { flipReference, rot90Reference } from '../spatial.js';

/**
 * The reference kernel table: each kernel unwraps its tensors' typed arrays, runs the op's CPU
 * reference (float64 accumulation, float32 storage) and wraps the result. In-place kernels hand the
 * references the tensors' own arrays to mutate.
 */

// The storage of a reference tensor is its typed array (see ./index.ts).
const view = <A extends NumericArray = Float32Array>(t: Tensor): Dense<A> => ({ data: t.storage as A, shape: t.shape });
const labels = (t: Tensor): Dense<LabelArray> => view<LabelArray>(t);
const masks = (t: Tensor): Dense<Uint8Array> => view<Uint8Array>(t);
const wrap = (d: Dense<NumericArray>): Tensor => new Tensor('reference', d.shape, dtypeOfArray(d.data), d.data);

function dtypeOfArray(data: NumericArray): Tensor['dtype'] {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  throw new TypeError('reference backend: float64 arrays are never stored in tensors');
}

export const wrapStorage = (data: TypedArray, shape: readonly number[]): Tensor => wrap({ data, shape });

export const referenceKernels: Kernels = {
  conv3d: (x, w, bias, p) => wrap(conv3dReference(view(x), view(w), bias && view(bias), p)),
  conv3dBackwardData: (dy, w, p) => wrap(conv3dBackwardDataReference(view(dy), view(w), p)),
  conv3dBackwardFilter: (x, dy, p) => wrap(conv3dBackwardFilterReference(view(x), view(dy), p)),
  channelSum: (x) => wrap(channelSumReference(view(x))),
  addChannelBias: (x, b) => wrap(addChannelBiasReference(view(x), view(b))),
  batchNormTrain: (x, gamma, beta, runningMean, runningVar, p) => {
    const r = batchNormTrainReference(view(x), view(gamma), view(beta), view(runningMean), view(runningVar), p);
    return { y: wrap(r.y), mean: wrap(r.mean), invStd: wrap(r.invStd) };
  },
  batchNormEval: (x, gamma, beta, runningMean, runningVar, p) =>
    wrap(batchNormEvalReference(view(x), view(gamma), view(beta), view(runningMean), view(runningVar), p)),
  batchNormBackward: (dy, x, gamma, mean, invStd) => {
    const r = batchNormBackwardReference(view(dy), view(x), view(gamma), view(mean), view(invStd));
    return { dx: wrap(r.dx), dgamma: wrap(r.dgamma), dbeta: wrap(r.dbeta) };
  },
  batchNormReluTrain: (x, gamma, beta, runningMean, runningVar, p) => {
    const r = batchNormReluTrainReference(view(x), view(gamma), view(beta), view(runningMean), view(runningVar), p);
    return { y: wrap(r.y), mean: wrap(r.mean), invStd: wrap(r.invStd) };
  },
  batchNormReluBackward: (dy, x, y, gamma, mean, invStd) => {
    const r = batchNormReluBackwardReference(view(dy), view(x), view(y), view(gamma), view(mean), view(invStd));
    return { dx: wrap(r.dx), dgamma: wrap(r.dgamma), dbeta: wrap(r.dbeta) };
  },
  relu: (x) => wrap(reluReference(view(x))),
  reluBackward: (dy, y) => wrap(reluBackwardReference(view(dy), view(y))),
  dropoutMask: (n, c, p) => wrap(dropoutMaskReference(n, c, p)),
  channelScale: (x, s) => wrap(channelScaleReference(view(x), view(s))),
  add: (a, b) => wrap(addReference(view(a), view(b))),
  scale: (x, a) => wrap(scaleReference(view(x), a)),
  softmax: (x) => wrap(softmaxReference(view(x))),
  argmax: (x) => wrap(argmaxReference(view(x))),
  confidentArgmax: (x, threshold) => wrap(confidentArgmaxReference(view(x), threshold)),
  diceCeLoss: (logits, target, mask, p) => {
    const r = diceCeLossReference(view(logits), labels(target), mask && masks(mask), p);
    return { loss: wrap(r.loss), grad: wrap(r.grad) };
  },
  disagreementMse: (logits, other, target, mask, p) => {
    const r = disagreementMseReference(view(logits), view<FloatArray>(other), labels(target), masks(mask), p);
    return { loss: wrap(r.loss), grad: wrap(r.grad) };
  },
  agreementCrossEntropy: (logits, target, other) => wrap(agreementCrossEntropyReference(view(logits), labels(target), labels(other))),
  sgdStep: (param, grad, momentumBuffer, p) => sgdStepReference(view(param), view(grad), view(momentumBuffer), p),
  laEmaAlpha: (loss, p) => wrap(laEmaAlphaReference(view(loss), p)),
  emaUpdate: (target, source, alpha) => emaUpdateReference(view(target), view(source), view(alpha)),
  cubeMask: (spatial, cube) => wrap(cubeMaskReference(spatial, cube)),
  cutMix: (a, b, mask) => wrap(cutMixReference(view<NumericArray>(a), view<NumericArray>(b), masks(mask))),
  flip: (x, axes) => wrap(flipReference(view<NumericArray>(x), axes)),
  rot90: (x, k, axes) => wrap(rot90Reference(view<NumericArray>(x), k, axes)),
  sum: (x) => wrap(sumReference(view(x))),
  mean: (x) => wrap(meanReference(view(x))),
  copy: (x) => wrap(copyReference(view<NumericArray>(x))),
  concat: (xs) => wrap(concatReference(xs.map((x) => view<NumericArray>(x)))),
  assign: (dst, src) => assignReference(view<NumericArray>(dst), view<NumericArray>(src)),
};
