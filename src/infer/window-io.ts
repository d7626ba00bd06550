/**
 * CPU side of the sliding window: cutting windows out of the image (zero outside it, which is MONAI's
 * constant padding) and adding weighted window probabilities into the whole-volume accumulators.
 * Layouts are row-major [C, D, H, W] (W fastest), the tensor layout without the batch axis.
 */
import type { Vec3 } from '../core/shape.js';

export interface Grid {
  readonly channels: number;
  readonly size: Vec3;
}

/**
 * Copies the roi-sized box at `origin` (image coordinates, may lie partly outside) of every channel
 * into `out` starting at `outOffset`; voxels outside the image are 0.
 */
export function extractWindow(image: Float32Array, grid: Grid, origin: Vec3, roi: Vec3, out: Float32Array, outOffset: number): void {
  const [D, H, W] = grid.size;
  const [rd, rh, rw] = roi;
  const w0 = Math.max(0, -origin[2]);
  const w1 = Math.min(rw, W - origin[2]);
  let o = outOffset;
  for (let c = 0; c < grid.channels; c++)
    for (let d = 0; d < rd; d++) {
      const z = origin[0] + d;
      for (let h = 0; h < rh; h++, o += rw) {
        const y = origin[1] + h;
        if (z < 0 || z >= D || y < 0 || y >= H || w1 <= w0) {
          out.fill(0, o, o + rw);
          continue;
        }
        const row = ((c * D + z) * H + y) * W + origin[2];
        if (w0 > 0) out.fill(0, o, o + w0);
        out.set(image.subarray(row + w0, row + w1), o + w0);
        if (w1 < rw) out.fill(0, o + w1, o + rw);
      }
    }
}

/**
 * acc[k] += weight * probs[k] over the window at `start` of the padded grid, and count += weight once
 * per window. `probs` holds one window's K channels starting at `probsOffset`.
 */
export function accumulateWindow(
  acc: Float32Array,
  count: Float32Array,
  padded: Vec3,
  classes: number,
  start: Vec3,
  roi: Vec3,
  weights: Float32Array,
  probs: Float32Array,
  probsOffset: number,
): void {
  const [, H, W] = padded;
  const [rd, rh, rw] = roi;
  const plane = padded[0] * H * W;
  const windowSize = rd * rh * rw;
  for (let d = 0, i = 0; d < rd; d++)
    for (let h = 0; h < rh; h++, i += rw) {
      const row = ((start[0] + d) * H + start[1] + h) * W + start[2];
      for (let w = 0; w < rw; w++) count[row + w] += weights[i + w];
      for (let k = 0; k < classes; k++) {
        const a = k * plane + row;
        const p = probsOffset + k * windowSize + i;
        for (let w = 0; w < rw; w++) acc[a + w] += weights[i + w] * probs[p + w];
      }
    }
}

/** acc / count on the padded grid, cropped back to the image at `padBefore`: [K, D, H, W]. */
export function normalizeAndCrop(
  acc: Float32Array,
  count: Float32Array,
  padded: Vec3,
  classes: number,
  image: Vec3,
  padBefore: Vec3,
): Float32Array {
  const [D, H, W] = image;
  const [, PH, PW] = padded;
  const plane = padded[0] * PH * PW;
  const out = new Float32Array(classes * D * H * W);
  let o = 0;
  for (let k = 0; k < classes; k++)
    for (let d = 0; d < D; d++)
      for (let h = 0; h < H; h++) {
        const row = ((d + padBefore[0]) * PH + h + padBefore[1]) * PW + padBefore[2];
        for (let w = 0; w < W; w++, o++) out[o] = acc[k * plane + row + w] / count[row + w];
      }
  return out;
}
