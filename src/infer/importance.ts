/**
 * The per-window blending weights of MONAI's `compute_importance_map`.
 *
 * - 'constant': every voxel weighs 1, so overlapping windows are plainly averaged.
 * - 'gaussian': a separable Gaussian centred on the window, sigma = sigmaScale * roi per axis, sampled
 *   at offsets -(roi - 1)/2 .. (roi - 1)/2 and not normalised (MONAI >= 0.9). Clamped from below at
 *   max(smallest non-zero weight, 1e-3) as MONAI does, so that a voxel seen only by window corners
 *   still gets a non-zero total weight and the division at the end never makes NaN.
 */
import { SdsError } from '../core/errors.js';

export type BlendMode = 'constant' | 'gaussian';

/** MONAI's default sigma_scale: sigma = 0.125 * roi. */
export const DEFAULT_SIGMA_SCALE = 0.125;

const MIN_WEIGHT = 1e-3;

/** Weights of one window, [D, H, W] row-major (W fastest), length roi[0] * roi[1] * roi[2]. */
export function importanceMap(roi: readonly number[], mode: BlendMode, sigmaScale: number = DEFAULT_SIGMA_SCALE): Float32Array {
  const size = roi[0] * roi[1] * roi[2];
  if (mode === 'constant') return new Float32Array(size).fill(1);
  if (mode !== 'gaussian') {
    throw new SdsError('E_INVALID_ARGUMENT', `sliding window: mode: expected 'constant' or 'gaussian', found '${String(mode)}'`);
  }
  if (!(sigmaScale > 0 && Number.isFinite(sigmaScale))) {
    throw new SdsError('E_INVALID_ARGUMENT', `sliding window: sigmaScale: expected a positive number, found ${sigmaScale}`);
  }
  // float32 per axis, like MONAI's torch tensors, then the outer product.
  const axes = roi.map((n) => {
    const sigma = n * sigmaScale;
    return Float32Array.from({ length: n }, (_, i) => {
      const x = i - (n - 1) / 2;
      return Math.exp((x * x) / (-2 * sigma * sigma));
    });
  });
  const map = new Float32Array(size);
  let minNonZero = Infinity;
  for (let d = 0, i = 0; d < roi[0]; d++)
    for (let h = 0; h < roi[1]; h++) {
      const dh = Math.fround(axes[0][d] * axes[1][h]);
      for (let w = 0; w < roi[2]; w++, i++) {
        const v = Math.fround(dh * axes[2][w]);
        map[i] = v;
        if (v !== 0 && v < minNonZero) minNonZero = v;
      }
    }
  const floor = Math.max(minNonZero, MIN_WEIGHT);
  for (let i = 0; i < size; i++) if (map[i] < floor) map[i] = floor;
  return map;
}
