import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { IGNORE_LABEL } from './confidence.js';
import { cubeMaskBit } from './cut-mix.js';
import { type Dense, type FloatArray, type LabelArray, Layout5, at, put, zerosLike } from './dense.js';
import type { LossAndGrad } from '../contract/kernels.js';
import type { DiceCeParams, MaskRegion } from '../contract/params.js';
import { scalarLike } from './reduce.js';
import { softmaxVoxel } from './softmax.js';
import { expectFinite, expectImage, expectLabelsFor, expectMaskFor, expectTensorsOn } from './validate.js';

/** Smoothing of the soft Dice ratio (METHOD.md step 4), so empty classes give ratio 1, not 0/0. */
export const DICE_SMOOTH = 1e-5;
/** Keeps CE_R finite (zero) when the region is empty. */
export const REGION_EPS = 1e-16;

/**
 * weight * (Dice_R + CE_R) / 2 over region R of the cube mask (every voxel when mask is null), METHOD.md
 * step 4, and its gradient with respect to the logits. Voxels labeled IGNORE_LABEL are outside R: they
 * add to no Dice sum, no cross-entropy and no voxel count, and get a zero gradient.
 */
export function diceCeLoss(backend: Backend, logits: Tensor, labels: Tensor, mask: Tensor | null, p: DiceCeParams): LossAndGrad {
  expectTensorsOn(backend, 'diceCeLoss', { logits, labels, mask });
  expectImage('diceCeLoss: logits', logits);
  expectLabelsFor('diceCeLoss: labels', labels, logits.shape);
  if (mask !== null) expectMaskFor('diceCeLoss: mask', mask, logits.shape);
  expectFinite('diceCeLoss: weight', p.weight);
  expectRegion(p.region);
  return backend.kernels.diceCeLoss(logits, labels, mask, p);
}

function expectRegion(region: MaskRegion): void {
  if (region !== 'outside' && region !== 'inside') {
    throw new SdsError('E_INVALID_ARGUMENT', `diceCeLoss: region: expected 'outside' or 'inside', found '${String(region)}'`);
  }
}

/** Class of voxel i; a label outside [0, classes) is a caller bug the reference refuses to index with. */
export function labelAt(labels: LabelArray, i: number, classes: number): number {
  const y = at(labels, i);
  if (!(y >= 0 && y < classes)) throw new RangeError(`reference: label ${y} at voxel ${i} outside [0, ${classes})`);
  return y;
}

/** Voxel i carries IGNORE_LABEL: no loss term reads it. */
export function ignored(labels: LabelArray, i: number): boolean {
  return at(labels, i) === IGNORE_LABEL;
}

export interface LossAndGradReference<F extends FloatArray> {
  readonly loss: Dense<F>;
  readonly grad: Dense<F>;
}

export function diceCeLossReference<F extends FloatArray>(
  logits: Dense<F>,
  labels: Dense<LabelArray>,
  mask: Dense<Uint8Array> | null,
  p: DiceCeParams,
): LossAndGradReference<F> {
  const l = new Layout5(logits.shape);
  const inRegion = (v: number): boolean => mask === null || cubeMaskBit(mask.data, v) === (p.region === 'outside' ? 1 : 0);
  const probs = zerosLike(new Float64Array(0), logits.shape).data;
  const voxelProbs = new Float64Array(l.c);
  // Per (n, c): intersection sum_R p*y, and the denominator sum_R p + sum_R y + smooth.
  const intersection = new Float64Array(l.n * l.c);
  const denominator = new Float64Array(l.n * l.c).fill(DICE_SMOOTH);
  let crossEntropy = 0;
  let regionSize = 0;
  for (let n = 0; n < l.n; n++)
    for (let v = 0; v < l.spatialSize; v++) {
      const lse = softmaxVoxel(logits.data, l, n, v, voxelProbs);
      for (let c = 0; c < l.c; c++) put(probs, l.voxel(n, c, v), voxelProbs[c]);
      if (!inRegion(v) || ignored(labels.data, n * l.spatialSize + v)) continue;
      const y = labelAt(labels.data, n * l.spatialSize + v, l.c);
      for (let c = 0; c < l.c; c++) {
        put(denominator, n * l.c + c, at(denominator, n * l.c + c) + voxelProbs[c] + (c === y ? 1 : 0));
        if (c === y) put(intersection, n * l.c + c, at(intersection, n * l.c + c) + voxelProbs[c]);
      }
      crossEntropy += lse - at(logits.data, l.voxel(n, y, v));
      regionSize++;
    }
  const pairs = l.n * l.c;
  let ratioSum = 0;
  for (let i = 0; i < pairs; i++) ratioSum += (2 * at(intersection, i) + DICE_SMOOTH) / at(denominator, i);
  const dice = 1 - ratioSum / pairs;
  const ceNorm = regionSize + REGION_EPS;
  const loss = (p.weight * (dice + crossEntropy / ceNorm)) / 2;

  const grad = zerosLike(logits.data, logits.shape);
  const dLdp = new Float64Array(l.c);
  for (let n = 0; n < l.n; n++)
    for (let v = 0; v < l.spatialSize; v++) {
      if (!inRegion(v) || ignored(labels.data, n * l.spatialSize + v)) continue;
      const y = labelAt(labels.data, n * l.spatialSize + v, l.c);
      // d Dice / d p_c = -(1 / (N C)) * (2 y_c S - (2 I + smooth)) / S^2 with S the denominator.
      let weighted = 0;
      for (let c = 0; c < l.c; c++) {
        const s = at(denominator, n * l.c + c);
        const onehot = c === y ? 1 : 0;
        dLdp[c] = -(2 * onehot * s - (2 * at(intersection, n * l.c + c) + DICE_SMOOTH)) / (s * s * pairs);
        weighted += at(probs, l.voxel(n, c, v)) * dLdp[c];
      }
      for (let c = 0; c < l.c; c++) {
        const pc = at(probs, l.voxel(n, c, v));
        // Softmax Jacobian for the Dice part; cross-entropy's logit gradient is simply p - onehot.
        const dz = pc * (dLdp[c] - weighted) + (pc - (c === y ? 1 : 0)) / ceNorm;
        put(grad.data, l.voxel(n, c, v), (p.weight * dz) / 2);
      }
    }
  return { loss: scalarLike(logits.data, loss), grad };
}
