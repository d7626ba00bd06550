import type { Tensor } from '../core/tensor.js';
import type { Vec3 } from '../core/shape.js';
import type {
  BatchNormEvalParams,
  BatchNormTrainParams,
  Conv3dBackwardDataParams,
  Conv3dBackwardFilterParams,
  Conv3dParams,
  Cube,
  DiceCeParams,
  DisagreementMseParams,
  DropoutParams,
  LaEmaParams,
  SgdParams,
  SpatialAxis,
} from './params.js';

export interface BatchNormTrainResult {
  readonly y: Tensor;
  /** Per-channel batch mean and 1/sqrt(biased var + eps), kept for the backward pass. */
  readonly mean: Tensor;
  readonly invStd: Tensor;
}

export interface BatchNormGrads {
  readonly dx: Tensor;
  readonly dgamma: Tensor;
  readonly dbeta: Tensor;
}

export interface LossAndGrad {
  /** Scalar (shape []) loss, left on the device. */
  readonly loss: Tensor;
  /** d loss / d logits, same shape as the logits. */
  readonly grad: Tensor;
}

/**
 * Every kernel a backend must provide. Shapes: x NCDHW float32, conv weights [Co, Ci, kD, kH, kW]
 * (PyTorch), labels NDHW uint8/int32, cube masks DHW uint8 (1 outside the cube). Kernels validate
 * nothing: the dispatch functions in ops/ do that once for all backends. Kernels may run lazily;
 * "in place" kernels write into their first argument.
 */
