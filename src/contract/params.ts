import type { Vec3 } from '../core/shape.js';

/** Geometry of a 3-D convolution, PyTorch semantics, per spatial axis [D, H, W]. */
export interface Conv3dParams {
  readonly stride: Vec3;
  readonly padding: Vec3;
  readonly dilation: Vec3;
  /**
   * Only 1 (the default): grouped and depthwise convolutions are not implemented on any backend, and any
   * other value is refused with E_INVALID_ARGUMENT rather than run as an ungrouped convolution.
   */
  readonly groups?: number;
}

/** conv3dBackwardData needs the input's spatial size: several input sizes map to one output size. */
export interface Conv3dBackwardDataParams extends Conv3dParams {
  readonly inputSpatial: Vec3;
}

/** conv3dBackwardFilter needs the kernel size: it is not recoverable from x and dy alone. */
export interface Conv3dBackwardFilterParams extends Conv3dParams {
  readonly kernel: Vec3;
}

export interface BatchNormTrainParams {
  /** PyTorch's momentum: running = (1 - momentum) * running + momentum * batchStat. Default 0.1. */
  readonly momentum: number;
  readonly eps: number;
}

export interface BatchNormEvalParams {
  readonly eps: number;
}

export interface DropoutParams {
  /** Probability of zeroing a whole channel. */
  readonly p: number;
  /** Seed of the counter-based generator: the same seed gives the same mask on every backend. */
  readonly seed: number;
}

/** Which voxels of a cube mask M (1 outside the cube, 0 inside) a loss term covers. */
export type MaskRegion = 'outside' | 'inside';

export interface DiceCeParams {
  /** Multiplies the whole term (METHOD.md: 1 for ground truth, u_weight = 0.5 for pseudo-labels). */
  readonly weight: number;
  /** Region of the cube mask covered; ignored when the mask is null (all voxels). */
  readonly region: MaskRegion;
}

export interface DisagreementMseParams {
  /** Weight of voxels outside the cube (M = 1) and inside it (M = 0). */
  readonly weightOutside: number;
  readonly weightInside: number;
}

export interface SgdParams {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

export interface LaEmaParams {
  /** Self-training iteration, counted from 1. */
  readonly t: number;
  /** Loss temperature (0.3 in METHOD.md). */
  readonly temperature: number;
  /** Floor of the global weight (0.01 in METHOD.md). */
  readonly floor: number;
}

/** An axis-aligned cube inside a [D, H, W] grid. */
export interface Cube {
  readonly start: Vec3;
  readonly size: Vec3;
}

/** Spatial axes of an NCDHW (or NDHW) tensor, numbered 0 = D, 1 = H, 2 = W. */
export type SpatialAxis = 0 | 1 | 2;