export interface KernelSignatures {
  conv3d(x: Tensor, w: Tensor, bias: Tensor | null, p: Conv3dParams): Tensor;
  /** d x from d y; also ConvTranspose3d's forward (weight [Cin_t, Cout_t, k...] is w [Co, Ci, k...]). */
  conv3dBackwardData(dy: Tensor, w: Tensor, p: Conv3dBackwardDataParams): Tensor;
  conv3dBackwardFilter(x: Tensor, dy: Tensor, p: Conv3dBackwardFilterParams): Tensor;
  /** Sum over N and space per channel: [N, C, ...] -> [C]. The bias gradient. */
  channelSum(x: Tensor): Tensor;
  /** y[n, c, ...] = x[n, c, ...] + b[c]. */
  addChannelBias(x: Tensor, b: Tensor): Tensor;
  /** Updates runningMean/runningVar in place (unbiased variance), returns normalised output. */
  batchNormTrain(
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    runningMean: Tensor,
    runningVar: Tensor,
    p: BatchNormTrainParams,
  ): BatchNormTrainResult;
  batchNormEval(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, p: BatchNormEvalParams): Tensor;
  batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor): BatchNormGrads;
  /**
   * relu(batchNormTrain(...).y), running statistics updated the same way: the V-Net's norm -> ReLU
   * stage in one kernel, so the normalised values are never stored and re-read on their own.
   */
  batchNormReluTrain(
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    runningMean: Tensor,
    runningVar: Tensor,
    p: BatchNormTrainParams,
  ): BatchNormTrainResult;
  /**
   * Gradients of y = relu(batchNormTrain(x)) from dy = d loss / d y and the saved output y:
   * batchNormBackward(reluBackward(dy, y), x, gamma, mean, invStd) in one kernel.
   */
  batchNormReluBackward(dy: Tensor, x: Tensor, y: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor): BatchNormGrads;
  relu(x: Tensor): Tensor;
  /** dx = dy where y > 0, else 0. */
  reluBackward(dy: Tensor, y: Tensor): Tensor;
  /** [N, C] float32: 0 with probability p, else 1 / (1 - p); counter-based RNG (see ops/random.ts). */
  dropoutMask(n: number, c: number, p: DropoutParams): Tensor;
  /** y[n, c, ...] = x[n, c, ...] * s[n, c]: dropout forward and backward. */
  channelScale(x: Tensor, s: Tensor): Tensor;
  add(a: Tensor, b: Tensor): Tensor;
  /** y = a * x (scalar a). */
  scale(x: Tensor, a: number): Tensor;
  /** Softmax over the channel axis of NCDHW. */
  softmax(x: Tensor): Tensor;
  /** Index of the largest channel (first on ties), NCDHW -> NDHW uint8. */
  argmax(x: Tensor): Tensor;
  /**
   * argmax of probabilities NCDHW -> NDHW uint8, plus LOW_CONFIDENCE_BIT (128) where the largest
   * probability is below `threshold` (float32 comparison).
   */
  confidentArgmax(probs: Tensor, threshold: number): Tensor;
  /**
   * weight * (Dice_R + CE_R) / 2 over region R of the cube mask (all voxels when mask is null),
   * METHOD.md step 4, and its gradient with respect to the logits. Voxels labeled IGNORE_LABEL (255)
   * are outside R.
   */
  diceCeLoss(logits: Tensor, labels: Tensor, mask: Tensor | null, p: DiceCeParams): LossAndGrad;
  /**
   * METHOD.md step 5: sum_v D(v) e(v) / (sum_v D(v) + 1e-16) with D = [argmax logits != argmax other]
   * and e the weighted per-voxel MSE of softmax(logits) against one-hot(target); gradient w.r.t. logits
   * only (no gradient through D or `other`). Voxels whose target is IGNORE_LABEL (255) count in neither sum.
   */
  disagreementMse(logits: Tensor, other: Tensor, target: Tensor, mask: Tensor, p: DisagreementMseParams): LossAndGrad;
  /**
   * METHOD.md step 7, one student's switch score: sum_v A(v) CE(logits(v), labels(v)) / (sum_v A(v) + 1e-16)
   * with A = [labels == other], a scalar left on the device.
   */
  agreementCrossEntropy(logits: Tensor, labels: Tensor, other: Tensor): Tensor;
  /** PyTorch SGD with momentum and weight decay (dampening 0, no Nesterov), in place. */
  sgdStep(param: Tensor, grad: Tensor, momentumBuffer: Tensor, p: SgdParams): void;
  /** alpha_t = 1 - max(1 / (1 + t), floor) * exp(-temperature * loss), computed on the device. */
  laEmaAlpha(loss: Tensor, p: LaEmaParams): Tensor;
  /** target = alpha * target + (1 - alpha) * source, in place; alpha is a scalar tensor. */
  emaUpdate(target: Tensor, source: Tensor, alpha: Tensor): void;
  /** [D, H, W] uint8: 1 outside the cube, 0 inside. */
  cubeMask(spatial: Vec3, cube: Cube): Tensor;
  /** a * M + b * (1 - M) with M broadcast over N and C; any dtype. */
  cutMix(a: Tensor, b: Tensor, mask: Tensor): Tensor;
  /** Reverses the given spatial axes of an NCDHW or NDHW tensor. */
  flip(x: Tensor, axes: readonly SpatialAxis[]): Tensor;
  /** Rotates by k * 90 degrees in the plane (axes[0], axes[1]), numpy.rot90 semantics. */
  rot90(x: Tensor, k: number, axes: readonly [SpatialAxis, SpatialAxis]): Tensor;
  sum(x: Tensor): Tensor;
  mean(x: Tensor): Tensor;
  /** A new tensor with the same contents. */
  copy(x: Tensor): Tensor;
  /** Same-dtype tensors joined along the first axis; scalars [] become [K]. */
  concat(xs: readonly Tensor[]): Tensor;
  /** dst = src, in place (teacher initialisation, restoring checkpoints). */
  assign(dst: Tensor, src: Tensor): void;
}

export type KernelName = keyof KernelSignatures;

/** The table every backend implements: a missing kernel fails `tsc`, not a user. */
export type Kernels = { readonly [K in KernelName]: KernelSignatures[K] };
